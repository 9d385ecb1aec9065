// SPDX-License-Identifier: Apache-2.0
/* Python appids, one test per gProfiler rule (gunicorn title and argv,
 * uvicorn, uwsgi -w / --wsgi-file / ini, celery app and queue, pyspark,
 * python -m and script, unknown), and resolving paths under
 * /proc/PID/root. The "process" is this test (its pid and root) with a
 * made-up argv and a temporary working directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procinfo.h"
#include "python/pyappid.h"
#include "xalloc.h"
#include "testutil.h"

static char dir[PATH_MAX];	/* real temporary directory */
static char link_dir[PATH_MAX + 8];	/* a symlink to it */

static void write_file(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

/* The appid of this process as if it ran argv in cwd. Caller frees. */
static char *appid_in(const char *cwd, const char *const *argv)
{
	struct procinfo pi = { .pid = getpid(), .exe = "/usr/bin/python3.11" };
	char *r;

	while (argv[pi.argc])
		pi.argc++;
	pi.argv = (char **)argv;
	pi.cwd = (char *)cwd;
	r = python_appid(&pi);
	return r;
}

#define APPID(...) appid_in(dir, (const char *const[]){ __VA_ARGS__, NULL })

static void expect(char *got, const char *fmt_with_dir)
{
	char *want = fmt_with_dir ? xasprintf(fmt_with_dir, dir, dir) : NULL;

	if (!want)
		assert_null(got);
	else if (!got)
		fail_msg("no appid, wanted \"%s\"", want);
	else
		assert_string_equal(got, want);
	free(got);
	free(want);
}

static int setup(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/gp-appid-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	/* realpath: the expected paths are resolved ones */
	assert_non_null(realpath(tmpl, dir));
	snprintf(link_dir, sizeof(link_dir), "%s-link", dir);
	assert_int_equal(symlink(dir, link_dir), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(link_dir);
	return rm_tree(dir);
}

static void test_gunicorn_title(void **state)
{
	(void)state;
	/* setproctitle'd: one non-empty argument */
	expect(APPID("gunicorn: master [app.wsgi:application]", "", ""),
	       "gunicorn: app.wsgi:application (%s/app/wsgi.py)");
	expect(APPID("gunicorn: worker [main:app]", ""), "gunicorn: main:app (%s/main.py)");
	/* psutil splits a lone NUL-terminated title at spaces: no match */
	expect(APPID("gunicorn: worker [main:app]"), NULL);
	expect(APPID("gunicorn: arbiter [main:app]", ""), NULL);
}

static void test_gunicorn_argv(void **state)
{
	(void)state;
	expect(APPID("/usr/bin/python3", "/usr/local/bin/gunicorn", "-b", "0.0.0.0:8000", "app:app"),
	       "gunicorn: app:app (%s/app.py)");
	expect(APPID("gunicorn", "-w", "4", "proj.wsgi:app"), "gunicorn: proj.wsgi:app (%s/proj/wsgi.py)");
	expect(APPID("gunicorn", "--workers", "2"), "gunicorn: unknown app name (unknown app name)");
	/* argv[0] is checked against argv[-1] (the last argument), as in Python */
	expect(APPID("x:y", "gunicorn", "-b"), "gunicorn: unknown app name (unknown app name)");
}

static void test_uvicorn(void **state)
{
	(void)state;
	expect(APPID("uvicorn", "--factory", "main:create_app"), "uvicorn: main:create_app (%s/main.py)");
	expect(APPID("/venv/bin/python", "/venv/bin/uvicorn", "--port", "80", "api.v1:app"),
	       "uvicorn: api.v1:app (%s/api/v1.py)");
	expect(APPID("uvicorn", "--host", "::1"), "uvicorn: unknown app name (unknown app name)");
}

static void test_uwsgi_args(void **state)
{
	(void)state;
	expect(APPID("uwsgi", "--http", ":8080", "-w", "myapp.wsgi"), "uwsgi: myapp.wsgi (%s/myapp/wsgi.py)");
	expect(APPID("/usr/bin/uwsgi", "--wsgi-file=app.py"), "uwsgi: app.py (%s/app.py)");
	expect(APPID("uwsgi", "--wsgi-file", "/srv/w.py"), "uwsgi: /srv/w.py (/srv/w.py)");
	/* an option without its value raises in gProfiler: no appid */
	expect(APPID("uwsgi", "-w"), NULL);
	/* only argv[0] counts for uwsgi */
	expect(APPID("python3", "uwsgi", "-w", "x"), NULL);
}

static void test_uwsgi_ini(void **state)
{
	(void)state;
	write_file("uwsgi.ini", "# comment\n[uwsgi]\nhttp = :80\nModule = proj.wsgi:application\n");
	expect(APPID("uwsgi", "--ini", "uwsgi.ini"), "uwsgi: uwsgi.ini (%s/proj/wsgi:application.py)");
	write_file("app.ini", "[DEFAULT]\nx = 1\n[uwsgi]\nmodule: app\n");
	expect(APPID("uwsgi", "app.ini"), "uwsgi: app.ini (%s/app.py)");
	expect(APPID("uwsgi", "--ini-paste=app.ini"), "uwsgi: app.ini (%s/app.py)");
	write_file("interp.ini", "[uwsgi]\nbase = proj\nmodule = %(base)s.api\n");
	expect(APPID("uwsgi", "--ini", "interp.ini"), "uwsgi: interp.ini (%s/proj/api.py)");
	write_file("other.ini", "[uwsgi]\nhttp = :80\n");
	expect(APPID("uwsgi", "--ini", "other.ini"), "uwsgi: other.ini");
	/* two lone .ini files: ambiguous, like none */
	expect(APPID("uwsgi", "app.ini", "other.ini"), "uwsgi: ini file / wsgi module not found");
	expect(APPID("uwsgi", "--http", ":80"), "uwsgi: ini file / wsgi module not found");
	/* unreadable or malformed ini: configparser raises, no appid */
	expect(APPID("uwsgi", "--ini", "missing.ini"), NULL);
	write_file("bad.ini", "module = x\n[uwsgi]\n");
	expect(APPID("uwsgi", "--ini", "bad.ini"), NULL);
}

static void test_celery(void **state)
{
	(void)state;
	expect(APPID("celery", "-A", "proj", "worker"), "celery: proj (%s/proj.py)");
	expect(APPID("/venv/bin/python", "/venv/bin/celery", "-Aproj.tasks", "worker"),
	       "celery: proj.tasks (%s/proj/tasks.py)");
	expect(APPID("python3", "-m", "celery", "--app=tasks.app", "worker"),
	       "celery: tasks.app (%s/tasks/app.py)");
	expect(APPID("celery", "worker", "-Q", "high,low"), "celery queue: high,low (%s)");
	expect(APPID("celery", "worker", "--queues=q1"), "celery queue: q1 (%s)");
	/* neither: celery gives none; python -m celery falls to the -m rule */
	expect(APPID("celery", "worker"), NULL);
	expect(APPID("python3", "-m", "celery", "worker"), "python: -m celery");
}

static void test_pyspark(void **state)
{
	(void)state;
	expect(APPID("python3", "-m", "pyspark.daemon"), "pyspark");
	expect(APPID("/usr/bin/python3.9", "-m", "pyspark.daemon", "--x"), "pyspark");
}

static void test_python_module_and_script(void **state)
{
	(void)state;
	expect(APPID("python3", "-m", "http.server", "8000"), "python: -m http.server");
	expect(APPID("python3", "-u", "-m", "mod"), "python: -m mod");
	expect(APPID("/usr/bin/python3.11", "x.py"), "python: x.py (%s/x.py)");
	expect(APPID("python", "/abs/y.py", "--flag"), "python: /abs/y.py (/abs/y.py)");
	expect(APPID("python2.7", "sub/z.py"), "python: sub/z.py (%s/sub/z.py)");
	/* the script must be argv[1]; "-m" with no module raises */
	expect(APPID("python3", "-u", "x.py"), NULL);
	expect(APPID("python3", "-m"), NULL);
	/* only python, python2/3, python2.X/3.XX */
	expect(APPID("pythonw", "x.py"), NULL);
	expect(APPID("python3.123", "x.py"), NULL);
	expect(APPID("python4", "x.py"), NULL);
}

static void test_unknown(void **state)
{
	(void)state;
	expect(APPID("node", "server.js"), NULL);
	expect(APPID("/usr/bin/python3"), NULL);
	assert_null(appid_in(dir, (const char *const[]){ NULL }));
}

static void test_paths_resolve_under_root(void **state)
{
	(void)state;
	char *p, *want;

	/* a symlinked cwd resolves to the real directory */
	expect(appid_in(link_dir, (const char *const[]){ "python3", "x.py", NULL }),
	       "python: x.py (%s/x.py)");
	/* a relative symlink inside */
	want = xasprintf("%s/rel", dir);
	assert_int_equal(symlink("sub/../sub2", want), 0);
	free(want);
	p = xasprintf("%s/rel/m.py", dir);
	char *r = proc_root_resolve(getpid(), p);

	want = xasprintf("%s/sub/../sub2/m.py", dir);
	assert_string_equal(r, want);
	free(r);
	free(want);
	free(p);
	/* loops fail */
	p = xasprintf("%s/loop-a", dir);
	want = xasprintf("%s/loop-b", dir);
	assert_int_equal(symlink(want, p), 0);
	assert_int_equal(symlink(p, want), 0);
	free(want);
	want = xasprintf("%s/x.py", p);
	assert_null(proc_root_resolve(getpid(), want));
	assert_int_equal(errno, ELOOP);
	free(want);
	free(p);
	/* relative input is refused */
	assert_null(proc_root_resolve(getpid(), "rel/x.py"));
	/* "." components vanish, ".." stay (as pathlib leaves them) */
	r = proc_root_resolve(getpid(), "/tmp/./a/../b");
	assert_string_equal(r, "/tmp/a/../b");
	free(r);
}

static void test_python_is_bin(void **state)
{
	(void)state;
	assert_true(python_is_bin("python"));
	assert_true(python_is_bin("/usr/bin/python3"));
	assert_true(python_is_bin("python2.7"));
	assert_true(python_is_bin("/x/python3.13"));
	assert_false(python_is_bin("python3.11-config"));
	assert_false(python_is_bin("python3."));
	assert_false(python_is_bin("ipython3"));
	assert_false(python_is_bin("/usr/bin/python3/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gunicorn_title),
		cmocka_unit_test(test_gunicorn_argv),
		cmocka_unit_test(test_uvicorn),
		cmocka_unit_test(test_uwsgi_args),
		cmocka_unit_test(test_uwsgi_ini),
		cmocka_unit_test(test_celery),
		cmocka_unit_test(test_pyspark),
		cmocka_unit_test(test_python_module_and_script),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_paths_resolve_under_root),
		cmocka_unit_test(test_python_is_bin),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
