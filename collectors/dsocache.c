// SPDX-License-Identifier: Apache-2.0
/*
 * DSO cache; see dsocache.h. Chained hash on (dev, inode) plus an LRU
 * list. A miss opens the file, reads its build-id and reuses a loaded dso
 * with the same build-id before parsing symbols.
 */
#include "dsocache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

#define NBUCKETS 1024

struct centry {
	uint64_t dev, ino;
	struct dso *dso;	/* NULL: unreadable (negative entry) */
	size_t bytes;
	struct centry *hnext;
	struct centry *prev, *next;	/* LRU, head = most recent */
};

struct dsocache {
	struct centry *buckets[NBUCKETS];
	struct centry *head, *tail;
	size_t bytes, budget, count;
};

struct dsocache *dsocache__new(size_t budget)
{
	struct dsocache *c = xcalloc(1, sizeof(*c));

	c->budget = budget;
	return c;
}

static unsigned int bucket(uint64_t dev, uint64_t ino)
{
	return (unsigned int)((ino * 0x9e3779b97f4a7c15ULL) ^ dev) % NBUCKETS;
}

static void lru_unlink(struct dsocache *c, struct centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct dsocache *c, struct centry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void remove_entry(struct dsocache *c, struct centry *e)
{
	struct centry **pp = &c->buckets[bucket(e->dev, e->ino)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->bytes -= e->bytes;
	c->count--;
	dso__put(e->dso);
	free(e);
}

int dsocache_open_mapping(int pid, const struct map_entry *m, char **ret_root)
{
	struct stat st;
	char *path;
	int fd;

	*ret_root = xasprintf("/proc/%d/root", pid);
	if (!m->deleted) {
		path = xasprintf("%s%s", *ret_root, m->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (fd >= 0) {
			if (!fstat(fd, &st) && st.st_ino == m->ino && st.st_dev == m->dev)
				return fd;
			close(fd);
		}
	}
	/* Deleted or replaced files, and overlay layers reporting another
	 * device: the kernel still holds the mapped file. */
	path = xasprintf("/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd >= 0)
		return fd;
	/* The process is gone: the same file on the host, if it is the same
	 * inode. */
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (!fstat(fd, &st) && st.st_ino == m->ino && st.st_dev == m->dev)
			return fd;
		close(fd);
	}
	return -ENOENT;
}

static struct dso *find_by_build_id(struct dsocache *c, const uint8_t *id, size_t len)
{
	for (struct centry *e = c->head; e; e = e->next) {
		const uint8_t *eid;

		if (e->dso && dso__build_id(e->dso, &eid) == len && !memcmp(eid, id, len))
			return e->dso;
	}
	return NULL;
}

struct dso *dsocache__get(struct dsocache *c, int pid, const struct map_entry *m)
{
	unsigned int b = bucket(m->dev, m->ino);
	struct centry *e;
	struct dso *d = NULL;
	char *root = NULL;
	int fd;

	for (e = c->buckets[b]; e; e = e->hnext) {
		if (e->dev == m->dev && e->ino == m->ino) {
			lru_unlink(c, e);
			lru_push(c, e);
			return e->dso;
		}
	}
	fd = dsocache_open_mapping(pid, m, &root);
	if (fd >= 0) {
		uint8_t id[DSO_BUILD_ID_MAX];
		int n = elf_fd_build_id(fd, id);

		if (n > 0)
			d = dso__get(find_by_build_id(c, id, n));
		if (!d)
			d = dso__load(fd, m->path, root);
		close(fd);
	}
	free(root);
	e = xcalloc(1, sizeof(*e));
	e->dev = m->dev;
	e->ino = m->ino;
	e->dso = d;
	e->bytes = sizeof(*e) + (d ? dso__size(d) : 0);
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	lru_push(c, e);
	c->bytes += e->bytes;
	c->count++;
	/* Evict, but never the entry just added. */
	while (c->bytes > c->budget && c->tail && c->tail != e)
		remove_entry(c, c->tail);
	return d;
}

size_t dsocache__count(const struct dsocache *c)
{
	return c->count;
}

size_t dsocache__bytes(const struct dsocache *c)
{
	return c->bytes;
}

struct dsocache *dsocache__free(struct dsocache *c)
{
	if (!c)
		return NULL;
	while (c->head)
		remove_entry(c, c->head);
	free(c);
	return NULL;
}
