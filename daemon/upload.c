// SPDX-License-Identifier: Apache-2.0
/*
 * Uploading, the daemon's side; see upload.h. The clients, the spool and
 * the worker thread live in output/; this file turns flags into their
 * configuration, says what happens in gProfiler's words, and decides what
 * is fatal: a failed health check or an unusable spool stops the start,
 * as a misconfigured upload would otherwise lose every profile quietly.
 */
#include "upload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col.h"
#include "http.h"
#include "log.h"
#include "metadata.h"
#include "pyroscope.h"
#include "spool.h"
#include "uploader.h"
#include "xalloc.h"

#ifndef GPROFILER_VERSION
#define GPROFILER_VERSION "0"
#endif

#define DEFAULT_SPOOL_DIR "/var/lib/gprofiler/spool"
#define FALLBACK_SPOOL_DIR "/tmp/gprofiler_tmp/spool"

struct upload {
	const struct args *a;
	struct uploader *w;
	char *pyroscope_name;
	time_t spawn;
};

bool upload_wanted(const struct args *a)
{
	return a->upload_results || a->pyroscope_server;
}

const char *upload_hostname(void)
{
	static char buf[256];
	const char *h = metadata_hostname();

	if (h && strcmp(h, "<unknown>"))
		return h;
	if (!buf[0] && gethostname(buf, sizeof(buf) - 1))
		snprintf(buf, sizeof(buf), "unknown");
	return buf;
}

/* A URL without its user:password@ part, for the log. Caller frees. */
static char *url_for_log(const char *url)
{
	const char *scheme = url ? strstr(url, "://") : NULL, *at, *slash;

	if (!scheme)
		return xstrdup(url ? url : "none");
	at = strchr(scheme + 3, '@');
	slash = strchr(scheme + 3, '/');
	if (!at || (slash && slash < at))
		return xstrdup(url);
	return xasprintf("%.*s<redacted>%s", (int)(scheme + 3 - url), url, at);
}

struct studio *upload_studio_new(const struct args *a, const char *hostname)
{
	struct studio_config c = {
		.server = a->server_host,
		.token = a->server_token,
		.service = a->service_name,
		.hostname = hostname,
		.agent_version = GPROFILER_VERSION,
		.upload_timeout_s = a->server_upload_timeout,
		.verify = a->verify,
	};
	struct studio *s = studio__new(&c);

	if (!s)
		log_error("The token and the service name must not hold control characters");
	return s;
}

int upload_health_check(struct studio *s, const char *service)
{
	struct http_response resp;
	enum http_outcome out;
	char *why, *proxy;
	int r;

	r = studio__health_check(s, &resp);
	if (r) {
		log_error("Cannot check the connection to the server: %s", strerror(-r));
		return -1;
	}
	out = http__classify(&resp);
	why = http__describe(&resp, studio__token(s));
	if (out == HTTP_SENT) {
		log_info("The connection to the server was successfully established (service '%s')",
			 service);
		r = 0;
	} else if (resp.status >= 400 && resp.status < 500) {
		/* gProfiler's APIError */
		log_error("Server error: %s", why);
		r = -1;
	} else {
		const char *p = getenv("https_proxy");

		if (!p)
			p = getenv("HTTPS_PROXY");
		proxy = p ? url_for_log(p) : xstrdup("none");
		log_error("Failed to connect to server. It might be blocked by your security rules / "
			  "firewall, or you might require a proxy to access it from your environment? "
			  "Proxy used: %s. Error: %s", proxy, why);
		free(proxy);
		r = -1;
	}
	free(why);
	http_response__clear(&resp);
	return r;
}

static void worker_log(void *arg, enum uploader_level level, const char *msg)
{
	(void)arg;
	switch (level) {
	case UPLOADER_DEBUG:
		log_debug("%s", msg);
		break;
	case UPLOADER_INFO:
		log_info("%s", msg);
		break;
	case UPLOADER_WARNING:
		log_warning("%s", msg);
		break;
	case UPLOADER_ERROR:
		log_error("%s", msg);
		break;
	}
}

