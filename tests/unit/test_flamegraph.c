// SPDX-License-Identifier: Apache-2.0
/*
 * The flamegraph page writer: hostile and ill-formed frame names cannot
 * leave the data element (and decode to what the user should see), and the
 * tree in the page holds exactly the profile's samples, prefixes merged,
 * siblings sorted, on hand-made and random profiles. The page's JSON is
 * read back with jansson, as the browser's JSON.parse would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "xalloc.h"

#define DATA_OPEN "<script type=\"application/json\" id=\"gp-data\">"

static char *write_page(const struct profile *p, const struct flamegraph_meta *m,
			struct flamegraph_stats *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(flamegraph__write_stats(f, p, m, st), 0);
	fclose(f);
	assert_int_equal(len, st->bytes);
	return buf;
}

/* The raw text of the data element; caller frees. */
static char *data_text(const char *page)
{
	const char *a = strstr(page, DATA_OPEN), *b;

	assert_non_null(a);
	a += strlen(DATA_OPEN);
	b = strstr(a, "</script>");
	assert_non_null(b);
	return xstrndup(a, b - a);
}

static json_t *page_json(const char *page)
{
	char *raw = data_text(page);
	json_error_t err;
	json_t *j = json_loads(raw, JSON_REJECT_DUPLICATES, &err);

	if (!j)
		fail_msg("page data is not JSON: %s at %d", err.text, err.position);
	free(raw);
	assert_int_equal(json_integer_value(json_object_get(j, "v")), 1);
	return j;
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* jansson checks UTF-8 on its own (an oracle independent of ours) */
static bool valid_utf8(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	json_decref(j);
	return j != NULL;
}

/* ---- the tree read back: "path;of;names" -> self samples ---- */

struct flat_path {
	char *path;
	uint64_t self;
};

static int cmp_flat(const void *a, const void *b)
{
	return strcmp(((const struct flat_path *)a)->path, ((const struct flat_path *)b)->path);
}

/*
 * Walks the page's nodes, checking that counts add up (a node's samples
 * are at least its children's) and that siblings are sorted by name, and
 * returns every path with self samples, sorted.
 */
static struct flat_path *page_paths(json_t *j, size_t *ret_n, uint64_t *ret_total)
{
	json_t *strs = json_object_get(j, "strings"), *nodes = json_object_get(j, "nodes");
	size_t nn = json_array_size(nodes), n = 0, cap = 0, sp = 0;
	struct frame {
		size_t node;
		uint64_t left, child_sum;
		const char *last_child;
		size_t path_len;
	} *stk = xcalloc(nn / 3 + 1, sizeof(*stk));
	struct flat_path *out = NULL;
	char *path = xcalloc(1, 1);
	size_t path_len = 0;

	assert_true(json_is_array(strs) && json_is_array(nodes));
	assert_int_equal(nn % 3, 0);
	assert_true(nn >= 3);
	assert_string_equal(json_string_value(json_array_get(strs, 0)), "all");
	*ret_total = json_integer_value(json_array_get(nodes, 1));
	for (size_t i = 0; i < nn / 3; i++) {
		size_t name = json_integer_value(json_array_get(nodes, 3 * i));
		uint64_t value = json_integer_value(json_array_get(nodes, 3 * i + 1));
		uint64_t nch = json_integer_value(json_array_get(nodes, 3 * i + 2));
		const char *s = json_string_value(json_array_get(strs, name));

		assert_non_null(s);
		assert_true(value > 0);
		if (i > 0) {
			struct frame *par = &stk[sp - 1];

			assert_true(par->left > 0);
			par->left--;
			par->child_sum += value;
			if (par->last_child)	/* siblings strictly in byte order */
				assert_true(strcmp(par->last_child, s) < 0);
			par->last_child = s;
			path_len = par->path_len;
			path = xrealloc(path, path_len + strlen(s) + 2);
			path_len += sprintf(path + path_len, "%s%s", path_len ? ";" : "", s);
		} else {
			assert_int_equal(name, 0);
		}
		stk[sp++] = (struct frame){ 3 * i, nch, 0, NULL, path_len };
		while (sp && !stk[sp - 1].left) {
			struct frame *f = &stk[--sp];
			uint64_t v = json_integer_value(json_array_get(nodes, f->node + 1));

			assert_true(v >= f->child_sum);
			if (v > f->child_sum) {
				xgrow((void **)&out, &cap, n + 1, sizeof(*out));
				out[n].path = xstrndup(path, f->path_len);
				out[n++].self = v - f->child_sum;
			}
		}
	}
	assert_int_equal(sp, 0);
	free(stk);
	free(path);
	qsort(out, n, sizeof(*out), cmp_flat);
	*ret_n = n;
	return out;
}

static void free_paths(struct flat_path *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].path);
	free(p);
}

