// SPDX-License-Identifier: Apache-2.0
/*
 * .col writing and reading. Frame names come from any process on the host,
 * so they are written as they are except for line breaks, which would cut
 * a stack in two and are replaced by spaces.
 */
#include "col.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Python's json.dumps writes \u escapes with lowercase hex; jansson with
 * uppercase. Only real escapes are touched: "\\u" is an escaped backslash. */
static void lowercase_escapes(char *s)
{
	for (; *s; s++) {
		if (*s != '\\' || !s[1])
			continue;
		if (s[1] == 'u')
			for (int i = 2; i < 6 && s[i]; i++)
				if (s[i] >= 'A' && s[i] <= 'F')
					s[i] += 'a' - 'A';
		s++;
	}
}

char *col__header_line(const json_t *header)
{
	char *js = json_dumps(header, JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
	char *line;

	if (!js)
		return NULL;
	lowercase_escapes(js);
	line = xasprintf("# %s", js);
	free(js);
	return line;
}

static void put_frame(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fputc(s[i] == '\n' || s[i] == '\r' ? ' ' : s[i], f);
}

int64_t col__write_stacks(FILE *f, const struct profile *p, const struct col_options *o)
{
	const struct profile_sample *s;
	size_t n;
	int64_t total = 0;

	s = profile__samples(p, &n);
	for (size_t i = 0; i < n; i++) {
		const struct profile_proc *pp = profile__proc_at((struct profile *)p, s[i].proc);
		uint32_t nf;
		const gp_str *fr = profile__stack_frames(p, s[i].stack, &nf);

		if (!s[i].count)
			continue;
		if (o->app_metadata_idx)
			fprintf(f, "%d;", pp->app_meta);
		if (o->container_frame) {
			put_frame(f, profile__str(p, pp->container), profile__strlen(p, pp->container));
			fputc(';', f);
		}
		put_frame(f, profile__str(p, pp->comm), profile__strlen(p, pp->comm));
		if (o->appids && pp->appid) {
			fputs(";appid: ", f);
			put_frame(f, profile__str(p, pp->appid), profile__strlen(p, pp->appid));
		}
		for (uint32_t j = 0; j < nf; j++) {
			fputc(';', f);
			put_frame(f, profile__str(p, fr[j]), profile__strlen(p, fr[j]));
		}
		fprintf(f, " %" PRIu64 "\n", s[i].count);
		total += s[i].count;
	}
	return ferror(f) ? -EIO : total;
}

int64_t col__write(FILE *f, const json_t *header, const struct profile *p,
		   const struct col_options *o)
{
	char *line = col__header_line(header);

	if (!line)
		return -ENOMEM;
	fputs(line, f);
	fputc('\n', f);
	free(line);
	return col__write_stacks(f, p, o);
}

struct col_file *col_file__free(struct col_file *cf)
{
	if (!cf)
		return NULL;
	json_decref(cf->header);
	profile__free(cf->prof);
	free(cf);
	return NULL;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Adds one stack line; fields are split at ';'. */
static void add_line(struct col_file *cf, char *stack, uint64_t count, bool has_idx,
		     bool has_container)
{
	struct profile *p = cf->prof;
	char *fields[3] = { NULL, NULL, NULL }, *rest = stack;
	int nf = (has_idx ? 1 : 0) + (has_container ? 1 : 0) + 1, idx = 0;
	const char **frames = NULL;
	size_t nframes = 0, cap = 0;
	uint32_t proc;

	for (int i = 0; i < nf; i++) {
		char *semi = rest ? strchr(rest, ';') : NULL;

		fields[i] = rest ? rest : "";
		if (semi) {
			*semi = '\0';
			rest = semi + 1;
		} else {
			rest = NULL;
		}
	}
	int fi = 0;

	if (has_idx) {
		char *end;
		long v = strtol(fields[fi], &end, 10);

		idx = (end != fields[fi] && !*end && v >= 0 && v < INT32_MAX) ? (int)v : 0;
		fi++;
	}
	const char *container = has_container ? fields[fi++] : "";
	const char *comm = fields[fi];
	const char *appid = NULL;

	while (rest) {
		char *semi = strchr(rest, ';');

		if (semi)
			*semi = '\0';
		if (!nframes && !appid && !strncmp(rest, "appid: ", 7))
			appid = rest + 7;
		else {
			xgrow((void **)&frames, &cap, nframes + 1, sizeof(*frames));
			frames[nframes++] = rest;
		}
		rest = semi ? semi + 1 : NULL;
	}
	proc = profile__proc(p, -1, profile__intern_cstr(p, comm), GP_SRC_NATIVE);
	struct profile_proc *pp = profile__proc_at(p, proc);

	pp->container = profile__intern_cstr(p, container);
	pp->app_meta = idx;
	if (appid)
		pp->appid = profile__intern_cstr(p, appid);
	profile__add_frames(p, proc, frames, nframes, count);
	free(frames);
}

int col__parse(const char *text, size_t len, struct col_file **ret, char *err, size_t errlen)
{
	struct col_file *cf;
	const char *nl, *end = text + len;
	json_error_t jerr;
	bool has_idx, has_container = true;
	size_t lineno = 1;
	char *buf = NULL;
	size_t bufcap = 0;
	int r = 0;

	if (!len)
		return fail(err, errlen, "the file is empty");
	if (memchr(text, '\0', len))
		return fail(err, errlen, "the file holds NUL bytes: not a text .col file");
	if (text[0] != '#')
		return fail(err, errlen, "line 1: the header line must start with '#'");
	nl = memchr(text, '\n', len);
	if (!nl)
		nl = end;
	cf = xcalloc(1, sizeof(*cf));
	{
		const char *js = text + 1;

		while (js < nl && *js == ' ')
			js++;
		cf->header = json_loadb(js, nl - js, 0, &jerr);
	}
	if (!cf->header || !json_is_object(cf->header)) {
		r = fail(err, errlen, "line 1: the header is not a JSON object%s%s",
			 cf->header ? "" : ": ", cf->header ? "" : jerr.text);
		goto out;
	}
	has_idx = json_is_true(json_object_get(cf->header, "application_metadata_enabled"));
	cf->prof = profile__new();
	for (const char *line = nl < end ? nl + 1 : end; line < end; line = nl + 1) {
		const char *sp;
		char *cend;
		size_t l;
		unsigned long long count;

		lineno++;
		nl = memchr(line, '\n', end - line);
		if (!nl)
			nl = end;
		l = nl - line;
		if (l && line[l - 1] == '\r')
			l--;
		if (!l || line[0] == '#')
			continue;
		sp = memrchr(line, ' ', l);
		if (!sp || sp == line) {
			r = fail(err, errlen, "line %zu: a stack line must end with a space and a count",
				 lineno);
			goto out;
		}
		xgrow((void **)&buf, &bufcap, l + 1, 1);
		memcpy(buf, sp + 1, line + l - sp - 1);
		buf[line + l - sp - 1] = '\0';
		errno = 0;
		count = strtoull(buf, &cend, 10);
		if (!buf[0] || *cend || errno || buf[0] == '-') {
			r = fail(err, errlen, "line %zu: the count '%.32s' is not a number", lineno, buf);
			goto out;
		}
		memcpy(buf, line, sp - line);
		buf[sp - line] = '\0';
		add_line(cf, buf, count, has_idx, has_container);
		cf->total += count;
		cf->lines++;
	}
out:
	free(buf);
	if (r) {
		col_file__free(cf);
		return r;
	}
	*ret = cf;
	return 0;
}
