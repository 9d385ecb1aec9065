/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The processes the native sampler has seen: their facts (procinfo) and
 * executable memory maps, read as soon as a process is first sampled so
 * that a process living two seconds is still symbolized at drain time.
 * Keyed by pid and checked against the start time, so a reused pid never
 * gets another process's maps. Bounded; dead processes are swept.
 *
 * A process that execs keeps its pid but changes its maps and, nearly
 * always, its comm; samples are keyed by comm, so the entry keeps the maps
 * of the previous image next to the current one until the next sweep.
 */
#ifndef GP_PROCTAB_H
#define GP_PROCTAB_H

#include <stddef.h>
#include <stdint.h>

#include "perfmap.h"
#include "procinfo.h"
#include "procmaps.h"

struct proc_entry {
	struct procinfo *info;
	struct procmaps *maps;
	char maps_comm[PROC_COMM_LEN];
	struct procmaps *prev_maps;
	char prev_comm[PROC_COMM_LEN];
	uint64_t refreshed_gen;	/* generation of the last maps re-read */
	struct perfmap *perfmap;
	uint64_t perfmap_gen;	/* generation of the last perfmap check */
	uint64_t last_use;
	struct proc_entry *next;	/* hash chain */
};

struct proctab;

/* max: how many processes to keep. Caller frees with proctab__free(). */
struct proctab *proctab__new(size_t max);
struct proctab *proctab__free(struct proctab *t);

/* Reads (or re-reads after pid reuse or exec) the process now. Returns the
 * entry, borrowed until the next proctab call, or NULL when it is gone. */
struct proc_entry *proctab__note(struct proctab *t, int pid);
/* The entry of pid without reading /proc; NULL when never seen. */
struct proc_entry *proctab__find(struct proctab *t, int pid);
/* The maps that symbolize samples of (pid, comm), reading them if needed.
 * NULL when the process was never seen and is gone. */
const struct procmaps *proctab__maps(struct proctab *t, int pid, const char *comm,
				     struct proc_entry **ret_entry);
/* Re-reads the maps of e (a library was loaded), at most once per
 * generation. Returns 0 when re-read. */
int proctab__refresh_maps(struct proctab *t, struct proc_entry *e);
/* Starts a new generation (one per drain). */
void proctab__next_gen(struct proctab *t);
uint64_t proctab__gen(const struct proctab *t);
/* Drops the entries of processes that exited or were replaced. */
void proctab__sweep(struct proctab *t);
size_t proctab__count(const struct proctab *t);
size_t proctab__bytes(const struct proctab *t);

#endif
