// SPDX-License-Identifier: Apache-2.0
/*
 * Smart mode's per-process judge; see smart.h. A chained hash of process
 * entries by pid, bounded (the least recently used goes), each holding
 * its probe tallies and up to four learned tails.
 */
#include "smart.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

#define NBUCKETS 1024
#define TAILS 4
#define TAIL_MAX 8
#define AGREE_PCT 95
#define GRACE_NS (2ULL * 1000000000ULL)

struct tail {
	uint64_t anchor;	/* a return address both walks reach */
	uint64_t ips[TAIL_MAX];	/* what DWARF finds below it */
	uint8_t n;
	bool conflict;		/* two different tails under one anchor */
	uint32_t hits;
};

struct sproc {
	int pid;
	uint8_t mode;
	uint16_t probes, agree, noinfo;
	uint32_t fp_frames, dw_frames;
	uint8_t ntails;
	struct tail tails[TAILS];
	uint64_t judged_ns, last_use;
	struct sproc *next;
};

struct smart {
	struct smart_opts o;
	struct sproc *buckets[NBUCKETS];
	size_t n;
	uint64_t tick, judged_fp, judged_dwarf;
};

struct smart *smart__new(const struct smart_opts *o)
{
	struct smart *sm = xcalloc(1, sizeof(*sm));

	if (o)
		sm->o = *o;
	if (!sm->o.max_procs)
		sm->o.max_procs = 8192;
	if (!sm->o.probes)
		sm->o.probes = 16;
	if (!sm->o.ttl_ns)
		sm->o.ttl_ns = 300ULL * 1000000000ULL;
	return sm;
}

struct smart *smart__free(struct smart *sm)
{
	if (!sm)
		return NULL;
	for (size_t b = 0; b < NBUCKETS; b++)
		while (sm->buckets[b]) {
			struct sproc *p = sm->buckets[b];

			sm->buckets[b] = p->next;
			free(p);
		}
	free(sm);
	return NULL;
}

static struct sproc **slot_of(struct smart *sm, int pid)
{
	struct sproc **pp = &sm->buckets[(unsigned int)pid % NBUCKETS];

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	return pp;
}

static void evict_lru(struct smart *sm)
{
	struct sproc **victim = NULL, *p;

	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct sproc **pp = &sm->buckets[b]; *pp; pp = &(*pp)->next)
			if (!victim || (*pp)->last_use < (*victim)->last_use)
				victim = pp;
	if (!victim)
		return;
	p = *victim;
	*victim = p->next;
	free(p);
	sm->n--;
}

static void reset(struct sproc *p)
{
	int pid = p->pid;
	struct sproc *next = p->next;
	uint64_t last_use = p->last_use;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->next = next;
	p->last_use = last_use;
	p->mode = GP_PROC_PROBE;
}

static struct sproc *get(struct smart *sm, int pid, bool create)
{
	struct sproc **pp = slot_of(sm, pid), *p = *pp;

	if (!p && create) {
		if (sm->n >= sm->o.max_procs) {
			evict_lru(sm);
			pp = slot_of(sm, pid);
		}
		p = xcalloc(1, sizeof(*p));
		p->pid = pid;
		p->mode = GP_PROC_PROBE;
		*pp = p;
		sm->n++;
	}
	if (p)
		p->last_use = ++sm->tick;
	return p;
}

/* Learns "after anchor come tail[0..n)"; true when consistent so far. */
static bool learn_tail(struct sproc *p, uint64_t anchor, const uint64_t *tail, int n)
{
	struct tail *t = NULL;

	for (int i = 0; i < p->ntails; i++)
		if (p->tails[i].anchor == anchor)
			t = &p->tails[i];
	if (!t) {
		if (p->ntails >= TAILS)
			return false;
		t = &p->tails[p->ntails++];
		t->anchor = anchor;
		t->n = (uint8_t)n;
		memcpy(t->ips, tail, n * sizeof(*tail));
	} else if (t->n != n || memcmp(t->ips, tail, n * sizeof(*tail))) {
		t->conflict = true;
	}
	t->hits++;
	return !t->conflict;
}

