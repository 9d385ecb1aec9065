// SPDX-License-Identifier: Apache-2.0
/*
 * Files in a JVM's mount namespace; see jvmfiles.h. Every operation runs in
 * a jvm__run() child that has entered the namespace, so paths (and any
 * symlinks in them) resolve as the JVM sees them, never on the host; the
 * base folders are checked with lstat() to be real root-owned directories
 * before anything is created in them. Strings are built before the fork.
 */
#include "jvmfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "xalloc.h"

#define FILE_TIMEOUT_MS 5000
#define MIN_FREE_BYTES (256u << 10)

static const char *const bases[] = { "/tmp", "/run", "/opt", "/dev" };

/* ---- the library ---- */

struct jvm_lib *jvm_lib__new(const char *path, const char *dir_prefix, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull, size = 0;
	unsigned char buf[65536];
	struct jvm_lib *l;
	struct stat st;
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		e = errno ? errno : EINVAL;
		close(fd);
		errno = e;
		return NULL;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			h ^= buf[i];
			h *= 0x100000001b3ull;
		}
		size += n;
	}
	e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->path = xstrdup(path);
	l->name = xstrdup(name);
	l->dir = xasprintf("%s-%016llx", dir_prefix, (unsigned long long)h);
	l->size = size;
	return l;
}

struct jvm_lib *jvm_lib__free(struct jvm_lib *l)
{
	if (!l)
		return NULL;
	free(l->path);
	free(l->name);
	free(l->dir);
	free(l);
	return NULL;
}

/* ---- prepare, in the child ---- */

struct prep_job {
	int src_fd;
	uint64_t src_size;
	char dir[96], tmpdir[128], dir_lib[192], tmp_lib[224];
	char out[96], log[96];
	char base[sizeof(bases) / sizeof(bases[0])][32];
};

/* The base's gprofiler_tmp as an O_DIRECTORY fd, or -errno. */
static int open_base(const char *parent, const char *base)
{
	struct statvfs vfs;
	struct stat st;
	int d;

	if (lstat(parent, &st) || !S_ISDIR(st.st_mode) || st.st_uid != 0)
		return -ENOTDIR;
	if (statvfs(parent, &vfs))
		return -errno;
	if (vfs.f_flag & (ST_RDONLY | ST_NOEXEC))
		return -EROFS;
	if ((uint64_t)vfs.f_bavail * vfs.f_frsize < MIN_FREE_BYTES)
		return -ENOSPC;
	if (mkdir(base, 0755) && errno != EEXIST)
		return -errno;
	d = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return -errno;
	if (fstat(d, &st) || !S_ISDIR(st.st_mode) || st.st_uid != 0) {
		close(d);
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0755 && fchmod(d, 0755)) {
		close(d);
		return -errno;
	}
	return d;
}

static bool lib_ok(int d, const char *rel, uint64_t size)
{
	struct stat st;

	return !fstatat(d, rel, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) &&
	       st.st_uid == 0 && (uint64_t)st.st_size == size;
}

static void remove_tmp(int d, const struct prep_job *p)
{
	unlinkat(d, p->tmp_lib, 0);
	unlinkat(d, p->tmpdir, AT_REMOVEDIR);
}

static int copy_fd(int src, int dst, uint64_t size)
{
	char buf[16384];
	uint64_t off = 0;

	while (off < size) {
		ssize_t n = pread(src, buf, sizeof(buf), off), w = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		while (w < n) {
			ssize_t k = write(dst, buf + w, n - w);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return k < 0 ? -errno : -EIO;
			w += k;
		}
		off += n;
	}
	return 0;
}

