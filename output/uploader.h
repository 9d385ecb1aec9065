/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The upload worker: one thread that owns the spool and the Performance
 * Studio and Pyroscope clients, so a slow or dead server never holds up
 * the session loop. Each session's profile is rendered by the caller
 * (memory only), queued, written to the spool by the worker, then sent;
 * its spool file is deleted only after a 2xx. Failures that may pass are
 * retried per target with exponential backoff, oldest first; rejections
 * are dropped. See uploader.c for the delivery guarantees.
 *
 * Lower layers do not log: the worker reports through cfg->log.
 */
#ifndef GP_UPLOADER_H
#define GP_UPLOADER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "col.h"
#include "profile.h"
#include "pyroscope.h"
#include "spool.h"
#include "studio.h"

/* Spool targets */
#define UPLOAD_TARGET_STUDIO "studio"
#define UPLOAD_TARGET_PYROSCOPE "pyroscope"

enum uploader_level { UPLOADER_DEBUG, UPLOADER_INFO, UPLOADER_WARNING, UPLOADER_ERROR };

struct uploader_config {
	struct studio *studio;		/* NULL: no Performance Studio; owned from start */
	struct pyroscope *pyroscope;	/* NULL: no Pyroscope; owned from start */
	struct spool *spool;		/* owned from start */
	uint64_t backoff_min_ns;	/* first retry delay (0: 1 s) */
	uint64_t backoff_max_ns;	/* cap (0: 5 min) */
	/* called from the worker thread (and from uploader__submit) */
	void (*log)(void *arg, enum uploader_level level, const char *msg);
	void *log_arg;
};

struct uploader;

/* Starts the worker. Records left in the spool by an earlier run are sent
 * first. On success the uploader owns cfg's studio, pyroscope and spool.
 * 0 or -errno (then the caller still owns them). */
int uploader__start(const struct uploader_config *cfg, struct uploader **ret);

/* One session's result, for uploader__submit(). */
struct upload_profile {
	const json_t *header;		/* the .col header object */
	const struct profile *prof;
	const struct col_options *col;	/* as the .col file is written */
	time_t start, end;		/* the session */
	time_t spawn;			/* the daemon's start */
	const char *hostname;
	const json_t *cpu_avg, *mem_avg;	/* numbers, or NULL / null */
	const char *studio_api_version;	/* NULL (v2) or "v1" */
	const char *pyroscope_name;	/* "app{k=v}" */
	unsigned int sample_rate;	/* Hz */
};

/*
 * Renders the profile for each configured target (the .col text for the
 * Studio, folded stacks for Pyroscope) and queues it for the worker. Only
 * CPU and memory: no disk, no network. Never blocks on the worker for
 * longer than a queue operation. Borrows p for the call.
 */
void uploader__submit(struct uploader *u, const struct upload_profile *p);

/*
 * Stops the worker: what is queued is written to the spool, then sending
 * goes on while something can be sent (a target not waiting for a retry,
 * or whose retry is due) and grace_ns has not passed; a transfer still
 * running then is aborted. Waits for the thread at most grace_ns + 2 s
 * (then leaves it, detached: the process is exiting). What is unsent
 * stays spooled for the next start. Frees u.
 */
void uploader__stop(struct uploader *u, uint64_t grace_ns);

/* The retry delay after `failures` consecutive failures (>= 1): min·2^(n-1)
 * capped at max, then jittered to [75%, 100%] by rnd (any 32-bit value).
 * Exposed for tests. */
uint64_t uploader__backoff(uint64_t min_ns, uint64_t max_ns, unsigned int failures, uint32_t rnd);

#endif
