/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finds the separate debug file of an ELF binary in gdb's order:
 * /usr/lib/debug/.build-id/xx/yyyy.debug, then the .gnu_debuglink name
 * beside the binary, in its .debug/ folder, and under /usr/lib/debug/. Each
 * path is tried under the target's root first (a container's files), and
 * the build-id path also on the host. A candidate is accepted only if its
 * build-id matches, or, when the binary has none, its CRC32 does.
 */
#ifndef GP_DEBUGINFO_H
#define GP_DEBUGINFO_H

#include <stddef.h>
#include <stdint.h>

struct debuglink {
	const char *name;	/* NULL when the binary has no .gnu_debuglink */
	uint32_t crc;
};

/* Returns an O_CLOEXEC fd of the debug file (caller closes) or -ENOENT. */
int debuginfo__open(const char *root, const char *path, const uint8_t *build_id,
		    size_t build_id_len, const struct debuglink *link);

/* The candidate paths in search order, for tests and diagnostics: calls
 * fn(path, arg) for each until it returns nonzero. */
void debuginfo__for_each_candidate(const char *root, const char *path,
				   const uint8_t *build_id, size_t build_id_len,
				   const char *debuglink_name,
				   int (*fn)(const char *cand, void *arg), void *arg);

#endif
