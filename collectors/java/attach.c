// SPDX-License-Identifier: Apache-2.0
/*
 * The attach protocol; see attach.h. The whole exchange runs in a
 * jvm__run() child inside the JVM's mount namespace: as root it creates the
 * trigger file (owned by the JVM's euid, in its cwd or else in /tmp),
 * signals the JVM through its pidfd (never a recycled pid) and polls for
 * the socket with growing sleeps; then it takes the JVM's credentials,
 * because HotSpot only answers peers with its own euid/egid, and talks.
 * The reply comes back through the child's memfd and is parsed here.
 */
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

#define REPLY_MAX (16u << 20)

/* ---- reply parsing ---- */

static bool parse_int(const char *s, size_t len, int *ret)
{
	long v = 0;
	size_t i = 0;
	bool neg = false;

	while (len && (s[len - 1] == '\r' || s[len - 1] == ' '))
		len--;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == len)
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > INT_MAX / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = (int)(neg ? -v : v);
	return true;
}

void jattach_reply__clear(struct jattach_reply *r)
{
	free(r->text);
	r->text = NULL;
}

int jattach_parse_reply(const char *buf, size_t len, bool is_load, struct jattach_reply *ret)
{
	const char *nl = memchr(buf, '\n', len), *rest, *nl2;
	size_t line = nl ? (size_t)(nl - buf) : len, rlen, l2;
	struct jattach_reply r = { 0 };

	if (!parse_int(buf, line, &r.status))
		return -EPROTO;
	rest = nl ? nl + 1 : buf + len;
	rlen = len - (rest - buf);
	r.code = r.status;
	if (is_load && r.status == 0) {
		nl2 = memchr(rest, '\n', rlen);
		l2 = nl2 ? (size_t)(nl2 - rest) : rlen;
		if (l2 > 13 && !memcmp(rest, "return code: ", 13) &&
		    parse_int(rest + 13, l2 - 13, &r.code)) {
			/* JDK 9 and later */
		} else if (!parse_int(rest, l2, &r.code)) {
			/* JDK 21+: the library could not be loaded; text says why */
			r.code = -1;
			r.load_failed = true;
			l2 = 0;
			nl2 = NULL;
		}
		if (l2) {
			rest = nl2 ? nl2 + 1 : rest + l2;
			rlen = len - (rest - buf);
		}
	}
	r.text = xstrndup(rest, rlen);
	*ret = r;
	return 0;
}

char *jattach_request(const char *cmd, const char *a1, const char *a2, const char *a3,
		      size_t *ret_len)
{
	const char *parts[4] = { cmd, a1 ? a1 : "", a2 ? a2 : "", a3 ? a3 : "" };
	size_t len = 2, off;
	char *req;

	if (strlen(cmd) > JATTACH_NAME_MAX) {
		errno = E2BIG;
		return NULL;
	}
	for (int i = 0; i < 4; i++) {
		size_t l = strlen(parts[i]);

		if (i && l > JATTACH_ARG_MAX) {
			errno = E2BIG;
			return NULL;
		}
		len += l + 1;
	}
	req = xmalloc(len);
	memcpy(req, "1", 2);
	off = 2;
	for (int i = 0; i < 4; i++) {
		size_t l = strlen(parts[i]) + 1;

		memcpy(req + off, parts[i], l);
		off += l;
	}
	*ret_len = len;
	return req;
}

/* ---- the exchange, in the child ---- */

struct attach_job {
	char sock[64];		/* /tmp/.java_pid<nspid> */
	char trig_tmp[64];	/* /tmp/.attach_pid<nspid> */
	char trig_name[48];	/* .attach_pid<nspid>, in its cwd */
	const char *req;
	size_t req_len;
	uint64_t deadline;	/* CLOCK_MONOTONIC ns */
};

