/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The user-space half of DWARF and smart modes, shared by the BPF and perf
 * engines: each sample that brings user registers and a stack copy is
 * unwound (unwind.c), shown to smart mode's judge while its process is on
 * probation (smart.c), and counted (stackcount.c) until the next drain.
 * An engine that has the frame-pointer walk of a sample from a process
 * judged FP uses it instead, completed with the learned tail.
 */
#ifndef GP_USTACKS_H
#define GP_USTACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector.h"

struct symbolizer;
struct ustacks;

/* A judgement of smart mode: mode is GP_PROC_FP or GP_PROC_DWARF, or
 * GP_PROC_PROBE when one expired. */
typedef void (*ustacks_judged_fn)(void *arg, int pid, int mode);

/* sym is borrowed for the life of u. Caller frees with ustacks__free(). */
struct ustacks *ustacks__new(struct symbolizer *sym, enum collector_mode mode,
			     ustacks_judged_fn on_judged, void *arg);
struct ustacks *ustacks__free(struct ustacks *u);

struct ustack_sample {
	uint32_t tgid;
	const char *comm;		/* NUL-terminated, <= 16 bytes */
	const uint64_t *regs;		/* GP_NREGS, DWARF order; NULL: none */
	const uint8_t *stack;		/* copy of [regs[SP], +stack_len) */
	size_t stack_len;
	const uint64_t *kips;		/* kernel stack, leaf first */
	int nk;
	bool kern_err;
	const uint64_t *fp;		/* frame-pointer walk, leaf first; NULL: none */
	int nfp;
};

/* Unwinds (or, for an FP-judged process with fp, completes) and counts. */
void ustacks__add(struct ustacks *u, const struct ustack_sample *s, uint64_t now_ns);
/* pid execed (or is new): smart mode judges it anew. */
void ustacks__forget(struct ustacks *u, int pid);
/* The smart-mode state of pid: GP_PROC_PROBE, GP_PROC_FP or GP_PROC_DWARF. */
int ustacks__mode(struct ustacks *u, int pid);
/* Completes a frame-pointer stack of an FP-judged process (see
 * smart__complete); returns the new length. */
int ustacks__complete_fp(struct ustacks *u, int pid, uint64_t *ips, int n, int max);
/* Emits the counted stacks into prof and empties the counts. */
void ustacks__flush(struct ustacks *u, struct profile *prof, const struct collector_config *cfg);
/* Once per session: forgets exited processes, expires judgements. */
void ustacks__end_session(struct ustacks *u, uint64_t now_ns);
/* Adds the unwinding and smart counters to ret. */
void ustacks__stats(const struct ustacks *u, struct collector_stats *ret);

#endif
