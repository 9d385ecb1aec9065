// SPDX-License-Identifier: Apache-2.0
/*
 * Locating CPython in a process; see pyruntime.h. libpython is preferred
 * to the executable (an executable that loads libpython exports no
 * _PyRuntime of its own). Symbols come from .dynsym, then .symtab, then
 * the ".PyRuntime" section that 3.11+ builds carry. The version is
 * Py_Version (3.11+), else the Py_GetVersion() text in the library's
 * data, else the major.minor in the file name.
 */
#include "pyruntime.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procinfo.h"
#include "pymem.h"
#include "xalloc.h"

#define MAX_LOADS 16
#define ELF_CACHE_CAP 32
#define BSS_SCAN_MAX (8u << 20)

/* What one ELF file says, independent of where it is loaded. */
struct pyelf {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	uint64_t use;		/* LRU clock */
	uint64_t sym_runtime, sym_version, sym_code_type, sym_unicode_type;
	struct {
		uint64_t offset, vaddr, filesz;
	} loads[MAX_LOADS];
	unsigned int nloads;
	/* the version found in a process's data once (pre-3.11 builds have
	 * no Py_Version); a property of the file, so kept with it */
	char version[PYVERSION_LEN];
};

static struct {
	pthread_mutex_t lock;
	struct pyelf e[ELF_CACHE_CAP];
	unsigned int n;
	uint64_t clock;
} elf_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;

static void elf_init(void)
{
	elf_version(EV_CURRENT);
}

struct pymap {
	uint64_t start, end, offset;
	char perms[5];
	const char *path;	/* into the maps text */
};

/* Parses one /proc/PID/maps line in place (the path is NUL-terminated). */
static int parse_map_line(char *line, struct pymap *m)
{
	char *p = line, *e;
	unsigned long long v;

	errno = 0;
	v = strtoull(p, &e, 16);
	if (e == p || *e != '-' || errno)
		return -EINVAL;
	m->start = v;
	p = e + 1;
	v = strtoull(p, &e, 16);
	if (e == p || *e != ' ' || errno)
		return -EINVAL;
	m->end = v;
	p = e + 1;
	if (strlen(p) < 5)
		return -EINVAL;
	memcpy(m->perms, p, 4);
	m->perms[4] = '\0';
	p += 4;
	v = strtoull(p, &e, 16);
	if (e == p || errno)
		return -EINVAL;
	m->offset = v;
	p = e;
	/* dev and inode, then spaces, then the path (may hold spaces) */
	for (int field = 0; field < 2; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	while (*p == ' ')
		p++;
	m->path = p;
	return 0;
}

static bool basename_is_libpython(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strncmp(b, "libpython", 9) && strstr(b, ".so");
}

/* major.minor from "python3.11", "libpython3.9d.so.1.0"... */
static int version_from_name(const char *path, unsigned int *ret_major, unsigned int *ret_minor)
{
	const char *b = strrchr(path, '/');
	const char *p;

	b = b ? b + 1 : path;
	p = strstr(b, "python");
	if (!p)
		return -ENOENT;
	p += 6;
	if (!isdigit((unsigned char)p[0]) || p[1] != '.' || !isdigit((unsigned char)p[2]))
		return -ENOENT;
	char *e;
	unsigned long minor = strtoul(p + 2, &e, 10);

	if (minor > 99)
		return -ENOENT;
	*ret_major = p[0] - '0';
	*ret_minor = minor;
	return 0;
}

static uint64_t find_sym(Elf *e, Elf_Scn *scn, const char *name)
{
	GElf_Shdr sh;
	Elf_Data *data;
	size_t n;

	if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return 0;
	data = elf_getdata(scn, NULL);
	if (!data)
		return 0;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *s;

		if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		s = elf_strptr(e, sh.sh_link, sym.st_name);
		if (s && !strcmp(s, name))
			return sym.st_value;
	}
	return 0;
}