static bool is_socket(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISSOCK(st.st_mode);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static bool child_alive(const struct jvm *j)
{
	if (j->pidfd >= 0) {
		struct pollfd p = { .fd = j->pidfd, .events = POLLIN };

		return poll(&p, 1, 0) == 0;
	}
	return kill(j->pid, 0) == 0;
}

/* Appends s, or the decimal v when s is NULL, to a text buffer (no stdio:
 * this runs in the child). */
struct note {
	char buf[256];
	size_t len;
};

static void note_add(struct note *n, const char *s, long v)
{
	char num[24];
	int k = sizeof(num);
	bool neg = v < 0;

	if (!s) {
		unsigned long u = neg ? -(unsigned long)v : (unsigned long)v;

		num[--k] = '\0';
		do {
			num[--k] = '0' + u % 10;
			u /= 10;
		} while (u);
		if (neg)
			num[--k] = '-';
		s = num + k;
	}
	while (*s && n->len + 1 < sizeof(n->buf))
		n->buf[n->len++] = *s++;
	n->buf[n->len] = '\0';
}

/* Creates an empty file owned by the JVM's euid: 0 or -errno. As root it
 * chowns the file; as the JVM's user (as_user) it owns it already. */
static int make_trigger(const struct jvm *j, int dirfd, const char *name, bool as_user)
{
	struct stat st;
	int fd, err = 0;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (!as_user && fchown(fd, j->uid, j->gid))
		err = -errno;
	else if (fstat(fd, &st))
		err = -errno;
	else if (st.st_uid != j->uid)
		err = -EPERM;
	close(fd);
	if (err)
		unlinkat(dirfd, name, 0);
	return err;
}

/* Where the trigger went: in its cwd or /tmp, as root or as the JVM. The
 * cwd comes first (HotSpot looks there first); as root because the JVM's
 * user may not write there; as the user for file systems of a user
 * namespace, where the host's root is not mapped and cannot create files. */
static int place_trigger(const struct jvm *j, const struct attach_job *a, bool *ret_in_cwd,
			 bool *ret_became, struct note *n)
{
	int err;

	if (j->cwd_fd >= 0) {
		err = make_trigger(j, j->cwd_fd, a->trig_name, false);
		if (!err) {
			*ret_in_cwd = true;
			return 0;
		}
		note_add(n, "cwd ", 0);
		note_add(n, NULL, err);
	}
	err = make_trigger(j, AT_FDCWD, a->trig_tmp, false);
	if (!err)
		return 0;
	note_add(n, ", /tmp ", 0);
	note_add(n, NULL, err);
	err = jvm_child_become(j);
	if (err)
		return err;
	*ret_became = true;
	if (j->cwd_fd >= 0 && !make_trigger(j, j->cwd_fd, a->trig_name, true)) {
		*ret_in_cwd = true;
		return 0;
	}
	err = make_trigger(j, AT_FDCWD, a->trig_tmp, true);
	if (err) {
		note_add(n, ", /tmp as the JVM's user ", 0);
		note_add(n, NULL, err);
	}
	return err;
}

static int start_listener(const struct jvm *j, const struct attach_job *a, bool *ret_became,
			  struct note *n)
{
	uint64_t delay = 20;
	bool in_cwd = false;
	int err;

	if (!j->sigquit)
		return -ENOTSUP;	/* SIGQUIT would kill it, not start the listener */
	err = place_trigger(j, a, &in_cwd, ret_became, n);
	if (err) {
		note_add(n, " (errno values of the trigger file)", 0);
		return -EACCES;
	}
	if (j->pidfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, j->pidfd, SIGQUIT, NULL, 0))
			return -errno;
	} else if (kill(j->pid, SIGQUIT)) {
		return -errno;
	}
	while (!is_socket(a->sock) && child_alive(j)) {
		uint64_t now = jvm_child_now(), left;

		if (now >= a->deadline)
			break;
		left = (a->deadline - now) / 1000000ull;
		sleep_ms(delay < left ? delay : left + 1);
		if (delay < 200)
			delay += 20;
	}
	if (in_cwd)
		unlinkat(j->cwd_fd, a->trig_name, 0);
	else
		unlink(a->trig_tmp);
	if (is_socket(a->sock))
		return 0;
	return child_alive(j) ? -ETIMEDOUT : -ESRCH;
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = jvm_child_now();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int attach_child(const struct jvm *j, void *arg, int out)
{
	const struct attach_job *a = arg;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t sent = 0, total = 0;
	struct note n = { .len = 0 };
	bool became = false;
	char buf[8192];
	int s, err;

	if (!is_socket(a->sock)) {
		err = start_listener(j, a, &became, &n);
		if (err) {
			if (n.len && write(out, n.buf, n.len) != (ssize_t)n.len)
				err = err ? err : -EIO;
			return err;
		}
	}
	if (!became) {
		err = jvm_child_become(j);
		if (err)
			return err;
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	memcpy(sun.sun_path, a->sock, strlen(a->sock) + 1);
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		if (err != -EINPROGRESS && err != -EAGAIN)
			goto out;
		err = wait_fd(s, POLLOUT, a->deadline);
		if (err)
			goto out;
	}
	while (sent < a->req_len) {
		ssize_t n = send(s, a->req + sent, a->req_len - sent, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			err = wait_fd(s, POLLOUT, a->deadline);
			if (err)
				goto out;
			continue;
		}
		if (n <= 0) {
			err = n < 0 ? -errno : -EPIPE;
			goto out;
		}
		sent += n;
	}
	for (;;) {
		ssize_t n = read(s, buf, sizeof(buf));

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			err = wait_fd(s, POLLIN, a->deadline);
			if (err)
				goto out;
			continue;
		}
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (total + n > REPLY_MAX) {
			err = -EFBIG;
			goto out;
		}
		if (write(out, buf, n) != n) {
			err = -EIO;
			goto out;
		}
		total += n;
	}
	err = total ? 0 : -ECONNRESET;
