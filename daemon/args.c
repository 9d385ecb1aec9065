// SPDX-License-Identifier: Apache-2.0
/*
 * The option table and its three readers (config file, environment, argv).
 * Every gProfiler flag is in the table: the ones we do not implement yet
 * are accepted and named in a warning, so existing command lines keep
 * working and nothing is silently ignored.
 */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyroscope.h"
#include "xalloc.h"

#ifndef GPROFILER_VERSION
#define GPROFILER_VERSION "0"
#endif

enum kind {
	K_TRUE,		/* store_true */
	K_FALSE,	/* store_false */
	K_STR,
	K_UINT,		/* positive integer */
	K_INT,
	K_CHOICE,	/* string from choices */
	K_CONST,	/* store cval into a string field */
	K_PIDS,		/* comma-separated pids, extends */
	K_APPEND,	/* string list, appends */
	K_OPTSTR,	/* optional argument (nargs='?'), cval when absent */
	K_HELP,
	K_VERSION,
};

enum {
	O_NOIMPL = 1,		/* accepted, warned as not implemented yet */
	O_NOOP = 2,		/* accepted, warned as having no effect here */
	O_SECRET = 4,		/* redacted in run_arguments */
	O_NOARG_CONFIG = 8,	/* not settable from config/env (e.g. --config) */
	O_HIDDEN = 16,
};

#define NOFIELD ((size_t)-1)
#define F(x) offsetof(struct args, x)

struct opt {
	const char *name;
	char shrt;
	enum kind kind;
	size_t off;
	const char *dest;
	const char *choices;	/* "a|b|c" */
	const char *cval;
	unsigned int flags;
	const char *help;
};

