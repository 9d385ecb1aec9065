// SPDX-License-Identifier: Apache-2.0
/* What goes on the wire, byte for byte: percent-encoding, the Studio's
 * request URLs and body, Pyroscope's ingest URL, application names and
 * tags (Pyroscope's own rules), and the folded body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "profile.h"
#include "pyroscope.h"
#include "studio.h"

static void test_escape(void **state)
{
	(void)state;
	char *s;

	s = http__escape("AZaz09-._~");
	assert_string_equal(s, "AZaz09-._~");
	free(s);
	s = http__escape("a b&c=d/e?f%g+h{i}j,k:l");
	assert_string_equal(s, "a%20b%26c%3Dd%2Fe%3Ff%25g%2Bh%7Bi%7Dj%2Ck%3Al");
	free(s);
	s = http__escape("caf\xc3\xa9\x01");
	assert_string_equal(s, "caf%C3%A9%01");
	free(s);
	s = http__escape("");
	assert_string_equal(s, "");
	free(s);
}

static void test_url(void **state)
{
	(void)state;
	const char *p[] = { "a", "1 2", "b&", "x=y", NULL };
	char *u;

	u = http__url("http://h/p", p);
	assert_string_equal(u, "http://h/p?a=1%202&b%26=x%3Dy");
	free(u);
	u = http__url("http://h/p?z=0", p);
	assert_string_equal(u, "http://h/p?z=0&a=1%202&b%26=x%3Dy");
	free(u);
	u = http__url("http://h/p", NULL);
	assert_string_equal(u, "http://h/p");
	free(u);
}

static struct studio *make_studio(const char *server)
{
	struct studio_config c = {
		.server = server,
		.token = "t/k+n",
		.service = "svc name",
		.hostname = "host-1",
		.agent_version = "1.51.0-c0.1.0",
		.upload_timeout_s = 120,
		.verify = true,
	};

	return studio__new(&c);
}

static void test_studio_urls(void **state)
{
	(void)state;
	struct studio *s = make_studio("https://profiler.example.com//");
	char *u;

	assert_non_null(s);
	/* 2024-10-20T15:03:47 UTC */
	u = studio__url(s, "v1", "health_check", 1729436627, false);
	assert_string_equal(u, "https://profiler.example.com/api/v1/health_check?key=t%2Fk%2Bn&"
			       "service=svc%20name&hostname=host-1&timestamp=2024-10-20T15%3A03%3A47");
	free(u);
	u = studio__url(s, "v2", "profiles", 1729436627, true);
	assert_string_equal(u, "https://profiler.example.com/api/v2/profiles?key=t%2Fk%2Bn&"
			       "service=svc%20name&hostname=host-1&timestamp=2024-10-20T15%3A03%3A47&"
			       "version=1.51.0-c0.1.0");
	free(u);
	assert_string_equal(json_string_value(studio__gpid(s)), "");
	studio__free(s);

	/* a header value that would split the request is refused */
	struct studio_config bad = { .server = "http://x", .token = "a\r\nX-Evil: 1", .service = "s" };

	errno = 0;
	assert_null(studio__new(&bad));
	assert_int_equal(errno, EINVAL);
}

