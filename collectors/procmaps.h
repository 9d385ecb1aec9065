/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A snapshot of /proc/PID/maps: the executable mappings of one process,
 * sorted by address, each with the device and inode the kernel reports, so
 * the file can be found again (through /proc/PID/root or map_files) and
 * cached by identity rather than by path.
 */
#ifndef GP_PROCMAPS_H
#define GP_PROCMAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct map_entry {
	uint64_t start, end, offset;
	uint64_t dev;		/* makedev(major, minor) */
	uint64_t ino;
	char *path;		/* "" for anonymous; "[vdso]" etc. for specials */
	bool deleted;		/* the file was unlinked (" (deleted)" suffix) */
};

struct procmaps {
	struct map_entry *e;
	size_t n;
};

/* Reads the executable mappings of pid. Caller frees with procmaps__free().
 * Returns NULL and sets errno (ENOENT when the process is gone). */
struct procmaps *procmaps__read(int pid);
/* Parses maps text from f (exposed for tests). */
struct procmaps *procmaps__parse(FILE *f);
struct procmaps *procmaps__free(struct procmaps *m);
/* The mapping holding addr, or NULL. Borrowed from m. */
const struct map_entry *procmaps__find(const struct procmaps *m, uint64_t addr);
/* Bytes of heap held, for cache accounting. */
size_t procmaps__size(const struct procmaps *m);

#endif
