// SPDX-License-Identifier: Apache-2.0
/* Java appids from "jcmd VM.command_line" (gProfiler's
 * _JavaJarApplicationIdentifier), the libjvm.so match on /proc/PID/maps,
 * and async-profiler's start/stop strings as gProfiler builds them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "java/java.h"

static const char main_class[] = "VM Arguments:\n"
				 "jvm_args: -Xmx64m -Dapp.env=prod -XX:+UseG1GC\n"
				 "java_command: ZClass 60 2\n"
				 "java_class_path (initial): /tmp/classes\n"
				 "Launcher Type: SUN_STANDARD\n";

static void test_main_class(void **state)
{
	(void)state;
	char *a = java_appid_from_command_line(main_class, NULL);

	assert_string_equal(a, "java: ZClass");
	free(a);
}

static void test_jar(void **state)
{
	(void)state;
	char *a = java_appid_from_command_line(
		"VM Arguments:\njava_command: /opt/app/service.jar --port 8080\n"
		"java_class_path (initial): /opt/app/service.jar\n", NULL);

	assert_string_equal(a, "java: /opt/app/service.jar");
	free(a);
}

static void test_args_filters(void **state)
{
	(void)state;
	const char *const filters[] = { "^-Dapp\\.", "G1", NULL };
	char *a = java_appid_from_command_line(main_class, filters);

	/* matching jvm_args, in order, space-separated */
	assert_string_equal(a, "java: ZClass (-Dapp.env=prod -XX:+UseG1GC)");
	free(a);
	const char *const none[] = { "^nomatch$", NULL };

	a = java_appid_from_command_line(main_class, none);
	assert_string_equal(a, "java: ZClass");
	free(a);
}

static void test_no_command(void **state)
{
	(void)state;
	assert_null(java_appid_from_command_line("VM Arguments:\njvm_args: -Xmx1g\n", NULL));
	assert_null(java_appid_from_command_line("java_command: \n", NULL));
	assert_null(java_appid_from_command_line("", NULL));
}

static void test_maps(void **state)
{
	(void)state;
	char *path = NULL, *range = NULL;
	const char *maps =
		"55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 123 /usr/lib/jvm/java-17/bin/java\n"
		"7f1e2c000000-7f1e2d200000 r-xp 00000000 08:01 456 "
		"/usr/lib/jvm/java-17/lib/server/libjvm.so\n";

	assert_true(java_maps_libjvm(maps, &path, &range));
	assert_string_equal(path, "/usr/lib/jvm/java-17/lib/server/libjvm.so");
	assert_string_equal(range, "7f1e2c000000-7f1e2d200000");
	free(path);
	free(range);
	assert_true(java_maps_match("7f-8f r-xp 0 0:0 1 /opt/jdk/lib/server/libjvm.so (deleted)\n"));
	assert_false(java_maps_match("7f-8f r-xp 0 0:0 1 /usr/lib/libjvm.so.1\n"
				     "7f-8f r-xp 0 0:0 1 /usr/lib/libjvm.sox\n"
				     "7f-8f r-xp 0 0:0 1 /usr/bin/python3\n"));
	assert_false(java_maps_match("7f-8f rw-p 0 0:0 0 libjvm.so\n"));
}

static void test_ap_strings(void **state)
{
	(void)state;
	char *s = java_ap_start_args("itimer", "/tmp/gprofiler_tmp/async-profiler-7.out",
				     "/tmp/gprofiler_tmp/async-profiler-7.log", 11, 90, NULL);

	assert_string_equal(s, "start,event=itimer,file=/tmp/gprofiler_tmp/async-profiler-7.out,"
			       "collapsed,ann,sig,interval=90909090,"
			       "log=/tmp/gprofiler_tmp/async-profiler-7.log,safemode=0,,"
			       "features=probesp+vtable,timeout=90");
	free(s);
	s = java_ap_start_args("cpu", "/o", "/l", 99, 35, "jstackdepth=4096");
	assert_string_equal(s, "start,event=cpu,file=/o,collapsed,ann,sig,interval=10101010,log=/l,"
			       "safemode=0,,features=probesp+vtable,timeout=35,jstackdepth=4096");
	free(s);
	s = java_ap_stop_args("/o", "/l", NULL);
	assert_string_equal(s, "stop,log=/l,mcache=30,file=/o,collapsed,ann,sig,meminfolog");
	free(s);
	s = java_ap_stop_args(NULL, "/l", NULL);
	assert_string_equal(s, "stop,log=/l,mcache=30,meminfolog");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_main_class),
		cmocka_unit_test(test_jar),
		cmocka_unit_test(test_args_filters),
		cmocka_unit_test(test_no_command),
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_ap_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
