// SPDX-License-Identifier: Apache-2.0
/*
 * Remote memory with a per-sample page cache; see pymem.h. The cache is
 * 4-way set-associative (PYMEM_SETS sets picked by a hash of the page
 * number) and validated by a generation counter, so a reset is one
 * increment. A page is fetched
 * whole: pages are the unit of mapping, so a page that holds the wanted
 * bytes can always be read in full.
 *
 * A system call costs far more than the bytes it copies (on the VMs here
 * ~1.5 us for one, ~0.35 us per extra page), and consecutive samples of a
 * busy thread touch the same pages (its thread state, frame stack, code
 * objects). So a reset prefetches, in one process_vm_readv with one
 * remote iovec per run of adjacent pages, every page the previous sample
 * touched; only pages new to this sample cost a call of their own.
 */
#include "pymem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "xalloc.h"

#define PYMEM_PAGE 4096u
#define PYMEM_WAYS 4u
#define PYMEM_SETS 16u
#define PYMEM_PAGES (PYMEM_WAYS * PYMEM_SETS)
#define PYMEM_TOUCHED 32u	/* pages remembered for the next prefetch */

struct page {
	uint64_t addr;		/* page-aligned remote address */
	uint64_t gen;		/* valid when equal to pymem.gen */
	uint8_t data[PYMEM_PAGE];
};

struct pymem {
	pid_t pid;
	uint64_t gen;
	uint64_t syscalls;
	uint64_t npages;	/* pages read, prefetched or not */
	uint64_t touched[PYMEM_TOUCHED];	/* page addresses, this sample */
	unsigned int ntouched;
	struct page pages[PYMEM_PAGES];
};

int pymem_read_direct(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n;

	if (!len)
		return 0;
	if (addr < PYMEM_PAGE || addr + len < addr)
		return -EFAULT;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EFAULT;
	return 0;
}

struct pymem *pymem__new(pid_t pid)
{
	struct pymem *m = xcalloc(1, sizeof(*m));

	m->pid = pid;
	m->gen = 1;
	return m;
}

struct pymem *pymem__free(struct pymem *m)
{
	free(m);
	return NULL;
}

static struct page *set_of(struct pymem *m, uint64_t page_addr)
{
	uint64_t h = (page_addr / PYMEM_PAGE) * 0x9E3779B97F4A7C15ULL;

	return &m->pages[(h >> 60) % PYMEM_SETS * PYMEM_WAYS];
}

/* The way holding page_addr this generation, else a free or stale way to
 * fill (the least recently filled), else NULL when all are in use. */
static struct page *way_of(struct pymem *m, uint64_t page_addr, bool *ret_hit)
{
	struct page *set = set_of(m, page_addr), *victim = NULL;

	for (unsigned int w = 0; w < PYMEM_WAYS; w++) {
		if (set[w].gen == m->gen && set[w].addr == page_addr) {
			*ret_hit = true;
			return &set[w];
		}
		if (!victim && set[w].gen != m->gen)
			victim = &set[w];
	}
	*ret_hit = false;
	return victim;
}

static void touch(struct pymem *m, uint64_t page_addr)
{
	for (unsigned int i = 0; i < m->ntouched; i++)
		if (m->touched[i] == page_addr)
			return;
	if (m->ntouched < PYMEM_TOUCHED)
		m->touched[m->ntouched++] = page_addr;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void pymem__reset(struct pymem *m)
{
	struct iovec local[PYMEM_TOUCHED], remote[PYMEM_TOUCHED];
	struct page *slots[PYMEM_TOUCHED];
	unsigned int nl = 0, nr = 0;
	ssize_t got;

	m->gen++;
	if (!m->ntouched)
		return;
	qsort(m->touched, m->ntouched, sizeof(m->touched[0]), cmp_u64);
	/* Claim a way per page first (a claimed way is marked with the new
	 * generation), so the pages of one prefetch never evict each other;
	 * a way whose read fails is released below. */
	for (unsigned int i = 0; i < m->ntouched; i++) {
		uint64_t a = m->touched[i];
		bool hit;
		struct page *p = way_of(m, a, &hit);

		if (!p || hit)
			continue;	/* set full: fetched on demand */
		slots[nl] = p;
		p->addr = a;
		p->gen = m->gen;
		local[nl].iov_base = p->data;
		local[nl].iov_len = PYMEM_PAGE;
		nl++;
		if (nr && (uint64_t)(uintptr_t)remote[nr - 1].iov_base + remote[nr - 1].iov_len == a) {
			remote[nr - 1].iov_len += PYMEM_PAGE;
		} else {
			remote[nr].iov_base = (void *)(uintptr_t)a;
			remote[nr].iov_len = PYMEM_PAGE;
			nr++;
		}
	}
	m->ntouched = 0;
	m->syscalls++;
	m->npages += nl;
	got = process_vm_readv(m->pid, local, nl, remote, nr, 0);
	/* pages are filled in order; a failing run ends the transfer */
	for (unsigned int i = 0; i < nl; i++) {
		if (got < (ssize_t)PYMEM_PAGE)
			slots[i]->gen = 0;
		got -= PYMEM_PAGE;
	}
}

uint64_t pymem__syscalls(const struct pymem *m)
{
	return m->syscalls;
}

uint64_t pymem__pages(const struct pymem *m)
{
	return m->npages;
}

static int page_get(struct pymem *m, uint64_t page_addr, const uint8_t **ret)
{
	struct page *p;
	bool hit;
	int r;

	touch(m, page_addr);
	p = way_of(m, page_addr, &hit);
	if (!p)		/* set full this sample: reuse its first way */
		p = set_of(m, page_addr);
	if (!hit) {
		m->syscalls++;
		m->npages++;
		r = pymem_read_direct(m->pid, page_addr, p->data, PYMEM_PAGE);
		if (r) {
			p->gen = 0;
			return r;
		}
		p->addr = page_addr;
		p->gen = m->gen;
	}
	*ret = p->data;
	return 0;
}

int pymem__read(struct pymem *m, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;

	if (len > PYMEM_PAGE) {
		m->syscalls++;
		return pymem_read_direct(m->pid, addr, buf, len);
	}
	if (addr < PYMEM_PAGE || addr + len < addr)
		return -EFAULT;
	while (len) {
		uint64_t page_addr = addr & ~(uint64_t)(PYMEM_PAGE - 1);
		size_t off = addr - page_addr, n = PYMEM_PAGE - off;
		const uint8_t *data;
		int r = page_get(m, page_addr, &data);

		if (r)
			return r;
		if (n > len)
			n = len;
		memcpy(out, data + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

int pymem__read_ptr(struct pymem *m, uint64_t addr, uint64_t *ret)
{
	uint64_t v;
	int r = pymem__read(m, addr, &v, sizeof(v));

	if (r)
		return r;
	*ret = v;
	return 0;
}
