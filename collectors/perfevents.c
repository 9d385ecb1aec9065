// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF-less native sampler; see perfevents.h. Each CPU's ring buffer is
 * read when the kernel wakes us (a few times a second) and at every drain:
 * a process is announced to the symbolizer at its first sample, so its
 * maps are read while it lives, and COMM records keep each process's name
 * as the BPF program reads it (the thread-group leader's, new after exec).
 */
#include "perfevents.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include <linux/types.h>

#include "native.h"
#include "stackcount.h"
#include "symbolizer.h"
#include "ustacks.h"
#include "xalloc.h"

#define PROC_BUCKETS 1024
#define MAX_PROCS 16384

/* x86-64 user registers asked of the kernel (PERF_REG_X86_*: AX..IP and
 * R8..R15) and where each lands in DWARF order, in bit order. */
#define REGS_MASK (0x1ffULL | (0xffULL << 16))
static const uint8_t perf_to_dwarf[] = {
	GP_REG_AX, GP_REG_BX, GP_REG_CX, GP_REG_DX, GP_REG_SI, GP_REG_DI, GP_REG_BP, GP_REG_SP,
	GP_REG_IP, 8, 9, 10, 11, 12, 13, 14, 15,
};

struct ring {
	int fd;
	uint8_t *base;
	size_t len;		/* mmap length: one header page + data */
	uint64_t data_size;
};

/* The name and announcement state of one sampled process. */
struct pproc {
	int pid;
	bool noted;		/* announced to the symbolizer */
	char comm[GP_COMM_LEN + 1];
	struct pproc *next;
};

struct collector {
	struct collector_config cfg;
	struct ring *rings;
	int nrings;
	int epfd;
	long page;
	struct symbolizer *sym;
	struct ustacks *us;		/* DWARF and smart modes */
	struct stackcount *counts;	/* frame-pointer mode */
	struct pproc *procs[PROC_BUCKETS];
	size_t nprocs;
	uint64_t samples, lost, drains;
	uint8_t *tmp;
	size_t tmp_cap;
	uint64_t uips[GP_MAX_STACK_DEPTH], kips[GP_MAX_STACK_DEPTH];
};

int perfevents_online_cpus(int **ret)
{
	char *text = proc_read_file("/sys/devices/system/cpu/online", 4096, NULL);
	int *cpus = NULL, n = 0;
	size_t cap = 0;

	if (!text)
		return -errno;
	for (char *p = text; *p && *p != '\n';) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			break;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
		}
		for (long c = a; c <= b && c < 65536; c++) {
			xgrow((void **)&cpus, &cap, n + 1, sizeof(*cpus));
			cpus[n++] = (int)c;
		}
		p = *end == ',' ? end + 1 : end;
	}
	free(text);
	*ret = cpus;
	return n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- processes ---- */

static struct pproc *proc_get(struct collector *c, int pid, bool create)
{
	struct pproc **pp = &c->procs[(unsigned int)pid % PROC_BUCKETS], *p;

	for (p = *pp; p; p = p->next)
		if (p->pid == pid)
			return p;
	if (!create)
		return NULL;
	if (c->nprocs >= MAX_PROCS)
		return NULL;	/* swept at the session's end */
	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	if (proc_comm(pid, p->comm))
		strcpy(p->comm, "[unknown]");
	p->next = *pp;
	*pp = p;
	c->nprocs++;
	return p;
}

static void procs_sweep(struct collector *c, bool all)
{
	for (size_t b = 0; b < PROC_BUCKETS; b++) {
		struct pproc **pp = &c->procs[b];

		while (*pp) {
			struct pproc *p = *pp;
			char path[32];

			snprintf(path, sizeof(path), "/proc/%d", p->pid);
			if (all || access(path, F_OK)) {
				*pp = p->next;
				free(p);
				c->nprocs--;
				continue;
			}
			pp = &p->next;
		}
	}
}

static bool pid_wanted(const struct collector *c, int pid)
{
	if (!c->cfg.npids)
		return true;
	for (size_t i = 0; i < c->cfg.npids; i++)
		if (c->cfg.pids[i] == pid)
			return true;
	return false;
}

/* ---- records ---- */

struct sample {
	uint32_t pid;
	const uint64_t *chain;
	uint64_t nchain;
	uint64_t abi;
	const uint64_t *regs;
	const uint8_t *stack;
	uint64_t stack_len;
};

