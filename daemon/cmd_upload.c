// SPDX-License-Identifier: Apache-2.0
/*
 * `gprofiler upload-file --file-path F.col --token T --service-name S`:
 * sends a .col file, made here or elsewhere, to the Performance Studio as
 * gProfiler's upload-file does. The whole file is read and checked first
 * (size, header line, JSON, stack lines, UTF-8): a bad file gets one line
 * naming the problem, exit 1, and no request at all. Then the health check
 * and one POST, with no spool: the caller sees the outcome in the exit
 * status (0 sent, 1 not sent, 2 usage).
 *
 * The header sent is the file's, with this host's metadata filling in
 * what its "metadata" lacks (the file's values win, as gProfiler's
 * merge_dicts(file, collected) does; run_arguments as a whole), and
 * run_arguments.func removed. start/end come from the header's start_time
 * and end_time, else now; cpu_avg and mem_avg are null, gpid "".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "col.h"
#include "commands.h"
#include "http.h"
#include "log.h"
#include "metadata.h"
#include "studio.h"
#include "upload.h"
#include "xalloc.h"

/* Larger files are refused before they are read: the Studio takes at most
 * 4 MiB gzipped, which .col text reaches at a few tens of MiB. */
#define UPLOAD_FILE_MAX ((size_t)64 << 20)

static int file_error(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int file_error(const char *path, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gprofiler upload-file: error: %s: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; nothing was sent\n", stderr);
	return 1;
}

/* Reads the whole file, refusing what is not a regular file or too big.
 * 0 or 1 (error printed). */
static int read_col(const char *path, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t len = 0;
	char *buf;

	if (fd < 0)
		return file_error(path, "cannot open it: %s", strerror(errno));
	if (fstat(fd, &st)) {
		close(fd);
		return file_error(path, "cannot read it: %s", strerror(errno));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return file_error(path, "not a regular file");
	}
	if ((uint64_t)st.st_size > UPLOAD_FILE_MAX) {
		close(fd);
		return file_error(path, "the file is %.1f MiB, larger than the %zu MiB upload-file "
				  "accepts (the Performance Studio takes at most 4 MiB gzipped)",
				  (double)st.st_size / (1 << 20), UPLOAD_FILE_MAX >> 20);
	}
	buf = xmalloc((size_t)st.st_size + 1);
	for (;;) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			close(fd);
			return file_error(path, "cannot read it: %s", strerror(e));
		}
		if (!n)
			break;
		len += (size_t)n;
		if (len > (size_t)st.st_size) {
			free(buf);
			close(fd);
			return file_error(path, "the file grew while it was read");
		}
	}
	close(fd);
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Offset of the first byte that is not valid UTF-8, or -1. */
static long bad_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3
			 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;

		if (!n || i + n > len)
			return (long)i;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return (long)i;
		if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0) ||
		    (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))
			return (long)i;	/* overlong, surrogate, or past U+10FFFF */
		i += n;
	}
	return -1;
}

/* "2024-10-20T15:03:47" with an optional fraction and Z or +HH:MM, as
 * Python's fromisoformat takes it; -1 when it does not parse. */
static time_t parse_iso(const char *s)
{
	struct tm tm = { 0 };
	const char *p;
	long off = 0;

	if (!s)
		return -1;
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || (*p != 'T' && *p != ' '))
		return -1;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm, n = 0;

		if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5)
			return -1;
		off = (hh * 60L + mm) * 60L * (*p == '-' ? -1 : 1);
		p += 6;
	}
	if (*p)
		return -1;
	return timegm(&tm) - off;
}

static const char *time_field(const json_t *h, const char *key)
{
	const json_t *v = json_object_get(h, key);

	if (!v)
		v = json_object_get(json_object_get(h, "metadata"), key);
	return v ? (json_is_string(v) ? json_string_value(v) : "") : NULL;
}

/* The header to send: the file's, its metadata completed with ours. */
static json_t *merged_header(const json_t *file_header, const json_t *collected)
{
	json_t *h = json_deep_copy(file_header);
	json_t *fm = json_object_get(h, "metadata");
	json_t *m = json_deep_copy(collected);

	if (json_is_object(fm)) {
		json_t *run = json_object_get(fm, "run_arguments");

		if (run)
			json_object_set(m, "run_arguments", run);
		json_object_update_recursive(m, fm);
	}
	json_object_del(json_object_get(m, "run_arguments"), "func");
	json_object_del(json_object_get(h, "run_arguments"), "func");
	json_object_set_new(h, "metadata", m);
	return h;
}

/* The file as gProfiler sends it: line 1 kept, each other line
 * right-stripped, joined with "\n" (no newline at the end). The checks run
 * on this text, so a stack line with trailing blanks is as good as
 * gProfiler finds it. Caller frees. */