static int install(int d, const struct prep_job *p)
{
	int fd, err;

	if (lib_ok(d, p->dir_lib, p->src_size))
		return 0;
	remove_tmp(d, p);	/* left by a killed earlier run */
	if (mkdirat(d, p->tmpdir, 0755))
		return -errno;
	fd = openat(d, p->tmp_lib, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (fd < 0) {
		err = -errno;
		remove_tmp(d, p);
		return err;
	}
	err = copy_fd(p->src_fd, fd, p->src_size);
	if (!err && fchmod(fd, 0755))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err) {
		int dfd = openat(d, p->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fchmod(dfd, 0755);
			close(dfd);
		}
		/* Renaming onto an existing non-empty folder fails: someone else
		 * installed the same content first, and theirs is complete. */
		if (renameat(d, p->tmpdir, d, p->dir) && errno != ENOTEMPTY && errno != EEXIST)
			err = -errno;
	}
	remove_tmp(d, p);
	if (!err && !lib_ok(d, p->dir_lib, p->src_size))
		err = -EEXIST;	/* a different file under our name: leave it */
	return err;
}

static int owned_file(const struct jvm *j, int d, const char *name)
{
	int fd;

	if (unlinkat(d, name, 0) && errno != ENOENT)
		return -errno;
	fd = openat(d, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fchown(fd, j->uid, j->gid) || fchmod(fd, 0600)) {
		int err = -errno;

		close(fd);
		unlinkat(d, name, 0);
		return err;
	}
	close(fd);
	return 0;
}

static int prepare_child(const struct jvm *j, void *arg, int out)
{
	const struct prep_job *p = arg;
	int err = -ENOENT;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		int d = open_base(bases[i], p->base[i]);

		if (d < 0) {
			err = d;
			continue;
		}
		err = install(d, p);
		if (!err)
			err = owned_file(j, d, p->out);
		if (!err && p->log[0])
			err = owned_file(j, d, p->log);
		close(d);
		if (!err) {
			size_t len = strlen(p->base[i]);

			return write(out, p->base[i], len) == (ssize_t)len ? 0 : -EIO;
		}
	}
	return err;
}

int jvm_files__prepare(const struct jvm *j, const struct jvm_lib *lib, const char *tag,
		       bool with_log, struct jvm_files *ret)
{
	struct prep_job *p = xcalloc(1, sizeof(*p));
	char *base = NULL;
	int err;

	p->src_fd = open(lib->path, O_RDONLY | O_CLOEXEC);
	if (p->src_fd < 0) {
		err = -errno;
		free(p);
		return err;
	}
	p->src_size = lib->size;
	snprintf(p->dir, sizeof(p->dir), "%s", lib->dir);
	/* names carry the daemon's pid too: two daemons (or a daemon and its
	 * tests) may work on one JVM at once */
	snprintf(p->tmpdir, sizeof(p->tmpdir), "%s.%d.%d.tmp", lib->dir, (int)getpid(), j->pid);
	snprintf(p->dir_lib, sizeof(p->dir_lib), "%s/%s", lib->dir, lib->name);
	snprintf(p->tmp_lib, sizeof(p->tmp_lib), "%s/%s", p->tmpdir, lib->name);
	snprintf(p->out, sizeof(p->out), "%s-%d-%d.out", tag, j->pid, (int)getpid());
	if (with_log)
		snprintf(p->log, sizeof(p->log), "%s-%d-%d.log", tag, j->pid, (int)getpid());
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		snprintf(p->base[i], sizeof(p->base[i]), "%s/gprofiler_tmp", bases[i]);

	err = jvm__run(j, prepare_child, p, FILE_TIMEOUT_MS, 256, &base, NULL);
	if (err) {
		free(base);
	} else {
		ret->base = base;
		ret->lib = xasprintf("%s/%s", base, p->dir_lib);
		ret->out = xasprintf("%s/%s", base, p->out);
		ret->log = with_log ? xasprintf("%s/%s", base, p->log) : NULL;
	}
	close(p->src_fd);
	free(p);
	return err;
}

void jvm_files__clear(struct jvm_files *f)
{
	free(f->base);
	free(f->lib);
	free(f->out);
	free(f->log);
	memset(f, 0, sizeof(*f));
}

/* ---- reading and removing ---- */

struct read_job {
	const char *path;
	size_t max;
	bool unlink_after;
};