/* Parses a PERF_RECORD_SAMPLE body p..end in sample_type order. */
static bool parse_sample(const struct collector *c, const uint8_t *p, const uint8_t *end,
			 struct sample *s)
{
	uint64_t v;

	memset(s, 0, sizeof(*s));
	if (end - p < 16)
		return false;
	memcpy(&s->pid, p, 4);	/* PERF_SAMPLE_TID: pid, tid */
	p += 8;
	memcpy(&s->nchain, p, 8);	/* PERF_SAMPLE_CALLCHAIN */
	p += 8;
	if (s->nchain > (uint64_t)(end - p) / 8)
		return false;
	s->chain = (const uint64_t *)p;
	p += s->nchain * 8;
	if (c->cfg.mode == COLLECTOR_FP)
		return true;
	if (end - p < 8)	/* PERF_SAMPLE_REGS_USER */
		return false;
	memcpy(&s->abi, p, 8);
	p += 8;
	if (s->abi != PERF_SAMPLE_REGS_ABI_NONE) {
		size_t n = sizeof(perf_to_dwarf);

		if ((size_t)(end - p) < n * 8)
			return false;
		s->regs = (const uint64_t *)p;
		p += n * 8;
	}
	if (end - p < 8)	/* PERF_SAMPLE_STACK_USER: size, data, dyn_size */
		return false;
	memcpy(&v, p, 8);
	p += 8;
	if (v) {
		uint64_t dyn;

		if (v > (uint64_t)(end - p) || (uint64_t)(end - p) - v < 8)
			return false;
		memcpy(&dyn, p + v, 8);
		s->stack = p;
		s->stack_len = dyn < v ? dyn : v;
	}
	return true;
}

static void on_sample(struct collector *c, const uint8_t *p, const uint8_t *end)
{
	struct sample s;
	struct pproc *pp = NULL;
	const char *comm = "swapper";
	uint64_t *dst = NULL, regs[GP_NREGS];
	int nk = 0, nu = 0, *n = NULL;
	bool user;

	if (!parse_sample(c, p, end, &s))
		return;
	if (s.pid && !pid_wanted(c, (int)s.pid))
		return;
	c->samples++;
	for (uint64_t i = 0; i < s.nchain; i++) {
		uint64_t ip = s.chain[i];

		if (ip >= PERF_CONTEXT_MAX) {
			dst = ip == PERF_CONTEXT_KERNEL ? c->kips : ip == PERF_CONTEXT_USER ? c->uips
											      : NULL;
			n = ip == PERF_CONTEXT_KERNEL ? &nk : ip == PERF_CONTEXT_USER ? &nu : NULL;
			continue;
		}
		if (dst && *n < GP_MAX_STACK_DEPTH)
			dst[(*n)++] = ip;
	}
	user = s.pid && (c->cfg.mode == COLLECTOR_FP ? nu > 0 : s.regs != NULL);
	if (s.pid) {
		pp = proc_get(c, (int)s.pid, true);
		if (pp) {
			comm = pp->comm;
			if (user && !pp->noted) {
				pp->noted = true;
				symbolizer__note_process(c->sym, (int)s.pid);
				if (c->cfg.on_new_process)
					c->cfg.on_new_process(c->cfg.on_proc_arg, (int)s.pid);
			}
		} else {
			comm = "[unknown]";
		}
	}
	if (c->cfg.mode == COLLECTOR_FP) {
		struct native_stack ns = {
			.tgid = s.pid, .comm = comm,
			.uips = c->uips, .nu = nu, .kips = c->kips, .nk = nk,
		};

		if (!stackcount__add(c->counts, &ns))
			c->lost++;
		return;
	}
	if (s.regs)
		for (size_t i = 0; i < sizeof(perf_to_dwarf); i++)
			regs[perf_to_dwarf[i]] = s.regs[i];
	struct ustack_sample us = {
		.tgid = s.pid,
		.comm = comm,
		.regs = s.regs ? regs : NULL,
		.stack = s.stack,
		.stack_len = s.stack_len,
		.kips = c->kips,
		.nk = nk,
		.fp = c->cfg.mode == COLLECTOR_SMART ? c->uips : NULL,
		.nfp = nu,
	};
	ustacks__add(c->us, &us, mono_ns());
}

