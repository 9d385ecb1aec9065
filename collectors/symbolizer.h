/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Turns sampled instruction pointers into frame names, as gProfiler writes
 * them: native "symbol" (demangled), kernel "symbol_[k]", JIT names from
 * the process's perf map, and, where a binary has no symbol for an address,
 * "binary+0xADDR" (the ELF virtual address, what addr2line takes), never a
 * bare number. Owns the process table, the DSO cache and kallsyms.
 */
#ifndef GP_SYMBOLIZER_H
#define GP_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procinfo.h"
#include "procmaps.h"

struct symbolizer_opts {
	bool insert_dso_name;	/* --insert-dso-name: "sym (/path/lib.so)" */
	size_t dso_cache_bytes;	/* budget of the ELF symbol cache */
	size_t max_procs;	/* processes remembered at once */
	const char *kallsyms_path;	/* NULL: /proc/kallsyms */
};

struct symbolizer_stats {
	size_t procs, proc_bytes;
	size_t dsos, dso_bytes;
	size_t kernel_syms, kernel_bytes;
};

struct symbolizer;

/* Caller frees with symbolizer__free(). */
struct symbolizer *symbolizer__new(const struct symbolizer_opts *o);
struct symbolizer *symbolizer__free(struct symbolizer *s);

/* A process was sampled for the first time or after an exec: read its
 * facts and maps now, while it is alive. */
void symbolizer__note_process(struct symbolizer *s, int pid);

/*
 * Frame text for a user address of (pid, comm). is_return is true for
 * caller frames, whose address is a return address (looked up at ip - 1).
 * Borrowed until the next call.
 */
const char *symbolizer__user(struct symbolizer *s, int pid, const char *comm, uint64_t ip,
			     bool is_return);
/* Frame text ("name_[k]") for a kernel address. Borrowed until next call. */
const char *symbolizer__kernel(struct symbolizer *s, uint64_t ip, bool is_return);

/* Facts of a sampled process; NULL when never seen. Borrowed until the
 * next symbolizer call. */
const struct procinfo *symbolizer__procinfo(struct symbolizer *s, int pid);

/* The executable mappings of (pid, comm), read now if never seen; NULL
 * when unknown. Borrowed until the next symbolizer call. */
const struct procmaps *symbolizer__maps(struct symbolizer *s, int pid, const char *comm);
/* The executable mapping of (pid, comm) holding addr, re-reading the maps
 * (at most once per generation) when none does. NULL when none. Borrowed
 * until the next symbolizer call. */
const struct map_entry *symbolizer__mapping(struct symbolizer *s, int pid, const char *comm,
					    uint64_t addr);

/* Once per drain: lets processes re-read maps that changed. */
void symbolizer__next_gen(struct symbolizer *s);
/* Once per session: forgets exited processes; reloads kernel symbols when
 * modules changed. */
void symbolizer__sweep(struct symbolizer *s);
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *ret);

#endif
