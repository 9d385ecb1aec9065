/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "metadata" object of the profile header, with the keys and meanings
 * gProfiler's Performance Studio validates (AgentMetadata): host facts read
 * once at start, then per session the current time and profiling mode.
 */
#ifndef GP_METADATA_H
#define GP_METADATA_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "args.h"

/* Reads the host facts (call before starting threads: it enters the host's
 * UTS namespace for the hostname). New reference. */
json_t *metadata_static(const struct args *a, time_t spawn_time, json_t *external_static);
/* The host's hostname (read once, from the host's UTS namespace: call it
 * before threads start). Borrowed. */
const char *metadata_hostname(void);
/* Per-session metadata: a copy of static_meta plus current_time and
 * profiling_mode; or {hostname, profiling_mode} when collection is off. */
json_t *metadata_current(const json_t *static_meta, bool enabled, const char *mode);
/* UTC ISO 8601 with seconds, as gProfiler writes times: 2024-10-20T15:03:47 */
void iso_time(time_t t, char *buf, size_t len);

#endif
