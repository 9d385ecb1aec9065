// SPDX-License-Identifier: Apache-2.0
/*
 * The code map tells compiled, inlined and interpreted frames apart, which
 * AsyncGetCallTrace does not report. JVMTI's CompiledMethodLoad events give
 * each nmethod's code range, its root method and, per pc, the chain of
 * methods inlined there; the Interpreter's range comes from
 * DynamicCodeGenerated. From that:
 *  - the top frame's pc in the interpreter means _[0]; in an nmethod of root
 *    R, the frames above R's are _[i] and R's is _[j] (exact);
 *  - deeper frames (no pc): a method inlined into its compiled caller
 *    somewhere in live code is _[i], one with a live nmethod _[j], else _[0]
 *    (a heuristic: the same method may run both ways).
 * JVMTI does not say which tier compiled an nmethod, so C1 code (_[1]) is
 * reported as _[j]. All tables are bounded; past a bound new entries are
 * dropped and the marks degrade, never the samples.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#include <jvmticmlr.h>

#define MAX_RANGES (1u << 18)
#define MAX_SLOTS (1u << 18)	/* per hash table: 4 MiB */

struct range {
	uintptr_t start, end;
	jmethodID root;
};

struct mcount {
	jmethodID m;		/* NULL: empty */
	int32_t n;
};

struct edge {
	jmethodID callee, caller;	/* callee NULL: empty */
};

static jvmtiEnv *g_jvmti;
static jrawMonitorID g_lock;
static bool g_on;		/* under g_lock */
static struct range *g_ranges;
static size_t g_nranges, g_rcap;
static struct mcount *g_methods;
static size_t g_mcap, g_mused;
static struct edge *g_edges;
static size_t g_ecap, g_eused;
static uintptr_t g_interp_start, g_interp_end;	/* atomic */

static uint64_t hash_ptr(const void *a, const void *b)
{
	uint64_t h = (uint64_t)(uintptr_t)a * 0x9E3779B97F4A7C15ull;

	h ^= (uint64_t)(uintptr_t)b * 0xC2B2AE3D27D4EB4Full;
	return h ^ (h >> 29);
}

int codemap__init(jvmtiEnv *jvmti)
{
	if (g_lock)
		return 0;
	g_jvmti = jvmti;
	if ((*jvmti)->CreateRawMonitor(jvmti, "gprofiler codemap", &g_lock) != JVMTI_ERROR_NONE)
		return -ENOMEM;
	return 0;
}

static void lock(void)
{
	(*g_jvmti)->RawMonitorEnter(g_jvmti, g_lock);
}

static void unlock(void)
{
	(*g_jvmti)->RawMonitorExit(g_jvmti, g_lock);
}

static void free_all(void)
{
	free(g_ranges);
	free(g_methods);
	free(g_edges);
	g_ranges = NULL;
	g_methods = NULL;
	g_edges = NULL;
	g_nranges = g_rcap = g_mcap = g_mused = g_ecap = g_eused = 0;
}

void codemap__enable(bool on)
{
	if (!g_lock)
		return;
	lock();
	g_on = on;
	free_all();
	unlock();
	if (!on) {
		__atomic_store_n(&g_interp_start, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&g_interp_end, 0, __ATOMIC_RELAXED);
	}
}

/* ---- method -> live nmethod count ---- */

static struct mcount *method_slot(struct mcount *tab, size_t cap, jmethodID m)
{
	size_t i = hash_ptr(m, NULL) & (cap - 1);

