// SPDX-License-Identifier: Apache-2.0
/*
 * The session loop. One epoll set holds a signalfd (SIGINT/SIGTERM: finish
 * the current session early, write it, stop), a 1 s timerfd (drain the
 * native sampler, sample memory, check the controller pid) and the native
 * collector's fd (new-process events). Runtime jobs run in their own
 * threads and are collected with a deadline at the session's end.
 */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <utime.h>

#include "col.h"
#include "collector.h"
#include "containers.h"
#include "extmeta.h"
#include "flamegraph.h"
#include "log.h"
#include "merge.h"
#include "metadata.h"
#include "metrics.h"
#include "nodejs.h"
#include "outdir.h"
#include "rtjobs.h"
#include "runtimes.h"
#include "upload.h"
#include "xalloc.h"

/* Runtime jobs get this long past the session's end before they are
 * reported as timed out. */
#define JOB_GRACE_NS (10ULL * 1000000000ULL)

struct daemon {
	struct args *a;
	const struct collector_ops *ops;
	struct collector *native;
	struct containers *containers;
	json_t *static_meta;
	json_t *app_meta;		/* this session's application_metadata list */
	char *tmp_dir;
	int epfd, sigfd, timerfd;
	bool stop;
	uint64_t last_signal_ns;
	struct rtjobs *jobs;		/* this session's, for spawned processes */
	json_t *ext_static, *ext_app;	/* --external-metadata, this session */
	uint64_t session_end_ns;
	struct collector_stats stats_prev;
	struct upload *upload;		/* NULL without -u / --pyroscope-server */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- enrichment ---- */

static int app_meta_index(struct daemon *d, json_t *meta)
{
	size_t i;
	json_t *v;

	if (!meta || !d->a->application_metadata)
		return 0;
	json_array_foreach(d->app_meta, i, v)
		if (i > 0 && json_equal(v, meta))
			return (int)i;
	json_array_append(d->app_meta, meta);
	return (int)json_array_size(d->app_meta) - 1;
}

static const char *container_name(struct daemon *d, const struct procinfo *pi)
{
	if (!d->a->container_names || !pi || !pi->container_id)
		return "";
	return containers__name(d->containers, pi->container_id);
}

/* Called by the native collector for each process it adds to a profile. */
static void on_native_proc(void *arg, struct profile *prof, uint32_t proc,
			   const struct procinfo *pi)
{
	struct daemon *d = arg;
	struct profile_proc *pp = profile__proc_at(prof, proc);
	char *appid;

	if (!pi)
		return;
	pp->container = profile__intern_cstr(prof, container_name(d, pi));
	if (d->a->collect_appids && (appid = nodejs_appid(pi))) {
		pp->appid = profile__intern_cstr(prof, appid);
		free(appid);
	}
}

/* --profile-spawned-processes: a process first sampled mid-session gets a
 * runtime job for the rest of the session. */
static void on_new_process(void *arg, int pid)
{
	struct daemon *d = arg;
	uint64_t now = mono_ns();

	if (d->a->profile_spawned_processes && d->jobs && now < d->session_end_ns &&
	    rtjobs__add(d->jobs, pid, d->session_end_ns - now))
		log_debug("Profiling spawned process %d for the rest of the session", pid);
}

/* ---- collectors ---- */

static const struct collector_ops *const engines[] = {
	&native_bpf_ops,
	&native_perf_ops,	/* no BPF needed: perf_event ring buffers */
};

static int open_native(struct daemon *d)
{
	struct collector_config cfg = {
		.frequency = d->a->frequency,
		.mode = !strcmp(d->a->perf_mode, "dwarf")   ? COLLECTOR_DWARF
			: !strcmp(d->a->perf_mode, "smart") ? COLLECTOR_SMART
							    : COLLECTOR_FP,
		.dwarf_stack_size = d->a->perf_dwarf_stack_size,
		.pids = d->a->pids,
		.npids = d->a->npids,
		.insert_dso_name = d->a->insert_dso_name,
		.on_proc = on_native_proc,
		.on_proc_arg = d,
		.on_new_process = on_new_process,
	};
	const char *want = d->a->perf_engine, *why = "the default";
	char *because = NULL;
	int r = -ENOENT;

	if (!strcmp(d->a->perf_mode, "disabled")) {
		log_info("Native sampling is disabled (--perf-mode disabled): runtime profiles only");
		return 0;
	}
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		const char *reason = "";

		if (strcmp(want, "auto") && strcmp(want, engines[i]->name))
			continue;
		r = engines[i]->open(&cfg, &d->native, &reason);
		if (!r) {
			d->ops = engines[i];
			if (strcmp(want, "auto"))
				why = "chosen by --perf-engine";
			else if (because)
				why = because;
			log_info("Native sampling engine: %s, %s (cpu-clock at %u Hz on every CPU, %s "
				 "mode)", engines[i]->name, why, d->a->frequency, d->a->perf_mode);
			free(because);
			return 0;
		}
		log_warning("Native sampling engine %s cannot run: %s (%s)", engines[i]->name, reason,
			    strerror(-r));
		if (!because)
			because = xasprintf("as %s cannot run: %s", engines[i]->name, reason);
	}
	free(because);
	log_critical("No native sampling engine could start; consider running gProfiler with "
		     "'--perf-mode disabled' to avoid native sampling");
	return r;
}