static const struct opt opts[] = {
	{ "help", 'h', K_HELP, NOFIELD, NULL, NULL, NULL, O_NOARG_CONFIG, "show this help and exit" },
	{ "version", 0, K_VERSION, NOFIELD, NULL, NULL, NULL, O_NOARG_CONFIG, "print the version and exit" },
	{ "config", 0, K_STR, F(config), "config", NULL, NULL, O_NOARG_CONFIG,
	  "config file (default /etc/gprofiler/config.ini when it exists)" },
	/* output */
	{ "output-dir", 'o', K_STR, F(output_dir), "output_dir", NULL, NULL, 0,
	  "write profile_<time>.col/.html and last_profile.col/last_flamegraph.html here" },
	{ "flamegraph", 0, K_TRUE, F(flamegraph), "flamegraph", NULL, NULL, 0,
	  "write the HTML flamegraph next to each .col (default)" },
	{ "no-flamegraph", 0, K_FALSE, F(flamegraph), "flamegraph", NULL, NULL, 0,
	  "write only the .col files" },
	{ "rotating-output", 0, K_TRUE, F(rotating_output), "rotating_output", NULL, NULL, 0,
	  "keep only the last profile in the output folder" },
	{ "upload-results", 'u', K_TRUE, F(upload_results), "upload_results", NULL, NULL, 0,
	  "upload each profile to the Performance Studio (needs --token, --service-name)" },
	{ "token", 0, K_STR, F(server_token), "server_token", NULL, NULL, O_SECRET, "server token" },
	{ "service-name", 0, K_STR, F(service_name), "service_name", NULL, NULL, 0, "service name" },
	{ "server-host", 0, K_STR, F(server_host), "server_host", NULL, NULL, 0,
	  "Performance Studio address (default https://profiler.granulate.io)" },
	{ "api-server", 0, K_STR, F(api_server), "api_server", NULL, NULL, 0,
	  "logs and metrics server (default https://api.granulate.io)" },
	{ "glogger-server", 0, K_STR, F(api_server), "api_server", NULL, NULL, 0,
	  "deprecated alias of --api-server" },
	{ "server-upload-timeout", 0, K_UINT, F(server_upload_timeout), "server_upload_timeout",
	  NULL, NULL, 0, "upload timeout in seconds (default 120)" },
	{ "curlify-requests", 0, K_TRUE, F(curlify_requests), "curlify_requests", NULL, NULL,
	  O_NOIMPL, "log requests as curl commands" },
	{ "no-verify", 0, K_FALSE, F(verify), "verify", NULL, NULL, 0,
	  "do not verify server certificates" },
	{ "dont-send-logs", 0, K_FALSE, F(log_to_server), "log_to_server", NULL, NULL, 0,
	  "do not send logs to the server" },
	{ "profile-api-version", 0, K_CHOICE, F(profile_api_version), "profile_api_version", "v1",
	  NULL, 0, "legacy profile protocol (drops the metadata index and container frames)" },
	{ "pyroscope-server", 0, K_STR, F(pyroscope_server), "pyroscope_server", NULL, NULL, 0,
	  "also send each profile to this Pyroscope server (POST /ingest), e.g. http://host:4040" },
	{ "pyroscope-application-name", 0, K_STR, F(pyroscope_app), "pyroscope_application_name",
	  NULL, NULL, 0, "Pyroscope application name (default: the service name, else gprofiler)" },
	{ "pyroscope-tags", 0, K_STR, F(pyroscope_tags), "pyroscope_tags", NULL, NULL, 0,
	  "Pyroscope tags: key=value,key=value" },
	{ "pyroscope-user", 0, K_STR, F(pyroscope_user), "pyroscope_user", NULL, NULL, 0,
	  "Pyroscope basic-auth user (Grafana Cloud: the stack's user id)" },
	{ "pyroscope-password", 0, K_STR, F(pyroscope_password), "pyroscope_password", NULL, NULL,
	  O_SECRET, "Pyroscope basic-auth password or API token" },
	{ "pyroscope-tenant-id", 0, K_STR, F(pyroscope_tenant), "pyroscope_tenant_id", NULL, NULL, 0,
	  "Pyroscope tenant (sent as X-Scope-OrgID)" },
	{ "spool-dir", 0, K_STR, F(spool_dir), "spool_dir", NULL, NULL, 0,
	  "profiles not yet uploaded wait here, across restarts (default /var/lib/gprofiler/spool)" },
	{ "spool-max-mb", 0, K_UINT, F(spool_max_mb), "spool_max_mb", NULL, NULL, 0,
	  "size bound of the spool in MB; when full the oldest profiles go first (default 100)" },
	/* profiling */
	{ "profiling-frequency", 'f', K_UINT, F(frequency), "frequency", NULL, NULL, 0,
	  "sampling frequency in Hz (default 11)" },
	{ "profiling-duration", 'd', K_UINT, F(duration), "duration", NULL, NULL, 0,
	  "seconds per profiling session (default 60)" },
	{ "continuous", 'c', K_TRUE, F(continuous), "continuous", NULL, NULL, 0,
	  "profile session after session until stopped" },
	{ "mode", 0, K_CHOICE, F(profiling_mode), "profiling_mode", "cpu|allocation|none", NULL, 0,
	  "profiling mode (default cpu)" },
	{ "alloc-interval", 0, K_STR, F(alloc_interval), "alloc_interval", NULL, NULL, 0,
	  "allocation sampling interval (allocation mode)" },
	{ "pids", 0, K_PIDS, F(pids), "pids_to_profile", NULL, NULL, 0,
	  "comma-separated pids to profile (repeatable); default all" },
	{ "profile-spawned-processes", 0, K_TRUE, F(profile_spawned_processes),
	  "profile_spawned_processes", NULL, NULL, 0,
	  "also start runtime profilers for processes spawned during a session" },
	{ "insert-dso-name", 0, K_TRUE, F(insert_dso_name), "insert_dso_name", NULL, NULL, 0,
	  "native frames become 'symbol (/path/to/dso)'" },
	{ "perf-mode", 0, K_CHOICE, F(perf_mode), "perf_mode", "fp|dwarf|smart|disabled|none", NULL,
	  0, "native stack unwinding: smart (default; fp above 100 Hz), fp, dwarf, disabled" },
	{ "no-perf", 0, K_CONST, F(perf_mode), "perf_mode", NULL, "disabled", 0,
	  "alias of --perf-mode disabled" },
	{ "perf-dwarf-stack-size", 0, K_UINT, F(perf_dwarf_stack_size), "perf_dwarf_stack_size",
	  NULL, NULL, 0, "bytes of user stack copied per sample in dwarf mode (default 8192)" },
	{ "perf-no-memory-restart", 0, K_TRUE, F(perf_no_memory_restart), "perf_no_memory_restart",
	  NULL, NULL, O_NOOP, "gProfiler restarts perf when it grows; we never run perf" },
	{ "perf-engine", 0, K_CHOICE, F(perf_engine), "perf_engine", "auto|bpf|perf", NULL, 0,
	  "native sampling engine: bpf, perf (no BPF needed) or auto (default)" },
	/* runtimes */
	{ "python-mode", 0, K_CHOICE, F(python_mode), "python_mode",
	  "auto|builtin|pyperf|pyspy|py-spy|disabled|none", NULL, 0,
	  "Python profiler: auto (default), builtin, pyspy, disabled" },
	{ "no-python", 0, K_CONST, F(python_mode), "python_mode", NULL, "disabled", 0,
	  "alias of --python-mode disabled" },
	{ "python-pyspy-path", 0, K_STR, F(pyspy_path), "python_pyspy_path", NULL, NULL, 0,
	  "py-spy executable to use (default: PATH)" },
	{ "python-pyspy-process", 0, K_PIDS, NOFIELD, "python_pyspy_process", NULL, NULL, O_NOIMPL,
	  "pids to profile with py-spy" },
	{ "no-python-versions", 0, K_FALSE, F(python_add_versions), "python_add_versions", NULL, NULL, 0,
	  "do not add package versions to Python frames" },
	{ "pyperf-user-stacks-pages", 0, K_UINT, NOFIELD, "python_pyperf_user_stacks_pages", NULL,
	  NULL, O_NOOP, "PyPerf option" },
	{ "python-pyperf-verbose", 0, K_TRUE, NOFIELD, "python_pyperf_verbose", NULL, NULL, O_NOOP,
	  "PyPerf option" },
	{ "java-mode", 0, K_CHOICE, F(java_mode), "java_mode", "ap|builtin|disabled|none", NULL, 0,
	  "Java profiler: ap (async-profiler when present, else builtin; default), builtin, disabled" },
	{ "no-java", 0, K_CONST, F(java_mode), "java_mode", NULL, "disabled", 0,
	  "alias of --java-mode disabled" },
	{ "java-async-profiler-path", 0, K_STR, F(java_async_profiler_path),
	  "java_async_profiler_path", NULL, NULL, 0, "libasyncProfiler.so to load into JVMs" },
	{ "java-async-profiler-mode", 0, K_CHOICE, F(java_async_profiler_mode),
	  "java_async_profiler_mode", "cpu|itimer|alloc|auto", NULL, 0,
	  "async-profiler event (default auto: itimer)" },
	{ "java-async-profiler-safemode", 0, K_UINT, NOFIELD, "java_async_profiler_safemode", NULL,
	  NULL, O_NOIMPL, "async-profiler safemode bits" },
	{ "java-async-profiler-features", 0, K_STR, NOFIELD, "java_async_profiler_features", NULL,
	  NULL, O_NOIMPL, "async-profiler features" },
	{ "java-async-profiler-args", 0, K_STR, F(java_async_profiler_args),
	  "java_async_profiler_args", NULL, NULL, 0,
	  "extra async-profiler arguments (start and stop)" },
	{ "java-safemode", 0, K_OPTSTR, NOFIELD, "java_safemode", NULL, "all", O_NOIMPL,
	  "Java safemode options" },
	{ "java-no-version-check", 0, K_TRUE, NOFIELD, "java_version_check", NULL, NULL, O_NOIMPL,
	  "skip the JVM version check" },
	{ "java-jattach-timeout", 0, K_UINT, NOFIELD, "java_jattach_timeout", NULL, NULL, O_NOIMPL,
	  "attach timeout in seconds" },
	{ "java-async-profiler-mcache", 0, K_UINT, NOFIELD, "java_async_profiler_mcache", NULL, NULL,
	  O_NOIMPL, "async-profiler mcache" },
	{ "java-collect-spark-app-name-as-appid", 0, K_TRUE, NOFIELD,
	  "java_collect_spark_app_name_as_appid", NULL, NULL, O_NOIMPL, "Spark app name as appid" },
	{ "java-async-profiler-no-report-meminfo", 0, K_TRUE, NOFIELD,
	  "java_async_profiler_report_meminfo", NULL, NULL, O_NOIMPL, "async-profiler meminfo" },
	{ "java-collect-jvm-flags", 0, K_STR, F(java_collect_jvm_flags), "java_collect_jvm_flags",
	  NULL, NULL, 0, "JVM flags in the metadata: default, all, none, or a,b,c" },
	{ "java-full-hserr", 0, K_TRUE, NOFIELD, "java_full_hserr", NULL, NULL, O_NOIMPL,
	  "log whole hs_err files" },
	{ "java-include-method-modifiers", 0, K_TRUE, NOFIELD, "java_include_method_modifiers", NULL,
	  NULL, O_NOIMPL, "add method modifiers to Java frames" },
	{ "java-line-numbers", 0, K_CHOICE, NOFIELD, "java_line_numbers", "none|line-of-function",
	  NULL, O_NOIMPL, "Java line numbers" },
	{ "no-java-async-profiler-buildids", 0, K_TRUE, NOFIELD, "java_async_profiler_buildids",
	  NULL, NULL, O_NOIMPL, "no buildid+offset in async-profiler native frames" },
	{ "ruby-mode", 0, K_CHOICE, F(ruby_mode), "ruby_mode", "rbspy|disabled|none", NULL, 0,
	  "Ruby profiler: rbspy (default), disabled" },
	{ "no-ruby", 0, K_CONST, F(ruby_mode), "ruby_mode", NULL, "disabled", 0,
	  "alias of --ruby-mode disabled" },
	{ "php-mode", 0, K_CHOICE, F(php_mode), "php_mode", "phpspy|disabled|none", NULL, 0,
	  "PHP profiler: phpspy, disabled (default)" },
	{ "no-php", 0, K_CONST, F(php_mode), "php_mode", NULL, "disabled", 0,
	  "alias of --php-mode disabled" },
	{ "php-proc-filter", 0, K_STR, NOFIELD, "php_process_filter", NULL, NULL, O_NOIMPL,
	  "pgrep filter for PHP processes" },
	{ "dotnet-mode", 0, K_CHOICE, F(dotnet_mode), "dotnet_mode", "dotnet-trace|disabled|none",
	  NULL, 0, ".NET profiler: dotnet-trace, disabled (default)" },
	{ "no-dotnet", 0, K_CONST, F(dotnet_mode), "dotnet_mode", NULL, "disabled", 0,
	  "alias of --dotnet-mode disabled" },
	{ "nodejs-mode", 0, K_CHOICE, F(nodejs_mode), "nodejs_mode", "attach-maps|perf|disabled|none",
	  NULL, 0, "NodeJS: perf maps are always read; attach-maps/perf are not needed" },
	{ "no-nodejs", 0, K_CONST, F(nodejs_mode), "nodejs_mode", NULL, "disabled", 0,
	  "alias of --nodejs-mode disabled" },
	/* enrichment */
	{ "disable-container-names", 0, K_FALSE, F(container_names), "container_names", NULL, NULL,
	  0, "do not look up container names" },
	{ "disable-application-identifiers", 0, K_FALSE, F(collect_appids), "collect_appids", NULL,
	  NULL, 0, "do not add appid frames" },
	{ "app-id-args-filter", 0, K_APPEND, F(app_id_args_filters), "app_id_args_filters", NULL,
	  NULL, 0, "regex of JVM arguments to add to Java appids (repeatable)" },
	{ "disable-application-metadata", 0, K_FALSE, F(application_metadata),
	  "application_metadata", NULL, NULL, 0, "do not collect application metadata" },
	{ "disable-metrics-collection", 0, K_FALSE, F(collect_metrics), "collect_metrics", NULL,
	  NULL, 0, "do not collect CPU and memory metrics" },
	{ "disable-metadata-collection", 0, K_FALSE, F(collect_metadata), "collect_metadata", NULL,
	  NULL, 0, "do not collect host metadata" },
	{ "external-metadata", 0, K_STR, F(external_metadata), "external_metadata_path", NULL, NULL,
	  0, "JSON file {static: {...}, application: {pid: {...}}} merged into the metadata" },
	/* process */
	{ "disable-pidns-check", 0, K_FALSE, F(pid_ns_check), "pid_ns_check", NULL, NULL, 0,
	  "do not require the init pid namespace" },
	{ "pid-file", 0, K_STR, F(pid_file), "pid_file", NULL, NULL, 0,
	  "pid file (default /var/run/gprofiler.pid)" },
	{ "log-file", 0, K_STR, F(log_file), "log_file", NULL, NULL, 0,
	  "log file (default /var/log/gprofiler/gprofiler.log)" },
	{ "log-rotate-max-size", 0, K_UINT, F(log_rotate_max_size), "log_rotate_max_size", NULL,
	  NULL, 0, "rotate the log file at this size in bytes (default 5 MiB)" },
	{ "log-rotate-backup-count", 0, K_UINT, F(log_rotate_backup_count),
	  "log_rotate_backup_count", NULL, NULL, 0, "rotated log files kept (default 1)" },
	{ "dont-disable-core-files", 0, K_FALSE, F(disable_core_files), "disable_core_files", NULL,
	  NULL, 0, "keep RLIMIT_CORE as it is" },
	{ "controller-pid", 0, K_INT, F(controller_pid), "controller_pid", NULL, NULL, 0,
	  "exit when this process exits" },
	{ "heartbeat-file", 0, K_STR, F(heartbeat_file), "heartbeat_file", NULL, NULL, 0,
	  "touch this file after each session" },
	{ "log-usage", 0, K_TRUE, F(log_usage), "log_usage", NULL, NULL, 0,
	  "log the daemon's own CPU and memory after each session" },
	{ "diagnostics", 0, K_TRUE, F(diagnostics), "diagnostics", NULL, NULL, 0,
	  "log cache sizes and counters after each session" },
	{ "verbose", 'v', K_TRUE, F(verbose), "verbose", NULL, NULL, 0, "debug logging on stdout" },
	{ "spark-sample-period", 0, K_UINT, NOFIELD, "spark_sample_period", NULL, NULL, O_NOOP,
	  "deprecated" },
	{ "collect-spark-metrics", 0, K_TRUE, NOFIELD, "collect_spark_metrics", NULL, NULL, O_NOOP,
	  "deprecated" },
	{ "databricks-job-name-as-service-name", 0, K_TRUE, NOFIELD,
	  "databricks_job_name_as_service_name", NULL, NULL, O_NOOP, "deprecated" },
	{ "file-path", 0, K_STR, F(file_path), "file_path", NULL, NULL, O_HIDDEN,
	  "upload-file: the .col file to send" },
	{ "dry-run", 0, K_TRUE, F(dry_run), "dry_run", NULL, NULL, O_NOARG_CONFIG,
	  "check the arguments, config file and environment, then exit (0 when valid)" },
	{ "lock-name", 0, K_STR, F(lock_name), "lock_name", NULL, NULL, O_HIDDEN,
	  "singleton lock name (tests)" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void set_defaults(struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->flamegraph = true;
	a->server_host = xstrdup("https://profiler.granulate.io");
	a->api_server = xstrdup("https://api.granulate.io");
	a->server_upload_timeout = 120;
	a->verify = true;
	a->log_to_server = getenv("GPROFILER_DONT_SEND_LOGS") == NULL;
	a->duration = 60;
	a->profiling_mode = xstrdup("cpu");
	a->perf_mode = NULL;	/* smart, or fp above 100 Hz: args_validate() */
	a->perf_dwarf_stack_size = 8192;
	a->perf_engine = xstrdup("auto");
	a->python_mode = xstrdup("auto");
	a->python_add_versions = true;
	a->java_mode = xstrdup("ap");
	a->java_async_profiler_mode = xstrdup("auto");
	a->java_collect_jvm_flags = xstrdup("default");
	a->ruby_mode = xstrdup("rbspy");
	a->php_mode = xstrdup("disabled");
	a->dotnet_mode = xstrdup("disabled");
	a->nodejs_mode = xstrdup("disabled");
	a->container_names = true;
	a->collect_appids = true;
	a->application_metadata = true;
	a->collect_metrics = true;
	a->collect_metadata = true;
	a->pid_ns_check = true;
	a->pid_file = xstrdup("/var/run/gprofiler.pid");
	a->log_file = xstrdup("/var/log/gprofiler/gprofiler.log");
	a->log_rotate_max_size = 5 * 1024 * 1024;
	a->log_rotate_backup_count = 1;
	a->disable_core_files = true;
	a->lock_name = xstrdup("gprofiler_lock");
	a->spool_dir = xstrdup("/var/lib/gprofiler/spool");
	a->spool_max_mb = 100;
}

static void error_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void error_line(const char *fmt, ...)
{
	va_list ap;

	fputs("gprofiler: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct warnings {
	char **w;
	size_t n, cap;
};

static void warn(struct warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct warnings *w, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	for (size_t i = 0; i < w->n; i++) {
		if (!strcmp(w->w[i], s)) {
			free(s);
			return;
		}
	}
	xgrow((void **)&w->w, &w->cap, w->n + 2, sizeof(char *));
	w->w[w->n++] = s;
	w->w[w->n] = NULL;
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t len = strlen(v);

	for (const char *p = choices; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == len && !strncmp(p, v, n))
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static int parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "1", "on" };
	static const char *const no[] = { "false", "no", "0", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*ret = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static bool takes_value(const struct opt *o)
{
	return o->kind == K_STR || o->kind == K_UINT || o->kind == K_INT || o->kind == K_CHOICE ||
	       o->kind == K_PIDS || o->kind == K_APPEND;
}

static void *field(struct args *a, const struct opt *o)
{
	return (char *)a + o->off;
}

/* Applies one option. value: the argument (NULL for flags; for flags from
 * config/env the text "true"/"false"). from_cli: repeated list options
 * extend only on the command line. Returns 0 or -EINVAL (printed). */
static int apply(struct args *a, const struct opt *o, const char *value, bool flag_text,
		 struct warnings *w, const char *origin)
{
	long v;

	if (o->flags & O_NOIMPL)
		warn(w, "--%s is not implemented yet and is ignored", o->name);
	else if (o->flags & O_NOOP)
		warn(w, "--%s has no effect in gprofiler-c and is ignored", o->name);
	switch (o->kind) {
	case K_TRUE:
	case K_FALSE:
	case K_CONST: {
		bool on = true;

		if (flag_text && parse_bool(value, &on)) {
			error_line("%s: --%s expects true or false, not '%s'", origin, o->name, value);
			return -EINVAL;
		}
		if (!on || o->off == NOFIELD)
			return 0;
		if (o->kind == K_CONST) {
			char **s = field(a, o);

			free(*s);
			*s = xstrdup(o->cval);
		} else {
			*(bool *)field(a, o) = o->kind == K_TRUE;
		}
		return 0;
	}
	case K_STR:
	case K_CHOICE:
	case K_OPTSTR:
		if (o->kind == K_OPTSTR && !value)
			value = o->cval;
		if (o->kind == K_CHOICE && !choice_ok(o->choices, value)) {
			char *c = xstrdup(o->choices);

			for (char *p = c; *p; p++)
				if (*p == '|')
					*p = ',';
			error_line("argument --%s: invalid choice: '%s' (choose from %s)", o->name,
				   value, c);
			free(c);
			return -EINVAL;
		}
		if (o->off != NOFIELD) {
			char **s = field(a, o);

			free(*s);
			*s = xstrdup(value);
		}
		return 0;
	case K_UINT:
	case K_INT:
		if (parse_long(value, o->kind == K_UINT ? 1 : INT_MIN,
			       o->kind == K_UINT ? UINT_MAX : INT_MAX, &v)) {
			error_line("argument --%s: invalid %s value: '%s'", o->name,
				   o->kind == K_UINT ? "positive integer" : "integer", value);
			return -EINVAL;
		}
		if (o->off != NOFIELD) {
			if (o->kind == K_UINT)
				*(unsigned int *)field(a, o) = (unsigned int)v;
			else
				*(int *)field(a, o) = (int)v;
		}
		return 0;
	case K_PIDS: {
		char *copy = xstrdup(value), *save = NULL;

		/* config files may write lists as [1, 2] */
		for (char *p = copy; *p; p++)
			if (*p == '[' || *p == ']' || *p == ' ')
				*p = ',';
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (parse_long(tok, 1, INT_MAX, &v)) {
				error_line("argument --%s: invalid pid list: '%s'", o->name, value);
				free(copy);
				return -EINVAL;
			}
			if (o->off != NOFIELD) {
				size_t cap = a->npids;

				a->pids = xrealloc(a->pids, (cap + 1) * sizeof(int));
				a->pids[a->npids++] = (int)v;
			}
		}
		free(copy);
		return 0;
	}
	case K_APPEND:
		if (o->off != NOFIELD) {
			a->app_id_args_filters = xrealloc(a->app_id_args_filters,
							  (a->napp_id_args_filters + 1) * sizeof(char *));
			a->app_id_args_filters[a->napp_id_args_filters++] = xstrdup(value);
		}
		return 0;
	case K_HELP:
	case K_VERSION:
		return 0;
	}
	return 0;
}

static const struct opt *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

static const struct opt *find_short(char c)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].shrt == c)
			return &opts[i];
	return NULL;
}

