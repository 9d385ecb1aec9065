// SPDX-License-Identifier: Apache-2.0
/*
 * Remote memory with a per-sample page cache; see pymem.h. The cache is
 * direct-mapped (PYMEM_PAGES slots indexed by page number) and validated
 * by a generation counter, so a reset is one increment. A page is fetched
 * whole: pages are the unit of mapping, so a page that holds the wanted
 * bytes can always be read in full.
 */
#include "pymem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "xalloc.h"

#define PYMEM_PAGE 4096u
#define PYMEM_PAGES 64u

struct page {
	uint64_t addr;		/* page-aligned remote address */
	uint64_t gen;		/* valid when equal to pymem.gen */
	uint8_t data[PYMEM_PAGE];
};

struct pymem {
	pid_t pid;
	uint64_t gen;
	uint64_t syscalls;
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

void pymem__reset(struct pymem *m)
{
	m->gen++;
}

uint64_t pymem__syscalls(const struct pymem *m)
{
	return m->syscalls;
}

static int page_get(struct pymem *m, uint64_t page_addr, const uint8_t **ret)
{
	struct page *p = &m->pages[(page_addr / PYMEM_PAGE) % PYMEM_PAGES];
	int r;

	if (p->gen != m->gen || p->addr != page_addr) {
		m->syscalls++;
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