/* ---- runtime jobs ---- */

static struct rtjobs *start_jobs(struct daemon *d, const char *const *modes,
				 const char *const *options)
{
	struct rtjobs_config cfg = {
		.frequency = d->a->frequency,
		.duration_ns = (uint64_t)d->a->duration * 1000000000ULL,
		.pids = d->a->pids,
		.npids = d->a->npids,
		.tmp_dir = d->tmp_dir,
		.modes = modes,
		.options = options,
		.appids = d->a->collect_appids,
		.app_metadata = d->a->application_metadata,
		.max_jobs = 256,
	};

	return rtjobs__start(&cfg, runtime_registry);
}

/* ---- output ---- */

static json_t *make_header(struct daemon *d, struct metrics *m)
{
	json_t *h = json_object();
	json_t *names = json_array();
	size_t n;
	const char *const *seen = containers__seen(d->containers, &n);

	for (size_t i = 0; i < n; i++)
		json_array_append_new(names, json_string(seen[i]));
	if (!d->a->container_names)
		json_array_clear(names);
	json_object_set_new(h, "containers", names);
	json_object_set_new(h, "container_names_enabled", json_boolean(d->a->container_names));
	json_object_set_new(h, "metadata", metadata_current(d->static_meta, d->a->collect_metadata,
							    d->a->profiling_mode));
	if (d->a->collect_metadata && d->ext_static)
		json_object_set(json_object_get(h, "metadata"), "external_metadata", d->ext_static);
	json_object_set_new(h, "metrics", d->a->collect_metrics ? metrics__json(m)
			    : json_pack("{s:n,s:n}", "cpu_avg", "mem_avg"));
	json_object_set(h, "application_metadata", d->app_meta);
	json_object_set_new(h, "application_metadata_enabled",
			    json_boolean(d->a->application_metadata));
	json_object_set_new(h, "profiling_mode", json_string(d->a->profiling_mode));
	return h;
}

struct col_job {
	const json_t *header;
	const struct profile *p;
	struct col_options co;
};

static int write_col(FILE *f, void *arg)
{
	struct col_job *j = arg;
	int64_t n = col__write(f, j->header, j->p, &j->co);

	return n < 0 ? (int)n : 0;
}

struct html_job {
	const struct profile *p;
	struct flamegraph_meta fm;
};

static int write_html(FILE *f, void *arg)
{
	struct html_job *j = arg;

	return flamegraph__write(f, j->p, &j->fm);
}

