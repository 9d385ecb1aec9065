// SPDX-License-Identifier: Apache-2.0
/*
 * The Python runtime_ops; see python.h. profile() picks the backend per
 * mode, then either drives py-spy or runs the built-in sampler on a fixed
 * schedule (absolute deadlines on CLOCK_MONOTONIC, sleeping in slices so
 * a stop request is seen within 50 ms). Each deadline is moved by a random
 * +-25% of the period (the mean rate is unchanged): a strictly periodic
 * sampler aliases with periodic workloads and can see a 3:1 loop as 2:1.
 * A process that goes away turns the job into gProfiler's "process went
 * down during profiling" error.
 */
#include "python.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pyappid.h"
#include "pymeta.h"
#include "pypackages.h"
#include "pyruntime.h"
#include "pysampler.h"
#include "pyspy.h"
#include "xalloc.h"

/* How long a sleep between samples may last before cfg->stop is checked
 * again: longer than the period at gProfiler's frequencies, so a sample
 * costs one wake-up (each one is charged a share of the scheduler's
 * work), and short enough for SIGTERM to be answered at once. */
#define STOP_SLICE_NS 200000000ULL

static const char *const skipped_cmdlines[] = {
	"unattended-upgrades", "networkd-dispatcher", "supervisord", "tuned",
};

const char *python_option(const char *const *options, const char *name)
{
	for (size_t i = 0; options && options[i] && options[i + 1]; i += 2)
		if (!strcmp(options[i], name))
			return options[i + 1];
	return NULL;
}

static bool has_infix(const char *s, size_t len, const char *what)
{
	return memmem(s, len, what, strlen(what)) != NULL;
}

bool python_maps_path_matches(const char *line, size_t len)
{
	const char *slash = NULL;

	for (size_t i = len; i > 0; i--)
		if (line[i - 1] == '/') {
			slash = line + i - 1;
			break;
		}
	if (!slash || slash == line)
		return false;
	/* ^.+/(lib)?python[^/]*$ */
	size_t rest = line + len - slash - 1;
	if ((rest >= 6 && !memcmp(slash + 1, "python", 6)) ||
	    (rest >= 9 && !memcmp(slash + 1, "libpython", 9)))
		return true;
	/* ^.+/site-packages/.+?$ and ^.+/dist-packages/.+?$ */
	for (const char *p = line + 1; p < line + len; p++) {
		size_t left = line + len - p;

		if (left > 15 && !memcmp(p, "/site-packages/", 15))
			return true;
		if (left > 15 && !memcmp(p, "/dist-packages/", 15))
			return true;
	}
	return false;
}