static void print_help(void)
{
	printf("usage: gprofiler [options]\n"
	       "       gprofiler upload-file --file-path FILE.col [options]\n"
	       "       gprofiler flamegraph --file-path FILE.col [--output FILE.html]\n\n"
	       "A system-wide continuous CPU profiler, compatible with gProfiler.\n"
	       "Every long option can also be set in the config file (name = value) or as\n"
	       "GPROFILER_<NAME> in the environment (e.g. GPROFILER_SERVICE_NAME).\n\n"
	       "options:\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		char left[64];

		if (o->flags & O_HIDDEN)
			continue;
		if (o->shrt)
			snprintf(left, sizeof(left), "-%c, --%s%s", o->shrt, o->name,
				 takes_value(o) ? " X" : "");
		else
			snprintf(left, sizeof(left), "--%s%s", o->name,
				 takes_value(o) ? " X" : o->kind == K_OPTSTR ? " [X]" : "");
		printf("  %-40s %s%s\n", left, o->help,
		       o->flags & O_NOIMPL ? " (not implemented yet)" :
		       o->flags & O_NOOP ? " (no effect)" : "");
	}
}

/* ---- config file and environment ---- */

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int apply_text(struct args *a, const struct opt *o, const char *value,
		      struct warnings *w, const char *origin)
{
	bool is_flag = !takes_value(o) && o->kind != K_OPTSTR;