static void write_outputs(struct daemon *d, const json_t *header, const struct profile *p,
			  time_t start, time_t end)
{
	const char *dir = d->a->output_dir;
	struct col_job cj = {
		.header = header,
		.p = p,
		.co = {
			.app_metadata_idx = d->a->application_metadata && !d->a->profile_api_version,
			.container_frame = !d->a->profile_api_version,
			.appids = d->a->collect_appids,
		},
	};
	char start_ts[32], end_ts[32], *base = outdir__session_name(dir, end), *name;
	int r;

	name = xasprintf("%s.col", base);
	r = outdir__publish(dir, name, "last_profile.col", d->a->rotating_output, write_col, &cj);
	if (r)
		log_error("Failed to write %s/%s: %s", dir, name, strerror(-r));
	else
		log_info("Saved collapsed stacks to %s/%s", dir, name);
	free(name);
	if (!r && d->a->flamegraph) {
		iso_time(start, start_ts, sizeof(start_ts));
		iso_time(end, end_ts, sizeof(end_ts));
		struct html_job hj = {
			.p = p,
			.fm = { metadata_hostname(), d->a->service_name, start_ts, end_ts },
		};

		name = xasprintf("%s.html", base);
		r = outdir__publish(dir, name, "last_flamegraph.html", d->a->rotating_output,
				    write_html, &hj);
		if (r)
			log_error("Failed to write %s/%s: %s", dir, name, strerror(-r));
		else
			log_info("Saved flamegraph to %s/%s", dir, name);
		free(name);
	}
	free(base);
}

/* The native sampler's counters for this session, logged and put in the
 * header's metadata so lost stacks are never hidden. */
static void report_stats(struct daemon *d, json_t *header)
{
	struct collector_stats s, *p = &d->stats_prev;
	json_t *meta = json_object_get(header, "metadata"), *js;

	if (!d->native)
		return;
	d->ops->stats(d->native, &s);
	js = json_pack("{s:s,s:I,s:I,s:I,s:I}", "engine", d->ops->name,
		       "samples", (json_int_t)(s.samples - p->samples),
		       "stack_errors", (json_int_t)(s.stack_errors - p->stack_errors),
		       "stacks_dropped", (json_int_t)(s.stacks_dropped - p->stacks_dropped),
		       "lost_samples", (json_int_t)(s.lost - p->lost));
	if (strcmp(d->a->perf_mode, "fp")) {
		/* DWARF and smart modes: how user-space unwinding went */
		json_object_set_new(js, "unwound", json_integer((json_int_t)(s.unwound - p->unwound)));
		json_object_set_new(js, "unwind_truncated",
				    json_integer((json_int_t)(s.unwind_truncated - p->unwind_truncated)));
		json_object_set_new(js, "dwarf_ring_full",
				    json_integer((json_int_t)(s.dwarf_ring_full - p->dwarf_ring_full)));
		if (!strcmp(d->a->perf_mode, "smart")) {
			json_object_set_new(js, "smart_fp_processes", json_integer((json_int_t)s.smart_fp));
			json_object_set_new(js, "smart_dwarf_processes",
					    json_integer((json_int_t)s.smart_dwarf));
		}
	}
	if (meta)
		json_object_set(meta, "sampler_stats", js);
	if (s.stacks_dropped > p->stacks_dropped || s.stack_errors > p->stack_errors ||
	    s.lost > p->lost)
		log_warning("Native sampler: %" PRIu64 " samples, %" PRIu64
			    " stacks unreadable, %" PRIu64 " stacks not stored (map full), %" PRIu64
			    " samples not counted",
			    s.samples - p->samples, s.stack_errors - p->stack_errors,
			    s.stacks_dropped - p->stacks_dropped, s.lost - p->lost);
	else
		log_debug("Native sampler: %" PRIu64 " samples", s.samples - p->samples);
	if (d->a->diagnostics)
		log_info("Diagnostics: %zu processes and %zu ELF files cached, %zu KiB of caches, "
			 "%" PRIu64 " drains",
			 s.procs, s.dsos, s.cache_bytes / 1024, s.drains);
	json_decref(js);
	*p = s;
}

static void log_usage(void)
{
	char *st = proc_read_file("/proc/self/status", 1 << 16, NULL), *rss;

	rss = st ? strstr(st, "VmRSS:") : NULL;
	if (rss) {
		char *e = strchr(rss, '\n');

		if (e)
			*e = '\0';
		log_info("gProfiler usage: %s", rss);
	}
	free(st);
}

