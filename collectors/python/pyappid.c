// SPDX-License-Identifier: Apache-2.0
/*
 * Python appids; see pyappid.h. The argv is first read the way psutil
 * reads it (one NUL-terminated string holding spaces is split on spaces:
 * setproctitle'd processes), because gProfiler's rules see psutil's view.
 * Each rule returns the id, or NULL for "no match" and for "raised",
 * which gProfiler treats alike: it moves on to the next rule.
 */
#include "pyappid.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

#define MAX_LINKS 64
#define MAX_STEPS 4096
#define INI_MAX (1u << 20)

/* A rule's lookup of an option that has no value raises in gProfiler. */
static const char raised[] = "";
#define RAISED raised

struct args {
	char **v;
	int n;
};

static void args_init(const struct procinfo *pi, struct args *a)
{
	a->n = 0;
	if (pi->argc == 1 && strchr(pi->argv[0], ' ')) {
		const char *s = pi->argv[0];
		int cap = 1;

		for (const char *p = s; *p; p++)
			cap += *p == ' ';
		a->v = xcalloc(cap + 1, sizeof(char *));
		for (const char *p = s;; ) {
			const char *e = strchr(p, ' ');

			a->v[a->n++] = xstrndup(p, e ? (size_t)(e - p) : strlen(p));
			if (!e)
				break;
			p = e + 1;
		}
		return;
	}
	a->v = xcalloc(pi->argc + 1, sizeof(char *));
	for (int i = 0; i < pi->argc; i++)
		a->v[a->n++] = xstrdup(pi->argv[i]);
}

static void args_free(struct args *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

static const char *arg_at(const struct args *a, int i)
{
	return i >= 0 && i < a->n ? a->v[i] : NULL;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static bool basename_is(const char *p, const char *name)
{
	return p && !strcmp(base_name(p), name);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m);
}

/* gProfiler's _get_cli_arg_by_name: the argument after name; with
 * equals, the value of "name=value"; with prefix, the rest of an argument
 * starting with name. NULL when absent, RAISED when name is last. */
static const char *arg_by_name(const struct args *a, const char *name, bool equals, bool prefix)
{
	size_t nl = strlen(name);

	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->v[i], name))
			return i + 1 < a->n ? a->v[i + 1] : RAISED;
	if (equals)
		for (int i = 0; i < a->n; i++)
			if (!strncmp(a->v[i], name, nl) && a->v[i][nl] == '=')
				return a->v[i] + nl + 1;
	if (prefix)
		for (int i = 0; i < a->n; i++)
			if (!strncmp(a->v[i], name, nl))
				return a->v[i] + nl;
	return NULL;
}

/* Python's `x or y` over those results: x when it is a non-empty string. */
static const char *or_arg(const char *x, const char *y)
{
	if (x == RAISED)
		return RAISED;
	return x && *x ? x : y;
}

int python_is_bin(const char *path)
{
	const char *b = base_name(path);

	if (strncmp(b, "python", 6))
		return 0;
	b += 6;
	if (!*b)
		return 1;
	if (*b != '2' && *b != '3')
		return 0;
	b++;
	if (!*b)
		return 1;
	if (*b != '.' || b[1] < '0' || b[1] > '9')
		return 0;
	b += 2;
	if (*b >= '0' && *b <= '9')
		b++;
	/* re.match's "$" also accepts one trailing newline */
	return !*b || (b[0] == '\n' && !b[1]);
}

/* ---- paths ----------------------------------------------------------- */

/* Pushes the components of path (skipping "" and ".") onto the stack of
 * components still to walk, so the first component is popped first. */