static int open_spool(const struct args *a, struct spool **ret)
{
	uint64_t max = (uint64_t)a->spool_max_mb << 20;
	int r = spool__open(a->spool_dir, max, ret);

	if (r && r != -EBUSY && !strcmp(a->spool_dir, DEFAULT_SPOOL_DIR)) {
		log_warning("Cannot use the upload spool %s (%s); using %s instead", a->spool_dir,
			    strerror(-r), FALLBACK_SPOOL_DIR);
		r = spool__open(FALLBACK_SPOOL_DIR, max, ret);
		if (!r)
			return 0;
	}
	if (r == -EBUSY)
		log_error("The upload spool %s is in use by another gprofiler; give each one its own "
			  "--spool-dir", a->spool_dir);
	else if (r)
		log_error("Cannot open the upload spool %s: %s (see --spool-dir)", a->spool_dir,
			  strerror(-r));
	return r;
}

static char *pyroscope_name(const struct args *a)
{
	char *app = a->pyroscope_app ? xstrdup(a->pyroscope_app)
				     : pyroscope__app_from(a->service_name);
	char *suffix = NULL, *name;

	/* args_validate() checked the tags already */
	if (pyroscope__tags(a->pyroscope_tags, &suffix, NULL, 0))
		suffix = xstrdup("");
	name = xasprintf("%s%s", app, suffix);
	free(app);
	free(suffix);
	return name;
}

int upload_start(const struct args *a, time_t spawn_time, struct upload **ret)
{
	struct uploader_config cfg = { .log = worker_log };
	struct upload *u = xcalloc(1, sizeof(*u));
	int r;

	u->a = a;
	u->spawn = spawn_time;
	if (a->upload_results) {
		cfg.studio = upload_studio_new(a, upload_hostname());
		if (!cfg.studio || upload_health_check(cfg.studio, a->service_name))
			goto fail;
	}
	if (a->pyroscope_server) {
		struct pyroscope_config pc = {
			.server = a->pyroscope_server,
			.user = a->pyroscope_user,
			.password = a->pyroscope_password,
			.tenant = a->pyroscope_tenant,
			.timeout_s = a->server_upload_timeout,
			.verify = a->verify,
		};
		char *shown = url_for_log(a->pyroscope_server);

		cfg.pyroscope = pyroscope__new(&pc);
		if (!cfg.pyroscope) {
			log_error("The Pyroscope user, password and tenant must not hold control "
				  "characters");
			free(shown);
			goto fail;
		}
		u->pyroscope_name = pyroscope_name(a);
		log_info("Sending profiles to Pyroscope at %s as %s", shown, u->pyroscope_name);
		free(shown);
	}
	if (open_spool(a, &cfg.spool))
		goto fail;
	r = uploader__start(&cfg, &u->w);
	if (r) {
		log_error("Cannot start the upload thread: %s", strerror(-r));
		goto fail;
	}
	*ret = u;
	return 0;
fail:
	studio__free(cfg.studio);
	pyroscope__free(cfg.pyroscope);
	spool__close(cfg.spool);
	free(u->pyroscope_name);
	free(u);
	return -1;
}

void upload_session(struct upload *u, const json_t *header, const struct profile *p,
		    time_t start, time_t end)
{
	const struct args *a = u->a;
	const json_t *metrics = json_object_get(header, "metrics");
	struct col_options co = {
		.app_metadata_idx = a->application_metadata && !a->profile_api_version,
		.container_frame = !a->profile_api_version,
		.appids = a->collect_appids,
	};
	struct upload_profile up = {
		.header = header,
		.prof = p,
		.col = &co,
		.start = start,
		.end = end,
		.spawn = u->spawn,
		.hostname = upload_hostname(),
		.cpu_avg = json_object_get(metrics, "cpu_avg"),
		.mem_avg = json_object_get(metrics, "mem_avg"),
		.studio_api_version = a->profile_api_version,
		.pyroscope_name = u->pyroscope_name,
		.sample_rate = a->frequency,
	};

	uploader__submit(u->w, &up);
}

void upload_stop(struct upload *u)
{
	if (!u)
		return;
	uploader__stop(u->w, (uint64_t)UPLOAD_STOP_GRACE_S * 1000000000ULL);
	free(u->pyroscope_name);
	free(u);
}
