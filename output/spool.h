/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The on-disk spool: profiles waiting for a server, one file per profile
 * and target, so nothing is lost while a server is down or the daemon
 * restarts. A file is written under a temporary name, fsync'd, renamed and
 * the folder fsync'd: after spool__put() returns it exists whole, or (on
 * error) not at all. Names carry a sequence number, so "oldest first"
 * survives restarts. The total size and count are bounded; room is made
 * by dropping the oldest files, each reported to the caller. A spool has
 * one owner thread, and a lock file keeps a second process out.
 *
 * A record is a JSON object (what to send where) and a payload (the
 * profile text), gzipped together: "<json>\n<payload>".
 */
#ifndef GP_SPOOL_H
#define GP_SPOOL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Files kept at most, whatever their size (bounds the index in memory). */
#define SPOOL_MAX_FILES 10000
/* A record read back is at most this large uncompressed. */
#define SPOOL_RECORD_MAX ((size_t)512 << 20)

struct spool;

struct spool_entry {
	uint64_t seq;		/* order of spool__put() calls, across restarts */
	char target[16];	/* [a-z]+: "studio", "pyroscope" */
	uint64_t bytes;		/* size on disk */
};

/*
 * Opens (creating it and its parents) the spool folder, takes its lock,
 * removes temporary files left by a crash and indexes the records there.
 * 0, -EBUSY when another process holds the spool, or -errno. Close with
 * spool__close().
 */
int spool__open(const char *dir, uint64_t max_bytes, struct spool **ret);
void spool__close(struct spool *s);

typedef void (*spool_drop_fn)(void *arg, const struct spool_entry *dropped);

/*
 * Stores one record for target. The oldest records (of any target) are
 * deleted first while the spool would pass its bounds, each one passed to
 * on_drop (may be NULL). Returns 0 and *ret_seq (may be NULL), -EFBIG when
 * the record alone is larger than the bound (nothing is dropped), -EINVAL
 * for a bad target name, or -errno from the file system.
 */
int spool__put(struct spool *s, const char *target, const json_t *meta, const void *payload,
	       size_t len, spool_drop_fn on_drop, void *arg, uint64_t *ret_seq);

/* The oldest entry for target (NULL: any target). 0 or -ENOENT. */
int spool__oldest(const struct spool *s, const char *target, struct spool_entry *ret);

/*
 * Reads record seq back. *ret_meta is a new reference; *ret_payload is
 * NUL-terminated, caller frees. 0, -ENOENT, or -EBADMSG when the file is
 * damaged (it cannot ever be sent: the caller removes it).
 */
int spool__get(struct spool *s, uint64_t seq, json_t **ret_meta, char **ret_payload,
	       size_t *ret_len);

/*
 * Deletes record seq durably (unlink, then fsync of the folder). The entry
 * leaves the index even when unlink fails, so it is never returned again
 * by this spool; the error is returned for the caller to report.
 * 0, -ENOENT or -errno.
 */
int spool__remove(struct spool *s, uint64_t seq);

/* Entries for target (NULL: all) and their bytes on disk. */
size_t spool__count(const struct spool *s, const char *target);
uint64_t spool__bytes(const struct spool *s);
/* The folder. Borrowed. */
const char *spool__dir(const struct spool *s);

#endif
