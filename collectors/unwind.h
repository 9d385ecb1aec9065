/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DWARF unwinding of sampled user stacks, after the fact: a sample brings
 * the user registers and a copy of the top of the user stack; libunwind
 * (remote API, our own accessors) walks it with the CFI of the target's
 * binaries, read from their .eh_frame_hdr/.eh_frame (or a .debug_frame,
 * from the binary or its separate debug file) through a read-only mapping
 * of the file. Nothing touches the live process but /proc/PID/maps.
 *
 * One libunwind address space per process, so libunwind's per-IP cache of
 * register rules stays valid (a cache keyed by address cannot be shared
 * across processes); both the spaces and the per-binary unwind data are
 * bounded LRU caches.
 */
#ifndef GP_UNWIND_H
#define GP_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "native.h"	/* GP_NREGS, GP_REG_* (DWARF register numbers) */

struct symbolizer;
struct unwinder;

struct unwind_opts {
	size_t max_spaces;	/* processes with a live libunwind space (64) */
	size_t max_binaries;	/* binaries with mapped unwind data (256) */
};

/* One sample. regs are in DWARF order (GP_REG_*); the stack bytes are a
 * copy of [regs[GP_REG_SP], regs[GP_REG_SP] + stack_len). */
struct unwind_sample {
	int pid;
	const char *comm;	/* to pick the maps of the right image after exec */
	uint64_t regs[GP_NREGS];
	const uint8_t *stack;
	size_t stack_len;
};

/* Why a walk ended, for stats and tests. */
enum unwind_stop {
	UNWIND_STOP_END = 0,	/* reached the outermost frame (_start, clone) */
	UNWIND_STOP_DEPTH,	/* max frames */
	UNWIND_STOP_NO_INFO,	/* an address with no unwind data (JIT, unknown) */
	UNWIND_STOP_STACK,	/* ran past the copied stack */
	UNWIND_STOP_ERROR,	/* libunwind failed otherwise, or a loop */
	UNWIND_STOP__MAX,
};

struct unwind_stats {
	uint64_t samples, frames;
	uint64_t stops[UNWIND_STOP__MAX];
	size_t spaces, binaries, mapped_bytes;
};

/* sym gives the process maps (borrowed for the unwinder's life). Caller
 * frees with unwinder__free(). */
struct unwinder *unwinder__new(struct symbolizer *sym, const struct unwind_opts *o);
struct unwinder *unwinder__free(struct unwinder *u);

/*
 * Unwinds s into ret_ips (leaf first; ret_ips[0] is the sampled pc, the
 * others return addresses), at most max. Returns the number of frames (0
 * when the process is unknown) and sets *ret_stop when not NULL.
 */
int unwinder__unwind(struct unwinder *u, const struct unwind_sample *s, uint64_t *ret_ips,
		     int max, enum unwind_stop *ret_stop);

/* After a batch of samples: lets the kernel take back the pages of the
 * binaries read (they stay in the page cache; the next read maps them
 * again), so they do not pile up in our RSS. */
void unwinder__trim(struct unwinder *u);
/* Once per session: drops the spaces of processes that are gone. */
void unwinder__sweep(struct unwinder *u);
void unwinder__stats(const struct unwinder *u, struct unwind_stats *ret);

#endif
