// SPDX-License-Identifier: Apache-2.0
/* Performance Studio client; see studio.h. */
#include "studio.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gzip.h"
#include "xalloc.h"

struct studio {
	char *server;		/* without trailing '/' */
	char *token;
	char *service;
	char *hostname;
	char *agent_version;
	unsigned int upload_timeout_s;
	bool verify;
	json_t *gpid;		/* "" or what the server returned last */
	char *hdr_key;		/* "GPROFILER-API-KEY: <token>" */
	char *hdr_service;
};

static bool has_control(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

struct studio *studio__new(const struct studio_config *c)
{
	struct studio *s;
	size_t n;

	if (!c->server || !c->token || !c->service || has_control(c->token) ||
	    has_control(c->service)) {
		errno = EINVAL;
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->server = xstrdup(c->server);
	n = strlen(s->server);
	while (n && s->server[n - 1] == '/')
		s->server[--n] = '\0';
	s->token = xstrdup(c->token);
	s->service = xstrdup(c->service);
	s->hostname = xstrdup(c->hostname ? c->hostname : "");
	s->agent_version = xstrdup(c->agent_version ? c->agent_version : "");
	s->upload_timeout_s = c->upload_timeout_s;
	s->verify = c->verify;
	s->gpid = json_string("");
	s->hdr_key = xasprintf("GPROFILER-API-KEY: %s", s->token);
	s->hdr_service = xasprintf("GPROFILER-SERVICE-NAME: %s", s->service);
	return s;
}

static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void studio__free(struct studio *s)
{
	if (!s)
		return;
	free(s->server);
	wipe(s->token);
	wipe(s->hdr_key);
	free(s->service);
	free(s->hostname);
	free(s->agent_version);
	free(s->hdr_service);
	json_decref(s->gpid);
	free(s);
}

char *studio__url(const struct studio *s, const char *api_version, const char *path, time_t now,
		  bool with_version)
{
	char ts[32], *base, *url;
	struct tm tm;
	const char *params[] = { "key", s->token, "service", s->service, "hostname", s->hostname,
				 "timestamp", ts, with_version ? "version" : NULL,
				 s->agent_version, NULL };

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	base = xasprintf("%s/api/%s/%s", s->server, api_version, path);
	url = http__url(base, params);
	free(base);
	return url;
}

int studio__health_check(struct studio *s, struct http_response *ret)
{
	const char *headers[] = { s->hdr_key, s->hdr_service, NULL };
	char *url = studio__url(s, "v1", "health_check", time(NULL), false);
	struct http_request rq = {
		.method = "GET",
		.url = url,
		.headers = headers,
		.timeout_s = STUDIO_REQUEST_TIMEOUT_S,
		.verify = s->verify,
	};
	int r = http__request(&rq, ret);

	wipe(url);
	return r;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A copy of s with each byte that does not start a valid sequence
 * replaced by U+FFFD. Caller frees. */
static char *utf8_repair(const char *s, size_t len, size_t *ret_len)
{
	char *out = xmalloc(len * 3 + 1), *o = out;
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);

		if (n) {
			memcpy(o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	*ret_len = (size_t)(o - out);
	return out;
}

static json_t *text(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	size_t n;
	char *fixed;

	if (j)
		return j;
	fixed = utf8_repair(s, len, &n);
	j = json_stringn(fixed, n);
	free(fixed);
	return j ? j : json_string("");
}

json_t *studio__body(const char *start_time, const char *end_time, const char *hostname,
		     const char *profile, size_t len, const json_t *cpu_avg, const json_t *mem_avg,
		     const char *spawn_time)
{
	json_t *b = json_object();

	json_object_set_new(b, "start_time", text(start_time, strlen(start_time)));
	json_object_set_new(b, "end_time", text(end_time, strlen(end_time)));
	json_object_set_new(b, "hostname", text(hostname, strlen(hostname)));
	json_object_set_new(b, "profile", text(profile, len));
	json_object_set_new(b, "cpu_avg", json_is_number(cpu_avg) ? json_copy((json_t *)cpu_avg)
								  : json_null());
	json_object_set_new(b, "mem_avg", json_is_number(mem_avg) ? json_copy((json_t *)mem_avg)
								  : json_null());
	json_object_set_new(b, "spawn_time", text(spawn_time, strlen(spawn_time)));
	return b;
}

int studio__upload(struct studio *s, json_t *body, const char *api_version,
		   bool (*cancel)(void *), void *cancel_arg, struct http_response *ret)
{
	const char *headers[] = { s->hdr_key, s->hdr_service, "Content-Encoding: gzip",
				  "Content-Type: application/json", NULL };
	char *url, *js;
	void *gz;
	size_t gzlen;
	int r;

	json_object_set(body, "gpid", s->gpid);
	js = json_dumps(body, JSON_COMPACT);
	if (!js)
		return -ENOMEM;
	r = gzip__compress(js, strlen(js), &gz, &gzlen);
	free(js);
	if (r)
		return r;
	url = studio__url(s, api_version ? api_version : "v2", "profiles", time(NULL), true);

	struct http_request rq = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.body = gz,
		.body_len = gzlen,
		.timeout_s = s->upload_timeout_s,
		.verify = s->verify,
		.cancel = cancel,
		.cancel_arg = cancel_arg,
	};

	r = http__request(&rq, ret);
	wipe(url);
	free(gz);
	if (!r && http__classify(ret) == HTTP_SENT) {
		/* as gProfiler: response.get("gpid", "") */
		json_t *resp = ret->body_len ? json_loadb(ret->body, ret->body_len, 0, NULL) : NULL;
		json_t *gpid = json_object_get(resp, "gpid");

		json_decref(s->gpid);
		s->gpid = gpid && !json_is_null(gpid) ? json_incref(gpid) : json_string("");
		json_decref(resp);
	}
	return r;
}

const json_t *studio__gpid(const struct studio *s)
{
	return s->gpid;
}

const char *studio__token(const struct studio *s)
{
	return s->token;
}