static void push_parts(char ***stack, size_t *n, size_t *cap, const char *path)
{
	size_t count = 0, k;
	const char *p;

	for (p = path; *p;) {
		const char *e = strchrnul(p, '/');

		if (e > p && !(e - p == 1 && *p == '.'))
			count++;
		p = *e ? e + 1 : e;
	}
	xgrow((void **)stack, cap, *n + count, sizeof(char *));
	k = *n + count;
	for (p = path; *p;) {
		const char *e = strchrnul(p, '/');

		if (e > p && !(e - p == 1 && *p == '.'))
			(*stack)[--k] = xstrndup(p, e - p);
		p = *e ? e + 1 : e;
	}
	*n += count;
}

char *proc_root_resolve(int pid, const char *path)
{
	char *root, *cur, **stack = NULL, *seen[MAX_LINKS], *result = NULL;
	size_t n = 0, cap = 0, nseen = 0, rootlen;
	int steps = 0, err = 0;

	if (!path || path[0] != '/') {
		errno = EINVAL;
		return NULL;
	}
	root = xasprintf("/proc/%d/root", pid);
	rootlen = strlen(root);
	cur = xstrdup(root);
	push_parts(&stack, &n, &cap, path);
	while (n) {
		char *part = stack[--n], *next, link[PATH_MAX];
		struct stat st;
		ssize_t ln;

		next = xasprintf("%s/%s", cur, part);
		free(part);
		free(cur);
		cur = next;
		if (++steps > MAX_STEPS) {
			err = ELOOP;
			goto out;
		}
		if (lstat(cur, &st) || !S_ISLNK(st.st_mode))
			continue;
		for (size_t i = 0; i < nseen; i++)
			if (!strcmp(seen[i], cur)) {
				err = ELOOP;
				goto out;
			}
		if (nseen == MAX_LINKS) {
			err = ELOOP;
			goto out;
		}
		seen[nseen++] = xstrdup(cur);
		ln = readlink(cur, link, sizeof(link) - 1);
		if (ln < 0) {
			err = errno;
			goto out;
		}
		link[ln] = '\0';
		if (link[0] == '/') {
			free(cur);
			cur = xstrdup(root);
		} else {
			char *slash = strrchr(cur, '/');

			*slash = '\0';
		}
		push_parts(&stack, &n, &cap, link);
	}
	result = xstrdup(cur + rootlen);
out:
	for (size_t i = 0; i < n; i++)
		free(stack[i]);
	free(stack);
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(cur);
	free(root);
	if (!result)
		errno = err;
	return result;
}

/* cwd joined with file (os.path.join), resolved under the process root. */
static char *append_file(const struct procinfo *pi, const char *file)
{
	char *joined, *r;

	if (file[0] == '/')
		joined = xstrdup(file);
	else if (!pi->cwd[0])
		return NULL;	/* no cwd: gProfiler's path assertion fails */
	else if (ends_with(pi->cwd, "/"))
		joined = xasprintf("%s%s", pi->cwd, file);
	else
		joined = xasprintf("%s/%s", pi->cwd, file);
	r = proc_root_resolve(pi->pid, joined);
	free(joined);
	return r;
}

/* A module ("a.b") or file ("a/b.py") as a path under the process root. */
static char *append_module(const struct procinfo *pi, const char *module)
{
	char *file, *r;

	if (!strcmp(module, "unknown app name"))
		return xstrdup(module);
	if (ends_with(module, ".py")) {
		file = xstrdup(module);
	} else {
		file = xasprintf("%s.py", module);
		for (char *p = file; p < file + strlen(module); p++)
			if (*p == '.')
				*p = '/';
	}
	r = append_file(pi, file);
	free(file);
	return r;
}

/* "<kind>: <spec> (<path of the module before ':'>)" */
static char *spec_appid(const struct procinfo *pi, const char *kind, const char *spec)
{
	char *module = xstrdup(spec), *colon = strchr(module, ':'), *path, *r;

	if (colon)
		*colon = '\0';
	path = append_module(pi, module);
	free(module);
	if (!path)
		return NULL;
	r = xasprintf("%s: %s (%s)", kind, spec, path);
	free(path);
	return r;
}

/* ---- rules ----------------------------------------------------------- */

