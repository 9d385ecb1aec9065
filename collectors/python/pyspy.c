// SPDX-License-Identifier: Apache-2.0
/*
 * py-spy driver; see pyspy.h. The child is started with posix_spawn and an
 * argv array (no shell), stdin/stdout on /dev/null and stderr on a pipe we
 * keep the first 64 KiB of, to tell "process exited before py-spy
 * started" from other failures as gProfiler does. We poll the child every
 * 100 ms for its exit, the deadline and the session's stop flag.
 */
#include "pyspy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procinfo.h"
#include "xalloc.h"

extern char **environ;

#define STDERR_KEEP (64u << 10)
#define OUTPUT_MAX (256u << 20)
#define MAX_FRAMES 4096

/* Python's int() on a count: optional sign, digits with single '_'
 * between them, surrounding whitespace. Negative counts are refused. */
static int parse_count(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;
	bool digit = false;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == '+')
		i++;
	for (; i < n; i++) {
		if (s[i] == '_' && digit && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (s[i] - '0');
		digit = true;
	}
	if (!digit)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Interns frame f (fl bytes), suffixed and tagged. */
static gp_str add_frame(const char *f, size_t fl, struct profile *prof, struct pypackages *pkgs,
			char *buf)
{
	char *tagged;
	gp_str id;

	if (!fl)
		return profile__intern(prof, "", 0);
	if (fl >= 4 && !memcmp(f + fl - 4, "_[p]", 4)) {
		memcpy(buf, f, fl);
	} else {
		memcpy(buf, f, fl);
		memcpy(buf + fl, "_[p]", 4);
		fl += 4;
	}
	tagged = pkgs ? pypackages__annotate(pkgs, buf, fl) : NULL;
	id = tagged ? profile__intern_cstr(prof, tagged) : profile__intern(prof, buf, fl);
	free(tagged);
	return id;
}

static void add_line(const char *line, size_t n, struct profile *prof, uint32_t proc,
		     struct pypackages *pkgs, gp_str *frames, char *buf, int *taken)
{
	const char *sp = NULL;
	uint64_t count;
	uint32_t nf = 0;
	bool blank = true;

	for (size_t i = 0; i < n; i++)
		if (line[i] != ' ' && line[i] != '\t')
			blank = false;
	if (blank || line[0] == '#')
		return;
	for (size_t i = n; i > 0; i--)
		if (line[i - 1] == ' ') {
			sp = line + i - 1;
			break;
		}
	if (!sp || parse_count(sp + 1, line + n - sp - 1, &count))
		return;
	for (const char *f = line; f <= sp && nf < MAX_FRAMES;) {
		const char *e = memchr(f, ';', sp - f);
		size_t fl;

		if (!e)
			e = sp;
		fl = e - f;
		if (fl + 5 <= 65536)
			frames[nf++] = add_frame(f, fl, prof, pkgs, buf);
		f = e + 1;
		if (e == sp)
			break;
	}
	if (!nf || sp == line)
		return;
	profile__add(prof, proc, profile__stack(prof, frames, nf), count);
	(*taken)++;
}

int pyspy_parse_raw(const char *text, size_t len, struct profile *prof, uint32_t proc,
		    struct pypackages *pkgs)
{
	gp_str *frames = xmalloc(MAX_FRAMES * sizeof(*frames));
	char *buf = xmalloc(65536 + 8);
	int taken = 0;

	for (size_t i = 0; i < len;) {
		size_t j = i;

		while (j < len && text[j] != '\n' && text[j] != '\r')
			j++;
		if (j > i)
			add_line(text + i, j - i, prof, proc, pkgs, frames, buf, &taken);
		i = j + 1;
	}
	free(buf);
	free(frames);
	return taken;
}

char **pyspy_argv(const char *pyspy, int pid, unsigned int frequency, unsigned int duration_s,
		  const char *output)
{
	char **argv = xcalloc(18, sizeof(char *));
	int n = 0;

	argv[n++] = xstrdup(pyspy);
	argv[n++] = xstrdup("record");
	argv[n++] = xstrdup("-r");
	argv[n++] = xasprintf("%u", frequency);
	argv[n++] = xstrdup("-d");
	argv[n++] = xasprintf("%u", duration_s);
	argv[n++] = xstrdup("--nonblocking");
	argv[n++] = xstrdup("--format");
	argv[n++] = xstrdup("raw");
	argv[n++] = xstrdup("-F");
	argv[n++] = xstrdup("--output");
	argv[n++] = xstrdup(output);
	argv[n++] = xstrdup("-p");
	argv[n++] = xasprintf("%d", pid);
	argv[n++] = xstrdup("--full-filenames");
	argv[n++] = xstrdup("--gil");
	argv[n] = NULL;
	return argv;
}

void pyspy_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

static bool is_exec_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && (st.st_mode & 0111) && !access(path, X_OK);
}

