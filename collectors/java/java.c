// SPDX-License-Identifier: Apache-2.0
/*
 * The Java runtime profiler's job (java.h). Per session and JVM: install
 * the agent library (ours, or async-profiler) in the JVM's namespace, start
 * it over attach, wait out the session while watching the JVM through its
 * pidfd, stop it, read its collapsed output and parse it. Both agents take
 * the same kind of comma-separated start/stop strings, so one flow drives
 * both. The agent stops itself after the session plus a margin if the
 * daemon dies. A JVM that crashes while profiled (a fresh hs_err file)
 * turns Java profiling off for the rest of the daemon's life, as
 * gProfiler's default safemode "hserr" does.
 */
#include "java.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/protocol.h"
#include "attach.h"
#include "collapsed.h"
#include "jvm.h"
#include "jvmfiles.h"
#include "procinfo.h"
#include "xalloc.h"

#ifndef GP_JAVA_AGENT_INSTALL_PATH
#define GP_JAVA_AGENT_INSTALL_PATH "/usr/local/lib/gprofiler/" GPJA_AGENT_NAME
#endif
#ifndef GP_JAVA_AGENT_BUILD_PATH
#define GP_JAVA_AGENT_BUILD_PATH ""
#endif
#ifndef GP_JAVA_AGENT_REL_PATH
#define GP_JAVA_AGENT_REL_PATH "../lib/gprofiler/" GPJA_AGENT_NAME
#endif

#define ATTACH_START_MS 8000
#define ATTACH_STOP_MS 6000
#define OUTPUT_MAX (64u << 20)
#define LOG_MAX (64u << 10)
#define AGENT_MARGIN_S 30	/* gProfiler's _AP_EXTRA_TIMEOUT_S */
#define AP_COMMAND_ERROR 200	/* async-profiler's "return code" for a refused command */
#define AP_MCACHE 30
#define WAIT_STEP_MS 200

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_disabled;	/* safemode: why Java profiling is off */
static struct jvm_lib *g_libs[2];	/* cache: [0] our agent, [1] async-profiler */
static struct stat g_lib_stat[2];

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static const char *option(const char *const *o, const char *name)
{
	for (size_t i = 0; o && o[i] && o[i + 1]; i += 2)
		if (!strcmp(o[i], name))
			return o[i + 1][0] ? o[i + 1] : NULL;
	return NULL;
}

static bool usable_file(const char *path)
{
	struct stat st;

	return path && path[0] && !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, R_OK);
}

/* <dir of the running binary>/rel, or NULL. Caller frees. */
static char *beside_exe(const char *rel)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return xasprintf("%s/%s", exe, rel);
}

/* The first usable candidate; caller frees. NULL if none. */
static char *first_usable(char **cands, size_t n)
{
	char *found = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!found && usable_file(cands[i]))
			found = cands[i];
		else
			free(cands[i]);
	}
	return found;
}

/* Lookup order documented in agent/CMakeLists.txt. */
static char *find_agent(const char *const *options)
{
	const char *o = option(options, "java_agent_path");
	char *c[] = {
		o ? xstrdup(o) : NULL,
		beside_exe(GPJA_AGENT_NAME),
		beside_exe(GP_JAVA_AGENT_REL_PATH),
		xstrdup(GP_JAVA_AGENT_INSTALL_PATH),
		xstrdup(GP_JAVA_AGENT_BUILD_PATH),
	};

	return first_usable(c, sizeof(c) / sizeof(c[0]));
}

static char *find_ap(const char *const *options)
{
	const char *o = option(options, "ap_path");
	char *c[] = {
		o ? xstrdup(o) : NULL,
		xstrdup("/opt/async-profiler/lib/libasyncProfiler.so"),
		xstrdup("/usr/local/lib/libasyncProfiler.so"),
		xstrdup("/usr/lib/libasyncProfiler.so"),
		beside_exe("../lib/gprofiler/async-profiler/libasyncProfiler.so"),
	};

	if (o) {	/* an explicit path is the only one considered */
		for (size_t i = 1; i < sizeof(c) / sizeof(c[0]); i++)
			free(c[i]);
		return first_usable(c, 1);
	}
	return first_usable(c, sizeof(c) / sizeof(c[0]));
}

