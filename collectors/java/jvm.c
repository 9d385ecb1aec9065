// SPDX-License-Identifier: Apache-2.0
/*
 * JVM handles and the namespace child; see jvm.h. The child is a plain
 * fork(): it is single-threaded, so setns(CLONE_NEWNS) and setresuid()
 * apply to it alone and vanish with it. Results travel back through a
 * memfd (any size, no pipe back-pressure) and a status pipe whose EOF also
 * tells a crash from a result; the parent polls that pipe with a deadline.
 */
#include "jvm.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procinfo.h"
#include "xalloc.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t jvm_child_now(void)
{
	return mono_ns();
}

static char *read_link(const char *path)
{
	char *buf = xmalloc(PATH_MAX);
	ssize_t n = readlink(path, buf, PATH_MAX - 1);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	if (n > 10 && !strcmp(buf + n - 10, " (deleted)"))
		buf[n - 10] = '\0';
	return buf;
}

/* The field after "\n<key>:" in /proc/PID/status: the n-th (0-based)
 * whitespace-separated value, or the last with n < 0. */
static bool status_field(const char *status, const char *key, int n, char *ret, size_t cap)
{
	size_t klen = strlen(key);
	const char *p = status, *end, *best = NULL;
	size_t blen = 0;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ':')
			break;
	if (!p || !*p)
		return false;
	p += klen + 1;
	end = strchrnul(p, '\n');
	for (int i = 0; p < end; i++) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= end)
			break;
		const char *s = p;

		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (i == n || n < 0) {
			best = s;
			blen = p - s;
			if (i == n)
				break;
		}
	}
	if (!best || blen >= cap)
		return false;
	memcpy(ret, best, blen);
	ret[blen] = '\0';
	return true;
}

static bool same_ns(int fd, const char *self)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(self, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

struct jvm *jvm__open(int pid, uint64_t start_time)
{
	struct jvm *j = xcalloc(1, sizeof(*j));
	char path[64], field[64], *status = NULL, *end;
	unsigned long long sigcgt;
	int e = ESRCH;

	j->pid = pid;
	j->pidfd = j->mntns_fd = j->pidns_fd = j->cwd_fd = -1;
	j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (j->pidfd < 0 && errno != ENOSYS) {
		e = errno;
		goto fail;
	}
	/* After the pidfd: the process it names is the one that started then. */
	if (proc_start_time(pid, &j->start_time) || (start_time && j->start_time != start_time))
		goto fail;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	status = proc_read_file(path, 1 << 16, NULL);
	if (!status)
		goto fail;
	e = EINVAL;
	if (!status_field(status, "Uid", 1, field, sizeof(field)))
		goto fail;
	j->uid = (uid_t)strtoul(field, &end, 10);
	if (!status_field(status, "Gid", 1, field, sizeof(field)))
		goto fail;
	j->gid = (gid_t)strtoul(field, &end, 10);
	j->nspid = pid;
	if (status_field(status, "NSpid", -1, field, sizeof(field))) {
		long v = strtol(field, &end, 10);

		if (!*end && v > 0 && v <= INT_MAX)
			j->nspid = (int)v;
	}
	if (status_field(status, "SigCgt", 0, field, sizeof(field))) {
		sigcgt = strtoull(field, &end, 16);
		j->sigquit = !*end && (sigcgt & (1ull << (SIGQUIT - 1)));
	}
	free(status);
	status = NULL;

	e = ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	j->mntns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (j->mntns_fd < 0) {
		e = errno == ENOENT ? ESRCH : errno;
		goto fail;
	}
	j->own_mntns = same_ns(j->mntns_fd, "/proc/self/ns/mnt");
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	j->pidns_fd = open(path, O_RDONLY | O_CLOEXEC);
	j->own_pidns = j->pidns_fd < 0 || same_ns(j->pidns_fd, "/proc/self/ns/pid");
	snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
	j->cwd_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	j->cwd = read_link(path);
	if (proc_comm(pid, j->comm))
		j->comm[0] = '\0';
	if (!jvm__alive(j))
		goto fail;
	return j;
fail:
	free(status);
	jvm__free(j);
	errno = e;
	return NULL;
}

struct jvm *jvm__free(struct jvm *j)
{
	if (!j)
		return NULL;
	if (j->pidfd >= 0)
		close(j->pidfd);
	if (j->mntns_fd >= 0)
		close(j->mntns_fd);
	if (j->pidns_fd >= 0)
		close(j->pidns_fd);
	if (j->cwd_fd >= 0)
		close(j->cwd_fd);
	free(j->cwd);
	free(j);
	return NULL;
}

bool jvm__alive(const struct jvm *j)
{
	uint64_t st;

	if (j->pidfd >= 0) {
		struct pollfd p = { .fd = j->pidfd, .events = POLLIN };

		return poll(&p, 1, 0) == 0;
	}
	return !proc_start_time(j->pid, &st) && st == j->start_time;
}

bool jvm__wait_exit(const struct jvm *j, int ms)
{
	if (j->pidfd >= 0) {
		struct pollfd p = { .fd = j->pidfd, .events = POLLIN };
		int r;

		do
			r = poll(&p, 1, ms);
		while (r < 0 && errno == EINTR);
		return r > 0;
	}
	if (!jvm__alive(j))
		return true;
	usleep((useconds_t)ms * 1000);
	return !jvm__alive(j);
}

int jvm_child_become(const struct jvm *j)
{
	if (setgroups(0, NULL) && errno != EPERM)
		return -errno;
	if (setresgid(j->gid, j->gid, j->gid))
		return -errno;
	if (setresuid(j->uid, j->uid, j->uid))
		return -errno;
	return 0;
}

static int read_memfd(int fd, size_t max, char **ret_out, size_t *ret_len)
{
	struct stat st;
	size_t len, got = 0;
	char *buf;

	if (fstat(fd, &st))
		return -errno;
	len = (size_t)st.st_size < max ? (size_t)st.st_size : max;
	buf = xmalloc(len + 1);
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = '\0';
	*ret_out = buf;
	if (ret_len)
		*ret_len = got;
	return 0;
}

int jvm__run(const struct jvm *j, jvm_child_fn fn, void *arg, int timeout_ms, size_t max,
	     char **ret_out, size_t *ret_len)
{
	int memfd, pipefd[2], status, rc = 0, child_rc = 0;
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	size_t got = 0;
	pid_t pid;

	memfd = memfd_create("gprofiler-java", MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	if (pipe2(pipefd, O_CLOEXEC)) {
		rc = -errno;
		close(memfd);
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0) {
		int r = 0;

		close(pipefd[0]);
		if (!j->own_mntns && setns(j->mntns_fd, CLONE_NEWNS))
			r = -errno;
		if (!r)
			r = fn(j, arg, memfd);
		if (write(pipefd[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	while (got < sizeof(child_rc)) {
		uint64_t now = mono_ns();
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		ssize_t n;
		int r;

		if (now >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		r = poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		n = read(pipefd[0], (char *)&child_rc + got, sizeof(child_rc) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -ECHILD;	/* died without a word */
			break;
		}
		got += n;
	}
	if (rc)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!rc && ret_out) {
		/* fn's output, also when it failed (it may say why) */
		int r = read_memfd(memfd, max, ret_out, ret_len);

		rc = r ? r : child_rc;
	} else if (!rc) {
		rc = child_rc;
	}
out:
	close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	close(memfd);
	return rc;
}
