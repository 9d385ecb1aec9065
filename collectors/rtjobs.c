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
#include <stdint.h>
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
	struct rtjobs_config cfg;
	const struct runtime_ops *const *registry;
	struct job **jobs;
	size_t n, cap;
	struct rtjob_result *results;
	size_t nstarted;
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
	/* appid and metadata may take time (a JVM answers over its attach
	 * socket): made here, never in the daemon's loop */
	if (set->cfg.appids && ops->appid)
		jb->r.appid = ops->appid(jb->pi);
	if (set->cfg.app_metadata && ops->app_metadata)
		jb->r.app_metadata = ops->app_metadata(jb->pi);
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

static struct job *add_job(struct rtjobs *j, const struct runtime_ops *ops, struct procinfo *pi,
			   uint64_t duration_ns)
{
	const struct rtjobs_config *cfg = &j->cfg;
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
		.duration_ns = duration_ns,
		.stop = &jb->stop,
		.tmp_dir = cfg->tmp_dir,
		.mode = rtjobs_mode(cfg->modes, ops->name),
		.options = cfg->options,
	};
	xgrow((void **)&j->jobs, &j->cap, j->n + 1, sizeof(*j->jobs));
	j->jobs[j->n++] = jb;
	return jb;
}

static void start_job(struct rtjobs *j, struct job *jb)
{
	struct thread_arg *ta;
	pthread_attr_t attr;
	int r;

	if (j->cfg.max_jobs && j->nstarted >= j->cfg.max_jobs) {
		jb->r.res.error = xstrdup("too many processes to profile at once");
		jb->r.res.skipped = true;
		jb->done = true;
		return;
	}
	ta = xmalloc(sizeof(*ta));
	ta->jb = jb;
	ta->set = j;
	__atomic_add_fetch(&jb->refs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&j->refs, 1, __ATOMIC_RELAXED);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	r = pthread_create(&jb->thread, &attr, job_main, ta);
	pthread_attr_destroy(&attr);
	if (r) {
		free(ta);
		__atomic_sub_fetch(&jb->refs, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&j->refs, 1, __ATOMIC_RELAXED);
		jb->r.res.error = xstrdup("cannot start a profiling thread");
		jb->done = true;
		return;
	}
	jb->started = true;
	j->nstarted++;
}

/* The runtime of pid, with its facts, or NULL. */
static const struct runtime_ops *discover(struct rtjobs *j, int pid, struct procinfo **ret_pi)
{
	char path[64], *maps;
	const struct runtime_ops *ops;
	struct procinfo *pi;

	if (pid <= 0 || pid == getpid() || !pid_allowed(&j->cfg, pid))
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = proc_read_file(path, 64 << 20, NULL);
	if (!maps || !maps[0]) {
		free(maps);
		return NULL;	/* kernel thread or gone */
	}
	pi = procinfo__read(pid);
	ops = pi ? match(&j->cfg, j->registry, pi, maps) : NULL;
	free(maps);
	if (!ops) {
		procinfo__free(pi);
		return NULL;
	}
	*ret_pi = pi;
	return ops;
}

struct rtjobs *rtjobs__start(const struct rtjobs_config *cfg,
			     const struct runtime_ops *const *registry)
{
	struct rtjobs *j = xcalloc(1, sizeof(*j));
	struct dirent *de;
	DIR *d;

	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	j->refs = 1;
	j->cfg = *cfg;
	j->registry = registry;
	if (!registry || !registry[0])
		return j;
	d = opendir("/proc");
	if (!d)
		return j;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		const struct runtime_ops *ops;
		struct procinfo *pi;

		if (*end || pid <= 0 || pid > INT32_MAX || !(ops = discover(j, (int)pid, &pi)))
			continue;
		add_job(j, ops, pi, cfg->duration_ns);
	}
	closedir(d);
	for (size_t i = 0; i < j->n; i++)
		start_job(j, j->jobs[i]);
	return j;
}

int rtjobs__add(struct rtjobs *j, int pid, uint64_t duration_ns)
{
	const struct runtime_ops *ops;
	struct procinfo *pi;

	if (!j->registry || !j->registry[0] || duration_ns < 1000000000ULL)
		return 0;
	for (size_t i = 0; i < j->n; i++)
		if (j->jobs[i]->r.pid == pid)
			return 0;
	ops = discover(j, pid, &pi);
	if (!ops)
		return 0;
	start_job(j, add_job(j, ops, pi, duration_ns));
	return 1;
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
			/* the thread still owns everything it writes */
			j->results[i] = (struct rtjob_result){
				.pid = jb->r.pid,
				.ops = jb->r.ops,
				.timed_out = true,
			};
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

		if (j->results && j->results[i].timed_out)
			free(j->results[i].res.error);	/* ours; the job keeps its own */
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