/* Re-reads --external-metadata for this session (a stale file is ignored
 * now, with a warning) and applies its per-pid application metadata. */
static void apply_external_metadata(struct daemon *d, struct profile *p)
{
	char err[256];
	json_t *s, *a;

	if (!d->a->external_metadata)
		return;
	if (extmeta__load(d->a->external_metadata, &s, &a, err, sizeof(err))) {
		log_warning("Ignoring external metadata: %s", err);
		s = json_object();
		a = json_object();
	}
	json_decref(d->ext_static);
	json_decref(d->ext_app);
	d->ext_static = s;
	d->ext_app = a;
	for (uint32_t i = 0; i < profile__nprocs(p); i++) {
		struct profile_proc *pp = profile__proc_at(p, i);
		char key[16];
		json_t *v;

		snprintf(key, sizeof(key), "%d", pp->pid);
		v = json_object_get(a, key);
		if (v && json_is_object(v))
			pp->app_meta = app_meta_index(d, v);
	}
}

/* ---- the loop ---- */

static void handle_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		uint64_t now = mono_ns();

		/* one stop per 0.5 s, like gProfiler's rate-limited SIGINT */
		if (d->last_signal_ns && now - d->last_signal_ns < 500000000ULL)
			continue;
		d->last_signal_ns = now;
		if (!d->stop)
			log_info("Received %s, finishing this session ...", strsignal(si.ssi_signo));
		d->stop = true;
	}
}

static bool controller_gone(struct daemon *d)
{
	return d->a->controller_pid > 0 && kill(d->a->controller_pid, 0) && errno == ESRCH;
}

static void run_one(struct daemon *d, const char *const *modes, const char *const *options)
{
	uint64_t t0 = mono_ns(), end = t0 + (uint64_t)d->a->duration * 1000000000ULL;
	time_t start = time(NULL), stop_time;
	struct profile *prof = profile__new(), *merged;
	struct rtjobs *jobs;
	struct metrics m;
	size_t njobs;
	const struct rtjob_result *res;
	struct merge_runtime *mr;
	json_t *header;

	d->app_meta = json_array();
	json_array_append_new(d->app_meta, json_null());
	containers__reset_seen(d->containers);
	metrics__start(&m);
	jobs = start_jobs(d, modes, options);
	d->jobs = jobs;
	d->session_end_ns = end;

	while (!d->stop) {
		struct epoll_event ev[4];
		uint64_t now = mono_ns();
		int n, timeout;

		if (now >= end)
			break;
		timeout = (int)((end - now + 999999) / 1000000);
		n = epoll_wait(d->epfd, ev, 4, timeout);
		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == d->sigfd) {
				handle_signal(d);
			} else if (fd == d->timerfd) {
				uint64_t ticks;

				if (read(d->timerfd, &ticks, sizeof(ticks)) < 0)
					continue;
				if (d->native)
					d->ops->drain(d->native, prof);
				metrics__tick(&m, mono_ns());
				if (controller_gone(d)) {
					log_info("Controller process %d has exited; gProfiler stopping...",
						 d->a->controller_pid);
					d->stop = true;
				}
			} else if (d->native) {
				d->ops->ready(d->native);
			}
		}
	}
	if (d->native)
		d->ops->drain(d->native, prof);
	d->jobs = NULL;
	if (d->stop)
		rtjobs__stop(jobs);
	res = rtjobs__collect(jobs, (d->stop ? mono_ns() : end) + JOB_GRACE_NS, &njobs);
	stop_time = start + (time_t)((mono_ns() - t0 + 500000000ULL) / 1000000000ULL);

	mr = xcalloc(njobs ? njobs : 1, sizeof(*mr));
	for (size_t i = 0; i < njobs; i++) {
		const struct rtjob_result *r = &res[i];

		mr[i] = (struct merge_runtime){
			.pid = r->pid,
			.prof = r->res.prof,
			.error = r->res.error,
			.skipped = r->res.skipped,
			.comm = r->comm,
			.appid = d->a->collect_appids ? r->appid : NULL,
			.app_meta = app_meta_index(d, r->app_metadata),
			.source = r->ops->source,
		};
		if (r->res.error)
			log_warning("%s profiling of pid %d: %s%s", r->ops->name, r->pid, r->res.error,
				    r->timed_out ? " (abandoned)" : "");
	}
	merged = merge__profiles(d->native ? prof : NULL, mr, njobs, (uint64_t)start);
	apply_external_metadata(d, merged);
	header = make_header(d, &m);
	report_stats(d, header);
	if (d->a->output_dir)
		write_outputs(d, header, merged, start, stop_time);
	if (d->upload)	/* queued for the upload thread: never waits on the network */
		upload_session(d->upload, header, merged, start, stop_time);
	if (d->a->log_usage)
		log_usage();
	if (d->a->heartbeat_file) {
		int fd = open(d->a->heartbeat_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd >= 0)
			close(fd);
		utime(d->a->heartbeat_file, NULL);
	}
	if (d->native)
		d->ops->end_session(d->native);
	json_decref(header);
	json_decref(d->app_meta);
	d->app_meta = NULL;
	free(mr);
	rtjobs__free(jobs);
	profile__free(merged);
	profile__free(prof);
}

