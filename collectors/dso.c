// SPDX-License-Identifier: Apache-2.0
/*
 * ELF symbols and load segments for the symbolizer, in a symtab (16 bytes
 * a symbol). Zero-sized symbols (hand-written assembly) extend to the next
 * symbol. Demangled names are made on first lookup and kept.
 */
#include "dso.h"

#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debuginfo.h"
#include "symtab.h"
#include "xalloc.h"

struct seg {
	uint64_t off, vaddr, filesz;
};

struct dso {
	int refs;
	struct symtab tab;
	char **demangled;	/* lazily allocated, one slot per symbol */
	size_t demangled_bytes;
	struct seg *segs;
	size_t nsegs;
	uint8_t build_id[DSO_BUILD_ID_MAX];
	size_t build_id_len;
	enum dso_symsrc symsrc;
};

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;

static void elf_init(void)
{
	elf_version(EV_CURRENT);
}

/* C++ (Itanium ABI, also Rust legacy) demangler from libstdc++. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *dso_demangle(const char *s)
{
	int status = 0;
	char *d;

	if (s[0] != '_' || s[1] != 'Z')
		return NULL;
	d = __cxa_demangle(s, NULL, NULL, &status);
	if (status) {
		free(d);
		return NULL;
	}
	return d;
}

static Elf *elf_open(int fd)
{
	Elf *e;

	pthread_once(&elf_once, elf_init);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return NULL;
	if (elf_kind(e) != ELF_K_ELF) {
		elf_end(e);
		return NULL;
	}
	return e;
}

static size_t read_build_id(Elf *e, uint8_t *buf)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		GElf_Nhdr nh;
		Elf_Data *data;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)data->d_buf + name_off, "GNU", 4) &&
			    nh.n_descsz > 0 && nh.n_descsz <= DSO_BUILD_ID_MAX) {
				memcpy(buf, (char *)data->d_buf + desc_off, nh.n_descsz);
				return nh.n_descsz;
			}
		}
	}
	return 0;
}

int elf_fd_build_id(int fd, uint8_t *buf)
{
	Elf *e = elf_open(fd);
	int n;

	if (!e)
		return -ENOEXEC;
	n = read_build_id(e, buf);
	elf_end(e);
	return n;
}

/* .gnu_debuglink: NUL-terminated name, padding to 4, then a CRC32. */
static char *read_debuglink(Elf *e, uint32_t *ret_crc)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(e, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *data;
		size_t len;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".gnu_debuglink"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || data->d_size < 8)
			return NULL;
		len = strnlen(data->d_buf, data->d_size);
		size_t crc_off = (len + 4) & ~(size_t)3;
		if (len == 0 || crc_off + 4 > data->d_size)
			return NULL;
		memcpy(ret_crc, (char *)data->d_buf + crc_off, 4);
		return xstrndup(data->d_buf, len);
	}
	return NULL;
}

static Elf_Scn *find_symtab(Elf *e, Elf64_Word type)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == type && sh.sh_size > 0)
			return scn;
	}
	return NULL;
}

/* Appends the function symbols of scn to d, global ones first: at an
 * address with several names (aliases), the first added is kept, and the
 * exported name (__libc_start_main) is the one users know, not a local
 * alias (__libc_start_main_alias_2). "@VERSION" suffixes are dropped.
 * Returns the number added. */
static size_t load_symbols(struct dso *d, Elf *e, Elf_Scn *scn)
{
	static const int order[] = { STB_GLOBAL, STB_WEAK, STB_LOCAL };
	GElf_Shdr sh;
	Elf_Data *data;
	size_t n, added = 0;

	if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return 0;
	data = elf_getdata(scn, NULL);
	if (!data)
		return 0;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < n; i++) {
			GElf_Sym s;
			const char *name;
			int bind;

			if (!gelf_getsym(data, i, &s))
				continue;
			if (GELF_ST_TYPE(s.st_info) != STT_FUNC &&
			    GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC)
				continue;
			if (s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			bind = GELF_ST_BIND(s.st_info);
			if (bind != order[pass] &&
			    !(pass == 2 && bind != STB_GLOBAL && bind != STB_WEAK))
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || !name[0])
				continue;
			symtab__add(&d->tab, s.st_value, s.st_size, name, strcspn(name, "@"));
			added++;
		}
	}
	return added;
}

