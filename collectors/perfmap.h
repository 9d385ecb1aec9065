/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JIT symbols from a perf map file (/tmp/perf-PID.map in the target's mount
 * namespace, PID its own namespace pid): lines "START SIZE name" in hex,
 * written by Node's --perf-basic-prof, Java perf-map agents and others.
 * The file grows while the process runs; the owner reloads it when a JIT
 * address is not found and the file changed.
 */
#ifndef GP_PERFMAP_H
#define GP_PERFMAP_H

#include <stdint.h>
#include <stdio.h>

struct perfmap;

/* Loads path. Caller frees with perfmap__free(). NULL and errno. */
struct perfmap *perfmap__load(const char *path);
/* Parses from f (for tests). */
struct perfmap *perfmap__parse(FILE *f);
struct perfmap *perfmap__free(struct perfmap *m);
/* Borrowed name of the symbol holding addr, or NULL. */
const char *perfmap__lookup(const struct perfmap *m, uint64_t addr);
/* True when path differs (size or mtime) from what m was loaded from. */
int perfmap__changed(const struct perfmap *m, const char *path);
size_t perfmap__bytes(const struct perfmap *m);

#endif
