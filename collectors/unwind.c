// SPDX-License-Identifier: Apache-2.0
/*
 * DWARF unwinding with libunwind's remote API; see unwind.h. libunwind
 * asks our accessors for registers (from the sample), memory (the copied
 * stack, or the target's binaries read through a read-only mmap of the
 * file) and the unwind table of an address: we point it at the binary's
 * .eh_frame_hdr search table, at the address where the process has it
 * mapped, and libunwind's own binary search and CFI interpreter do the
 * rest. Binaries without one get a search table built here over their
 * .eh_frame. Code their tables do not cover (objects built with
 * -fno-asynchronous-unwind-tables, whose CFI is only in .debug_frame, which
 * strip moves to the separate debug file) is looked up, on its first miss,
 * in a .debug_frame rewritten in .eh_frame form, from the binary or its
 * debug file.
 */
#include "unwind.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNW_REMOTE_ONLY
#include <libunwind.h>

#include "debuginfo.h"
#include "dsocache.h"
#include "ehframe.h"
#include "symbolizer.h"
#include "xalloc.h"

/* Exported by libunwind but not declared in its public headers (perf and
 * others declare it the same way). */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					       unw_dyn_info_t *di, unw_proc_info_t *pi,
					       int need_unwind_info, void *arg);

#define BIN_BUCKETS 512
#define RECENT_BINS 8
/* A read failing this far above the copied stack is a read of the stack. */
#define STACK_SLACK (8ULL << 20)

struct load {
	uint64_t vaddr, off, filesz, memsz;
};

/* One binary: its file mapped read-only, load segments and unwind table. */
struct ubin {
	uint64_t dev, ino;
	int err;			/* negative entry: the file is unusable */
	const uint8_t *img;
	size_t len;
	bool owned;			/* munmap img at free (not the vDSO) */
	struct load *loads;
	size_t nloads;
	uint64_t lo, hi;		/* vaddr span of the loads */
	/* the search table libunwind bisects: in the file (.eh_frame_hdr)
	 * or built here (ehtab) and served at a private address */
	uint64_t hdr_vaddr, table_vaddr, fde_count;
	struct ehtab *tab;
	struct ehtab *dtab;		/* .debug_frame, built on first miss */
	bool dtab_tried;
	bool touched;			/* read since the last trim */
	uint64_t last_use;
	struct ubin *hnext;
};

struct uspace {
	int pid;
	uint64_t maps_sig;
	unw_addr_space_t as;
	uint64_t last_use;
};

struct unwinder {
	struct unwind_opts o;
	struct symbolizer *sym;
	struct ubin *buckets[BIN_BUCKETS];
	size_t nbins, mapped;
	struct ubin *vdso;
	struct uspace *spaces;
	size_t nspaces;
	uint64_t tick;
	struct unwind_stats st;
};

/* A binary as one process maps it: runtime address = vaddr + bias. */
struct placed {
	struct ubin *b;
	uint64_t bias;
};

/* State of one walk, passed to every accessor. */
struct uctx {
	struct unwinder *u;
	const struct unwind_sample *s;
	struct placed recent[RECENT_BINS];
	int nrecent, next_recent;
	int cur;			/* slot of the binary of the last lookup */
	bool stack_overrun;
	bool no_info;
};

/*
 * libunwind's cache lock blocks every signal around each step, two
 * rt_sigprocmask syscalls per frame (40% of the daemon's CPU in DWARF
 * mode), so that a program unwinding itself from a signal handler cannot
 * deadlock on it; Debian builds libunwind without the per-thread cache
 * that would avoid the lock. We unwind copies of other processes' stacks,
 * never from a signal handler, so while this thread is inside libunwind
 * the masking is skipped. The shared libunwind is linked against the
 * symbol sigprocmask, so the executable's definition below takes the place
 * of glibc's; everywhere else it does what glibc's does (pthread_sigmask).
 * Should the linker not export it, glibc's is used: slower, still right.
 */
static __thread bool in_libunwind;

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	int r;

	if (in_libunwind) {
		if (old)
			sigemptyset(old);	/* restored by a call skipped as well */
		return 0;
	}
	r = pthread_sigmask(how, set, old);
	if (r) {
		errno = r;
		return -1;
	}
	return 0;
}