char *java_backend_describe(const char *mode, const char *const *options)
{
	char *ap, *agent, *r;

	if (mode && (!strcmp(mode, "disabled") || !strcmp(mode, "none")))
		return xstrdup("Java profiling is disabled");
	ap = (!mode || !strcmp(mode, "ap")) ? find_ap(options) : NULL;
	if (ap) {
		r = xasprintf("Java: async-profiler %s", ap);
		free(ap);
		return r;
	}
	agent = find_agent(options);
	if (!mode || !strcmp(mode, "ap"))
		r = xasprintf("Java: async-profiler not found (--java-async-profiler-path, or "
			      "/opt/async-profiler/lib/libasyncProfiler.so); using the built-in "
			      "sampler %s", agent ? agent : "(" GPJA_AGENT_NAME " not found!)");
	else
		r = xasprintf("Java: built-in sampler %s",
			      agent ? agent : "(" GPJA_AGENT_NAME " not found!)");
	free(agent);
	return r;
}

/* A private copy of the cached description of path (re-hashed when the
 * file changes). NULL and errno. */
static struct jvm_lib *get_lib(int which, const char *path, const char *prefix, const char *name)
{
	struct jvm_lib *l = NULL, *copy;
	struct stat st;

	if (stat(path, &st))
		return NULL;
	pthread_mutex_lock(&g_lock);
	if (g_libs[which] && !strcmp(g_libs[which]->path, path) &&
	    g_lib_stat[which].st_ino == st.st_ino && g_lib_stat[which].st_dev == st.st_dev &&
	    g_lib_stat[which].st_size == st.st_size &&
	    g_lib_stat[which].st_mtim.tv_sec == st.st_mtim.tv_sec &&
	    g_lib_stat[which].st_mtim.tv_nsec == st.st_mtim.tv_nsec)
		l = g_libs[which];
	pthread_mutex_unlock(&g_lock);
	if (!l) {
		l = jvm_lib__new(path, prefix, name);
		if (!l)
			return NULL;
		pthread_mutex_lock(&g_lock);
		jvm_lib__free(g_libs[which]);
		g_libs[which] = l;
		g_lib_stat[which] = st;
		pthread_mutex_unlock(&g_lock);
	}
	pthread_mutex_lock(&g_lock);
	copy = xcalloc(1, sizeof(*copy));
	copy->path = xstrdup(g_libs[which]->path);
	copy->name = xstrdup(g_libs[which]->name);
	copy->dir = xstrdup(g_libs[which]->dir);
	copy->size = g_libs[which]->size;
	pthread_mutex_unlock(&g_lock);
	return copy;
}

char *java_disabled_reason(void)
{
	char *r;

	pthread_mutex_lock(&g_lock);
	r = g_disabled ? xstrdup(g_disabled) : NULL;
	pthread_mutex_unlock(&g_lock);
	return r;
}

static void disable_java(const char *reason)
{
	pthread_mutex_lock(&g_lock);
	if (!g_disabled)
		g_disabled = xstrdup(reason);
	pthread_mutex_unlock(&g_lock);
}

/* ---- argument strings ---- */

char *java_ap_start_args(const char *event, const char *out, const char *log,
			 unsigned int frequency, unsigned int timeout_s, const char *extra)
{
	unsigned long long interval = 1000000000ull / (frequency ? frequency : 1);

	return xasprintf("start,event=%s,file=%s,collapsed,ann,sig,interval=%llu,log=%s,"
			 "safemode=0,,features=probesp+vtable,timeout=%u%s%s",
			 event, out, interval, log, timeout_s, extra ? "," : "", extra ? extra : "");
}

char *java_ap_stop_args(const char *out, const char *log, const char *extra)
{
	return xasprintf("stop,log=%s,mcache=%d%s%s%s,meminfolog%s%s", log, AP_MCACHE,
			 out ? ",file=" : "", out ? out : "", out ? ",collapsed,ann,sig" : "",
			 extra ? "," : "", extra ? extra : "");
}

static char *agent_start_args(const struct runtime_job_config *cfg, const char *out,
			      unsigned int timeout_s)
{
	const char *style = option(cfg->options, "java_frames");
	unsigned long long interval = 1000000000ull / (cfg->frequency ? cfg->frequency : 1);

	return xasprintf("start,file=%s,interval=%llu,timeout=%u,%s", out, interval, timeout_s,
			 style && !strcmp(style, "dotted") ? "dot,ann" : "sig,ann");
}

/* ---- maps checks ---- */

bool java_maps_match(const char *maps)
{
	return java_maps_libjvm(maps, NULL, NULL);
}

