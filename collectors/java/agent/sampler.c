// SPDX-License-Identifier: Apache-2.0
/*
 * The sampler: ITIMER_PROF fires SIGPROF every interval of the process's
 * CPU time, and the kernel delivers it to the thread that was running, so
 * every sample is an on-CPU thread and the split between threads follows
 * their CPU use. The handler calls HotSpot's AsyncGetCallTrace on the
 * interrupted context (no safepoint, so no safepoint bias) and copies the
 * result into a bounded lock-free ring (Vyukov's sequence-numbered slots);
 * it never allocates, locks or blocks, and drops the sample when the ring
 * is full. Stopping disarms the timer, sets SIGPROF to SIG_IGN (which also
 * discards pending instances in every thread) and waits for handlers in
 * flight, so nothing of ours can run once stop returns. SIGPROF stays
 * ignored rather than going back to SIG_DFL: a late or foreign SIGPROF
 * then cannot kill the JVM, and a second agent copy (another daemon build)
 * that starts meanwhile can never have its handler overwritten by us.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>

#include "agent.h"

/* Bind the dl* calls to their oldest versions: glibc 2.34 moved them into
 * libc with a new version, and JVMs in containers often run an older glibc. */
#if defined(__x86_64__)
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlclose,dlclose@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver dlsym,dlsym@GLIBC_2.17");
__asm__(".symver dlopen,dlopen@GLIBC_2.17");
__asm__(".symver dlclose,dlclose@GLIBC_2.17");
#endif

static JavaVM *g_vm;
static asgct_fn g_asgct;

static struct gpja_sample *g_ring;
static size_t g_ring_bytes;
static uint64_t g_mask;
static uint64_t g_enq;		/* producers' position (atomic) */
static uint64_t g_deq;		/* consumer's position (drain thread only) */
static int g_active;		/* handlers may record (atomic) */
static int g_inflight;		/* handlers between their two checks (atomic) */
static uint64_t g_samples, g_lost;	/* atomic */
static bool g_installed;

static uintptr_t context_pc(void *ucontext)
{
	ucontext_t *uc = ucontext;

#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
	(void)uc;
	return 0;
#endif
}

static struct gpja_sample *ring_claim(uint64_t *ret_pos)
{
	uint64_t pos = __atomic_load_n(&g_enq, __ATOMIC_RELAXED);

	for (;;) {
		struct gpja_sample *s = &g_ring[pos & g_mask];
		uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		int64_t diff = (int64_t)(seq - pos);

		if (diff == 0) {
			if (__atomic_compare_exchange_n(&g_enq, &pos, pos + 1, true,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				*ret_pos = pos;
				return s;
			}
		} else if (diff < 0) {
			return NULL;	/* the consumer has not freed this slot yet */
		} else {
			pos = __atomic_load_n(&g_enq, __ATOMIC_RELAXED);
		}
	}
}

static void record(void *ucontext)
{
	struct gpja_sample *s;
	JNIEnv *env = NULL;
	uint64_t pos;

	s = ring_claim(&pos);
	if (!s) {
		__atomic_add_fetch(&g_lost, 1, __ATOMIC_RELAXED);
		return;
	}
	s->pc = context_pc(ucontext);
	s->nframes = 0;
	/* GetEnv only reads the VM's thread-local: JNI_OK on Java threads. */
	if ((*g_vm)->GetEnv(g_vm, (void **)&env, JNI_VERSION_1_6) == JNI_OK && env) {
		asgct_trace trace = { .env_id = env, .num_frames = 0, .frames = s->frames };

		g_asgct(&trace, GPJA_MAX_DEPTH, ucontext);
		s->nframes = trace.num_frames;
	}
	if (s->nframes <= 0) {
		s->tname[0] = '\0';
		prctl(PR_GET_NAME, (unsigned long)s->tname, 0, 0, 0);
		s->tname[GPJA_NAME_LEN - 1] = '\0';
	}
	__atomic_add_fetch(&g_samples, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, pos + 1, __ATOMIC_RELEASE);
}

static void on_sigprof(int sig, siginfo_t *info, void *ucontext)
{
	int saved_errno = errno;

	(void)sig;
	(void)info;
	if (!__atomic_load_n(&g_active, __ATOMIC_SEQ_CST))
		goto out;
	/* Announce ourselves, then check again: the stopper clears g_active
	 * before it waits for g_inflight to drain, so one of us sees the other. */
	__atomic_add_fetch(&g_inflight, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&g_active, __ATOMIC_SEQ_CST))
		record(ucontext);
	__atomic_sub_fetch(&g_inflight, 1, __ATOMIC_SEQ_CST);
out:
	errno = saved_errno;
}