/* ---- binaries ---- */

static const uint8_t *img_at(const struct ubin *b, uint64_t off, uint64_t len)
{
	if (off > b->len || len > b->len - off)
		return NULL;
	return b->img + off;
}

/* A table we build is served past the file's last segment: reads there
 * must come to this binary. */
static void extend_span(struct ubin *b, const struct ehtab *t)
{
	struct ehtab_info ti;

	if (!t)
		return;
	ehtab__info(t, &ti);
	if (ti.hi > b->hi)
		b->hi = ti.hi;
}

/* Reads the ELF64 headers of b->img: loads and the .eh_frame_hdr table. */
static int bin_parse(struct ubin *b)
{
	const Elf64_Ehdr *eh = (const void *)img_at(b, 0, sizeof(Elf64_Ehdr));
	const Elf64_Phdr *ph;
	uint64_t hdr_off = 0, hdr_size = 0, hdr_vaddr = 0;
	size_t cap = 0;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_phentsize != sizeof(Elf64_Phdr))
		return -ENOEXEC;
	ph = (const void *)img_at(b, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(*ph));
	if (!ph)
		return -ENOEXEC;
	b->lo = UINT64_MAX;
	for (size_t i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			xgrow((void **)&b->loads, &cap, b->nloads + 1, sizeof(*b->loads));
			b->loads[b->nloads++] = (struct load){ ph[i].p_vaddr, ph[i].p_offset,
							       ph[i].p_filesz, ph[i].p_memsz };
			if (ph[i].p_vaddr < b->lo)
				b->lo = ph[i].p_vaddr;
			if (ph[i].p_vaddr + ph[i].p_memsz > b->hi)
				b->hi = ph[i].p_vaddr + ph[i].p_memsz;
		} else if (ph[i].p_type == PT_GNU_EH_FRAME) {
			hdr_off = ph[i].p_offset;
			hdr_size = ph[i].p_filesz;
			hdr_vaddr = ph[i].p_vaddr;
		}
	}
	if (!b->nloads)
		return -ENOEXEC;
	if (hdr_size) {
		struct eh_frame_hdr h;
		const uint8_t *p = img_at(b, hdr_off, hdr_size);

		if (p && !ehframe_parse_hdr(p, hdr_size, hdr_vaddr, &h) && h.fde_count) {
			b->hdr_vaddr = hdr_vaddr;
			b->table_vaddr = hdr_vaddr + h.table_off;
			b->fde_count = h.fde_count;
			return 0;
		}
	}
	/* No usable .eh_frame_hdr: index its .eh_frame here. */
	b->tab = ehtab__build(b->img, b->len, EHTAB_EH_FRAME, b->img, b->len);
	extend_span(b, b->tab);
	return 0;
}

static void bin_free(struct unwinder *u, struct ubin *b)
{
	if (!b)
		return;
	if (b->owned && b->img) {
		munmap((void *)b->img, b->len);
		u->mapped -= b->len;
	}
	ehtab__free(b->tab);
	ehtab__free(b->dtab);
	free(b->loads);
	free(b);
}

static unsigned int bin_bucket(uint64_t dev, uint64_t ino)
{
	return (unsigned int)((ino * 0x9e3779b97f4a7c15ULL) ^ dev) % BIN_BUCKETS;
}

static void evict_bin(struct unwinder *u)
{
	struct ubin **victim = NULL;

	for (size_t i = 0; i < BIN_BUCKETS; i++)
		for (struct ubin **pp = &u->buckets[i]; *pp; pp = &(*pp)->hnext)
			if (!victim || (*pp)->last_use < (*victim)->last_use)
				victim = pp;
	if (victim) {
		struct ubin *b = *victim;

		*victim = b->hnext;
		u->nbins--;
		bin_free(u, b);
	}
}

/* The vDSO is the same image in every process: read our own. */
static struct ubin *vdso_bin(struct unwinder *u)
{
	const Elf64_Ehdr *eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	struct ubin *b;