static char *rule_gunicorn_title(const struct procinfo *pi, const struct args *a)
{
	const char *t = arg_at(a, 0), *open, *close;
	int nonempty = 0;
	char *spec, *r;

	if (!t || strncmp(t, "gunicorn: ", 10))
		return NULL;
	for (int i = 0; i < a->n; i++)
		nonempty += a->v[i][0] != '\0';
	if (nonempty != 1)
		return NULL;
	/* ^gunicorn: (?:master|worker) \[([^\]]*)\]$ */
	if (!strncmp(t + 10, "master [", 8))
		open = t + 18;
	else if (!strncmp(t + 10, "worker [", 8))
		open = t + 18;
	else
		return NULL;
	close = strchr(open, ']');
	if (!close || !(close[1] == '\0' || (close[1] == '\n' && !close[2])))
		return NULL;
	spec = xstrndup(open, close - open);
	r = spec_appid(pi, "gunicorn", spec);
	free(spec);
	return r;
}

/* The first argument holding ':' whose predecessor (argv[-1] for the
 * first, as Python indexes) does not start with '-'. */
static const char *app_spec(const struct args *a, bool factory)
{
	for (int i = 0; i < a->n; i++) {
		const char *prev = a->v[i > 0 ? i - 1 : a->n - 1];

		if (strchr(a->v[i], ':') && (prev[0] != '-' || (factory && !strcmp(prev, "--factory"))))
			return a->v[i];
	}
	return "unknown app name";
}

static char *rule_gunicorn(const struct procinfo *pi, const struct args *a)
{
	if (!basename_is(arg_at(a, 0), "gunicorn") && !basename_is(arg_at(a, 1), "gunicorn"))
		return NULL;
	return spec_appid(pi, "gunicorn", app_spec(a, false));
}

static char *rule_uvicorn(const struct procinfo *pi, const struct args *a)
{
	if (!basename_is(arg_at(a, 0), "uvicorn") && !basename_is(arg_at(a, 1), "uvicorn"))
		return NULL;
	return spec_appid(pi, "uvicorn", app_spec(a, true));
}

/*
 * configparser's view of an ini file, enough for [uwsgi] module: sections,
 * "key = value" or "key: value" (keys case-insensitive, last wins),
 * comment lines, indented continuation lines, the DEFAULT section, and
 * %(name)s / %% interpolation. 0 and *ret (malloc'd, NULL when absent),
 * or -EINVAL where configparser would raise.
 */
static int ini_lookup(const char *text, const char *section, const char *key, char **ret);

static char *interpolate(const char *text, const char *section, const char *v, int depth)
{
	size_t cap = strlen(v) + 1, o = 0;
	char *out = xmalloc(cap);

	for (const char *p = v; *p; p++) {
		const char *add = NULL;
		char *owned = NULL;
		size_t addlen;

		if (*p != '%') {
			xgrow((void **)&out, &cap, o + 2, 1);
			out[o++] = *p;
			continue;
		}
		if (p[1] == '%') {
			add = "%";
			p++;
		} else if (p[1] == '(') {
			const char *e = strstr(p + 2, ")s");
			char *name, *val = NULL;

			if (!e || depth > 10) {
				free(out);
				return NULL;
			}
			name = xstrndup(p + 2, e - (p + 2));
			for (char *c = name; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c += 'a' - 'A';
			if (ini_lookup(text, section, name, &val) || !val) {
				free(name);
				free(val);
				free(out);
				return NULL;
			}
			free(name);
			owned = interpolate(text, section, val, depth + 1);
			free(val);
			if (!owned) {
				free(out);
				return NULL;
			}
			add = owned;
			p = e + 1;
		} else {
			free(out);
			return NULL;	/* '%' must be followed by '%' or '(' */
		}
		addlen = strlen(add);
		xgrow((void **)&out, &cap, o + addlen + 1, 1);
		memcpy(out + o, add, addlen);
		o += addlen;
		free(owned);
	}
	out[o] = '\0';
	return out;
}

static char *strip_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s, n);
}

