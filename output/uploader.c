// SPDX-License-Identifier: Apache-2.0
/*
 * The upload worker; see uploader.h.
 *
 * Delivery guarantees. Every profile is written to the spool (temporary
 * file, fsync, rename, fsync of the folder) before its first send, and
 * its file is deleted (unlink, fsync of the folder) only after the server
 * answered 2xx. So:
 *  - Nothing is lost to a server that is down, slow or failing with a
 *    5xx/408/429, nor to SIGTERM or SIGKILL or a power cut once the record
 *    is spooled: the next attempt, or the next start, sends it. Records
 *    are lost only when the spool bound (or a full disk) forces the oldest
 *    out, or a server rejects them (other 4xx: retrying cannot help); both
 *    are logged. The one unguarded moment is between a session's end and
 *    its spool write, a few milliseconds in this thread.
 *  - Within one run a profile is never sent again after a 2xx: its entry
 *    leaves the spool index before anything else happens, even if the
 *    unlink fails (that is logged).
 *  - Across a crash, delivery is at-least-once, not exactly-once: a crash
 *    after the server stored a profile but before our unlink is durable
 *    (microseconds after the 2xx), or an answer lost in transit (a timeout
 *    after the server stored it), leads to one more send of that profile
 *    at the next attempt. Exactly-once needs the server to drop duplicates
 *    by an id, and neither the Studio's /profiles nor Pyroscope's /ingest
 *    takes one; the only alternative, deleting before the send, would turn
 *    those rare duplicates into losses.
 *
 * Each target (Studio, Pyroscope) has its own queue order (oldest first)
 * and backoff, so a dead Pyroscope does not hold up the Studio. One thread
 * serves both, one request at a time.
 */
#include "uploader.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

#define QUEUE_MAX 16
#define NTARGETS 2
#define NS 1000000000ULL

struct job {
	char target[16];
	json_t *meta;
	char *payload;
	size_t len;
	struct job *next;
};

struct target {
	const char *name;	/* spool target */
	const char *label;	/* for the log */
	bool configured;
	unsigned int failures;
	uint64_t next_try_ns;	/* CLOCK_MONOTONIC; 0: now */
};

