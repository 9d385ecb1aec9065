// SPDX-License-Identifier: Apache-2.0
/*
 * Runtime jobs; see rtjobs.h. Each job owns a heap block shared with the
 * session by a reference count: the thread drops one reference when it
 * returns, the session one when it frees the set, so an abandoned thread
 * never writes into freed memory. Threads get small stacks.
 */
#include "rtjobs.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

struct job {
	int refs;			/* atomic */
	pthread_t thread;
	bool started;
	volatile bool done;		/* written by the thread, read under lock */
	volatile bool stop;
	struct runtime_job_config cfg;
	struct rtjob_result r;
	struct procinfo *pi;
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
};

struct rtjobs {
	struct job **jobs;
	size_t n, cap;
	struct rtjob_result *results;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;			/* lock and cond outlive abandoned jobs */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const char *rtjobs_mode(const char *const *modes, const char *name)
{
	for (size_t i = 0; modes && modes[i] && modes[i + 1]; i += 2)
		if (!strcmp(modes[i], name))
			return modes[i + 1];
	return NULL;
}

static void set_free(struct rtjobs *j)
{
	if (__atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j);
}

static void job_put(struct job *jb)
{
	if (__atomic_sub_fetch(&jb->refs, 1, __ATOMIC_ACQ_REL))
		return;
	profile__free(jb->r.res.prof);
	free(jb->r.res.error);
	free(jb->r.appid);
	json_decref(jb->r.app_metadata);
	procinfo__free(jb->pi);
	free(jb);
}

struct thread_arg {
	struct job *jb;
	struct rtjobs *set;
};

static void *job_main(void *p)
{
	struct thread_arg *ta = p;
	struct job *jb = ta->jb;
	struct rtjobs *set = ta->set;
	const struct runtime_ops *ops = jb->r.ops;
	sigset_t all;

	free(ta);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);	/* signals belong to the daemon */
	if (ops->profile(&jb->cfg, &jb->r.res) && !jb->r.res.prof && !jb->r.res.error)
		jb->r.res.error = xstrdup("profiler failed");
	if (!jb->r.res.prof && !jb->r.res.error)
		jb->r.res.error = xstrdup("no result");
	pthread_mutex_lock(&set->lock);
	jb->done = true;
	pthread_cond_broadcast(&set->cond);
	pthread_mutex_unlock(&set->lock);
	job_put(jb);
	set_free(set);
	return NULL;
}

static bool pid_allowed(const struct rtjobs_config *cfg, int pid)
{
	if (!cfg->npids)
		return true;
	for (size_t i = 0; i < cfg->npids; i++)
		if (cfg->pids[i] == pid)
			return true;
	return false;
}

static const struct runtime_ops *match(const struct rtjobs_config *cfg,
				       const struct runtime_ops *const *registry,
				       const struct procinfo *pi, const char *maps)
{
	for (size_t i = 0; registry[i]; i++) {
		const char *mode = rtjobs_mode(cfg->modes, registry[i]->name);

		if (!mode || !strcmp(mode, "disabled") || !strcmp(mode, "none"))
			continue;
		if (registry[i]->match(pi, maps))
			return registry[i];
	}
	return NULL;
}

static void add_job(struct rtjobs *j, const struct rtjobs_config *cfg,
		    const struct runtime_ops *ops, struct procinfo *pi)
{
	struct job *jb = xcalloc(1, sizeof(*jb));
	unsigned int f = cfg->frequency;

	if (ops->max_frequency && f > ops->max_frequency)
		f = ops->max_frequency;
	jb->refs = 1;
	jb->pi = pi;
	jb->r.pid = pi->pid;
	jb->r.ops = ops;
	memcpy(jb->r.comm, pi->comm, sizeof(jb->r.comm));
	jb->cfg = (struct runtime_job_config){
		.pid = pi->pid,
		.frequency = f,
		.duration_ns = cfg->duration_ns,
		.stop = &jb->stop,
		.tmp_dir = cfg->tmp_dir,
		.mode = rtjobs_mode(cfg->modes, ops->name),
		.options = cfg->options,
	};
	xgrow((void **)&j->jobs, &j->cap, j->n + 1, sizeof(*j->jobs));
	j->jobs[j->n++] = jb;
}

