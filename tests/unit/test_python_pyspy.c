// SPDX-License-Identifier: Apache-2.0
/* The py-spy driver's pure parts: the exact command line gProfiler runs,
 * and reading py-spy's raw output (Granulate's fork writes "_[p]", upstream
 * does not), including frames without a line, bare names, odd spacing,
 * comments, bad counts and CRLF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"
#include "python/pyspy.h"
#include "python/python.h"

/* The folded text of proc 0 of p, one "frames count" line per stack in
 * insertion order. Caller frees. */
static char *folded(struct profile *p)
{
	size_t n, cap = 1 << 16, o = 0;
	const struct profile_sample *s = profile__samples(p, &n);
	char *out = calloc(1, cap);

	for (size_t i = 0; i < n; i++) {
		uint32_t nf;
		const gp_str *f = profile__stack_frames(p, s[i].stack, &nf);

		for (uint32_t k = 0; k < nf; k++)
			o += snprintf(out + o, cap - o, "%s%s", k ? ";" : "", profile__str(p, f[k]));
		o += snprintf(out + o, cap - o, " %llu\n", (unsigned long long)s[i].count);
	}
	return out;
}

static char *parse(const char *text, int *ret_taken)
{
	struct profile *p = profile__new();
	uint32_t proc = profile__proc(p, 42, profile__intern_cstr(p, "python3"), GP_SRC_PYTHON);
	char *out;

	*ret_taken = pyspy_parse_raw(text, strlen(text), p, proc, NULL);
	out = folded(p);
	profile__free(p);
	return out;
}

static void test_fork_output_kept(void **state)
{
	(void)state;
	int n;
	char *out = parse("<module> (/app/spin.py:11)_[p];outer (/app/spin.py:7)_[p];"
			  "inner (/app/spin.py:4)_[p] 287\n", &n);

	assert_int_equal(n, 1);
	assert_string_equal(out, "<module> (/app/spin.py:11)_[p];outer (/app/spin.py:7)_[p];"
				 "inner (/app/spin.py:4)_[p] 287\n");
	free(out);
}

static void test_upstream_output_suffixed(void **state)
{
	(void)state;
	int n;
	/* upstream grammar: "name (file:line)", "name (file)" when the line is
	 * 0, bare "name" without a file */
	char *out = parse("<module> (/app/x.py:3);run (/app/x.py);<built-in> 5\n"
			  "main (/app/x.py:9) 2\n", &n);

	assert_int_equal(n, 2);
	assert_string_equal(out, "<module> (/app/x.py:3)_[p];run (/app/x.py)_[p];<built-in>_[p] 5\n"
				 "main (/app/x.py:9)_[p] 2\n");
	free(out);
}

static void test_counts_sum_and_spacing(void **state)
{
	(void)state;
	int n;
	/* equal stacks add up; names may hold spaces (split at the LAST
	 * space); CRLF; blank and comment lines; Python int() accepts "+3"
	 * and "1_0" */
	char *out = parse("a (/x.py:1);b c (/x.py:2) 3\r\n"
			  "\n   \n# a comment 12\n"
			  "a (/x.py:1);b c (/x.py:2) 4\n"
			  "process 7:\"python x.py\";f (/x.py:5) +3\n"
			  "g (/x.py:6) 1_0\n", &n);

	assert_int_equal(n, 4);
	assert_string_equal(out, "a (/x.py:1)_[p];b c (/x.py:2)_[p] 7\n"
				 "process 7:\"python x.py\"_[p];f (/x.py:5)_[p] 3\n"
				 "g (/x.py:6)_[p] 10\n");
	free(out);
}

static void test_bad_lines_skipped(void **state)
{
	(void)state;
	int n;
	/* no count, a non-number, a negative count, no frames, overflow,
	 * "1__0" (int() refuses double underscores), no trailing newline */
	char *out = parse("lonely\nf (/x.py:1) abc\nf (/x.py:1) -2\n 5\n"
			  "f (/x.py:1) 99999999999999999999999\nf (/x.py:1) 1__0\n"
			  "ok (/x.py:1) 1", &n);

	assert_int_equal(n, 1);
	assert_string_equal(out, "ok (/x.py:1)_[p] 1\n");
	free(out);
}

static void test_argv_is_gprofilers(void **state)
{
	(void)state;
	char **argv = pyspy_argv("/opt/py-spy", 1234, 50, 60, "/tmp/gp/pyspy.ab.1234.col");
	const char *want[] = { "/opt/py-spy", "record", "-r", "50", "-d", "60", "--nonblocking",
			       "--format", "raw", "-F", "--output", "/tmp/gp/pyspy.ab.1234.col",
			       "-p", "1234", "--full-filenames", "--gil", NULL };
	int i = 0;

	for (; want[i]; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[i]);
	pyspy_argv_free(argv);
	assert_int_equal(PYSPY_MAX_FREQUENCY, 50);
	assert_int_equal(PYSPY_EXTRA_TIMEOUT_S, 10);
}

static void test_find(void **state)
{
	(void)state;
	char *p;

	/* an explicit path must be an executable file */
	p = pyspy_find("/bin/sh");
	assert_string_equal(p, "/bin/sh");
	free(p);
	assert_null(pyspy_find("/nonexistent/py-spy"));
	char tmp[] = "/tmp/gp-pyspy-XXXXXX";
	int fd = mkstemp(tmp);

	assert_true(fd >= 0);
	close(fd);
	assert_null(pyspy_find(tmp));		/* mode 0600: not executable */
	unlink(tmp);
	/* "" means "not given": PATH is searched (here: a PATH without it) */
	setenv("PATH", "/nonexistent", 1);
	assert_null(pyspy_find(""));
}

static void test_option_lookup(void **state)
{
	(void)state;
	const char *opts[] = { "ap_path", "/x", "pyspy_path", "/opt/py-spy", NULL };

	assert_string_equal(python_option(opts, "pyspy_path"), "/opt/py-spy");
	assert_null(python_option(opts, "python_lineno"));
	assert_null(python_option(NULL, "pyspy_path"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_output_kept),
		cmocka_unit_test(test_upstream_output_suffixed),
		cmocka_unit_test(test_counts_sum_and_spacing),
		cmocka_unit_test(test_bad_lines_skipped),
		cmocka_unit_test(test_argv_is_gprofilers),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_option_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