static bool python_match(const struct procinfo *pi, const char *maps)
{
	bool found = false;
	const char *base;

	if (pi->pid == getpid())
		return false;
	for (const char *line = maps; line && *line && !found;) {
		const char *nl = strchrnul(line, '\n');

		found = python_maps_path_matches(line, nl - line);
		line = *nl ? nl + 1 : NULL;
	}
	if (!found)
		return false;
	/* gProfiler joins the argv with spaces and looks for these */
	for (int i = 0; i < pi->argc; i++)
		for (size_t k = 0; k < sizeof(skipped_cmdlines) / sizeof(skipped_cmdlines[0]); k++)
			if (has_infix(pi->argv[i], strlen(pi->argv[i]), skipped_cmdlines[k]))
				return false;
	base = strrchr(pi->exe, '/');
	base = base ? base + 1 : pi->exe;
	return strncmp(base, "pypy", 4) != 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000ULL, .tv_nsec = t % 1000000000ULL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static bool same_process(int pid, uint64_t start)
{
	uint64_t now;

	return !proc_start_time(pid, &now) && now == start;
}

static void set_error(struct runtime_result *res, bool skipped, char *reason)
{
	profile__free(res->prof);
	res->prof = NULL;
	free(res->error);
	res->error = reason;
	res->skipped = skipped;
}

/* Runs the built-in sampler for the session. */
static int sample_builtin(const struct runtime_job_config *cfg, struct pysampler *s,
			  const char *comm, uint64_t start, struct runtime_result *res)
{
	unsigned int freq = cfg->frequency ? cfg->frequency : 1;
	uint64_t period = 1000000000ULL / freq, t0 = mono_ns(), end = t0 + cfg->duration_ns;
	uint64_t rnd = t0 ^ ((uint64_t)cfg->pid << 32) ^ 0x9E3779B97F4A7C15ULL;
	uint32_t proc;
	bool gone = false;

	res->prof = profile__new();
	proc = profile__proc(res->prof, cfg->pid, profile__intern_cstr(res->prof, comm), GP_SRC_PYTHON);
	for (uint64_t i = 1; !(cfg->stop && *cfg->stop); i++) {
		uint64_t now, next;

		if (pysampler__sample(s, res->prof, proc) == -ESRCH) {
			gone = true;
			break;
		}
		/* the i-th deadline, jittered; when behind, skip the missed
		 * ones rather than burst */
		now = mono_ns();
		if (t0 + i * period + period / 4 < now)
			i = (now - t0) / period + 1;
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		next = t0 + i * period - period / 4 + rnd % (period / 2 + 1);
		if (next >= end)
			break;
		while (next > (now = mono_ns()) && !(cfg->stop && *cfg->stop))
			sleep_until(next - now > STOP_SLICE_NS ? now + STOP_SLICE_NS : next);
	}
	if (gone || !same_process(cfg->pid, start))
		set_error(res, false, xstrdup("process went down during profiling"));
	return 0;
}

static bool mode_is(const char *mode, const char *what)
{
	return mode && !strcmp(mode, what);
}

/* gProfiler tags package frames unless --no-python-versions. */
static struct pypackages *packages_for(const struct runtime_job_config *cfg, const char *version)
{
	const char *v = python_option(cfg->options, "python_add_versions");

	if (v && (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")))
		return NULL;
	return pypackages__new(cfg->pid, version);
}

static int run_pyspy(const struct runtime_job_config *cfg, const char *comm,
		     struct runtime_result *res)
{
	char *pyspy = pyspy_find(python_option(cfg->options, "pyspy_path"));
	struct pyruntime rt = { 0 };
	struct pypackages *pkgs;

	if (!pyspy) {
		set_error(res, false, xstrdup("py-spy not found (give --python-pyspy-path)"));
		return 0;
	}
	/* the version only tags the standard library; py-spy runs anyway */
	pyruntime__find(cfg->pid, &rt);
	pkgs = packages_for(cfg, rt.version);
	pyspy_profile(cfg, pyspy, comm, pkgs, res);
	pypackages__free(pkgs);
	free(pyspy);
	return 0;
}

static int python_profile(const struct runtime_job_config *cfg, struct runtime_result *res)
{
	const char *mode = cfg->mode ? cfg->mode : "auto";
	const char *ln = python_option(cfg->options, "python_lineno");
	enum pyline_mode lmode = ln && !strcmp(ln, "current") ? PYLINE_MODE_CURRENT : PYLINE_MODE_FIRST;
	char comm[PROC_COMM_LEN] = "";
	const char *reason = NULL;
	struct pysampler *s = NULL;
	struct pypackages *pkgs;
	struct pyruntime rt;
	uint64_t start;
	char *pyspy;
	int r;

	memset(res, 0, sizeof(*res));
	if (mode_is(mode, "disabled")) {
		set_error(res, true, xstrdup("Python profiling is disabled"));
		return 0;
	}
	if (proc_start_time(cfg->pid, &start) || proc_comm(cfg->pid, comm)) {
		set_error(res, false, xstrdup("process went down during profiling"));
		return 0;
	}
	if (mode_is(mode, "pyspy") || mode_is(mode, "py-spy"))
		return run_pyspy(cfg, comm, res);

	r = pyruntime__find(cfg->pid, &rt);
	if (r == -ESRCH) {
		set_error(res, false, xstrdup("process went down during profiling"));
		return 0;
	}
	if (!r) {
		s = pysampler__new(cfg->pid, &rt, lmode, &reason);
		r = s ? 0 : -errno;
	}
	if (r == -ESRCH) {
		set_error(res, false, xstrdup("process went down during profiling"));
		return 0;
	}
	if (r) {
		/* auto: py-spy knows versions and builds we do not */
		if (mode_is(mode, "auto") && r != -ESRCH &&
		    (pyspy = pyspy_find(python_option(cfg->options, "pyspy_path")))) {
			free(pyspy);
			return run_pyspy(cfg, comm, res);
		}
		if (r == -ENOENT)
			set_error(res, true, xasprintf("no CPython %s runtime found", pylayout_supported()));
		else if (r == -ENOTSUP && reason && strstr(reason, "free-threaded"))
			set_error(res, true, xasprintf("Python %u.%u: %s", rt.major, rt.minor, reason));
		else if (r == -ENOTSUP)
			set_error(res, true, xasprintf("unsupported Python version %u.%u (built-in sampler: %s)",
						       rt.major, rt.minor, pylayout_supported()));
		else
			set_error(res, false, xasprintf("Python %u.%u: %s", rt.major, rt.minor,
							reason ? reason : strerror(-r)));
		return 0;
	}
	pkgs = packages_for(cfg, rt.version);
	pysampler__set_packages(s, pkgs);
	sample_builtin(cfg, s, comm, start, res);
	pysampler__free(s);
	pypackages__free(pkgs);
	return 0;
}

static char *python_appid_op(const struct procinfo *pi)
{
	return python_appid(pi);
}

static json_t *python_meta_op(const struct procinfo *pi)
{
	return python_app_metadata(pi);
}

const struct runtime_ops python_runtime_ops = {
	.name = "python",
	.source = GP_SRC_PYTHON,
	.max_frequency = 1000,
	.match = python_match,
	.profile = python_profile,
	.appid = python_appid_op,
	.app_metadata = python_meta_op,
};
