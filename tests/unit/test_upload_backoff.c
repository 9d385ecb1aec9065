// SPDX-License-Identifier: Apache-2.0
/* Retry policy: the backoff curve (doubling, capped, jittered down only),
 * which answers are retried, dropped or done, what the log says about
 * them (the server's message, never the token), and the worker keeping a
 * profile spooled when the server cannot be reached before the stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "uploader.h"

#define S 1000000000ULL

static void test_backoff_curve(void **state)
{
	(void)state;
	uint64_t prev = 0;

	assert_int_equal(uploader__backoff(S, 300 * S, 0, 0), 0);
	/* rnd 0: no jitter; doubling from the minimum */
	assert_int_equal(uploader__backoff(S, 300 * S, 1, 0), S);
	assert_int_equal(uploader__backoff(S, 300 * S, 2, 0), 2 * S);
	assert_int_equal(uploader__backoff(S, 300 * S, 3, 0), 4 * S);
	assert_int_equal(uploader__backoff(S, 300 * S, 9, 0), 256 * S);
	/* capped, also for absurd failure counts (no overflow) */
	assert_int_equal(uploader__backoff(S, 300 * S, 10, 0), 300 * S);
	assert_int_equal(uploader__backoff(S, 300 * S, 4000000000u, 0), 300 * S);
	for (unsigned int n = 1; n < 100; n++) {
		uint64_t d = uploader__backoff(S, 300 * S, n, 0);

		assert_true(d >= prev);
		prev = d;
	}
	/* jitter takes off at most a quarter, never adds */
	for (uint32_t r = 0; r < 0xffffff00u; r += 0x01000001u) {
		uint64_t d = uploader__backoff(S, 300 * S, 3, r);

		assert_true(d <= 4 * S && d >= 3 * S);
	}
	assert_true(uploader__backoff(S, 300 * S, 20, 0xffffffffu) >= 225 * S);
	/* min above max: max wins */
	assert_int_equal(uploader__backoff(10 * S, 5 * S, 1, 0), 5 * S);
}

static struct http_response resp(long status, int cc, const char *body)
{
	struct http_response r = { .status = status, .curl_code = cc, .retry_after_s = -1 };

	if (body) {
		r.body = strdup(body);
		r.body_len = strlen(body);
	}
	if (cc)
		snprintf(r.error, sizeof(r.error), "Failed to connect to 127.0.0.1 port 1");
	return r;
}

