/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads another process's memory with process_vm_readv (the target is
 * never stopped), through a small page cache that is emptied at the start
 * of each sample: one stack walk touches a handful of pages (the thread
 * state, the frame stack, code objects of one module), so most reads cost
 * a memcpy instead of a system call, and no value outlives its sample.
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

/* Forgets every cached page (call once per sample). */
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
