// SPDX-License-Identifier: Apache-2.0
/* The upload spool: records round-trip, come back oldest first (also per
 * target and across a reopen), the size bound drops the oldest and says
 * so, half-written files from a crash are removed and never sent, damaged
 * files are reported, and a second owner is kept out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gzip.h"
#include "spool.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/gp-spool-unit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];

	(void)state;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

static uint64_t put(struct spool *s, const char *target, const char *payload)
{
	json_t *meta = json_pack("{s:s}", "p", payload);
	uint64_t seq = 0;

	assert_int_equal(spool__put(s, target, meta, payload, strlen(payload), NULL, NULL, &seq), 0);
	json_decref(meta);
	return seq;
}

static void expect_oldest(struct spool *s, const char *target, const char *payload)
{
	struct spool_entry e;
	json_t *meta;
	char *got;
	size_t len;

	assert_int_equal(spool__oldest(s, target, &e), 0);
	assert_int_equal(spool__get(s, e.seq, &meta, &got, &len), 0);
	assert_string_equal(got, payload);
	assert_int_equal(len, strlen(payload));
	assert_string_equal(json_string_value(json_object_get(meta, "p")), payload);
	json_decref(meta);
	free(got);
	assert_int_equal(spool__remove(s, e.seq), 0);
}

static size_t files_in(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *de;
	size_t n = 0;

	while (dd && (de = readdir(dd)))
		n += de->d_name[0] != '.';
	if (dd)
		closedir(dd);
	return n;
}

static void test_order_across_reopen(void **state)
{
	(void)state;
	struct spool *s;
	struct spool_entry e;

	assert_int_equal(spool__open(dir, 1 << 20, &s), 0);
	put(s, "studio", "first");
	put(s, "pyroscope", "second");
	put(s, "studio", "third");
	assert_int_equal(spool__count(s, NULL), 3);
	assert_int_equal(spool__count(s, "studio"), 2);
	spool__close(s);

	/* a restart finds the same records, oldest first, per target */
	assert_int_equal(spool__open(dir, 1 << 20, &s), 0);
	assert_int_equal(spool__count(s, NULL), 3);
	put(s, "studio", "fourth");
	expect_oldest(s, "pyroscope", "second");
	expect_oldest(s, "studio", "first");
	expect_oldest(s, NULL, "third");
	expect_oldest(s, "studio", "fourth");
	assert_int_equal(spool__oldest(s, NULL, &e), -ENOENT);
	assert_int_equal(spool__bytes(s), 0);
	spool__close(s);
	assert_int_equal(files_in(dir), 0);
}

