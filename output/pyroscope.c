// SPDX-License-Identifier: Apache-2.0
/* Pyroscope ingest client; see pyroscope.h. */
#include "pyroscope.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col.h"
#include "xalloc.h"

struct pyroscope {
	char *server;		/* without trailing '/' */
	char *userpwd;		/* "user:password" or NULL */
	char *password;
	char *hdr_tenant;	/* "X-Scope-OrgID: t" or NULL */
	unsigned int timeout_s;
	bool verify;
};

static bool has_control(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

struct pyroscope *pyroscope__new(const struct pyroscope_config *c)
{
	struct pyroscope *p;
	size_t n;

	if (!c->server || (c->user && strchr(c->user, ':')) || has_control(c->user) ||
	    has_control(c->password) || has_control(c->tenant)) {
		errno = EINVAL;
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->server = xstrdup(c->server);
	n = strlen(p->server);
	while (n && p->server[n - 1] == '/')
		p->server[--n] = '\0';
	if ((c->user && *c->user) || (c->password && *c->password)) {
		p->userpwd = xasprintf("%s:%s", c->user ? c->user : "", c->password ? c->password : "");
		p->password = c->password && *c->password ? xstrdup(c->password) : NULL;
	}
	if (c->tenant && *c->tenant)
		p->hdr_tenant = xasprintf("X-Scope-OrgID: %s", c->tenant);
	p->timeout_s = c->timeout_s;
	p->verify = c->verify;
	return p;
}

static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void pyroscope__free(struct pyroscope *p)
{
	if (!p)
		return;
	free(p->server);
	wipe(p->userpwd);
	wipe(p->password);
	free(p->hdr_tenant);
	free(p);
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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

static bool app_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

int pyroscope__check_app(const char *app, char *err, size_t errlen)
{
	if (!app || !*app)
		return fail(err, errlen, "the application name is empty");
	for (const char *c = app; *c; c++)
		if (!app_char(*c))
			return fail(err, errlen,
				    "the application name '%.64s' holds '%c'; use letters, digits, "
				    "'_', '.' and '-'",
				    app, (unsigned char)*c >= 0x20 && *c != 0x7f ? *c : '?');
	return 0;
}

char *pyroscope__app_from(const char *s)
{
	char *a;

	if (!s || !*s)
		return xstrdup("gprofiler");
	a = xstrdup(s);
	for (char *c = a; *c; c++)
		if (!app_char(*c))
			*c = '_';
	return a;
}

static bool key_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && ((c >= '0' && c <= '9') || c == '.'));
}

static bool value_char(char c)
{
	return (unsigned char)c > 0x20 && c != 0x7f && !strchr("{}=,\"", c);
}

int pyroscope__tags(const char *spec, char **ret_suffix, char *err, size_t errlen)
{
	char *copy, *save = NULL, *out;
	size_t len = 0, cap = 16, nkeys = 0;
	const char **keys = NULL;
	size_t kcap = 0;
	int r = 0;

	if (!spec || !*spec) {
		*ret_suffix = xstrdup("");
		return 0;
	}
	copy = xstrdup(spec);
	out = xmalloc(cap);
	out[len++] = '{';
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '='), *k = t, *v;

		if (!eq) {
			r = fail(err, errlen, "the tag '%.64s' is not key=value", t);
			break;
		}
		*eq = '\0';
		v = eq + 1;
		if (!*k || !key_char(*k, true)) {
			r = fail(err, errlen, "the tag key '%.64s' must start with a letter or '_'", k);
			break;
		}
		for (const char *c = k; *c; c++)
			if (!key_char(*c, false)) {
				r = fail(err, errlen,
					 "the tag key '%.64s' holds '%c'; use letters, digits, '_' and '.'",
					 k, (unsigned char)*c >= 0x20 ? *c : '?');
				break;
			}
		if (r)
			break;
		if (!strcmp(k, "__name__")) {
			r = fail(err, errlen, "the tag key __name__ is reserved by Pyroscope");
			break;
		}
		for (size_t i = 0; i < nkeys; i++)
			if (!strcmp(keys[i], k))
				r = fail(err, errlen, "the tag key '%.64s' is given twice", k);
		if (r)
			break;
		if (!*v) {
			r = fail(err, errlen, "the tag '%.64s' has an empty value", k);
			break;
		}
		for (const char *c = v; *c; c++)
			if (!value_char(*c)) {
				r = fail(err, errlen,
					 "the value of tag '%.64s' holds a blank, a control character "
					 "or one of { } = , \"",
					 k);
				break;
			}
		if (r)
			break;
		xgrow((void **)&keys, &kcap, nkeys + 1, sizeof(*keys));
		keys[nkeys++] = k;
		xgrow((void **)&out, &cap, len + strlen(k) + strlen(v) + 4, 1);
		len += (size_t)sprintf(out + len, "%s%s=%s", nkeys > 1 ? "," : "", k, v);
	}
	if (!r && !nkeys)
		r = fail(err, errlen, "no tags in '%.64s'", spec);
	if (r) {
		free(out);
	} else {
		out[len++] = '}';
		out[len] = '\0';
		*ret_suffix = out;
	}
	free(keys);
	free(copy);
	return r;
}

char *pyroscope__url(const char *server, const char *name, int64_t from, int64_t until,
		     unsigned int sample_rate)
{
	char sfrom[24], suntil[24], srate[16], *base, *url;
	size_t n = strlen(server);
	const char *params[] = { "name", name, "from", sfrom, "until", suntil, "format", "folded",
				 "sampleRate", srate, "spyName", "gprofiler", NULL };

	while (n && server[n - 1] == '/')
		n--;
	snprintf(sfrom, sizeof(sfrom), "%" PRId64, from);
	snprintf(suntil, sizeof(suntil), "%" PRId64, until);
	snprintf(srate, sizeof(srate), "%u", sample_rate);
	base = xasprintf("%.*s/ingest", (int)n, server);
	url = http__url(base, params);
	free(base);
	return url;
}

char *pyroscope__folded(const struct profile *p, bool appids, size_t *ret_len)
{
	const struct col_options co = { .app_metadata_idx = false, .container_frame = false,
					.appids = appids };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int64_t n;

	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	n = col__write_stacks(f, p, &co);
	if (fclose(f) || n <= 0) {
		free(buf);
		return NULL;
	}
	*ret_len = len;
	return buf;
}

int pyroscope__ingest(struct pyroscope *p, const char *name, int64_t from, int64_t until,
		      unsigned int sample_rate, const char *body, size_t len,
		      bool (*cancel)(void *), void *cancel_arg, struct http_response *ret)
{
	const char *headers[] = { "Content-Type: text/plain", p->hdr_tenant, NULL };
	char *url = pyroscope__url(p->server, name, from, until, sample_rate);
	struct http_request rq = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = len,
		.userpwd = p->userpwd,
		.timeout_s = p->timeout_s,
		.verify = p->verify,
		.cancel = cancel,
		.cancel_arg = cancel_arg,
	};
	int r = http__request(&rq, ret);

	free(url);
	return r;
}

const char *pyroscope__secret(const struct pyroscope *p)
{
	return p->password;
}