static void test_classify(void **state)
{
	(void)state;
	static const struct {
		long status;
		int cc;
		enum http_outcome want;
	} cases[] = {
		{ 200, CURLE_OK, HTTP_SENT },
		{ 204, CURLE_OK, HTTP_SENT },
		{ 200, CURLE_OPERATION_TIMEDOUT, HTTP_SENT },	/* the server said yes */
		{ 0, CURLE_COULDNT_CONNECT, HTTP_RETRY },
		{ 0, CURLE_OPERATION_TIMEDOUT, HTTP_RETRY },
		{ 0, CURLE_COULDNT_RESOLVE_HOST, HTTP_RETRY },
		{ 0, CURLE_GOT_NOTHING, HTTP_RETRY },
		{ 0, CURLE_ABORTED_BY_CALLBACK, HTTP_RETRY },
		{ 0, CURLE_URL_MALFORMAT, HTTP_REJECTED },
		{ 0, CURLE_UNSUPPORTED_PROTOCOL, HTTP_REJECTED },
		{ 500, CURLE_OK, HTTP_RETRY },
		{ 502, CURLE_OK, HTTP_RETRY },
		{ 503, CURLE_OK, HTTP_RETRY },
		{ 408, CURLE_OK, HTTP_RETRY },
		{ 429, CURLE_OK, HTTP_RETRY },
		{ 400, CURLE_OK, HTTP_REJECTED },
		{ 401, CURLE_OK, HTTP_REJECTED },
		{ 403, CURLE_OK, HTTP_REJECTED },
		{ 411, CURLE_OK, HTTP_REJECTED },
		{ 413, CURLE_OK, HTTP_REJECTED },
		{ 301, CURLE_OK, HTTP_REJECTED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_response r = resp(cases[i].status, cases[i].cc, NULL);

		if (http__classify(&r) != cases[i].want)
			fail_msg("status %ld curl %d: got %d", cases[i].status, cases[i].cc,
				 http__classify(&r));
	}
}

static void expect_describe(long status, int cc, const char *body, const char *secret,
			    const char *want)
{
	struct http_response r = resp(status, cc, body);
	char *s = http__describe(&r, secret);

	assert_string_equal(s, want);
	free(s);
	http_response__clear(&r);
}

static void test_describe(void **state)
{
	(void)state;
	/* the Studio (FastAPI), gProfiler's APIError, Pyroscope (connect) */
	expect_describe(400, 0, "{\"detail\": {\"message\": \"Failed to parse v2 metadata\"}}", NULL,
			"HTTP 400: Failed to parse v2 metadata");
	expect_describe(401, 0, "{\"message\": \"Invalid token\"}", NULL, "HTTP 401: Invalid token");
	expect_describe(422, 0, "{\"detail\": \"bad\"}", NULL, "HTTP 422: bad");
	expect_describe(400, 0, "{\"code\":\"invalid_argument\",\"message\":\"bad name\"}", NULL,
			"HTTP 400: bad name");
	expect_describe(502, 0, "<html>Bad Gateway</html>\nmore", NULL,
			"HTTP 502: <html>Bad Gateway</html>");
	expect_describe(500, 0, NULL, NULL, "HTTP 500");
	expect_describe(0, CURLE_COULDNT_CONNECT, NULL, NULL, "Failed to connect to 127.0.0.1 port 1");
	/* a server echoing the token does not put it in our log */
	expect_describe(400, 0, "{\"message\": \"bad key s3cr3t, s3cr3t\"}", "s3cr3t",
			"HTTP 400: bad key <redacted>, <redacted>");
	expect_describe(400, 0, "{\"message\": \"a\\nb\\u0007c\"}", NULL, "HTTP 400: a b c");
	/* a secret that is part of the mark itself does not loop */
	expect_describe(0, CURLE_COULDNT_CONNECT, NULL, "t",
			"Failed <redacted>o connec<redacted> <redacted>o 127.0.0.1 por<redacted> 1");
}

/* ---- the worker, with a server that refuses connections ---- */

static char logbuf[8192];

static void collect(void *arg, enum uploader_level level, const char *msg)
{
	(void)arg;
	(void)level;
	strncat(logbuf, msg, sizeof(logbuf) - strlen(logbuf) - 2);
	strcat(logbuf, "\n");
}

static void test_unreachable_server_keeps_the_profile_spooled(void **state)
{
	(void)state;
	char dir[] = "/tmp/gp-upload-unit-XXXXXX";
	struct studio_config sc = { .server = "http://127.0.0.1:1", .token = "s3cr3t-TOKEN",
				    .service = "svc", .hostname = "h", .agent_version = "1.51.0",
				    .upload_timeout_s = 5 };
	struct pyroscope_config pc = { .server = "http://127.0.0.1:1", .timeout_s = 5 };
	struct uploader_config cfg = { .log = collect };
	struct uploader *u;
	struct profile *p = profile__new();
	uint32_t proc = profile__proc(p, 1, profile__intern_cstr(p, "comm"), GP_SRC_NATIVE);
	const char *frames[] = { "main", "f" };
	struct col_options co = { .app_metadata_idx = true, .container_frame = true };
	json_t *header = json_pack("{s:[],s:b,s:{s:s},s:{s:n,s:n}}", "containers",
				   "container_names_enabled", 1, "metadata", "hostname", "h",
				   "metrics", "cpu_avg", "mem_avg");
	struct upload_profile up = { .header = header, .prof = p, .col = &co, .start = 1000,
				     .end = 1060, .spawn = 990, .hostname = "h",
				     .pyroscope_name = "app{a=b}", .sample_rate = 11 };
	struct spool *sp;
	struct spool_entry e;
	json_t *meta;
	char *payload;
	size_t len;

	assert_non_null(mkdtemp(dir));
	profile__add_frames(p, proc, frames, 2, 4);
	cfg.studio = studio__new(&sc);
	cfg.pyroscope = pyroscope__new(&pc);
	assert_int_equal(spool__open(dir, 1 << 20, &cfg.spool), 0);
	assert_int_equal(uploader__start(&cfg, &u), 0);
	uploader__submit(u, &up);
	uploader__stop(u, 0);	/* a stop with no grace: spool, do not wait */
	assert_non_null(strstr(logbuf, "stay in the spool"));
	assert_null(strstr(logbuf, "s3cr3t-TOKEN"));

	assert_int_equal(spool__open(dir, 1 << 20, &sp), 0);
	assert_int_equal(spool__count(sp, "studio"), 1);
	assert_int_equal(spool__count(sp, "pyroscope"), 1);
	assert_int_equal(spool__oldest(sp, "studio", &e), 0);
	assert_int_equal(spool__get(sp, e.seq, &meta, &payload, &len), 0);
	/* what the next start will send: the .col text and its times */
	assert_string_equal(payload, "# {\"containers\": [], \"container_names_enabled\": true, "
				     "\"metadata\": {\"hostname\": \"h\"}, \"metrics\": "
				     "{\"cpu_avg\": null, \"mem_avg\": null}}\n0;;comm;main;f 4");
	assert_string_equal(json_string_value(json_object_get(meta, "start_time")),
			    "1970-01-01T00:16:40");
	assert_string_equal(json_string_value(json_object_get(meta, "end_time")),
			    "1970-01-01T00:17:40");
	assert_string_equal(json_string_value(json_object_get(meta, "spawn_time")),
			    "1970-01-01T00:16:30");
	assert_true(json_is_null(json_object_get(meta, "cpu_avg")));
	json_decref(meta);
	free(payload);
	spool__remove(sp, e.seq);
	assert_int_equal(spool__oldest(sp, "pyroscope", &e), 0);
	assert_int_equal(spool__get(sp, e.seq, &meta, &payload, &len), 0);
	assert_string_equal(payload, "comm;main;f 4\n");
	assert_string_equal(json_string_value(json_object_get(meta, "name")), "app{a=b}");
	assert_int_equal(json_integer_value(json_object_get(meta, "from")), 1000);
	assert_int_equal(json_integer_value(json_object_get(meta, "until")), 1060);
	assert_int_equal(json_integer_value(json_object_get(meta, "sample_rate")), 11);
	json_decref(meta);
	free(payload);
	spool__remove(sp, e.seq);
	spool__close(sp);

	{
		char path[128];

		snprintf(path, sizeof(path), "%s/.lock", dir);
		unlink(path);
		rmdir(dir);
	}
	json_decref(header);
	profile__free(p);
}

/* Submits n one-stack profiles to a Studio that cannot be reached, with
 * the given spool bound, and stops at once. Returns the records left. */
static size_t run_unreachable(const char *dir, uint64_t bound, int n)
{
	struct studio_config sc = { .server = "http://127.0.0.1:1", .token = "k", .service = "s",
				    .hostname = "h", .upload_timeout_s = 5 };
	struct uploader_config cfg = { .log = collect };
	struct uploader *u;
	struct profile *p = profile__new();
	uint32_t proc = profile__proc(p, 1, profile__intern_cstr(p, "comm"), GP_SRC_NATIVE);
	const char *frames[] = { "main" };
	struct col_options co = { 0 };
	json_t *header = json_object();
	struct spool *sp;
	size_t left;

	profile__add_frames(p, proc, frames, 1, 1);
	cfg.studio = studio__new(&sc);
	assert_int_equal(spool__open(dir, bound, &cfg.spool), 0);
	assert_int_equal(uploader__start(&cfg, &u), 0);
	for (int i = 0; i < n; i++) {
		struct upload_profile up = { .header = header, .prof = p, .col = &co,
					     .start = 1000 + i, .end = 1001 + i, .spawn = 990,
					     .hostname = "h" };

		uploader__submit(u, &up);
	}
	uploader__stop(u, 0);
	assert_int_equal(spool__open(dir, bound, &sp), 0);
	left = spool__count(sp, NULL);
	spool__close(sp);
	json_decref(header);
	profile__free(p);
	return left;
}

static void clear_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

static void test_full_spool_drops_oldest_and_says_so(void **state)
{
	(void)state;
	char dir[] = "/tmp/gp-upload-unit-XXXXXX";
	struct spool *sp;
	struct spool_entry e;
	json_t *meta;
	char *payload;
	size_t len;
	uint64_t one;

	assert_non_null(mkdtemp(dir));
	/* the size of one record, then a bound that holds one and a half */
	assert_int_equal(run_unreachable(dir, 1 << 20, 1), 1);
	assert_int_equal(spool__open(dir, 1 << 20, &sp), 0);
	one = spool__bytes(sp);
	spool__close(sp);
	clear_dir(dir);

	logbuf[0] = '\0';
	assert_int_equal(run_unreachable(dir, one + one / 2, 3), 1);
	assert_non_null(strstr(logbuf, "is full (see --spool-max-mb): dropped the oldest profile, #1 "
				       "for the Performance Studio"));
	assert_non_null(strstr(logbuf, "dropped the oldest profile, #2 "));
	/* the newest one stayed */
	assert_int_equal(spool__open(dir, 1 << 20, &sp), 0);
	assert_int_equal(spool__oldest(sp, NULL, &e), 0);
	assert_int_equal(e.seq, 3);
	assert_int_equal(spool__get(sp, e.seq, &meta, &payload, &len), 0);
	assert_string_equal(json_string_value(json_object_get(meta, "start_time")),
			    "1970-01-01T00:16:42");
	json_decref(meta);
	free(payload);
	spool__close(sp);
	clear_dir(dir);

	/* a record larger than the whole spool is tried once, and its loss said */
	logbuf[0] = '\0';
	assert_int_equal(run_unreachable(dir, 16, 1), 0);
	assert_non_null(strstr(logbuf, "it is larger than --spool-max-mb"));
	assert_non_null(strstr(logbuf, "it could not be spooled, so it is lost"));
	clear_dir(dir);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_curve),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_unreachable_server_keeps_the_profile_spooled),
		cmocka_unit_test(test_full_spool_drops_oldest_and_says_so),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