static bool maps_has(const char *maps, const char *needle)
{
	return maps && strstr(maps, needle) != NULL;
}

/* A libasyncProfiler.so that is not ours (gProfiler's "ap-loaded-check"). */
static bool foreign_ap_loaded(const char *maps)
{
	for (const char *p = maps; p && (p = strstr(p, "libasyncProfiler.so")); p++) {
		const char *line = p;

		while (line > maps && line[-1] != '\n')
			line--;
		if (!memmem(line, p - line, "/gprofiler_tmp/", 15))
			return true;
	}
	return false;
}

/* The -XX:ErrorFile= of pid's command line; caller frees. */
static char *error_file_arg(int pid)
{
	char path[64], *buf, *r = NULL;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	buf = proc_read_file(path, 1 << 20, &len);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
		if (!strncmp(buf + i, "-XX:ErrorFile=", 14)) {
			r = xstrdup(buf + i + 14);
			break;
		}
	}
	free(buf);
	return r;
}

/* ---- the job ---- */

struct job {
	const struct runtime_job_config *cfg;
	struct jvm *j;
	struct jvm_lib *lib;
	struct jvm_files f;
	bool ap;
	char *error_file;
	time_t started_wall;
};

static char *first_line(const char *s)
{
	const char *s0 = s ? s : "";

	return xstrndup(s0, strcspn(s0, "\n"));
}

/* The agent's status line reason, or its log's first line (caller frees). */
static char *agent_reason(struct job *jb)
{
	char *text = NULL, *r = NULL;

	if (jb->ap) {
		if (jb->f.log && !jvm_files__read(jb->j, jb->f.log, LOG_MAX, false, &text, NULL))
			r = text[0] ? first_line(text) : NULL;
	} else if (!jvm_files__read(jb->j, jb->f.out, 4096, false, &text, NULL)) {
		const char *p = strstr(text, "reason=");

		r = p ? first_line(p + 7) : NULL;
	}
	free(text);
	return r ? r : xstrdup("no reason given");
}

static char *attach_error(const char *what, int err, const char *text)
{
	char *line = first_line(text), *r;

	if (err == -EPROTO && line[0])
		r = xasprintf("%s: %s", what, line);
	else if (line[0])
		r = xasprintf("%s: %s (%s)", what, jattach_strerror(err), line);
	else
		r = xasprintf("%s: %s", what, jattach_strerror(err));
	free(line);
	return r;
}

static bool agent_ok(const struct job *jb, int code)
{
	return jb->ap ? code == 0 : (code == GPJA_RC_OK || code == GPJA_RC_OK_AGAIN);
}

/* Starts the agent; NULL or the error (caller frees). */
static char *start_agent(struct job *jb)
{
	const char *margin = option(jb->cfg->options, "java_agent_margin");
	unsigned int timeout_s = (unsigned int)((jb->cfg->duration_ns + 999999999ull) / 1000000000ull) +
				 (margin ? (unsigned int)strtoul(margin, NULL, 10) : AGENT_MARGIN_S);
	const char *extra = option(jb->cfg->options, "ap_args");
	char *args, *text = NULL, *err_s = NULL;
	int err, code = -1;

	if (jb->ap) {
		const char *event = option(jb->cfg->options, "ap_mode");

		args = java_ap_start_args(event ? event : "itimer", jb->f.out, jb->f.log,
					  jb->cfg->frequency, timeout_s, extra);
	} else {
		args = agent_start_args(jb->cfg, jb->f.out, timeout_s);
	}
	err = jattach__load(jb->j, jb->f.lib, args, ATTACH_START_MS, &code, &text);
	if (!err && jb->ap && code == AP_COMMAND_ERROR) {
		char *log = NULL;

		/* gProfiler: an async-profiler left running (say, by a killed
		 * daemon) is stopped without output and started again */
		if (!jvm_files__read(jb->j, jb->f.log, LOG_MAX, false, &log, NULL) &&
		    strstr(log, "[ERROR] Profiler already started")) {
			char *stop = java_ap_stop_args(NULL, jb->f.log, extra);

			free(text);
			text = NULL;
			jattach__load(jb->j, jb->f.lib, stop, ATTACH_STOP_MS, &code, &text);
			free(stop);
			free(text);
			text = NULL;
			err = jattach__load(jb->j, jb->f.lib, args, ATTACH_START_MS, &code, &text);
			if (!err && !agent_ok(jb, code))
				err_s = xasprintf("async-profiler is still running in %d, even after "
						  "trying to stop it!", jb->j->pid);
		}
		free(log);
	}
	if (err)
		err_s = attach_error(jb->ap ? "cannot start async-profiler" : "cannot load the Java agent",
				     err, text);
	else if (!err_s && !agent_ok(jb, code)) {
		char *why = agent_reason(jb);

		err_s = xasprintf("%s failed to start (code %d): %s",
				  jb->ap ? "async-profiler" : "the Java agent", code, why);
		free(why);
	}
	free(args);
	free(text);
	return err_s;
}

