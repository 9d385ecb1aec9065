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
 * {process, comm, user stack, kernel stack}. Negative stack ids are the
 * bpf_get_stackid() error (-EFAULT, -EEXIST...) and are kept, so a sample
 * is never dropped because its stack could not be stored. */
struct gp_sample_key {
	__u32 tgid;
	__s32 ustack_id;
	__s32 kstack_id;
	__u32 pad;
	char comm[GP_COMM_LEN];
};

/* Self-metrics, one per-CPU array slot each. */
enum gp_stat {
	GP_STAT_SAMPLES = 0,
	GP_STAT_USTACK_COLLISION,	/* -EEXIST: stack map bucket taken */
	GP_STAT_USTACK_ERROR,		/* any other failure */
	GP_STAT_KSTACK_COLLISION,
	GP_STAT_KSTACK_ERROR,
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
