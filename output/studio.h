/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gProfiler Performance Studio client, byte for byte what gProfiler's
 * client.py sends: the GPROFILER-API-KEY and GPROFILER-SERVICE-NAME
 * headers and the key/service/hostname/timestamp query on every request,
 * GET /api/v1/health_check at start, and POST /api/v2/profiles (v1 with
 * --profile-api-version v1) with &version=<agent> and a gzipped JSON body
 * {start_time, end_time, hostname, profile, cpu_avg, mem_avg, spawn_time,
 * gpid}. The gpid the server returns is sent with the next upload.
 * Not thread-safe: one thread uses a client at a time.
 */
#ifndef GP_STUDIO_H
#define GP_STUDIO_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "http.h"

/* gProfiler's timeout for everything but the upload itself. */
#define STUDIO_REQUEST_TIMEOUT_S 5

struct studio_config {
	const char *server;		/* e.g. https://profiler.granulate.io */
	const char *token;
	const char *service;
	const char *hostname;
	const char *agent_version;
	unsigned int upload_timeout_s;
	bool verify;
};

struct studio;

/* Copies the configuration. NULL and errno EINVAL when a header value
 * holds a control character (it would split the request). Free with
 * studio__free(). */
struct studio *studio__new(const struct studio_config *c);
void studio__free(struct studio *s);

/*
 * The URL of a request: {server}/api/{api_version}/{path}?key=..&service=..
 * &hostname=..&timestamp=<now, UTC ISO>[&version=<agent>]. Caller frees.
 * The token is in it: never log it.
 */
char *studio__url(const struct studio *s, const char *api_version, const char *path, time_t now,
		  bool with_version);

/* GET {server}/api/v1/health_check. The response goes to *ret (free with
 * http_response__clear()). 0 or -errno as http__request(). */
int studio__health_check(struct studio *s, struct http_response *ret);

/*
 * The upload body without gpid, in gProfiler's key order. profile is the
 * whole .col text (header line first); text that is not UTF-8 is repaired
 * with U+FFFD as Python's decoder would. cpu_avg/mem_avg: numbers or null
 * (NULL means null). New reference.
 */
json_t *studio__body(const char *start_time, const char *end_time, const char *hostname,
		     const char *profile, size_t len, const json_t *cpu_avg, const json_t *mem_avg,
		     const char *spawn_time);

/*
 * POSTs body (gpid is set here: "" first, then the last one the server
 * returned) to /api/<api_version>/profiles, api_version NULL meaning v2.
 * On a 2xx the returned gpid is kept for the next upload. 0 or -errno as
 * http__request(); classify *ret with http__classify().
 */
int studio__upload(struct studio *s, json_t *body, const char *api_version,
		   bool (*cancel)(void *), void *cancel_arg, struct http_response *ret);

/* The gpid the next upload sends. Borrowed. */
const json_t *studio__gpid(const struct studio *s);
/* The token, for http__describe()'s redaction. Borrowed. */
const char *studio__token(const struct studio *s);

#endif
