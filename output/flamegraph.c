// SPDX-License-Identifier: Apache-2.0
/*
 * Writes the flamegraph page: the embedded page head, the profile as JSON,
 * the page tail.
 *
 * The tree is built without a hash table: every sample becomes a path of
 * name ranks (comm, [appid], frames; ranks follow the names' byte order),
 * and a multikey radix sort over the paths creates the nodes: the samples
 * sharing a prefix are grouped by their next rank, one node per group, and
 * a group of one sample becomes a chain of nodes without further work.
 * Groups are taken in rank order, depth first, so nodes come out in
 * pre-order with siblings sorted by name, exactly the order the page wants,
 * and a backwards pass sums the counts into the parents. All output goes
 * through one buffer and numbers are formatted by hand: this is the hot
 * path of a 50,000-stack page.
 */
#include "flamegraph.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph/assets.h"
#include "xalloc.h"

/* ---- buffered output ---- */

#define OUT_BUF (1u << 16)

struct out {
	FILE *f;
	size_t len;
	uint64_t bytes;
	bool err;
	char buf[OUT_BUF];
};

static void out_flush(struct out *o)
{
	if (o->len && !o->err && fwrite(o->buf, 1, o->len, o->f) != o->len)
		o->err = true;
	o->bytes += o->len;
	o->len = 0;
}

static void out_mem(struct out *o, const void *data, size_t n)
{
	const char *d = data;

	while (n) {
		size_t room = OUT_BUF - o->len, k = n < room ? n : room;

		memcpy(o->buf + o->len, d, k);
		o->len += k;
		d += k;
		n -= k;
		if (o->len == OUT_BUF)
			out_flush(o);
	}
}