/* Stops the agent, which writes the output; NULL or the error. */
static char *stop_agent(struct job *jb)
{
	const char *extra = option(jb->cfg->options, "ap_args");
	char *args, *text = NULL, *err_s = NULL;
	int err, code = -1;

	args = jb->ap ? java_ap_stop_args(jb->f.out, jb->f.log, extra)
		      : xasprintf("stop,file=%s", jb->f.out);
	err = jattach__load(jb->j, jb->f.lib, args, ATTACH_STOP_MS, &code, &text);
	if (err == -ESRCH || (err && !jvm__alive(jb->j)))
		err_s = xstrdup("process exited before reading the output");
	else if (err)
		err_s = attach_error(jb->ap ? "cannot stop async-profiler" : "cannot stop the Java agent",
				     err, text);
	else if (!agent_ok(jb, code)) {
		char *why = agent_reason(jb);

		err_s = code == GPJA_RC_NOTRUNNING && !jb->ap
				? xasprintf("the Java agent was not running at the end of the "
					    "session: %s", why)
				: xasprintf("%s failed to stop (code %d): %s",
					    jb->ap ? "async-profiler" : "the Java agent", code, why);
		free(why);
	}
	free(args);
	free(text);
	return err_s;
}

/* Reads and parses the output into a profile; NULL with *ret_err. */
static struct profile *read_profile(struct job *jb, char **ret_err)
{
	struct collapsed_stats st;
	struct profile *prof;
	char *text = NULL;
	size_t len = 0;
	uint32_t proc;
	int err;

	err = jvm_files__read(jb->j, jb->f.out, OUTPUT_MAX, false, &text, &len);
	if (err) {
		free(text);
		*ret_err = jvm__alive(jb->j) ? xasprintf("cannot read the profile: %s", strerror(-err))
					    : xstrdup("process exited before reading the output");
		return NULL;
	}
	if (!jb->ap && !strstr(text, GPJA_STATUS_PREFIX "status=ok")) {
		*ret_err = jvm__alive(jb->j) ? xstrdup("the Java agent wrote no profile")
					    : xstrdup("process exited before reading the output");
		free(text);
		return NULL;
	}
	prof = profile__new();
	proc = profile__proc(prof, jb->j->pid, profile__intern_cstr(prof, jb->j->comm),
			     GP_SRC_JAVA);
	collapsed_parse(prof, proc, text, len, &st);
	free(text);
	return prof;
}

/* The JVM exited mid-session: a crash turns Java off; else whatever the
 * agent wrote at the VM's death is the profile. */
static struct profile *after_exit(struct job *jb, char **ret_err)
{
	char *what = NULL;

	if (!jvm_files__find_hserr(jb->j, jb->error_file, jb->started_wall, &what)) {
		char *path = first_line(what), *frame = strchr(what, '\n');

		disable_java("hserr");
		*ret_err = xasprintf("JVM crashed while profiled (%s%s%s); Java profiling is "
				     "disabled from now on", path, frame && frame[1] ? ": " : "",
				     frame && frame[1] ? frame + 1 : "");
		free(path);
		free(what);
		return NULL;
	}
	free(what);
	return read_profile(jb, ret_err);
}

static void set_error(struct runtime_result *res, char *msg, bool skipped)
{
	res->prof = NULL;
	res->error = msg;
	res->skipped = skipped;
}

