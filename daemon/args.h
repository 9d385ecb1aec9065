/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gProfiler's command line, read as ConfigArgParse reads it: defaults, then
 * the config file (--config, default /etc/gprofiler/config.ini), then
 * GPROFILER_<LONG_OPTION> environment variables, then the command line,
 * each overriding the one before. One table describes every flag, so the
 * three sources, --help and the run_arguments metadata never disagree.
 */
#ifndef GP_ARGS_H
#define GP_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct args {
	/* output */
	char *output_dir;
	bool flamegraph;
	bool rotating_output;
	bool upload_results;
	char *server_token;
	char *service_name;
	char *server_host;
	char *api_server;
	unsigned int server_upload_timeout;
	bool curlify_requests;
	bool verify;
	bool log_to_server;
	char *profile_api_version;	/* NULL or "v1" */
	/* Pyroscope and the upload spool (ours) */
	char *pyroscope_server;
	char *pyroscope_app;		/* NULL: the service name, else "gprofiler" */
	char *pyroscope_tags;		/* "k=v,k2=v2" */
	char *pyroscope_user;
	char *pyroscope_password;
	char *pyroscope_tenant;
	char *spool_dir;
	unsigned int spool_max_mb;
	/* profiling */
	unsigned int frequency;		/* 0 until defaulted */
	unsigned int duration;
	bool continuous;
	char *profiling_mode;		/* cpu | allocation | none */
	char *alloc_interval;
	int *pids;
	size_t npids;
	bool profile_spawned_processes;
	bool insert_dso_name;
	char *perf_mode;		/* fp | dwarf | smart | disabled */
	unsigned int perf_dwarf_stack_size;
	bool perf_no_memory_restart;
	char *perf_engine;		/* auto | bpf | perf (ours) */
	/* runtimes */
	char *python_mode;
	char *java_mode;
	char *ruby_mode;
	char *php_mode;
	char *dotnet_mode;
	char *nodejs_mode;
	char *pyspy_path;		/* ours: --python-pyspy-path */
	bool python_add_versions;	/* [pkg==ver] tags on Python frames */
	char *java_async_profiler_path;	/* ours: --java-async-profiler-path */
	char *java_async_profiler_mode;
	char *java_async_profiler_args;
	char *java_collect_jvm_flags;
	/* enrichment */
	bool container_names;
	bool collect_appids;
	bool application_metadata;
	char **app_id_args_filters;
	size_t napp_id_args_filters;
	bool collect_metrics;
	bool collect_metadata;
	char *external_metadata;
	/* process */
	bool pid_ns_check;
	char *pid_file;
	char *log_file;
	unsigned int log_rotate_max_size;
	unsigned int log_rotate_backup_count;
	bool disable_core_files;
	int controller_pid;		/* 0: none */
	char *heartbeat_file;
	bool verbose;
	bool diagnostics;
	bool log_usage;
	char *config;
	/* upload-file */
	char *subcommand;		/* NULL or "upload-file" */
	char *file_path;
	bool dry_run;			/* ours: validate the arguments and exit */
	/* internal: the lock name (tests run side by side) */
	char *lock_name;
};

/* Exit status for argument errors, as argparse. */
#define ARGS_EXIT_USAGE 2

/*
 * Parses argc/argv (argv[0] the program, or the subcommand name for
 * subcommands), the environment and the config file into a. Returns 0;
 * 1 when --help or --version was printed (exit 0); or -EINVAL after
 * printing one "gprofiler: error: ..." line to stderr (exit 2).
 * Warnings (flags accepted but not implemented) go to *ret_warnings as a
 * NULL-terminated array the caller frees with args_free_warnings().
 */
int args_parse(struct args *a, int argc, char **argv, char ***ret_warnings);
/* Checks the combinations gProfiler rejects. 0 or -EINVAL (message
 * printed). */
int args_validate(struct args *a);
void args_free(struct args *a);
void args_free_warnings(char **w);

/* The command line for the log, with the values of secret options
 * (--token, --pyroscope-password) replaced by "<redacted>". Caller frees. */
char *args_command_line(int argc, char **argv);
/* Overwrites the values of secret options in argv with '*', so that ps
 * and /proc/PID/cmdline do not show them (call after args_parse()). */
void args_hide_secrets(int argc, char **argv);

/* {dest: value} for every option, as argparse's namespace dict, with the
 * token and passwords replaced by "<redacted>". New reference. */
json_t *args_to_json(const struct args *a);

#endif