static inline void out_ch(struct out *o, char c)
{
	if (o->len == OUT_BUF)
		out_flush(o);
	o->buf[o->len++] = c;
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

/* Makes room for n more bytes (n <= OUT_BUF). */
static inline char *out_reserve(struct out *o, size_t n)
{
	if (o->len + n > OUT_BUF)
		out_flush(o);
	return o->buf + o->len;
}

/* Writes v in decimal at p; returns the end. */
static inline char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	if (v < 10) {
		*p++ = (char)('0' + v);
		return p;
	}
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static inline void out_u64(struct out *o, uint64_t v)
{
	char *p = out_reserve(o, 20);

	o->len = put_u64(p, v) - o->buf;
}

/*
 * A JSON string that is also safe inside an HTML <script> element: <, >
 * and & become \u003c \u003e \u0026 (so neither "</script" nor "<!--" can
 * appear), U+2028/2029 are escaped, control characters too, and every
 * ill-formed UTF-8 sequence (its maximal subpart, as WHATWG decoders do)
 * becomes U+FFFD. At most max input bytes are written; a longer string is
 * cut at a character boundary and ends with U+2026.
 */
static void out_json_str(struct out *o, const char *str, size_t n, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	out_ch(o, '"');
	while (i < n) {
		unsigned c = s[i];

		if (i >= max) {
			out_str(o, "\\u2026");
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' &&
		    c != '&') {
			/* copy runs of plain ASCII at once */
			run = i + 1;
			while (run < n && run < max) {
				unsigned d = s[run];

				if (d < 0x20 || d >= 0x7f || d == '"' || d == '\\' || d == '<' ||
				    d == '>' || d == '&')
					break;
				run++;
			}
			out_mem(o, s + i, run - i);
			i = run;
			continue;
		}
		if (c < 0x80) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			switch (c) {
			case '"': out_mem(o, "\\\"", 2); break;
			case '\\': out_mem(o, "\\\\", 2); break;
			case '\n': out_mem(o, "\\n", 2); break;
			case '\t': out_mem(o, "\\t", 2); break;
			case '\r': out_mem(o, "\\r", 2); break;
			default: out_mem(o, esc, 6); break;
			}
			i++;
			continue;
		}
		/* multi-byte: validate per Unicode table 3-7 */
		unsigned lo = 0x80, hi = 0xbf;
		size_t need, k;

		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c == 0xe0)
			need = 2, lo = 0xa0;
		else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
			need = 2;
		else if (c == 0xed)
			need = 2, hi = 0x9f;
		else if (c == 0xf0)
			need = 3, lo = 0x90;
		else if (c >= 0xf1 && c <= 0xf3)
			need = 3;
		else if (c == 0xf4)
			need = 3, hi = 0x8f;
		else
			need = 0;
		for (k = 1; need && k <= need; k++) {
			if (i + k >= n || s[i + k] < lo || s[i + k] > hi)
				break;
			lo = 0x80;
			hi = 0xbf;
		}
		if (!need || k <= need) {
			out_str(o, "\\ufffd");
			i += need ? k : 1;
			continue;
		}
		if (i + need + 1 > max) {	/* would cross the cut */
			out_str(o, "\\u2026");
			break;
		}
		if (c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
			out_str(o, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
		else
			out_mem(o, s + i, need + 1);
		i += need + 1;
	}
	out_ch(o, '"');
}

static void out_json_cstr(struct out *o, const char *s)
{
	if (s)
		out_json_str(o, s, strlen(s), FLAMEGRAPH_MAX_NAME);
	else
		out_str(o, "null");
}

/* ---- the tree ---- */

struct fg_str {
	const char *s;
	size_t len;
};

struct fg_item {
	uint64_t off;		/* into path */
	uint32_t len;
	uint64_t count;
};

struct fg {
	const struct profile *p;
	/* names: local id -> text; appid names are owned ("appid: X") */
	struct fg_str *strs;
	size_t nstrs, strs_cap;
	char **owned;
	size_t nowned, owned_cap;
	uint32_t *frame_map, *appid_map;	/* gp_str -> local id + 1 */
	size_t frame_map_cap, appid_map_cap;
	/* one path per sample */
	uint32_t *path;
	size_t npath, path_cap;
	struct fg_item *items;
	size_t nitems, items_cap;
	uint32_t max_len;
	/* output string table: rank -> local id; rank 0 is the root */
	uint32_t *by_rank;
	size_t nranks;
	unsigned rank_bytes;	/* bytes needed for the largest rank */
	/* nodes in pre-order */
	uint32_t *name, *parent, *nchild;
	uint64_t *value;
	size_t nnodes;
};

static uint32_t *map_slot(uint32_t **map, size_t *cap, gp_str id)
{
	if (id >= *cap) {
		size_t old = *cap;

		xgrow((void **)map, cap, (size_t)id + 1, sizeof(**map));
		memset(*map + old, 0, (*cap - old) * sizeof(**map));
	}
	return &(*map)[id];
}

static uint32_t fg_local(struct fg *t, const char *s, size_t len)
{
	xgrow((void **)&t->strs, &t->strs_cap, t->nstrs + 1, sizeof(*t->strs));
	t->strs[t->nstrs] = (struct fg_str){ s, len };
	return (uint32_t)t->nstrs++;
}

static uint32_t fg_frame(struct fg *t, gp_str id)
{
	uint32_t *slot = map_slot(&t->frame_map, &t->frame_map_cap, id);

	if (!*slot)
		*slot = fg_local(t, profile__str(t->p, id), profile__strlen(t->p, id)) + 1;
	return *slot - 1;
}

static uint32_t fg_appid(struct fg *t, gp_str id)
{
	uint32_t *slot = map_slot(&t->appid_map, &t->appid_map_cap, id);

	if (!*slot) {
		char *s = xasprintf("appid: %s", profile__str(t->p, id));

		xgrow((void **)&t->owned, &t->owned_cap, t->nowned + 1, sizeof(*t->owned));
		t->owned[t->nowned++] = s;
		*slot = fg_local(t, s, strlen(s)) + 1;
	}
	return *slot - 1;
}

static void fg_free(struct fg *t)
{
	for (size_t i = 0; i < t->nowned; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->strs);
	free(t->frame_map);
	free(t->appid_map);
	free(t->path);
	free(t->items);
	free(t->by_rank);
	free(t->name);
	free(t->parent);
	free(t->nchild);
	free(t->value);
}

static int str_cmp(const struct fg_str *a, const struct fg_str *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->s, b->s, n);

	if (r)
		return r;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int cmp_local(const void *a, const void *b, void *ctx)
{
	const struct fg_str *strs = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int r = str_cmp(&strs[x], &strs[y]);

	return r ? r : (x > y) - (x < y);
}

/* One path per sample with a count: comm, [appid], frames. */
static void fg_collect(struct fg *t)
{
	struct profile *p = (struct profile *)t->p;	/* profile__proc_at() only reads */
	const struct profile_sample *s;
	size_t n;

	s = profile__samples(p, &n);
	/* size the arrays once: no copying while they fill */
	size_t need = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t nf;

		if (s[i].count) {
			profile__stack_frames(p, s[i].stack, &nf);
			need += (size_t)nf + 2;
		}
	}
	xgrow((void **)&t->path, &t->path_cap, need, sizeof(*t->path));
	xgrow((void **)&t->items, &t->items_cap, n, sizeof(*t->items));
	for (size_t i = 0; i < n; i++) {
		const struct profile_proc *pp;
		const gp_str *fr;
		uint32_t nf;
		uint64_t off = t->npath;

		if (!s[i].count)
			continue;
		pp = profile__proc_at(p, s[i].proc);
		fr = profile__stack_frames(p, s[i].stack, &nf);
		t->path[t->npath++] = fg_frame(t, pp->comm);
		if (pp->appid)
			t->path[t->npath++] = fg_appid(t, pp->appid);
		for (uint32_t j = 0; j < nf; j++) {
			uint32_t v = fr[j] < t->frame_map_cap ? t->frame_map[fr[j]] : 0;

			t->path[t->npath++] = v ? v - 1 : fg_frame(t, fr[j]);
		}
		t->items[t->nitems++] = (struct fg_item){ off, (uint32_t)(t->npath - off),
							  s[i].count };
		if (t->npath - off > t->max_len)
			t->max_len = (uint32_t)(t->npath - off);
	}
}

