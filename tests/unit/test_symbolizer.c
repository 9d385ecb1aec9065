// SPDX-License-Identifier: Apache-2.0
/*
 * The symbolizer's parts on real files: this test binary itself is the ELF
 * fixture (as perf's tests do); a stripped copy and a debug file made with
 * objcopy check the build-id and .gnu_debuglink searches; text fixtures
 * check kallsyms, perf maps and /proc/PID/maps parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "debuginfo.h"
#include "dso.h"
#include "kallsyms.h"
#include "perfmap.h"
#include "procmaps.h"
#include "xalloc.h"
#include "testutil.h"

__attribute__((noinline, used)) int gp_test_marker_function(int x)
{
	return x * 3 + 1;
}

static char tmpdir[64];

static struct dso *load(const char *path, const char *root)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct dso *d;

	assert_true(fd >= 0);
	d = dso__load(fd, path, root);
	close(fd);
	assert_non_null(d);
	return d;
}

/* vaddr of our marker function inside our own ELF file */
static uint64_t marker_vaddr(void)
{
	struct procmaps *m = procmaps__read(getpid());
	const struct map_entry *e = procmaps__find(m, (uint64_t)(uintptr_t)gp_test_marker_function);
	uint64_t off, vaddr;
	struct dso *d;

	assert_non_null(e);
	d = load("/proc/self/exe", "");
	off = (uint64_t)(uintptr_t)gp_test_marker_function - e->start + e->offset;
	assert_int_equal(dso__offset_to_vaddr(d, off, &vaddr), 0);
	dso__put(d);
	procmaps__free(m);
	return vaddr;
}

static void test_self_symbols(void **state)
{
	(void)state;
	uint64_t vaddr = marker_vaddr(), start = 0;
	struct dso *d = load("/proc/self/exe", "");
	const char *name = dso__lookup(d, vaddr + 2, &start);

	assert_int_equal(dso__symsrc(d), DSO_SYMS_SYMTAB);
	assert_non_null(name);
	assert_string_equal(name, "gp_test_marker_function");
	assert_int_equal(start, vaddr);
	/* a function from another object file linked in */
	assert_true(dso__nsyms(d) > 20);
	dso__put(d);
}

static void test_build_id_and_debug_files(void **state)
{
	(void)state;
	uint64_t vaddr = marker_vaddr();
	char exe[128], stripped[128], debug[128], linked[128], root[128], bid_dir[512], bid_path[700];
	char hex[2 * DSO_BUILD_ID_MAX + 1];
	const uint8_t *id;
	struct dso *d;
	size_t n;

	snprintf(exe, sizeof(exe), "%s/self", tmpdir);
	snprintf(stripped, sizeof(stripped), "%s/bin/stripped", tmpdir);
	snprintf(debug, sizeof(debug), "%s/bin/stripped.debug", tmpdir);
	snprintf(linked, sizeof(linked), "%s/bin/linked", tmpdir);
	{
		char bin[128];

		snprintf(bin, sizeof(bin), "%s/bin", tmpdir);
		mkdir(bin, 0755);
	}
	/* not "/proc/self/exe": in the child that is cp itself */
	char self[64];

	snprintf(self, sizeof(self), "/proc/%d/exe", getpid());
	assert_int_equal(run_quiet((const char *[]){ "cp", self, exe, NULL }), 0);
	assert_int_equal(run_quiet((const char *[]){ "objcopy", "--only-keep-debug", exe, debug,
						 NULL }), 0);
	assert_int_equal(run_quiet((const char *[]){ "strip", "-o", stripped, exe, NULL }), 0);

	/* stripped, no debug file anywhere: only .dynsym, the marker is not there */
	d = load(stripped, "/nonexistent");
	assert_int_not_equal(dso__symsrc(d), DSO_SYMS_SYMTAB);
	assert_null(dso__lookup(d, vaddr, NULL));
	n = dso__build_id(d, &id);
	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	dso__put(d);

	/* .gnu_debuglink next to the binary */
	assert_int_equal(run_quiet((const char *[]){ "objcopy", "--add-gnu-debuglink", debug, stripped,
					       linked, NULL }),
			 0);
	d = load(linked, "");
	assert_int_equal(dso__symsrc(d), DSO_SYMS_DEBUGFILE);
	assert_string_equal(dso__lookup(d, vaddr, NULL), "gp_test_marker_function");
	dso__put(d);

	/* build-id under the target's root: /usr/lib/debug/.build-id/xx/yyyy.debug */
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	snprintf(bid_dir, sizeof(bid_dir), "%s/usr/lib/debug/.build-id/%.2s", root, hex);
	assert_int_equal(run_quiet((const char *[]){ "mkdir", "-p", bid_dir, NULL }), 0);
	snprintf(bid_path, sizeof(bid_path), "%s/%s.debug", bid_dir, hex + 2);
	assert_int_equal(run_quiet((const char *[]){ "cp", debug, bid_path, NULL }), 0);
	d = load(stripped, root);
	assert_int_equal(dso__symsrc(d), DSO_SYMS_DEBUGFILE);
	assert_string_equal(dso__lookup(d, vaddr, NULL), "gp_test_marker_function");
	dso__put(d);

	/* a debug file whose build-id differs is refused */
	unlink(bid_path);
	assert_int_equal(run_quiet((const char *[]){ "cp", "/bin/true", bid_path, NULL }), 0);
	d = load(stripped, root);
	assert_int_not_equal(dso__symsrc(d), DSO_SYMS_DEBUGFILE);
	dso__put(d);
}

struct cands {
	char list[8][256];
	int n;
};

