/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One ELF file's symbols and load segments, read with libelf. Symbols come
 * from .symtab, else from a separate debug file found by build-id or
 * .gnu_debuglink (debuginfo.c), else from .dynsym. C++ and Rust names are
 * demangled lazily, on first lookup, so big C++ libraries cost nothing for
 * symbols never sampled.
 */
#ifndef GP_DSO_H
#define GP_DSO_H

#include <stddef.h>
#include <stdint.h>

#define DSO_BUILD_ID_MAX 64

struct dso;

/* Where symbols came from, for logs and tests. */
enum dso_symsrc {
	DSO_SYMS_NONE = 0,
	DSO_SYMS_SYMTAB,
	DSO_SYMS_DEBUGFILE,
	DSO_SYMS_DYNSYM,
};

/*
 * Loads the ELF open at fd (the fd is not kept). path is the file as the
 * target process names it and root the prefix under which the target's
 * files are seen ("/proc/PID/root", or "" for the host); both are used only
 * to look for separate debug files. Caller frees with dso__put().
 * Returns NULL and sets errno (ENOEXEC: not an ELF file).
 */
struct dso *dso__load(int fd, const char *path, const char *root);
struct dso *dso__get(struct dso *d);
/* Drops a reference; frees on the last. Accepts NULL, returns NULL. */
struct dso *dso__put(struct dso *d);

/*
 * Translates a file offset (as in /proc/PID/maps) to the ELF virtual
 * address used by symbols and by addr2line. Returns 0 or -ENOENT when the
 * offset is in no loadable segment.
 */
int dso__offset_to_vaddr(const struct dso *d, uint64_t off, uint64_t *ret_vaddr);
/* Name of the function holding vaddr, demangled; NULL when none. Borrowed
 * until the dso is freed. Sets *ret_start to the symbol's address. */
const char *dso__lookup(struct dso *d, uint64_t vaddr, uint64_t *ret_start);

/* Build-id bytes (borrowed) and their count; 0 when the file has none. */
size_t dso__build_id(const struct dso *d, const uint8_t **ret_id);
enum dso_symsrc dso__symsrc(const struct dso *d);
size_t dso__nsyms(const struct dso *d);
/* Approximate heap bytes held, for the cache budget. */
size_t dso__size(const struct dso *d);

/* Reads only the build-id of the ELF open at fd into buf (>= DSO_BUILD_ID_MAX
 * bytes). Returns its length, 0 when absent, or -errno. */
int elf_fd_build_id(int fd, uint8_t *buf);

/* Demangles a C++/Rust symbol; caller frees. NULL when s is not mangled. */
char *dso_demangle(const char *s);

#endif