static int elf_analyze(int fd, struct pyelf *pe)
{
	static const char *const names[] = { "_PyRuntime", "Py_Version", "PyCode_Type",
					     "PyUnicode_Type" };
	uint64_t *slots[] = { &pe->sym_runtime, &pe->sym_version, &pe->sym_code_type,
			      &pe->sym_unicode_type };
	Elf_Scn *scn = NULL, *dynsym = NULL, *symtab = NULL;
	size_t phnum, shstrndx;
	Elf *e;
	int r = 0;

	pthread_once(&elf_once, elf_init);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -ENOEXEC;
	if (elf_kind(e) != ELF_K_ELF || gelf_getclass(e) != ELFCLASS64 || elf_getphdrnum(e, &phnum)) {
		r = -ENOEXEC;
		goto out;
	}
	for (size_t i = 0; i < phnum && pe->nloads < MAX_LOADS; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		pe->loads[pe->nloads].offset = ph.p_offset;
		pe->loads[pe->nloads].vaddr = ph.p_vaddr;
		pe->loads[pe->nloads].filesz = ph.p_filesz;
		pe->nloads++;
	}
	if (elf_getshdrstrndx(e, &shstrndx))
		shstrndx = 0;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
		else if (sh.sh_type == SHT_SYMTAB)
			symtab = scn;
		name = shstrndx ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
		if (name && !strcmp(name, ".PyRuntime") && !pe->sym_runtime)
			pe->sym_runtime = sh.sh_addr;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t v = dynsym ? find_sym(e, dynsym, names[i]) : 0;

		if (!v && symtab)
			v = find_sym(e, symtab, names[i]);
		if (v)
			*slots[i] = v;
	}
out:
	elf_end(e);
	return r;
}

