// SPDX-License-Identifier: Apache-2.0
/*
 * Test and bench driver for the Python collector: runs
 * python_runtime_ops.profile() on one pid and prints its stacks as folded
 * lines ("frame;frame count", root first), or one of the collector's other
 * answers. Integration tests and scripts/bench.d/python use it to test the
 * sampler without the daemon.
 *
 *   pysample [-m MODE] [-l first|current] [-s PYSPY] [-f HZ] [-d SEC] [-t TMP] [-n] PID
 *            (-n: no package version tags, as --no-python-versions)
 *            prints stacks; "ERROR: reason" (exit 3) / "SKIPPED: reason" (exit 4)
 *   pysample --appid PID | --meta PID | --match PID | --runtime PID
 *   pysample --layout PID          the layout the sampler uses for PID
 *   pysample --table 3.X           the built-in table for 3.X
 *   pysample --bench N PID         N back-to-back samples: CPU cost per sample
 *   pysample --bench-ref N PID     N reference iterations (see below)
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "procinfo.h"
#include "profile.h"
#include "python/pyappid.h"
#include "python/pymem.h"
#include "python/pymeta.h"
#include "python/pyoffsets.h"
#include "python/pyruntime.h"
#include "python/pysampler.h"
#include "python/python.h"
#include "xalloc.h"

static int parse_int(const char *s, long min, long max, long *ret)
{
	char *e;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (errno || e == s || *e || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static void print_profile(struct profile *p)
{
	const struct profile_sample *s;
	size_t n;

	s = profile__samples(p, &n);
	for (size_t i = 0; i < n; i++) {
		uint32_t nf;
		const gp_str *f = profile__stack_frames(p, s[i].stack, &nf);

		for (uint32_t k = 0; k < nf; k++)
			printf("%s%s", k ? ";" : "", profile__str(p, f[k]));
		printf(" %llu\n", (unsigned long long)s[i].count);
	}
}

static void print_layout(const struct pylayout *l)
{
#define F(x) printf("%s %u\n", #x, (unsigned int)l->x)
	printf("version %u.%u\n", l->major, l->minor);
	F(rt_interp_head);
	if (l->gil_kind == PYGIL_TSTATE_CURRENT)
		F(rt_tstate_current);
	F(is_next);
	F(is_tstate_head);
	if (l->gil_kind == PYGIL_INTERP) {
		F(is_gil);
		F(gil_last_holder);
		F(gil_locked);
	}
	F(ts_next);
	F(ts_interp);
	F(ts_frame);
	if (l->cframe_current_frame != PYLAYOUT_DIRECT_FRAME)
		F(cframe_current_frame);
	F(ts_thread_id);
	if (l->ts_native_thread_id)
		F(ts_native_thread_id);
	F(fr_back);
	F(fr_code);
	F(fr_lasti);
	if (l->frame_kind == PYFRAME_INTERP)
		F(fr_owner);
	F(co_firstlineno);
	F(co_filename);
	F(co_name);
	if (l->frame_kind == PYFRAME_INTERP) {
		F(co_qualname);
		F(co_code_adaptive);
	}
	F(co_linetable);
	F(str_length);
	F(str_state);
	F(str_ascii_data);
	F(str_compact_data);
	F(str_legacy_data);
	F(bytes_size);
	F(bytes_sval);
	F(ob_type);
#undef F
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct pysampler *open_sampler(int pid, enum pyline_mode mode)
{
	struct pyruntime rt;
	const char *reason = "";
	struct pysampler *s;
	int r = pyruntime__find(pid, &rt);

	if (r) {
		fprintf(stderr, "pysample: no runtime in %d: %s\n", pid, strerror(-r));
		return NULL;
	}
	s = pysampler__new(pid, &rt, mode, &reason);
	if (!s)
		fprintf(stderr, "pysample: %s (%s)\n", reason, strerror(errno));
	return s;
}

/* N samples back to back; prints CPU per sample and per 1000 stacks. */
static int bench(int pid, long n, enum pyline_mode mode)
{
	struct pysampler *s = open_sampler(pid, mode);
	struct pysampler_stats st;
	struct profile *p;
	uint32_t proc;
	uint64_t t0, t1;

	if (!s)
		return 1;
	p = profile__new();
	proc = profile__proc(p, pid, profile__intern_cstr(p, "bench"), GP_SRC_PYTHON);
	t0 = cpu_ns();
	for (long i = 0; i < n; i++)
		if (pysampler__sample(s, p, proc) == -ESRCH)
			break;
	t1 = cpu_ns();
	pysampler__stats(s, &st);
	printf("samples %llu\nstacks %llu\nidle %llu\nerrors %llu\nframes %llu\nsyscalls %llu\n"
	       "pages %llu\ncpu_ns %llu\n",
	       (unsigned long long)st.samples, (unsigned long long)st.stacks,
	       (unsigned long long)st.idle, (unsigned long long)st.errors,
	       (unsigned long long)st.frames, (unsigned long long)st.syscalls,
	       (unsigned long long)st.pages, (unsigned long long)(t1 - t0));
	pysampler__free(s);
	profile__free(p);
	return 0;
}

/* References measured the same way: n reads of /proc/PID/stat (what a
 * /proc-based "is it on CPU" check costs per thread), and n single 8-byte
 * process_vm_readv calls (the floor of any remote read). */
