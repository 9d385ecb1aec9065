// SPDX-License-Identifier: Apache-2.0
/*
 * DWARF and smart samples in user space; see ustacks.h.
 */
#include "ustacks.h"

#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "native.h"
#include "smart.h"
#include "stackcount.h"
#include "unwind.h"
#include "xalloc.h"

struct ustacks {
	enum collector_mode mode;
	struct symbolizer *sym;
	struct unwinder *unw;
	struct smart *smart;
	struct stackcount *counts;
	ustacks_judged_fn on_judged;
	void *arg;
	uint64_t unwound, truncated, flushes;
	uint64_t ips[GP_MAX_STACK_DEPTH];
};

struct ustacks *ustacks__new(struct symbolizer *sym, enum collector_mode mode,
			     ustacks_judged_fn on_judged, void *arg)
{
	struct ustacks *u = xcalloc(1, sizeof(*u));

	u->mode = mode;
	u->sym = sym;
	u->unw = unwinder__new(sym, NULL);
	u->counts = stackcount__new(0);
	if (mode == COLLECTOR_SMART)
		u->smart = smart__new(NULL);
	u->on_judged = on_judged;
	u->arg = arg;
	return u;
}

struct ustacks *ustacks__free(struct ustacks *u)
{
	if (!u)
		return NULL;
	unwinder__free(u->unw);
	smart__free(u->smart);
	stackcount__free(u->counts);
	free(u);
	return NULL;
}

void ustacks__add(struct ustacks *u, const struct ustack_sample *s, uint64_t now_ns)
{
	int mode = u->smart ? smart__mode(u->smart, (int)s->tgid) : GP_PROC_DWARF;
	struct native_stack ns = {
		.tgid = s->tgid,
		.comm = s->comm,
		.kips = s->kips,
		.nk = s->nk,
		.kern_missing = s->kern_err,
		.uips = u->ips,
	};

	if (!s->regs) {
		/* a kernel thread: no user stack */
	} else if (mode == GP_PROC_FP && s->fp) {
		int n = s->nfp < GP_MAX_STACK_DEPTH ? s->nfp : GP_MAX_STACK_DEPTH;

		memcpy(u->ips, s->fp, n * sizeof(*u->ips));
		ns.nu = smart__complete(u->smart, (int)s->tgid, u->ips, n, GP_MAX_STACK_DEPTH);
	} else {
		struct unwind_sample us = {
			.pid = (int)s->tgid,
			.comm = s->comm,
			.stack = s->stack,
			.stack_len = s->stack_len,
		};
		enum unwind_stop stop;

		memcpy(us.regs, s->regs, sizeof(us.regs));
		ns.nu = unwinder__unwind(u->unw, &us, u->ips, GP_MAX_STACK_DEPTH, &stop);
		u->unwound++;
		if (stop != UNWIND_STOP_END)
			u->truncated++;
		if (!ns.nu)
			ns.user_missing = true;
		if (u->smart && s->fp && mode != GP_PROC_DWARF) {
			int m = smart__probe(u->smart, (int)s->tgid, s->fp, s->nfp, u->ips, ns.nu,
					     stop, now_ns);

			if (m != GP_PROC_PROBE && u->on_judged)
				u->on_judged(u->arg, (int)s->tgid, m);
		}
	}
	stackcount__add(u->counts, &ns);
}

void ustacks__forget(struct ustacks *u, int pid)
{
	if (u->smart && smart__forget(u->smart, pid) != GP_PROC_PROBE && u->on_judged)
		u->on_judged(u->arg, pid, GP_PROC_PROBE);
}

int ustacks__mode(struct ustacks *u, int pid)
{
	return u->smart ? smart__mode(u->smart, pid) : GP_PROC_DWARF;
}

int ustacks__complete_fp(struct ustacks *u, int pid, uint64_t *ips, int n, int max)
{
	return u->smart ? smart__complete(u->smart, pid, ips, n, max) : n;
}

void ustacks__flush(struct ustacks *u, struct profile *prof, const struct collector_config *cfg)
{
	stackcount__flush(u->counts, prof, u->sym, cfg);
	/* every ten drains: re-mapping the pages read costs more than keeping
	 * them for a few seconds */
	if (++u->flushes % 10 == 0)
		unwinder__trim(u->unw);
}

static void expired(void *arg, int pid)
{
	struct ustacks *u = arg;

	if (u->on_judged)
		u->on_judged(u->arg, pid, GP_PROC_PROBE);
}

void ustacks__end_session(struct ustacks *u, uint64_t now_ns)
{
	unwinder__sweep(u->unw);
	if (u->smart)
		smart__expire(u->smart, now_ns, expired, u);
}

void ustacks__stats(const struct ustacks *u, struct collector_stats *ret)
{
	ret->unwound = u->unwound;
	ret->unwind_truncated = u->truncated;
	ret->lost += stackcount__lost(u->counts);
	if (u->smart) {
		struct smart_stats ss;

		smart__stats(u->smart, &ss);
		ret->smart_fp = ss.fp;
		ret->smart_dwarf = ss.dwarf;
	}
}
