// SPDX-License-Identifier: Apache-2.0
/* HTTP requests over libcurl; see http.h. */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <jansson.h>

#include "xalloc.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct xfer {
	const struct http_request *rq;
	struct http_response *resp;
	size_t cap;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct http_response *r = x->resp;
	size_t len = size * n, keep = len;

	if (r->body_len + keep > HTTP_BODY_MAX)
		keep = HTTP_BODY_MAX - r->body_len;
	if (keep) {
		xgrow((void **)&r->body, &x->cap, r->body_len + keep + 1, 1);
		memcpy(r->body + r->body_len, data, keep);
		r->body_len += keep;
		r->body[r->body_len] = '\0';
	}
	return len;	/* the rest is read and dropped */
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && !strncasecmp(data, name, sizeof(name) - 1)) {
		char buf[32], *end;
		size_t vlen = len - (sizeof(name) - 1);
		const char *v = data + sizeof(name) - 1;
		long s;

		if (vlen >= sizeof(buf))
			vlen = sizeof(buf) - 1;
		memcpy(buf, v, vlen);
		buf[vlen] = '\0';
		errno = 0;
		s = strtol(buf, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		/* an HTTP date is not parsed: the backoff applies then */
		if (!errno && end != buf && !*end && s >= 0)
			x->resp->retry_after_s = s;
	}
	return len;
}

/* libcurl's own sockets are inheritable: a runtime profiler started while
 * an upload runs must not get one. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)arg;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x->rq->cancel && x->rq->cancel(x->rq->cancel_arg) ? 1 : 0;
}

int http__request(const struct http_request *rq, struct http_response *ret)
{
	struct xfer x = { .rq = rq, .resp = ret };
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	unsigned int timeout = rq->timeout_s ? rq->timeout_s : 1;
	CURL *c;
	CURLcode cc;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->retry_after_s = -1;
	pthread_once(&curl_once, curl_init);
	if (curl_init_code != CURLE_OK)
		return -ENOMEM;
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	for (const char *const *h = rq->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(hdrs, *h);

		if (!n) {
			r = -ENOMEM;
			goto out;
		}
		hdrs = n;
	}
	/* no "Expect: 100-continue" pause before large bodies */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (!hdrs) {
		r = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);	/* threads: no SIGALRM for DNS */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(timeout < 30 ? timeout : 30));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, rq->verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, rq->verify ? 2L : 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "gprofiler-c");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	if (rq->userpwd) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, rq->userpwd);
	}
	if (!strcmp(rq->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? (const char *)rq->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	} else if (!strcmp(rq->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		r = -EINVAL;
		goto out;
	}
	cc = curl_easy_perform(c);
	ret->curl_code = cc;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
	if (cc != CURLE_OK)
		snprintf(ret->error, sizeof(ret->error), "%s",
			 errbuf[0] ? errbuf : curl_easy_strerror(cc));
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

void http_response__clear(struct http_response *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

enum http_outcome http__classify(const struct http_response *r)
{
	/* A 2xx status line means the server took the request, even if the
	 * rest of the answer was lost: sending it again would duplicate it. */
	if (r->status >= 200 && r->status < 300)
		return HTTP_SENT;
	if (r->curl_code != CURLE_OK) {
		switch (r->curl_code) {
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_NOT_BUILT_IN:
			return HTTP_REJECTED;
		default:
			return HTTP_RETRY;	/* refused, reset, timeout, DNS, TLS ... */
		}
	}
	if (r->status == 408 || r->status == 429 || r->status >= 500)
		return HTTP_RETRY;
	return HTTP_REJECTED;
}

/* The message in a JSON error body, as the Studio (FastAPI) and Pyroscope
 * write them; NULL when there is none. Borrowed from j. */
static const char *json_message(const json_t *j)
{
	const json_t *d = json_object_get(j, "detail");

	if (json_is_string(json_object_get(j, "message")))
		return json_string_value(json_object_get(j, "message"));
	if (json_is_string(json_object_get(d, "message")))
		return json_string_value(json_object_get(d, "message"));
	if (json_is_string(d))
		return json_string_value(d);
	if (json_is_string(json_object_get(j, "error")))
		return json_string_value(json_object_get(j, "error"));
	return NULL;
}

static char *redact(char *s, const char *secret)
{
	static const char mark[] = "<redacted>";
	size_t n, at = 0;
	char *p;

	if (!secret || !(n = strlen(secret)))
		return s;
	/* search on after each mark: the mark may hold the secret */
	while ((p = strstr(s + at, secret))) {
		char *t = xasprintf("%.*s%s%s", (int)(p - s), s, mark, p + n);

		at = (size_t)(p - s) + sizeof(mark) - 1;
		free(s);
		s = t;
	}
	return s;
}

char *http__describe(const struct http_response *r, const char *secret)
{
	char *s;

	if (r->status) {
		json_t *j = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
		const char *msg = json_message(j);

		if (msg) {
			s = xasprintf("HTTP %ld: %.300s", r->status, msg);
		} else if (r->body_len) {
			size_t n = strcspn(r->body, "\r\n");

			s = xasprintf("HTTP %ld: %.*s", r->status, (int)(n > 300 ? 300 : n), r->body);
		} else {
			s = xasprintf("HTTP %ld", r->status);
		}
		json_decref(j);
	} else {
		s = xasprintf("%s", r->error[0] ? r->error : "no response");
	}
	/* the server may echo what it was sent */
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return redact(s, secret);
}

char *http__escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

char *http__url(const char *base, const char *const *params)
{
	size_t len = strlen(base), cap = len + 1;
	char *url = xmalloc(cap);
	char sep = strchr(base, '?') ? '&' : '?';

	memcpy(url, base, len + 1);
	for (const char *const *p = params; p && p[0] && p[1]; p += 2) {
		char *k = http__escape(p[0]), *v = http__escape(p[1]);
		size_t add = strlen(k) + strlen(v) + 2;

		xgrow((void **)&url, &cap, len + add + 1, 1);
		len += (size_t)snprintf(url + len, cap - len, "%c%s=%s", sep, k, v);
		sep = '&';
		free(k);
		free(v);
	}
	return url;
}