static int read_child(const struct jvm *j, void *arg, int out)
{
	const struct read_job *r = arg;
	char buf[16384];
	struct stat st;
	size_t total = 0;
	int fd, err = 0;

	(void)j;
	fd = open(r->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	while (total < r->max) {
		size_t want = r->max - total < sizeof(buf) ? r->max - total : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		if (write(out, buf, n) != n) {
			err = -EIO;
			break;
		}
		total += n;
	}
	close(fd);
	if (r->unlink_after)
		unlink(r->path);
	return err;
}

int jvm_files__read(const struct jvm *j, const char *path, size_t max, bool unlink_after,
		    char **ret, size_t *ret_len)
{
	struct read_job r = { path, max, unlink_after };

	return jvm__run(j, read_child, &r, FILE_TIMEOUT_MS, max, ret, ret_len);
}

struct unlink_job {
	const char *a, *b;
};

static int unlink_child(const struct jvm *j, void *arg, int out)
{
	const struct unlink_job *u = arg;

	(void)j, (void)out;
	if (u->a)
		unlink(u->a);
	if (u->b)
		unlink(u->b);
	return 0;
}

void jvm_files__unlink(const struct jvm *j, const char *a, const char *b)
{
	struct unlink_job u = { a, b };

	if (a || b)
		jvm__run(j, unlink_child, &u, FILE_TIMEOUT_MS, 0, NULL, NULL);
}

/* ---- hs_err ---- */

struct hserr_job {
	char paths[3][4096];
	time_t since;
};

static int hserr_child(const struct jvm *j, void *arg, int out)
{
	const struct hserr_job *h = arg;
	static const char mark[] = "# Problematic frame:\n# ";
	char buf[65536];

	(void)j;
	for (int i = 0; i < 3; i++) {
		struct stat st;
		ssize_t n;
		char *m, *end;
		int fd;

		if (!h->paths[i][0] || stat(h->paths[i], &st) || !S_ISREG(st.st_mode) ||
		    st.st_mtime < h->since)
			continue;
		if (write(out, h->paths[i], strlen(h->paths[i])) < 0 || write(out, "\n", 1) < 0)
			return -EIO;
		fd = open(h->paths[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return 0;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return 0;
		buf[n] = '\0';
		m = strstr(buf, mark);
		if (m) {
			m += sizeof(mark) - 1;
			end = strchr(m, '\n');
			if (write(out, m, end ? (size_t)(end - m) : strlen(m)) < 0)
				return -EIO;
		}
		return 0;
	}
	return -ENOENT;
}

/* path relative to the JVM's cwd, as it sees it */
static void in_cwd(char *dst, size_t cap, const char *cwd, const char *path)
{
	size_t cl = strlen(cwd), pl = strlen(path);

	dst[0] = '\0';
	if (path[0] == '/' || !cwd[0]) {
		if (pl < cap)
			memcpy(dst, path, pl + 1);
	} else if (cl + 1 + pl < cap) {
		memcpy(dst, cwd, cl);
		dst[cl] = '/';
		memcpy(dst + cl + 1, path, pl + 1);
	}
}

int jvm_files__find_hserr(const struct jvm *j, const char *error_file, time_t since,
			  char **ret_what)
{
	struct hserr_job *h = xcalloc(1, sizeof(*h));
	char name[64];
	int err;

	h->since = since;
	if (error_file && error_file[0]) {
		/* %p is the pid; %% a percent sign */
		char ef[4096];
		size_t k = 0;

		for (const char *p = error_file; *p && k + 16 < sizeof(ef); p++) {
			if (p[0] == '%' && p[1] == 'p') {
				k += snprintf(ef + k, sizeof(ef) - k, "%d", j->nspid);
				p++;
			} else if (p[0] == '%' && p[1] == '%') {
				ef[k++] = '%';
				p++;
			} else {
				ef[k++] = *p;
			}
		}
		ef[k] = '\0';
		in_cwd(h->paths[0], sizeof(h->paths[0]), j->cwd, ef);
	}
	snprintf(name, sizeof(name), "hs_err_pid%d.log", j->nspid);
	in_cwd(h->paths[1], sizeof(h->paths[1]), j->cwd, name);
	snprintf(h->paths[2], sizeof(h->paths[2]), "/tmp/%s", name);
	err = jvm__run(j, hserr_child, h, FILE_TIMEOUT_MS, 8192, ret_what, NULL);
	free(h);
	return err;
}
