/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The self-contained HTML flamegraph page written next to each .col file
 * and by the `flamegraph` subcommand.
 *
 * The page is one file: our own CSS and JavaScript (embedded into the
 * binary at build time from output/flamegraph/), then the profile as JSON
 * in a <script type="application/json"> element: a sorted string table and
 * the call tree (identical prefixes merged in C) as one flat array of
 * (name, samples, children) triples in pre-order. Frame names are untrusted:
 * the JSON escapes <, >, & and U+2028/2029 and replaces invalid UTF-8 with
 * U+FFFD, so no name can end the element, and the page only ever draws them
 * as text.
 */
#ifndef GP_FLAMEGRAPH_H
#define GP_FLAMEGRAPH_H

#include <stdint.h>
#include <stdio.h>

#include "profile.h"

struct flamegraph_meta {
	const char *hostname;	/* NULL when unknown */
	const char *service;	/* NULL when none */
	const char *start_time;	/* UTC ISO 8601, e.g. 2024-10-20T15:02:40; NULL when unknown */
	const char *end_time;
};

/* Longest frame name written, in bytes; longer names are cut at a UTF-8
 * boundary and end with U+2026. */
#define FLAMEGRAPH_MAX_NAME 4096

/* Writes the page for p: each process's comm (then "appid: X", when set)
 * is the first frame under the root, then its stacks, root first. Siblings
 * are sorted by name and samples of identical paths sum. m may be NULL.
 * Returns 0 or -errno (-EIO when f failed, -E2BIG for a profile of 2^32
 * frames or more). */
int flamegraph__write(FILE *f, const struct profile *p, const struct flamegraph_meta *m);

/* What the page's tree holds, for tests and the bench. */
struct flamegraph_stats {
	uint64_t nodes;		/* including the root */
	uint64_t strings;	/* distinct names, including the root's */
	uint32_t max_depth;	/* root = 0 */
	uint64_t total;		/* samples */
	uint64_t bytes;		/* size of the page */
};

/* As flamegraph__write(), and fills *ret_stats on success. */
int flamegraph__write_stats(FILE *f, const struct profile *p, const struct flamegraph_meta *m,
			    struct flamegraph_stats *ret_stats);

#endif
