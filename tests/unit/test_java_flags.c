// SPDX-License-Identifier: Apache-2.0
/* jvm_flags from "jcmd VM.flags -all" (JDK 17 lines recorded here, JDK 8's
 * ":=" form), with gProfiler's filters and its JSON shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "java/jvmflags.h"

static const char jdk17[] =
	"12486:\n"
	"[Global flags]\n"
	"      int ActiveProcessorCount                     = -1                                        {product} {default}\n"
	"     intx CICompilerCount                          = 2                                         {product} {ergonomic}\n"
	"   size_t MaxHeapSize                              = 100663296                                 {product} {command line}\n"
	"    uintx NonNMethodCodeHeapSize                   = 5826188                                {pd product} {ergonomic}\n"
	"   size_t SoftMaxHeapSize                          = 100663296                             {manageable} {ergonomic}\n"
	"     bool UseCompressedOops                        = true                           {product lp64_product} {ergonomic}\n"
	"    ccstr ErrorFile                                = /tmp/x                                    {product} {command line}\n"
	"    ccstr AbortVMOnException                       =                                        {diagnostic} {default}\n"
	"     bool PrintAssembly                            = false                                {diagnostic} {command line, ergonomic}\n"
	"     bool UseNotProductThing                       = true                                   {notproduct} {command line}\n";

static char *dumps(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return s;
}

static void test_default_filter(void **state)
{
	(void)state;
	char *s = dumps(jvm_flags_parse(jdk17, "default"));

	/* sorted by name; no origin "default", no pd/notproduct/develop, no
	 * ccstr, no manageable; kinds sorted */
	assert_string_equal(s,
		"[{\"CICompilerCount\":{\"type\":\"intx\",\"value\":\"2\",\"origin\":\"ergonomic\","
		"\"kind\":[\"product\"]}},"
		"{\"MaxHeapSize\":{\"type\":\"size_t\",\"value\":\"100663296\",\"origin\":"
		"\"command line\",\"kind\":[\"product\"]}},"
		"{\"PrintAssembly\":{\"type\":\"bool\",\"value\":\"false\",\"origin\":"
		"\"command line, ergonomic\",\"kind\":[\"diagnostic\"]}},"
		"{\"UseCompressedOops\":{\"type\":\"bool\",\"value\":\"true\",\"origin\":\"ergonomic\","
		"\"kind\":[\"lp64_product\",\"product\"]}}]");
	free(s);
}

static void test_all_none_list(void **state)
{
	(void)state;
	json_t *all = jvm_flags_parse(jdk17, "all");

	/* all but ccstr and manageable */
	assert_int_equal(json_array_size(all), 7);
	json_decref(all);
	char *s = dumps(jvm_flags_parse(jdk17, "none"));

	assert_string_equal(s, "[]");
	free(s);
	s = dumps(jvm_flags_parse(jdk17, ""));
	assert_string_equal(s, "[]");
	free(s);
	s = dumps(jvm_flags_parse(jdk17, "MaxHeapSize, ActiveProcessorCount,ErrorFile"));
	assert_string_equal(s,
		"[{\"ActiveProcessorCount\":{\"type\":\"int\",\"value\":\"-1\",\"origin\":\"default\","
		"\"kind\":[\"product\"]}},"
		"{\"MaxHeapSize\":{\"type\":\"size_t\",\"value\":\"100663296\",\"origin\":"
		"\"command line\",\"kind\":[\"product\"]}}]");
	free(s);
}

static void test_jdk8(void **state)
{
	(void)state;
	static const char jdk8[] =
		"     bool UseCompressedClassPointers               := true                                {lp64_product}\n"
		"    uintx MaxHeapSize                              := 1073741824                          {product}\n"
		"     bool UseG1GC                                   = false                               {product}\n"
		"garbage line\n";
	char *s = dumps(jvm_flags_parse(jdk8, "all"));

	assert_string_equal(s,
		"[{\"MaxHeapSize\":{\"type\":\"uintx\",\"value\":\"1073741824\",\"origin\":"
		"\"non-default\",\"kind\":[\"product\"]}},"
		"{\"UseCompressedClassPointers\":{\"type\":\"bool\",\"value\":\"true\",\"origin\":"
		"\"non-default\",\"kind\":[\"lp64_product\"]}},"
		"{\"UseG1GC\":{\"type\":\"bool\",\"value\":\"false\",\"origin\":\"default\","
		"\"kind\":[\"product\"]}}]");
	free(s);
	s = dumps(jvm_flags_parse(jdk8, "default"));
	assert_non_null(strstr(s, "MaxHeapSize"));
	assert_null(strstr(s, "UseG1GC"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_filter),
		cmocka_unit_test(test_all_none_list),
		cmocka_unit_test(test_jdk8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
