// SPDX-License-Identifier: Apache-2.0
/*
 * The native sampler on BPF (bpf/native.bpf.c): cpu-clock perf events on
 * every online CPU run the program, which counts stacks in the kernel. A
 * drain flips the program to the other bank of maps, waits out programs in
 * flight, reads and symbolizes the idle bank and clears it; nothing taken
 * meanwhile is lost. New-process events from the ring buffer make the
 * symbolizer read each process's maps while it is alive.
 *
 * In DWARF and smart modes, user samples come through a second ring
 * buffer with registers and a stack copy and go to ustacks.c (unwinding,
 * smart mode's judge, counting); smart mode's judgements are written back
 * to the program's proc_mode map.
 */
#include <errno.h>
#include <stdbool.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collector.h"
#include "native.h"
#include "native.skel.h"
#include "perfevents.h"
#include "stackcount.h"
#include "symbolizer.h"
#include "ustacks.h"
#include "xalloc.h"

struct collector {
	struct collector_config cfg;
	struct native_bpf *skel;
	struct bpf_link **links;
	int *pfds;
	int ncpus;
	struct ring_buffer *rb;
	struct symbolizer *sym;
	struct ustacks *us;		/* DWARF and smart modes */
	uint64_t drains;
	/* scratch */
	struct gp_sample_key *keys;
	uint64_t *counts;
	size_t nkeys, keys_cap;
	/* the drained bank's stacks, compacted, indexed by name */
	uint64_t *snames, *soffs, *sips;
	uint32_t *slens;
	size_t nstacks, stacks_cap, sips_len, sips_cap;
	uint32_t *sindex;	/* open addressing: slot -> stack + 1 */
	size_t sindex_cap;	/* a power of two */
	char *scratch;		/* batch buffer */
	size_t scratch_cap;
	bool no_batch;		/* kernel without batch map operations (< 5.6) */
	struct gp_stack ustack, kstack;
	gp_str *frames;
	size_t nframes_cap;
};

static int on_new_proc(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	const struct gp_new_proc *ev = data;

	if (size < sizeof(*ev))
		return 0;
	symbolizer__note_process(c->sym, (int)ev->tgid);
	if (c->us)
		ustacks__forget(c->us, (int)ev->tgid);	/* new image: judge anew */
	if (c->cfg.on_new_process)
		c->cfg.on_new_process(c->cfg.on_proc_arg, (int)ev->tgid);
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_dwarf_sample(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	const struct gp_dwarf_sample *r = data;
	char comm[GP_COMM_LEN + 1];
	struct ustack_sample s;

	if (size < sizeof(*r) || r->stack_len > size - sizeof(*r))
		return 0;
	memcpy(comm, r->comm, GP_COMM_LEN);
	comm[GP_COMM_LEN] = '\0';
	s = (struct ustack_sample){
		.tgid = r->tgid,
		.comm = comm,
		.regs = (const uint64_t *)r->regs,
		.stack = r->stack,
		.stack_len = r->stack_len,
		.kips = (const uint64_t *)r->kern,
		.nk = r->nkern < GP_MAX_STACK_DEPTH ? r->nkern : GP_MAX_STACK_DEPTH,
		.kern_err = r->flags & GP_SAMPLE_KERN_ERR,
		.fp = (r->flags & GP_SAMPLE_FP) ? (const uint64_t *)r->fp : NULL,
		.nfp = r->nfp < GP_MAX_STACK_DEPTH ? r->nfp : GP_MAX_STACK_DEPTH,
	};
	ustacks__add(c->us, &s, mono_ns());
	return 0;
}

/* Smart mode judged a process: from now on the program samples it so. */
static void on_judged(void *arg, int pid, int mode)
{
	struct collector *c = arg;
	int fd = bpf_map__fd(c->skel->maps.proc_mode);
	__u32 key = (__u32)pid;
	__u8 v = (__u8)mode;

	if (mode == GP_PROC_PROBE)
		bpf_map_delete_elem(fd, &key);
	else
		bpf_map_update_elem(fd, &key, &v, BPF_ANY);
}

static void destroy(struct collector *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->ncpus; i++) {
		bpf_link__destroy(c->links ? c->links[i] : NULL);
		if (c->pfds && c->pfds[i] >= 0)
			close(c->pfds[i]);
	}
	ring_buffer__free(c->rb);
	native_bpf__destroy(c->skel);
	ustacks__free(c->us);
	symbolizer__free(c->sym);
	free(c->links);
	free(c->pfds);
	free(c->keys);
	free(c->counts);
	free(c->snames);
	free(c->soffs);
	free(c->slens);
	free(c->sips);
	free(c->sindex);
	free(c->scratch);
	free(c->frames);
	free(c);
}

static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = 1024;

	while (p < n && p < (1u << 20))
		p <<= 1;
	return p;
}

