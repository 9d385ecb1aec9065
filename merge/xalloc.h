/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation that cannot fail: on out-of-memory the daemon logs and aborts,
 * as git and redis do. Every structure that can grow is bounded by its
 * owner, so OOM here means the host is out of memory, not that we leak;
 * threading -ENOMEM through every interning call would only add dead paths.
 */
#ifndef GP_XALLOC_H
#define GP_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows *p (an array of `size`-byte items with capacity *cap) to hold at
 * least `need` items, doubling. */
void xgrow(void **p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