/* Sorts the names; equal texts share a rank. Paths then hold ranks. */
static void fg_rank(struct fg *t)
{
	uint32_t *order = xmalloc((t->nstrs ? t->nstrs : 1) * sizeof(*order));
	uint32_t *rank = xmalloc((t->nstrs ? t->nstrs : 1) * sizeof(*rank));

	for (size_t i = 0; i < t->nstrs; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, t->nstrs, sizeof(*order), cmp_local, t->strs);
	t->by_rank = xmalloc((t->nstrs + 1) * sizeof(*t->by_rank));
	t->nranks = 1;		/* 0: the root */
	for (size_t i = 0; i < t->nstrs; i++) {
		if (!i || str_cmp(&t->strs[order[i - 1]], &t->strs[order[i]]))
			t->by_rank[t->nranks++] = order[i];
		rank[order[i]] = (uint32_t)(t->nranks - 1);
	}
	for (size_t i = 0; i < t->npath; i++)
		t->path[i] = rank[t->path[i]];
	t->rank_bytes = 1;
	while (t->rank_bytes < 4 && t->nranks >> (8 * t->rank_bytes))
		t->rank_bytes++;
	free(order);
	free(rank);
}

static inline uint32_t fg_node(struct fg *t, uint32_t name, uint32_t parent)
{
	t->name[t->nnodes] = name;
	t->parent[t->nnodes] = parent;
	t->value[t->nnodes] = 0;
	return (uint32_t)t->nnodes++;
}

