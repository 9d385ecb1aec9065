/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --perf-mode smart: per process, frame pointers when they give the same
 * stacks as DWARF, DWARF when they do not. gProfiler runs both perfs all
 * the time and keeps, per process, the one with deeper stacks; here a new
 * process is first probed (each sample unwound both ways), then judged,
 * and from then on sampled one way only: frame-pointer stacks are counted
 * in the kernel, at a fraction of DWARF's cost and with no stack-copy
 * depth limit.
 *
 * A frame-pointer walk agrees with DWARF when it holds every DWARF frame.
 * Distribution libcs have no frame pointers, so the walk of a program
 * built with them stops at main's caller (__libc_start_call_main) or at
 * start_thread; DWARF shows the few frames below, which are the same in
 * every sample of a thread. Probing learns them as tails: "after return
 * address A come frames T" (A and T exactly as DWARF saw them), and
 * completes frame-pointer stacks with them. A process goes to frame
 * pointers when at least 95% of its probes agree (with tails), or when
 * DWARF mostly finds no unwind data (JIT code) and frame pointers go
 * deeper, as gProfiler's rule would choose. Judgements expire, so a
 * process that loads other code is judged again.
 */
#ifndef GP_SMART_H
#define GP_SMART_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "native.h"	/* GP_PROC_* */
#include "unwind.h"

struct smart;

struct smart_opts {
	size_t max_procs;	/* processes tracked (8192) */
	unsigned int probes;	/* samples before judging (16) */
	uint64_t ttl_ns;	/* a judgement lasts this long (5 min) */
};

struct smart *smart__new(const struct smart_opts *o);
struct smart *smart__free(struct smart *sm);

/*
 * One probe of pid: fp (the kernel's frame-pointer walk) and dw (DWARF),
 * leaf first, dw's walk having ended with stop. Restarts probing when pid
 * was judged already (its image changed). Returns GP_PROC_FP or
 * GP_PROC_DWARF when this probe completes a judgement, else GP_PROC_PROBE.
 */
int smart__probe(struct smart *sm, int pid, const uint64_t *fp, int nfp, const uint64_t *dw,
		 int ndw, enum unwind_stop stop, uint64_t now_ns);

/* pid has a new image (exec): judge it anew. Returns its former mode. */
int smart__forget(struct smart *sm, int pid);

/* GP_PROC_PROBE, GP_PROC_FP or GP_PROC_DWARF. */
int smart__mode(struct smart *sm, int pid);

/* Completes the frame-pointer stack ips[0..n) of pid with a learned tail
 * (dropping what the walk read past its anchor). Returns the new length,
 * at most max. */
int smart__complete(struct smart *sm, int pid, uint64_t *ips, int n, int max);

/* Judgements older than the TTL, and processes that are gone, return to
 * probing; fn(arg, pid) is called for each, to clear the kernel's copy. */
void smart__expire(struct smart *sm, uint64_t now_ns, void (*fn)(void *arg, int pid), void *arg);

struct smart_stats {
	size_t probing, fp, dwarf;
	uint64_t judged_fp, judged_dwarf;
};
void smart__stats(const struct smart *sm, struct smart_stats *ret);

#endif