static char *normalized(const char *text, size_t len, size_t *ret_len)
{
	const char *p = memchr(text, '\n', len), *end = text + len;
	char *out = xmalloc(len + 1);
	size_t n = p ? (size_t)(p - text) : len;

	memcpy(out, text, n);
	for (p = p ? p + 1 : end; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;

		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\v' ||
				 e[-1] == '\f'))
			e--;
		out[n++] = '\n';
		memcpy(out + n, p, (size_t)(e - p));
		n += (size_t)(e - p);
		p = nl ? nl + 1 : end;
	}
	out[n] = '\0';
	*ret_len = n;
	return out;
}

/* header line + the normalized text's stack lines. Caller frees. */
static char *profile_text(const json_t *header, const char *norm, size_t len, size_t *ret_len)
{
	char *line = col__header_line(header), *out;
	const char *nl = memchr(norm, '\n', len);

	if (!line)
		return NULL;
	out = nl ? xasprintf("%s%.*s", line, (int)(norm + len - nl), nl) : xstrdup(line);
	*ret_len = strlen(out);
	free(line);
	return out;
}

int cmd_upload_file(struct args *a)
{
	const char *path = a->file_path;
	char err[256], *text = NULL, *norm = NULL, *profile = NULL, *why;
	char start_s[32], end_s[32], spawn_s[32];
	struct col_file *cf = NULL;
	json_t *collected = NULL, *header = NULL, *body = NULL;
	struct studio *studio = NULL;
	struct http_response resp = { 0 };
	const char *st, *et;
	time_t now = time(NULL), start, end;
	size_t len = 0, nlen = 0, plen = 0;
	long bad;
	int ret = 1, r;

	if (!path || !*path) {
		fputs("gprofiler upload-file: error: --file-path is required\n", stderr);
		return 2;
	}
	log_open(a->verbose, NULL, 0, 0);
	if (read_col(path, &text, &len))
		goto out;
	norm = normalized(text, len, &nlen);
	r = col__parse(norm, nlen, &cf, err, sizeof(err));
	if (r) {
		file_error(path, "not a .col file: %s", err);
		goto out;
	}
	bad = bad_utf8((const unsigned char *)text, len);
	if (bad >= 0) {
		file_error(path, "not UTF-8 text (a bad byte at offset %ld)", bad);
		goto out;
	}
	st = time_field(cf->header, "start_time");
	et = time_field(cf->header, "end_time");
	if (!st != !et) {
		file_error(path, "the header has %s but no %s", st ? "start_time" : "end_time",
			   st ? "end_time" : "start_time");
		goto out;
	}
	start = st ? parse_iso(st) : now;
	end = et ? parse_iso(et) : now;
	if (start < 0 || end < 0) {
		file_error(path, "the header's %s '%.40s' is not an ISO 8601 time",
			   start < 0 ? "start_time" : "end_time", start < 0 ? st : et);
		goto out;
	}

	/* the file is good: now this host's metadata, then the network */
	collected = a->collect_metadata ? metadata_static(a, now, NULL) : NULL;
	json_t *cur = metadata_current(collected, a->collect_metadata, a->profiling_mode);

	header = merged_header(cf->header, cur);
	json_decref(cur);
	profile = profile_text(header, norm, nlen, &plen);
	if (!profile) {
		log_error("Cannot encode the header of %s", path);
		goto out;
	}
	studio = upload_studio_new(a, upload_hostname());
	if (!studio || upload_health_check(studio, a->service_name))
		goto out;
	iso_time(start, start_s, sizeof(start_s));
	iso_time(end, end_s, sizeof(end_s));
	iso_time(now, spawn_s, sizeof(spawn_s));
	body = studio__body(start_s, end_s, upload_hostname(), profile, plen, NULL, NULL, spawn_s);
	r = studio__upload(studio, body, a->profile_api_version, NULL, NULL, &resp);
	if (r) {
		log_error("Error occurred sending profile to server: %s", strerror(-r));
		goto out;
	}
	if (http__classify(&resp) != HTTP_SENT) {
		why = http__describe(&resp, studio__token(studio));
		log_error("Error occurred sending profile to server: %s", why);
		free(why);
		goto out;
	}
	log_info("Successfully uploaded profiling data to the server (%s: %llu samples in %zu "
		 "stacks)", path, (unsigned long long)cf->total, cf->lines);
	ret = 0;
out:
	http_response__clear(&resp);
	studio__free(studio);
	json_decref(body);
	json_decref(header);
	json_decref(collected);
	col_file__free(cf);
	free(profile);
	free(norm);
	free(text);
	log_close();
	return ret;
}