	if (o->flags & O_NOARG_CONFIG)
		return 0;
	if (o->kind == K_OPTSTR && (!value[0] || !strcasecmp(value, "true")))
		value = o->cval;
	return apply(a, o, value, is_flag, w, origin);
}

static int read_config(struct args *a, const char *path, bool required, struct warnings *w)
{
	char *line = NULL, *origin;
	size_t cap = 0;
	int lineno = 0, r = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		if (!required)
			return 0;
		error_line("cannot read config file %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	while (r == 0 && getline(&line, &cap, f) > 0) {
		char *s = trim(line), *sep, *key, *value;
		const struct opt *o;

		lineno++;
		if (!*s || *s == '#' || *s == ';' || *s == '[')
			continue;
		sep = strpbrk(s, "=:");
		if (!sep) {
			sep = strpbrk(s, " \t");
			if (!sep) {
				value = "true";
				key = s;
				goto found;
			}
		}
		*sep = '\0';
		key = trim(s);
		value = trim(sep + 1);
found:
		while (*key == '-')
			key++;
		for (char *p = key; *p; p++)
			if (*p == '_')
				*p = '-';
		o = find_long(key, strlen(key));
		origin = xasprintf("%s:%d", path, lineno);
		if (!o) {
			error_line("%s: unrecognized option '%s'", origin, key);
			r = -EINVAL;
		} else {
			r = apply_text(a, o, value, w, origin);
		}
		free(origin);
	}
	free(line);
	fclose(f);
	return r;
}