/* The cached analysis of the file open at fd, or a fresh one. */
static int elf_get(int fd, struct pyelf *ret)
{
	struct stat st;
	struct pyelf pe = { 0 };
	unsigned int slot;
	int r;

	if (fstat(fd, &st))
		return -errno;
	pe.dev = st.st_dev;
	pe.ino = st.st_ino;
	pe.size = st.st_size;
	pe.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	pthread_mutex_lock(&elf_cache.lock);
	for (unsigned int i = 0; i < elf_cache.n; i++) {
		struct pyelf *c = &elf_cache.e[i];

		if (c->dev == pe.dev && c->ino == pe.ino && c->size == pe.size &&
		    c->mtime_ns == pe.mtime_ns) {
			c->use = ++elf_cache.clock;
			*ret = *c;
			pthread_mutex_unlock(&elf_cache.lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&elf_cache.lock);

	r = elf_analyze(fd, &pe);
	if (r)
		return r;

	pthread_mutex_lock(&elf_cache.lock);
	if (elf_cache.n < ELF_CACHE_CAP) {
		slot = elf_cache.n++;
	} else {
		slot = 0;
		for (unsigned int i = 1; i < ELF_CACHE_CAP; i++)
			if (elf_cache.e[i].use < elf_cache.e[slot].use)
				slot = i;
	}
	pe.use = ++elf_cache.clock;
	elf_cache.e[slot] = pe;
	pthread_mutex_unlock(&elf_cache.lock);
	*ret = pe;
	return 0;
}

/* Remembers the version found for the file pe describes. */
static void elf_set_version(const struct pyelf *pe, const char *version)
{
	pthread_mutex_lock(&elf_cache.lock);
	for (unsigned int i = 0; i < elf_cache.n; i++) {
		struct pyelf *c = &elf_cache.e[i];

		if (c->dev == pe->dev && c->ino == pe->ino && c->size == pe->size &&
		    c->mtime_ns == pe->mtime_ns)
			snprintf(c->version, sizeof(c->version), "%s", version);
	}
	pthread_mutex_unlock(&elf_cache.lock);
}

/* Opens the mapped file as the target sees it. */
static int open_mapped(int pid, const struct pymap *m)
{
	char *path;
	int fd;

	path = xasprintf("/proc/%d/map_files/%llx-%llx", pid, (unsigned long long)m->start,
			 (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd >= 0 || m->path[0] != '/')
		return fd >= 0 ? fd : -ENOENT;
	path = xasprintf("/proc/%d/root%s", pid, m->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	return fd >= 0 ? fd : -errno;
}

/* Load bias of a file whose page at file offset m->offset is at m->start. */
static int load_bias(const struct pyelf *pe, const struct pymap *m, uint64_t *ret)
{
	for (unsigned int i = 0; i < pe->nloads; i++) {
		uint64_t seg_page = pe->loads[i].offset & ~(uint64_t)4095;

		if (m->offset >= seg_page && m->offset < pe->loads[i].offset + pe->loads[i].filesz + 4096) {
			uint64_t vaddr = pe->loads[i].vaddr - (pe->loads[i].offset - m->offset);

			*ret = m->start - vaddr;
			return 0;
		}
	}
	return -ENOEXEC;
}

void pyversion_format(uint32_t hex, char *buf)
{
	unsigned int level = (hex >> 4) & 0xf, serial = hex & 0xf;
	const char *lv = level == 0xa ? "a" : level == 0xb ? "b" : level == 0xc ? "rc" : "";

	if (level == 0xf || !*lv)
		snprintf(buf, PYVERSION_LEN, "%u.%u.%u", hex >> 24, (hex >> 16) & 0xff,
			 (hex >> 8) & 0xff);
	else
		snprintf(buf, PYVERSION_LEN, "%u.%u.%u%s%u", hex >> 24, (hex >> 16) & 0xff,
			 (hex >> 8) & 0xff, lv, serial);
}

/* Parses "<digits>" at *p; -1 when none or too many. */
static int scan_num(const char **p, const char *end)
{
	int v = 0, n = 0;

	while (*p < end && isdigit((unsigned char)**p) && n < 3) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n && !(*p < end && isdigit((unsigned char)**p)) ? v : -1;
}

int pyversion_scan(const char *text, size_t len, int major, int minor, char *buf)
{
	const char *end = text + len;

	for (const char *s = text; s + 8 < end; s++) {
		const char *p = s;
		int ma, mi, mc;

		/* the version starts the buffer: a NUL (or the start) before it */
		if (s > text && s[-1] != '\0')
			continue;
		if ((ma = scan_num(&p, end)) < 0 || p >= end || *p++ != '.')
			continue;
		if ((mi = scan_num(&p, end)) < 0 || p >= end || *p++ != '.')
			continue;
		if ((mc = scan_num(&p, end)) < 0)
			continue;
		if (minor >= 0 && (ma != major || mi != minor))
			continue;
		if (ma < 2 || ma > 3)
			continue;
		/* optional release level and serial, optional '+' */
		while (p < end && p - s < PYVERSION_LEN - 1 && (isalnum((unsigned char)*p) || *p == '+'))
			p++;
		if (p + 2 > end || p[0] != ' ' || p[1] != '(')
			continue;
		memcpy(buf, s, p - s);
		buf[p - s] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* Scans the writable mappings of the file (and the .bss right after) for
 * the text Py_GetVersion() formatted at start-up. */
static int version_from_data(int pid, struct pymap *maps, size_t nmaps, const char *path,
			     int major, int minor, char *buf)
{
	size_t budget = BSS_SCAN_MAX;
	char *chunk = xmalloc(65536 + 64);
	int r = -ENOENT;

	for (size_t i = 0; i < nmaps && r && budget; i++) {
		bool ours = !strcmp(maps[i].path, path);
		bool bss = !maps[i].path[0] && i > 0 && !strcmp(maps[i - 1].path, path) &&
			   maps[i - 1].end == maps[i].start;

		if ((!ours && !bss) || maps[i].perms[0] != 'r' || maps[i].perms[1] != 'w')
			continue;
		for (uint64_t a = maps[i].start; a < maps[i].end && r && budget;) {
			size_t n = maps[i].end - a > 65536 ? 65536 : maps[i].end - a;

			if (n > budget)
				n = budget;
			if (pymem_read_direct(pid, a, chunk, n))
				break;
			r = pyversion_scan(chunk, n, major, minor, buf);
			budget -= n;
			/* overlap so a string across chunks is seen once whole */
			a += n > 64 && a + n < maps[i].end ? n - 64 : n;
		}
	}
	free(chunk);
	return r;
}

int pyruntime__find(int pid, struct pyruntime *ret)
{
	char path[64], *text, *exe = NULL;
	struct pymap *maps = NULL;
	size_t nmaps = 0, cap = 0, len;
	struct pyruntime rt = { 0 };
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	text = proc_read_file(path, 64u << 20, &len);
	if (!text)
		return errno == ENOENT ? -ESRCH : -errno;
	for (char *line = text, *nl; *line; line = nl ? nl + 1 : line + strlen(line)) {
		struct pymap m;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (parse_map_line(line, &m))
			continue;
		xgrow((void **)&maps, &cap, nmaps + 1, sizeof(*maps));
		maps[nmaps++] = m;
		if (!nl)
			break;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	exe = xmalloc(PATH_MAX);
	ssize_t n = readlink(path, exe, PATH_MAX - 1);
	exe[n > 0 ? n : 0] = '\0';

	/* Two passes: libpython first, then the executable. */
	for (int pass = 0; pass < 2 && r == -ENOENT; pass++) {
		for (size_t i = 0; i < nmaps; i++) {
			struct pyelf pe = { 0 };
			uint64_t bias;
			int fd;

			if (maps[i].path[0] != '/')
				continue;
			if (pass == 0 ? !basename_is_libpython(maps[i].path) : strcmp(maps[i].path, exe))
				continue;
			/* only the lowest mapping of each file */
			if (i > 0 && !strcmp(maps[i - 1].path, maps[i].path))
				continue;
			fd = open_mapped(pid, &maps[i]);
			if (fd < 0)
				continue;
			int er = elf_get(fd, &pe);

			close(fd);
			if (er || !pe.sym_runtime || load_bias(&pe, &maps[i], &bias))
				continue;
			rt.runtime = bias + pe.sym_runtime;
			rt.code_type = pe.sym_code_type ? bias + pe.sym_code_type : 0;
			rt.unicode_type = pe.sym_unicode_type ? bias + pe.sym_unicode_type : 0;
			rt.shared = pass == 0;
			if (pe.sym_version) {
				uint32_t hex;
				int vr = pymem_read_direct(pid, bias + pe.sym_version, &hex, sizeof(hex));

				if (vr == -ESRCH) {
					r = vr;
					break;
				}
				if (!vr && (hex >> 24) == 3) {
					rt.major = 3;
					rt.minor = (hex >> 16) & 0xff;
					pyversion_format(hex, rt.version);
				}
			}
			if (!rt.major && pe.version[0]) {
				/* found in an earlier process of this file */
				memcpy(rt.version, pe.version, sizeof(rt.version));
				if (sscanf(rt.version, "%u.%u", &rt.major, &rt.minor) != 2)
					rt.major = 0;
			}
			if (!rt.major && version_from_name(maps[i].path, &rt.major, &rt.minor) &&
			    version_from_name(exe, &rt.major, &rt.minor)) {
				/* no version in the name: take it from the data */
				if (!version_from_data(pid, maps, nmaps, maps[i].path, 0, -1, rt.version) &&
				    sscanf(rt.version, "%u.%u", &rt.major, &rt.minor) != 2)
					rt.major = 0;
				if (rt.major)
					elf_set_version(&pe, rt.version);
			}
			if (rt.major && !rt.version[0] &&
			    !version_from_data(pid, maps, nmaps, maps[i].path, (int)rt.major,
					       (int)rt.minor, rt.version))
				elf_set_version(&pe, rt.version);
			r = rt.major ? 0 : -ENOENT;
			break;
		}
	}
	if (!r)
		*ret = rt;
	free(exe);
	free(maps);
	free(text);
	return r;
}
