// SPDX-License-Identifier: Apache-2.0
/* /proc readers for process facts; see procinfo.h. */
#include "procinfo.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

char *proc_read_file(const char *path, size_t max, size_t *ret_len)
{
	size_t len = 0, cap = 4096;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;

			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
		if (len == cap) {
			if (cap >= max)
				break;
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	close(fd);
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return buf;
}

/* /proc/PID/stat: the comm may hold spaces and parentheses, so fields are
 * counted from the last ')'. */
int proc_start_time(int pid, uint64_t *ret_start)
{
	char path[64], *buf, *p;
	unsigned long long start;
	int field = 2;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	buf = proc_read_file(path, 4096, NULL);
	if (!buf)
		return -errno;
	p = strrchr(buf, ')');
	if (!p) {
		free(buf);
		return -EINVAL;
	}
	/* field 3 starts after ") "; field 22 is starttime */
	for (p++; *p && field < 21; p++)
		if (*p == ' ')
			field++;
	if (field != 21 || sscanf(p, "%llu", &start) != 1) {
		free(buf);
		return -EINVAL;
	}
	free(buf);
	*ret_start = start;
	return 0;
}

int proc_comm(int pid, char *buf)
{
	char path[64], *s;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	s = proc_read_file(path, 64, &len);
	if (!s)
		return -errno;
	while (len && s[len - 1] == '\n')
		len--;
	if (len >= PROC_COMM_LEN)
		len = PROC_COMM_LEN - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	free(s);
	return 0;
}

char *container_id_from_cgroup(const char *text)
{
	const char *last = NULL;

	for (const char *p = text; *p;) {
		size_t n = 0;

		while (n < 64 && p[n] && isxdigit((unsigned char)p[n]) &&
		       !isupper((unsigned char)p[n]))
			n++;
		if (n == 64) {
			last = p;
			p += 64;
		} else {
			p += n ? n : 1;
		}
	}
	return last ? xstrndup(last, 64) : NULL;
}

static char *read_link(int pid, const char *what)
{
	char path[64];
	char *buf = xmalloc(PATH_MAX);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	n = readlink(path, buf, PATH_MAX - 1);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return xrealloc(buf, n + 1);
}

static int read_nspid(int pid)
{
	char path[64], *buf, *line;
	int nspid = pid;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	buf = proc_read_file(path, 1 << 16, NULL);
	if (!buf)
		return pid;
	line = strstr(buf, "\nNSpid:");
	if (line) {
		char *end = strchr(line + 1, '\n');
		char *last = NULL;

		if (end)
			*end = '\0';
		for (char *tok = strtok(line + 7, " \t"); tok; tok = strtok(NULL, " \t"))
			last = tok;
		if (last) {
			char *e;
			long v = strtol(last, &e, 10);

			if (e != last && v > 0 && v <= INT_MAX)
				nspid = (int)v;
		}
	}
	free(buf);
	return nspid;
}

static void read_argv(struct procinfo *pi)
{
	char path[64], *buf;
	size_t len, n = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pi->pid);
	buf = proc_read_file(path, 1 << 20, &len);
	if (!buf)
		len = 0;
	for (size_t i = 0; i < len; i++)
		if (!buf[i] || i + 1 == len)
			n++;
	pi->argv = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0, start = 0; i < len && pi->argc < (int)n; i++) {
		if (!buf[i] || i + 1 == len) {
			size_t end = buf[i] ? i + 1 : i;

			pi->argv[pi->argc++] = xstrndup(buf + start, end - start);
			start = i + 1;
		}
	}
	free(buf);
}

struct procinfo *procinfo__read(int pid)
{
	struct procinfo *pi = xcalloc(1, sizeof(*pi));
	char path[64], *cg;
	int r;

	pi->pid = pid;
	r = proc_start_time(pid, &pi->start_time);
	if (r) {
		free(pi);
		errno = -r;
		return NULL;
	}
	if (proc_comm(pid, pi->comm))
		pi->comm[0] = '\0';
	pi->exe = read_link(pid, "exe");
	pi->cwd = read_link(pid, "cwd");
	read_argv(pi);
	pi->nspid = read_nspid(pid);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	cg = proc_read_file(path, 1 << 16, NULL);
	if (cg) {
		pi->container_id = container_id_from_cgroup(cg);
		free(cg);
	}
	return pi;
}

struct procinfo *procinfo__free(struct procinfo *pi)
{
	if (!pi)
		return NULL;
	for (int i = 0; i < pi->argc; i++)
		free(pi->argv[i]);
	free(pi->argv);
	free(pi->exe);
	free(pi->cwd);
	free(pi->container_id);
	free(pi);
	return NULL;
}
