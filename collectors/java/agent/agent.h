/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interfaces of libgpjavaagent.so, the JVMTI agent the daemon loads
 * into HotSpot JVMs through the attach protocol (see agent.c for the design).
 * Four parts: the sampler (SIGPROF handler + lock-free ring), the code map
 * (which methods are compiled or inlined, for the _[j]/_[i]/_[0] marks), the
 * stack table (interned frames and stacks with counts, under a memory cap)
 * and the session (agent.c: options, lifecycle, output). Nothing here may
 * call exit(), print to the JVM's stdout/stderr or allocate in the handler.
 */
#ifndef GPJA_AGENT_H
#define GPJA_AGENT_H

#include <jvmti.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* AsyncGetCallTrace's ABI, as HotSpot defines it in prims/forte.cpp. */
typedef struct {
	jint lineno;		/* bci; -3 for a native method */
	jmethodID method_id;
} asgct_frame;

typedef struct {
	JNIEnv *env_id;
	jint num_frames;	/* > 0 frames; <= 0 one of the ticks_* codes */
	asgct_frame *frames;
} asgct_trace;

typedef void (*asgct_fn)(asgct_trace *trace, jint depth, void *ucontext);

#define GPJA_MAX_DEPTH 256
#define GPJA_NAME_LEN 16	/* kernel thread name, with its NUL */
#define GPJA_LINENO_NATIVE (-3)

/* Frame marks, as async-profiler's "ann" writes them. */
enum gpja_frame_type {
	GPJA_FT_INTERPRETED = '0',
	GPJA_FT_COMPILED = 'j',
	GPJA_FT_INLINED = 'i',
};

/* One sample as the signal handler leaves it in the ring. */
struct gpja_sample {
	uint64_t seq;		/* ring sequence (atomic) */
	int32_t nframes;	/* AsyncGetCallTrace's num_frames */
	int32_t pad;
	uintptr_t pc;		/* interrupted pc, for the top frame's type */
	char tname[GPJA_NAME_LEN];	/* for samples without Java frames */
	asgct_frame frames[GPJA_MAX_DEPTH];	/* leaf first */
};

/* ---- sampler.c ---- */
struct sampler_stats {
	uint64_t samples;	/* handler runs that recorded a sample */
	uint64_t lost;		/* ring full */
};

/* Reasons sampler__start() fails (beyond -errno). */
#define GPJA_ESIGBUSY 1001	/* SIGPROF handler or ITIMER_PROF owned by someone else */
#define GPJA_ENOASGCT 1002	/* AsyncGetCallTrace not exported by this JVM */

/* Finds AsyncGetCallTrace; 0 or -GPJA_ENOASGCT. */
int sampler__init(JavaVM *vm);
/* 0 when SIGPROF and ITIMER_PROF are free for us, else -GPJA_ESIGBUSY. */
int sampler__check(void);
/* Allocates a ring for `slots` samples (a power of two), installs the
 * SIGPROF handler and arms ITIMER_PROF every interval_ns of process CPU
 * time. 0 or a negative code. */
int sampler__start(uint64_t interval_ns, uint32_t slots);
/* Disarms the timer, ignores SIGPROF (discarding pending ones) and waits
 * (bounded) for handlers in flight. Safe to call twice.
 * Returns 0, or -EBUSY when a handler did not finish in time (then the ring
 * is deliberately leaked rather than freed under it). */
int sampler__stop(void);
/* Calls fn for each completed sample, oldest first; returns the count. */
size_t sampler__drain(void (*fn)(const struct gpja_sample *s, void *arg), void *arg);
void sampler__stats(struct sampler_stats *ret);

/* ---- codemap.c ---- */
/* Process-lifetime object; callbacks from compiler threads use it while a
 * session is on, and it is emptied when the session ends. */
int codemap__init(jvmtiEnv *jvmti);
void codemap__enable(bool on);	/* off: callbacks ignore events, memory freed */
void codemap__on_load(jmethodID m, const void *addr, jint size, const void *compile_info);
void codemap__on_unload(jmethodID m, const void *addr);
void codemap__on_dynamic_code(const char *name, const void *addr, jint size);
/* Writes one enum gpja_frame_type per frame (leaf first) into types. */
void codemap__classify(const asgct_frame *frames, int n, uintptr_t pc, char *types);
size_t codemap__bytes(void);

/* ---- stacks.c ---- */
struct stacks;

/* max_bytes caps the memory of interned frames and stacks. */
struct stacks *stacks__new(size_t max_bytes);
void stacks__free(struct stacks *st);
/* Interns a frame string; UINT32_MAX when over the cap. */
uint32_t stacks__frame(struct stacks *st, const char *s, size_t len);
/* Finds the frame id cached for key (method and type), or UINT32_MAX. */
uint32_t stacks__cached(struct stacks *st, uint64_t key);
void stacks__cache(struct stacks *st, uint64_t key, uint32_t frame);
/* Counts one sample of ids[0..n) (root first). -ENOMEM over the cap. */
int stacks__add(struct stacks *st, const uint32_t *ids, uint32_t n, uint64_t count);
/* Writes "f1;f2;...;fn count\n" lines to fd. 0 or -errno. */
int stacks__write(const struct stacks *st, int fd);
size_t stacks__bytes(const struct stacks *st);
uint64_t stacks__count(const struct stacks *st);

#endif