char *pyspy_find(const char *path)
{
	const char *env = getenv("PATH");
	char self[PATH_MAX];
	ssize_t n;

	if (path && *path)
		return is_exec_file(path) ? xstrdup(path) : NULL;
	if (env) {
		char *copy = xstrdup(env), *save = NULL;

		for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			char *p = xasprintf("%s/py-spy", *dir ? dir : ".");

			if (is_exec_file(p)) {
				free(copy);
				return p;
			}
			free(p);
		}
		free(copy);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash, *p;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			p = xasprintf("%s/py-spy", self);
			if (is_exec_file(p))
				return p;
			free(p);
		}
	}
	return NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool process_alive(int pid, uint64_t start)
{
	uint64_t now;
	char path[64], *stat;
	bool alive;

	if (proc_start_time(pid, &now) || now != start)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	stat = proc_read_file(path, 4096, NULL);
	if (!stat)
		return false;
	char *p = strrchr(stat, ')');

	alive = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	free(stat);
	return alive;
}

struct child {
	pid_t pid;
	int err_fd;
	char *err;
	size_t err_len;
};

static int spawn(char **argv, struct child *c)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], r;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	r = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r) {
		close(pipefd[0]);
		return -r;
	}
	c->err_fd = pipefd[0];
	fcntl(c->err_fd, F_SETFL, fcntl(c->err_fd, F_GETFL) | O_NONBLOCK);
	c->err = xmalloc(STDERR_KEEP + 1);
	c->err_len = 0;
	return 0;
}

static void drain_stderr(struct child *c)
{
	char sink[4096];

	for (;;) {
		ssize_t n;

		if (c->err_len < STDERR_KEEP)
			n = read(c->err_fd, c->err + c->err_len, STDERR_KEEP - c->err_len);
		else
			n = read(c->err_fd, sink, sizeof(sink));
		if (n <= 0)
			break;
		if (c->err_len < STDERR_KEEP)
			c->err_len += n;
	}
	c->err[c->err_len] = '\0';
}

/* Waits for the child until deadline or *stop; 0 and its wait status,
 * -ETIMEDOUT or -EINTR (stopped) after killing it. */
static int wait_child(struct child *c, uint64_t deadline, const volatile bool *stop, int *ret_status)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->err_fd, .events = POLLIN };
		int status;
		pid_t w = waitpid(c->pid, &status, WNOHANG);

		if (w == c->pid) {
			drain_stderr(c);
			*ret_status = status;
			return 0;
		}
		if (w < 0 && errno != EINTR)
			return -errno;
		if (mono_ns() >= deadline || (stop && *stop)) {
			kill(c->pid, SIGKILL);
			while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
				;
			drain_stderr(c);
			return stop && *stop ? -EINTR : -ETIMEDOUT;
		}
		poll(&pfd, 1, 100);
		drain_stderr(c);
	}
}

int pyspy_profile(const struct runtime_job_config *cfg, const char *pyspy, const char *comm,
		  struct pypackages *pkgs, struct runtime_result *res)
{
	unsigned int freq = cfg->frequency, dur;
	uint64_t start = 0, rnd = 0, deadline;
	struct child c = { .pid = -1, .err_fd = -1 };
	char *out = NULL, **argv = NULL, *text = NULL;
	int status = 0, r;
	size_t len;

	if (freq > PYSPY_MAX_FREQUENCY)
		freq = PYSPY_MAX_FREQUENCY;
	if (!freq)
		freq = 1;
	dur = (unsigned int)((cfg->duration_ns + 500000000ULL) / 1000000000ULL);
	if (!dur)
		dur = 1;
	if (proc_start_time(cfg->pid, &start)) {
		res->error = xstrdup("process went down during profiling");
		return 0;
	}
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = mono_ns() ^ ((uint64_t)getpid() << 32);
	out = xasprintf("%s/pyspy.%016llx.%d.col", cfg->tmp_dir ? cfg->tmp_dir : "/tmp",
			(unsigned long long)rnd, cfg->pid);
	argv = pyspy_argv(pyspy, cfg->pid, freq, dur, out);
	r = spawn(argv, &c);
	if (r) {
		res->error = xasprintf("exception FileNotFoundError (py-spy: %s)", strerror(-r));
		goto out;
	}
	deadline = mono_ns() + (uint64_t)(dur + PYSPY_EXTRA_TIMEOUT_S) * 1000000000ULL;
	r = wait_child(&c, deadline, cfg->stop, &status);
	if (r == -ETIMEDOUT) {
		res->error = xstrdup("exception CalledProcessTimeoutError");
		goto out;
	}
	if (r == -EINTR) {
		res->error = xstrdup("profiling stopped");
		goto out;
	}
	if (r) {
		res->error = xasprintf("exception OSError (%s)", strerror(-r));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		bool alive = process_alive(cfg->pid, start);

		if (!alive && strstr(c.err, "Error: Failed to get process executable name. "
					    "Check that the process is running.\n"))
			res->error = xstrdup("process exited before py-spy started");
		else if (!alive)
			res->error = xstrdup("process went down during profiling");
		else
			res->error = xstrdup("exception CalledProcessError");
		goto out;
	}
	text = proc_read_file(out, OUTPUT_MAX, &len);
	if (!text) {
		res->error = xstrdup("exception FileNotFoundError");
		goto out;
	}
	res->prof = profile__new();
	uint32_t proc = profile__proc(res->prof, cfg->pid, profile__intern_cstr(res->prof, comm),
				      GP_SRC_PYTHON);
	pyspy_parse_raw(text, len, res->prof, proc, pkgs);
out:
	if (out)
		unlink(out);
	if (c.err_fd >= 0)
		close(c.err_fd);
	free(c.err);
	free(text);
	free(out);
	pyspy_argv_free(argv);
	return 0;
}
