// SPDX-License-Identifier: Apache-2.0
/* Output folder handling; see outdir.h. */
#include "outdir.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

int outdir__create(const char *dir)
{
	char *p = xstrdup(dir);
	struct stat st;
	int r = 0;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST) {
			r = -errno;
			break;
		}
		if (stat(p, &st)) {
			r = -errno;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			break;
		}
		if (!c)
			break;
		*s = c;
	}
	free(p);
	return r;
}

int outfile__open(struct outfile *o, const char *dir, const char *name)
{
	int fd;

	o->path = xasprintf("%s/%s", dir, name);
	o->tmp_path = xasprintf("%s/.%s.tmp", dir, name);
	fd = open(o->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = -errno;

		free(o->path);
		free(o->tmp_path);
		o->path = o->tmp_path = NULL;
		return e;
	}
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int e = -errno;

		close(fd);
		unlink(o->tmp_path);
		free(o->path);
		free(o->tmp_path);
		o->path = o->tmp_path = NULL;
		return e;
	}
	setvbuf(o->f, NULL, _IOFBF, 1 << 16);
	return 0;
}

void outfile__abort(struct outfile *o)
{
	if (o->f)
		fclose(o->f);
	if (o->tmp_path)
		unlink(o->tmp_path);
	free(o->path);
	free(o->tmp_path);
	o->f = NULL;
	o->path = o->tmp_path = NULL;
}

int outfile__commit(struct outfile *o)
{
	int r = 0;

	if (fflush(o->f) || ferror(o->f))
		r = -EIO;
	if (fclose(o->f) && !r)
		r = -errno;
	o->f = NULL;
	if (!r && rename(o->tmp_path, o->path))
		r = -errno;
	if (r)
		unlink(o->tmp_path);
	free(o->path);
	free(o->tmp_path);
	o->path = o->tmp_path = NULL;
	return r;
}

int outdir__link(const char *dir, const char *link, const char *target, bool rotating)
{
	char *lpath = xasprintf("%s/%s", dir, link);
	char *tmp = xasprintf("%s/.%s.tmp", dir, link);
	char prev[PATH_MAX];
	ssize_t n = readlink(lpath, prev, sizeof(prev) - 1);
	int r = 0;

	unlink(tmp);
	if (symlink(target, tmp) || rename(tmp, lpath)) {
		r = -errno;
		unlink(tmp);
	} else if (rotating && n > 0) {
		prev[n] = '\0';
		if (strcmp(prev, target) && !strchr(prev, '/')) {
			char *old = xasprintf("%s/%s", dir, prev);

			unlink(old);
			free(old);
		}
	}
	free(lpath);
	free(tmp);
	return r;
}

char *outdir__session_name(const char *dir, time_t end)
{
	char ts[32];
	struct tm tm;

	gmtime_r(&end, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	for (int k = 1; k < 1000; k++) {
		char *base = k == 1 ? xasprintf("profile_%s", ts) : xasprintf("profile_%s_%d", ts, k);
		char *path = xasprintf("%s/%s.col", dir, base);
		bool taken = !access(path, F_OK);

		free(path);
		if (!taken)
			return base;
		free(base);
	}
	return xasprintf("profile_%s_%ld", ts, (long)getpid());
}

int outdir__publish(const char *dir, const char *name, const char *link, bool rotating,
		    int (*write)(FILE *f, void *arg), void *arg)
{
	struct outfile of;
	int r = outfile__open(&of, dir, name);

	if (r)
		return r;
	r = write(of.f, arg);
	if (r) {
		outfile__abort(&of);
		return r;
	}
	r = outfile__commit(&of);
	return r ? r : outdir__link(dir, link, name, rotating);
}