	while (tab[i].m && tab[i].m != m)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static bool methods_grow(void)
{
	size_t ncap = g_mcap ? g_mcap * 2 : 1024;
	struct mcount *tab;

	if (ncap > MAX_SLOTS)
		return false;
	tab = calloc(ncap, sizeof(*tab));
	if (!tab)
		return false;
	for (size_t i = 0; i < g_mcap; i++)
		if (g_methods[i].m)
			*method_slot(tab, ncap, g_methods[i].m) = g_methods[i];
	free(g_methods);
	g_methods = tab;
	g_mcap = ncap;
	return true;
}

static void method_add(jmethodID m, int32_t delta)
{
	struct mcount *s;

	if (!m)
		return;
	if ((g_mused + 1) * 4 > g_mcap * 3 && !methods_grow())
		return;
	s = method_slot(g_methods, g_mcap, m);
	if (!s->m) {
		if (delta < 0)
			return;
		s->m = m;
		g_mused++;
	}
	s->n += delta;
	if (s->n < 0)
		s->n = 0;
}

static int32_t method_count(jmethodID m)
{
	if (!g_mcap || !m)
		return 0;
	return method_slot(g_methods, g_mcap, m)->n;
}

/* ---- inline edges (callee inlined into caller) ---- */

static struct edge *edge_slot(struct edge *tab, size_t cap, jmethodID callee, jmethodID caller)
{
	size_t i = hash_ptr(callee, caller) & (cap - 1);