static void on_comm(struct collector *c, const struct perf_event_header *h, const uint8_t *p,
		    const uint8_t *end)
{
	uint32_t pid, tid;
	struct pproc *pp;
	size_t len;

	if (end - p < 9)
		return;
	memcpy(&pid, p, 4);
	memcpy(&tid, p + 4, 4);
	/* the process's name is its leader's; an exec makes a new image */
	if (pid != tid && !(h->misc & PERF_RECORD_MISC_COMM_EXEC))
		return;
	pp = proc_get(c, (int)pid, false);
	if (!pp)
		return;
	len = strnlen((const char *)p + 8, end - p - 8);
	if (len > GP_COMM_LEN - 1)
		len = GP_COMM_LEN - 1;
	memcpy(pp->comm, p + 8, len);
	pp->comm[len] = '\0';
	if (h->misc & PERF_RECORD_MISC_COMM_EXEC) {
		pp->noted = false;	/* new maps: announce it again */
		if (c->us)
			ustacks__forget(c->us, (int)pid);
	}
}

static void on_record(struct collector *c, const uint8_t *rec)
{
	const struct perf_event_header *h = (const void *)rec;
	const uint8_t *p = rec + sizeof(*h), *end = rec + h->size;

	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		on_sample(c, p, end);
		break;
	case PERF_RECORD_COMM:
		on_comm(c, h, p, end);
		break;
	case PERF_RECORD_LOST:
		if (end - p >= 16) {
			uint64_t n;

			memcpy(&n, p + 8, 8);
			c->lost += n;
			c->samples += n;
		}
		break;
	default:
		break;
	}
}

/* Reads everything the kernel has written to ring r. */
static void ring_read(struct collector *c, struct ring *r)
{
	struct perf_event_mmap_page *m = (void *)r->base;
	const uint8_t *data = r->base + c->page;
	uint64_t head = __atomic_load_n(&m->data_head, __ATOMIC_ACQUIRE), tail = m->data_tail;

	while (tail + sizeof(struct perf_event_header) <= head) {
		struct perf_event_header h;
		uint64_t off = tail % r->data_size;
		const uint8_t *rec;

		if (off + sizeof(h) <= r->data_size) {
			memcpy(&h, data + off, sizeof(h));
		} else {
			size_t first = r->data_size - off;

			memcpy(&h, data + off, first);
			memcpy((uint8_t *)&h + first, data, sizeof(h) - first);
		}
		if (h.size < sizeof(h) || tail + h.size > head)
			break;
		if (off + h.size <= r->data_size) {
			rec = data + off;
		} else {	/* wraps: make it contiguous */
			size_t first = r->data_size - off;

			xgrow((void **)&c->tmp, &c->tmp_cap, h.size, 1);
			memcpy(c->tmp, data + off, first);
			memcpy(c->tmp + first, data, h.size - first);
			rec = c->tmp;
		}
		on_record(c, rec);
		tail += h.size;
	}
	__atomic_store_n(&m->data_tail, tail, __ATOMIC_RELEASE);
}

static void read_all(struct collector *c)
{
	for (int i = 0; i < c->nrings; i++)
		if (c->rings[i].base)
			ring_read(c, &c->rings[i]);
}

/* ---- ops ---- */

static void destroy(struct collector *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nrings; i++) {
		if (c->rings[i].base)
			munmap(c->rings[i].base, c->rings[i].len);
		if (c->rings[i].fd >= 0)
			close(c->rings[i].fd);
	}
	if (c->epfd >= 0)
		close(c->epfd);
	procs_sweep(c, true);
	ustacks__free(c->us);
	stackcount__free(c->counts);
	symbolizer__free(c->sym);
	free(c->rings);
	free(c->tmp);
	free(c);
}

