// SPDX-License-Identifier: Apache-2.0
/*
 * Counts of native stacks between drains; see stackcount.h. An open hash
 * table (a power of two, kept under half full) of entries holding their
 * addresses inline; the table is emptied at every flush, so its memory
 * follows one drain interval's distinct stacks.
 */
#include "stackcount.h"

#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "native.h"
#include "symbolizer.h"
#include "xalloc.h"

struct sc_entry {
	uint64_t hash, count;
	uint32_t tgid;
	uint16_t nu, nk;
	uint8_t flags;
	char comm[GP_COMM_LEN + 1];
	uint64_t ips[];		/* user (nu) then kernel (nk), leaf first */
};

#define F_USER_MISSING 1
#define F_KERN_MISSING 2

struct stackcount {
	struct sc_entry **slots;
	size_t nslots, n, max;
	uint64_t lost;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

static uint64_t hash_of(const struct native_stack *s, uint8_t flags)
{
	uint64_t h = mix(0x9e3779b97f4a7c15ULL, ((uint64_t)s->tgid << 32) | flags);

	for (const char *c = s->comm; *c; c++)
		h = mix(h, (unsigned char)*c);
	h = mix(h, ((uint64_t)s->nu << 16) | (uint64_t)s->nk);
	for (int i = 0; i < s->nu; i++)
		h = mix(h, s->uips[i]);
	for (int i = 0; i < s->nk; i++)
		h = mix(h, s->kips[i]);
	return h;
}

static bool same(const struct sc_entry *e, const struct native_stack *s, uint8_t flags)
{
	return e->tgid == s->tgid && e->nu == s->nu && e->nk == s->nk && e->flags == flags &&
	       !strncmp(e->comm, s->comm, GP_COMM_LEN) &&
	       !memcmp(e->ips, s->uips, s->nu * sizeof(uint64_t)) &&
	       !memcmp(e->ips + s->nu, s->kips, s->nk * sizeof(uint64_t));
}

struct stackcount *stackcount__new(size_t max)
{
	struct stackcount *t = xcalloc(1, sizeof(*t));

	t->max = max ? max : 65536;
	t->nslots = 1024;
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	return t;
}

static void clear(struct stackcount *t)
{
	for (size_t i = 0; i < t->nslots; i++) {
		free(t->slots[i]);
		t->slots[i] = NULL;
	}
	t->n = 0;
}

struct stackcount *stackcount__free(struct stackcount *t)
{
	if (!t)
		return NULL;
	clear(t);
	free(t->slots);
	free(t);
	return NULL;
}

static void grow(struct stackcount *t)
{
	size_t n = t->nslots * 2;
	struct sc_entry **s = xcalloc(n, sizeof(*s));

	for (size_t i = 0; i < t->nslots; i++) {
		struct sc_entry *e = t->slots[i];
		size_t j;

		if (!e)
			continue;
		for (j = e->hash & (n - 1); s[j]; j = (j + 1) & (n - 1))
			;
		s[j] = e;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = n;
}

bool stackcount__add(struct stackcount *t, const struct native_stack *s)
{
	uint8_t flags = (s->user_missing ? F_USER_MISSING : 0) | (s->kern_missing ? F_KERN_MISSING : 0);
	uint64_t h = hash_of(s, flags);
	size_t i;
	struct sc_entry *e;

	for (i = h & (t->nslots - 1); (e = t->slots[i]); i = (i + 1) & (t->nslots - 1)) {
		if (e->hash == h && same(e, s, flags)) {
			e->count++;
			return true;
		}
	}
	if (t->n >= t->max) {
		t->lost++;
		return false;
	}
	e = xmalloc(sizeof(*e) + ((size_t)s->nu + s->nk) * sizeof(uint64_t));
	e->hash = h;
	e->count = 1;
	e->tgid = s->tgid;
	e->nu = (uint16_t)s->nu;
	e->nk = (uint16_t)s->nk;
	e->flags = flags;
	strncpy(e->comm, s->comm, GP_COMM_LEN);
	e->comm[GP_COMM_LEN] = '\0';
	memcpy(e->ips, s->uips, s->nu * sizeof(uint64_t));
	memcpy(e->ips + s->nu, s->kips, s->nk * sizeof(uint64_t));
	t->slots[i] = e;
	if (++t->n * 2 > t->nslots)
		grow(t);
	return true;
}

static void push(struct profile *prof, gp_str **frames, size_t *cap, int *n, const char *name)
{
	xgrow((void **)frames, cap, (size_t)*n + 1, sizeof(gp_str));
	(*frames)[(*n)++] = profile__intern_cstr(prof, name);
}

void native_stack__emit(const struct native_stack *s, uint64_t count, struct profile *prof,
			struct symbolizer *sym, const struct collector_config *cfg,
			gp_str **frames, size_t *cap)
{
	uint32_t proc, nprocs;
	int n = 0;

	if (s->user_missing && !s->nu)
		push(prof, frames, cap, &n, "[missing user stack]");
	for (int i = s->nu - 1; i >= 0; i--)
		push(prof, frames, cap, &n,
		     symbolizer__user(sym, (int)s->tgid, s->comm, s->uips[i], i > 0));
	if (s->kern_missing && !s->nk)
		push(prof, frames, cap, &n, "[missing kernel stack]_[k]");
	for (int i = s->nk - 1; i >= 0; i--)
		push(prof, frames, cap, &n, symbolizer__kernel(sym, s->kips[i], i > 0));

	nprocs = profile__nprocs(prof);
	proc = profile__proc(prof, (int32_t)s->tgid, profile__intern_cstr(prof, s->comm),
			     GP_SRC_NATIVE);
	if (proc == nprocs && cfg->on_proc)
		cfg->on_proc(cfg->on_proc_arg, prof, proc,
			     s->tgid ? symbolizer__procinfo(sym, (int)s->tgid) : NULL);
	profile__add(prof, proc, profile__stack(prof, *frames, n), count);
}

void stackcount__flush(struct stackcount *t, struct profile *prof, struct symbolizer *sym,
		       const struct collector_config *cfg)
{
	gp_str *frames = NULL;
	size_t cap = 0;

	for (size_t i = 0; i < t->nslots; i++) {
		const struct sc_entry *e = t->slots[i];

		if (!e)
			continue;
		struct native_stack s = {
			.tgid = e->tgid,
			.comm = e->comm,
			.uips = e->ips,
			.nu = e->nu,
			.kips = e->ips + e->nu,
			.nk = e->nk,
			.user_missing = e->flags & F_USER_MISSING,
			.kern_missing = e->flags & F_KERN_MISSING,
		};
		native_stack__emit(&s, e->count, prof, sym, cfg, &frames, &cap);
	}
	free(frames);
	clear(t);
}

size_t stackcount__count(const struct stackcount *t)
{
	return t->n;
}

uint64_t stackcount__lost(const struct stackcount *t)
{
	return t->lost;
}
