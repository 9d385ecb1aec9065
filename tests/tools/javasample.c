// SPDX-License-Identifier: Apache-2.0
/*
 * javasample: runs the Java runtime profiler (java_runtime_ops) on one pid
 * for the integration tests and the bench, without the daemon:
 *
 *   javasample [-f HZ] [-d SECONDS] [-n SESSIONS] [-p SECONDS] [-m MODE]
 *              [-o NAME=VALUE]... [-a] [-M] [-b] PID
 *
 * For each session it prints "# session N", the folded stacks ("f1;f2 N",
 * root first) and "# error: ..." or "# skipped: ..."; with -p, "# pause"
 * after each session and then waits that long (a test measures the JVM
 * between sessions then). -a prints "# appid: ...", -M "# metadata:
 * <json>", -b "# backend: ...". -o options go to the job (ap_path,
 * java_agent_path, java_frames...) and to java_configure().
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "java/java.h"
#include "procinfo.h"
#include "profile.h"
#include "xalloc.h"

static void print_profile(const struct profile *p)
{
	const struct profile_sample *s;
	size_t n;

	s = profile__samples(p, &n);
	for (size_t i = 0; i < n; i++) {
		const gp_str *frames;
		uint32_t nf;

		frames = profile__stack_frames(p, s[i].stack, &nf);
		for (uint32_t k = 0; k < nf; k++)
			printf("%s%s", k ? ";" : "", profile__str(p, frames[k]));
		printf(" %llu\n", (unsigned long long)s[i].count);
	}
}

int main(int argc, char **argv)
{
	unsigned int freq = 11, sessions = 1;
	double secs = 3, pause = 0;
	const char *mode = "builtin";
	const char **opts = xcalloc(1, sizeof(char *));
	size_t nopts = 0;
	bool appid = false, meta = false, backend = false;
	volatile bool stop = false;
	int c, pid;
	char *end;

	while ((c = getopt(argc, argv, "f:d:n:p:m:o:aMb")) != -1) {
		switch (c) {
		case 'f':
			freq = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			secs = strtod(optarg, NULL);
			break;
		case 'n':
			sessions = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			pause = strtod(optarg, NULL);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'o': {
			char *eq = strchr(optarg, '=');

			if (!eq) {
				fprintf(stderr, "-o wants NAME=VALUE\n");
				return 2;
			}
			opts = xrealloc(opts, (nopts + 3) * sizeof(char *));
			opts[nopts++] = xstrndup(optarg, eq - optarg);
			opts[nopts++] = xstrdup(eq + 1);
			opts[nopts] = NULL;
			break;
		}
		case 'a':
			appid = true;
			break;
		case 'M':
			meta = true;
			break;
		case 'b':
			backend = true;
			break;
		default:
			fprintf(stderr, "usage: javasample [-f HZ] [-d S] [-n N] [-p S] [-m MODE] "
					"[-o NAME=VALUE]... [-a] [-M] [-b] PID\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "javasample: one PID expected\n");
		return 2;
	}
	pid = (int)strtol(argv[optind], &end, 10);
	if (*end || pid <= 0) {
		fprintf(stderr, "javasample: bad pid %s\n", argv[optind]);
		return 2;
	}
	java_configure(opts);
	if (backend) {
		char *b = java_backend_describe(mode, opts);

		printf("# backend: %s\n", b);
		free(b);
	}
	if (appid || meta) {
		struct procinfo *pi = procinfo__read(pid);

		if (!pi) {
			printf("# error: process %d: %s\n", pid, strerror(errno));
			return 1;
		}
		if (appid) {
			char *a = java_runtime_ops.appid(pi);

			printf("# appid: %s\n", a ? a : "(none)");
			free(a);
		}
		if (meta) {
			json_t *md = java_runtime_ops.app_metadata(pi);
			char *s = md ? json_dumps(md, JSON_COMPACT) : NULL;

			printf("# metadata: %s\n", s ? s : "null");
			free(s);
			json_decref(md);
		}
		procinfo__free(pi);
	}
	for (unsigned int i = 0; i < sessions; i++) {
		struct runtime_job_config cfg = {
			.pid = pid,
			.frequency = freq,
			.duration_ns = (uint64_t)(secs * 1e9),
			.stop = &stop,
			.tmp_dir = "/tmp",
			.mode = mode,
			.options = opts,
		};
		struct runtime_result res;

		printf("# session %u\n", i + 1);
		fflush(stdout);
		java_runtime_ops.profile(&cfg, &res);
		if (res.prof)
			print_profile(res.prof);
		if (res.error)
			printf("# %s: %s\n", res.skipped ? "skipped" : "error", res.error);
		fflush(stdout);
		profile__free(res.prof);
		free(res.error);
		if (pause > 0) {
			struct timespec ts = { (time_t)pause,
					       (long)((pause - (time_t)pause) * 1e9) };

			printf("# pause\n");
			fflush(stdout);
			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
		}
	}
	for (size_t i = 0; i < nopts; i++)
		free((char *)opts[i]);
	free(opts);
	return 0;
}
