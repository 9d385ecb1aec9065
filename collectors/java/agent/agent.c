// SPDX-License-Identifier: Apache-2.0
/*
 * libgpjavaagent.so: gprofiler-c's own Java sampler, loaded into a HotSpot
 * JVM by the daemon through the attach protocol (protocol.h has the wire).
 *
 * Sampling design. We sample with AsyncGetCallTrace from a SIGPROF handler
 * driven by ITIMER_PROF (async-profiler's itimer mode), not with JVMTI
 * GetThreadListStackTraces from an agent thread:
 *  - correctness: the kernel sends the process-wide CPU timer's signal to the
 *    thread that was running, so samples are on-CPU by construction and the
 *    split between threads and methods follows CPU time. JVMTI stack walks
 *    happen at safepoints (safepoint bias: a hot inlined method is charged
 *    to its caller's loop back-edge) and see RUNNABLE threads that are in
 *    fact blocked in native I/O, which a CPU profile must not count.
 *  - cost: one AsyncGetCallTrace per sample on the sampled thread; no
 *    safepoint or handshake that stops every application thread 99 times a
 *    second.
 *  - safety: the handler allocates nothing, takes no lock, and writes only
 *    a preallocated ring; jmethodIDs are created for all loaded classes
 *    (and each new one at ClassPrepare) before the timer is armed, since
 *    AsyncGetCallTrace needs them and the ClassLoad event enabled. We refuse
 *    to start if anyone else owns SIGPROF or ITIMER_PROF; after a session
 *    SIGPROF is left ignored, not handled (sampler.c says why).
 *
 * Lifecycle. Every load calls Agent_OnAttach again (the library stays
 * resident: -z nodelete). "start" spawns one JVMTI agent thread that
 * prepares, arms the timer, drains the ring every 50 ms (resolving method
 * names while classes are surely loaded) and, on "stop", the VM's death or
 * its own deadline (the session's duration plus a margin, in case the
 * daemon died), disarms everything, writes the output file and exits. Events
 * are enabled only during a session, so between sessions nothing of ours
 * runs: no thread, no timer, no signal handler, no event callback. Memory is
 * bounded by the ring size and maxmem. A start while a session runs (a
 * daemon restarted) discards that session first.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "protocol.h"

#define DRAIN_MS 50
#define START_WAIT_MS 20000
#define STOP_WAIT_MS 10000
#define DEATH_WAIT_MS 2000
#define DEFAULT_TIMEOUT_S 3600
#define DEFAULT_MAXMEM (16u << 20)
#define MAX_RING_SLOTS 1024
#define PATH_LEN 4096
#define REASON_LEN 256

enum cmd { CMD_NONE, CMD_START, CMD_STOP };

struct opts {
	enum cmd cmd;
	char file[PATH_LEN];
	uint64_t interval_ns;
	uint64_t timeout_s;
	uint64_t maxmem;
	bool sig, dot, ann;
};

enum state { ST_IDLE, ST_STARTING, ST_RUNNING, ST_STOPPING, ST_STUCK };

static JavaVM *g_vm;
static jvmtiEnv *g_jvmti;
static jrawMonitorID g_lock;
static bool g_inited, g_pinned, g_have_codemap;

/* The session, under g_lock. */
static enum state g_state;
static struct opts g_opts;
static bool g_stop_req, g_write_req;
static char g_stop_file[PATH_LEN];
static int g_start_rc, g_stop_rc;
static char g_reason[REASON_LEN];

/* Owned by the session thread. */
static JNIEnv *g_jni;
static struct stacks *g_st;
static uint64_t g_overflow, g_name_errors;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void lock(void)
{
	(*g_jvmti)->RawMonitorEnter(g_jvmti, g_lock);
}

static void unlock(void)
{
	(*g_jvmti)->RawMonitorExit(g_jvmti, g_lock);
}

static void notify(void)
{
	(*g_jvmti)->RawMonitorNotifyAll(g_jvmti, g_lock);
}

/* With g_lock held: waits at most ms until g_state is idle (or, with
 * starting set, is no longer ST_STARTING). */
