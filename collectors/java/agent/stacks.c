// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's aggregation: frame strings are interned once (with a cache
 * from method+mark to frame id, so a known method costs no JVMTI call), and
 * stacks are interned as arrays of frame ids with a count. Everything is
 * charged against one byte budget; past it, adds fail and the session
 * counts the samples as lost instead of growing inside the target.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

struct stack_ent {
	uint64_t hash, count;
	uint32_t off, n;	/* into ids */
};

struct stacks {
	size_t max_bytes, bytes;
	/* frames */
	char **fstr;
	uint32_t *flen;
	uint32_t nframes, fcap;
	uint32_t *ftab;		/* frame id + 1, open addressing */
	size_t ftab_cap;
	/* method+mark -> frame */
	uint64_t *ckeys;
	uint32_t *cvals;
	size_t ccap, cused;
	/* stacks */
	struct stack_ent *ents;
	uint32_t nents, ecap;
	uint32_t *stab;		/* ent index + 1 */
	size_t stab_cap;
	uint32_t *ids;
	size_t nids, idcap;
	uint64_t total;
};

static uint64_t fnv(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ull

/* Grows *p to hold `need` items of `size`; charges the growth. */
static bool grow(struct stacks *st, void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return true;
	while (ncap < need)
		ncap *= 2;
	if (st->bytes + (ncap - *cap) * size > st->max_bytes)
		return false;
	q = realloc(*p, ncap * size);
	if (!q)
		return false;
	st->bytes += (ncap - *cap) * size;
	*p = q;
	*cap = ncap;
	return true;
}

struct stacks *stacks__new(size_t max_bytes)
{
	struct stacks *st = calloc(1, sizeof(*st));

	if (st)
		st->max_bytes = max_bytes;
	return st;
}

void stacks__free(struct stacks *st)
{
	if (!st)
		return;
	for (uint32_t i = 0; i < st->nframes; i++)
		free(st->fstr[i]);
	free(st->fstr);
	free(st->flen);
	free(st->ftab);
	free(st->ckeys);
	free(st->cvals);
	free(st->ents);
	free(st->stab);
	free(st->ids);
	free(st);
}

/* Rebuilds an open-addressing index of ids+1 at twice the size. */
static bool rehash(struct stacks *st, uint32_t **tab, size_t *cap, uint32_t count,
		   uint64_t (*hash_of)(const struct stacks *, uint32_t))
{
	size_t ncap = *cap ? *cap * 2 : 256;
	uint32_t *t;

	if (st->bytes + (ncap - *cap) * sizeof(uint32_t) > st->max_bytes)
		return false;
	t = calloc(ncap, sizeof(uint32_t));
	if (!t)
		return false;
	for (uint32_t id = 0; id < count; id++) {
		size_t i = hash_of(st, id) & (ncap - 1);

		while (t[i])
			i = (i + 1) & (ncap - 1);
		t[i] = id + 1;
	}
	st->bytes += (ncap - *cap) * sizeof(uint32_t);
	free(*tab);
	*tab = t;
	*cap = ncap;
	return true;
}

static uint64_t frame_hash(const struct stacks *st, uint32_t id)
{
	return fnv(st->fstr[id], st->flen[id], FNV_INIT);
}

static uint64_t stack_hash(const struct stacks *st, uint32_t id)
{
	return st->ents[id].hash;
}

uint32_t stacks__frame(struct stacks *st, const char *s, size_t len)
{
	uint64_t h = fnv(s, len, FNV_INIT);
	size_t i, fcap = st->fcap;
	char *copy;

	if ((st->nframes + 1) * 2 > st->ftab_cap &&
	    !rehash(st, &st->ftab, &st->ftab_cap, st->nframes, frame_hash))
		return UINT32_MAX;
	for (i = h & (st->ftab_cap - 1); st->ftab[i]; i = (i + 1) & (st->ftab_cap - 1)) {
		uint32_t id = st->ftab[i] - 1;

		if (st->flen[id] == len && !memcmp(st->fstr[id], s, len))
			return id;
	}
	if (st->nframes == UINT32_MAX - 1 || st->bytes + len + 1 > st->max_bytes)
		return UINT32_MAX;
	if (!grow(st, (void **)&st->fstr, &fcap, st->nframes + 1, sizeof(char *)))
		return UINT32_MAX;
	fcap = st->fcap;
	if (!grow(st, (void **)&st->flen, &fcap, st->nframes + 1, sizeof(uint32_t)))
		return UINT32_MAX;
	st->fcap = fcap;
	copy = malloc(len + 1);
	if (!copy)
		return UINT32_MAX;
	memcpy(copy, s, len);
	copy[len] = '\0';
	st->bytes += len + 1;
	st->fstr[st->nframes] = copy;
	st->flen[st->nframes] = len;
	st->ftab[i] = st->nframes + 1;
	return st->nframes++;
}

static size_t cache_slot(const struct stacks *st, uint64_t key)
{
	size_t i = (key * 0x9E3779B97F4A7C15ull >> 17) & (st->ccap - 1);

	while (st->ckeys[i] && st->ckeys[i] != key)
		i = (i + 1) & (st->ccap - 1);
	return i;
}

uint32_t stacks__cached(struct stacks *st, uint64_t key)
{
	size_t i;

	if (!st->ccap || !key)
		return UINT32_MAX;
	i = cache_slot(st, key);
	return st->ckeys[i] ? st->cvals[i] : UINT32_MAX;
}

void stacks__cache(struct stacks *st, uint64_t key, uint32_t frame)
{
	size_t i;

	if (!key || frame == UINT32_MAX)
		return;
	if ((st->cused + 1) * 2 > st->ccap) {
		size_t ncap = st->ccap ? st->ccap * 2 : 256;
		size_t add = (ncap - st->ccap) * (sizeof(uint64_t) + sizeof(uint32_t));
		uint64_t *keys, *okeys = st->ckeys;
		uint32_t *vals, *ovals = st->cvals;
		size_t ocap = st->ccap;

		if (st->bytes + add > st->max_bytes)
			return;
		keys = calloc(ncap, sizeof(*keys));
		vals = calloc(ncap, sizeof(*vals));
		if (!keys || !vals) {
			free(keys);
			free(vals);
			return;
		}
		st->ckeys = keys;
		st->cvals = vals;
		st->ccap = ncap;
		st->bytes += add;
		for (size_t k = 0; k < ocap; k++) {
			if (!okeys[k])
				continue;
			i = cache_slot(st, okeys[k]);
			st->ckeys[i] = okeys[k];
			st->cvals[i] = ovals[k];
		}
		free(okeys);
		free(ovals);
	}
	i = cache_slot(st, key);
	if (!st->ckeys[i])
		st->cused++;
	st->ckeys[i] = key;
	st->cvals[i] = frame;
}

int stacks__add(struct stacks *st, const uint32_t *ids, uint32_t n, uint64_t count)
{
	uint64_t h = fnv(ids, (size_t)n * sizeof(*ids), FNV_INIT);
	size_t i, ecap = st->ecap;

	if ((st->nents + 1) * 2 > st->stab_cap &&
	    !rehash(st, &st->stab, &st->stab_cap, st->nents, stack_hash))
		return -ENOMEM;
	for (i = h & (st->stab_cap - 1); st->stab[i]; i = (i + 1) & (st->stab_cap - 1)) {
		struct stack_ent *e = &st->ents[st->stab[i] - 1];

		if (e->hash == h && e->n == n &&
		    !memcmp(&st->ids[e->off], ids, (size_t)n * sizeof(*ids))) {
			e->count += count;
			st->total += count;
			return 0;
		}
	}
	if (!grow(st, (void **)&st->ents, &ecap, st->nents + 1, sizeof(*st->ents)))
		return -ENOMEM;
	st->ecap = ecap;
	if (!grow(st, (void **)&st->ids, &st->idcap, st->nids + n, sizeof(*st->ids)))
		return -ENOMEM;
	memcpy(&st->ids[st->nids], ids, (size_t)n * sizeof(*ids));
	st->ents[st->nents] = (struct stack_ent){ h, count, (uint32_t)st->nids, n };
	st->nids += n;
	st->stab[i] = st->nents + 1;
	st->nents++;
	st->total += count;
	return 0;
}

struct wbuf {
	int fd, err;
	size_t len;
	char buf[65536];
};

static void wflush(struct wbuf *w)
{
	size_t off = 0;

	while (off < w->len && !w->err) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			w->err = n < 0 ? errno : EIO;
		else
			off += n;
	}
	w->len = 0;
}