static int setup_fds(struct daemon *d)
{
	/* drain every second: cheap, keeps the in-kernel maps small, and
	 * symbolizes processes while they still exist */
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->epfd < 0)
		return -errno;
	if (timerfd_settime(d->timerfd, 0, &its, NULL))
		return -errno;
	ev.data.fd = d->sigfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev);
	ev.data.fd = d->timerfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->timerfd, &ev);
	if (d->native && d->ops->fd(d->native) >= 0) {
		ev.data.fd = d->ops->fd(d->native);
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	return 0;
}

static char *make_tmp_dir(void)
{
	char *t;

	mkdir("/tmp/gprofiler_tmp", 0755);
	chmod("/tmp/gprofiler_tmp", 0755);
	t = xstrdup("/tmp/gprofiler_tmp/run-XXXXXX");
	if (!mkdtemp(t)) {
		free(t);
		return NULL;
	}
	return t;
}

static void remove_tree(const char *dir)
{
	/* The run folder holds only files the jobs wrote directly in it. */
	DIR *dd = opendir(dir);

	if (dd) {
		struct dirent *de;

		while ((de = readdir(dd))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *p = xasprintf("%s/%s", dir, de->d_name);

			unlink(p);
			free(p);
		}
		closedir(dd);
	}
	rmdir(dir);
}

/* The options every runtime job gets: NULL-terminated name/value pairs
 * (a name may repeat). Free with free(); the values are borrowed from a. */
static const char **runtime_options(const struct args *a)
{
	const char *ap_mode = a->java_async_profiler_mode;
	size_t n = 0, cap = 16 + 2 * a->napp_id_args_filters;
	const char **o = xcalloc(cap + 1, sizeof(*o));

#define OPT(k, v)                                \
	do {                                     \
		o[n++] = (k);                    \
		o[n++] = (v) ? (v) : "";         \
	} while (0)
	OPT("pyspy_path", a->pyspy_path);
	OPT("python_add_versions", a->python_add_versions ? "true" : "false");
	OPT("ap_path", a->java_async_profiler_path);
	/* gProfiler's auto is cpu when perf events work, else itimer: itimer
	 * works everywhere and is on-CPU time too */
	OPT("ap_mode", !strcmp(ap_mode, "auto") ? "itimer" : ap_mode);
	OPT("ap_args", a->java_async_profiler_args);
	OPT("java_collect_jvm_flags", a->java_collect_jvm_flags);
	for (size_t i = 0; i < a->napp_id_args_filters; i++)
		OPT("app_id_args_filter", a->app_id_args_filters[i]);
#undef OPT
	return o;
}

