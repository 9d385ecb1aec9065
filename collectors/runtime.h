/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interface of a runtime profiler (Python, Java, Ruby...). For each
 * process whose runtime matches, the daemon runs one job per session in
 * its own thread, concurrently with the native sampler; the job returns
 * that process's runtime stacks, which merge/ substitutes for its native
 * stacks. A job must return within cfg->duration_ns plus a bounded slack
 * and must poll cfg->stop; the daemon abandons (and reports) a job that
 * does not, so a hung target never stalls a session.
 */
#ifndef GP_RUNTIME_H
#define GP_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "procinfo.h"
#include "profile.h"

struct runtime_job_config {
	int pid;
	unsigned int frequency;		/* Hz, already capped by the runtime */
	uint64_t duration_ns;
	const volatile bool *stop;	/* set when the session ends early */
	const char *tmp_dir;		/* private, root-owned scratch folder */
	const char *mode;		/* the --<runtime>-mode value */
	/* Runtime-specific options (e.g. "pyspy_path", "ap_args"), NULL-terminated
	 * name/value pairs; borrowed for the job's lifetime. */
	const char *const *options;
};

struct runtime_result {
	/* Stacks of this pid, root first, without the comm frame: one proc
	 * (pid, comm from /proc/PID/status Name:, source). Owned by the
	 * result; NULL when the job failed. */
	struct profile *prof;
	/* On failure, the reason shown as "[Profiling error: <reason>]";
	 * "[Profiling skipped: <reason>]" when skipped is set. malloc'd. */
	char *error;
	bool skipped;
};

struct runtime_ops {
	const char *name;		/* "python", "java"... */
	enum gp_source source;
	unsigned int max_frequency;	/* the job never samples faster */
	/* True when pid runs this runtime. maps is the text of /proc/PID/maps.
	 * Called from the daemon thread; must be cheap. */
	bool (*match)(const struct procinfo *pi, const char *maps);
	/* Profiles one process; runs in a job thread. Returns 0 and fills res
	 * (prof or error); never crashes on a target that exits. */
	int (*profile)(const struct runtime_job_config *cfg, struct runtime_result *res);
	/* The appid of pid without the "appid: " prefix (malloc'd), or NULL. */
	char *(*appid)(const struct procinfo *pi);
	/* The application_metadata object of pid (new reference), or NULL. */
	json_t *(*app_metadata)(const struct procinfo *pi);
	/* Optional. Gives the options (as the jobs get them) to appid() and
	 * app_metadata(), once at start. */
	void (*configure)(const char *const *options);
	/* Optional. Which backend `mode` uses, as a sentence for the start-up
	 * log; caller frees. */
	char *(*describe)(const char *mode, const char *const *options);
	/* Optional. Why this runtime stopped profiling for the rest of the
	 * daemon's life (a target crashed), or NULL; caller frees. */
	char *(*disabled_reason)(void);
};

#endif