int sampler__init(JavaVM *vm)
{
	void *sym;

	g_vm = vm;
	if (g_asgct)
		return 0;
	sym = dlsym(RTLD_DEFAULT, "AsyncGetCallTrace");
	if (!sym) {
		void *jvm = dlopen("libjvm.so", RTLD_LAZY | RTLD_NOLOAD);

		if (jvm) {
			sym = dlsym(jvm, "AsyncGetCallTrace");
			dlclose(jvm);
		}
	}
	if (!sym)
		return -GPJA_ENOASGCT;
	g_asgct = (asgct_fn)sym;
	return 0;
}

static bool action_is_ours(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_sigprof;
}

int sampler__check(void)
{
	struct sigaction cur;
	struct itimerval timer;

	if (sigaction(SIGPROF, NULL, &cur))
		return -errno;
	/* another profiler (or another copy of this agent) owns it */
	if (action_is_ours(&cur) || cur.sa_flags & SA_SIGINFO ||
	    (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN))
		return -GPJA_ESIGBUSY;
	if (getitimer(ITIMER_PROF, &timer))
		return -errno;
	if (timer.it_value.tv_sec || timer.it_value.tv_usec)
		return -GPJA_ESIGBUSY;
	return 0;
}

int sampler__start(uint64_t interval_ns, uint32_t slots)
{
	struct sigaction sa;
	struct itimerval timer;
	void *ring;
	int err;

	if (!g_asgct || g_installed || !slots || (slots & (slots - 1)))
		return -EINVAL;
	err = sampler__check();
	if (err)
		return err;

	g_ring_bytes = (size_t)slots * sizeof(struct gpja_sample);
	ring = mmap(NULL, g_ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED)
		return -ENOMEM;
	g_ring = ring;
	g_mask = slots - 1;
	for (uint64_t i = 0; i < slots; i++)
		g_ring[i].seq = i;
	g_enq = g_deq = 0;
	__atomic_store_n(&g_samples, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_lost, 0, __ATOMIC_RELAXED);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigprof;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPROF, &sa, NULL)) {
		int e = errno;

		munmap(g_ring, g_ring_bytes);
		g_ring = NULL;
		return -e;
	}
	g_installed = true;
	__atomic_store_n(&g_active, 1, __ATOMIC_SEQ_CST);

	memset(&timer, 0, sizeof(timer));
	timer.it_interval.tv_sec = interval_ns / 1000000000ull;
	timer.it_interval.tv_usec = (interval_ns % 1000000000ull) / 1000;
	if (!timer.it_interval.tv_sec && !timer.it_interval.tv_usec)
		timer.it_interval.tv_usec = 1;
	timer.it_value = timer.it_interval;
	if (setitimer(ITIMER_PROF, &timer, NULL)) {
		int e = errno;

		sampler__stop();
		return -e;
	}
	return 0;
}

int sampler__stop(void)
{
	static const struct itimerval zero;
	struct sigaction ignore;
	int waited_ms = 0;

	if (!g_installed)
		return 0;
	setitimer(ITIMER_PROF, &zero, NULL);
	__atomic_store_n(&g_active, 0, __ATOMIC_SEQ_CST);
	/* Ignoring a signal discards its pending instances in every thread. */
	memset(&ignore, 0, sizeof(ignore));
	ignore.sa_handler = SIG_IGN;
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGPROF, &ignore, NULL);
	while (__atomic_load_n(&g_inflight, __ATOMIC_SEQ_CST) && waited_ms < 2000) {
		struct timespec ms = { 0, 1000000 };

		nanosleep(&ms, NULL);
		waited_ms++;
	}
	g_installed = false;
	if (__atomic_load_n(&g_inflight, __ATOMIC_SEQ_CST)) {
		g_ring = NULL;	/* a handler may still write to it: leak it */
		return -EBUSY;
	}
	return 0;
}

/* Frees the ring once the session has drained it (stop must have run). */
static void ring_free(void)
{
	if (g_ring && !g_installed) {
		munmap(g_ring, g_ring_bytes);
		g_ring = NULL;
	}
}

size_t sampler__drain(void (*fn)(const struct gpja_sample *s, void *arg), void *arg)
{
	size_t n = 0;

	if (!g_ring)
		return 0;
	for (;;) {
		struct gpja_sample *s = &g_ring[g_deq & g_mask];
		uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

		if (seq != g_deq + 1)
			break;
		fn(s, arg);
		__atomic_store_n(&s->seq, g_deq + g_mask + 1, __ATOMIC_RELEASE);
		g_deq++;
		n++;
	}
	if (!g_installed)
		ring_free();
	return n;
}

void sampler__stats(struct sampler_stats *ret)
{
	ret->samples = __atomic_load_n(&g_samples, __ATOMIC_RELAXED);
	ret->lost = __atomic_load_n(&g_lost, __ATOMIC_RELAXED);
}