/* Configures the runtimes and says in the log what each will use. */
static void describe_runtimes(const char *const *modes, const char *const *options)
{
	for (size_t i = 0; modes[i]; i += 2) {
		const struct runtime_ops *ops = NULL;
		const char *mode = modes[i + 1];

		for (size_t k = 0; runtime_registry[k]; k++)
			if (!strcmp(runtime_registry[k]->name, modes[i]))
				ops = runtime_registry[k];
		if (!strcmp(mode, "disabled") || !strcmp(mode, "none"))
			continue;
		if (!ops) {
			log_info("%s profiling (--%s-mode %s) is not available in this version: %s "
				 "processes are profiled with native stacks",
				 modes[i], modes[i], mode, modes[i]);
			continue;
		}
		if (ops->configure)
			ops->configure(options);
		if (ops->describe) {
			char *what = ops->describe(mode, options);

			if (what)
				log_info("%s profiling (--%s-mode %s): %s", ops->name, ops->name, mode, what);
			free(what);
		}
	}
}

/* Logs, once, a runtime that turned itself off (a profiled process crashed). */
static void check_disabled_runtimes(bool *logged)
{
	for (size_t k = 0; runtime_registry[k]; k++) {
		char *why;

		if (logged[k] || !runtime_registry[k]->disabled_reason)
			continue;
		why = runtime_registry[k]->disabled_reason();
		if (why) {
			log_error("%s profiling is now disabled: %s", runtime_registry[k]->name, why);
			logged[k] = true;
		}
		free(why);
	}
}

int session_run(struct args *a, time_t spawn_time)
{
	const char *modes[] = { "python", a->python_mode, "java", a->java_mode,
				"ruby", a->ruby_mode, "php", a->php_mode,
				"dotnet", a->dotnet_mode, NULL };
	const char **options = runtime_options(a);
	bool disabled_logged[16] = { false };
	struct daemon d = { .a = a, .sigfd = -1, .timerfd = -1, .epfd = -1 };
	int rc = 1, r;

	if (a->output_dir && (r = outdir__create(a->output_dir))) {
		log_error("Output directory / a component in its path already exists as a "
			  "non-directory! Please check the path '%s' (%s)",
			  a->output_dir, strerror(-r));
		goto out;
	}
	d.tmp_dir = make_tmp_dir();
	if (!d.tmp_dir) {
		log_error("Cannot create a temporary folder under /tmp/gprofiler_tmp: %s",
			  strerror(errno));
		goto out;
	}
	if (a->external_metadata) {
		char err[256];

		if (extmeta__load(a->external_metadata, &d.ext_static, &d.ext_app, err, sizeof(err))) {
			log_error("External metadata: %s", err);
			goto out;
		}
	}
	d.containers = containers__new(NULL);
	d.static_meta = a->collect_metadata ? metadata_static(a, spawn_time, d.ext_static) : NULL;
	/* gProfiler checks the server before profiling: a failure is fatal */
	metadata_hostname();	/* enters the host's UTS namespace: before threads */
	if (a->upload_results && a->log_to_server)
		log_info("Sending logs to the server (--api-server) is not implemented: logs stay "
			 "local (--dont-send-logs silences this line)");
	if (upload_wanted(a) && upload_start(a, spawn_time, &d.upload)) {
		goto out;
	}
	if (open_native(&d)) {
		goto out;
	}
	/* loading the BPF object parsed the kernel's BTF: give that memory back */
	malloc_trim(0);
	if (setup_fds(&d)) {
		log_error("Cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	describe_runtimes(modes, options);
	log_info("gProfiler initialized and ready to start profiling");
	do {
		run_one(&d, modes, options);
		check_disabled_runtimes(disabled_logged);
	} while (a->continuous && !d.stop);
	log_info("Stopping ...");
	rc = 0;
out:
	upload_stop(d.upload);	/* bounded; what is unsent stays spooled */
	if (d.native)
		d.ops->destroy(d.native);
	containers__free(d.containers);
	json_decref(d.static_meta);
	json_decref(d.ext_static);
	json_decref(d.ext_app);
	if (d.tmp_dir)
		remove_tree(d.tmp_dir);
	free(d.tmp_dir);
	if (d.epfd >= 0)
		close(d.epfd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.timerfd >= 0)
		close(d.timerfd);
	free(options);
	return rc;
}
