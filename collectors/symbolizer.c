// SPDX-License-Identifier: Apache-2.0
/*
 * Frame naming; see symbolizer.h. The vDSO is symbolized from our own
 * process's image, which the kernel maps identically into every 64-bit
 * process on the host.
 */
#include "symbolizer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsocache.h"
#include "kallsyms.h"
#include "perfmap.h"
#include "proctab.h"
#include "xalloc.h"

struct symbolizer {
	struct symbolizer_opts opts;
	struct proctab *procs;
	struct dsocache *dsos;
	struct kallsyms *kernel;
	uint64_t modules_sig;	/* size+mtime of /proc/modules at load */
	struct dso *vdso;
	bool vdso_tried;
	char *buf;
	size_t cap;
};

static const char *fmt(struct symbolizer *s, const char *f, ...)
	__attribute__((format(printf, 2, 3)));

static const char *fmt(struct symbolizer *s, const char *f, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, f);
		n = vsnprintf(s->buf, s->cap, f, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < s->cap)
			return s->buf;
		s->cap = n > 0 ? (size_t)n + 1 : s->cap * 2;
		s->buf = xrealloc(s->buf, s->cap);
	}
}

static uint64_t modules_signature(void)
{
	char *text = proc_read_file("/proc/modules", 1 << 20, NULL);
	uint64_t h = 1469598103934665603ULL;

	if (!text)
		return 0;
	for (const char *p = text; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	free(text);
	return h;
}

static void load_kernel(struct symbolizer *s)
{
	kallsyms__free(s->kernel);
	s->kernel = kallsyms__load(s->opts.kallsyms_path ? s->opts.kallsyms_path
							 : "/proc/kallsyms");
	s->modules_sig = modules_signature();
}

struct symbolizer *symbolizer__new(const struct symbolizer_opts *o)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));

	s->opts = *o;
	if (!s->opts.dso_cache_bytes)
		s->opts.dso_cache_bytes = 24 << 20;
	if (!s->opts.max_procs)
		s->opts.max_procs = 4096;
	s->procs = proctab__new(s->opts.max_procs);
	s->dsos = dsocache__new(s->opts.dso_cache_bytes);
	s->cap = 256;
	s->buf = xmalloc(s->cap);
	load_kernel(s);
	return s;
}

struct symbolizer *symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return NULL;
	proctab__free(s->procs);
	dsocache__free(s->dsos);
	kallsyms__free(s->kernel);
	dso__put(s->vdso);
	free(s->buf);
	free(s);
	return NULL;
}

void symbolizer__note_process(struct symbolizer *s, int pid)
{
	struct proc_entry *e = proctab__note(s->procs, pid);

	/* Open the process's binaries now, while /proc/PID/root and map_files
	 * still lead to them: a short-lived process is gone by drain time.
	 * Binaries already cached cost one hash lookup. */
	for (size_t i = 0; e && e->maps && i < e->maps->n; i++) {
		const struct map_entry *m = &e->maps->e[i];

		if (m->path[0] == '/' && strncmp(m->path, "/memfd:", 7))
			dsocache__get(s->dsos, pid, m);
	}
}

/* The vDSO image of this process, loaded through a memfd for libelf. */
static struct dso *vdso(struct symbolizer *s)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	int fd;

	if (s->vdso_tried)
		return s->vdso;
	s->vdso_tried = true;
	if (!base)
		return NULL;
	fd = memfd_create("vdso", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* The vDSO is at most a few pages; its ELF headers give the size. */
	const unsigned char *img = (const unsigned char *)base;
	size_t len = 8192;
	const uint64_t *shoff = (const uint64_t *)(img + 0x28);
	const uint16_t *shentsize = (const uint16_t *)(img + 0x3a);
	const uint16_t *shnum = (const uint16_t *)(img + 0x3c);

	if (img[4] == 2 /* ELFCLASS64 */)
		len = *shoff + (size_t)*shentsize * *shnum;
	if (len <= 65536 && write(fd, img, len) == (ssize_t)len)
		s->vdso = dso__load(fd, "[vdso]", "");
	close(fd);
	return s->vdso;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static const char *jit_frame(struct symbolizer *s, struct proc_entry *e, uint64_t ip)
{
	char path[96];
	const char *name;

	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", e->info->pid,
		 e->info->nspid);
	name = perfmap__lookup(e->perfmap, ip);
	if (!name && e->perfmap_gen != proctab__gen(s->procs)) {
		e->perfmap_gen = proctab__gen(s->procs);
		if (perfmap__changed(e->perfmap, path)) {
			struct perfmap *m = perfmap__load(path);

			if (m) {
				perfmap__free(e->perfmap);
				e->perfmap = m;
			}
		}
		name = perfmap__lookup(e->perfmap, ip);
	}
	return name ? fmt(s, "%s", name) : "[unknown]";
}