struct uploader {
	struct studio *studio;
	struct pyroscope *pyro;
	struct spool *spool;
	uint64_t bmin, bmax;
	void (*log)(void *arg, enum uploader_level level, const char *msg);
	void *log_arg;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC */
	struct job *head, *tail;	/* under lock */
	size_t queued;
	atomic_bool stopping;
	_Atomic uint64_t deadline_ns;
	atomic_bool abort;
	struct target t[NTARGETS];	/* worker thread only */
	unsigned int rr;
	uint32_t rng;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void say(struct uploader *u, enum uploader_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct uploader *u, enum uploader_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!u->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	u->log(u->log_arg, lvl, buf);
}

uint64_t uploader__backoff(uint64_t min_ns, uint64_t max_ns, unsigned int failures, uint32_t rnd)
{
	uint64_t d = min_ns;

	if (!failures)
		return 0;
	for (unsigned int i = 1; i < failures && d < max_ns; i++)
		d = d > max_ns / 2 ? max_ns : d * 2;
	if (d > max_ns)
		d = max_ns;
	/* jitter down to 75%: hosts restarted together spread out */
	return d - (uint64_t)((double)(d / 4) * ((double)rnd / 4294967296.0));
}

static uint32_t next_rand(struct uploader *u)
{
	uint32_t x = u->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return u->rng = x ? x : 0x9e3779b9u;
}

static struct target *target_named(struct uploader *u, const char *name)
{
	for (int i = 0; i < NTARGETS; i++)
		if (!strcmp(u->t[i].name, name))
			return &u->t[i];
	return NULL;
}

static bool cancelled(void *arg)
{
	struct uploader *u = arg;

	return atomic_load(&u->abort) ||
	       (atomic_load(&u->stopping) && mono_ns() >= atomic_load(&u->deadline_ns));
}

/* ---- delivery ---- */

static const char *meta_str(const json_t *meta, const char *key)
{
	const char *s = json_string_value(json_object_get(meta, key));

	return s ? s : "";
}

/* Sends one record. 0 and *ret filled, or -errno when nothing was tried. */
static int deliver(struct uploader *u, const struct target *t, const json_t *meta,
		   const char *payload, size_t len, struct http_response *ret)
{
	if (!strcmp(t->name, UPLOAD_TARGET_STUDIO)) {
		const json_t *ver = json_object_get(meta, "api_version");
		json_t *body = studio__body(meta_str(meta, "start_time"), meta_str(meta, "end_time"),
					    meta_str(meta, "hostname"), payload, len,
					    json_object_get(meta, "cpu_avg"),
					    json_object_get(meta, "mem_avg"),
					    meta_str(meta, "spawn_time"));
		int r = studio__upload(u->studio, body, json_string_value(ver), cancelled, u, ret);

		json_decref(body);
		return r;
	}
	return pyroscope__ingest(u->pyro, meta_str(meta, "name"),
				 json_integer_value(json_object_get(meta, "from")),
				 json_integer_value(json_object_get(meta, "until")),
				 (unsigned int)json_integer_value(json_object_get(meta, "sample_rate")),
				 payload, len, cancelled, u, ret);
}

static const char *secret_of(struct uploader *u, const struct target *t)
{
	return !strcmp(t->name, UPLOAD_TARGET_STUDIO) ? studio__token(u->studio)
						       : pyroscope__secret(u->pyro);
}

static void report_success(struct uploader *u, const struct target *t, const json_t *meta)
{
	if (!strcmp(t->name, UPLOAD_TARGET_STUDIO))
		say(u, UPLOADER_INFO, "Successfully uploaded profiling data to the server");
	else
		say(u, UPLOADER_INFO, "Successfully sent the profile to Pyroscope (%s)",
		    meta_str(meta, "name"));
}

/* Sends the oldest spooled record of t. */
static void send_oldest(struct uploader *u, struct target *t)
{
	struct http_response resp = { 0 };
	struct spool_entry e;
	enum http_outcome out;
	json_t *meta = NULL;
	char *payload = NULL, *why;
	size_t len;
	int r;

	if (spool__oldest(u->spool, t->name, &e))
		return;
	r = spool__get(u->spool, e.seq, &meta, &payload, &len);
	if (r == -EBADMSG || r == -ENOENT) {
		say(u, UPLOADER_ERROR, "The spooled profile #%" PRIu64 " in %s is damaged or gone; "
		    "removed it", e.seq, spool__dir(u->spool));
		spool__remove(u->spool, e.seq);
		return;
	}
	if (r) {
		out = HTTP_RETRY;
		why = xasprintf("cannot read the spool: %s", strerror(-r));
	} else {
		r = deliver(u, t, meta, payload, len, &resp);
		out = r ? HTTP_RETRY : http__classify(&resp);
		why = r ? xasprintf("%s", strerror(-r)) : http__describe(&resp, secret_of(u, t));
	}
	switch (out) {
	case HTTP_SENT:
		t->failures = 0;
		t->next_try_ns = 0;
		r = spool__remove(u->spool, e.seq);
		report_success(u, t, meta);
		if (r)
			say(u, UPLOADER_ERROR, "Cannot delete the sent profile #%" PRIu64 " from %s: %s; "
			    "it will be sent again at the next start", e.seq, spool__dir(u->spool),
			    strerror(-r));
		break;
	case HTTP_REJECTED:
		t->failures = 0;
		t->next_try_ns = 0;
		spool__remove(u->spool, e.seq);
		say(u, UPLOADER_ERROR, "%s rejected the profile (%s); dropped it, as sending it "
		    "again cannot help", t->label, why);
		break;
	case HTTP_RETRY: {
		uint64_t delay = uploader__backoff(u->bmin, u->bmax, ++t->failures, next_rand(u));

		if (resp.retry_after_s >= 0) {
			uint64_t ra = (uint64_t)resp.retry_after_s * NS;

			delay = ra < u->bmin ? u->bmin : ra > u->bmax ? u->bmax : ra;
		}
		t->next_try_ns = mono_ns() + delay;
		if (cancelled(u))
			say(u, UPLOADER_INFO, "Upload to %s interrupted by the shutdown; the profile "
			    "stays in the spool", t->label);
		else
			say(u, UPLOADER_WARNING, "Upload of the profile to %s failed (%s); retrying in "
			    "%.1f s (%zu spooled in %s)", t->label, why, (double)delay / NS,
			    spool__count(u->spool, t->name), spool__dir(u->spool));
		break;
	}
	}
	free(why);
	http_response__clear(&resp);
	json_decref(meta);
	free(payload);
}

/* ---- spooling ---- */

static void on_drop(void *arg, const struct spool_entry *e)
{
	struct uploader *u = arg;
	struct target *t = target_named(u, e->target);

	say(u, UPLOADER_WARNING, "The upload spool %s is full (see --spool-max-mb): dropped the "
	    "oldest profile, #%" PRIu64 " for %s", spool__dir(u->spool), e->seq,
	    t ? t->label : e->target);
}

/* A record the spool cannot keep is sent once from memory. */
static void send_unspooled(struct uploader *u, struct target *t, const struct job *j)
{
	struct http_response resp = { 0 };
	int r = deliver(u, t, j->meta, j->payload, j->len, &resp);
	char *why;

	if (!r && http__classify(&resp) == HTTP_SENT) {
		report_success(u, t, j->meta);
	} else {
		why = r ? xasprintf("%s", strerror(-r)) : http__describe(&resp, secret_of(u, t));
		say(u, UPLOADER_ERROR, "Upload of the profile to %s failed (%s); it could not be "
		    "spooled, so it is lost", t->label, why);
		free(why);
	}
	http_response__clear(&resp);
}

static void persist(struct uploader *u, struct job *j)
{
	struct target *t = target_named(u, j->target);
	int r = spool__put(u->spool, j->target, j->meta, j->payload, j->len, on_drop, u, NULL);

	if (r) {
		say(u, UPLOADER_ERROR, "Cannot spool the profile for %s in %s: %s", t->label,
		    spool__dir(u->spool), r == -EFBIG ? "it is larger than --spool-max-mb"
						      : strerror(-r));
		send_unspooled(u, t, j);
	}
	json_decref(j->meta);
	free(j->payload);
	free(j);
}

/* ---- the worker ---- */

/* The next target with a record due now, round robin; *ret_wake gets the
 * earliest future retry time (0: none). */
static struct target *due(struct uploader *u, uint64_t now, uint64_t *ret_wake)
{
	uint64_t wake = 0;