/* ---- tests ---- */

static const char HOSTILE[] =
	"<img src=x onerror=alert(1)></script><script>alert(2)</script>&\"'";

static void test_escaping(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	uint32_t proc = profile__proc(p, 1, profile__intern_cstr(p, "</script><!--"), GP_SRC_NATIVE);
	char *long_name = xmalloc(10001);
	const char *names[] = {
		HOSTILE,
		"bad\xff\xfename",		/* two stray bytes */
		"trunc\xe2\x82",		/* a 3-byte sequence cut short, at the end */
		"trunc2\xe2\x82x",		/* ... and followed by ASCII */
		"overlong\xc0\xaf",		/* overlong '/' */
		"surrogate\xed\xa0\x80",	/* U+D800 */
		"big\xf4\x90\x80\x80",		/* above U+10FFFF */
		"ls\xe2\x80\xa8ps\xe2\x80\xa9",	/* U+2028, U+2029 */
		"ctl\x01\x1f\t\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5",	/* valid: é € 🔥 */
		"<!--",
		long_name,
	};
	const size_t nnames = sizeof(names) / sizeof(names[0]);
	struct flamegraph_meta m = { .hostname = "h</script>", .service = "s\xff",
				     .start_time = "2024-10-20T15:02:47",
				     .end_time = "2024-10-20T15:03:47" };
	struct flamegraph_stats st;

	memset(long_name, 'a', 10000);
	long_name[10000] = '\0';
	for (size_t i = 0; i < nnames; i++)
		profile__add_frames(p, proc, &names[i], 1, i + 1);

	char *page = write_page(p, &m, &st);
	char *raw = data_text(page);

	/* nothing in the data can close or open markup */
	assert_null(strpbrk(raw, "<>&"));
	assert_null(strstr(raw, "\xe2\x80\xa8"));
	assert_null(strstr(raw, "\xe2\x80\xa9"));
	assert_false(valid_utf8("\xed\xa0\x80", 3));	/* the oracle knows a surrogate */
	assert_true(valid_utf8(raw, strlen(raw)));
	assert_non_null(strstr(raw, "\\u003c/script\\u003e"));
	/* the page has exactly its own two scripts */
	assert_int_equal(count_str(page, "</script"), 2);
	assert_int_equal(count_str(page, "<script"), 2);
	free(raw);

	json_t *j = page_json(page), *strs = json_object_get(j, "strings");
	const char *want[] = {
		HOSTILE,
		"bad\xef\xbf\xbd\xef\xbf\xbdname",
		"trunc\xef\xbf\xbd",
		"trunc2\xef\xbf\xbdx",
		"overlong\xef\xbf\xbd\xef\xbf\xbd",
		"surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		"big\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		"ls\xe2\x80\xa8ps\xe2\x80\xa9",
		"ctl\x01\x1f\t\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5",
		"<!--",
		"</script><!--",
	};
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		bool found = false;

		for (size_t i = 0; i < json_array_size(strs); i++)
			found |= !strcmp(json_string_value(json_array_get(strs, i)), want[w]);
		if (!found)
			fail_msg("name %zu not in the page as expected: %s", w, want[w]);
	}
	/* the long name: cut at FLAMEGRAPH_MAX_NAME, marked with U+2026 */
	bool cut = false;

	for (size_t i = 0; i < json_array_size(strs); i++) {
		const char *s = json_string_value(json_array_get(strs, i));

		if (strlen(s) > 100) {
			assert_int_equal(strlen(s), FLAMEGRAPH_MAX_NAME + 3);
			assert_string_equal(s + FLAMEGRAPH_MAX_NAME, "\xe2\x80\xa6");
			cut = true;
		}
	}
	assert_true(cut);
	/* meta is escaped the same way */
	json_t *meta = json_object_get(j, "meta");

	assert_string_equal(json_string_value(json_object_get(meta, "hostname")), "h</script>");
	assert_string_equal(json_string_value(json_object_get(meta, "service")), "s\xef\xbf\xbd");
	assert_int_equal(json_integer_value(json_object_get(meta, "total")),
			 nnames * (nnames + 1) / 2);
	json_decref(j);
	free(page);
	free(long_name);
	profile__free(p);
}