static bool wait_state(bool starting, uint64_t ms)
{
	uint64_t deadline = now_ns() + ms * 1000000ull;

	while (starting ? g_state == ST_STARTING : g_state != ST_IDLE) {
		uint64_t now = now_ns();

		if (now >= deadline)
			return false;
		(*g_jvmti)->RawMonitorWait(g_jvmti, g_lock, (deadline - now) / 1000000ull + 1);
	}
	return true;
}

static void set_reason(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, REASON_LEN, fmt, ap);
	va_end(ap);
}

/* ---- output file ---- */

static int open_output(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
}

static void write_status(const char *path, const char *status, const char *reason)
{
	char line[PATH_LEN];
	int fd, n;

	if (!path || !path[0])
		return;
	n = snprintf(line, sizeof(line), GPJA_STATUS_PREFIX "status=%s%s%s\n", status,
		     reason ? " reason=" : "", reason ? reason : "");
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	fd = open_output(path);
	if (fd < 0)
		return;
	if (write(fd, line, n) < 0) {
		/* the daemon reports a missing status line */
	}
	close(fd);
}

/* ---- options ---- */

static bool parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

static int parse_opts(const char *options, struct opts *o, char *why)
{
	char buf[8192], *save = NULL, *tok;

	memset(o, 0, sizeof(*o));
	o->timeout_s = DEFAULT_TIMEOUT_S;
	o->maxmem = DEFAULT_MAXMEM;
	if (!options || strlen(options) >= sizeof(buf)) {
		set_reason(why, "missing or oversized options");
		return -EINVAL;
	}
	strcpy(buf, options);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "start")) {
			o->cmd = CMD_START;
		} else if (!strcmp(tok, "stop")) {
			o->cmd = CMD_STOP;
		} else if (!strncmp(tok, "file=", 5)) {
			if (tok[5] != '/' || strlen(tok + 5) >= sizeof(o->file)) {
				set_reason(why, "file must be an absolute path");
				return -EINVAL;
			}
			strcpy(o->file, tok + 5);
		} else if (!strncmp(tok, "interval=", 9)) {
			if (!parse_u64(tok + 9, &o->interval_ns) || o->interval_ns < 100000) {
				set_reason(why, "bad interval (ns, >= 100000): %s", tok + 9);
				return -EINVAL;
			}
		} else if (!strncmp(tok, "timeout=", 8)) {
			if (!parse_u64(tok + 8, &o->timeout_s) || !o->timeout_s) {
				set_reason(why, "bad timeout (s): %s", tok + 8);
				return -EINVAL;
			}
		} else if (!strncmp(tok, "maxmem=", 7)) {
			if (!parse_u64(tok + 7, &o->maxmem) || o->maxmem < (1u << 20)) {
				set_reason(why, "bad maxmem (bytes, >= 1 MiB): %s", tok + 7);
				return -EINVAL;
			}
		} else if (!strcmp(tok, "sig")) {
			o->sig = true;
		} else if (!strcmp(tok, "dot")) {
			o->dot = true;
		} else if (!strcmp(tok, "ann")) {
			o->ann = true;
		} else if (!strcmp(tok, "collapsed")) {
			/* the only output format */
		} else {
			set_reason(why, "unknown option: %.100s", tok);
			return -EINVAL;
		}
	}
	if (o->cmd == CMD_NONE || !o->file[0]) {
		set_reason(why, "need start or stop, and file=");
		return -EINVAL;
	}
	if (o->cmd == CMD_START && !o->interval_ns) {
		set_reason(why, "start needs interval=");
		return -EINVAL;
	}
	return 0;
}

/* ---- frames ---- */

static const char *ticks_name(int code)
{
	static const char *const names[] = {
		"no_Java_frame", "no_class_load", "GC_active", "unknown_not_Java",
		"not_walkable_not_Java", "unknown_Java", "not_walkable_Java",
		"unknown_state", "thread_exit", "deopt", "safepoint",
	};

	if (code <= 0 && -code < (int)(sizeof(names) / sizeof(names[0])))
		return names[-code];
	return "unknown";
}

/* Appends "pkg/Class.method[desc]" to buf; hidden classes lose their
 * address suffix ("Foo$$Lambda$14.0x0000000800c03000" -> "Foo$$Lambda$14")
 * so that frames aggregate across JVM runs. */