	for (int k = 0; k < NTARGETS; k++) {
		unsigned int i = (u->rr + (unsigned int)k) % NTARGETS;
		struct target *t = &u->t[i];

		if (!t->configured || !spool__count(u->spool, t->name))
			continue;
		if (t->next_try_ns <= now) {
			u->rr = i + 1;
			*ret_wake = 0;
			return t;
		}
		if (!wake || t->next_try_ns < wake)
			wake = t->next_try_ns;
	}
	*ret_wake = wake;
	return NULL;
}

static void announce(struct uploader *u)
{
	for (int i = 0; i < NTARGETS; i++) {
		struct target *t = &u->t[i];
		size_t n = spool__count(u->spool, t->name);

		if (!n)
			continue;
		if (t->configured)
			say(u, UPLOADER_INFO, "Sending %zu profile(s) for %s spooled by an earlier run "
			    "(oldest first)", n, t->label);
		else
			say(u, UPLOADER_WARNING, "%zu profile(s) for %s stay in the spool %s until "
			    "gprofiler runs with %s again", n, t->label, spool__dir(u->spool),
			    !strcmp(t->name, UPLOAD_TARGET_STUDIO) ? "-u" : "--pyroscope-server");
	}
}

static void *worker(void *arg)
{
	struct uploader *u = arg;

	announce(u);
	pthread_mutex_lock(&u->lock);
	for (;;) {
		struct target *t;
		uint64_t now, wake, deadline;

		while (u->head) {
			struct job *j = u->head;

			u->head = j->next;
			if (!u->head)
				u->tail = NULL;
			u->queued--;
			pthread_mutex_unlock(&u->lock);
			persist(u, j);
			pthread_mutex_lock(&u->lock);
		}
		now = mono_ns();
		deadline = atomic_load(&u->deadline_ns);
		if (atomic_load(&u->stopping) && now >= deadline)
			break;
		t = due(u, now, &wake);
		if (t) {
			pthread_mutex_unlock(&u->lock);
			send_oldest(u, t);
			pthread_mutex_lock(&u->lock);
			continue;
		}
		if (atomic_load(&u->stopping)) {
			/* nothing due before the deadline: done */
			if (!wake || wake >= deadline)
				break;
		}
		if (u->head)
			continue;
		if (atomic_load(&u->stopping) && (!wake || deadline < wake))
			wake = deadline;
		if (wake) {
			struct timespec ts = { .tv_sec = (time_t)(wake / NS),
					       .tv_nsec = (long)(wake % NS) };

			pthread_cond_timedwait(&u->cond, &u->lock, &ts);
		} else {
			pthread_cond_wait(&u->cond, &u->lock);
		}
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

int uploader__start(const struct uploader_config *cfg, struct uploader **ret)
{
	struct uploader *u = xcalloc(1, sizeof(*u));
	pthread_condattr_t ca;
	int r;

	u->studio = cfg->studio;
	u->pyro = cfg->pyroscope;
	u->spool = cfg->spool;
	u->bmin = cfg->backoff_min_ns ? cfg->backoff_min_ns : NS;
	u->bmax = cfg->backoff_max_ns ? cfg->backoff_max_ns : 300 * NS;
	if (u->bmax < u->bmin)
		u->bmax = u->bmin;
	u->log = cfg->log;
	u->log_arg = cfg->log_arg;
	u->rng = (uint32_t)mono_ns() ^ ((uint32_t)getpid() << 16);
	u->t[0] = (struct target){ UPLOAD_TARGET_STUDIO, "the Performance Studio", u->studio != NULL };
	u->t[1] = (struct target){ UPLOAD_TARGET_PYROSCOPE, "Pyroscope", u->pyro != NULL };
	pthread_mutex_init(&u->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->cond, &ca);
	pthread_condattr_destroy(&ca);
	r = pthread_create(&u->thread, NULL, worker, u);
	if (r) {
		pthread_cond_destroy(&u->cond);
		pthread_mutex_destroy(&u->lock);
		free(u);
		return -r;
	}
	*ret = u;
	return 0;
}

/* ---- the session side ---- */

static char *render_col(const struct upload_profile *p, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int64_t n;

	if (!f)
		return NULL;
	n = col__write(f, p->header, p->prof, p->col);
	if (fclose(f) || n < 0) {
		free(buf);
		return NULL;
	}
	/* gProfiler joins the lines with "\n": no newline after the last */
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	*ret_len = len;
	return buf;
}

static void enqueue(struct uploader *u, const char *target, json_t *meta, char *payload,
		    size_t len)
{
	struct job *j = xcalloc(1, sizeof(*j)), *old = NULL;

	snprintf(j->target, sizeof(j->target), "%s", target);
	j->meta = meta;
	j->payload = payload;
	j->len = len;
	pthread_mutex_lock(&u->lock);
	if (u->queued >= QUEUE_MAX) {
		old = u->head;
		u->head = old->next;
		if (!u->head)
			u->tail = NULL;
		u->queued--;
	}
	if (u->tail)
		u->tail->next = j;
	else
		u->head = j;
	u->tail = j;
	u->queued++;
	pthread_cond_signal(&u->cond);
	pthread_mutex_unlock(&u->lock);
	if (old) {
		say(u, UPLOADER_ERROR, "The upload queue is full (the spool folder is not keeping "
		    "up): dropped the oldest queued profile for %s", old->target);
		json_decref(old->meta);
		free(old->payload);
		free(old);
	}
}

static void iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

static json_t *number_or_null(const json_t *v)
{
	return json_is_number(v) ? json_copy((json_t *)v) : json_null();
}

void uploader__submit(struct uploader *u, const struct upload_profile *p)
{
	char start[32], end[32], spawn[32], *text;
	size_t len;

	iso(p->start, start, sizeof(start));
	iso(p->end, end, sizeof(end));
	iso(p->spawn, spawn, sizeof(spawn));
	if (u->studio) {
		text = render_col(p, &len);
		if (!text) {
			say(u, UPLOADER_ERROR, "Cannot render the profile for the Performance Studio");
		} else {
			/* copies, not references: the worker thread owns meta */
			json_t *meta = json_pack("{s:s,s:s*,s:s,s:s,s:s,s:o,s:o,s:s}", "target",
						 UPLOAD_TARGET_STUDIO, "api_version",
						 p->studio_api_version, "start_time", start,
						 "end_time", end, "hostname", p->hostname, "cpu_avg",
						 number_or_null(p->cpu_avg), "mem_avg",
						 number_or_null(p->mem_avg), "spawn_time", spawn);

			if (!meta) {
				say(u, UPLOADER_ERROR, "Cannot queue the profile for the Performance "
				    "Studio: the hostname is not UTF-8");
				free(text);
			} else {
				enqueue(u, UPLOAD_TARGET_STUDIO, meta, text, len);
			}
		}
	}
	if (u->pyro) {
		text = pyroscope__folded(p->prof, p->col->appids, &len);
		if (!text) {
			say(u, UPLOADER_DEBUG, "No samples this session: nothing to send to Pyroscope");
		} else {
			json_t *meta = json_pack("{s:s,s:s,s:I,s:I,s:I}", "target",
						 UPLOAD_TARGET_PYROSCOPE, "name", p->pyroscope_name,
						 "from", (json_int_t)p->start, "until",
						 (json_int_t)(p->end > p->start ? p->end : p->start + 1),
						 "sample_rate", (json_int_t)p->sample_rate);

			enqueue(u, UPLOAD_TARGET_PYROSCOPE, meta, text, len);
		}
	}
}

void uploader__stop(struct uploader *u, uint64_t grace_ns)
{
	struct timespec ts;
	uint64_t until;
	size_t left;
	int r;

	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	atomic_store(&u->deadline_ns, mono_ns() + grace_ns);
	atomic_store(&u->stopping, true);
	pthread_cond_signal(&u->cond);
	pthread_mutex_unlock(&u->lock);

	/* pthread_timedjoin_np() takes a CLOCK_REALTIME time */
	clock_gettime(CLOCK_REALTIME, &ts);
	until = (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec + grace_ns + 2 * NS;
	ts.tv_sec = (time_t)(until / NS);
	ts.tv_nsec = (long)(until % NS);
	r = pthread_timedjoin_np(u->thread, NULL, &ts);
	if (r) {
		atomic_store(&u->abort, true);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		r = pthread_timedjoin_np(u->thread, NULL, &ts);
	}
	if (r) {
		/* stuck in the kernel (a hung disk or DNS): leave it, we exit */
		say(u, UPLOADER_ERROR, "The upload worker did not stop in time; leaving it");
		pthread_detach(u->thread);
		return;
	}
	left = spool__count(u->spool, NULL);
	if (left)
		say(u, UPLOADER_INFO, "%zu profile(s) stay in the spool %s and will be sent at the "
		    "next start", left, spool__dir(u->spool));
	while (u->head) {
		struct job *j = u->head;

		u->head = j->next;
		json_decref(j->meta);
		free(j->payload);
		free(j);
	}
	studio__free(u->studio);
	pyroscope__free(u->pyro);
	spool__close(u->spool);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
