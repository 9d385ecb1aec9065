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

/* --perf-mode, set in rodata before load. */
#define GP_MODE_FP 0		/* frame-pointer stacks counted in the kernel */
#define GP_MODE_DWARF 1		/* every sample to user space with a stack copy */
#define GP_MODE_SMART 2		/* per process: GP_PROC_* in proc_mode */

/* proc_mode values in smart mode; a process not in the map is probed. */
#define GP_PROC_PROBE 0		/* DWARF sample plus the frame-pointer walk */
#define GP_PROC_FP 1		/* frame pointers suffice: count in the kernel */
#define GP_PROC_DWARF 2		/* DWARF samples only */

/* User registers of a DWARF sample, in DWARF register order (as libunwind
 * numbers them). */
#define GP_REG_AX 0
#define GP_REG_DX 1
#define GP_REG_CX 2
#define GP_REG_BX 3
#define GP_REG_SI 4
#define GP_REG_DI 5
#define GP_REG_BP 6
#define GP_REG_SP 7
#define GP_REG_R8 8
#define GP_REG_R15 15
#define GP_REG_IP 16
#define GP_NREGS 17

/* Largest user stack copy (--perf-dwarf-stack-size, as perf: 65528). */
#define GP_DWARF_STACK_MAX 65528

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
	GP_STAT_DWARF_SAMPLES,		/* sent to user space with a stack copy */
	GP_STAT_DWARF_LOST,		/* ring buffer full: counted with frame pointers */
	GP_STAT__MAX,
};

/* Ring buffer record: the first sample of a process not seen before, so
 * user space can read its memory map while it is still alive. */
struct gp_new_proc {
	__u32 tgid;
	__u32 pad;
};

/* Ring buffer record of a DWARF sample, reserved at a fixed size
 * (this header plus --perf-dwarf-stack-size bytes): the user registers,
 * the kernel stack, in smart mode's probe also the frame-pointer walk of
 * the user stack, then stack_len bytes of user stack from regs[GP_REG_SP]. */
struct gp_dwarf_sample {
	__u32 tgid;
	__u32 flags;		/* GP_SAMPLE_* */
	char comm[GP_COMM_LEN];
	__u64 regs[GP_NREGS];
	__u16 nkern;
	__u16 nfp;
	__u32 stack_len;
	__u64 kern[GP_MAX_STACK_DEPTH];
	__u64 fp[GP_MAX_STACK_DEPTH];
	__u8 stack[];
};

#define GP_SAMPLE_KERN_ERR 1	/* the kernel stack could not be read */
#define GP_SAMPLE_FP 2		/* fp holds the frame-pointer walk */
#define GP_SAMPLE_STACK_ERR 4	/* the user stack could not be copied */

#endif