static int read_env(struct args *a, struct warnings *w)
{
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		char name[96], *p;
		const char *v;
		int r;

		if (o->flags & O_NOARG_CONFIG)
			continue;
		p = name + snprintf(name, sizeof(name), "GPROFILER_");
		for (const char *q = o->name; *q && p < name + sizeof(name) - 1; q++)
			*p++ = *q == '-' ? '_' : (char)toupper((unsigned char)*q);
		*p = '\0';
		v = getenv(name);
		if (!v)
			continue;
		r = apply_text(a, o, v, w, name);
		if (r)
			return r;
	}
	return 0;
}

/* ---- command line ---- */

static int parse_argv(struct args *a, int argc, char **argv, struct warnings *w, bool *ret_exit)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = NULL;
		const struct opt *o;

		if (arg[0] != '-' || !arg[1]) {
			if (!a->subcommand && !strcmp(arg, "upload-file")) {
				a->subcommand = xstrdup(arg);
				continue;
			}
			error_line("unrecognized arguments: %s", arg);
			return -EINVAL;
		}
		if (arg[1] == '-') {
			const char *eq = strchr(arg + 2, '=');
			size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

			o = find_long(arg + 2, len);
			if (!o) {
				error_line("unrecognized arguments: %s", arg);
				return -EINVAL;
			}
			if (eq)
				value = eq + 1;
		} else {
			/* bundled flags: -cu, -vc ... (a value-taking option
			 * may come last and take the rest: -d5) */
			size_t k = 1;

			for (;;) {
				o = find_short(arg[k]);
				if (!o) {
					error_line("unrecognized arguments: %s", arg);
					return -EINVAL;
				}
				if (takes_value(o) || !arg[k + 1])
					break;
				if (o->kind == K_HELP || o->kind == K_VERSION)
					break;
				if (apply(a, o, NULL, false, w, "command line"))
					return -EINVAL;
				k++;
			}
			if (arg[k + 1])
				value = arg + k + 1;
		}
		if (o->kind == K_HELP) {
			print_help();
			*ret_exit = true;
			return 0;
		}
		if (o->kind == K_VERSION) {
			puts(GPROFILER_VERSION);
			*ret_exit = true;
			return 0;
		}
		if (takes_value(o) && !value) {
			if (i + 1 >= argc) {
				error_line("argument --%s: expected one argument", o->name);
				return -EINVAL;
			}
			value = argv[++i];
		} else if (o->kind == K_OPTSTR && !value && i + 1 < argc && argv[i + 1][0] != '-') {
			value = argv[++i];
		} else if (!takes_value(o) && o->kind != K_OPTSTR && value) {
			error_line("argument --%s: ignored explicit argument '%s'", o->name, value);
			return -EINVAL;
		}
		if (apply(a, o, value, false, w, "command line"))
			return -EINVAL;
	}
	return 0;
}

