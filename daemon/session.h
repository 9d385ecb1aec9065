/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The profiling loop: one session per -d window, back to back with -c.
 * The native collector stays open across sessions; runtime jobs run per
 * session; at each session's end the profiles are merged and written.
 */
#ifndef GP_SESSION_H
#define GP_SESSION_H

#include <jansson.h>
#include <time.h>

#include "args.h"

/* Runs until the sessions are done or a stop signal arrives. SIGINT and
 * SIGTERM must be blocked in every thread before the call. Returns the
 * exit status (0, or 1 on a fatal error, logged). */
int session_run(struct args *a, time_t spawn_time);

#endif
