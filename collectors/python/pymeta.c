// SPDX-License-Identifier: Apache-2.0
/*
 * Python application metadata; see pymeta.h. Each field fails alone, as in
 * gProfiler: exe/execfn/arch become "error: <what>" and the ELF ids null.
 * Files are read through /proc/PID/exe and /proc/PID/root so processes in
 * other mount namespaces are described by their own files.
 */
#include "pymeta.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dso.h"
#include "pyappid.h"
#include "pymem.h"
#include "pyruntime.h"
#include "xalloc.h"

static char *hex(const uint8_t *b, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);
	char *s = xmalloc(pl + 2 * n + 1);

	memcpy(s, prefix, pl);
	for (size_t i = 0; i < n; i++)
		snprintf(s + pl + 2 * i, 3, "%02x", b[i]);
	s[pl + 2 * n] = '\0';
	return s;
}

static char *sha1_of_fd(int fd)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *r = NULL;
	ssize_t n;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL))
		goto out;
	if (lseek(fd, 0, SEEK_SET))
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (!EVP_DigestUpdate(ctx, buf, n))
			goto out;
	if (n < 0 || !EVP_DigestFinal_ex(ctx, md, &mdlen))
		goto out;
	r = hex(md, mdlen, "sha1:");
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

char *elf_id_of(const char *path)
{
	uint8_t id[DSO_BUILD_ID_MAX];
	int fd, n, e;
	char *r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = elf_fd_build_id(fd, id);
	if (n > 0)
		r = hex(id, n, "buildid:");
	else if (n == 0)
		r = sha1_of_fd(fd);
	else
		r = NULL;
	e = n < 0 ? -n : EIO;
	close(fd);
	if (!r)
		errno = e;
	return r;
}

char *proc_execfn(int pid)
{
	char path[64], *auxv, *s = NULL;
	uint64_t addr = 0;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	auxv = proc_read_file(path, 1 << 16, &len);
	if (!auxv)
		return NULL;
	for (size_t i = 0; i + 16 <= len; i += 16) {
		uint64_t type, val;

		memcpy(&type, auxv + i, 8);
		memcpy(&val, auxv + i + 8, 8);
		if (type == AT_EXECFN) {
			addr = val;
			break;
		}
		if (type == AT_NULL)
			break;
	}
	free(auxv);
	if (!addr) {
		errno = ENOENT;
		return NULL;
	}
	/* the string is near the top of the stack: read page by page */
	size_t cap = 4096 * 2, got = 0;

	s = xmalloc(cap + 1);
	while (got < cap) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		int r;

		if (got + chunk > cap)
			chunk = cap - got;
		r = pymem_read_direct(pid, addr + got, s + got, chunk);
		if (r) {
			if (!got) {
				free(s);
				errno = -r;
				return NULL;
			}
			break;
		}
		if (memchr(s + got, '\0', chunk)) {
			got += chunk;
			break;
		}
		got += chunk;
	}
	s[got] = '\0';
	return xrealloc(s, strlen(s) + 1);
}

const char *elf_machine_arch(unsigned int e_machine)
{
	switch (e_machine) {
	case EM_X86_64:
		return "x86_64";
	case EM_AARCH64:
		return "aarch64";
	default:
		return NULL;
	}
}

static json_t *arch_of(int pid)
{
	char path[64];
	Elf64_Ehdr eh;
	const char *a;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return json_string("error: FileNotFoundError");
	n = pread(fd, &eh, sizeof(eh), 0);
	close(fd);
	/* e_machine sits at the same offset in 32- and 64-bit headers */
	if (n < (ssize_t)offsetof(Elf64_Ehdr, e_version) || memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return json_string("error: ELFError");
	a = elf_machine_arch(eh.e_machine);
	return json_string(a ? a : "error: KeyError");
}

/* A JSON string; paths need not be UTF-8, which JSON strings must be. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);

	return j ? j : json_string("error: UnicodeDecodeError");
}

static json_t *string_or_null(char *s)
{
	json_t *j = s ? jstr(s) : json_null();

	free(s);
	return j;
}

/* The first mapped file whose path holds "/libpython", as the process
 * sees it. Caller frees. */
static char *libpython_path(int pid)
{
	char path[64], *maps, *r = NULL;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = proc_read_file(path, 64u << 20, NULL);
	if (!maps)
		return NULL;
	for (char *line = maps; *line && !r;) {
		char *nl = strchrnul(line, '\n'), *slash;

		slash = memchr(line, '/', nl - line);
		if (slash && memmem(slash, nl - slash, "/libpython", 10))
			r = xstrndup(slash, nl - slash);
		line = *nl ? nl + 1 : nl;
	}
	free(maps);
	return r;
}

json_t *python_app_metadata(const struct procinfo *pi)
{
	json_t *md = json_object();
	struct pyruntime rt;
	char path[64], *lib, *exe, *execfn;
	const char *argv0 = pi->argc > 0 ? pi->argv[0] : "";
	const char *exe_base = strrchr(pi->exe, '/') ? strrchr(pi->exe, '/') + 1 : pi->exe;
	const char *arg_base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	bool is_python = python_is_bin(pi->exe) || python_is_bin(argv0);
	bool is_uwsgi = !strcmp(exe_base, "uwsgi") || !strcmp(arg_base, "uwsgi");
	char *version = NULL;

	if (proc_start_time(pi->pid, &(uint64_t){ 0 })) {
		json_decref(md);
		return NULL;
	}
	if ((is_python || is_uwsgi) && !pyruntime__find(pi->pid, &rt) && rt.version[0])
		version = xasprintf("Python %s", rt.version);
	json_object_set_new(md, "python_version", string_or_null(version));

	snprintf(path, sizeof(path), "/proc/%d/exe", pi->pid);
	json_object_set_new(md, "exe_elfid", string_or_null(elf_id_of(path)));
	lib = libpython_path(pi->pid);
	if (lib) {
		char *p = xasprintf("/proc/%d/root%s", pi->pid, lib);

		json_object_set_new(md, "libpython_elfid", string_or_null(elf_id_of(p)));
		free(p);
		free(lib);
	} else {
		json_object_set_new(md, "libpython_elfid", json_null());
	}
	json_object_set_new(md, "sys_maxunicode", json_null());

	exe = xstrdup(pi->exe);
	if (strlen(exe) > 10 && !strcmp(exe + strlen(exe) - 10, " (deleted)"))
		exe[strlen(exe) - 10] = '\0';
	json_object_set_new(md, "exe", jstr(exe[0] ? exe : "error: MissingExePath"));
	free(exe);
	execfn = proc_execfn(pi->pid);
	json_object_set_new(md, "execfn", jstr(execfn ? execfn : "error: ValueError"));
	free(execfn);
	json_object_set_new(md, "arch", arch_of(pi->pid));
	return md;
}