	while (tab[i].callee && (tab[i].callee != callee || tab[i].caller != caller))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static bool edges_grow(void)
{
	size_t ncap = g_ecap ? g_ecap * 2 : 1024;
	struct edge *tab;

	if (ncap > MAX_SLOTS)
		return false;
	tab = calloc(ncap, sizeof(*tab));
	if (!tab)
		return false;
	for (size_t i = 0; i < g_ecap; i++)
		if (g_edges[i].callee)
			*edge_slot(tab, ncap, g_edges[i].callee, g_edges[i].caller) = g_edges[i];
	free(g_edges);
	g_edges = tab;
	g_ecap = ncap;
	return true;
}

static void edge_add(jmethodID callee, jmethodID caller)
{
	struct edge *s;

	if (!callee || !caller)
		return;
	if ((g_eused + 1) * 4 > g_ecap * 3 && !edges_grow())
		return;
	s = edge_slot(g_edges, g_ecap, callee, caller);
	if (!s->callee) {
		s->callee = callee;
		s->caller = caller;
		g_eused++;
	}
}

static bool edge_has(jmethodID callee, jmethodID caller)
{
	if (!g_ecap || !callee || !caller)
		return false;
	return edge_slot(g_edges, g_ecap, callee, caller)->callee != NULL;
}

/* ---- code ranges, sorted by start ---- */

/* Index of the first range starting after addr. */
static size_t range_upper(uintptr_t addr)
{
	size_t lo = 0, hi = g_nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g_ranges[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void range_add(uintptr_t start, uintptr_t end, jmethodID root)
{
	size_t i;

	if (g_nranges == g_rcap) {
		size_t ncap = g_rcap ? g_rcap * 2 : 1024;
		struct range *r;

		if (ncap > MAX_RANGES)
			return;
		r = realloc(g_ranges, ncap * sizeof(*r));
		if (!r)
			return;
		g_ranges = r;
		g_rcap = ncap;
	}
	i = range_upper(start);
	if (i && g_ranges[i - 1].start == start) {
		g_ranges[i - 1].end = end;	/* code reused at the same address */
		g_ranges[i - 1].root = root;
		return;
	}
	memmove(&g_ranges[i + 1], &g_ranges[i], (g_nranges - i) * sizeof(*g_ranges));
	g_ranges[i] = (struct range){ start, end, root };
	g_nranges++;
}

static void range_remove(uintptr_t start)
{
	size_t i = range_upper(start);

	if (!i || g_ranges[i - 1].start != start)
		return;
	i--;
	memmove(&g_ranges[i], &g_ranges[i + 1], (g_nranges - i - 1) * sizeof(*g_ranges));
	g_nranges--;
}

static const struct range *range_find(uintptr_t pc)
{
	size_t i = range_upper(pc);

	if (i && pc < g_ranges[i - 1].end)
		return &g_ranges[i - 1];
	return NULL;
}

/* ---- events ---- */

void codemap__on_load(jmethodID m, const void *addr, jint size, const void *compile_info)
{
	const jvmtiCompiledMethodLoadRecordHeader *h = compile_info;

	if (!g_lock)
		return;
	lock();
	if (!g_on)
		goto out;
	range_add((uintptr_t)addr, (uintptr_t)addr + (uintptr_t)size, m);
	method_add(m, 1);
	for (; h; h = h->next) {
		const jvmtiCompiledMethodLoadInlineRecord *r;

		if (h->kind != JVMTI_CMLR_INLINE_INFO)
			continue;
		r = (const jvmtiCompiledMethodLoadInlineRecord *)h;
		for (jint i = 0; i < r->numpcs; i++) {
			const PCStackInfo *p = &r->pcinfo[i];

			/* methods[0] is the innermost scope */
			for (jint k = 0; k + 1 < p->numstackframes; k++)
				edge_add(p->methods[k], p->methods[k + 1]);
		}
	}
out:
	unlock();
}

void codemap__on_unload(jmethodID m, const void *addr)
{
	if (!g_lock)
		return;
	lock();
	if (g_on) {
		range_remove((uintptr_t)addr);
		method_add(m, -1);
	}
	unlock();
}

void codemap__on_dynamic_code(const char *name, const void *addr, jint size)
{
	if (!name || strcmp(name, "Interpreter") != 0)
		return;
	__atomic_store_n(&g_interp_start, (uintptr_t)addr, __ATOMIC_RELAXED);
	__atomic_store_n(&g_interp_end, (uintptr_t)addr + (uintptr_t)size, __ATOMIC_RELAXED);
}

void codemap__classify(const asgct_frame *frames, int n, uintptr_t pc, char *types)
{
	uintptr_t istart = __atomic_load_n(&g_interp_start, __ATOMIC_RELAXED);
	uintptr_t iend = __atomic_load_n(&g_interp_end, __ATOMIC_RELAXED);
	bool caller_compiled = false;
	const struct range *r;

	if (!g_lock) {
		memset(types, GPJA_FT_COMPILED, n);
		return;
	}
	lock();
	if (!g_on) {
		/* no compiled-method events: async-profiler's default mark */
		memset(types, GPJA_FT_COMPILED, n);
		unlock();
		return;
	}
	/* Root to leaf: a frame can only be inlined into compiled code. */
	for (int i = n - 1; i >= 0; i--) {
		jmethodID m = frames[i].method_id;

		if (frames[i].lineno == GPJA_LINENO_NATIVE) {
			types[i] = GPJA_FT_COMPILED;	/* as async-profiler marks them */
			caller_compiled = false;
			continue;
		}
		if (i + 1 < n && caller_compiled && edge_has(m, frames[i + 1].method_id))
			types[i] = GPJA_FT_INLINED;
		else if (method_count(m) > 0)
			types[i] = GPJA_FT_COMPILED;
		else
			types[i] = GPJA_FT_INTERPRETED;
		caller_compiled = types[i] != GPJA_FT_INTERPRETED;
	}
	/* The top frame's pc settles the frames that share its code. */
	if (n > 0 && frames[0].lineno != GPJA_LINENO_NATIVE) {
		if (pc >= istart && pc < iend) {
			types[0] = GPJA_FT_INTERPRETED;
		} else if ((r = range_find(pc))) {
			for (int k = 0; k < n; k++) {
				if (frames[k].method_id != r->root)
					continue;
				for (int j = 0; j < k; j++)
					types[j] = GPJA_FT_INLINED;
				types[k] = GPJA_FT_COMPILED;
				break;
			}
		}
	}
	unlock();
}

size_t codemap__bytes(void)
{
	return g_rcap * sizeof(struct range) + g_mcap * sizeof(struct mcount) +
	       g_ecap * sizeof(struct edge);
}
