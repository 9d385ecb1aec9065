// SPDX-License-Identifier: Apache-2.0
/* Package tags of Python files (gProfiler's " [pkg==ver]"): dist-info with
 * METADATA and RECORD (quoted CSV, paths outside the directory),
 * egg-info with PKG-INFO and installed-files.txt, distributions without
 * metadata skipped, the standard library tagged with the interpreter's
 * version, and the frame rewrite. The "process" is this test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "python/pypackages.h"
#include "xalloc.h"
#include "testutil.h"

static char root[PATH_MAX + 32];	/* <tmp>/lib/python3.11 */
static char site[PATH_MAX + 64];	/* <root>/site-packages/ */

static void put(const char *rel, const char *text)
{
	char *p = xasprintf("%s%s", site, rel), *slash = strrchr(p, '/');
	FILE *f;

	*slash = '\0';
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
	*slash = '/';
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/gp-pkgs-XXXXXX", real[PATH_MAX];

	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, real));
	snprintf(root, sizeof(root), "%s/lib/python3.11", real);
	snprintf(site, sizeof(site), "%s/site-packages/", root);
	put("foo-1.2.3.dist-info/METADATA",
	    "Metadata-Version: 2.1\nName: Foo-Bar\nVersion: 9.9\n\nName: not-a-header\n");
	put("foo-1.2.3.dist-info/RECORD",
	    "foo/__init__.py,sha256=abc,10\r\n./foo//sub/m.py,,\n\"foo/we,ird.py\",sha256=x,1\n"
	    "../../../bin/foo,sha256=y,5\nfoo-1.2.3.dist-info/RECORD,,\n");
	put("legacy-0.5-py3.11.egg-info/PKG-INFO", "Name: legacy\nVersion: 0.5\n");
	put("legacy-0.5-py3.11.egg-info/installed-files.txt", "../legacy/__init__.py\n../legacy/x.py\nPKG-INFO\n");
	put("nometa-1.0.dist-info/RECORD", "nometa/x.py,,\n");
	put("nov.egg-info/PKG-INFO", "Name: nov\nVersion: 3.1\n");
	put("nov.egg-info/installed-files.txt", "../nov/a.py\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char top[PATH_MAX + 32];

	snprintf(top, sizeof(top), "%s", root);
	*strstr(top, "/lib/python3.11") = '\0';
	return rm_tree(top);
}

static void expect_tag(struct pypackages *p, const char *rel, const char *want)
{
	char *path = xasprintf("%s%s", site, rel);
	const char *got = pypackages__tag(p, path);

	if (want && (!got || strcmp(got, want)))
		fail_msg("%s: tag %s, wanted %s", rel, got ? got : "(none)", want);
	if (!want && got)
		fail_msg("%s: tag %s, wanted none", rel, got);
	free(path);
}

static void test_dist_info_record(void **state)
{
	(void)state;
	struct pypackages *p = pypackages__new(getpid(), "3.11.7");

	/* name from METADATA, version from the directory name */
	expect_tag(p, "foo/__init__.py", "Foo-Bar==1.2.3");
	expect_tag(p, "foo/sub/m.py", "Foo-Bar==1.2.3");
	expect_tag(p, "foo/we,ird.py", "Foo-Bar==1.2.3");
	expect_tag(p, "foo/other.py", NULL);
	pypackages__free(p);
}

static void test_egg_info_legacy(void **state)
{
	(void)state;
	struct pypackages *p = pypackages__new(getpid(), "3.11.7");

	expect_tag(p, "legacy/x.py", "legacy==0.5");
	expect_tag(p, "legacy/__init__.py", "legacy==0.5");
	expect_tag(p, "legacy-0.5-py3.11.egg-info/PKG-INFO", "legacy==0.5");
	/* no version in the name: PKG-INFO's */
	expect_tag(p, "nov/a.py", "nov==3.1");
	/* no metadata: skipped */
	expect_tag(p, "nometa/x.py", NULL);
	pypackages__free(p);
}

static void test_standard_library(void **state)
{
	(void)state;
	struct pypackages *p = pypackages__new(getpid(), "3.11.7"), *q = pypackages__new(getpid(), NULL);
	char *json = xasprintf("%s/json/encoder.py", root);

	assert_string_equal(pypackages__tag(p, json), "standard-library==3.11.7");
	assert_string_equal(pypackages__tag(p, "/usr/lib/python3.9/os.py"), "standard-library==3.11.7");
	assert_null(pypackages__tag(q, json));	/* version unknown */
	assert_null(pypackages__tag(p, "/app/python3/x.py"));
	assert_null(pypackages__tag(p, "/x/lib/python3.11/site-packages/unknown.py"));
	assert_null(pypackages__tag(p, "relative/python3.11/x.py"));
	free(json);
	pypackages__free(p);
	pypackages__free(q);
}

static void test_annotate(void **state)
{
	(void)state;
	struct pypackages *p = pypackages__new(getpid(), "3.11.7");
	char *frame = xasprintf("run (%sfoo/sub/m.py:12)_[p]", site);
	char *want = xasprintf("run (%sfoo/sub/m.py:12 [Foo-Bar==1.2.3])_[p]", site);
	char *got = pypackages__annotate(p, frame, strlen(frame));

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	free(frame);
	free(want);
	/* no line, not .py, unknown file: unchanged */
	frame = xasprintf("run (%sfoo/sub/m.py)_[p]", site);
	assert_null(pypackages__annotate(p, frame, strlen(frame)));
	free(frame);
	assert_null(pypackages__annotate(p, "<native>_[p]", 12));
	assert_null(pypackages__annotate(p, "f (/app/x.py:3)_[p]", 19));
	/* a name holding parentheses before the file */
	got = pypackages__annotate(p, "f(x) (/usr/lib/python3.11/os.py:7)_[p]", 38);
	assert_non_null(got);
	assert_string_equal(got, "f(x) (/usr/lib/python3.11/os.py:7 [standard-library==3.11.7])_[p]");
	free(got);
	pypackages__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dist_info_record),
		cmocka_unit_test(test_egg_info_legacy),
		cmocka_unit_test(test_standard_library),
		cmocka_unit_test(test_annotate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
