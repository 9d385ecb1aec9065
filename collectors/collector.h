/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interface every system-wide sampler implements. The daemon opens the
 * first collector of the registry that works, polls its fd, asks it to
 * drain into the session's profile on a timer and at the session's end,
 * and keeps it open across sessions in continuous mode.
 */
#ifndef GP_COLLECTOR_H
#define GP_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procinfo.h"
#include "profile.h"

struct collector;

/* Called when a collector adds a process to a profile, with the facts read
 * when that process was first sampled (NULL if it was never readable). The
 * daemon uses it to add container names and appids. */
typedef void (*collector_proc_hook)(void *arg, struct profile *prof, uint32_t proc,
				    const struct procinfo *pi);

/* --perf-mode, for the engines that sample native stacks. */
enum collector_mode {
	COLLECTOR_FP = 0,		/* frame-pointer walks */
	COLLECTOR_DWARF,		/* user regs + stack copy, DWARF-unwound */
	COLLECTOR_SMART,		/* per process, whichever is enough */
};

struct collector_config {
	unsigned int frequency;		/* Hz, per CPU */
	enum collector_mode mode;
	unsigned int dwarf_stack_size;	/* bytes of user stack per DWARF sample */
	const int *pids;		/* --pids filter, NULL for all */
	size_t npids;
	bool insert_dso_name;
	collector_proc_hook on_proc;
	void *on_proc_arg;
	/* Called (with on_proc_arg) when a process is sampled for the first
	 * time or after an exec; NULL for none. */
	void (*on_new_process)(void *arg, int pid);
};

/* Counters a collector reports for the log and the profile metadata. */
struct collector_stats {
	uint64_t samples;		/* taken by the kernel */
	uint64_t stack_errors;		/* stacks that could not be read */
	uint64_t stacks_dropped;	/* read but not stored (map full) */
	uint64_t lost;			/* samples that could not be counted */
	uint64_t drains;
	uint64_t unwound;		/* DWARF: samples unwound in user space */
	uint64_t unwind_truncated;	/* ... whose walk stopped short of the root */
	uint64_t dwarf_ring_full;	/* ... that found no room: frame pointers used */
	size_t smart_fp, smart_dwarf;	/* smart: processes judged each way */
	size_t procs, dsos, cache_bytes;
};

struct collector_ops {
	const char *name;
	/* Loads and attaches. Returns 0, or -errno (-EOPNOTSUPP: this engine
	 * cannot run here). *ret_reason gets a static explanation on error. */
	int (*open)(const struct collector_config *cfg, struct collector **ret,
		    const char **ret_reason);
	/* A descriptor to poll for readability, or -1. */
	int (*fd)(struct collector *c);
	/* Handles readiness of fd (e.g. new-process events). */
	int (*ready)(struct collector *c);
	/* Moves the samples gathered so far into prof. */
	int (*drain)(struct collector *c, struct profile *prof);
	/* Housekeeping between sessions (forget exited processes). */
	void (*end_session)(struct collector *c);
	void (*stats)(struct collector *c, struct collector_stats *ret);
	/* Detaches and frees; accepts NULL. */
	void (*destroy)(struct collector *c);
};

extern const struct collector_ops native_bpf_ops;
extern const struct collector_ops native_perf_ops;

#endif
