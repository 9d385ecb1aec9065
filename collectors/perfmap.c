// SPDX-License-Identifier: Apache-2.0
/*
 * perf map reader. When code is re-JITted at the same address the newest
 * line wins, so lines are added newest first (symtab keeps the first name
 * at an address).
 */
#include "perfmap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symtab.h"
#include "xalloc.h"

struct perfmap {
	struct symtab tab;
	off_t size;
	struct timespec mtime;
};

struct line {
	uint64_t start, size;
	char *name;
	size_t len;
};

struct perfmap *perfmap__parse(FILE *f)
{
	struct perfmap *m = xcalloc(1, sizeof(*m));
	struct line *lines = NULL;
	size_t n = 0, cap = 0, linecap = 0;
	char *buf = NULL;
	ssize_t len;

	while ((len = getline(&buf, &linecap, f)) > 0) {
		char *p = buf, *end;
		uint64_t start, size;

		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		start = strtoull(p, &end, 16);
		if (end == p || *end != ' ')
			continue;
		p = end + 1;
		size = strtoull(p, &end, 16);
		if (end == p || *end != ' ' || !end[1])
			continue;
		p = end + 1;
		xgrow((void **)&lines, &cap, n + 1, sizeof(*lines));
		lines[n].start = start;
		lines[n].size = size;
		lines[n].len = len - (p - buf);
		lines[n].name = xstrndup(p, lines[n].len);
		n++;
	}
	free(buf);
	while (n--) {
		symtab__add(&m->tab, lines[n].start, lines[n].size ? lines[n].size : 1,
			    lines[n].name, lines[n].len);
		free(lines[n].name);
	}
	free(lines);
	symtab__finish(&m->tab, 1);
	return m;
}

struct perfmap *perfmap__load(const char *path)
{
	struct perfmap *m;
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return NULL;
	}
	m = perfmap__parse(f);
	fclose(f);
	m->size = st.st_size;
	m->mtime = st.st_mtim;
	return m;
}

struct perfmap *perfmap__free(struct perfmap *m)
{
	if (m) {
		symtab__release(&m->tab);
		free(m);
	}
	return NULL;
}

const char *perfmap__lookup(const struct perfmap *m, uint64_t addr)
{
	long i = m ? symtab__find(&m->tab, addr) : -1;

	return i < 0 ? NULL : symtab__name(&m->tab, i);
}

int perfmap__changed(const struct perfmap *m, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return m != NULL;
	return !m || st.st_size != m->size || st.st_mtim.tv_sec != m->mtime.tv_sec ||
	       st.st_mtim.tv_nsec != m->mtime.tv_nsec;
}

size_t perfmap__bytes(const struct perfmap *m)
{
	return m ? sizeof(*m) + symtab__bytes(&m->tab) : 0;
}
