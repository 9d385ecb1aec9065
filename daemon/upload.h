/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's side of uploading: builds the Performance Studio and
 * Pyroscope clients from the flags, runs gProfiler's start-up health check
 * (a failure is fatal: exit 1), opens the spool and starts the upload
 * worker, hands it each session's profile, and stops it at exit. The
 * worker's reports are logged here, since only daemon/ logs.
 */
#ifndef GP_UPLOAD_H
#define GP_UPLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "args.h"
#include "profile.h"
#include "studio.h"

/* Seconds the worker may go on sending after a stop signal. */
#define UPLOAD_STOP_GRACE_S 5

struct upload;

/* True when -u or --pyroscope-server is given. */
bool upload_wanted(const struct args *a);

/*
 * Health check (with -u), spool and worker. Returns 0 and *ret, or -1
 * after logging why (the daemon exits 1). Call once the host metadata is
 * read (for the hostname) and SIGINT/SIGTERM are blocked.
 */
int upload_start(const struct args *a, time_t spawn_time, struct upload **ret);

/* Queues one session's profile; returns at once. header borrowed. */
void upload_session(struct upload *u, const json_t *header, const struct profile *p,
		    time_t start, time_t end);

/* Stops the worker within UPLOAD_STOP_GRACE_S (+2 s); the unsent stays
 * spooled. Accepts NULL. */
void upload_stop(struct upload *u);

/* The Performance Studio client for a (shared with upload-file). NULL
 * after logging why. Free with studio__free(). */
struct studio *upload_studio_new(const struct args *a, const char *hostname);
/* gProfiler's start-up GET /api/v1/health_check, with its messages.
 * 0, or -1 after logging why. */
int upload_health_check(struct studio *s, const char *service);

/* The hostname uploads name (the host's, as in the metadata). Borrowed. */
const char *upload_hostname(void);

#endif