static void read_segments(struct dso *d, Elf *e)
{
	size_t n, cap = 0;

	if (elf_getphdrnum(e, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		xgrow((void **)&d->segs, &cap, d->nsegs + 1, sizeof(*d->segs));
		d->segs[d->nsegs++] = (struct seg){ ph.p_offset, ph.p_vaddr, ph.p_filesz };
	}
}

struct dso *dso__load(int fd, const char *path, const char *root)
{
	struct dso *d;
	Elf_Scn *scn;
	Elf *e;

	e = elf_open(fd);
	if (!e) {
		errno = ENOEXEC;
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->refs = 1;
	d->build_id_len = read_build_id(e, d->build_id);
	read_segments(d, e);

	scn = find_symtab(e, SHT_SYMTAB);
	if (scn && load_symbols(d, e, scn)) {
		d->symsrc = DSO_SYMS_SYMTAB;
	} else {
		struct debuglink link = { NULL, 0 };
		int dfd;

		link.name = read_debuglink(e, &link.crc);
		dfd = debuginfo__open(root ? root : "", path ? path : "", d->build_id,
				      d->build_id_len, &link);
		free((char *)link.name);
		if (dfd >= 0) {
			Elf *de = elf_open(dfd);
			Elf_Scn *dscn = de ? find_symtab(de, SHT_SYMTAB) : NULL;

			if (dscn && load_symbols(d, de, dscn))
				d->symsrc = DSO_SYMS_DEBUGFILE;
			if (de)
				elf_end(de);
			close(dfd);
		}
		if (!d->symsrc) {
			scn = find_symtab(e, SHT_DYNSYM);
			if (scn && load_symbols(d, e, scn))
				d->symsrc = DSO_SYMS_DYNSYM;
		}
	}
	symtab__finish(&d->tab, 4096);
	elf_end(e);
	return d;
}

struct dso *dso__get(struct dso *d)
{
	if (d)
		__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

struct dso *dso__put(struct dso *d)
{
	if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL))
		return NULL;
	if (d->demangled) {
		for (size_t i = 0; i < d->tab.n; i++)
			free(d->demangled[i]);
		free(d->demangled);
	}
	symtab__release(&d->tab);
	free(d->segs);
	free(d);
	return NULL;
}

int dso__offset_to_vaddr(const struct dso *d, uint64_t off, uint64_t *ret_vaddr)
{
	for (size_t i = 0; i < d->nsegs; i++) {
		const struct seg *s = &d->segs[i];

		if (off >= s->off && off < s->off + s->filesz) {
			*ret_vaddr = off - s->off + s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

const char *dso__lookup(struct dso *d, uint64_t vaddr, uint64_t *ret_start)
{
	long i = symtab__find(&d->tab, vaddr);
	const char *name;
	char *dm;

	if (i < 0)
		return NULL;
	if (ret_start)
		*ret_start = d->tab.syms[i].addr;
	name = symtab__name(&d->tab, i);
	if (name[0] != '_' || name[1] != 'Z')
		return name;
	if (!d->demangled)
		d->demangled = xcalloc(d->tab.n, sizeof(*d->demangled));
	dm = d->demangled[i];
	if (!dm) {
		dm = dso_demangle(name);
		if (!dm)
			return name;
		d->demangled[i] = dm;
		d->demangled_bytes += strlen(dm) + 1;
	}
	return dm;
}

size_t dso__build_id(const struct dso *d, const uint8_t **ret_id)
{
	*ret_id = d->build_id;
	return d->build_id_len;
}

enum dso_symsrc dso__symsrc(const struct dso *d)
{
	return d->symsrc;
}

size_t dso__nsyms(const struct dso *d)
{
	return d->tab.n;
}

size_t dso__size(const struct dso *d)
{
	return sizeof(*d) + symtab__bytes(&d->tab) +
	       (d->demangled ? d->tab.n * sizeof(char *) : 0) + d->demangled_bytes +
	       d->nsegs * sizeof(struct seg);
}