static int bench_ref(int pid, long n)
{
	char path[64];
	uint64_t t0, t1, t2, v;
	struct pyruntime rt;

	if (pyruntime__find(pid, &rt))
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	t0 = cpu_ns();
	for (long i = 0; i < n; i++)
		free(proc_read_file(path, 4096, NULL));
	t1 = cpu_ns();
	for (long i = 0; i < n; i++)
		pymem_read_direct(pid, rt.runtime, &v, sizeof(v));
	t2 = cpu_ns();
	printf("iterations %ld\nstat_cpu_ns %llu\nreadv_cpu_ns %llu\n", n,
	       (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "lineno", required_argument, NULL, 'l' },
		{ "pyspy", required_argument, NULL, 's' },
		{ "freq", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "tmp", required_argument, NULL, 't' },
		{ "appid", no_argument, NULL, 'A' },
		{ "meta", no_argument, NULL, 'M' },
		{ "match", no_argument, NULL, 'X' },
		{ "runtime", no_argument, NULL, 'R' },
		{ "layout", no_argument, NULL, 'L' },
		{ "table", required_argument, NULL, 'T' },
		{ "bench", required_argument, NULL, 'B' },
		{ "bench-ref", required_argument, NULL, 'F' },
		{ "no-versions", no_argument, NULL, 'n' },
		{ 0 },
	};
	const char *mode = "builtin", *lineno = "first", *pyspy = NULL, *tmp = "/tmp";
	long freq = 100, dur = 3, pid, n = 0;
	int what = 0, c;
	bool versions = true;
	volatile bool stop = false;

	while ((c = getopt_long(argc, argv, "m:l:s:f:d:t:n", opts, NULL)) != -1) {
		switch (c) {
		case 'n': versions = false; break;
		case 'm': mode = optarg; break;
		case 'l': lineno = optarg; break;
		case 's': pyspy = optarg; break;
		case 't': tmp = optarg; break;
		case 'f':
			if (parse_int(optarg, 1, 100000, &freq))
				return 2;
			break;
		case 'd':
			if (parse_int(optarg, 1, 3600, &dur))
				return 2;
			break;
		case 'T': {
			unsigned int ma, mi;
			const struct pylayout *l;

			if (sscanf(optarg, "%u.%u", &ma, &mi) != 2 || !(l = pylayout_for_version(ma, mi)))
				return 2;
			print_layout(l);
			return 0;
		}
		case 'B':
		case 'F':
			if (parse_int(optarg, 1, 100000000, &n))
				return 2;
			what = c;
			break;
		default:
			what = c;
			break;
		}
	}
	if (optind + 1 != argc || parse_int(argv[optind], 1, 1 << 30, &pid)) {
		fprintf(stderr, "usage: pysample [options] PID\n");
		return 2;
	}
	if (what == 'B')
		return bench(pid, n, strcmp(lineno, "current") ? PYLINE_MODE_FIRST : PYLINE_MODE_CURRENT);
	if (what == 'F')
		return bench_ref(pid, n);
	if (what == 'L') {
		struct pysampler *s = open_sampler(pid, PYLINE_MODE_FIRST);

		if (!s)
			return 1;
		print_layout(pysampler__layout(s));
		pysampler__free(s);
		return 0;
	}
	if (what == 'R') {
		struct pyruntime rt;
		int r = pyruntime__find(pid, &rt);

		if (r) {
			printf("ERROR: %s\n", strerror(-r));
			return 3;
		}
		printf("version %s\nmajor %u\nminor %u\nshared %d\nruntime 0x%llx\n", rt.version,
		       rt.major, rt.minor, rt.shared, (unsigned long long)rt.runtime);
		return 0;
	}
	if (what == 'A' || what == 'M' || what == 'X') {
		struct procinfo *pi = procinfo__read(pid);

		if (!pi)
			return 1;
		if (what == 'A') {
			char *id = python_runtime_ops.appid(pi);

			printf("%s\n", id ? id : "(none)");
			free(id);
		} else if (what == 'M') {
			json_t *j = python_runtime_ops.app_metadata(pi);
			char *s = j ? json_dumps(j, JSON_PRESERVE_ORDER) : NULL;

			printf("%s\n", s ? s : "null");
			free(s);
			json_decref(j);
		} else {
			char path[64], *maps;

			snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
			maps = proc_read_file(path, 64u << 20, NULL);
			printf("%s\n", maps && python_runtime_ops.match(pi, maps) ? "yes" : "no");
			free(maps);
		}
		procinfo__free(pi);
		return 0;
	}

	const char *options[] = { "python_lineno", lineno, "python_add_versions",
				  versions ? "true" : "false", pyspy ? "pyspy_path" : NULL, pyspy, NULL };
	struct runtime_job_config cfg = {
		.pid = pid,
		.frequency = freq,
		.duration_ns = (uint64_t)dur * 1000000000ULL,
		.stop = &stop,
		.tmp_dir = tmp,
		.mode = mode,
		.options = options,
	};
	struct runtime_result res = { 0 };
	int rc = 0;

	python_runtime_ops.profile(&cfg, &res);
	if (res.prof) {
		print_profile(res.prof);
	} else {
		printf("%s: %s\n", res.skipped ? "SKIPPED" : "ERROR", res.error ? res.error : "?");
		rc = res.skipped ? 4 : 3;
	}
	profile__free(res.prof);
	free(res.error);
	return rc;
}