/* Samples idx[lo, hi) share a prefix of length d whose node is parent. */
struct fg_task {
	size_t lo, hi;
	uint32_t d, parent;
};

/* Sorts keys[0, n) by their upper 32 bits (rank < 2^(8 * bytes)), stably,
 * with tmp as scratch: insertion sort when short, else LSD radix. */
static void sort_keys(uint64_t *keys, uint64_t *tmp, size_t n, unsigned bytes)
{
	if (n < 48) {
		for (size_t i = 1; i < n; i++) {
			uint64_t k = keys[i];
			size_t m = i;

			for (; m && keys[m - 1] >> 32 > k >> 32; m--)
				keys[m] = keys[m - 1];
			keys[m] = k;
		}
		return;
	}
	uint64_t *src = keys, *dst = tmp;

	for (unsigned b = 0; b < bytes; b++) {
		size_t count[256] = { 0 }, sum = 0;
		unsigned shift = 32 + 8 * b;

		for (size_t i = 0; i < n; i++)
			count[(src[i] >> shift) & 255]++;
		if (count[(src[0] >> shift) & 255] == n)
			continue;	/* one digit value: nothing to move */
		for (unsigned d = 0; d < 256; d++) {
			size_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 255]++] = src[i];
		uint64_t *x = src;

		src = dst;
		dst = x;
	}
	if (src != keys)
		memcpy(keys, src, n * sizeof(*keys));
}

/*
 * Counts the samples of idx[lo, hi) that end at parent (path length d),
 * sorts the others by their rank at depth d and pushes one task per rank,
 * the lowest on top.
 */
static void fg_split(struct fg *t, uint32_t *idx, uint64_t *keys, size_t lo, size_t hi,
		     uint32_t d, uint32_t parent, struct fg_task **stk, size_t *nstk,
		     size_t *stk_cap)
{
	size_t j = lo, n;

	for (size_t i = lo; i < hi; i++) {
		const struct fg_item *it = &t->items[idx[i]];

		if (it->len <= d)
			t->value[parent] += it->count;
		else
			idx[j++] = idx[i];
	}
	n = j - lo;
	if (!n)
		return;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = idx[lo + i];

		keys[i] = (uint64_t)t->path[t->items[id].off + d] << 32 | id;
	}
	sort_keys(keys, keys + t->nitems, n, t->rank_bytes);
	for (size_t i = 0; i < n; i++)
		idx[lo + i] = (uint32_t)keys[i];
	/* runs of one rank, pushed last first */
	for (size_t e = n; e > 0;) {
		size_t b = e - 1;
		uint32_t key = (uint32_t)(keys[b] >> 32);

		while (b && (uint32_t)(keys[b - 1] >> 32) == key)
			b--;
		xgrow((void **)stk, stk_cap, *nstk + 1, sizeof(**stk));
		(*stk)[(*nstk)++] = (struct fg_task){ lo + b, lo + e, d, parent };
		e = b;
	}
}

static void fg_build(struct fg *t)
{
	size_t cap = t->npath + 1;	/* every path entry makes at most one node */
	uint32_t *idx = xmalloc((t->nitems ? t->nitems : 1) * sizeof(*idx));
	uint64_t *keys = xmalloc((t->nitems ? 2 * t->nitems : 1) * sizeof(*keys));
	struct fg_task *stk = NULL;
	size_t nstk = 0, stk_cap = 0;

	t->name = xmalloc(cap * sizeof(*t->name));
	t->parent = xmalloc(cap * sizeof(*t->parent));
	t->value = xmalloc(cap * sizeof(*t->value));
	for (size_t i = 0; i < t->nitems; i++)
		idx[i] = (uint32_t)i;
	fg_node(t, 0, 0);	/* the root */
	fg_split(t, idx, keys, 0, t->nitems, 0, 0, &stk, &nstk, &stk_cap);
	while (nstk) {
		struct fg_task k = stk[--nstk];
		const struct fg_item *it = &t->items[idx[k.lo]];
		uint32_t node;

		if (k.hi - k.lo == 1) {	/* one sample left: a chain */
			const uint32_t *pa = t->path + it->off;

			node = k.parent;
			for (uint32_t d = k.d; d < it->len; d++)
				node = fg_node(t, pa[d], node);
			t->value[node] += it->count;
			continue;
		}
		node = fg_node(t, t->path[it->off + k.d], k.parent);
		fg_split(t, idx, keys, k.lo, k.hi, k.d + 1, node, &stk, &nstk, &stk_cap);
	}
	free(stk);
	free(idx);
	free(keys);
	t->nchild = xcalloc(t->nnodes, sizeof(*t->nchild));
	for (size_t i = t->nnodes - 1; i > 0; i--) {
		t->value[t->parent[i]] += t->value[i];
		t->nchild[t->parent[i]]++;
	}
}

