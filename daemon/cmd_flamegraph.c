// SPDX-License-Identifier: Apache-2.0
/*
 * `gprofiler flamegraph --file-path X.col [--output Y.html]`: renders any
 * .col file, made here or elsewhere, to the HTML flamegraph page (default
 * output: X with .col replaced by .html). The title comes from the file's
 * header: metadata.hostname, run_arguments.service_name, and the session's
 * end (metadata.current_time) and start (an explicit start_time, else the
 * end minus run_arguments.duration, which is how gProfiler's sessions are
 * timed). The page appears atomically. Exit status: 0, 1 for a file that
 * cannot be read, parsed or written, 2 for a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col.h"
#include "commands.h"
#include "flamegraph.h"
#include "outdir.h"
#include "procinfo.h"
#include "xalloc.h"

#define COL_MAX_BYTES ((size_t)1 << 31)

static const char usage[] =
	"usage: gprofiler flamegraph --file-path FILE.col [--output FILE.html]\n";

static int usage_error(const char *fmt, const char *arg)
{
	fputs("gprofiler flamegraph: error: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fputs(usage, stderr);
	return 2;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past it. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **ret)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*ret = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*ret = argv[++*i];
	return 1;
}

static const char *header_str(const json_t *header, const char *obj, const char *key)
{
	const json_t *o = obj ? json_object_get(header, obj) : header;

	return json_string_value(json_object_get(o, key));
}

/* end - seconds, both "YYYY-MM-DDTHH:MM:SS" UTC, into buf; NULL when end
 * does not parse. */
static const char *start_from_duration(const char *end, json_int_t seconds, char *buf,
				       size_t len)
{
	struct tm tm = { 0 };
	const char *rest;
	time_t t;

	if (!end || seconds <= 0)
		return NULL;
	rest = strptime(end, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest || (*rest && *rest != '.' && *rest != 'Z' && *rest != '+'))
		return NULL;
	t = timegm(&tm) - (time_t)seconds;
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm))
		return NULL;
	return buf;
}

/* Writes the page for cf into path, atomically. 0 or -errno. */
static int write_page(const char *path, const struct col_file *cf)
{
	const json_t *h = cf->header;
	const json_t *run = json_object_get(json_object_get(h, "metadata"), "run_arguments");
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	const char *base = slash ? slash + 1 : path;
	char startbuf[32];
	struct flamegraph_meta fm = {
		.hostname = header_str(h, "metadata", "hostname"),
		.service = json_string_value(json_object_get(run, "service_name")),
		.end_time = header_str(h, "metadata", "current_time"),
	};
	struct outfile of;
	int r;

	fm.start_time = header_str(h, NULL, "start_time");
	if (!fm.start_time)
		fm.start_time = header_str(h, "metadata", "start_time");
	if (!fm.start_time)
		fm.start_time = start_from_duration(
			fm.end_time, json_integer_value(json_object_get(run, "duration")), startbuf,
			sizeof(startbuf));
	if (!*base) {
		r = -EISDIR;
		goto out;
	}
	r = outfile__open(&of, dir, base);
	if (r)
		goto out;
	r = flamegraph__write(of.f, cf->prof, &fm);
	if (r)
		outfile__abort(&of);
	else
		r = outfile__commit(&of);
out:
	free(dir);
	return r;
}

int cmd_flamegraph(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	char err[256], *text = NULL, *outpath = NULL;
	struct col_file *cf = NULL;
	size_t len;
	int r, ret = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			fputs("Renders a .col file (gProfiler's collapsed stacks) to a self-contained "
			      "HTML flamegraph.\n",
			      stdout);
			return 0;
		}
		if ((r = opt_value(argc, argv, &i, "--file-path", &in)) ||
		    (r = opt_value(argc, argv, &i, "--output", &out))) {
			if (r < 0)
				return usage_error("%s expects a value", a);
			continue;
		}
		return usage_error("unrecognized argument: %s", a);
	}
	if (!in || !*in)
		return usage_error("%s", "--file-path is required");
	if (out && !*out)
		return usage_error("%s", "--output must not be empty");

	text = proc_read_file(in, COL_MAX_BYTES, &len);
	if (!text) {
		fprintf(stderr, "gprofiler flamegraph: error: cannot read %s: %s\n", in,
			strerror(errno));
		goto out;
	}
	if (len >= COL_MAX_BYTES) {
		fprintf(stderr, "gprofiler flamegraph: error: %s is larger than 2 GiB\n", in);
		goto out;
	}
	r = col__parse(text, len, &cf, err, sizeof(err));
	if (r) {
		fprintf(stderr, "gprofiler flamegraph: error: %s is not a .col file: %s\n", in, err);
		goto out;
	}
	if (out) {
		outpath = xstrdup(out);
	} else {
		size_t n = strlen(in);

		outpath = n > 4 && !strcmp(in + n - 4, ".col") ?
				  xasprintf("%.*s.html", (int)(n - 4), in) :
				  xasprintf("%s.html", in);
	}
	r = write_page(outpath, cf);
	if (r) {
		fprintf(stderr, "gprofiler flamegraph: error: cannot write %s: %s\n", outpath,
			strerror(-r));
		goto out;
	}
	printf("Wrote %s (%llu samples)\n", outpath, (unsigned long long)cf->total);
	ret = 0;
out:
	free(text);
	free(outpath);
	col_file__free(cf);
	return ret;
}
