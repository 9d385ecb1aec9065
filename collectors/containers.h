/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container names for container ids (from /proc/PID/cgroup), asked of the
 * container runtime over its unix socket: Docker's API
 * (/var/run/docker.sock). Answers, including "unknown", are cached (bounded)
 * so a busy host costs one request per container, and a runtime that does
 * not answer is not asked again for a while.
 */
#ifndef GP_CONTAINERS_H
#define GP_CONTAINERS_H

#include <stddef.h>

struct containers;

/* socket_paths: NULL-terminated list to try, NULL for the defaults. */
struct containers *containers__new(const char *const *socket_paths);
struct containers *containers__free(struct containers *c);
/* The name of container id, "" when unknown. Borrowed until the next call. */
const char *containers__name(struct containers *c, const char *id);
/* Names looked up since the last reset (the header's "containers"), as a
 * NULL-terminated array borrowed until the next call. */
const char *const *containers__seen(struct containers *c, size_t *ret_n);
void containers__reset_seen(struct containers *c);

#endif