int smart__probe(struct smart *sm, int pid, const uint64_t *fp, int nfp, const uint64_t *dw,
		 int ndw, enum unwind_stop stop, uint64_t now_ns)
{
	struct sproc *p = get(sm, pid, true);
	bool ok = false;
	int k = 0;

	if (p->mode != GP_PROC_PROBE) {
		/* probes taken before the judgement reached the kernel */
		if (now_ns - p->judged_ns < GRACE_NS)
			return GP_PROC_PROBE;
		reset(p);	/* the kernel forgot it: pid reuse, or its LRU */
	}
	if (ndw <= 0)
		return GP_PROC_PROBE;	/* nothing to compare with */
	while (k < nfp && k < ndw && fp[k] == dw[k])
		k++;
	if (k == ndw)
		ok = true;	/* the frame-pointer walk holds every DWARF frame */
	else if (k >= 2 && stop == UNWIND_STOP_END && ndw - k <= TAIL_MAX)
		ok = learn_tail(p, dw[k - 1], dw + k, ndw - k);
	p->probes++;
	p->agree += ok;
	p->noinfo += stop == UNWIND_STOP_NO_INFO;
	p->fp_frames += nfp;
	p->dw_frames += ndw;
	if (p->probes < sm->o.probes)
		return GP_PROC_PROBE;
	if ((unsigned int)p->agree * 100 >= (unsigned int)p->probes * AGREE_PCT ||
	    (p->noinfo * 2 >= p->probes && p->fp_frames > p->dw_frames))
		p->mode = GP_PROC_FP;
	else
		p->mode = GP_PROC_DWARF;
	p->judged_ns = now_ns;
	if (p->mode == GP_PROC_FP)
		sm->judged_fp++;
	else
		sm->judged_dwarf++;
	return p->mode;
}

int smart__forget(struct smart *sm, int pid)
{
	struct sproc *p = get(sm, pid, false);
	int was;

	if (!p)
		return GP_PROC_PROBE;
	was = p->mode;
	reset(p);
	return was;
}

int smart__mode(struct smart *sm, int pid)
{
	struct sproc *p = get(sm, pid, false);

	return p ? p->mode : GP_PROC_PROBE;
}

int smart__complete(struct smart *sm, int pid, uint64_t *ips, int n, int max)
{
	struct sproc *p = get(sm, pid, false);

	if (!p || p->mode != GP_PROC_FP || !p->ntails)
		return n;
	for (int i = 1; i < n; i++) {
		for (int j = 0; j < p->ntails; j++) {
			const struct tail *t = &p->tails[j];
			int m;

			if (t->anchor != ips[i] || t->conflict || t->hits < 2)
				continue;
			m = i + 1 + t->n;
			if (m > max)
				m = max;
			memcpy(ips + i + 1, t->ips, (m - i - 1) * sizeof(*ips));
			return m;
		}
	}
	return n;
}

void smart__expire(struct smart *sm, uint64_t now_ns, void (*fn)(void *arg, int pid), void *arg)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct sproc **pp = &sm->buckets[b];

		while (*pp) {
			struct sproc *p = *pp;
			char path[32];

			snprintf(path, sizeof(path), "/proc/%d", p->pid);
			if (access(path, F_OK)) {
				*pp = p->next;
				if (fn && p->mode != GP_PROC_PROBE)
					fn(arg, p->pid);
				free(p);
				sm->n--;
				continue;
			}
			if (p->mode != GP_PROC_PROBE && now_ns - p->judged_ns > sm->o.ttl_ns) {
				reset(p);
				if (fn)
					fn(arg, p->pid);
			}
			pp = &p->next;
		}
	}
}

void smart__stats(const struct smart *sm, struct smart_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (size_t b = 0; b < NBUCKETS; b++)
		for (const struct sproc *p = sm->buckets[b]; p; p = p->next) {
			if (p->mode == GP_PROC_FP)
				ret->fp++;
			else if (p->mode == GP_PROC_DWARF)
				ret->dwarf++;
			else
				ret->probing++;
		}
	ret->judged_fp = sm->judged_fp;
	ret->judged_dwarf = sm->judged_dwarf;
}