static void fg_emit(struct fg *t, struct out *o, const struct flamegraph_meta *m)
{
	out_str(o, "{\"v\":1,\"meta\":{\"hostname\":");
	out_json_cstr(o, m ? m->hostname : NULL);
	out_str(o, ",\"service\":");
	out_json_cstr(o, m ? m->service : NULL);
	out_str(o, ",\"start\":");
	out_json_cstr(o, m ? m->start_time : NULL);
	out_str(o, ",\"end\":");
	out_json_cstr(o, m ? m->end_time : NULL);
	out_str(o, ",\"total\":");
	out_u64(o, t->value[0]);
	out_str(o, ",\"maxDepth\":");
	out_u64(o, t->max_len);
	out_str(o, "},\n\"strings\":[\"all\"");
	for (size_t r = 1; r < t->nranks; r++) {
		const struct fg_str *s = &t->strs[t->by_rank[r]];

		out_ch(o, ',');
		out_json_str(o, s->s, s->len, FLAMEGRAPH_MAX_NAME);
	}
	out_str(o, "],\n\"nodes\":[");
	for (size_t i = 0; i < t->nnodes; i++) {
		char *p = out_reserve(o, 64);	/* 3 numbers of <= 20 digits, 3 commas */

		if (i)
			*p++ = ',';
		p = put_u64(p, t->name[i]);
		*p++ = ',';
		p = put_u64(p, t->value[i]);
		*p++ = ',';
		p = put_u64(p, t->nchild[i]);
		o->len = p - o->buf;
	}
	out_str(o, "]}");
}

int flamegraph__write_stats(FILE *f, const struct profile *p, const struct flamegraph_meta *m,
			    struct flamegraph_stats *ret_stats)
{
	struct fg t = { .p = p };
	struct out *o = xmalloc(sizeof(*o));
	int r = 0;

	o->f = f;
	o->len = 0;
	o->bytes = 0;
	o->err = false;
	fg_collect(&t);
	if (t.npath >= UINT32_MAX || t.nitems >= UINT32_MAX) {	/* node ids are 32-bit */
		r = -E2BIG;
		goto out;
	}
	fg_rank(&t);
	fg_build(&t);
	out_mem(o, flamegraph_page_head, flamegraph_page_head_len);
	fg_emit(&t, o, m);
	out_mem(o, flamegraph_page_tail, flamegraph_page_tail_len);
	out_flush(o);
	if (o->err || fflush(f) || ferror(f))
		r = -EIO;
	if (!r && ret_stats)
		*ret_stats = (struct flamegraph_stats){
			.nodes = t.nnodes,
			.strings = t.nranks,
			.max_depth = t.max_len,
			.total = t.value[0],
			.bytes = o->bytes,
		};
out:
	fg_free(&t);
	free(o);
	return r;
}

int flamegraph__write(FILE *f, const struct profile *p, const struct flamegraph_meta *m)
{
	return flamegraph__write_stats(f, p, m, NULL);
}
