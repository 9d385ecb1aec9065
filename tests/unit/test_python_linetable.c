// SPDX-License-Identifier: Apache-2.0
/* CPython line-number tables: each decoder against the lines real
 * interpreters (3.8-3.13) give for every instruction of the code objects in
 * tests/fixtures/python/linetables-3.X.txt (made by gen_linetables.py), and
 * torn tables never read out of bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pylinetable.h"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int decode(const char *kind, const uint8_t *tab, size_t n, int first, int addr)
{
	if (!strcmp(kind, "lnotab"))
		return pyline_lnotab(tab, n, first, addr);
	if (!strcmp(kind, "linetable"))
		return pyline_linetable310(tab, n, first, addr);
	return pyline_locations311(tab, n, first, addr);
}

/* Checks every instruction of every code object in one fixture; returns
 * the number of instructions checked. */
static int check_fixture(const char *version)
{
	char path[512], line[1 << 16], name[256], kind[32];
	static char hex[1 << 16];
	uint8_t tab[1 << 15];
	size_t n = 0;
	int first = 0, checked = 0, codes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/python/linetables-%s.txt", GP_TEST_FIXTURES, version);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		int addr, want;

		if (line[0] == '#' || !strcmp(line, "end\n"))
			continue;
		if (!strncmp(line, "code ", 5)) {
			hex[0] = '\0';
			assert_true(sscanf(line, "code %255s %d %31s %65535s", name, &first, kind, hex) >= 3);
			n = strlen(hex) / 2;
			assert_true(n <= sizeof(tab));
			for (size_t i = 0; i < n; i++)
				tab[i] = hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]);
			codes++;
			continue;
		}
		assert_int_equal(sscanf(line, "%d %d", &addr, &want), 2);
		int got = decode(kind, tab, n, first, addr);

		if (got != want)
			fail_msg("%s %s: address %d: line %d, CPython says %d", version, name, addr, got, want);
		checked++;
	}
	fclose(f);
	assert_true(codes >= 10);
	return checked;
}

static void test_lnotab_38(void **state)
{
	(void)state;
	assert_true(check_fixture("3.8") > 500);
}

static void test_lnotab_39(void **state)
{
	(void)state;
	assert_true(check_fixture("3.9") > 500);
}

static void test_linetable_310(void **state)
{
	(void)state;
	assert_true(check_fixture("3.10") > 500);
}

static void test_locations_311(void **state)
{
	(void)state;
	assert_true(check_fixture("3.11") > 500);
}

static void test_locations_312(void **state)
{
	(void)state;
	assert_true(check_fixture("3.12") > 500);
}

static void test_locations_313(void **state)
{
	(void)state;
	assert_true(check_fixture("3.13") > 500);
}

/* Hand-made tables for the edge cases the fixtures may not reach. */
static void test_edges(void **state)
{
	(void)state;
	/* lnotab: before the first instruction, after the last range */
	static const uint8_t lnotab[] = { 6, 1, 4, 2, 0, 0x7f, 2, 0x81 };

	assert_int_equal(pyline_lnotab(lnotab, sizeof(lnotab), 10, -1), 10);
	assert_int_equal(pyline_lnotab(lnotab, sizeof(lnotab), 10, 0), 10);
	assert_int_equal(pyline_lnotab(lnotab, sizeof(lnotab), 10, 6), 11);
	assert_int_equal(pyline_lnotab(lnotab, sizeof(lnotab), 10, 10), 10 + 1 + 2 + 127);
	assert_int_equal(pyline_lnotab(lnotab, sizeof(lnotab), 10, 12), 10 + 1 + 2 + 127 - 127);
	/* 3.10: a -128 delta is "no line"; a zero-length range only moves */
	static const uint8_t lt310[] = { 4, 1, 0, 5, 2, 0x80, 6, 1 };

	assert_int_equal(pyline_linetable310(lt310, sizeof(lt310), 1, 0), 2);
	assert_int_equal(pyline_linetable310(lt310, sizeof(lt310), 1, 4), 0);
	assert_int_equal(pyline_linetable310(lt310, sizeof(lt310), 1, 6), 8);
	assert_int_equal(pyline_linetable310(lt310, sizeof(lt310), 1, 100), 0);
	assert_int_equal(pyline_linetable310(lt310, sizeof(lt310), 1, -1), 1);
	/* 3.11: no-location entry, long form with a negative delta, varints
	 * of several chunks */
	static const uint8_t loc[] = {
		0xf8 | 1,			/* code 15: no location, 2 units */
		0xe8 | 0, 0x02 << 1,		/* code 13, +2 (svarint 4), 1 unit */
		0xf0 | 0, 0x03, 0x00, 0x01, 0x02,	/* code 14: -1, end, cols */
		0xe8 | 2, 0x40 | 0x10, 0x02,	/* code 13, svarint 144 -> +72, 3 units */
		0x80 | 0, 0x00,			/* short form, same line */
	};

	assert_int_equal(pyline_locations311(loc, sizeof(loc), 5, 0), 0);
	assert_int_equal(pyline_locations311(loc, sizeof(loc), 5, 1), 0);
	assert_int_equal(pyline_locations311(loc, sizeof(loc), 5, 2), 7);
	assert_int_equal(pyline_locations311(loc, sizeof(loc), 5, 3), 6);
	assert_int_equal(pyline_locations311(loc, sizeof(loc), 5, 4), 78);
	assert_int_equal(pyline_locations311(loc, sizeof(loc), 5, 6), 78);
	assert_int_equal(pyline_locations311(loc, sizeof(loc), 5, 7), 78);
	assert_int_equal(pyline_locations311(loc, sizeof(loc), 5, 8), 0);
	assert_int_equal(pyline_locations311(loc, sizeof(loc), 5, -1), 5);
}

/* A torn table (random bytes, truncated entries) never reads past its
 * end: each table sits at the end of its own allocation, so under ASan
 * (build-py-asan) any overread fails the test. */
static void test_torn_tables(void **state)
{
	(void)state;
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	volatile long sink = 0;

	for (int round = 0; round < 20000; round++) {
		size_t n = round % 40;
		uint8_t *tab = malloc(n ? n : 1);

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			tab[i] = (uint8_t)x;
		}
		for (int addr = -1; addr < 64; addr += 7) {
			sink += pyline_lnotab(tab, n, 1, addr);
			sink += pyline_linetable310(tab, n, 1, addr);
			sink += pyline_locations311(tab, n, 1, addr);
		}
		free(tab);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lnotab_38),
		cmocka_unit_test(test_lnotab_39),
		cmocka_unit_test(test_linetable_310),
		cmocka_unit_test(test_locations_311),
		cmocka_unit_test(test_locations_312),
		cmocka_unit_test(test_locations_313),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_torn_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