static void test_tree(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	uint32_t a = profile__proc(p, 10, profile__intern_cstr(p, "app"), GP_SRC_NATIVE);
	uint32_t a2 = profile__proc(p, 11, profile__intern_cstr(p, "app"), GP_SRC_NATIVE);
	uint32_t b = profile__proc(p, 20, profile__intern_cstr(p, "py"), GP_SRC_PYTHON);
	uint32_t e = profile__proc(p, 30, profile__intern_cstr(p, "idle"), GP_SRC_NATIVE);
	const char *f12[] = { "main", "work_b" }, *f13[] = { "main", "work_a" };
	const char *f1[] = { "main" }, *g[] = { "run (x.py:1)_[p]", "read_[k]" };
	const char *fz[] = { "main", "zero" };
	struct flamegraph_stats st;

	profile__proc_at(p, b)->appid = profile__intern_cstr(p, "svc");
	profile__add_frames(p, a, f12, 2, 3);
	profile__add_frames(p, a, f13, 2, 1);
	profile__add_frames(p, a, f1, 1, 2);	/* a prefix of the others */
	profile__add_frames(p, a2, f12, 2, 4);	/* same comm: merges with pid 10 */
	profile__add_frames(p, b, g, 2, 5);
	profile__add_frames(p, e, NULL, 0, 7);	/* comm only */
	profile__add_frames(p, a, fz, 2, 0);	/* no samples: not in the page */

	char *page = write_page(p, NULL, &st);
	json_t *j = page_json(page);
	char *nodes = json_dumps(json_object_get(j, "nodes"), JSON_COMPACT);
	char *strs = json_dumps(json_object_get(j, "strings"), JSON_COMPACT);

	assert_string_equal(strs, "[\"all\",\"app\",\"appid: svc\",\"idle\",\"main\",\"py\","
				  "\"read_[k]\",\"run (x.py:1)_[p]\",\"work_a\",\"work_b\"]");
	/* pre-order: all(22) app(10) main(10) work_a(1) work_b(7) idle(7) py(5) appid(5) run read */
	assert_string_equal(nodes, "[0,22,3,1,10,1,4,10,2,8,1,0,9,7,0,3,7,0,5,5,1,2,5,1,7,5,1,6,5,0]");
	assert_int_equal(st.nodes, 10);
	assert_int_equal(st.strings, 10);
	assert_int_equal(st.max_depth, 4);
	assert_int_equal(st.total, 22);
	assert_null(json_string_value(json_object_get(json_object_get(j, "meta"), "hostname")));
	free(nodes);
	free(strs);
	json_decref(j);
	free(page);
	profile__free(p);
}

/* A random profile: the paths read back from the page, with their self
 * samples, are exactly the distinct (comm[;appid: X];frames) of the
 * profile with their summed counts. */
