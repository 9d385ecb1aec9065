/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cache of loaded ELF files (struct dso), keyed by the device and
 * inode that /proc/PID/maps reports and shared across files with the same
 * build-id (one libc in fifty containers is loaded once). Bounded by the
 * bytes its symbol tables hold; the least recently used go first. Files
 * that cannot be read are cached too, so they are not retried per frame.
 */
#ifndef GP_DSOCACHE_H
#define GP_DSOCACHE_H

#include <stddef.h>

#include "dso.h"
#include "procmaps.h"

struct dsocache;

struct dsocache *dsocache__new(size_t budget_bytes);
struct dsocache *dsocache__free(struct dsocache *c);

/* The dso of mapping m in process pid, opened as the process sees it
 * (/proc/PID/root/path, else /proc/PID/map_files/...). NULL when the file
 * cannot be read or is not ELF. Borrowed until the next dsocache__get(). */
struct dso *dsocache__get(struct dsocache *c, int pid, const struct map_entry *m);
/* Opens the file of mapping m as pid sees it (/proc/PID/root/path, else
 * map_files, else the host path), checking it is the mapped inode. Returns
 * an O_CLOEXEC fd, or -ENOENT; *ret_root (caller frees) gets the root the
 * process sees. */
int dsocache_open_mapping(int pid, const struct map_entry *m, char **ret_root);
size_t dsocache__count(const struct dsocache *c);
size_t dsocache__bytes(const struct dsocache *c);

#endif
