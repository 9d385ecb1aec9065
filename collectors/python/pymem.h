/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads another process's memory with process_vm_readv (the target is
 * never stopped), through a small page cache that is renewed at the start
 * of each sample: one stack walk touches a handful of pages (the thread
 * state, the frame stack, code objects of one module), and the pages the
 * last sample touched are fetched again in a single call, so a steady
 * stack costs one system call and no value outlives its sample.
 */
#ifndef GP_PYMEM_H
#define GP_PYMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pymem;

/* Caller frees with pymem__free(). */
struct pymem *pymem__new(pid_t pid);
struct pymem *pymem__free(struct pymem *m);

/* Starts a sample: forgets every cached page, then refetches in one call
 * the pages the previous sample touched. */
void pymem__reset(struct pymem *m);

/* Copies len bytes at remote addr into buf. 0, -EFAULT (unmapped),
 * -ESRCH (process gone) or another -errno. Reads of up to a page go
 * through the cache; longer ones are direct. */
int pymem__read(struct pymem *m, uint64_t addr, void *buf, size_t len);
/* A remote pointer (8 bytes, LP64). */
int pymem__read_ptr(struct pymem *m, uint64_t addr, uint64_t *ret);

/* System calls made so far, for the benchmark. */
uint64_t pymem__syscalls(const struct pymem *m);
/* Pages read so far. */
uint64_t pymem__pages(const struct pymem *m);

/* One uncached process_vm_readv; same returns as pymem__read. */
int pymem_read_direct(pid_t pid, uint64_t addr, void *buf, size_t len);

#endif