/* The --config value must be known before the other sources are read. */
static const char *find_config_arg(int argc, char **argv)
{
	const char *cfg = getenv("GPROFILER_CONFIG");

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			cfg = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			cfg = argv[i] + 9;
	}
	return cfg;
}

int args_parse(struct args *a, int argc, char **argv, char ***ret_warnings)
{
	struct warnings w = { NULL, 0, 0 };
	const char *cfg = find_config_arg(argc, argv);
	bool done = false;
	int r;

	set_defaults(a);
	r = read_config(a, cfg ? cfg : "/etc/gprofiler/config.ini", cfg != NULL, &w);
	if (!r)
		r = read_env(a, &w);
	if (!r) {
		/* command-line lists replace those from the config/env */
		bool had_pids = false;

		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], "--pids") || !strncmp(argv[i], "--pids=", 7))
				had_pids = true;
		if (had_pids) {
			free(a->pids);
			a->pids = NULL;
			a->npids = 0;
		}
		r = parse_argv(a, argc, argv, &w, &done);
	}
	if (cfg && !a->config)
		a->config = xstrdup(cfg);
	*ret_warnings = w.w;
	if (r)
		return r;
	return done ? 1 : 0;
}

void args_free_warnings(char **w)
{
	for (char **p = w; p && *p; p++)
		free(*p);
	free(w);
}

