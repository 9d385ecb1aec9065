/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One HTTP request over libcurl, as the uploaders need it. A fresh handle
 * per request: a profile a minute gains nothing from keeping connections,
 * and a fresh connection sees a restarted server at once. The response
 * body is bounded, a cancel hook is polled during the transfer so a
 * stopping daemon never waits out a long timeout, and the outcome is
 * classified in one place: sent, worth retrying, or never going to work.
 * libcurl itself honours https_proxy, http_proxy and no_proxy.
 */
#ifndef GP_HTTP_H
#define GP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of a response body kept (servers answer with small JSON). */
#define HTTP_BODY_MAX (64 * 1024)

enum http_outcome {
	HTTP_SENT,	/* 2xx */
	HTTP_RETRY,	/* may pass: no connection, timeout, 408, 429, 5xx */
	HTTP_REJECTED,	/* will not pass: other 4xx, 3xx, a malformed URL */
};

struct http_request {
	const char *method;		/* "GET" or "POST" */
	const char *url;
	const char *const *headers;	/* NULL-terminated "Name: value" lines, or NULL */
	const void *body;		/* POST body (sent with Content-Length) */
	size_t body_len;
	const char *userpwd;		/* basic auth "user:password", or NULL */
	unsigned int timeout_s;		/* the whole transfer */
	bool verify;			/* verify the server's certificate and name */
	bool (*cancel)(void *arg);	/* polled while waiting; true aborts */
	void *cancel_arg;
};

struct http_response {
	long status;			/* HTTP status; 0 when no response arrived */
	int curl_code;			/* CURLcode of the transfer */
	char *body;			/* NUL-terminated, at most HTTP_BODY_MAX bytes */
	size_t body_len;
	long retry_after_s;		/* Retry-After in seconds, or -1 */
	char error[256];		/* transport error ("" when a response arrived) */
};

/*
 * Performs rq. Returns 0 when *ret describes the result (a response, or a
 * transport error in ret->error), or -errno when nothing could be tried
 * (-ENOMEM, -EINVAL). Free ret with http_response__clear().
 */
int http__request(const struct http_request *rq, struct http_response *ret);
void http_response__clear(struct http_response *r);
enum http_outcome http__classify(const struct http_response *r);

/*
 * One line for a log: "HTTP 401: <server's message>" (the message from a
 * JSON {"message"} or {"detail": {"message"}} / {"detail": "..."} body, else
 * the body's first line), or the transport error. secret, when given, is
 * replaced by "<redacted>" wherever it appears. Caller frees.
 */
char *http__describe(const struct http_response *r, const char *secret);

/* Percent-encodes s: everything but ALPHA DIGIT - . _ ~ (RFC 3986
 * unreserved). Caller frees. */
char *http__escape(const char *s);
/* base + "?" (or "&" when base has a query) + name=value pairs, escaped.
 * params: name, value, name, value, ..., NULL. Caller frees. */
char *http__url(const char *base, const char *const *params);

#endif
