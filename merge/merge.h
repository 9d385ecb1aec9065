/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gProfiler's merge rule. For each process a runtime profiler sampled, its
 * runtime stacks replace the native stacks of that pid, scaled so their
 * total equals the native sample count (random rounding, so totals stay
 * right on average without biasing small stacks). Where the native sampler
 * saw nothing for the pid, the runtime stacks are kept unscaled (as the
 * maintained upstream does). A runtime failure turns the pid's native
 * stacks into "comm;[Profiling error: reason];native..." so the time is
 * still shown and the reason is visible. Without a native sampler
 * (perf-less mode) the runtime profiles are simply concatenated.
 */
#ifndef GP_MERGE_H
#define GP_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "profile.h"

struct merge_runtime {
	int32_t pid;
	/* The runtime's stacks for pid (one or more procs, any pid field);
	 * NULL when the runtime failed. Borrowed. */
	const struct profile *prof;
	const char *error;	/* reason, when prof is NULL */
	bool skipped;		/* "[Profiling skipped: ...]" instead of error */
	const char *comm;	/* comm for error stacks, when native has none */
	const char *appid;	/* NULL: keep the native proc's */
	int32_t app_meta;	/* application_metadata index, 0 = null */
	enum gp_source source;
};

/* Returns a new profile (caller frees): native with the runtimes merged
 * in. native may be NULL (perf-less: concatenation). seed drives the random
 * rounding so a test can repeat a merge exactly. */
struct profile *merge__profiles(const struct profile *native, const struct merge_runtime *rt,
				size_t nrt, uint64_t seed);

/* Scales count by ratio with random rounding: floor or ceil, ceil with
 * probability equal to the fraction. *state is the PRNG state. */
uint64_t merge__scale(uint64_t count, double ratio, uint64_t *state);

#endif