static int open_collector(const struct collector_config *cfg, struct collector **ret,
			  const char **ret_reason)
{
	struct symbolizer_opts so = { .insert_dso_name = cfg->insert_dso_name };
	struct collector *c = xcalloc(1, sizeof(*c));
	int *cpus = NULL, err, n;
	uint32_t entries;

	c->cfg = *cfg;
	n = perfevents_online_cpus(&cpus);
	if (n <= 0) {
		*ret_reason = "cannot read the online CPUs";
		err = n < 0 ? n : -ENODEV;
		goto fail;
	}
	c->skel = native_bpf__open();
	if (!c->skel) {
		err = -errno;
		*ret_reason = "cannot open the BPF object";
		goto fail;
	}
	/* A bank holds one drain interval (1 s) of samples, with headroom;
	 * every sample may add one user and one kernel stack. The stacks
	 * maps allocate per stack seen, so their bound costs nothing idle. */
	entries = pow2_at_least((uint64_t)n * cfg->frequency * 4);
	bpf_map__set_max_entries(c->skel->maps.counts_0, entries);
	bpf_map__set_max_entries(c->skel->maps.counts_1, entries);
	bpf_map__set_max_entries(c->skel->maps.stacks_0, entries * 2);
	bpf_map__set_max_entries(c->skel->maps.stacks_1, entries * 2);
	c->skel->rodata->filter_pids = cfg->npids > 0;
	if (cfg->mode != COLLECTOR_FP) {
		uint64_t rec = sizeof(struct gp_dwarf_sample) + cfg->dwarf_stack_size;
		uint64_t ring = 256 * 1024;

#if !defined(__x86_64__)
		*ret_reason = "DWARF unwinding is implemented for x86-64 only";
		err = -EOPNOTSUPP;
		goto fail;
#endif
		/* Two seconds of samples at most (records are reserved
		 * whole; its pages count in our RSS), so a busy host that
		 * keeps us off the CPU for a while loses none; user space is
		 * woken when an eighth is used, else reads them at each drain.
		 * A sample that finds it full is counted with frame pointers. */
		while (ring < 2 * (uint64_t)n * cfg->frequency * rec && ring < (64u << 20))
			ring <<= 1;
		bpf_map__set_max_entries(c->skel->maps.samples, ring);
		c->skel->rodata->perf_mode = cfg->mode == COLLECTOR_DWARF ? GP_MODE_DWARF
									   : GP_MODE_SMART;
		c->skel->rodata->dwarf_stack_size = cfg->dwarf_stack_size & ~7u;
		c->skel->rodata->wakeup_bytes = ring / 8;
	}
	err = native_bpf__load(c->skel);
	if (err) {
		*ret_reason = "the kernel refused the BPF program (BTF, CAP_BPF or kernel version)";
		goto fail;
	}
	for (size_t i = 0; i < cfg->npids; i++) {
		__u32 pid = cfg->pids[i];
		__u8 one = 1;

		bpf_map_update_elem(bpf_map__fd(c->skel->maps.pid_filter), &pid, &one, BPF_ANY);
	}
	err = native_bpf__attach(c->skel);	/* the exec tracepoint */
	if (err) {
		*ret_reason = "cannot attach the exec tracepoint";
		goto fail;
	}
	c->ncpus = n;
	c->links = xcalloc(n, sizeof(*c->links));
	c->pfds = xmalloc(n * sizeof(*c->pfds));
	for (int i = 0; i < n; i++)
		c->pfds[i] = -1;
	for (int i = 0; i < n; i++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.size = sizeof(attr),
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.sample_period = 1000000000ULL / cfg->frequency,
		};
		int fd = syscall(__NR_perf_event_open, &attr, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno == ENODEV)
				continue;	/* went offline meanwhile */
			err = -errno;
			*ret_reason = "perf_event_open(cpu-clock) failed";
			goto fail;
		}
		c->pfds[i] = fd;
		c->links[i] = bpf_program__attach_perf_event(c->skel->progs.on_sample, fd);
		if (!c->links[i]) {
			err = -errno;
			*ret_reason = "cannot attach the BPF program to perf events";
			goto fail;
		}
	}
	c->sym = symbolizer__new(&so);
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.new_procs), on_new_proc, c, NULL);
	if (!c->rb) {
		err = -errno;
		*ret_reason = "cannot open the BPF ring buffer";
		goto fail;
	}
	if (cfg->mode != COLLECTOR_FP) {
		c->us = ustacks__new(c->sym, cfg->mode, on_judged, c);
		err = ring_buffer__add(c->rb, bpf_map__fd(c->skel->maps.samples), on_dwarf_sample, c);
		if (err) {
			*ret_reason = "cannot open the BPF samples ring buffer";
			goto fail;
		}
	}
	free(cpus);
	*ret = c;
	return 0;