const char *symbolizer__user(struct symbolizer *s, int pid, const char *comm, uint64_t ip,
			     bool is_return)
{
	struct proc_entry *e = NULL;
	const struct procmaps *maps = proctab__maps(s->procs, pid, comm, &e);
	const struct map_entry *m;
	uint64_t addr = is_return && ip ? ip - 1 : ip, vaddr, off;
	const char *name;
	struct dso *d;

	if (!maps)
		return "[unknown]";
	m = procmaps__find(maps, addr);
	if (!m && maps == e->maps && !proctab__refresh_maps(s->procs, e))
		m = procmaps__find(maps = e->maps, addr);
	if (!m)
		return e && e->info ? jit_frame(s, e, addr) : "[unknown]";
	if (!m->path[0] || !strncmp(m->path, "[anon", 5) || !strncmp(m->path, "/memfd:", 7))
		return jit_frame(s, e, addr);
	if (!strcmp(m->path, "[vdso]"))
		d = vdso(s);
	else if (m->path[0] == '[')
		return fmt(s, "%s", m->path);
	else
		d = dsocache__get(s->dsos, pid, m);
	off = addr - m->start + m->offset;
	if (!d || dso__offset_to_vaddr(d, off, &vaddr))
		vaddr = off;
	name = d ? dso__lookup(d, vaddr, NULL) : NULL;
	if (!name)
		return fmt(s, "%s+0x%" PRIx64, basename_of(m->path), vaddr);
	if (s->opts.insert_dso_name)
		return fmt(s, "%s (%s)", name, m->path);
	return fmt(s, "%s", name);
}

const struct procmaps *symbolizer__maps(struct symbolizer *s, int pid, const char *comm)
{
	struct proc_entry *e = NULL;

	return proctab__maps(s->procs, pid, comm, &e);
}

const struct map_entry *symbolizer__mapping(struct symbolizer *s, int pid, const char *comm,
					    uint64_t addr)
{
	struct proc_entry *e = NULL;
	const struct procmaps *maps = proctab__maps(s->procs, pid, comm, &e);
	const struct map_entry *m;

	if (!maps)
		return NULL;
	m = procmaps__find(maps, addr);
	if (!m && maps == e->maps && !proctab__refresh_maps(s->procs, e))
		m = procmaps__find(e->maps, addr);
	return m;
}

const char *symbolizer__kernel(struct symbolizer *s, uint64_t ip, bool is_return)
{
	const char *name = kallsyms__lookup(s->kernel, is_return && ip ? ip - 1 : ip);

	return name ? fmt(s, "%s_[k]", name) : "[unknown]_[k]";
}

const struct procinfo *symbolizer__procinfo(struct symbolizer *s, int pid)
{
	struct proc_entry *e = proctab__find(s->procs, pid);

	return e ? e->info : NULL;
}

void symbolizer__next_gen(struct symbolizer *s)
{
	proctab__next_gen(s->procs);
}

void symbolizer__sweep(struct symbolizer *s)
{
	proctab__sweep(s->procs);
	if (modules_signature() != s->modules_sig)
		load_kernel(s);
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *ret)
{
	ret->procs = proctab__count(s->procs);
	ret->proc_bytes = proctab__bytes(s->procs);
	ret->dsos = dsocache__count(s->dsos);
	ret->dso_bytes = dsocache__bytes(s->dsos);
	ret->kernel_syms = kallsyms__count(s->kernel);
	ret->kernel_bytes = kallsyms__bytes(s->kernel);
}