static int ini_lookup(const char *text, const char *section, const char *key, char **ret)
{
	char *cur_section = NULL, *cur_key = NULL, *val = NULL, *dflt = NULL;
	bool in_target = false, in_default = false, have_opt = false, saw_target = false;
	int indent_level = 0, r = 0;

	for (const char *line = text; *line;) {
		const char *nl = strchrnul(line, '\n');
		size_t n = nl - line, lead = 0;
		char *stripped;

		while (lead < n && (line[lead] == ' ' || line[lead] == '\t'))
			lead++;
		stripped = strip_dup(line, n);
		if (!stripped[0] || stripped[0] == '#' || stripped[0] == ';') {
			/* blank lines end nothing in our use; comments are skipped */
			free(stripped);
			goto next;
		}
		if (have_opt && (int)lead > indent_level) {
			/* continuation of the current value */
			char **target = in_target ? &val : in_default ? &dflt : NULL;

			if (target && *target && cur_key && !strcmp(cur_key, key)) {
				char *joined = xasprintf("%s\n%s", *target, stripped);

				free(*target);
				*target = joined;
			}
			free(stripped);
			goto next;
		}
		indent_level = lead;
		if (stripped[0] == '[' && strlen(stripped) > 2 && strchr(stripped + 1, ']')) {
			char *e = strrchr(stripped, ']');

			free(cur_section);
			cur_section = xstrndup(stripped + 1, e - stripped - 1);
			in_target = !strcmp(cur_section, section);
			saw_target |= in_target;
			in_default = !strcmp(cur_section, "DEFAULT");
			have_opt = false;
			free(stripped);
			goto next;
		}
		if (!cur_section) {
			free(stripped);
			r = -EINVAL;	/* MissingSectionHeaderError */
			goto out;
		}
		{
			char *sep = strpbrk(stripped, "=:");
			char *k, **target;

			free(cur_key);
			cur_key = NULL;
			have_opt = true;
			if (!sep || sep == stripped) {
				free(stripped);
				r = -EINVAL;	/* ParsingError */
				goto out;
			}
			k = strip_dup(stripped, sep - stripped);
			for (char *c = k; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c += 'a' - 'A';
			cur_key = k;
			target = in_target ? &val : in_default ? &dflt : NULL;
			if (target && !strcmp(k, key)) {
				free(*target);
				*target = strip_dup(sep + 1, strlen(sep + 1));
			}
		}
		free(stripped);
next:
		line = *nl ? nl + 1 : nl;
	}
	if (!val && dflt && saw_target) {
		val = dflt;
		dflt = NULL;
	}
	*ret = val;
	val = NULL;
out:
	free(val);
	free(dflt);
	free(cur_key);
	free(cur_section);
	return r;
}

static char *rule_uwsgi(const struct procinfo *pi, const struct args *a)
{
	const char *w, *ini;
	char *path, *text, *module = NULL, *raw = NULL, *r = NULL, *ini_path;

	if (!basename_is(arg_at(a, 0), "uwsgi"))
		return NULL;
	w = or_arg(arg_by_name(a, "-w", false, false), arg_by_name(a, "--wsgi-file", true, false));
	if (w == RAISED)
		return NULL;
	if (w) {
		path = append_module(pi, w);
		if (!path)
			return NULL;
		r = xasprintf("uwsgi: %s (%s)", w, path);
		free(path);
		return r;
	}
	ini = arg_by_name(a, "--ini", true, false);
	if (!ini)
		ini = arg_by_name(a, "--ini-paste", true, false);
	if (!ini)
		ini = arg_by_name(a, "--ini-paste-logged", true, false);
	if (ini == RAISED)
		return NULL;
	if (!ini) {
		int count = 0;

		for (int i = 0; i < a->n; i++)
			if (ends_with(a->v[i], ".ini")) {
				count++;
				ini = a->v[i];
			}
		if (count != 1)
			ini = NULL;
	}
	if (!ini)
		return xstrdup("uwsgi: ini file / wsgi module not found");
	/* read the ini as the process sees it */
	if (ini[0] == '/')
		path = xstrdup(ini);
	else if (!pi->cwd[0])
		return NULL;
	else
		path = xasprintf("%s%s%s", pi->cwd, ends_with(pi->cwd, "/") ? "" : "/", ini);
	char *resolved = proc_root_resolve(pi->pid, path);

	free(path);
	if (!resolved)
		return NULL;
	ini_path = xasprintf("/proc/%d/root%s", pi->pid, resolved);
	free(resolved);
	text = proc_read_file(ini_path, INI_MAX, NULL);
	free(ini_path);
	if (!text)
		return NULL;	/* open() raised */
	if (ini_lookup(text, "uwsgi", "module", &raw))
		goto out;
	if (raw) {
		module = interpolate(text, "uwsgi", raw, 0);
		if (!module)
			goto out;	/* InterpolationError */
		path = append_module(pi, module);
		if (path)
			r = xasprintf("uwsgi: %s (%s)", ini, path);
		free(path);
	} else {
		r = xasprintf("uwsgi: %s", ini);
	}
out:
	free(raw);
	free(module);
	free(text);
	return r;
}

static bool is_python_m(const struct args *a)
{
	return a->n >= 3 && python_is_bin(a->v[0]) && !strcmp(a->v[1], "-m");
}

static char *rule_celery(const struct procinfo *pi, const struct args *a)
{
	const char *app, *q;
	char *path, *r;

	if (!basename_is(arg_at(a, 0), "celery") && !basename_is(arg_at(a, 1), "celery") &&
	    !(is_python_m(a) && !strcmp(a->v[2], "celery")))
		return NULL;
	app = arg_by_name(a, "-A", false, true);
	if (app != RAISED && !(app && *app))
		app = or_arg(app, arg_by_name(a, "--app", true, false));
	if (app == RAISED)
		return NULL;
	if (!app) {
		q = or_arg(arg_by_name(a, "-Q", false, true), arg_by_name(a, "--queues", true, false));
		if (!q || q == RAISED)
			return NULL;
		return xasprintf("celery queue: %s (%s)", q, pi->cwd);
	}
	path = append_module(pi, app);
	if (!path)
		return NULL;
	r = xasprintf("celery: %s (%s)", app, path);
	free(path);
	return r;
}

static char *rule_pyspark(const struct procinfo *pi, const struct args *a)
{
	(void)pi;
	return is_python_m(a) && !strcmp(a->v[2], "pyspark.daemon") ? xstrdup("pyspark") : NULL;
}

static char *rule_python(const struct procinfo *pi, const struct args *a)
{
	const char *m, *arg1;
	char *path, *r;

	if (!arg_at(a, 0) || !python_is_bin(a->v[0]))
		return NULL;
	m = arg_by_name(a, "-m", false, false);
	if (m == RAISED)
		return NULL;
	if (m)
		return xasprintf("python: -m %s", m);
	arg1 = arg_at(a, 1);
	if (!arg1 || !ends_with(arg1, ".py"))
		return NULL;
	path = append_module(pi, arg1);
	if (!path)
		return NULL;
	r = xasprintf("python: %s (%s)", arg1, path);
	free(path);
	return r;
}

char *python_appid(const struct procinfo *pi)
{
	static char *(*const rules[])(const struct procinfo *, const struct args *) = {
		rule_gunicorn_title, rule_gunicorn, rule_uvicorn, rule_uwsgi,
		rule_celery, rule_pyspark, rule_python,
	};
	struct args a;
	char *r = NULL;

	args_init(pi, &a);
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && !r; i++)
		r = rules[i](pi, &a);
	args_free(&a);
	return r;
}