static void test_studio_body(void **state)
{
	(void)state;
	json_t *cpu = json_real(12.5);
	json_t *b = studio__body("2024-10-20T15:02:47", "2024-10-20T15:03:47", "host-1",
				 "# {}\n0;;c\xff;f 1", 15, cpu, NULL, "2024-10-20T15:00:00");
	const char *keys[] = { "start_time", "end_time", "hostname", "profile", "cpu_avg",
			       "mem_avg", "spawn_time" };
	const char *k;
	json_t *v;
	size_t i = 0;

	/* gProfiler's key order (gpid is added last, at send time) */
	json_object_foreach(b, k, v)
		assert_string_equal(k, keys[i++]);
	assert_int_equal(i, 7);
	/* bytes that are not UTF-8 become U+FFFD, as Python's decoder does */
	assert_string_equal(json_string_value(json_object_get(b, "profile")),
			    "# {}\n0;;c\xef\xbf\xbd;f 1");
	assert_true(json_real_value(json_object_get(b, "cpu_avg")) == 12.5);
	assert_true(json_is_null(json_object_get(b, "mem_avg")));
	json_decref(b);
	json_decref(cpu);

	/* overlong forms and surrogates are not UTF-8 either */
	b = studio__body("s", "e", "h", "\xc0\xaf\xed\xa0\x80ok", 7, NULL, NULL, "t");
	assert_string_equal(json_string_value(json_object_get(b, "profile")),
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdok");
	json_decref(b);
}

static void test_pyroscope_url(void **state)
{
	(void)state;
	char *u = pyroscope__url("http://pyro:4040/", "my-app.cpu{env=prod,region=eu-1}",
				 1729436567, 1729436627, 11);

	assert_string_equal(u, "http://pyro:4040/ingest?name=my-app.cpu%7Benv%3Dprod%2Cregion%3Deu-1"
			       "%7D&from=1729436567&until=1729436627&format=folded&sampleRate=11&"
			       "spyName=gprofiler");
	free(u);
}

static void expect_tags(const char *spec, const char *suffix)
{
	char *got = NULL, err[128];

	assert_int_equal(pyroscope__tags(spec, &got, err, sizeof(err)), 0);
	assert_string_equal(got, suffix);
	free(got);
}

static void expect_bad_tags(const char *spec, const char *msg)
{
	char *got = NULL, err[128] = "";

	assert_int_equal(pyroscope__tags(spec, &got, err, sizeof(err)), -EINVAL);
	assert_null(got);
	if (!strstr(err, msg))
		fail_msg("'%s': '%s' does not say '%s'", spec, err, msg);
}

static void test_pyroscope_names(void **state)
{
	(void)state;
	char err[128], *a;

	expect_tags(NULL, "");
	expect_tags("", "");
	expect_tags("env=prod", "{env=prod}");
	expect_tags("env=prod,_k.x=v:1/2@x", "{env=prod,_k.x=v:1/2@x}");
	expect_tags("a=1,,b=2", "{a=1,b=2}");
	expect_bad_tags("env", "not key=value");
	expect_bad_tags("=v", "must start with a letter");
	expect_bad_tags("1a=v", "must start with a letter");
	expect_bad_tags("a-b=v", "holds '-'");
	expect_bad_tags("__name__=x", "reserved");
	expect_bad_tags("a=1,a=2", "given twice");
	expect_bad_tags("a=", "empty value");
	expect_bad_tags("a=x y", "blank");
	expect_bad_tags("a=x}", "one of");
	expect_bad_tags("a=x=y", "one of");
	expect_bad_tags("a=\"q\"", "one of");
	expect_bad_tags(",", "no tags");

	assert_int_equal(pyroscope__check_app("my-app.cpu_1", err, sizeof(err)), 0);
	assert_int_equal(pyroscope__check_app("", err, sizeof(err)), -EINVAL);
	assert_int_equal(pyroscope__check_app("my app", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "holds ' '"));
	assert_int_equal(pyroscope__check_app("a{b}", err, sizeof(err)), -EINVAL);
	a = pyroscope__app_from("web shop/1{x}");
	assert_string_equal(a, "web_shop_1_x_");
	free(a);
	a = pyroscope__app_from(NULL);
	assert_string_equal(a, "gprofiler");
	free(a);
	a = pyroscope__app_from("");
	assert_string_equal(a, "gprofiler");
	free(a);
}

static void test_folded_body(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	uint32_t a = profile__proc(p, 10, profile__intern_cstr(p, "app"), GP_SRC_NATIVE);
	uint32_t b = profile__proc(p, 20, profile__intern_cstr(p, "python3"), GP_SRC_PYTHON);
	const char *s1[] = { "main", "work" };
	const char *s2[] = { "<module> (x.py:1)_[p]", "f (x.py:9)_[p]" };
	char *body;
	size_t len;

	assert_null(pyroscope__folded(p, true, &len));	/* no samples: nothing to send */
	profile__add_frames(p, a, s1, 2, 3);
	profile__add_frames(p, b, s2, 2, 5);
	profile__proc_at(p, b)->container = profile__intern_cstr(p, "web");
	profile__proc_at(p, b)->appid = profile__intern_cstr(p, "python: x.py (/x.py)");
	profile__proc_at(p, b)->app_meta = 1;
	body = pyroscope__folded(p, true, &len);
	/* comm is the root; no metadata index, no container frame */
	assert_string_equal(body, "app;main;work 3\n"
				  "python3;appid: python: x.py (/x.py);<module> (x.py:1)_[p];"
				  "f (x.py:9)_[p] 5\n");
	assert_int_equal(len, strlen(body));
	free(body);
	body = pyroscope__folded(p, false, &len);
	assert_string_equal(body, "app;main;work 3\npython3;<module> (x.py:1)_[p];f (x.py:9)_[p] 5\n");
	free(body);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_studio_urls),
		cmocka_unit_test(test_studio_body),
		cmocka_unit_test(test_pyroscope_url),
		cmocka_unit_test(test_pyroscope_names),
		cmocka_unit_test(test_folded_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