out:
	close(s);
	return err;
}

int jattach__run(const struct jvm *j, const char *cmd, const char *a1, const char *a2,
		 const char *a3, int timeout_ms, struct jattach_reply *ret)
{
	struct attach_job a = { 0 };
	struct timespec ts;
	char *out = NULL;
	size_t len = 0;
	int err;

	memset(ret, 0, sizeof(*ret));
	a.req = jattach_request(cmd, a1, a2, a3, &a.req_len);
	if (!a.req)
		return -errno;
	snprintf(a.sock, sizeof(a.sock), "/tmp/.java_pid%d", j->nspid);
	snprintf(a.trig_tmp, sizeof(a.trig_tmp), "/tmp/.attach_pid%d", j->nspid);
	snprintf(a.trig_name, sizeof(a.trig_name), ".attach_pid%d", j->nspid);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	a.deadline = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec +
		     (uint64_t)timeout_ms * 1000000ull;
	/* the child keeps its own deadline; the kill is a backstop */
	err = jvm__run(j, attach_child, &a, timeout_ms + 1000, REPLY_MAX, &out, &len);
	free((char *)a.req);
	if (err) {
		if (err == -ECONNREFUSED || err == -ENOENT || err == -ETIMEDOUT || err == -ECHILD)
			err = jvm__alive(j) ? err : -ESRCH;
		memset(ret, 0, sizeof(*ret));
		ret->text = out && out[0] ? out : NULL;
		if (!ret->text)
			free(out);
		return err;
	}
	err = jattach_parse_reply(out, len, !strcmp(cmd, "load"), ret);
	free(out);
	return err;
}

int jattach__jcmd(const struct jvm *j, const char *command_line, int timeout_ms, char **ret_text)
{
	struct jattach_reply r;
	int err = jattach__run(j, "jcmd", command_line, NULL, NULL, timeout_ms, &r);

	*ret_text = r.text;
	if (err)
		return err;
	return r.status == 0 ? 0 : -EPROTO;
}

int jattach__load(const struct jvm *j, const char *path, const char *options, int timeout_ms,
		  int *ret_code, char **ret_text)
{
	struct jattach_reply r;
	int err = jattach__run(j, "load", path, "true", options, timeout_ms, &r);

	*ret_text = r.text;
	if (err)
		return err;
	if (r.status != 0 || r.load_failed)
		return -EPROTO;
	*ret_code = r.code;
	return 0;
}

const char *jattach_strerror(int err)
{
	switch (err) {
	case -ESRCH:
		return "the JVM exited";
	case -ENOTSUP:
		return "the JVM does not handle SIGQUIT (started with -Xrs, or not ready)";
	case -ETIMEDOUT:
		return "the JVM's attach listener did not answer in time";
	case -EACCES:
		return "cannot create the attach trigger file";
	case -ECONNREFUSED:
	case -ECONNRESET:
		return "the JVM refused the attach connection";
	case -EPROTO:
		return "the JVM rejected the attach command";
	case -E2BIG:
		return "attach argument too long";
	default:
		return strerror(-err);
	}
}
