// SPDX-License-Identifier: Apache-2.0
/* The command line: defaults, the three sources and their precedence, and
 * the error paths (each one clear line, -EINVAL -> exit 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"

static char **warnings;

static int parse(struct args *a, const char *const *argv)
{
	int argc = 0, r;

	while (argv[argc])
		argc++;
	args_free_warnings(warnings);
	warnings = NULL;
	r = args_parse(a, argc, (char **)argv, &warnings);
	if (r == 0)
		r = args_validate(a);
	return r;
}

static void test_defaults(void **state)
{
	(void)state;
	struct args a;

	assert_int_equal(parse(&a, (const char *[]){ "gprofiler", "-o", "/tmp/x", NULL }), 0);
	assert_int_equal(a.frequency, 11);
	assert_int_equal(a.duration, 60);
	assert_true(a.flamegraph);
	assert_false(a.continuous);
	assert_string_equal(a.perf_mode, "smart");
	assert_string_equal(a.python_mode, "auto");
	assert_string_equal(a.java_mode, "ap");
	assert_string_equal(a.php_mode, "disabled");
	assert_string_equal(a.pid_file, "/var/run/gprofiler.pid");
	assert_string_equal(a.log_file, "/var/log/gprofiler/gprofiler.log");
	assert_true(a.container_names && a.collect_appids && a.application_metadata);
	args_free(&a);
}

static void test_flags(void **state)
{
	(void)state;
	struct args a;

	assert_int_equal(parse(&a, (const char *[]){ "gprofiler", "-o", "/tmp/x", "-d", "5",
						     "--profiling-frequency=99", "-c",
						     "--no-flamegraph", "--pids", "1,2",
						     "--pids=3", "--rotating-output",
						     "--no-python", "--disable-container-names",
						     "-v", NULL }),
			 0);
	assert_int_equal(a.duration, 5);
	assert_int_equal(a.frequency, 99);
	assert_true(a.continuous && a.rotating_output && a.verbose);
	assert_false(a.flamegraph);
	assert_false(a.container_names);
	assert_int_equal(a.npids, 3);
	assert_int_equal(a.pids[2], 3);
	assert_string_equal(a.python_mode, "disabled");
	args_free(&a);
}

static void test_bundled_short_flags(void **state)
{
	(void)state;
	struct args a;

	/* gProfiler's docs write -cu; a value option may close a bundle */
	assert_int_equal(args_parse(&a, 4, (char *[]){ "gprofiler", "-vco", "/tmp/x", "-d5", NULL },
				    &warnings),
			 0);
	assert_true(a.verbose && a.continuous);
	assert_string_equal(a.output_dir, "/tmp/x");
	assert_int_equal(a.duration, 5);
	args_free(&a);
}

static void test_unimplemented_flag_warns(void **state)
{
	(void)state;
	struct args a;

	assert_int_equal(parse(&a, (const char *[]){ "gprofiler", "-o", "/tmp/x",
						     "--java-async-profiler-safemode", "3",
						     "--perf-no-memory-restart", NULL }),
			 0);
	assert_non_null(warnings);
	assert_non_null(strstr(warnings[0], "--java-async-profiler-safemode"));
	assert_non_null(strstr(warnings[1], "--perf-no-memory-restart"));
	args_free(&a);
}

static void test_errors(void **state)
{
	(void)state;
	struct args a;
	const char *const *bad[] = {
		(const char *[]){ "gprofiler", NULL },				/* no output */
		(const char *[]){ "gprofiler", "-u", "-o", "x", NULL },		/* no token */
		(const char *[]){ "gprofiler", "-u", "--token", "t", "-o", "x", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "-d", "0", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "-d", "abc", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "-f", "-5", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "--perf-mode", "bogus", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "--no-such-flag", NULL },
		(const char *[]){ "gprofiler", "-o", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "--pids", "1,x", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "--perf-dwarf-stack-size", "70000", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "--alloc-interval", "1mb", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "--continuous=yes", NULL },
		(const char *[]){ "gprofiler", "-o", "x", "--pids", "1", "--profile-spawned-processes",
				  NULL },
		(const char *[]){ "gprofiler", "-o", "x", "stray", NULL },
		(const char *[]){ "gprofiler", "-cx", "-o", "x", NULL },
	};
	FILE *saved = stderr;

	stderr = fopen("/dev/null", "w");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(&a, bad[i]);

		if (r != -EINVAL) {
			fclose(stderr);
			stderr = saved;
			fail_msg("case %zu was accepted (r=%d)", i, r);
		}
		args_free(&a);
	}
	fclose(stderr);
	stderr = saved;
}

static void test_env_config_precedence(void **state)
{
	(void)state;
	char path[] = "/tmp/gp-args-XXXXXX";
	int fd = mkstemp(path);
	struct args a;
	const char cfg[] = "[gprofiler]\n# comment\nprofiling-duration = 7\nprofiling_frequency: 33\n"
			   "continuous = true\nservice-name = from-config\n";
	char *arg_cfg = NULL;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, cfg, sizeof(cfg) - 1), (ssize_t)(sizeof(cfg) - 1));
	close(fd);
	arg_cfg = path;
	setenv("GPROFILER_PROFILING_FREQUENCY", "44", 1);
	setenv("GPROFILER_OUTPUT_DIR", "/tmp/from-env", 1);
	assert_int_equal(parse(&a, (const char *[]){ "gprofiler", "--config", arg_cfg, "-d", "9",
						     NULL }),
			 0);
	assert_int_equal(a.duration, 9);		/* command line over config */
	assert_int_equal(a.frequency, 44);		/* env over config */
	assert_true(a.continuous);			/* config over default */
	assert_string_equal(a.service_name, "from-config");
	assert_string_equal(a.output_dir, "/tmp/from-env");
	args_free(&a);
	unsetenv("GPROFILER_PROFILING_FREQUENCY");
	unsetenv("GPROFILER_OUTPUT_DIR");
	unlink(path);
}

static void test_run_arguments_redact_token(void **state)
{
	(void)state;
	struct args a;
	json_t *j;
	char *s;

	assert_int_equal(args_parse(&a, 6, (char *[]){ "gprofiler", "-o", "x", "--token",
							"sekrit", "-c", NULL },
				    &warnings),
			 0);
	j = args_to_json(&a);
	s = json_dumps(j, JSON_COMPACT);
	assert_null(strstr(s, "sekrit"));
	assert_non_null(strstr(s, "\"server_token\":\"<redacted>\""));
	assert_non_null(strstr(s, "\"output_dir\":\"x\""));
	assert_non_null(strstr(s, "\"frequency\""));
	free(s);
	json_decref(j);
	args_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_bundled_short_flags),
		cmocka_unit_test(test_unimplemented_flag_warns),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_env_config_precedence),
		cmocka_unit_test(test_run_arguments_redact_token),
	};
	int r;

	unsetenv("GPROFILER_CONFIG");
	r = cmocka_run_group_tests(tests, NULL, NULL);
	args_free_warnings(warnings);
	return r;
}
