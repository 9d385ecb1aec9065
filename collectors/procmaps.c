// SPDX-License-Identifier: Apache-2.0
/*
 * /proc/PID/maps parser. Only executable mappings are kept: they are the
 * only ones a sampled instruction pointer can fall in, and JVMs and
 * browsers have thousands of data mappings we would otherwise copy.
 */
#include "procmaps.h"

#include <errno.h>
#include <stdbool.h>
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

/* Parses a hex number at *p; advances *p. */
static uint64_t hex(const char **p)
{
	uint64_t v = 0;

	for (;; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (uint64_t)(c - 'A' + 10);
		else
			return v;
	}
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* One line: "start-end perms offset major:minor inode   path". A
 * hand-written parser: sscanf dominated the daemon's profile on hosts that
 * start many processes. */
static bool parse_line(const char *line, struct map_entry *e)
{
	const char *p = line, *perms, *path;
	unsigned long long maj, min;
	uint64_t ino = 0;
	size_t plen;
	static const char del[] = " (deleted)";

	e->start = hex(&p);
	if (!expect(&p, '-'))
		return false;
	e->end = hex(&p);
	if (!expect(&p, ' '))
		return false;
	perms = p;
	p += strnlen(p, 4);
	if (p - perms != 4 || perms[2] != 'x' || !expect(&p, ' '))
		return false;
	e->offset = hex(&p);
	if (!expect(&p, ' '))
		return false;
	maj = hex(&p);
	if (!expect(&p, ':'))
		return false;
	min = hex(&p);
	if (!expect(&p, ' '))
		return false;
	while (*p >= '0' && *p <= '9')
		ino = ino * 10 + (uint64_t)(*p++ - '0');
	while (*p == ' ')
		p++;
	path = p;
	plen = strlen(path);
	e->dev = makedev(maj, min);
	e->ino = ino;
	e->deleted = plen >= sizeof(del) - 1 && !strcmp(path + plen - (sizeof(del) - 1), del);
	if (e->deleted)
		plen -= sizeof(del) - 1;
	e->path = xstrndup(path, plen);
	return true;
}

struct procmaps *procmaps__parse(FILE *f)
{
	struct procmaps *m = xcalloc(1, sizeof(*m));
	size_t cap = 0, linecap = 0;
	char *line = NULL;
	ssize_t len;

	while ((len = getline(&line, &linecap, f)) > 0) {
		struct map_entry e;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!parse_line(line, &e))
			continue;
		xgrow((void **)&m->e, &cap, m->n + 1, sizeof(*m->e));
		m->e[m->n++] = e;
	}
	free(line);
	if (m->n > 1)
		qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
	return m;
}

struct procmaps *procmaps__read(int pid)
{
	char path[64];
	struct procmaps *m;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");	/* e: O_CLOEXEC */
	if (!f)
		return NULL;
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