static void test_empty_payload_and_binary(void **state)
{
	(void)state;
	struct spool *s;
	struct spool_entry e;
	json_t *meta, *m = json_pack("{s:i}", "n", 7);
	char *got, bin[5] = { 'a', '\n', 0, 'b', '\n' };
	size_t len;

	assert_int_equal(spool__open(dir, 1 << 20, &s), 0);
	assert_int_equal(spool__put(s, "studio", m, "", 0, NULL, NULL, NULL), 0);
	assert_int_equal(spool__put(s, "studio", m, bin, sizeof(bin), NULL, NULL, NULL), 0);
	assert_int_equal(spool__oldest(s, NULL, &e), 0);
	assert_int_equal(spool__get(s, e.seq, &meta, &got, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(json_integer_value(json_object_get(meta, "n")), 7);
	json_decref(meta);
	free(got);
	spool__remove(s, e.seq);
	assert_int_equal(spool__oldest(s, NULL, &e), 0);
	assert_int_equal(spool__get(s, e.seq, &meta, &got, &len), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(got, bin, sizeof(bin));
	json_decref(meta);
	free(got);
	spool__remove(s, e.seq);
	/* bad targets are refused */
	assert_int_equal(spool__put(s, "Studio", m, "x", 1, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(spool__put(s, "", m, "x", 1, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(spool__put(s, "a/b", m, "x", 1, NULL, NULL, NULL), -EINVAL);
	json_decref(m);
	spool__close(s);
}

struct drops {
	uint64_t seq[16];
	char target[16][16];
	int n;
};

static void on_drop(void *arg, const struct spool_entry *e)
{
	struct drops *d = arg;

	d->seq[d->n] = e->seq;
	snprintf(d->target[d->n], sizeof(d->target[0]), "%s", e->target);
	d->n++;
}

/* Incompressible text of n bytes, so the bound is reached predictably. */
static char *noise(size_t n, unsigned int seed)
{
	char *s = malloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		s[i] = (char)('!' + (seed >> 16) % 90);
	}
	s[n] = '\0';
	return s;
}

static void test_bound_drops_oldest(void **state)
{
	(void)state;
	struct spool *s;
	struct drops d = { .n = 0 };
	json_t *m = json_object();
	uint64_t seqs[6];
	char *p;

	uint64_t one, bound;
	struct spool_entry e;

	/* the size of one record on disk; the bound then holds three */
	assert_int_equal(spool__open(dir, 1 << 20, &s), 0);
	p = noise(10000, 1);
	assert_int_equal(spool__put(s, "studio", m, p, 10000, NULL, NULL, NULL), 0);
	free(p);
	one = spool__bytes(s);
	assert_int_equal(spool__oldest(s, NULL, &e), 0);
	spool__remove(s, e.seq);
	spool__close(s);
	bound = one * 3 + one / 2;

	assert_int_equal(spool__open(dir, bound, &s), 0);
	for (int i = 0; i < 6; i++) {
		p = noise(10000, (unsigned int)i + 1);
		assert_int_equal(spool__put(s, i % 2 ? "pyroscope" : "studio", m, p, 10000, on_drop, &d,
					    &seqs[i]),
				 0);
		free(p);
		assert_true(spool__bytes(s) <= bound);
	}
	assert_int_equal(spool__count(s, NULL), 3);
	assert_int_equal(d.n, 3);
	for (int i = 0; i < 3; i++)	/* the oldest went first, whatever the target */
		assert_int_equal(d.seq[i], seqs[i]);
	assert_string_equal(d.target[0], "studio");
	assert_string_equal(d.target[1], "pyroscope");
	assert_int_equal(files_in(dir), 3);

	/* a record larger than the whole bound is refused and drops nothing */
	p = noise(50000, 99);
	assert_int_equal(spool__put(s, "studio", m, p, 50000, on_drop, &d, NULL), -EFBIG);
	free(p);
	assert_int_equal(d.n, 3);
	assert_int_equal(spool__count(s, NULL), 3);
	json_decref(m);
	spool__close(s);
}

static void test_crash_leftovers_and_damage(void **state)
{
	(void)state;
	struct spool *s, *s2;
	struct spool_entry e;
	json_t *meta;
	char path[512], *got;
	size_t len;
	int fd;

	/* a write that never reached its rename, and a file that is not ours */
	snprintf(path, sizeof(path), "%s/.tmp-00000000000000000007.studio", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "half", 4), 4);
	close(fd);
	snprintf(path, sizeof(path), "%s/README", dir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	/* a damaged record */
	snprintf(path, sizeof(path), "%s/00000000000000000003.studio", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "not gzip", 8), 8);
	close(fd);

	assert_int_equal(spool__open(dir, 1 << 20, &s), 0);
	snprintf(path, sizeof(path), "%s/.tmp-00000000000000000007.studio", dir);
	assert_int_equal(access(path, F_OK), -1);	/* removed, never sent */
	assert_int_equal(spool__count(s, NULL), 1);	/* README ignored */
	assert_int_equal(spool__oldest(s, NULL, &e), 0);
	assert_int_equal(e.seq, 3);
	assert_int_equal(spool__get(s, e.seq, &meta, &got, &len), -EBADMSG);
	assert_int_equal(spool__remove(s, e.seq), 0);
	/* numbering goes on after the highest seen */
	assert_true(put(s, "studio", "x") > 3);

	/* one owner at a time */
	assert_int_equal(spool__open(dir, 1 << 20, &s2), -EBUSY);
	spool__close(s);
	assert_int_equal(spool__open(dir, 1 << 20, &s2), 0);
	spool__close(s2);
	snprintf(path, sizeof(path), "%s/README", dir);
	unlink(path);
}

static void test_creates_private_dir(void **state)
{
	(void)state;
	char sub[128];
	struct spool *s;
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	assert_int_equal(spool__open(sub, 1 << 20, &s), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_string_equal(spool__dir(s), sub);
	spool__close(s);
	snprintf(sub, sizeof(sub), "%s/a/b/.lock", dir);
	unlink(sub);
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	rmdir(sub);
	/* a path through a regular file cannot be a spool */
	snprintf(sub, sizeof(sub), "%s/file", dir);
	close(open(sub, O_WRONLY | O_CREAT, 0600));
	snprintf(sub, sizeof(sub), "%s/file/spool", dir);
	assert_int_equal(spool__open(sub, 1 << 20, &s), -ENOTDIR);
}

static void test_gzip(void **state)
{
	(void)state;
	void *gz, *back;
	size_t gzlen, len;
	char *p = noise(100000, 5);

	assert_int_equal(gzip__compress(p, 100000, &gz, &gzlen), 0);
	assert_memory_equal(gz, "\x1f\x8b", 2);
	assert_int_equal(gzip__decompress(gz, gzlen, 100000, &back, &len), 0);
	assert_int_equal(len, 100000);
	assert_memory_equal(back, p, len);
	free(back);
	/* the output bound holds */
	assert_int_equal(gzip__decompress(gz, gzlen, 99999, &back, &len), -EFBIG);
	/* truncated and damaged input */
	assert_int_equal(gzip__decompress(gz, gzlen / 2, 1 << 20, &back, &len), -EBADMSG);
	((unsigned char *)gz)[gzlen / 2] ^= 0xff;
	assert_int_equal(gzip__decompress(gz, gzlen, 1 << 20, &back, &len), -EBADMSG);
	assert_int_equal(gzip__decompress("plain", 5, 1 << 20, &back, &len), -EBADMSG);
	free(gz);
	free(p);
	/* empty input is a valid member */
	assert_int_equal(gzip__compress("", 0, &gz, &gzlen), 0);
	assert_int_equal(gzip__decompress(gz, gzlen, 10, &back, &len), 0);
	assert_int_equal(len, 0);
	free(back);
	free(gz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_payload_and_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_drops_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_leftovers_and_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_creates_private_dir, setup, teardown),
		cmocka_unit_test(test_gzip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