/* The Pyroscope flags, checked with Pyroscope's own rules so a bad one
 * fails now rather than at every upload. */
static int validate_pyroscope(const struct args *a)
{
	char err[256], *suffix = NULL;

	if (!a->pyroscope_server)
		return 0;
	if (strncmp(a->pyroscope_server, "http://", 7) && strncmp(a->pyroscope_server, "https://", 8)) {
		error_line("--pyroscope-server must be an http:// or https:// URL, not '%s'",
			   a->pyroscope_server);
		return -EINVAL;
	}
	if (a->pyroscope_app && pyroscope__check_app(a->pyroscope_app, err, sizeof(err))) {
		error_line("--pyroscope-application-name: %s", err);
		return -EINVAL;
	}
	if (pyroscope__tags(a->pyroscope_tags, &suffix, err, sizeof(err))) {
		error_line("--pyroscope-tags: %s", err);
		return -EINVAL;
	}
	free(suffix);
	if (a->pyroscope_user && strchr(a->pyroscope_user, ':')) {
		error_line("--pyroscope-user must not hold ':' (basic auth separates user and password "
			   "with it)");
		return -EINVAL;
	}
	return 0;
}

int args_validate(struct args *a)
{
	bool cpu = !strcmp(a->profiling_mode, "cpu");

	/* Our default is smart (full stacks without frame pointers, at
	 * frame-pointer cost where they suffice; gProfiler's is fp). gProfiler
	 * refuses dwarf and smart above 100 Hz, so there the default is fp. */
	if (!a->perf_mode)
		a->perf_mode = xstrdup(a->frequency > 100 ? "fp" : "smart");
	if (!strcmp(a->perf_mode, "none")) {
		free(a->perf_mode);
		a->perf_mode = xstrdup("disabled");
	}
	if (cpu && a->alloc_interval) {
		error_line("--alloc-interval is only allowed in allocation profiling (--mode=allocation)");
		return -EINVAL;
	}
	if (!cpu && a->frequency) {
		error_line("-f|--frequency is only allowed in cpu profiling (--mode=cpu)");
		return -EINVAL;
	}
	if (!a->frequency)
		a->frequency = 11;
	if (a->subcommand && !strcmp(a->subcommand, "upload-file"))
		a->upload_results = true;
	if (a->upload_results) {
		if (!a->server_token || !a->server_token[0]) {
			error_line("Must provide --token when --upload-results is passed");
			return -EINVAL;
		}
		if (!a->service_name || !a->service_name[0]) {
			error_line("Must provide --service-name when --upload-results is passed");
			return -EINVAL;
		}
	}
	if (!a->upload_results && !a->output_dir && !a->pyroscope_server) {
		error_line("Must pass at least one output method (--upload-results / --output-dir) "
			   "or --pyroscope-server");
		return -EINVAL;
	}
	if (validate_pyroscope(a))
		return -EINVAL;
	if (strcmp(a->perf_mode, "disabled") && a->perf_dwarf_stack_size > 65528) {
		error_line("--perf-dwarf-stack-size maximum size is 65528");
		return -EINVAL;
	}
	if (cpu && (!strcmp(a->perf_mode, "dwarf") || !strcmp(a->perf_mode, "smart")) &&
	    a->frequency > 100) {
		error_line("--profiling-frequency|-f can't be larger than 100 when using --perf-mode "
			   "'smart' or 'dwarf'");
		return -EINVAL;
	}
	if ((!strcmp(a->nodejs_mode, "perf") || !strcmp(a->nodejs_mode, "attach-maps")) &&
	    strcmp(a->perf_mode, "fp") && strcmp(a->perf_mode, "smart")) {
		error_line("--nodejs-mode perf or attach-maps requires --perf-mode 'fp' or 'smart'");
		return -EINVAL;
	}
	if (a->profile_spawned_processes && a->npids) {
		error_line("--pids is not allowed when profiling spawned processes");
		return -EINVAL;
	}
	if (!cpu) {
		error_line("--mode %s is not supported yet (only cpu)", a->profiling_mode);
		return -EINVAL;
	}
	return 0;
}