fail:
	free(cpus);
	destroy(c);
	return err < 0 ? err : -EINVAL;
}

static int fd_of(struct collector *c)
{
	return ring_buffer__epoll_fd(c->rb);
}

static int ready(struct collector *c)
{
	int n = ring_buffer__consume(c->rb);

	return n < 0 ? n : 0;
}

static void read_stats(struct collector *c, uint64_t *ret)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	memset(ret, 0, sizeof(uint64_t) * GP_STAT__MAX);
	if (ncpu <= 0)
		return;
	vals = xcalloc(ncpu, sizeof(*vals));
	for (uint32_t k = 0; k < GP_STAT__MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.stats), &k, vals))
			continue;
		for (int i = 0; i < ncpu; i++)
			ret[k] += vals[i];
	}
	free(vals);
}

/* Copies stack h of the drained bank into st; returns its depth (0: none). */
static int read_stack(struct collector *c, uint64_t h, struct gp_stack *st)
{
	size_t mask = c->sindex_cap - 1;

	if (h <= GP_STACK_ERROR || !c->sindex_cap)
		return 0;
	for (size_t i = (h ^ (h >> 29)) & mask;; i = (i + 1) & mask) {
		uint32_t v = c->sindex[i];

		if (!v)
			return 0;
		if (c->snames[v - 1] == h) {
			uint32_t n = c->slens[v - 1];

			st->len = n;
			memcpy(st->ips, c->sips + c->soffs[v - 1], n * sizeof(st->ips[0]));
			return (int)n;
		}
	}
}

static void index_stacks(struct collector *c)
{
	size_t cap = 64;

	while (cap < c->nstacks * 2)
		cap *= 2;
	if (cap != c->sindex_cap) {
		free(c->sindex);
		c->sindex = xmalloc(cap * sizeof(*c->sindex));
		c->sindex_cap = cap;
	}
	memset(c->sindex, 0, cap * sizeof(*c->sindex));
	for (size_t k = 0; k < c->nstacks; k++) {
		uint64_t h = c->snames[k];
		size_t i = (h ^ (h >> 29)) & (cap - 1);

		while (c->sindex[i])
			i = (i + 1) & (cap - 1);
		c->sindex[i] = (uint32_t)k + 1;
	}
}

/* Keeps a drained stack, only its used addresses. */
static void keep_stack(struct collector *c, const void *key, const void *val)
{
	const struct gp_stack *st = val;
	uint32_t n = st->len > GP_MAX_STACK_DEPTH ? GP_MAX_STACK_DEPTH : st->len;
	size_t cap = c->stacks_cap;

	xgrow((void **)&c->snames, &c->stacks_cap, c->nstacks + 1, sizeof(*c->snames));
	if (cap != c->stacks_cap) {
		c->soffs = xrealloc(c->soffs, c->stacks_cap * sizeof(*c->soffs));
		c->slens = xrealloc(c->slens, c->stacks_cap * sizeof(*c->slens));
	}
	xgrow((void **)&c->sips, &c->sips_cap, c->sips_len + n, sizeof(*c->sips));
	memcpy(c->sips + c->sips_len, st->ips, n * sizeof(*c->sips));
	memcpy(&c->snames[c->nstacks], key, sizeof(*c->snames));
	c->soffs[c->nstacks] = c->sips_len;
	c->slens[c->nstacks] = n;
	c->sips_len += n;
	c->nstacks++;
}

/* Keeps a drained count. */
static void keep_count(struct collector *c, const void *key, const void *val)
{
	size_t cap = c->keys_cap;

	xgrow((void **)&c->keys, &c->keys_cap, c->nkeys + 1, sizeof(*c->keys));
	if (cap != c->keys_cap)
		c->counts = xrealloc(c->counts, c->keys_cap * sizeof(*c->counts));
	memcpy(&c->keys[c->nkeys], key, sizeof(*c->keys));
	memcpy(&c->counts[c->nkeys], val, sizeof(*c->counts));
	c->nkeys++;
}

#define TAKE_CHUNK 128

/*
 * Reads and empties a map of the idle bank, handing each entry to keep():
 * a batch syscall per TAKE_CHUNK entries through a fixed scratch buffer; on
 * kernels without batch operations (< 5.6), one lookup and one delete per
 * entry.
 */
