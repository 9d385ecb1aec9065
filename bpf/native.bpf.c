// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The system-wide sampler: a perf_event program run by cpu-clock events on
 * every CPU. It counts samples in the kernel by {tgid, comm, user stack,
 * kernel stack}, so user space only reads aggregated counts. Stacks are
 * stored once each, named by a 64-bit hash of their addresses.
 *
 * Two banks of {counts, stacks} maps: the program writes the bank chosen by
 * `active_bank`; user space flips it and drains the other one, so no sample
 * taken during a drain is lost and a stack is never freed under a live
 * key. A small LRU of seen processes posts the first sample of each new
 * process to a ring buffer, so short-lived processes get symbolized.
 *
 * DWARF mode sends each user sample instead to a second ring buffer, with
 * the user registers and a copy of the top of the user stack, for user
 * space to unwind; kernel threads and idle CPUs are still counted here.
 * Smart mode does that only for processes user space has not found to
 * have usable frame pointers (proc_mode), and while it is deciding also
 * sends the frame-pointer walk to compare with.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "native.h"

#define PF_KTHREAD 0x00200000
#define EFAULT 14
#define E2BIG 7

/* Sizes are set by user space before load. */
struct counts_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct gp_sample_key);
	__type(value, __u64);
};
struct counts_map counts_0 SEC(".maps");
struct counts_map counts_1 SEC(".maps");

struct stacks_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* memory only for stacks seen */
	__type(key, __u64);
	__type(value, struct gp_stack);
};
struct stacks_map stacks_0 SEC(".maps");
struct stacks_map stacks_1 SEC(".maps");

/* Per-CPU scratch for the stack being read (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gp_stack);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GP_STAT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} seen_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} new_procs SEC(".maps");

/* --pids: only these tgids are sampled when filter_pids is set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

/* DWARF and smart modes: samples with a stack copy, unwound in user space. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);	/* set by user space */
} samples SEC(".maps");

/* Smart mode: GP_PROC_* per process, written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} proc_mode SEC(".maps");

const volatile __u8 filter_pids = 0;
const volatile __u8 perf_mode = GP_MODE_FP;
const volatile __u32 dwarf_stack_size = 8192;	/* multiple of 8 */
const volatile __u64 wakeup_bytes = 1 << 20;	/* wake user space past this */
__u32 active_bank = 0;

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1;
}

/* Reads the current user or kernel stack, stores it in stacks (once) and
 * returns its name: a nonzero hash, 0 for no stack, GP_STACK_ERROR. */