static int collect(const char *cand, void *arg)
{
	struct cands *c = arg;

	if (c->n < 8)
		snprintf(c->list[c->n++], 256, "%s", cand);
	return 0;
}

static void test_debuginfo_gdb_order(void **state)
{
	(void)state;
	const uint8_t id[] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	struct cands c = { .n = 0 };

	debuginfo__for_each_candidate("", "/lib/x86_64-linux-gnu/libc.so.6", id, sizeof(id),
				      "libc.so.6.debug", collect, &c);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.list[0], "/usr/lib/debug/.build-id/01/23456789abcdef.debug");
	assert_string_equal(c.list[1], "/lib/x86_64-linux-gnu/libc.so.6.debug");
	assert_string_equal(c.list[2], "/lib/x86_64-linux-gnu/.debug/libc.so.6.debug");
	assert_string_equal(c.list[3], "/usr/lib/debug/lib/x86_64-linux-gnu/libc.so.6.debug");

	c.n = 0;
	debuginfo__for_each_candidate("/proc/7/root", "/usr/bin/app", id, sizeof(id), "app.debug",
				      collect, &c);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.list[0], "/proc/7/root/usr/lib/debug/.build-id/01/23456789abcdef.debug");
	assert_string_equal(c.list[1], "/usr/lib/debug/.build-id/01/23456789abcdef.debug");
	assert_string_equal(c.list[2], "/proc/7/root/usr/bin/app.debug");
}

static void test_demangle(void **state)
{
	(void)state;
	char *d = dso_demangle("_ZN3foo3barEi");

	assert_string_equal(d, "foo::bar(int)");
	free(d);
	assert_null(dso_demangle("plain_c_function"));
	assert_null(dso_demangle("_Zgarbage!!"));
}

static void test_kallsyms(void **state)
{
	(void)state;
	struct kallsyms *k = kallsyms__load(GP_TEST_FIXTURES "/kallsyms.txt");

	assert_non_null(k);
	assert_string_equal(kallsyms__lookup(k, 0xffffffff81001010ULL), "do_one_initcall");
	assert_string_equal(kallsyms__lookup(k, 0xffffffff81002010ULL), "__x64_sys_getppid");
	/* data symbols are skipped, so the text symbol before them extends */
	assert_string_equal(kallsyms__lookup(k, 0xffffffff81002050ULL), "__x64_sys_getppid");
	assert_string_equal(kallsyms__lookup(k, 0xffffffffc0001004ULL), "module_func");
	assert_null(kallsyms__lookup(k, 0x1000));
	kallsyms__free(k);

	/* the real one, when readable */
	k = kallsyms__load("/proc/kallsyms");
	if (k) {
		assert_true(kallsyms__count(k) > 1000);
		kallsyms__free(k);
	}
}

static void test_perfmap(void **state)
{
	(void)state;
	FILE *f = fopen(GP_TEST_FIXTURES "/perf-map.txt", "re");
	struct perfmap *m;

	assert_non_null(f);
	m = perfmap__parse(f);
	fclose(f);
	/* the newest line for an address wins */
	assert_string_equal(perfmap__lookup(m, 0x7f0000001010ULL), "LazyCompile:*fib /app/fib.js:1");
	assert_string_equal(perfmap__lookup(m, 0x7f000000113fULL), "LazyCompile:*hot /app/hot.js:7");
	assert_string_equal(perfmap__lookup(m, 0x7f0000002000ULL), "Builtin:ArrayPush");
	assert_null(perfmap__lookup(m, 0x7f0000002010ULL));
	assert_null(perfmap__lookup(m, 0x7f0000003000ULL));
	perfmap__free(m);
}

static void test_procmaps_parse(void **state)
{
	(void)state;
	const char text[] =
		"55d0c0000000-55d0c0001000 r--p 00000000 08:01 1234 /usr/bin/app\n"
		"55d0c0001000-55d0c0005000 r-xp 00001000 08:01 1234 /usr/bin/app\n"
		"7f0000000000-7f0000010000 r-xp 00000000 00:00 0 \n"
		"7f1000000000-7f1000020000 r-xp 00002000 fd:02 99 /tmp/my lib.so (deleted)\n"
		"7ffff7fc1000-7ffff7fc3000 r-xp 00000000 00:00 0 [vdso]\n"
		"not a maps line\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct procmaps *m = procmaps__parse(f);
	const struct map_entry *e;

	fclose(f);
	assert_int_equal(m->n, 4);	/* executable mappings only */
	e = procmaps__find(m, 0x55d0c0002000ULL);
	assert_non_null(e);
	assert_string_equal(e->path, "/usr/bin/app");
	assert_int_equal(e->offset, 0x1000);
	assert_int_equal(e->ino, 1234);
	e = procmaps__find(m, 0x7f1000000010ULL);
	assert_string_equal(e->path, "/tmp/my lib.so");
	assert_true(e->deleted);
	e = procmaps__find(m, 0x7f0000000100ULL);
	assert_string_equal(e->path, "");
	assert_null(procmaps__find(m, 0x55d0c0000010ULL));	/* r--p */
	assert_string_equal(procmaps__find(m, 0x7ffff7fc1100ULL)->path, "[vdso]");
	procmaps__free(m);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gp-unit-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	run_quiet((const char *[]){ "rm", "-rf", tmpdir, NULL });
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_symbols),
		cmocka_unit_test(test_build_id_and_debug_files),
		cmocka_unit_test(test_debuginfo_gdb_order),
		cmocka_unit_test(test_demangle),
		cmocka_unit_test(test_kallsyms),
		cmocka_unit_test(test_perfmap),
		cmocka_unit_test(test_procmaps_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