/* The option named by argv[i] ("--name" or "--name=value"), or NULL. */
static const struct opt *argv_option(const char *arg)
{
	const char *eq;

	if (strncmp(arg, "--", 2))
		return NULL;
	eq = strchr(arg + 2, '=');
	return find_long(arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
}

char *args_command_line(int argc, char **argv)
{
	size_t len = 1;
	char *cmd, *p;

	for (int i = 1; i < argc; i++)
		len += strlen(argv[i]) + sizeof("<redacted>") + 1;
	cmd = xmalloc(len);
	p = cmd;
	*p = '\0';
	for (int i = 1; i < argc; i++) {
		const struct opt *o = argv_option(argv[i]), *prev = i > 1 ? argv_option(argv[i - 1]) : NULL;
		const char *eq = strchr(argv[i], '=');

		if (i > 1)
			*p++ = ' ';
		if (prev && (prev->flags & O_SECRET) && !strchr(argv[i - 1], '='))
			p += sprintf(p, "<redacted>");
		else if (o && (o->flags & O_SECRET) && eq)
			p += sprintf(p, "%.*s=<redacted>", (int)(eq - argv[i]), argv[i]);
		else
			p += sprintf(p, "%s", argv[i]);
	}
	return cmd;
}

void args_hide_secrets(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const struct opt *o = argv_option(argv[i]);
		char *v;

		if (!o || !(o->flags & O_SECRET))
			continue;
		v = strchr(argv[i], '=');
		if (v)
			v++;
		else if (i + 1 < argc)
			v = argv[++i];
		for (; v && *v; v++)
			*v = '*';
	}
}

json_t *args_to_json(const struct args *a)
{
	json_t *o = json_object();

	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *op = &opts[i];
		json_t *v = NULL;

		if (op->off == NOFIELD || !op->dest || json_object_get(o, op->dest))
			continue;
		const void *f = (const char *)a + op->off;

		switch (op->kind) {
		case K_TRUE:
		case K_FALSE:
			v = json_boolean(*(const bool *)f);
			break;
		case K_UINT:
			v = json_integer(*(const unsigned int *)f);
			break;
		case K_INT:
			v = *(const int *)f ? json_integer(*(const int *)f) : json_null();
			break;
		case K_STR:
		case K_CHOICE:
		case K_CONST:
		case K_OPTSTR: {
			const char *s = *(char *const *)f;

			v = !s ? json_null() : (op->flags & O_SECRET) ? json_string("<redacted>")
								       : json_string(s);
			break;
		}
		case K_PIDS:
			if (!a->npids) {
				v = json_null();
			} else {
				v = json_array();
				for (size_t k = 0; k < a->npids; k++)
					json_array_append_new(v, json_integer(a->pids[k]));
			}
			break;
		case K_APPEND:
			v = json_array();
			for (size_t k = 0; k < a->napp_id_args_filters; k++)
				json_array_append_new(v, json_string(a->app_id_args_filters[k]));
			break;
		default:
			break;
		}
		if (v)
			json_object_set_new(o, op->dest, v);
	}
	json_object_set_new(o, "subcommand", a->subcommand ? json_string(a->subcommand) : json_null());
	return o;
}

void args_free(struct args *a)
{
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		if (o->off == NOFIELD)
			continue;
		if (o->kind == K_STR || o->kind == K_CHOICE || o->kind == K_CONST || o->kind == K_OPTSTR) {
			char **s = field(a, o);

			free(*s);
			*s = NULL;
		}
	}
	free(a->pids);
	for (size_t i = 0; i < a->napp_id_args_filters; i++)
		free(a->app_id_args_filters[i]);
	free(a->app_id_args_filters);
	free(a->subcommand);
	memset(a, 0, sizeof(*a));
}