static size_t format_method(char *buf, size_t cap, const char *csig, const char *name,
			    const char *msig, const struct opts *o)
{
	size_t len = 0, clen;
	const char *cls = csig, *hex;

	if (*cls == 'L')
		cls++;
	clen = strlen(cls);
	if (clen && cls[clen - 1] == ';')
		clen--;
	for (hex = cls; (hex = strstr(hex, "0x")); hex += 2) {
		if (hex > cls && (hex[-1] == '.' || hex[-1] == '/' || hex[-1] == '+') &&
		    (size_t)(hex - cls) < clen) {
			clen = hex - 1 - cls;
			break;
		}
	}
	for (size_t i = 0; i < clen && len + 1 < cap; i++)
		buf[len++] = (o->dot && cls[i] == '/') ? '.' : cls[i];
	if (len + 1 < cap)
		buf[len++] = '.';
	for (const char *p = name; *p && len + 1 < cap; p++)
		buf[len++] = *p;
	if (o->sig && msig)
		for (const char *p = msig; *p && len + 1 < cap; p++)
			buf[len++] = *p == ';' ? '|' : *p;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == ';' || buf[i] == '\n' || buf[i] == '\r')
			buf[i] = '|';
	buf[len] = '\0';
	return len;
}

static size_t append_mark(char *buf, size_t len, size_t cap, char type)
{
	if (len + 5 < cap) {
		buf[len++] = '_';
		buf[len++] = '[';
		buf[len++] = type;
		buf[len++] = ']';
		buf[len] = '\0';
	}
	return len;
}

static uint32_t method_frame(jmethodID m, char type)
{
	uint64_t key = ((uint64_t)(uintptr_t)m << 8) | (uint8_t)type;
	char *csig = NULL, *name = NULL, *msig = NULL, buf[2048];
	jclass cls = NULL;
	uint32_t id;
	size_t len;

	id = stacks__cached(g_st, key);
	if (id != UINT32_MAX)
		return id;
	if (!m ||
	    (*g_jvmti)->GetMethodDeclaringClass(g_jvmti, m, &cls) != JVMTI_ERROR_NONE ||
	    (*g_jvmti)->GetClassSignature(g_jvmti, cls, &csig, NULL) != JVMTI_ERROR_NONE ||
	    (*g_jvmti)->GetMethodName(g_jvmti, m, &name, &msig, NULL) != JVMTI_ERROR_NONE) {
		g_name_errors++;
		len = snprintf(buf, sizeof(buf), "[unknown]");
	} else {
		len = format_method(buf, sizeof(buf), csig, name, msig, &g_opts);
		if (g_opts.ann)
			len = append_mark(buf, len, sizeof(buf), type);
	}
	if (cls)
		(*g_jni)->DeleteLocalRef(g_jni, cls);
	(*g_jvmti)->Deallocate(g_jvmti, (unsigned char *)csig);
	(*g_jvmti)->Deallocate(g_jvmti, (unsigned char *)name);
	(*g_jvmti)->Deallocate(g_jvmti, (unsigned char *)msig);
	id = stacks__frame(g_st, buf, len);
	if (m)
		stacks__cache(g_st, key, id);
	return id;
}

static void on_sample(const struct gpja_sample *s, void *arg)
{
	uint32_t ids[GPJA_MAX_DEPTH + 1], n = 0;
	char types[GPJA_MAX_DEPTH], buf[64];

	(void)arg;
	if (s->nframes > 0) {
		int nf = s->nframes > GPJA_MAX_DEPTH ? GPJA_MAX_DEPTH : s->nframes;

		codemap__classify(s->frames, nf, s->pc, types);
		for (int i = nf - 1; i >= 0; i--) {
			ids[n] = method_frame(s->frames[i].method_id, types[i]);
			if (ids[n++] == UINT32_MAX)
				goto overflow;
		}
	} else {
		/* No Java frames: JVM threads (GC, compiler) or a failed walk. */
		int len;

		if (s->nframes == 0 && s->tname[0])
			len = snprintf(buf, sizeof(buf), "[%s]", s->tname);
		else
			len = snprintf(buf, sizeof(buf), "[%s]", ticks_name(s->nframes));
		for (int i = 0; i < len; i++)
			if (buf[i] == ';')
				buf[i] = '|';
		ids[n] = stacks__frame(g_st, buf, len);
		if (ids[n++] == UINT32_MAX)
			goto overflow;
	}
	if (stacks__add(g_st, ids, n, 1) == 0)
		return;
overflow:
	g_overflow++;
}