static void take_all(struct collector *c, int fd, size_t ksz, size_t vsz,
		     void (*keep)(struct collector *, const void *, const void *))
{
	size_t need = TAKE_CHUNK * (ksz + vsz);
	__u64 batch = 0;
	bool first = true;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (c->scratch_cap < need) {
		c->scratch = xrealloc(c->scratch, need);
		c->scratch_cap = need;
	}
	char *keys = c->scratch, *vals = c->scratch + TAKE_CHUNK * ksz;

	while (!c->no_batch) {
		__u32 count = TAKE_CHUNK;
		int err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &batch, &batch, keys,
							  vals, &count, &opts);

		first = false;
		for (__u32 i = 0; i < count; i++)
			keep(c, keys + i * ksz, vals + i * vsz);
		if (!err)
			continue;
		if (errno == ENOENT)
			return;	/* the whole map was read */
		if (errno == ENOSPC)
			continue;	/* a bucket larger than the chunk: count was set */
		if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
			break;
		c->no_batch = true;	/* old kernel: entry by entry below */
	}
	while (!bpf_map_get_next_key(fd, NULL, keys)) {
		if (!bpf_map_lookup_elem(fd, keys, vals))
			keep(c, keys, vals);
		if (bpf_map_delete_elem(fd, keys))
			break;
	}
}

static void add_sample(struct collector *c, struct profile *prof,
		       const struct gp_sample_key *k, uint64_t count)
{
	char comm[GP_COMM_LEN + 1];
	struct native_stack s;

	memcpy(comm, k->comm, GP_COMM_LEN);
	comm[GP_COMM_LEN] = '\0';
	s = (struct native_stack){
		.tgid = k->tgid,
		.comm = comm,
		.uips = (const uint64_t *)c->ustack.ips,
		.nu = read_stack(c, k->ustack, &c->ustack),
		.kips = (const uint64_t *)c->kstack.ips,
		.nk = read_stack(c, k->kstack, &c->kstack),
	};
	/* a stack that could not be read or stored is marked, not dropped */
	s.user_missing = k->ustack && !s.nu;
	s.kern_missing = k->kstack && !s.nk;
	/* smart mode: frame-pointer stacks of processes judged FP, with the
	 * frames below main or start_thread that DWARF showed */
	if (c->us && s.nu)
		s.nu = ustacks__complete_fp(c->us, (int)k->tgid, (uint64_t *)c->ustack.ips, s.nu,
					    GP_MAX_STACK_DEPTH);
	native_stack__emit(&s, count, prof, c->sym, &c->cfg, &c->frames, &c->nframes_cap);
}

static int drain(struct collector *c, struct profile *prof)
{
	int bank = c->skel->bss->active_bank;
	struct bpf_map *counts = bank ? c->skel->maps.counts_1 : c->skel->maps.counts_0;
	struct bpf_map *stacks = bank ? c->skel->maps.stacks_1 : c->skel->maps.stacks_0;
	struct timespec settle = { 0, 2 * 1000 * 1000 };

	/* New samples go to the other bank; a program that read the old
	 * value finishes within microseconds, so 2 ms is ample. */
	__atomic_store_n(&c->skel->bss->active_bank, !bank, __ATOMIC_SEQ_CST);
	nanosleep(&settle, NULL);
	ring_buffer__consume(c->rb);	/* maps of new processes first */
	symbolizer__next_gen(c->sym);

	c->nstacks = c->sips_len = 0;
	take_all(c, bpf_map__fd(stacks), sizeof(__u64), sizeof(struct gp_stack), keep_stack);
	index_stacks(c);
	c->nkeys = 0;
	take_all(c, bpf_map__fd(counts), sizeof(*c->keys), sizeof(*c->counts), keep_count);
	for (size_t i = 0; i < c->nkeys; i++)
		if (c->counts[i])
			add_sample(c, prof, &c->keys[i], c->counts[i]);
	if (c->us)
		ustacks__flush(c->us, prof, &c->cfg);
	c->drains++;
	return 0;
}

static void end_session(struct collector *c)
{
	symbolizer__sweep(c->sym);
	if (c->us)
		ustacks__end_session(c->us, mono_ns());
}

static void stats(struct collector *c, struct collector_stats *ret)
{
	uint64_t s[GP_STAT__MAX];
	struct symbolizer_stats ss;

	read_stats(c, s);
	symbolizer__stats(c->sym, &ss);
	*ret = (struct collector_stats){
		.samples = s[GP_STAT_SAMPLES],
		.stack_errors = s[GP_STAT_USTACK_ERROR] + s[GP_STAT_KSTACK_ERROR],
		.stacks_dropped = s[GP_STAT_STACKS_FULL],
		.lost = s[GP_STAT_COUNTS_FULL],
		.drains = c->drains,
		.procs = ss.procs,
		.dsos = ss.dsos,
		.cache_bytes = ss.proc_bytes + ss.dso_bytes + ss.kernel_bytes,
	};
	ret->dwarf_ring_full = s[GP_STAT_DWARF_LOST];
	if (c->us)
		ustacks__stats(c->us, ret);
}

const struct collector_ops native_bpf_ops = {
	.name = "bpf",
	.open = open_collector,
	.fd = fd_of,
	.ready = ready,
	.drain = drain,
	.end_session = end_session,
	.stats = stats,
	.destroy = destroy,
};
