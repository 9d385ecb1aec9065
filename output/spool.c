// SPDX-License-Identifier: Apache-2.0
/*
 * The spool folder; see spool.h. Layout:
 *   <dir>/.lock                        flock'd by the owner
 *   <dir>/<seq, 20 digits>.<target>    one gzipped record each
 *   <dir>/.tmp-<seq>.<target>          being written (removed at open)
 * The index (seq, target, size) is kept in memory, sorted by seq.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gzip.h"
#include "xalloc.h"

#define SEQ_DIGITS 20
#define TMP_PREFIX ".tmp-"

struct spool {
	char *dir;
	int dirfd;
	int lockfd;
	uint64_t max_bytes;
	uint64_t bytes;
	uint64_t next_seq;
	struct spool_entry *e;	/* sorted by seq */
	size_t n, cap;
};

static bool target_ok(const char *t)
{
	size_t n = strlen(t);

	if (!n || n >= sizeof(((struct spool_entry *)0)->target))
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] < 'a' || t[i] > 'z')
			return false;
	return true;
}

/* "<20 digits>.<target>" → seq and target; false for any other name. */
static bool parse_name(const char *name, uint64_t *ret_seq, char *target, size_t tlen)
{
	uint64_t seq = 0;

	for (int i = 0; i < SEQ_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (seq > (UINT64_MAX - 9) / 10)
			return false;
		seq = seq * 10 + (uint64_t)(name[i] - '0');
	}
	if (name[SEQ_DIGITS] != '.' || !target_ok(name + SEQ_DIGITS + 1))
		return false;
	snprintf(target, tlen, "%s", name + SEQ_DIGITS + 1);
	*ret_seq = seq;
	return true;
}

static void entry_name(const struct spool_entry *e, bool tmp, char *buf, size_t len)
{
	snprintf(buf, len, "%s%0*" PRIu64 ".%s", tmp ? TMP_PREFIX : "", SEQ_DIGITS, e->seq,
		 e->target);
}

static int cmp_seq(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static ssize_t find(const struct spool *s, uint64_t seq)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->e[mid].seq == seq)
			return (ssize_t)mid;
		if (s->e[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void forget(struct spool *s, size_t i)
{
	s->bytes -= s->e[i].bytes;
	memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(*s->e));
	s->n--;
}

static int mkdir_parents(const char *dir)
{
	char *p = xstrdup(dir);
	int r = 0;

	for (char *q = p + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			r = -errno;
		*q = '/';
		if (r)
			break;
	}
	/* the spool itself: profiles name processes and hosts */
	if (!r && mkdir(p, 0700) && errno != EEXIST)
		r = -errno;
	free(p);
	return r;
}

static int scan(struct spool *s)
{
	int fd = fcntl(s->dirfd, F_DUPFD_CLOEXEC, 0);
	bool removed = false;
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int e = -errno;

		close(fd);
		return e;
	}
	while ((de = readdir(d))) {
		struct spool_entry e = { 0 };
		struct stat st;

		if (!strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX))) {
			/* a write that never finished: never renamed, never sent */
			unlinkat(s->dirfd, de->d_name, 0);
			removed = true;
			continue;
		}
		if (!parse_name(de->d_name, &e.seq, e.target, sizeof(e.target)))
			continue;
		if (fstatat(s->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		e.bytes = (uint64_t)st.st_size;
		xgrow((void **)&s->e, &s->cap, s->n + 1, sizeof(*s->e));
		s->e[s->n++] = e;
		s->bytes += e.bytes;
	}
	closedir(d);
	if (s->n)
		qsort(s->e, s->n, sizeof(*s->e), cmp_seq);
	s->next_seq = s->n ? s->e[s->n - 1].seq + 1 : 1;
	if (removed)
		fsync(s->dirfd);
	return 0;
}

int spool__open(const char *dir, uint64_t max_bytes, struct spool **ret)
{
	struct spool *s;
	int r;

	if (!dir || !*dir)
		return -EINVAL;
	r = mkdir_parents(dir);
	if (r)
		return r;
	s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(dir);
	s->max_bytes = max_bytes;
	s->lockfd = -1;
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		r = -errno;
		goto fail;
	}
	s->lockfd = openat(s->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0) {
		r = -errno;
		goto fail;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB)) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	r = scan(s);
	if (r)
		goto fail;
	*ret = s;
	return 0;
fail:
	spool__close(s);
	return r;
}

void spool__close(struct spool *s)
{
	if (!s)
		return;
	if (s->lockfd >= 0)
		close(s->lockfd);	/* releases the flock */
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->e);
	free(s->dir);
	free(s);
}