static void drain(void)
{
	if ((*g_jni)->PushLocalFrame(g_jni, 64) != JNI_OK)
		return;
	sampler__drain(on_sample, NULL);
	(*g_jni)->PopLocalFrame(g_jni, NULL);
}

/* ---- events ---- */

static void JNICALL on_class_load(jvmtiEnv *jvmti, JNIEnv *jni, jthread t, jclass k)
{
	/* Enabled only because AsyncGetCallTrace refuses to walk without it. */
	(void)jvmti, (void)jni, (void)t, (void)k;
}

static void JNICALL on_class_prepare(jvmtiEnv *jvmti, JNIEnv *jni, jthread t, jclass k)
{
	jmethodID *methods;
	jint n;

	(void)jni, (void)t;
	/* Creates the class's jmethodIDs, which AsyncGetCallTrace reports. */
	if ((*jvmti)->GetClassMethods(jvmti, k, &n, &methods) == JVMTI_ERROR_NONE)
		(*jvmti)->Deallocate(jvmti, (unsigned char *)methods);
}

static void JNICALL on_compiled_load(jvmtiEnv *jvmti, jmethodID m, jint size, const void *addr,
				     jint map_len, const jvmtiAddrLocationMap *map,
				     const void *compile_info)
{
	(void)jvmti, (void)map_len, (void)map;
	codemap__on_load(m, addr, size, compile_info);
}

static void JNICALL on_compiled_unload(jvmtiEnv *jvmti, jmethodID m, const void *addr)
{
	(void)jvmti;
	codemap__on_unload(m, addr);
}

static void JNICALL on_dynamic_code(jvmtiEnv *jvmti, const char *name, const void *addr,
				    jint len)
{
	(void)jvmti;
	codemap__on_dynamic_code(name, addr, len);
}

static void JNICALL on_vm_death(jvmtiEnv *jvmti, JNIEnv *jni)
{
	bool idle;

	(void)jvmti, (void)jni;
	lock();
	if (g_state == ST_RUNNING || g_state == ST_STARTING) {
		/* Write what we have: the daemon reads it after the JVM exits. */
		g_stop_req = true;
		g_write_req = true;
		strcpy(g_stop_file, g_opts.file);
		if (g_state == ST_RUNNING)
			g_state = ST_STOPPING;
		notify();
	}
	idle = wait_state(false, DEATH_WAIT_MS);
	unlock();
	if (!idle) {
		static const struct itimerval zero;

		setitimer(ITIMER_PROF, &zero, NULL);
	}
}

static const jvmtiEvent session_events[] = {
	JVMTI_EVENT_CLASS_LOAD,
	JVMTI_EVENT_CLASS_PREPARE,
	JVMTI_EVENT_VM_DEATH,
	JVMTI_EVENT_COMPILED_METHOD_LOAD,
	JVMTI_EVENT_COMPILED_METHOD_UNLOAD,
	JVMTI_EVENT_DYNAMIC_CODE_GENERATED,
};

static int set_events(jvmtiEventMode mode)
{
	size_t n = sizeof(session_events) / sizeof(session_events[0]);
	int err = 0;

	if (!g_have_codemap)
		n = 3;
	for (size_t i = 0; i < n; i++)
		if ((*g_jvmti)->SetEventNotificationMode(g_jvmti, mode, session_events[i], NULL) !=
		    JVMTI_ERROR_NONE)
			err = -EINVAL;
	return err;
}

/* ---- session ---- */

