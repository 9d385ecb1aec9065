// SPDX-License-Identifier: Apache-2.0
/*
 * Separate debug file search (gdb's order, see debuginfo.h). Candidates are
 * verified before use: a stale debug file with other addresses would give
 * confidently wrong names, which is worse than none.
 */
#include "debuginfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dso.h"
#include "xalloc.h"

static int try_path(int (*fn)(const char *, void *), void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int try_path(int (*fn)(const char *, void *), void *arg, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		return 0;
	r = fn(p, arg);
	free(p);
	return r;
}

void debuginfo__for_each_candidate(const char *root, const char *path,
				   const uint8_t *build_id, size_t build_id_len,
				   const char *name, int (*fn)(const char *, void *), void *arg)
{
	if (build_id_len >= 2) {
		char hex[2 * DSO_BUILD_ID_MAX + 1];

		for (size_t i = 0; i < build_id_len && i < DSO_BUILD_ID_MAX; i++)
			snprintf(hex + 2 * i, 3, "%02x", build_id[i]);
		if (try_path(fn, arg, "%s/usr/lib/debug/.build-id/%.2s/%s.debug", root, hex, hex + 2))
			return;
		if (root[0] && try_path(fn, arg, "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2))
			return;
	}
	if (!name || !name[0] || strchr(name, '/'))
		return;
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 0;

	if (strcmp(slash ? slash + 1 : path, name) &&
	    try_path(fn, arg, "%s%.*s/%s", root, dirlen, path, name))
		return;
	if (try_path(fn, arg, "%s%.*s/.debug/%s", root, dirlen, path, name))
		return;
	try_path(fn, arg, "%s/usr/lib/debug%.*s/%s", root, dirlen, path, name);
}

static uint32_t file_crc32(int fd)
{
	unsigned char buf[65536];
	uLong crc = crc32(0L, Z_NULL, 0);
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, n);
	return (uint32_t)crc;
}

struct search {
	const uint8_t *build_id;
	size_t build_id_len;
	const struct debuglink *link;
	int fd;
};

static int check_candidate(const char *cand, void *arg)
{
	struct search *s = arg;
	uint8_t id[DSO_BUILD_ID_MAX];
	struct stat st;
	int fd, n;

	fd = open(cand, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		goto reject;
	n = elf_fd_build_id(fd, id);
	if (s->build_id_len) {
		if (n != (int)s->build_id_len || memcmp(id, s->build_id, n))
			goto reject;
	} else if (!s->link || !s->link->name || file_crc32(fd) != s->link->crc) {
		goto reject;
	}
	s->fd = fd;
	return 1;
reject:
	close(fd);
	return 0;
}

int debuginfo__open(const char *root, const char *path, const uint8_t *build_id,
		    size_t build_id_len, const struct debuglink *link)
{
	struct search s = { build_id, build_id_len, link, -ENOENT };

	debuginfo__for_each_candidate(root, path, build_id, build_id_len,
				      link ? link->name : NULL, check_candidate, &s);
	return s.fd;
}
