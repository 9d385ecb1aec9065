// SPDX-License-Identifier: Apache-2.0
/* async-profiler's collapsed grammar (and our agent's, which adds a status
 * line): frames, counts, descriptors whose ';' must become '|', native and
 * kernel frames, and lines that are not stacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "java/collapsed.h"
#include "profile.h"

/* The stacks of p as "f1;f2 count" lines, in insertion order. */
static char *dump(const struct profile *p)
{
	const struct profile_sample *s;
	size_t n, len = 0;
	char *out = calloc(1, 1 << 16);

	s = profile__samples(p, &n);
	for (size_t i = 0; i < n; i++) {
		const gp_str *f;
		uint32_t nf;

		f = profile__stack_frames(p, s[i].stack, &nf);
		for (uint32_t k = 0; k < nf; k++)
			len += sprintf(out + len, "%s%s", k ? ";" : "", profile__str(p, f[k]));
		len += sprintf(out + len, " %llu\n", (unsigned long long)s[i].count);
	}
	return out;
}

static char *parse(const char *text, struct collapsed_stats *st)
{
	struct profile *p = profile__new();
	uint32_t proc = profile__proc(p, 42, profile__intern_cstr(p, "java"), GP_SRC_JAVA);
	char *out;

	assert_int_equal(collapsed_parse(p, proc, text, strlen(text), st), 0);
	out = dump(p);
	profile__free(p);
	return out;
}

static void test_real_lines(void **state)
{
	(void)state;
	struct collapsed_stats st;
	/* lines recorded from async-profiler (reference A2) */
	char *out = parse("Spin.main;Spin.f 297\n"
			  "[main tid=25673];Spin.main_[j];Spin.f_[i] 199\n"
			  "[main tid=25867];W.main_[j];java/io/FileOutputStream.write_[i];"
			  "java/io/FileOutputStream.writeBytes_[j];Java_java_io_FileOutputStream_"
			  "writeBytes;writeBytes;jni_GetByteArrayRegion;void AccessInternal::"
			  "arraycopy_conjoint<signed char> 2\n", &st);

	assert_string_equal(out,
			    "Spin.main;Spin.f 297\n"
			    "[main tid=25673];Spin.main_[j];Spin.f_[i] 199\n"
			    "[main tid=25867];W.main_[j];java/io/FileOutputStream.write_[i];"
			    "java/io/FileOutputStream.writeBytes_[j];Java_java_io_FileOutputStream_"
			    "writeBytes;writeBytes;jni_GetByteArrayRegion;void AccessInternal::"
			    "arraycopy_conjoint<signed char> 2\n");
	assert_int_equal(st.samples, 498);
	assert_int_equal(st.lines, 3);
	assert_int_equal(st.bad, 0);
	free(out);
}

static void test_signatures(void **state)
{
	(void)state;
	struct collapsed_stats st;
	/* with "sig": raw descriptors keep their ';' until we turn them into '|';
	 * already-converted ones stay as they are */
	char *out = parse("Fibonacci.main([Ljava/lang/String;)V_[j];Fibonacci$1.run()V_[j];"
			  "java/io/File.list()[Ljava/lang/String;_[j] 5\n"
			  "Fibonacci.main([Ljava/lang/String|)V_[j];java/util/HashMap.get"
			  "(Ljava/lang/Object;)Ljava/lang/Object;_[0] 3\n"
			  "A.f([[ILjava/util/Map;JLa/B$C;Z)[[Ljava/lang/Object;_[i];A.g(I)V 1\n", &st);

	assert_string_equal(out,
			    "Fibonacci.main([Ljava/lang/String|)V_[j];Fibonacci$1.run()V_[j];"
			    "java/io/File.list()[Ljava/lang/String|_[j] 5\n"
			    "Fibonacci.main([Ljava/lang/String|)V_[j];java/util/HashMap.get"
			    "(Ljava/lang/Object|)Ljava/lang/Object|_[0] 3\n"
			    "A.f([[ILjava/util/Map|JLa/B$C|Z)[[Ljava/lang/Object|_[i];A.g(I)V 1\n");
	assert_int_equal(st.lines, 3);
	free(out);
}

static void test_not_descriptors(void **state)
{
	(void)state;
	/* C++ signatures and odd parentheses split on ';' as usual */
	char *out = parse("foo(int);bar(char const*) 4\n"
			  "std::vector<int>::push_back(int const&);(anonymous namespace)::f 1\n"
			  "X.y(Lnot/closed 2\n", NULL);

	assert_string_equal(out, "foo(int);bar(char const*) 4\n"
				 "std::vector<int>::push_back(int const&);(anonymous namespace)::f 1\n"
				 "X.y(Lnot/closed 2\n");
	free(out);
}

static void test_other_lines(void **state)
{
	(void)state;
	struct collapsed_stats st;
	char *out = parse("# gprofiler-java-agent 1 status=ok samples=9 lost=0\n"
			  "\n"
			  "[GC Thread#0] 3\r\n"
			  "no count here\n"
			  "a;b -4\n"
			  "a;b 0\n"
			  " 7\n"
			  "a;b 2 \n"
			  "[unknown_Java] 1", &st);

	assert_string_equal(out, "[GC Thread#0] 3\na;b 2\n[unknown_Java] 1\n");
	assert_int_equal(st.samples, 6);
	assert_int_equal(st.lines, 3);
	assert_int_equal(st.bad, 3);
	free(out);
}

static void test_same_stack_sums(void **state)
{
	(void)state;
	char *out = parse("a;b 2\na;b 3\n", NULL);

	assert_string_equal(out, "a;b 5\n");
	free(out);
}

static void test_split(void **state)
{
	(void)state;
	char line[] = "a;b(I)V;c(Lx/Y;)Lz;;d";
	const char *frames[8];
	size_t n = collapsed_split(line, frames, 8);

	/* the return type "Lz;" ends the descriptor; the next ';' separates */
	assert_int_equal(n, 4);
	assert_string_equal(frames[0], "a");
	assert_string_equal(frames[1], "b(I)V");
	assert_string_equal(frames[2], "c(Lx/Y|)Lz|");
	assert_string_equal(frames[3], "d");

	char two[] = "x;y";

	assert_int_equal(collapsed_split(two, frames, 1), 2);	/* truncated: count only */
	assert_string_equal(frames[0], "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_lines),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_not_descriptors),
		cmocka_unit_test(test_other_lines),
		cmocka_unit_test(test_same_stack_sums),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