/* jmethodIDs for every prepared class; later ones come from ClassPrepare. */
static void preload_methods(void)
{
	jclass *classes;
	jint n;

	if ((*g_jvmti)->GetLoadedClasses(g_jvmti, &n, &classes) != JVMTI_ERROR_NONE)
		return;
	for (jint i = 0; i < n; i++) {
		jmethodID *methods;
		jint status = 0, nm;

		if ((*g_jvmti)->GetClassStatus(g_jvmti, classes[i], &status) == JVMTI_ERROR_NONE &&
		    (status & JVMTI_CLASS_STATUS_PREPARED) &&
		    (*g_jvmti)->GetClassMethods(g_jvmti, classes[i], &nm, &methods) ==
			    JVMTI_ERROR_NONE)
			(*g_jvmti)->Deallocate(g_jvmti, (unsigned char *)methods);
		(*g_jni)->DeleteLocalRef(g_jni, classes[i]);
	}
	(*g_jvmti)->Deallocate(g_jvmti, (unsigned char *)classes);
}

/* Enough slots for four drain periods at this rate on every CPU. */
static uint32_t ring_slots(uint64_t interval_ns)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double need = 1e9 / (double)interval_ns * (ncpu > 0 ? ncpu : 1) * DRAIN_MS / 1000.0 * 4;
	uint32_t slots = 64;

	while (slots < need && slots < MAX_RING_SLOTS)
		slots <<= 1;
	return slots;
}

static int session_prepare(char *why)
{
	int err;

	/* cheap, before any work: is the timer ours to take? */
	if (sampler__check() == -GPJA_ESIGBUSY) {
		set_reason(why, "SIGPROF or ITIMER_PROF is in use (another profiler?)");
		return GPJA_RC_BUSY;
	}
	codemap__enable(g_have_codemap);
	if (set_events(JVMTI_ENABLE)) {
		set_reason(why, "cannot enable JVMTI events");
		err = GPJA_RC_JVMTI;
		goto fail;
	}
	preload_methods();
	if (g_have_codemap) {
		(*g_jvmti)->GenerateEvents(g_jvmti, JVMTI_EVENT_DYNAMIC_CODE_GENERATED);
		(*g_jvmti)->GenerateEvents(g_jvmti, JVMTI_EVENT_COMPILED_METHOD_LOAD);
	}
	g_st = stacks__new(g_opts.maxmem);
	if (!g_st) {
		set_reason(why, "out of memory");
		err = GPJA_RC_JVMTI;
		goto fail;
	}
	g_overflow = g_name_errors = 0;
	err = sampler__start(g_opts.interval_ns, ring_slots(g_opts.interval_ns));
	if (err == -GPJA_ESIGBUSY) {
		set_reason(why, "SIGPROF or ITIMER_PROF is in use (another profiler?)");
		err = GPJA_RC_BUSY;
		goto fail;
	}
	if (err) {
		set_reason(why, "cannot start the timer: %s", strerror(-err));
		err = GPJA_RC_JVMTI;
		goto fail;
	}
	return 0;
fail:
	set_events(JVMTI_DISABLE);
	codemap__enable(false);
	stacks__free(g_st);
	g_st = NULL;
	return err;
}

static int write_output(const char *path, char *why)
{
	struct sampler_stats ss;
	char line[512];
	int fd, n, err;

	sampler__stats(&ss);
	fd = open_output(path);
	if (fd < 0) {
		set_reason(why, "cannot open %s: %s", path, strerror(errno));
		return GPJA_RC_OUTPUT;
	}
	n = snprintf(line, sizeof(line),
		     GPJA_STATUS_PREFIX "status=ok samples=%" PRIu64 " lost=%" PRIu64
		     " overflow=%" PRIu64 " name_errors=%" PRIu64 " stacks_bytes=%zu"
		     " codemap_bytes=%zu\n",
		     ss.samples, ss.lost, g_overflow, g_name_errors, stacks__bytes(g_st),
		     codemap__bytes());
	err = write(fd, line, n) == n ? stacks__write(g_st, fd) : -EIO;
	if (close(fd) && !err)
		err = -errno;
	if (err) {
		set_reason(why, "cannot write %s: %s", path, strerror(-err));
		return GPJA_RC_OUTPUT;
	}
	return GPJA_RC_OK;
}

static int session_teardown(bool write, const char *path, char *why)
{
	int rc = GPJA_RC_OK;

	if (sampler__stop() == -EBUSY)
		g_overflow++;	/* a handler never returned; its ring is leaked */
	set_events(JVMTI_DISABLE);
	drain();
	if (write)
		rc = write_output(path, why);
	codemap__enable(false);
	stacks__free(g_st);
	g_st = NULL;
	return rc;
}

