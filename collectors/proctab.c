// SPDX-License-Identifier: Apache-2.0
/*
 * Process table for the native sampler; see proctab.h. A chained hash by
 * pid; eviction of the least recently used entry when full.
 */
#include "proctab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define NBUCKETS 4096

struct proctab {
	struct proc_entry *buckets[NBUCKETS];
	size_t count, max;
	uint64_t gen, tick;
};

struct proctab *proctab__new(size_t max)
{
	struct proctab *t = xcalloc(1, sizeof(*t));

	t->max = max ? max : 1;
	t->gen = 1;
	return t;
}

static void entry_free(struct proc_entry *e)
{
	procinfo__free(e->info);
	procmaps__free(e->maps);
	procmaps__free(e->prev_maps);
	perfmap__free(e->perfmap);
	free(e);
}

static struct proc_entry **slot_of(struct proctab *t, int pid)
{
	struct proc_entry **pp = &t->buckets[(unsigned int)pid % NBUCKETS];

	while (*pp && (*pp)->info->pid != pid)
		pp = &(*pp)->next;
	return pp;
}

static void remove_at(struct proctab *t, struct proc_entry **pp)
{
	struct proc_entry *e = *pp;

	*pp = e->next;
	entry_free(e);
	t->count--;
}

static void evict_lru(struct proctab *t)
{
	struct proc_entry **victim = NULL;

	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct proc_entry **pp = &t->buckets[b]; *pp; pp = &(*pp)->next)
			if (!victim || (*pp)->last_use < (*victim)->last_use)
				victim = pp;
	if (victim)
		remove_at(t, victim);
}

struct proc_entry *proctab__find(struct proctab *t, int pid)
{
	struct proc_entry *e = *slot_of(t, pid);

	if (e)
		e->last_use = ++t->tick;
	return e;
}

struct proc_entry *proctab__note(struct proctab *t, int pid)
{
	struct proc_entry **pp = slot_of(t, pid), *e = *pp;
	struct procinfo *info;
	struct procmaps *maps;

	info = procinfo__read(pid);
	if (!info)
		return e;	/* gone: keep what we had */
	if (e && e->info->start_time == info->start_time &&
	    !strcmp(e->maps_comm, info->comm)) {
		procinfo__free(info);	/* nothing changed */
		e->last_use = ++t->tick;
		return e;
	}
	maps = procmaps__read(pid);
	if (!maps) {
		procinfo__free(info);
		return e;
	}
	if (e && e->info->start_time == info->start_time) {
		/* exec: keep the old image's maps for samples taken before it */
		procmaps__free(e->prev_maps);
		e->prev_maps = e->maps;
		memcpy(e->prev_comm, e->maps_comm, PROC_COMM_LEN);
		procinfo__free(e->info);
		perfmap__free(e->perfmap);
		e->perfmap = NULL;
	} else {
		if (e)
			remove_at(t, pp);	/* pid reused */
		if (t->count >= t->max)
			evict_lru(t);
		e = xcalloc(1, sizeof(*e));
		pp = slot_of(t, pid);
		e->next = *pp;
		*pp = e;
		t->count++;
	}
	e->info = info;
	e->maps = maps;
	memcpy(e->maps_comm, info->comm, PROC_COMM_LEN);
	e->refreshed_gen = t->gen;
	e->last_use = ++t->tick;
	return e;
}

const struct procmaps *proctab__maps(struct proctab *t, int pid, const char *comm,
				     struct proc_entry **ret_entry)
{
	struct proc_entry *e = proctab__find(t, pid);

	if (!e || (strncmp(e->maps_comm, comm, PROC_COMM_LEN) &&
		   strncmp(e->prev_comm, comm, PROC_COMM_LEN)))
		e = proctab__note(t, pid);
	if (!e)
		return NULL;
	*ret_entry = e;
	if (e->prev_maps && !strncmp(e->prev_comm, comm, PROC_COMM_LEN) &&
	    strncmp(e->maps_comm, comm, PROC_COMM_LEN))
		return e->prev_maps;
	return e->maps;
}

int proctab__refresh_maps(struct proctab *t, struct proc_entry *e)
{
	uint64_t start;
	struct procmaps *maps;

	if (e->refreshed_gen == t->gen)
		return -EAGAIN;
	e->refreshed_gen = t->gen;
	if (proc_start_time(e->info->pid, &start) || start != e->info->start_time)
		return -ESRCH;
	maps = procmaps__read(e->info->pid);
	if (!maps)
		return -errno;
	procmaps__free(e->maps);
	e->maps = maps;
	return 0;
}

void proctab__next_gen(struct proctab *t)
{
	t->gen++;
}

uint64_t proctab__gen(const struct proctab *t)
{
	return t->gen;
}

void proctab__sweep(struct proctab *t)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct proc_entry **pp = &t->buckets[b];

		while (*pp) {
			uint64_t start;
			char comm[PROC_COMM_LEN];
			struct proc_entry *e = *pp;

			if (proc_start_time(e->info->pid, &start) || start != e->info->start_time) {
				remove_at(t, pp);
				continue;
			}
			if (e->prev_maps && !proc_comm(e->info->pid, comm) &&
			    !strcmp(comm, e->maps_comm)) {
				e->prev_maps = procmaps__free(e->prev_maps);
				e->prev_comm[0] = '\0';
			}
			pp = &e->next;
		}
	}
}

size_t proctab__count(const struct proctab *t)
{
	return t->count;
}

size_t proctab__bytes(const struct proctab *t)
{
	size_t s = sizeof(*t);

	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct proc_entry *e = t->buckets[b]; e; e = e->next)
			s += sizeof(*e) + (e->maps ? procmaps__size(e->maps) : 0) +
			     (e->prev_maps ? procmaps__size(e->prev_maps) : 0) +
			     perfmap__bytes(e->perfmap);
	return s;
}

struct proctab *proctab__free(struct proctab *t)
{
	if (!t)
		return NULL;
	for (size_t b = 0; b < NBUCKETS; b++)
		while (t->buckets[b])
			remove_at(t, &t->buckets[b]);
	free(t);
	return NULL;
}
