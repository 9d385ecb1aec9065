// SPDX-License-Identifier: Apache-2.0
/*
 * Interning tables for the profile model. Strings live in one arena and
 * stacks in one array of string ids; three open-addressing indexes (strings,
 * stacks, processes, samples) map a 64-bit hash to an item id, with the
 * hashes kept beside the items so growing never rehashes content.
 */
#include "profile.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* ---- open-addressing index: slots hold item id + 1 ---- */

struct index {
	uint32_t *slots;
	uint32_t mask;	/* capacity - 1, capacity a power of two */
	uint32_t len;
};

typedef bool (*index_eq)(const struct profile *p, uint32_t id, const void *key);

static uint64_t hash_bytes(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *b = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

struct profile {
	/* strings */
	char *arena;
	size_t arena_len, arena_cap;
	uint64_t *str_off;	/* id -> arena offset */
	uint32_t *str_len;
	uint64_t *str_hash;
	size_t nstr, str_cap;
	struct index str_idx;
	/* stacks */
	gp_str *frames;
	size_t nframes, frames_cap;
	uint64_t *stk_off;
	uint32_t *stk_len;
	uint64_t *stk_hash;
	size_t nstk, stk_cap;
	struct index stk_idx;
	/* processes */
	struct profile_proc *procs;
	uint64_t *proc_hash;
	uint64_t *proc_total;
	size_t nprocs, procs_cap;
	struct index proc_idx;
	/* samples */
	struct profile_sample *samples;
	uint64_t *sample_hash;
	size_t nsamples, samples_cap;
	struct index sample_idx;
	uint64_t total;
};

static void index_init(struct index *ix)
{
	ix->mask = 63;
	ix->len = 0;
	ix->slots = xcalloc(64, sizeof(*ix->slots));
}

/* Returns the slot holding an item equal to key, or the empty slot where it
 * belongs. */
static uint32_t *index_find(const struct profile *p, const struct index *ix, uint64_t h,
			    index_eq eq, const void *key)
{
	for (uint32_t i = h & ix->mask;; i = (i + 1) & ix->mask) {
		uint32_t *s = &ix->slots[i];

		if (!*s || eq(p, *s - 1, key))
			return s;
	}
}

/* Records an insertion into slot; grows at 50% load using stored hashes. */
static void index_added(struct index *ix, uint32_t *slot, uint32_t id, const uint64_t *hashes)
{
	*slot = id + 1;
	if (++ix->len * 2 <= ix->mask + 1)
		return;
	uint32_t cap = (ix->mask + 1) * 2;
	uint32_t *slots = xcalloc(cap, sizeof(*slots));

	for (uint32_t i = 0; i <= ix->mask; i++) {
		uint32_t v = ix->slots[i], j;

		if (!v)
			continue;
		for (j = hashes[v - 1] & (cap - 1); slots[j]; j = (j + 1) & (cap - 1))
			;
		slots[j] = v;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->mask = cap - 1;
}

/* Doubles *cap until it holds need items; true when it changed, so the
 * parallel arrays sized by it must be reallocated. */
static bool grow(size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return false;
	while (c < need)
		c *= 2;
	*cap = c;
	return true;
}

/* ---- strings ---- */

struct str_key {
	const char *s;
	size_t len;
};

static bool str_eq(const struct profile *p, uint32_t id, const void *key)
{
	const struct str_key *k = key;

	return p->str_len[id] == k->len &&
	       (!k->len || !memcmp(p->arena + p->str_off[id], k->s, k->len));
}

gp_str profile__intern(struct profile *p, const char *s, size_t len)
{
	struct str_key k = { s, len };
	uint64_t h = hash_bytes(s, len, 0);
	uint32_t *slot = index_find(p, &p->str_idx, h, str_eq, &k);
	uint32_t id;

	if (*slot)
		return *slot - 1;
	id = p->nstr++;
	if (grow(&p->str_cap, p->nstr)) {
		p->str_off = xrealloc(p->str_off, p->str_cap * sizeof(*p->str_off));
		p->str_len = xrealloc(p->str_len, p->str_cap * sizeof(*p->str_len));
		p->str_hash = xrealloc(p->str_hash, p->str_cap * sizeof(*p->str_hash));
	}
	xgrow((void **)&p->arena, &p->arena_cap, p->arena_len + len + 1, 1);
	if (len)
		memcpy(p->arena + p->arena_len, s, len);
	p->arena[p->arena_len + len] = '\0';
	p->str_off[id] = p->arena_len;
	p->str_len[id] = len;
	p->str_hash[id] = h;
	p->arena_len += len + 1;
	index_added(&p->str_idx, slot, id, p->str_hash);
	return id;
}

gp_str profile__intern_cstr(struct profile *p, const char *s)
{
	return profile__intern(p, s ? s : "", s ? strlen(s) : 0);
}

const char *profile__str(const struct profile *p, gp_str id)
{
	return id < p->nstr ? p->arena + p->str_off[id] : "";
}

size_t profile__strlen(const struct profile *p, gp_str id)
{
	return id < p->nstr ? p->str_len[id] : 0;
}

/* ---- stacks ---- */

struct stk_key {
	const gp_str *f;
	uint32_t n;
};

static bool stk_eq(const struct profile *p, uint32_t id, const void *key)
{
	const struct stk_key *k = key;

	return p->stk_len[id] == k->n &&
	       (!k->n || !memcmp(p->frames + p->stk_off[id], k->f, k->n * sizeof(gp_str)));
}

uint32_t profile__stack(struct profile *p, const gp_str *frames, uint32_t n)
{
	struct stk_key k = { frames, n };
	uint64_t h = hash_bytes(frames, n * sizeof(gp_str), 1);
	uint32_t *slot = index_find(p, &p->stk_idx, h, stk_eq, &k);
	uint32_t id;

	if (*slot)
		return *slot - 1;
	id = p->nstk++;
	if (grow(&p->stk_cap, p->nstk)) {
		p->stk_off = xrealloc(p->stk_off, p->stk_cap * sizeof(*p->stk_off));
		p->stk_len = xrealloc(p->stk_len, p->stk_cap * sizeof(*p->stk_len));
		p->stk_hash = xrealloc(p->stk_hash, p->stk_cap * sizeof(*p->stk_hash));
	}
	xgrow((void **)&p->frames, &p->frames_cap, p->nframes + n, sizeof(*p->frames));
	if (n)
		memcpy(p->frames + p->nframes, frames, n * sizeof(gp_str));
	p->stk_off[id] = p->nframes;
	p->stk_len[id] = n;
	p->stk_hash[id] = h;
	p->nframes += n;
	index_added(&p->stk_idx, slot, id, p->stk_hash);
	return id;
}

const gp_str *profile__stack_frames(const struct profile *p, uint32_t stack, uint32_t *ret_n)
{
	if (stack >= p->nstk) {
		*ret_n = 0;
		return NULL;
	}
	*ret_n = p->stk_len[stack];
	return p->frames + p->stk_off[stack];
}

/* ---- processes ---- */

struct proc_key {
	int32_t pid;
	gp_str comm;
	enum gp_source src;
};

static bool proc_eq(const struct profile *p, uint32_t id, const void *key)
{
	const struct proc_key *k = key;
	const struct profile_proc *pp = &p->procs[id];

	return pp->pid == k->pid && pp->comm == k->comm && pp->source == k->src;
}

uint32_t profile__proc(struct profile *p, int32_t pid, gp_str comm, enum gp_source src)
{
	struct proc_key k = { pid, comm, src };
	uint64_t h = hash_u64(((uint64_t)(uint32_t)pid << 32) ^ comm ^ ((uint64_t)src << 60));
	uint32_t *slot = index_find(p, &p->proc_idx, h, proc_eq, &k);
	uint32_t id;

	if (*slot)
		return *slot - 1;
	id = p->nprocs++;
	if (grow(&p->procs_cap, p->nprocs)) {
		p->procs = xrealloc(p->procs, p->procs_cap * sizeof(*p->procs));
		p->proc_hash = xrealloc(p->proc_hash, p->procs_cap * sizeof(*p->proc_hash));
		p->proc_total = xrealloc(p->proc_total, p->procs_cap * sizeof(*p->proc_total));
	}
	p->procs[id] = (struct profile_proc){ .pid = pid, .comm = comm, .source = src };
	p->proc_hash[id] = h;
	p->proc_total[id] = 0;
	index_added(&p->proc_idx, slot, id, p->proc_hash);
	return id;
}

struct profile_proc *profile__proc_at(struct profile *p, uint32_t idx)
{
	return idx < p->nprocs ? &p->procs[idx] : NULL;
}

uint32_t profile__nprocs(const struct profile *p)
{
	return p->nprocs;
}

uint64_t profile__proc_total(const struct profile *p, uint32_t proc)
{
	return proc < p->nprocs ? p->proc_total[proc] : 0;
}

/* ---- samples ---- */

static bool sample_eq(const struct profile *p, uint32_t id, const void *key)
{
	const struct profile_sample *k = key;

	return p->samples[id].proc == k->proc && p->samples[id].stack == k->stack;
}

void profile__add(struct profile *p, uint32_t proc, uint32_t stack, uint64_t count)
{
	struct profile_sample k = { proc, stack, count };
	uint64_t h = hash_u64(((uint64_t)proc << 32) | stack);
	uint32_t *slot;
	uint32_t id;

	if (!count || proc >= p->nprocs)
		return;
	p->total += count;
	p->proc_total[proc] += count;
	slot = index_find(p, &p->sample_idx, h, sample_eq, &k);
	if (*slot) {
		p->samples[*slot - 1].count += count;
		return;
	}
	id = p->nsamples++;
	if (grow(&p->samples_cap, p->nsamples)) {
		p->samples = xrealloc(p->samples, p->samples_cap * sizeof(*p->samples));
		p->sample_hash = xrealloc(p->sample_hash, p->samples_cap * sizeof(*p->sample_hash));
	}
	p->samples[id] = k;
	p->sample_hash[id] = h;
	index_added(&p->sample_idx, slot, id, p->sample_hash);
}

void profile__add_frames(struct profile *p, uint32_t proc, const char *const *frames,
			 uint32_t n, uint64_t count)
{
	gp_str stackbuf[256], *ids = n <= 256 ? stackbuf : xmalloc(n * sizeof(*ids));

	if (!n) {
		profile__add(p, proc, profile__stack(p, NULL, 0), count);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		ids[i] = profile__intern_cstr(p, frames[i]);
	profile__add(p, proc, profile__stack(p, ids, n), count);
	if (ids != stackbuf)
		free(ids);
}

const struct profile_sample *profile__samples(const struct profile *p, size_t *ret_n)
{
	*ret_n = p->nsamples;
	return p->samples;
}

uint64_t profile__total(const struct profile *p)
{
	return p->total;
}

/* ---- lifetime ---- */

struct profile *profile__new(void)
{
	struct profile *p = xcalloc(1, sizeof(*p));

	index_init(&p->str_idx);
	index_init(&p->stk_idx);
	index_init(&p->proc_idx);
	index_init(&p->sample_idx);
	profile__intern(p, "", 0);	/* id 0 */
	return p;
}

struct profile *profile__free(struct profile *p)
{
	if (!p)
		return NULL;
	free(p->arena);
	free(p->str_off);
	free(p->str_len);
	free(p->str_hash);
	free(p->str_idx.slots);
	free(p->frames);
	free(p->stk_off);
	free(p->stk_len);
	free(p->stk_hash);
	free(p->stk_idx.slots);
	free(p->procs);
	free(p->proc_hash);
	free(p->proc_total);
	free(p->proc_idx.slots);
	free(p->samples);
	free(p->sample_hash);
	free(p->sample_idx.slots);
	free(p);
	return NULL;
}
