/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NodeJS processes: their JavaScript frames come from the perf map that
 * node writes with --perf-basic-prof (read by the symbolizer), so Node
 * needs no runtime profiler; this gives their appid, as gProfiler's:
 * "nodejs: <first .js argument> (<its path>)".
 */
#ifndef GP_NODEJS_H
#define GP_NODEJS_H

#include "procinfo.h"

/* The appid (malloc'd) of a node process, or NULL for other processes. */
char *nodejs_appid(const struct procinfo *pi);
/* cwd joined with path and normalized ("." and ".." removed); caller frees. */
char *appid_join_path(const char *cwd, const char *path);

#endif
