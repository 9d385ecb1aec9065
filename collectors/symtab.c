// SPDX-License-Identifier: Apache-2.0
/* Sorted address tables; see symtab.h. */
#include "symtab.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void symtab__add(struct symtab *t, uint64_t addr, uint64_t size, const char *name, size_t len)
{
	xgrow((void **)&t->syms, &t->cap, t->n + 1, sizeof(*t->syms));
	xgrow((void **)&t->names, &t->names_cap, t->names_len + len + 1, 1);
	memcpy(t->names + t->names_len, name, len);
	t->names[t->names_len + len] = '\0';
	t->syms[t->n++] = (struct symtab_sym){
		.addr = addr,
		.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size,
		.name = (uint32_t)t->names_len,
	};
	t->names_len += len + 1;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct symtab_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

void symtab__finish(struct symtab *t, uint32_t last_size)
{
	size_t out = 0;

	if (t->n > 1)
		qsort(t->syms, t->n, sizeof(*t->syms), cmp_sym);
	for (size_t i = 0; i < t->n; i++) {
		if (out && t->syms[out - 1].addr == t->syms[i].addr)
			continue;
		t->syms[out++] = t->syms[i];
	}
	t->n = out;
	for (size_t i = 0; i < t->n; i++) {
		if (t->syms[i].size)
			continue;
		uint64_t gap = i + 1 < t->n ? t->syms[i + 1].addr - t->syms[i].addr : last_size;
		t->syms[i].size = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;
	}
	if (t->n) {
		t->syms = xrealloc(t->syms, t->n * sizeof(*t->syms));
		t->cap = t->n;
	}
	if (t->names_len) {
		t->names = xrealloc(t->names, t->names_len);
		t->names_cap = t->names_len;
	}
}

long symtab__find(const struct symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - t->syms[lo - 1].addr >= t->syms[lo - 1].size)
		return -1;
	return (long)lo - 1;
}

void symtab__release(struct symtab *t)
{
	free(t->syms);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

size_t symtab__bytes(const struct symtab *t)
{
	return t->cap * sizeof(*t->syms) + t->names_cap;
}