	if (u->vdso)
		return u->vdso->err ? NULL : u->vdso;
	b = u->vdso = xcalloc(1, sizeof(*b));
	b->err = -ENOENT;
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return NULL;
	b->img = (const uint8_t *)eh;
	b->len = eh->e_shoff + (uint64_t)eh->e_shentsize * eh->e_shnum;
	if (b->len > (1 << 20))
		return NULL;
	b->err = bin_parse(b);
	return b->err ? NULL : b;
}

static struct ubin *bin_get(struct unwinder *u, int pid, const struct map_entry *m)
{
	unsigned int h = bin_bucket(m->dev, m->ino);
	struct ubin *b;
	struct stat st;
	char *root = NULL;
	int fd;

	if (!strcmp(m->path, "[vdso]"))
		return vdso_bin(u);
	if (m->path[0] != '/' || !strncmp(m->path, "/memfd:", 7))
		return NULL;	/* anonymous or JIT code: no file to read */
	for (b = u->buckets[h]; b; b = b->hnext) {
		if (b->dev == m->dev && b->ino == m->ino) {
			b->last_use = ++u->tick;
			b->touched = true;
			return b->err ? NULL : b;
		}
	}
	if (u->nbins >= u->o.max_binaries)
		evict_bin(u);
	b = xcalloc(1, sizeof(*b));
	b->dev = m->dev;
	b->ino = m->ino;
	b->last_use = ++u->tick;
	b->touched = true;
	b->err = -ENOENT;
	fd = dsocache_open_mapping(pid, m, &root);
	free(root);
	if (fd >= 0) {
		if (!fstat(fd, &st) && st.st_size > 0) {
			void *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

			if (p != MAP_FAILED) {
				b->img = p;
				b->len = st.st_size;
				b->owned = true;
				u->mapped += b->len;
				b->err = bin_parse(b);
			}
		}
		close(fd);
	}
	if (b->err && b->owned) {
		munmap((void *)b->img, b->len);
		u->mapped -= b->len;
		b->img = NULL;
		b->owned = false;
	}
	b->hnext = u->buckets[h];
	u->buckets[h] = b;
	u->nbins++;
	return b->err ? NULL : b;
}

/* The .debug_frame of b, from the file or its separate debug file (found
 * as the process sees files, by build-id or .gnu_debuglink). Once. */
static void load_debug_frame(struct unwinder *u, struct ubin *b, int pid, const struct map_entry *m)
{
	uint8_t id[64];
	size_t idlen;
	struct debuglink link = { NULL, 0 };
	struct stat st;
	char *root;
	int fd;

	b->dtab_tried = true;
	if (!b->owned)
		return;		/* the vDSO has its .eh_frame */
	if (ehframe_has_section(b->img, b->len, ".debug_frame")) {
		b->dtab = ehtab__build(b->img, b->len, EHTAB_DEBUG_FRAME, b->img, b->len);
	} else {
		idlen = ehframe_build_id(b->img, b->len, id);
		link.name = ehframe_debuglink(b->img, b->len, &link.crc);
		if (!idlen && !link.name)
			return;
		root = xasprintf("/proc/%d/root", pid);
		fd = debuginfo__open(root, m->path, id, idlen, &link);
		free(root);
		if (fd < 0)
			return;
		if (!fstat(fd, &st) && st.st_size > 0) {
			void *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

			if (p != MAP_FAILED) {
				b->dtab = ehtab__build(b->img, b->len, EHTAB_DEBUG_FRAME, p,
						       st.st_size);
				munmap(p, st.st_size);
			}
		}
		close(fd);
	}
	extend_span(b, b->dtab);
	(void)u;
}

/* bias of b as mapped by m: the vaddr of m's first byte is m->start - bias. */
static int bin_bias(const struct ubin *b, const struct map_entry *m, uint64_t *ret_bias)
{
	uint64_t page = 4096;

	for (size_t i = 0; i < b->nloads; i++) {
		const struct load *l = &b->loads[i];
		uint64_t first = l->off & ~(page - 1);

		if (m->offset >= first && m->offset < l->off + l->filesz) {
			*ret_bias = m->start - (l->vaddr - (l->off - m->offset));
			return 0;
		}
	}
	return -ENOENT;
}

