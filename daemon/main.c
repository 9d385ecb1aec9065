// SPDX-License-Identifier: Apache-2.0
/*
 * gprofiler: parse the command line, check the host as gProfiler does
 * (root, init pid namespace, one instance per host), set up logging and
 * signals, then run the sessions. Subcommands: upload-file, flamegraph.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "args.h"
#include "commands.h"
#include "log.h"
#include "session.h"
#include "startup.h"

#ifndef GPROFILER_VERSION
#define GPROFILER_VERSION "0"
#endif

/* libbpf's own messages go to the debug log, not to stderr. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (level != LIBBPF_DEBUG)
		log_debug("libbpf: %s", buf);
	return 0;
}

static void log_start(const struct args *a, int argc, char **argv, char **warnings)
{
	/* never log a secret given on the command line */
	char *cmd = args_command_line(argc, argv);

	log_info("Running gProfiler (version %s), commandline: %s", GPROFILER_VERSION, cmd);
	free(cmd);
	for (char **w = warnings; w && *w; w++)
		log_warning("%s", *w);
	if (a->npids) {
		char buf[256] = "";

		for (size_t i = 0; i < a->npids && strlen(buf) < sizeof(buf) - 16; i++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%d", i ? "," : "",
				 a->pids[i]);
		log_info("Target PIDs given by --pids: %s", buf);
	}
}

int main(int argc, char **argv)
{
	struct args a;
	char **warnings = NULL;
	time_t spawn = time(NULL);
	sigset_t set;
	int r, lock;

	if (argc > 1 && !strcmp(argv[1], "flamegraph"))
		return cmd_flamegraph(argc - 1, argv + 1);

	r = args_parse(&a, argc, argv, &warnings);
	if (r == 1) {
		args_free(&a);
		args_free_warnings(warnings);
		return 0;
	}
	if (r || args_validate(&a)) {
		args_free(&a);
		args_free_warnings(warnings);
		return ARGS_EXIT_USAGE;
	}
	if (a.dry_run) {
		for (char **w = warnings; w && *w; w++)
			fprintf(stderr, "gprofiler: warning: %s\n", *w);
		puts("gprofiler: the arguments are valid");
		args_free(&a);
		args_free_warnings(warnings);
		return 0;
	}
	if (a.subcommand && !strcmp(a.subcommand, "upload-file")) {
		/* needs no root: it reads a file and makes HTTP requests */
		args_hide_secrets(argc, argv);
		r = cmd_upload_file(&a);
		args_free(&a);
		args_free_warnings(warnings);
		return r;
	}
	if (startup_check_root() || (a.pid_ns_check && startup_check_pidns())) {
		args_free(&a);
		args_free_warnings(warnings);
		return 1;
	}
	lock = startup_lock(a.lock_name);
	if (lock < 0) {
		args_free(&a);
		args_free_warnings(warnings);
		return lock == -EADDRINUSE ? 0 : 1;
	}

	/* Signals are read from a signalfd by the session loop; block them
	 * before any thread exists so every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	libbpf_set_print(libbpf_log);
	r = log_open(a.verbose, a.log_file, a.log_rotate_max_size, a.log_rotate_backup_count);
	log_start(&a, argc, argv, warnings);
	args_hide_secrets(argc, argv);	/* keep them out of ps and /proc/PID/cmdline */
	if (r)
		log_warning("Cannot open the log file %s: %s; logging to stdout only", a.log_file,
			    strerror(-r));
	startup_process_setup(a.disable_core_files);
	r = startup_pid_file(a.pid_file);
	if (r)
		log_warning("Failed to write pid to '%s', continuing anyway: %s", a.pid_file,
			    strerror(-r));
	r = session_run(&a, spawn);
	log_close();
	args_free(&a);
	args_free_warnings(warnings);
	close(lock);
	return r;
}