static __always_inline __u64 save_stack(struct bpf_perf_event_data *ctx, void *stacks,
					__u64 flags, __u32 err_stat)
{
	__u32 zero = 0;
	struct gp_stack *st = bpf_map_lookup_elem(&scratch, &zero);
	__u64 h = flags ? 0x9e3779b97f4a7c15ULL : 0xc2b2ae3d27d4eb4fULL;
	long n;

	if (!st)
		return GP_STACK_ERROR;
	n = bpf_get_stack(ctx, st->ips, sizeof(st->ips), flags);
	if (n <= 0) {
		/* -EFAULT: no stack of that kind here (user mode, kernel thread) */
		if (n < 0 && n != -EFAULT) {
			stat_inc(err_stat);
			return GP_STACK_ERROR;
		}
		return 0;
	}
	st->len = n / sizeof(__u64);
	for (__u32 i = 0; i < GP_MAX_STACK_DEPTH; i++) {
		if (i >= st->len)
			break;
		h ^= st->ips[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (h <= GP_STACK_ERROR)
		h += 2;
	if (!bpf_map_lookup_elem(stacks, &h) &&
	    bpf_map_update_elem(stacks, &h, st, BPF_NOEXIST) == -E2BIG)
		stat_inc(GP_STAT_STACKS_FULL);
	return h;
}

static __always_inline void count(void *counts, struct gp_sample_key *key)
{
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(counts, key);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return;
	}
	if (bpf_map_update_elem(counts, key, &one, BPF_NOEXIST)) {
		/* Another CPU may have inserted it meanwhile. */
		v = bpf_map_lookup_elem(counts, key);
		if (v)
			__sync_fetch_and_add(v, 1);
		else
			stat_inc(GP_STAT_COUNTS_FULL);
	}
}

static __always_inline void note_new_proc(__u32 tgid)
{
	__u8 one = 1;
	struct gp_new_proc *ev;

	if (bpf_map_lookup_elem(&seen_procs, &tgid))
		return;
	bpf_map_update_elem(&seen_procs, &tgid, &one, BPF_ANY);
	ev = bpf_ringbuf_reserve(&new_procs, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(GP_STAT_NEW_PROC_LOST);
		return;
	}
	ev->tgid = tgid;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
}

/* The user registers of the sampled task in DWARF order: those of the
 * sample when it hit user mode, else those saved at kernel entry. */
static __always_inline void user_regs(struct bpf_perf_event_data *ctx, struct task_struct *task,
				      __u64 *r)
{
#if defined(__TARGET_ARCH_x86)
	/* user addresses are the lower half (pt_regs.cs is a u16 union
	 * member the context may not be read by) */
	if ((long)ctx->regs.ip >= 0) {
		r[GP_REG_AX] = ctx->regs.ax;
		r[GP_REG_DX] = ctx->regs.dx;
		r[GP_REG_CX] = ctx->regs.cx;
		r[GP_REG_BX] = ctx->regs.bx;
		r[GP_REG_SI] = ctx->regs.si;
		r[GP_REG_DI] = ctx->regs.di;
		r[GP_REG_BP] = ctx->regs.bp;
		r[GP_REG_SP] = ctx->regs.sp;
		r[GP_REG_R8] = ctx->regs.r8;
		r[GP_REG_R8 + 1] = ctx->regs.r9;
		r[GP_REG_R8 + 2] = ctx->regs.r10;
		r[GP_REG_R8 + 3] = ctx->regs.r11;
		r[GP_REG_R8 + 4] = ctx->regs.r12;
		r[GP_REG_R8 + 5] = ctx->regs.r13;
		r[GP_REG_R8 + 6] = ctx->regs.r14;
		r[GP_REG_R15] = ctx->regs.r15;
		r[GP_REG_IP] = ctx->regs.ip;
	} else {
		struct pt_regs *u = (struct pt_regs *)bpf_task_pt_regs(task);

		r[GP_REG_AX] = BPF_CORE_READ(u, ax);
		r[GP_REG_DX] = BPF_CORE_READ(u, dx);
		r[GP_REG_CX] = BPF_CORE_READ(u, cx);
		r[GP_REG_BX] = BPF_CORE_READ(u, bx);
		r[GP_REG_SI] = BPF_CORE_READ(u, si);
		r[GP_REG_DI] = BPF_CORE_READ(u, di);
		r[GP_REG_BP] = BPF_CORE_READ(u, bp);
		r[GP_REG_SP] = BPF_CORE_READ(u, sp);
		r[GP_REG_R8] = BPF_CORE_READ(u, r8);
		r[GP_REG_R8 + 1] = BPF_CORE_READ(u, r9);
		r[GP_REG_R8 + 2] = BPF_CORE_READ(u, r10);
		r[GP_REG_R8 + 3] = BPF_CORE_READ(u, r11);
		r[GP_REG_R8 + 4] = BPF_CORE_READ(u, r12);
		r[GP_REG_R8 + 5] = BPF_CORE_READ(u, r13);
		r[GP_REG_R8 + 6] = BPF_CORE_READ(u, r14);
		r[GP_REG_R15] = BPF_CORE_READ(u, r15);
		r[GP_REG_IP] = BPF_CORE_READ(u, ip);
	}
#endif
}

/* Copies up to len bytes of user stack from sp into rec->stack in 4 KiB
 * chunks at fixed offsets (so the verifier can bound each read); a chunk
 * that faults is retried up to the page boundary inside it. Returns the
 * bytes copied before the first page that could not be read. */
static __always_inline __u32 copy_stack(struct gp_dwarf_sample *rec, __u64 sp, __u64 len)
{
	__u32 copied = 0;

#pragma unroll
	for (int i = 0; i < (GP_DWARF_STACK_MAX + 4095) / 4096; i++) {
		const __u32 off = i * 4096;
		__u64 size, head;

		if (off >= len)
			break;
		size = len - off;
		if (size > 4096)
			size = 4096;
		if (!bpf_probe_read_user(rec->stack + off, size, (void *)(sp + off))) {
			copied = off + size;
			continue;
		}
		head = 4096 - ((sp + off) & 4095);
		if (head < size && !bpf_probe_read_user(rec->stack + off, head, (void *)(sp + off)))
			copied = off + head;
		break;
	}
	return copied;
}

/* Sends one sample with its user registers and stack copy to user space.
 * Returns 0, or -1 when the ring buffer is full. */
static __always_inline int dwarf_sample(struct bpf_perf_event_data *ctx, struct task_struct *task,
					__u32 tgid, int probe)
{
	struct task_struct *btask = bpf_get_current_task_btf();
	struct gp_dwarf_sample *rec;
	__u64 sp, len = dwarf_stack_size, flags = 0;
	long n;

	rec = bpf_ringbuf_reserve(&samples, sizeof(*rec) + dwarf_stack_size, 0);
	if (!rec) {
		stat_inc(GP_STAT_DWARF_LOST);
		return -1;
	}
	rec->tgid = tgid;
	BPF_CORE_READ_STR_INTO(&rec->comm, task, group_leader, comm);
	user_regs(ctx, btask, rec->regs);

	n = bpf_get_stack(ctx, rec->kern, sizeof(rec->kern), 0);
	rec->nkern = n > 0 ? n / sizeof(__u64) : 0;
	if (n < 0 && n != -EFAULT)
		flags |= GP_SAMPLE_KERN_ERR;
	rec->nfp = 0;
	if (probe) {
		n = bpf_get_stack(ctx, rec->fp, sizeof(rec->fp), BPF_F_USER_STACK);
		rec->nfp = n > 0 ? n / sizeof(__u64) : 0;
		flags |= GP_SAMPLE_FP;
	}

	/* Copy page by page: a read fails whole, and the copy ends at the
	 * first page that cannot be read (past the top of the stack, or not
	 * present: faults cannot be taken here), as perf's does. */
	sp = rec->regs[GP_REG_SP];
	rec->stack_len = copy_stack(rec, sp, len);
	if (len && !rec->stack_len)
		flags |= GP_SAMPLE_STACK_ERR;
	rec->flags = flags;
	stat_inc(GP_STAT_DWARF_SAMPLES);
	/* smart mode's probes are read at once, so its judgement lands
	 * after a few samples; others wait for the drain or a full ring */
	bpf_ringbuf_submit(rec, probe || bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >=
					 wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 0;
}

/* Whether this sample goes to user space for DWARF unwinding; *probe: also
 * with the frame-pointer walk (smart mode is still comparing the two). */
static __always_inline int wants_dwarf(__u32 tgid, int *probe)
{
	__u8 *m;

	*probe = 0;
	if (perf_mode == GP_MODE_DWARF)
		return 1;
	if (perf_mode != GP_MODE_SMART)
		return 0;
	m = bpf_map_lookup_elem(&proc_mode, &tgid);
	if (m && *m == GP_PROC_FP)
		return 0;
	*probe = !m || *m == GP_PROC_PROBE;
	return 1;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct gp_sample_key key = {};
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	int user = tgid != 0 && !(BPF_CORE_READ(task, flags) & PF_KTHREAD);
	void *stacks = active_bank ? (void *)&stacks_1 : (void *)&stacks_0;
	int probe;

	if (filter_pids && !bpf_map_lookup_elem(&pid_filter, &tgid))
		return 0;
	stat_inc(GP_STAT_SAMPLES);

	if (user && wants_dwarf(tgid, &probe) && !dwarf_sample(ctx, task, tgid, probe)) {
		note_new_proc(tgid);
		return 0;
	}

	key.tgid = tgid;
	if (tgid)
		BPF_CORE_READ_STR_INTO(&key.comm, task, group_leader, comm);
	else
		__builtin_memcpy(key.comm, "swapper", 8);

	if (user)
		key.ustack = save_stack(ctx, stacks, BPF_F_USER_STACK, GP_STAT_USTACK_ERROR);
	key.kstack = save_stack(ctx, stacks, 0, GP_STAT_KSTACK_ERROR);

	if (active_bank)
		count(&counts_1, &key);
	else
		count(&counts_0, &key);
	if (user)
		note_new_proc(tgid);
	return 0;
}

/* After an exec the process has new maps: let its next sample announce it
 * again so user space re-reads them, and smart mode judge it anew. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&seen_procs, &tgid);
	bpf_map_delete_elem(&proc_mode, &tgid);	/* smart: probe the new image */
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
