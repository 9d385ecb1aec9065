// SPDX-License-Identifier: Apache-2.0
/*
 * /proc/PID/maps parser. Only executable mappings are kept: they are the
 * only ones a sampled instruction pointer can fall in, and JVMs and
 * browsers have thousands of data mappings we would otherwise copy.
 */
#include "procmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "xalloc.h"

static int cmp_entry(const void *a, const void *b)
{
	const struct map_entry *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

struct procmaps *procmaps__parse(FILE *f)
{
	struct procmaps *m = xcalloc(1, sizeof(*m));
	size_t cap = 0, linecap = 0;
	char *line = NULL;
	ssize_t len;

	while ((len = getline(&line, &linecap, f)) > 0) {
		uint64_t start, end, off, ino;
		unsigned int maj, min;
		char perms[5];
		int pos = 0;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &start, &end, perms, &off, &maj, &min, &ino, &pos) < 7)
			continue;
		if (perms[2] != 'x')
			continue;
		xgrow((void **)&m->e, &cap, m->n + 1, sizeof(*m->e));
		struct map_entry *e = &m->e[m->n++];
		const char *path = pos ? line + pos : "";
		size_t plen = strlen(path);
		static const char del[] = " (deleted)";

		e->start = start;
		e->end = end;
		e->offset = off;
		e->dev = makedev(maj, min);
		e->ino = ino;
		e->deleted = plen >= sizeof(del) - 1 && !strcmp(path + plen - (sizeof(del) - 1), del);
		if (e->deleted)
			plen -= sizeof(del) - 1;
		e->path = xstrndup(path, plen);
	}
	free(line);
	qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
	return m;
}

struct procmaps *procmaps__read(int pid)
{
	char path[64];
	struct procmaps *m;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return NULL;
	}
	m = procmaps__parse(f);
	fclose(f);
	if (!m->n) {
		/* A process that exited between open and read shows no maps. */
		procmaps__free(m);
		errno = ENOENT;
		return NULL;
	}
	return m;
}

struct procmaps *procmaps__free(struct procmaps *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].path);
	free(m->e);
	free(m);
	return NULL;
}

const struct map_entry *procmaps__find(const struct procmaps *m, uint64_t addr)
{
	size_t lo = 0, hi = m ? m->n : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < m->e[mid].start)
			hi = mid;
		else if (addr >= m->e[mid].end)
			lo = mid + 1;
		else
			return &m->e[mid];
	}
	return NULL;
}

size_t procmaps__size(const struct procmaps *m)
{
	size_t s = sizeof(*m) + m->n * sizeof(*m->e);

	for (size_t i = 0; i < m->n; i++)
		s += strlen(m->e[i].path) + 1;
	return s;
}