static void wput(struct wbuf *w, const char *s, size_t len)
{
	while (len) {
		size_t n = sizeof(w->buf) - w->len;

		if (n > len)
			n = len;
		memcpy(w->buf + w->len, s, n);
		w->len += n;
		s += n;
		len -= n;
		if (w->len == sizeof(w->buf))
			wflush(w);
	}
}

int stacks__write(const struct stacks *st, int fd)
{
	struct wbuf *w = malloc(sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->err = 0;
	w->len = 0;
	for (uint32_t e = 0; e < st->nents; e++) {
		const struct stack_ent *ent = &st->ents[e];
		char num[24];
		int k = sizeof(num);
		uint64_t c = ent->count;

		for (uint32_t j = 0; j < ent->n; j++) {
			uint32_t id = st->ids[ent->off + j];

			if (j)
				wput(w, ";", 1);
			wput(w, st->fstr[id], st->flen[id]);
		}
		num[--k] = '\n';
		do {
			num[--k] = '0' + c % 10;
			c /= 10;
		} while (c);
		num[--k] = ' ';
		wput(w, num + k, sizeof(num) - k);
	}
	wflush(w);
	err = w->err;
	free(w);
	return err ? -err : 0;
}

size_t stacks__bytes(const struct stacks *st)
{
	return st->bytes;
}

uint64_t stacks__count(const struct stacks *st)
{
	return st->total;
}