/* Reads up to 8 bytes of b at vaddr; bytes past the file read as zero. */
static int bin_read(const struct ubin *b, uint64_t vaddr, uint64_t *ret)
{
	for (size_t i = 0; i < b->nloads; i++) {
		const struct load *l = &b->loads[i];
		uint64_t off, avail;

		if (vaddr < l->vaddr || vaddr >= l->vaddr + l->memsz)
			continue;
		*ret = 0;
		if (vaddr >= l->vaddr + l->filesz)
			return 0;	/* .bss */
		off = vaddr - l->vaddr + l->off;
		if (off >= b->len)
			return -EFAULT;
		avail = b->len - off;
		if (avail > l->vaddr + l->filesz - vaddr)
			avail = l->vaddr + l->filesz - vaddr;
		memcpy(ret, b->img + off, avail < 8 ? avail : 8);
		return 0;
	}
	return -EFAULT;
}

/* ---- accessors ---- */

/* Notes a binary met in this walk; returns its slot. */
static int remember(struct uctx *x, struct ubin *b, uint64_t bias)
{
	int i;

	for (i = 0; i < x->nrecent; i++)
		if (x->recent[i].b == b && x->recent[i].bias == bias)
			return i;
	i = x->next_recent;
	x->recent[i] = (struct placed){ b, bias };
	x->next_recent = (x->next_recent + 1) % RECENT_BINS;
	if (x->nrecent < RECENT_BINS)
		x->nrecent++;
	if (x->cur == i)
		x->cur = -1;
	return i;
}

static int placed_read(const struct placed *p, uint64_t addr, uint64_t *val)
{
	uint64_t vaddr = addr - p->bias;

	if (addr < p->b->lo + p->bias || addr >= p->b->hi + p->bias)
		return -EFAULT;
	if (p->b->tab && ehtab__contains(p->b->tab, vaddr))
		return ehtab__read(p->b->tab, vaddr, val);
	if (p->b->dtab && ehtab__contains(p->b->dtab, vaddr))
		return ehtab__read(p->b->dtab, vaddr, val);
	return bin_read(p->b, vaddr, val);
}

/* Reads a word of a binary of the process: the one whose unwind data is
 * being read first (a built table sits past its file, where the process
 * may map something else), then the others met in this walk, then any
 * mapping at addr (libunwind reads code to spot PLT stubs). */
static int read_binary(struct uctx *x, uint64_t addr, uint64_t *val)
{
	const struct map_entry *m;
	struct placed p;

	if (x->cur >= 0 && !placed_read(&x->recent[x->cur], addr, val))
		return 0;
	for (int i = 0; i < x->nrecent; i++)
		if (i != x->cur && !placed_read(&x->recent[i], addr, val))
			return 0;
	m = symbolizer__mapping(x->u->sym, x->s->pid, x->s->comm, addr);
	if (!m || !(p.b = bin_get(x->u, x->s->pid, m)) || bin_bias(p.b, m, &p.bias))
		return -EFAULT;
	remember(x, p.b, p.bias);
	return placed_read(&p, addr, val);
}

static int acc_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct uctx *x = arg;
	const struct unwind_sample *s = x->s;
	uint64_t sp = s->regs[GP_REG_SP];

	(void)as;
	if (write)
		return -UNW_EINVAL;
	if (addr >= sp && addr - sp < s->stack_len) {
		uint64_t left = s->stack_len - (addr - sp);

		*val = 0;
		memcpy(val, s->stack + (addr - sp), left < 8 ? left : 8);
		return 0;
	}
	if (!read_binary(x, addr, val))
		return 0;
	if (addr >= sp && addr - sp < STACK_SLACK)
		x->stack_overrun = true;
	return -UNW_EINVAL;
}

static int acc_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	struct uctx *x = arg;

	(void)as;
	if (write || reg < 0 || reg >= GP_NREGS)
		return -UNW_EBADREG;
	*val = x->s->regs[reg];
	return 0;
}

static int acc_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
		     void *arg)
{
	(void)as, (void)reg, (void)val, (void)write, (void)arg;
	return -UNW_EBADREG;
}

