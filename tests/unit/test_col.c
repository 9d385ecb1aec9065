// SPDX-License-Identifier: Apache-2.0
/* The .col writer's exact bytes and the reader's round trip and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col.h"

static char *write_text(const json_t *h, const struct profile *p, const struct col_options *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_true(col__write(f, h, p, o) >= 0);
	fclose(f);
	return buf;
}

static struct profile *sample_profile(void)
{
	struct profile *p = profile__new();
	uint32_t a = profile__proc(p, 10, profile__intern_cstr(p, "app"), GP_SRC_NATIVE);
	uint32_t b = profile__proc(p, 20, profile__intern_cstr(p, "python3"), GP_SRC_PYTHON);
	const char *s1[] = { "main", "work", "do_syscall_64_[k]" };
	const char *s2[] = { "<module> (/x.py:3)_[p]", "f (/x.py:1)_[p]" };
	const char *s3[] = { "main", "bad\nname" };

	profile__proc_at(p, b)->container = profile__intern_cstr(p, "web");
	profile__proc_at(p, b)->appid = profile__intern_cstr(p, "python: x.py (/x.py)");
	profile__proc_at(p, b)->app_meta = 1;
	profile__add_frames(p, a, s1, 3, 5);
	profile__add_frames(p, b, s2, 2, 7);
	profile__add_frames(p, a, s1, 3, 2);	/* sums with the first */
	profile__add_frames(p, a, s3, 2, 1);
	return p;
}

static void test_exact_bytes(void **state)
{
	(void)state;
	struct profile *p = sample_profile();
	json_t *h = json_pack("{s:[],s:b,s:{s:s},s:{s:f,s:n},s:[n,{s:s}],s:b,s:s}", "containers",
			      "container_names_enabled", 1, "metadata", "hostname", "h\xc3\xa9",
			      "metrics", "cpu_avg", 12.5, "mem_avg", "application_metadata", "exe",
			      "/usr/bin/python3", "application_metadata_enabled", 1, "profiling_mode",
			      "cpu");
	struct col_options o = { .app_metadata_idx = true, .container_frame = true, .appids = true };
	char *text = write_text(h, p, &o);

	assert_string_equal(text,
		"# {\"containers\": [], \"container_names_enabled\": true, \"metadata\": {\"hostname\": "
		"\"h\\u00e9\"}, \"metrics\": {\"cpu_avg\": 12.5, \"mem_avg\": null}, "
		"\"application_metadata\": [null, {\"exe\": \"/usr/bin/python3\"}], "
		"\"application_metadata_enabled\": true, \"profiling_mode\": \"cpu\"}\n"
		"0;;app;main;work;do_syscall_64_[k] 7\n"
		"1;web;python3;appid: python: x.py (/x.py);<module> (/x.py:3)_[p];f (/x.py:1)_[p] 7\n"
		"0;;app;main;bad name 1\n");
	free(text);

	/* v1: no index, no container frame */
	o = (struct col_options){ .appids = false };
	text = write_text(h, p, &o);
	assert_non_null(strstr(text, "\napp;main;work;do_syscall_64_[k] 7\n"));
	assert_non_null(strstr(text, "\npython3;<module> (/x.py:3)_[p];f (/x.py:1)_[p] 7\n"));
	free(text);
	json_decref(h);
	profile__free(p);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct profile *p = sample_profile();
	json_t *h = json_pack("{s:b}", "application_metadata_enabled", 1);
	struct col_options o = { .app_metadata_idx = true, .container_frame = true, .appids = true };
	char *text = write_text(h, p, &o), *again, err[128];
	struct col_file *cf;

	assert_int_equal(col__parse(text, strlen(text), &cf, err, sizeof(err)), 0);
	assert_int_equal(cf->total, 15);
	assert_int_equal(cf->lines, 3);
	again = write_text(cf->header, cf->prof, &o);
	assert_string_equal(again, text);
	free(again);
	col_file__free(cf);
	free(text);
	json_decref(h);
	profile__free(p);
}

static void expect_error(const char *text, size_t len, const char *needle)
{
	struct col_file *cf = NULL;
	char err[256] = "";

	assert_int_equal(col__parse(text, len, &cf, err, sizeof(err)), -EINVAL);
	assert_null(cf);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_bad_files(void **state)
{
	(void)state;
	static const char nul[] = "# {}\na;b 1\0garbage\n";

	expect_error("", 0, "empty");
	expect_error("a;b 1\n", 6, "line 1");
	expect_error("# not json\n", 11, "not a JSON object");
	expect_error("# [1, 2]\n", 9, "not a JSON object");
	expect_error("# {}\na;b;c\n", 11, "line 2");
	expect_error("# {}\na;b x\n", 10, "line 2");
	expect_error("# {}\na;b 1\na;b -3\n", 17, "line 3");
	expect_error(nul, sizeof(nul) - 1, "NUL");
}

static void test_empty_profile_ok(void **state)
{
	(void)state;
	struct col_file *cf;
	char err[64];

	assert_int_equal(col__parse("# {}\n", 5, &cf, err, sizeof(err)), 0);
	assert_int_equal(cf->total, 0);
	col_file__free(cf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_empty_profile_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