struct rtjobs *rtjobs__start(const struct rtjobs_config *cfg,
			     const struct runtime_ops *const *registry)
{
	struct rtjobs *j = xcalloc(1, sizeof(*j));
	pthread_attr_t attr;
	struct dirent *de;
	DIR *d;
	int self = getpid();

	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	j->refs = 1;
	if (!registry || !registry[0])
		return j;
	d = opendir("/proc");
	if (!d)
		return j;
	while ((de = readdir(d))) {
		char path[64], *maps, *end;
		long pid = strtol(de->d_name, &end, 10);
		const struct runtime_ops *ops;
		struct procinfo *pi;

		if (*end || pid <= 0 || pid == self || !pid_allowed(cfg, (int)pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
		maps = proc_read_file(path, 64 << 20, NULL);
		if (!maps || !maps[0]) {
			free(maps);
			continue;	/* kernel thread or gone */
		}
		pi = procinfo__read((int)pid);
		ops = pi ? match(cfg, registry, pi, maps) : NULL;
		free(maps);
		if (!ops) {
			procinfo__free(pi);
			continue;
		}
		add_job(j, cfg, ops, pi);
	}
	closedir(d);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	for (size_t i = 0; i < j->n; i++) {
		struct job *jb = j->jobs[i];
		struct thread_arg *ta;

		if (cfg->appids && jb->r.ops->appid)
			jb->r.appid = jb->r.ops->appid(jb->pi);
		if (cfg->app_metadata && jb->r.ops->app_metadata)
			jb->r.app_metadata = jb->r.ops->app_metadata(jb->pi);
		if (cfg->max_jobs && i >= cfg->max_jobs) {
			jb->r.res.error = xstrdup("too many processes to profile at once");
			jb->r.res.skipped = true;
			jb->done = true;
			continue;
		}
		ta = xmalloc(sizeof(*ta));
		ta->jb = jb;
		ta->set = j;
		__atomic_add_fetch(&jb->refs, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&j->refs, 1, __ATOMIC_RELAXED);
		if (pthread_create(&jb->thread, &attr, job_main, ta)) {
			free(ta);
			__atomic_sub_fetch(&jb->refs, 1, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&j->refs, 1, __ATOMIC_RELAXED);
			jb->r.res.error = xstrdup("cannot start a profiling thread");
			jb->done = true;
			continue;
		}
		jb->started = true;
	}
	pthread_attr_destroy(&attr);
	return j;
}

void rtjobs__stop(struct rtjobs *j)
{
	for (size_t i = 0; i < j->n; i++)
		j->jobs[i]->stop = true;
}

const struct rtjob_result *rtjobs__collect(struct rtjobs *j, uint64_t deadline_ns, size_t *ret_n)
{
	pthread_mutex_lock(&j->lock);
	for (;;) {
		bool all = true;

		for (size_t i = 0; i < j->n; i++)
			all &= j->jobs[i]->done;
		if (all || now_ns() >= deadline_ns)
			break;
		struct timespec ts;
		uint64_t wait = deadline_ns - now_ns();

		if (wait > 100000000ULL)
			wait = 100000000ULL;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += wait % 1000000000ULL;
		ts.tv_sec += wait / 1000000000ULL + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&j->cond, &j->lock, &ts);
	}
	j->results = xcalloc(j->n ? j->n : 1, sizeof(*j->results));
	for (size_t i = 0; i < j->n; i++) {
		struct job *jb = j->jobs[i];

		if (jb->done) {
			j->results[i] = jb->r;
			if (jb->started)
				pthread_join(jb->thread, NULL);
			jb->started = false;
		} else {
			jb->stop = true;
			pthread_detach(jb->thread);
			jb->started = false;
			/* appid and metadata were made before the thread
			 * started and it never touches them: they move here. */
			j->results[i] = (struct rtjob_result){
				.pid = jb->r.pid,
				.ops = jb->r.ops,
				.appid = jb->r.appid,
				.app_metadata = jb->r.app_metadata,
				.timed_out = true,
			};
			jb->r.appid = NULL;
			jb->r.app_metadata = NULL;
			memcpy(j->results[i].comm, jb->r.comm, sizeof(jb->r.comm));
			j->results[i].res.error = xstrdup("timed out");
		}
	}
	pthread_mutex_unlock(&j->lock);
	*ret_n = j->n;
	return j->results;
}

struct rtjobs *rtjobs__free(struct rtjobs *j)
{
	if (!j)
		return NULL;
	for (size_t i = 0; i < j->n; i++) {
		struct job *jb = j->jobs[i];

		if (j->results && j->results[i].timed_out) {
			/* our own copies; the job keeps its own */
			free(j->results[i].res.error);
			free(j->results[i].appid);
			json_decref(j->results[i].app_metadata);
		}
		if (jb->started) {
			/* never collected: stop and wait */
			jb->stop = true;
			pthread_join(jb->thread, NULL);
		}
		job_put(jb);
	}
	free(j->jobs);
	free(j->results);
	set_free(j);
	return NULL;
}