static void test_random_round_trip(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	const char *comms[] = { "a", "b", "c", "a" };	/* two processes share "a" */
	const char *appids[] = { NULL, "svc", NULL, NULL };
	uint32_t procs[4];
	size_t nexp = 0, cap = 0, ngot;
	struct flat_path *exp = NULL, *got;
	uint64_t total = 0, page_total;
	unsigned seed = 12345;
	struct flamegraph_stats st;

	for (int i = 0; i < 4; i++) {
		procs[i] = profile__proc(p, 100 + i, profile__intern_cstr(p, comms[i]), GP_SRC_NATIVE);
		if (appids[i])
			profile__proc_at(p, procs[i])->appid = profile__intern_cstr(p, appids[i]);
	}
	for (int s = 0; s < 3000; s++) {
		int pi = rand_r(&seed) % 4, depth = rand_r(&seed) % 200;
		uint64_t count = 1 + rand_r(&seed) % 50;
		const char **fr = xcalloc(depth + 1, sizeof(*fr));
		char **own = xcalloc(depth + 1, sizeof(*own));
		size_t len = 0;
		char *path;

		/* few names, so that prefixes are shared a lot */
		for (int d = 0; d < depth; d++) {
			own[d] = xasprintf("f%d_%d", d < 5 ? 0 : d % 7, rand_r(&seed) % (d < 20 ? 2 : 4));
			fr[d] = own[d];
		}
		profile__add_frames(p, procs[pi], fr, depth, count);
		total += count;
		path = xasprintf("%s%s%s", comms[pi], appids[pi] ? ";appid: " : "",
				 appids[pi] ? appids[pi] : "");
		len = strlen(path);
		for (int d = 0; d < depth; d++) {
			path = xrealloc(path, len + strlen(own[d]) + 2);
			len += sprintf(path + len, ";%s", own[d]);
			free(own[d]);
		}
		free(own);
		free(fr);
		xgrow((void **)&exp, &cap, nexp + 1, sizeof(*exp));
		exp[nexp++] = (struct flat_path){ path, count };
	}
	/* sum equal paths */
	qsort(exp, nexp, sizeof(*exp), cmp_flat);
	size_t k = 0;

	for (size_t i = 0; i < nexp; i++) {
		if (k && !strcmp(exp[k - 1].path, exp[i].path)) {
			exp[k - 1].self += exp[i].self;
			free(exp[i].path);
		} else {
			exp[k++] = exp[i];
		}
	}
	nexp = k;

	char *page = write_page(p, NULL, &st);
	json_t *j = page_json(page);

	got = page_paths(j, &ngot, &page_total);
	assert_int_equal(page_total, total);
	assert_int_equal(st.total, total);
	assert_int_equal(ngot, nexp);
	for (size_t i = 0; i < nexp; i++) {
		assert_string_equal(got[i].path, exp[i].path);
		assert_int_equal(got[i].self, exp[i].self);
	}
	/* prefixes merged: fewer nodes than path entries */
	assert_true(st.nodes < 3000 * 100);
	assert_int_equal(st.nodes, json_array_size(json_object_get(j, "nodes")) / 3);
	free_paths(got, ngot);
	free_paths(exp, nexp);
	json_decref(j);
	free(page);
	profile__free(p);
}

static void test_page_shell(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	struct flamegraph_stats st;
	char *page = write_page(p, NULL, &st);
	json_t *j = page_json(page);

	/* an empty profile still makes a page, with just the root */
	assert_int_equal(st.nodes, 1);
	assert_int_equal(st.total, 0);
	assert_int_equal(json_array_size(json_object_get(j, "nodes")), 3);
	/* self-contained: no URL to fetch, and a CSP that forbids loads */
	assert_true(!strncmp(page, "<!DOCTYPE html>", 15));
	assert_null(strstr(page, "http://"));
	assert_null(strstr(page, "https://"));
	assert_null(strstr(page, "src="));
	assert_non_null(strstr(page, "default-src 'none'; script-src 'sha256-"));
	assert_null(strstr(page, "@DATA@"));
	assert_null(strstr(page, "@JS@"));
	assert_null(strstr(page, "@CSS@"));
	assert_null(strstr(page, "innerHTML"));
	assert_null(strstr(page, "insertAdjacentHTML"));
	assert_null(strstr(page, "document.write"));
	json_decref(j);
	free(page);
	profile__free(p);
}

static void test_write_error(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	uint32_t a = profile__proc(p, 1, profile__intern_cstr(p, "x"), GP_SRC_NATIVE);
	const char *f[] = { "main" };
	FILE *full = fopen("/dev/full", "we");

	if (!full)
		skip();
	profile__add_frames(p, a, f, 1, 1);
	assert_int_equal(flamegraph__write(full, p, NULL), -EIO);
	fclose(full);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_page_shell),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