static int open_collector(const struct collector_config *cfg, struct collector **ret,
			  const char **ret_reason)
{
	struct symbolizer_opts so = { .insert_dso_name = cfg->insert_dso_name };
	struct collector *c = xcalloc(1, sizeof(*c));
	uint64_t rec, pages = 8;
	int *cpus = NULL, n, err;
	uint32_t stack = (cfg->dwarf_stack_size + 7) & ~7u;

	c->cfg = *cfg;
	c->epfd = -1;
	c->page = sysconf(_SC_PAGESIZE);
#if !defined(__x86_64__)
	if (cfg->mode != COLLECTOR_FP) {
		*ret_reason = "DWARF unwinding is implemented for x86-64 only";
		err = -EOPNOTSUPP;
		goto fail;
	}
#endif
	n = perfevents_online_cpus(&cpus);
	if (n <= 0) {
		*ret_reason = "cannot read the online CPUs";
		err = n < 0 ? n : -ENODEV;
		goto fail;
	}
	/* A ring holds about a second of one CPU's samples; we are woken
	 * every eighth of a second, and read at every drain. */
	rec = 64 + (GP_MAX_STACK_DEPTH + 2) * 8;
	if (cfg->mode != COLLECTOR_FP)
		rec += 8 + sizeof(perf_to_dwarf) * 8 + 16 + stack;
	while (pages * c->page < rec * cfg->frequency && pages < 1024)
		pages <<= 1;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		err = -errno;
		*ret_reason = "epoll_create1 failed";
		goto fail;
	}
	c->rings = xcalloc(n, sizeof(*c->rings));
	for (int i = 0; i < n; i++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.size = sizeof(attr),
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.sample_period = 1000000000ULL / cfg->frequency,
			.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN,
			.disabled = 1,
			.comm = 1,
			.comm_exec = 1,
			.wakeup_events = cfg->frequency / 8 ? cfg->frequency / 8 : 1,
			.sample_max_stack = GP_MAX_STACK_DEPTH,
		};
		struct ring *r = &c->rings[c->nrings];
		struct epoll_event ev = { .events = EPOLLIN };

		if (cfg->mode != COLLECTOR_FP) {
			attr.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
			attr.sample_regs_user = REGS_MASK;
			attr.sample_stack_user = stack;
			/* DWARF mode unwinds the user side itself */
			attr.exclude_callchain_user = cfg->mode == COLLECTOR_DWARF;
		}
		r->fd = syscall(__NR_perf_event_open, &attr, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);
		if (r->fd < 0) {
			if (errno == ENODEV)
				continue;	/* went offline meanwhile */
			err = -errno;
			*ret_reason = "perf_event_open(cpu-clock) failed";
			goto fail;
		}
		c->nrings++;
		r->data_size = pages * c->page;
		r->len = r->data_size + c->page;
		r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		if (r->base == MAP_FAILED) {
			r->base = NULL;
			err = -errno;
			*ret_reason = "cannot map the perf ring buffer";
			goto fail;
		}
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, r->fd, &ev)) {
			err = -errno;
			*ret_reason = "epoll_ctl failed";
			goto fail;
		}
	}
	c->sym = symbolizer__new(&so);
	if (cfg->mode == COLLECTOR_FP)
		c->counts = stackcount__new(0);
	else
		c->us = ustacks__new(c->sym, cfg->mode, NULL, NULL);
	for (int i = 0; i < c->nrings; i++)
		ioctl(c->rings[i].fd, PERF_EVENT_IOC_ENABLE, 0);
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
	return c->epfd;
}

static int ready(struct collector *c)
{
	struct epoll_event ev[16];

	/* level-triggered: drain the wakeups, then read every ring */
	while (epoll_wait(c->epfd, ev, 16, 0) > 0) {
		read_all(c);
		break;
	}
	return 0;
}

static int drain(struct collector *c, struct profile *prof)
{
	read_all(c);
	symbolizer__next_gen(c->sym);
	if (c->counts)
		stackcount__flush(c->counts, prof, c->sym, &c->cfg);
	else
		ustacks__flush(c->us, prof, &c->cfg);
	c->drains++;
	return 0;
}

static void end_session(struct collector *c)
{
	symbolizer__sweep(c->sym);
	procs_sweep(c, false);
	if (c->us)
		ustacks__end_session(c->us, mono_ns());
}

static void stats(struct collector *c, struct collector_stats *ret)
{
	struct symbolizer_stats ss;

	symbolizer__stats(c->sym, &ss);
	*ret = (struct collector_stats){
		.samples = c->samples,
		.lost = c->lost,
		.drains = c->drains,
		.procs = ss.procs,
		.dsos = ss.dsos,
		.cache_bytes = ss.proc_bytes + ss.dso_bytes + ss.kernel_bytes,
	};
	if (c->counts)
		ret->lost += stackcount__lost(c->counts);
	if (c->us)
		ustacks__stats(c->us, ret);
}

const struct collector_ops native_perf_ops = {
	.name = "perf",
	.open = open_collector,
	.fd = fd_of,
	.ready = ready,
	.drain = drain,
	.end_session = end_session,
	.stats = stats,
	.destroy = destroy,
};
