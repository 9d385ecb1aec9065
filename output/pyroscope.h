/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Pyroscope client: the legacy ingest API that Grafana Pyroscope,
 * Grafana Cloud and Pyroscope-compatible agents accept.
 *   POST {server}/ingest?name=<app>{k=v,...}&from=<unix s>&until=<unix s>
 *        &format=folded&sampleRate=<Hz>&spyName=gprofiler
 * with one folded stack per line, root first, the count last. The root is
 * the process's comm, as in gProfiler's flamegraph (no metadata index, no
 * container frame). Optional basic auth, and X-Scope-OrgID for a tenant.
 * Names are checked here with Pyroscope's own rules so that a bad flag
 * fails at start, not at every upload.
 */
#ifndef GP_PYROSCOPE_H
#define GP_PYROSCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "profile.h"

struct pyroscope_config {
	const char *server;		/* e.g. http://pyroscope:4040 */
	const char *user;		/* basic auth when user or password is set */
	const char *password;
	const char *tenant;		/* X-Scope-OrgID, or NULL */
	unsigned int timeout_s;
	bool verify;
};

struct pyroscope;

/* Copies the configuration. NULL and errno EINVAL when the user name
 * holds ':' or a header value a control character. */
struct pyroscope *pyroscope__new(const struct pyroscope_config *c);
void pyroscope__free(struct pyroscope *p);

/*
 * Checks an application name: [A-Za-z0-9_.-]+, as Pyroscope validates
 * it. 0, or -EINVAL with a reason in err.
 */
int pyroscope__check_app(const char *app, char *err, size_t errlen);
/* An application name made from any text (e.g. a service name): the
 * characters Pyroscope refuses become '_'; "" becomes "gprofiler".
 * Caller frees. */
char *pyroscope__app_from(const char *s);

/*
 * Parses "k=v,k2=v2" (NULL or "" for no tags) into the name suffix
 * "{k=v,k2=v2}" ("" when there are none). Keys: [A-Za-z_][A-Za-z0-9_.]*,
 * not __name__, each once. Values: non-empty, without { } = , " or
 * blanks/control characters. 0, or -EINVAL with the reason in err. Caller
 * frees *ret_suffix.
 */
int pyroscope__tags(const char *spec, char **ret_suffix, char *err, size_t errlen);

/* {server}/ingest?name=..&from=..&until=..&format=folded&sampleRate=..
 * &spyName=gprofiler, escaped. Caller frees. */
char *pyroscope__url(const char *server, const char *name, int64_t from, int64_t until,
		     unsigned int sample_rate);

/*
 * The folded body of p: "comm;[appid: X;]frame;...;frame count\n" per
 * stack. Caller frees; *ret_len is the length. NULL when p has no samples.
 */
char *pyroscope__folded(const struct profile *p, bool appids, size_t *ret_len);

/* POSTs one folded body. 0 or -errno as http__request(); classify *ret
 * with http__classify(). */
int pyroscope__ingest(struct pyroscope *p, const char *name, int64_t from, int64_t until,
		      unsigned int sample_rate, const char *body, size_t len,
		      bool (*cancel)(void *), void *cancel_arg, struct http_response *ret);

/* The password, for http__describe()'s redaction (NULL when none).
 * Borrowed. */
const char *pyroscope__secret(const struct pyroscope *p);

#endif