static void JNICALL session_main(jvmtiEnv *jvmti, JNIEnv *jni, void *arg)
{
	char why[REASON_LEN] = "", path[PATH_LEN];
	uint64_t deadline;
	bool write;
	int rc;

	(void)jvmti, (void)arg;
	g_jni = jni;
	rc = session_prepare(why);
	lock();
	g_start_rc = rc;
	memcpy(g_reason, why, sizeof(g_reason));
	if (rc) {
		g_state = ST_IDLE;
		notify();
		unlock();
		return;
	}
	g_state = ST_RUNNING;
	notify();
	deadline = now_ns() + g_opts.timeout_s * 1000000000ull;
	while (!g_stop_req) {
		(*g_jvmti)->RawMonitorWait(g_jvmti, g_lock, DRAIN_MS);
		if (g_stop_req)
			break;
		unlock();
		drain();
		lock();
		if (now_ns() >= deadline && !g_stop_req) {
			/* Nobody stopped us in time: the daemon is gone. */
			g_stop_req = true;
			g_write_req = false;
		}
	}
	write = g_write_req;
	memcpy(path, g_stop_file, sizeof(path));
	unlock();

	why[0] = '\0';
	rc = session_teardown(write, path, why);

	lock();
	g_stop_rc = rc;
	memcpy(g_reason, why, sizeof(g_reason));
	g_state = ST_IDLE;
	notify();
	unlock();
}

static jthread new_thread(JNIEnv *jni, const char *name)
{
	jclass cls = (*jni)->FindClass(jni, "java/lang/Thread");
	jmethodID init = NULL;
	jstring jname = NULL;
	jthread t = NULL;

	if (cls)
		init = (*jni)->GetMethodID(jni, cls, "<init>", "(Ljava/lang/String;)V");
	if (init)
		jname = (*jni)->NewStringUTF(jni, name);
	if (jname)
		t = (*jni)->NewObject(jni, cls, init, jname);
	if ((*jni)->ExceptionCheck(jni)) {
		(*jni)->ExceptionClear(jni);
		t = NULL;
	}
	if (jname)
		(*jni)->DeleteLocalRef(jni, jname);
	if (cls)
		(*jni)->DeleteLocalRef(jni, cls);
	return t;
}

/* With g_lock held: asks a running session to stop without output. */
static bool discard_session(void)
{
	if (g_state == ST_RUNNING) {
		g_stop_req = true;
		g_write_req = false;
		g_state = ST_STOPPING;
		notify();
	} else if (g_state == ST_STARTING) {
		g_stop_req = true;	/* the thread stops right after it starts */
	}
	if (wait_state(false, STOP_WAIT_MS))
		return true;
	g_state = ST_STUCK;
	return false;
}

static int cmd_start(const struct opts *o, char *why)
{
	JNIEnv *jni = NULL;
	jthread t;
	int rc;

	lock();
	if (g_state == ST_STUCK || (g_state != ST_IDLE && !discard_session())) {
		unlock();
		set_reason(why, "the previous session did not stop");
		return GPJA_RC_STUCK;
	}
	g_opts = *o;
	g_stop_req = g_write_req = false;
	g_stop_file[0] = '\0';
	g_start_rc = GPJA_RC_JVMTI;
	g_reason[0] = '\0';
	g_state = ST_STARTING;
	unlock();

	if ((*g_vm)->GetEnv(g_vm, (void **)&jni, JNI_VERSION_1_6) != JNI_OK ||
	    !(t = new_thread(jni, "gprofiler-java-agent"))) {
		rc = GPJA_RC_JVMTI;
		set_reason(why, "cannot create the agent thread");
		goto fail;
	}
	if ((*g_jvmti)->RunAgentThread(g_jvmti, t, session_main, NULL,
				       JVMTI_THREAD_NORM_PRIORITY) != JVMTI_ERROR_NONE) {
		(*jni)->DeleteLocalRef(jni, t);
		rc = GPJA_RC_JVMTI;
		set_reason(why, "cannot start the agent thread");
		goto fail;
	}
	(*jni)->DeleteLocalRef(jni, t);

	lock();
	if (!wait_state(true, START_WAIT_MS)) {
		g_stop_req = true;	/* it will stop as soon as it is up */
		unlock();
		set_reason(why, "the agent did not start in time");
		return GPJA_RC_JVMTI;
	}
	rc = g_state == ST_RUNNING ? GPJA_RC_OK : g_start_rc;
	if (rc)
		memcpy(why, g_reason, REASON_LEN);
	unlock();
	return rc ? rc : GPJA_RC_OK;
fail:
	lock();
	g_state = ST_IDLE;
	unlock();
	return rc;
}

