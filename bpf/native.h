/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by bpf/native.bpf.c and collectors/native.c.
 * Only fixed-width types, prefixed constants and explicit padding, so the
 * layout is identical in the BPF object and in user space.
 */
#ifndef GP_NATIVE_H
#define GP_NATIVE_H

#define GP_COMM_LEN 16
#define GP_MAX_STACK_DEPTH 127

/* Key of the in-kernel sample counts: one entry per distinct
 * {process, comm, user stack, kernel stack}. A stack is named by a 64-bit
 * hash of its addresses (the kernel's stack-trace map hashes into a few
 * thousand buckets and drops a stack whose bucket is taken: ~1% of stacks
 * at 99 Hz). 0 means no stack; GP_STACK_ERROR marks a stack that could not
 * be read, so the sample is still counted. */
struct gp_sample_key {
	__u32 tgid;
	__u32 pad;
	__u64 ustack;
	__u64 kstack;
	char comm[GP_COMM_LEN];
};

#define GP_STACK_ERROR 1ULL

/* Value of the stacks map: the addresses, leaf first. */
struct gp_stack {
	__u32 len;
	__u32 pad;
	__u64 ips[GP_MAX_STACK_DEPTH];
};

/* Self-metrics, one per-CPU array slot each. */
enum gp_stat {
	GP_STAT_SAMPLES = 0,
	GP_STAT_USTACK_ERROR,		/* the user stack could not be read */
	GP_STAT_KSTACK_ERROR,
	GP_STAT_STACKS_FULL,		/* the stacks map had no room */
	GP_STAT_COUNTS_FULL,		/* the counts map had no room */
	GP_STAT_NEW_PROC_LOST,		/* ring buffer full */
	GP_STAT__MAX,
};

/* Ring buffer record: the first sample of a process not seen before, so
 * user space can read its memory map while it is still alive. */
struct gp_new_proc {
	__u32 tgid;
	__u32 pad;
};

#endif