/* Looks ip up in one search table (vaddrs of the binary, placed at bias). */
static int search(unw_addr_space_t as, unw_word_t ip, const struct map_entry *m, uint64_t bias,
		  uint64_t segbase, uint64_t table, uint64_t count, unw_proc_info_t *pi,
		  int need_unwind_info, void *arg)
{
	unw_dyn_info_t di = { 0 };

	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = m->start;
	di.end_ip = m->end;
	di.u.rti.segbase = segbase + bias;
	di.u.rti.table_len = count * 8 / sizeof(unw_word_t);
	di.u.rti.table_data = table + bias;
	return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info, arg);
}

static int search_ehtab(unw_addr_space_t as, unw_word_t ip, const struct map_entry *m,
			uint64_t bias, const struct ehtab *t, unw_proc_info_t *pi,
			int need_unwind_info, void *arg)
{
	struct ehtab_info ti;

	ehtab__info(t, &ti);
	return search(as, ip, m, bias, ti.segbase, ti.table, ti.fde_count, pi, need_unwind_info,
		      arg);
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct uctx *x = arg;
	const struct map_entry *m;
	struct ubin *b;
	uint64_t bias;
	int r = -UNW_ENOINFO;

	m = symbolizer__mapping(x->u->sym, x->s->pid, x->s->comm, ip);
	if (!m || !(b = bin_get(x->u, x->s->pid, m)) || bin_bias(b, m, &bias)) {
		x->no_info = true;
		return -UNW_ENOINFO;
	}
	x->cur = remember(x, b, bias);
	if (b->fde_count)
		r = search(as, ip, m, bias, b->hdr_vaddr, b->table_vaddr, b->fde_count, pi,
			   need_unwind_info, arg);
	else if (b->tab)
		r = search_ehtab(as, ip, m, bias, b->tab, pi, need_unwind_info, arg);
	if (r == -UNW_ENOINFO) {
		if (!b->dtab_tried)
			load_debug_frame(x->u, b, x->s->pid, m);
		if (b->dtab)
			r = search_ehtab(as, ip, m, bias, b->dtab, pi, need_unwind_info, arg);
	}
	if (r == -UNW_ENOINFO)
		x->no_info = true;
	return r;
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	/* libunwind frees the CIE info it allocated for table lookups */
	(void)as, (void)pi, (void)arg;
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dil_addr, void *arg)
{
	(void)as, (void)dil_addr, (void)arg;
	return -UNW_ENOINFO;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as, (void)c, (void)arg;
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	(void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
	return -UNW_EINVAL;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = acc_mem,
	.access_reg = acc_reg,
	.access_fpreg = acc_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

/* ---- address spaces ---- */

static uint64_t maps_signature(const struct procmaps *m)
{
	uint64_t h = (uint64_t)(uintptr_t)m ^ (m->n * 0x9e3779b97f4a7c15ULL);

	for (size_t i = 0; i < m->n; i++)
		h = (h ^ m->e[i].start ^ (m->e[i].ino << 20)) * 0x100000001b3ULL;
	return h;
}

/* The libunwind space of pid; its caches are flushed when its maps change
 * (exec, dlopen, pid reuse). */
static unw_addr_space_t space_of(struct unwinder *u, int pid, uint64_t sig)
{
	struct uspace *sp = NULL, *lru = NULL;

	for (size_t i = 0; i < u->nspaces; i++) {
		if (u->spaces[i].pid == pid) {
			sp = &u->spaces[i];
			break;
		}
		if (!lru || u->spaces[i].last_use < lru->last_use)
			lru = &u->spaces[i];
	}
	if (!sp) {
		if (u->nspaces < u->o.max_spaces) {
			sp = &u->spaces[u->nspaces++];
			sp->as = unw_create_addr_space(&accessors, 0);
			if (!sp->as) {
				u->nspaces--;
				return NULL;
			}
			unw_set_caching_policy(sp->as, UNW_CACHE_GLOBAL);
		} else {
			sp = lru;
			unw_flush_cache(sp->as, 0, 0);
		}
		sp->pid = pid;
		sp->maps_sig = sig;
	} else if (sp->maps_sig != sig) {
		unw_flush_cache(sp->as, 0, 0);
		sp->maps_sig = sig;
	}
	sp->last_use = ++u->tick;
	return sp->as;
}

/* ---- public ---- */

struct unwinder *unwinder__new(struct symbolizer *sym, const struct unwind_opts *o)
{
	struct unwinder *u = xcalloc(1, sizeof(*u));

	u->sym = sym;
	if (o)
		u->o = *o;
	if (!u->o.max_spaces)
		u->o.max_spaces = 64;
	if (!u->o.max_binaries)
		u->o.max_binaries = 256;
	u->spaces = xcalloc(u->o.max_spaces, sizeof(*u->spaces));
	return u;
}

struct unwinder *unwinder__free(struct unwinder *u)
{
	if (!u)
		return NULL;
	for (size_t i = 0; i < u->nspaces; i++)
		unw_destroy_addr_space(u->spaces[i].as);
	for (size_t i = 0; i < BIN_BUCKETS; i++)
		while (u->buckets[i]) {
			struct ubin *b = u->buckets[i];

			u->buckets[i] = b->hnext;
			bin_free(u, b);
		}
	bin_free(u, u->vdso);
	free(u->spaces);
	free(u);
	return NULL;
}

int unwinder__unwind(struct unwinder *u, const struct unwind_sample *s, uint64_t *ret_ips,
		     int max, enum unwind_stop *ret_stop)
{
	struct uctx x = { .u = u, .s = s, .cur = -1 };
	enum unwind_stop stop = UNWIND_STOP_END;
	const struct procmaps *maps;
	unw_addr_space_t as;
	unw_cursor_t cur;
	uint64_t prev_sp = 0;
	int n = 0, r;

	u->st.samples++;
	maps = symbolizer__maps(u->sym, s->pid, s->comm);
	if (!maps || max <= 0) {
		stop = UNWIND_STOP_NO_INFO;
		goto out;
	}
	as = space_of(u, s->pid, maps_signature(maps));
	in_libunwind = true;
	if (!as || unw_init_remote(&cur, as, &x) < 0) {
		stop = UNWIND_STOP_ERROR;
		goto out;
	}
	for (;;) {
		unw_word_t ip, sp;

		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 || !ip)
			break;
		if (unw_get_reg(&cur, UNW_REG_SP, &sp) < 0)
			sp = 0;
		/* the stack grows down: a caller's frame is never below */
		if (n > 0 && sp < prev_sp) {
			stop = UNWIND_STOP_ERROR;
			break;
		}
		if (n > 0 && sp == prev_sp && ip == ret_ips[n - 1]) {
			stop = UNWIND_STOP_ERROR;
			break;
		}
		prev_sp = sp;
		ret_ips[n++] = ip;
		if (n >= max) {
			stop = UNWIND_STOP_DEPTH;
			break;
		}
		x.stack_overrun = x.no_info = false;
		r = unw_step(&cur);
		if (r > 0)
			continue;
		if (r < 0)
			stop = x.stack_overrun ? UNWIND_STOP_STACK
			       : x.no_info || r == -UNW_ENOINFO ? UNWIND_STOP_NO_INFO
			       : UNWIND_STOP_ERROR;
		break;
	}
out:
	in_libunwind = false;
	u->st.frames += n;
	u->st.stops[stop]++;
	if (ret_stop)
		*ret_stop = stop;
	return n;
}

void unwinder__sweep(struct unwinder *u)
{
	for (size_t i = 0; i < u->nspaces;) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/%d", u->spaces[i].pid);
		if (access(path, F_OK) == 0) {
			i++;
			continue;
		}
		unw_destroy_addr_space(u->spaces[i].as);
		u->spaces[i] = u->spaces[--u->nspaces];
	}
}

void unwinder__trim(struct unwinder *u)
{
	for (size_t i = 0; i < BIN_BUCKETS; i++)
		for (struct ubin *b = u->buckets[i]; b; b = b->hnext) {
			if (b->owned && b->touched)
				madvise((void *)b->img, b->len, MADV_DONTNEED);
			b->touched = false;
		}
}

void unwinder__stats(const struct unwinder *u, struct unwind_stats *ret)
{
	*ret = u->st;
	ret->spaces = u->nspaces;
	ret->binaries = u->nbins;
	ret->mapped_bytes = u->mapped;
}