static int cmd_stop(const struct opts *o, char *why)
{
	int rc;

	lock();
	if (g_state != ST_RUNNING) {
		unlock();
		set_reason(why, "no session is running (it timed out or never started)");
		return GPJA_RC_NOTRUNNING;
	}
	g_stop_req = true;
	g_write_req = true;
	strcpy(g_stop_file, o->file);
	g_state = ST_STOPPING;
	notify();
	if (!wait_state(false, STOP_WAIT_MS)) {
		g_state = ST_STUCK;
		unlock();
		set_reason(why, "the session did not stop in time");
		return GPJA_RC_STUCK;
	}
	rc = g_stop_rc;
	if (rc)
		memcpy(why, g_reason, REASON_LEN);
	unlock();
	return rc;
}

static int agent_init(JavaVM *vm, char *why)
{
	jvmtiCapabilities caps;
	jvmtiEventCallbacks cb;
	int err;

	if (g_inited)
		return 0;
	g_vm = vm;
	if ((*vm)->GetEnv(vm, (void **)&g_jvmti, JVMTI_VERSION_1_2) != JNI_OK) {
		set_reason(why, "JVMTI is not available (yet: is the JVM still starting?)");
		return GPJA_RC_JVMTI;
	}
	err = sampler__init(vm);
	if (err) {
		set_reason(why, "AsyncGetCallTrace is not available (not a HotSpot JVM?)");
		return GPJA_RC_JVMTI;
	}
	if ((*g_jvmti)->CreateRawMonitor(g_jvmti, "gprofiler session", &g_lock) !=
	    JVMTI_ERROR_NONE) {
		set_reason(why, "cannot create a raw monitor");
		return GPJA_RC_JVMTI;
	}
	memset(&caps, 0, sizeof(caps));
	caps.can_generate_compiled_method_load_events = 1;
	g_have_codemap = (*g_jvmti)->AddCapabilities(g_jvmti, &caps) == JVMTI_ERROR_NONE &&
			 codemap__init(g_jvmti) == 0;

	memset(&cb, 0, sizeof(cb));
	cb.ClassLoad = on_class_load;
	cb.ClassPrepare = on_class_prepare;
	cb.VMDeath = on_vm_death;
	cb.CompiledMethodLoad = on_compiled_load;
	cb.CompiledMethodUnload = on_compiled_unload;
	cb.DynamicCodeGenerated = on_dynamic_code;
	if ((*g_jvmti)->SetEventCallbacks(g_jvmti, &cb, sizeof(cb)) != JVMTI_ERROR_NONE) {
		set_reason(why, "cannot set JVMTI callbacks");
		return GPJA_RC_JVMTI;
	}
	g_inited = true;
	return 0;
}

JNIEXPORT jint JNICALL Agent_OnAttach(JavaVM *vm, char *options, void *reserved)
{
	char why[REASON_LEN] = "";
	struct opts o;
	int rc;

	(void)reserved;
	rc = parse_opts(options, &o, why);
	if (rc) {
		write_status(o.file, "error", why);
		return GPJA_RC_BADARGS;
	}
	rc = agent_init(vm, why);
	if (!rc)
		rc = o.cmd == CMD_START ? cmd_start(&o, why) : cmd_stop(&o, why);
	if (rc) {
		write_status(o.file, "error", why);
		return rc;
	}
	if (o.cmd == CMD_START)
		write_status(o.file, "started", NULL);
	if (!g_pinned) {
		g_pinned = true;
		return GPJA_RC_OK;
	}
	return GPJA_RC_OK_AGAIN;
}
