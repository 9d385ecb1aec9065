/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime profiling jobs for one session: finds the processes each runtime
 * profiler matches (by /proc/PID/maps, as gProfiler does), runs one job
 * thread per process alongside the native sampler, and collects the
 * results at the session's end. A job that overruns its deadline is
 * abandoned: it keeps its own memory and frees it when it returns, and the
 * session reports it as an error stack instead of waiting.
 */
#ifndef GP_RTJOBS_H
#define GP_RTJOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

struct rtjobs_config {
	unsigned int frequency;
	uint64_t duration_ns;
	const int *pids;		/* --pids filter, NULL for all */
	size_t npids;
	const char *tmp_dir;
	/* mode per runtime name ("python" -> "auto"), NULL-terminated pairs;
	 * a runtime whose mode is "disabled" is skipped. */
	const char *const *modes;
	const char *const *options;	/* passed to each job */
	bool appids;
	bool app_metadata;
	size_t max_jobs;		/* concurrent jobs; more are skipped */
};

/* One process's outcome. */
struct rtjob_result {
	int pid;
	const struct runtime_ops *ops;
	char comm[16];
	struct runtime_result res;	/* prof or error */
	char *appid;			/* malloc'd or NULL */
	json_t *app_metadata;		/* owned reference or NULL */
	bool timed_out;
};

struct rtjobs;

/* Discovers matching processes and starts their jobs. Never fails: a
 * session with no runtime processes has no jobs. Caller frees with
 * rtjobs__free() after rtjobs__collect(). */
struct rtjobs *rtjobs__start(const struct rtjobs_config *cfg, const struct runtime_ops *const *registry);
/* Starts a job for pid when a runtime matches it and it has none yet (a
 * process spawned during the session: --profile-spawned-processes), for
 * duration_ns. Returns 1 when a job started, else 0. */
int rtjobs__add(struct rtjobs *j, int pid, uint64_t duration_ns);
/* Asks every job to stop early (SIGINT mid-session). */
void rtjobs__stop(struct rtjobs *j);
/* Waits for the jobs until deadline_ns (CLOCK_MONOTONIC) and returns the
 * results (borrowed until rtjobs__free). Jobs still running are marked
 * timed_out and abandoned. */
const struct rtjob_result *rtjobs__collect(struct rtjobs *j, uint64_t deadline_ns, size_t *ret_n);
struct rtjobs *rtjobs__free(struct rtjobs *j);

/* The mode configured for a runtime name, or NULL. */
const char *rtjobs_mode(const char *const *modes, const char *name);

#endif