static int java_profile(const struct runtime_job_config *cfg, struct runtime_result *res)
{
	uint64_t begin = mono_ns(), end = begin + cfg->duration_ns;
	struct job jb = { .cfg = cfg };
	char *maps, path[64], *libpath = NULL, *err_s = NULL, *disabled;
	bool exited = false;

	memset(res, 0, sizeof(*res));
	disabled = java_disabled_reason();
	if (disabled) {
		set_error(res, xasprintf("disabled due to %s", disabled), true);
		free(disabled);
		return 0;
	}
	if (cfg->mode && (!strcmp(cfg->mode, "disabled") || !strcmp(cfg->mode, "none"))) {
		set_error(res, xstrdup("Java profiling is disabled"), true);
		return 0;
	}
	jb.j = jvm__open(cfg->pid, 0);
	if (!jb.j) {
		set_error(res, xstrdup("process went down during profiling"), false);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", cfg->pid);
	maps = proc_read_file(path, 64u << 20, NULL);
	if (maps_has(maps, "/libj9vm")) {
		set_error(res, xstrdup("profiling this JVM is not supported"), true);
		goto out;
	}
	if (!cfg->mode || !strcmp(cfg->mode, "ap"))
		libpath = find_ap(cfg->options);
	jb.ap = libpath != NULL;
	if (jb.ap && foreign_ap_loaded(maps)) {
		set_error(res, xstrdup("async-profiler is already loaded"), true);
		goto out;
	}
	if (!jb.ap) {
		if (maps_has(maps, "/ld-musl") && !maps_has(maps, "glibc-compat")) {
			set_error(res, xstrdup("musl JVMs need async-profiler's musl build "
					       "(--java-async-profiler-path)"), true);
			goto out;
		}
		libpath = find_agent(cfg->options);
		if (!libpath) {
			set_error(res, xstrdup("the Java agent " GPJA_AGENT_NAME " was not found"),
				  false);
			goto out;
		}
	}
	jb.lib = jb.ap ? get_lib(1, libpath, "async-profiler", "libasyncProfiler.so")
		       : get_lib(0, libpath, "java-agent", GPJA_AGENT_NAME);
	if (!jb.lib) {
		set_error(res, xasprintf("cannot read %s: %s", libpath, strerror(errno)), false);
		goto out;
	}
	jb.error_file = error_file_arg(cfg->pid);
	jb.started_wall = time(NULL) - 1;
	{
		int err = jvm_files__prepare(jb.j, jb.lib, jb.ap ? "async-profiler" : "java", jb.ap,
					     &jb.f);

		if (err) {
			set_error(res, jvm__alive(jb.j)
					       ? xasprintf("cannot prepare files in the JVM's "
							   "namespace: %s", strerror(-err))
					       : xstrdup("process went down during profiling"),
				  false);
			goto out;
		}
	}
	err_s = start_agent(&jb);
	if (err_s) {
		if (!jvm__alive(jb.j)) {
			free(err_s);
			err_s = NULL;
			res->prof = after_exit(&jb, &err_s);
			if (!res->prof && !err_s)
				err_s = xstrdup("process went down during profiling");
		}
		set_error(res, err_s, false);
		goto cleanup;
	}
	for (;;) {
		uint64_t now = mono_ns();
		int step;

		if (now >= end || (cfg->stop && *cfg->stop))
			break;
		step = (int)((end - now) / 1000000ull) + 1;
		if (step > WAIT_STEP_MS)
			step = WAIT_STEP_MS;
		if (jvm__wait_exit(jb.j, step)) {
			exited = true;
			break;
		}
	}
	if (!exited) {
		err_s = stop_agent(&jb);
		exited = !jvm__alive(jb.j);
	}
	if (exited) {
		free(err_s);
		err_s = NULL;
		res->prof = after_exit(&jb, &err_s);
	} else if (!err_s) {
		res->prof = read_profile(&jb, &err_s);
	}
	if (!res->prof)
		set_error(res, err_s, false);
	else
		free(err_s);
cleanup:
	jvm_files__unlink(jb.j, jb.f.out, jb.f.log);
out:
	free(maps);
	free(libpath);
	free(jb.error_file);
	jvm_files__clear(&jb.f);
	jvm_lib__free(jb.lib);
	jvm__free(jb.j);
	return 0;
}

static bool java_match(const struct procinfo *pi, const char *maps)
{
	(void)pi;
	return java_maps_match(maps);
}

const struct runtime_ops java_runtime_ops = {
	.name = "java",
	.source = GP_SRC_JAVA,
	.max_frequency = 1000,
	.match = java_match,
	.profile = java_profile,
	.appid = java_appid,
	.app_metadata = java_app_metadata,
	.configure = java_configure,
	.describe = java_backend_describe,
	.disabled_reason = java_disabled_reason,
};
