// SPDX-License-Identifier: Apache-2.0
/*
 * The merge; see merge.h. Works on interned profiles: strings are
 * re-interned into the result once per distinct frame, stacks once per
 * distinct stack.
 */
#include "merge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static uint64_t next_random(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t merge__scale(uint64_t count, double ratio, uint64_t *state)
{
	double v = (double)count * ratio, fl = floor(v), frac = v - fl;
	double r = (double)(next_random(state) >> 11) / (double)(1ULL << 53);

	return (uint64_t)fl + (r < frac ? 1 : 0);
}

/* Copies string id s of src into dst. */
static gp_str copy_str(struct profile *dst, const struct profile *src, gp_str s)
{
	return profile__intern(dst, profile__str(src, s), profile__strlen(src, s));
}

/* Copies a stack of src into dst, with extra frames (already in dst)
 * inserted first. */
static uint32_t copy_stack(struct profile *dst, const struct profile *src, uint32_t stack,
			   const gp_str *prefix, uint32_t nprefix)
{
	uint32_t n;
	const gp_str *fr = profile__stack_frames(src, stack, &n);
	gp_str buf[256], *ids = n + nprefix <= 256 ? buf : xmalloc((n + nprefix) * sizeof(gp_str));
	uint32_t id;

	for (uint32_t i = 0; i < nprefix; i++)
		ids[i] = prefix[i];
	for (uint32_t i = 0; i < n; i++)
		ids[nprefix + i] = copy_str(dst, src, fr[i]);
	id = profile__stack(dst, ids, n + nprefix);
	if (ids != buf)
		free(ids);
	return id;
}

static uint32_t copy_proc(struct profile *dst, const struct profile *src, uint32_t proc)
{
	const struct profile_proc *sp = profile__proc_at((struct profile *)src, proc);
	uint32_t id = profile__proc(dst, sp->pid, copy_str(dst, src, sp->comm), sp->source);
	struct profile_proc *dp = profile__proc_at(dst, id);

	dp->container = copy_str(dst, src, sp->container);
	dp->appid = copy_str(dst, src, sp->appid);
	dp->app_meta = sp->app_meta;
	return id;
}

static const struct merge_runtime *runtime_of(const struct merge_runtime *rt, size_t n,
					      int32_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (rt[i].pid == pid)
			return &rt[i];
	return NULL;
}

/* Native facts about pid: total samples, a proc to borrow comm and
 * container from. */
static uint64_t native_total(const struct profile *nat, int32_t pid, int64_t *ret_proc)
{
	uint64_t total = 0;

	*ret_proc = -1;
	if (!nat)
		return 0;
	for (uint32_t i = 0; i < profile__nprocs(nat); i++) {
		const struct profile_proc *pp = profile__proc_at((struct profile *)nat, i);

		if (pp->pid != pid)
			continue;
		total += profile__proc_total(nat, i);
		if (*ret_proc < 0)
			*ret_proc = i;
	}
	return total;
}

/* Runtime stacks of r into out, scaled by ratio (1.0: unscaled). */
static void add_runtime(struct profile *out, const struct profile *nat, int64_t nproc,
			const struct merge_runtime *r, double ratio, uint64_t *rng)
{
	const struct profile *rp = r->prof;
	const struct profile_sample *s;
	size_t n;

	s = profile__samples(rp, &n);
	for (size_t i = 0; i < n; i++) {
		uint64_t c = ratio == 1.0 ? s[i].count : merge__scale(s[i].count, ratio, rng);
		uint32_t proc, stack;
		struct profile_proc *op;

		if (!c)
			continue;
		proc = copy_proc(out, rp, s[i].proc);
		op = profile__proc_at(out, proc);
		op->pid = r->pid;
		op->source = r->source;
		op->app_meta = r->app_meta;
		if (r->appid)
			op->appid = profile__intern_cstr(out, r->appid);
		if (!op->container && nproc >= 0)
			op->container = copy_str(out, nat,
						 profile__proc_at((struct profile *)nat, nproc)->container);
		if (!op->appid && nproc >= 0)
			op->appid = copy_str(out, nat, profile__proc_at((struct profile *)nat, nproc)->appid);
		stack = copy_stack(out, rp, s[i].stack, NULL, 0);
		profile__add(out, proc, stack, c);
	}
}

static gp_str error_frame(struct profile *out, const struct merge_runtime *r)
{
	char *f = xasprintf("[Profiling %s: %s]", r->skipped ? "skipped" : "error",
			    r->error ? r->error : "unknown");
	gp_str id = profile__intern_cstr(out, f);

	free(f);
	return id;
}

struct profile *merge__profiles(const struct profile *nat, const struct merge_runtime *rt,
				size_t nrt, uint64_t seed)
{
	struct profile *out = profile__new();
	uint64_t rng = seed ? seed : 1;
	const struct profile_sample *s;
	size_t n;

	/* Native stacks of processes no runtime took, and error stacks. */
	if (nat) {
		s = profile__samples(nat, &n);
		for (size_t i = 0; i < n; i++) {
			const struct profile_proc *pp = profile__proc_at((struct profile *)nat, s[i].proc);
			const struct merge_runtime *r = runtime_of(rt, nrt, pp->pid);
			gp_str err;

			if (r && r->prof && profile__total(r->prof))
				continue;	/* replaced below */
			uint32_t proc = copy_proc(out, nat, s[i].proc);

			if (r && !r->prof) {
				struct profile_proc *op = profile__proc_at(out, proc);

				err = error_frame(out, r);
				op->app_meta = r->app_meta;
				if (r->appid)
					op->appid = profile__intern_cstr(out, r->appid);
				profile__add(out, proc, copy_stack(out, nat, s[i].stack, &err, 1),
					     s[i].count);
			} else {
				profile__add(out, proc, copy_stack(out, nat, s[i].stack, NULL, 0),
					     s[i].count);
			}
		}
	}
	for (size_t i = 0; i < nrt; i++) {
		const struct merge_runtime *r = &rt[i];
		int64_t nproc;
		uint64_t p = native_total(nat, r->pid, &nproc), t;

		if (r->prof && (t = profile__total(r->prof))) {
			add_runtime(out, nat, nproc, r, p ? (double)p / (double)t : 1.0, &rng);
		} else if (!r->prof && !p) {
			/* No native samples to annotate: one error stack. */
			const char *comm = r->comm ? r->comm : "";
			uint32_t proc = profile__proc(out, r->pid, profile__intern_cstr(out, comm),
						      r->source);
			gp_str err = error_frame(out, r);
			struct profile_proc *op = profile__proc_at(out, proc);

			op->app_meta = r->app_meta;
			if (r->appid)
				op->appid = profile__intern_cstr(out, r->appid);
			profile__add(out, proc, profile__stack(out, &err, 1), 1);
		}
	}
	return out;
}
