/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sorted address -> name table: the common shape of ELF symbols,
 * /proc/kallsyms and /tmp/perf-PID.map. 16 bytes a symbol plus one blob of
 * names, no per-symbol allocation.
 */
#ifndef GP_SYMTAB_H
#define GP_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

struct symtab_sym {
	uint64_t addr;
	uint32_t size;	/* 0 until symtab__finish(): then up to the next symbol */
	uint32_t name;	/* offset in names */
};

struct symtab {
	struct symtab_sym *syms;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
};

void symtab__add(struct symtab *t, uint64_t addr, uint64_t size, const char *name, size_t len);
/* Sorts, drops aliases (keeping the sized, then first-added name), gives
 * unsized symbols the gap to the next one (last_size for the last one),
 * and trims memory. */
void symtab__finish(struct symtab *t, uint32_t last_size);
/* Index of the symbol holding addr, or -1. */
long symtab__find(const struct symtab *t, uint64_t addr);
static inline const char *symtab__name(const struct symtab *t, long i)
{
	return t->names + t->syms[i].name;
}
void symtab__release(struct symtab *t);
size_t symtab__bytes(const struct symtab *t);

#endif
