/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The self-contained HTML flamegraph page written next to each .col file
 * and by the `flamegraph` subcommand.
 */
#ifndef GP_FLAMEGRAPH_H
#define GP_FLAMEGRAPH_H

#include <stdio.h>

#include "profile.h"

struct flamegraph_meta {
	const char *hostname;
	const char *service;	/* NULL when none */
	const char *start_time;	/* UTC ISO 8601, e.g. 2024-10-20T15:02:40 */
	const char *end_time;
};

/* Writes the page for p: each process's comm (then its appid, when set)
 * is the first frame under the root, then its stacks. Returns 0 or -errno. */
int flamegraph__write(FILE *f, const struct profile *p, const struct flamegraph_meta *m);

#endif
