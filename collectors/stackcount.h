/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Native samples as address lists, from any engine, and their conversion
 * into profile stacks. Samples unwound in user space (DWARF mode, the perf
 * engine) are counted here between drains by {pid, comm, kernel stack,
 * user stack}, as the BPF program counts its own in the kernel, so each
 * distinct stack is symbolized once per drain. Bounded: past max entries a
 * sample is dropped and counted as lost.
 */
#ifndef GP_STACKCOUNT_H
#define GP_STACKCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector.h"

struct symbolizer;

/* One stack, leaf first in both lists. */
struct native_stack {
	uint32_t tgid;
	const char *comm;	/* up to 16 bytes, NUL-terminated */
	const uint64_t *uips, *kips;
	int nu, nk;
	bool user_missing;	/* a user stack should be there but was not read */
	bool kern_missing;
};

/*
 * Symbolizes s and adds it count times to prof, root first: user frames,
 * then kernel frames ("_[k]"); a missing stack becomes a marker frame.
 * Calls cfg->on_proc for a process new to prof. scratch is reused between
 * calls (caller frees *scratch).
 */
void native_stack__emit(const struct native_stack *s, uint64_t count, struct profile *prof,
			struct symbolizer *sym, const struct collector_config *cfg,
			gp_str **scratch, size_t *scratch_cap);

struct stackcount;

/* max: distinct stacks held between flushes. Free with stackcount__free(). */
struct stackcount *stackcount__new(size_t max);
struct stackcount *stackcount__free(struct stackcount *t);
/* Counts one sample; false when full (the sample is lost). */
bool stackcount__add(struct stackcount *t, const struct native_stack *s);
/* Emits every counted stack into prof and empties the table. */
void stackcount__flush(struct stackcount *t, struct profile *prof, struct symbolizer *sym,
		       const struct collector_config *cfg);
size_t stackcount__count(const struct stackcount *t);
uint64_t stackcount__lost(const struct stackcount *t);

#endif