static int drop_oldest(struct spool *s, spool_drop_fn on_drop, void *arg)
{
	struct spool_entry e;
	char name[64];

	if (!s->n)
		return -ENOENT;
	e = s->e[0];
	entry_name(&e, false, name, sizeof(name));
	unlinkat(s->dirfd, name, 0);
	forget(s, 0);
	if (on_drop)
		on_drop(arg, &e);
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Writes data as the file of e: temporary name, fsync, rename, fsync of
 * the folder. On error nothing is left behind. */
static int write_entry(struct spool *s, const struct spool_entry *e, const void *data, size_t len)
{
	char tmp[64], name[64];
	int fd, r;

	entry_name(e, true, tmp, sizeof(tmp));
	entry_name(e, false, name, sizeof(name));
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (!r && renameat(s->dirfd, tmp, s->dirfd, name))
		r = -errno;
	if (r) {
		unlinkat(s->dirfd, tmp, 0);
		return r;
	}
	/* the rename itself must survive a power cut */
	if (fsync(s->dirfd))
		return -errno;
	return 0;
}

int spool__put(struct spool *s, const char *target, const json_t *meta, const void *payload,
	       size_t len, spool_drop_fn on_drop, void *arg, uint64_t *ret_seq)
{
	struct spool_entry e = { 0 };
	char *js, *raw;
	void *gz = NULL;
	size_t jlen, gzlen;
	int r;

	if (!target_ok(target) || !json_is_object(meta))
		return -EINVAL;
	js = json_dumps(meta, JSON_COMPACT);
	if (!js)
		return -ENOMEM;
	jlen = strlen(js);
	raw = xmalloc(jlen + 1 + len);
	memcpy(raw, js, jlen);
	raw[jlen] = '\n';
	if (len)
		memcpy(raw + jlen + 1, payload, len);
	free(js);
	r = gzip__compress(raw, jlen + 1 + len, &gz, &gzlen);
	free(raw);
	if (r)
		return r;
	if (gzlen > s->max_bytes) {
		r = -EFBIG;
		goto out;
	}
	while (s->n && (s->bytes + gzlen > s->max_bytes || s->n + 1 > SPOOL_MAX_FILES))
		drop_oldest(s, on_drop, arg);
	e.seq = s->next_seq++;
	snprintf(e.target, sizeof(e.target), "%s", target);
	e.bytes = gzlen;
	/* a full disk: make room as a full spool does */
	while ((r = write_entry(s, &e, gz, gzlen)) == -ENOSPC && s->n)
		drop_oldest(s, on_drop, arg);
	if (r)
		goto out;
	xgrow((void **)&s->e, &s->cap, s->n + 1, sizeof(*s->e));
	s->e[s->n++] = e;	/* seq only grows: stays sorted */
	s->bytes += gzlen;
	if (ret_seq)
		*ret_seq = e.seq;
out:
	free(gz);
	return r;
}

int spool__oldest(const struct spool *s, const char *target, struct spool_entry *ret)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!target || !strcmp(s->e[i].target, target)) {
			*ret = s->e[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int read_file(int dirfd, const char *name, uint64_t max, char **ret, size_t *ret_len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t len = 0;
	char *buf;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return r;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return -EBADMSG;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EBADMSG;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

int spool__get(struct spool *s, uint64_t seq, json_t **ret_meta, char **ret_payload,
	       size_t *ret_len)
{
	ssize_t i = find(s, seq);
	char name[64], *file = NULL, *nl;
	void *raw;
	size_t flen = 0, rlen;
	json_t *meta;
	int r;

	if (i < 0)
		return -ENOENT;
	entry_name(&s->e[i], false, name, sizeof(name));
	r = read_file(s->dirfd, name, s->max_bytes > SPOOL_RECORD_MAX ? s->max_bytes
								       : SPOOL_RECORD_MAX,
		      &file, &flen);
	if (r)
		return r;
	r = gzip__decompress(file, flen, SPOOL_RECORD_MAX, &raw, &rlen);
	free(file);
	if (r)
		return -EBADMSG;
	nl = memchr(raw, '\n', rlen);
	meta = nl ? json_loadb(raw, (size_t)(nl - (char *)raw), 0, NULL) : NULL;
	if (!json_is_object(meta)) {
		json_decref(meta);
		free(raw);
		return -EBADMSG;
	}
	rlen -= (size_t)(nl + 1 - (char *)raw);
	memmove(raw, nl + 1, rlen + 1);	/* with the NUL gzip__decompress added */
	*ret_meta = meta;
	*ret_payload = raw;
	*ret_len = rlen;
	return 0;
}

int spool__remove(struct spool *s, uint64_t seq)
{
	ssize_t i = find(s, seq);
	char name[64];
	int r = 0;

	if (i < 0)
		return -ENOENT;
	entry_name(&s->e[i], false, name, sizeof(name));
	forget(s, (size_t)i);
	if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
		return -errno;
	if (fsync(s->dirfd))
		r = -errno;
	return r;
}

size_t spool__count(const struct spool *s, const char *target)
{
	size_t n = 0;

	if (!target)
		return s->n;
	for (size_t i = 0; i < s->n; i++)
		n += !strcmp(s->e[i].target, target);
	return n;
}

uint64_t spool__bytes(const struct spool *s)
{
	return s->bytes;
}

const char *spool__dir(const struct spool *s)
{
	return s->dir;
}
