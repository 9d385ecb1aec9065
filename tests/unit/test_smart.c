// SPDX-License-Identifier: Apache-2.0
/*
 * Smart mode's judge on made-up walks: frame pointers win when they hold
 * every DWARF frame (with the libc frames below main learned as a tail and
 * added back), lose when they skip a frame, win for JIT code DWARF cannot
 * walk; judgements survive probes in flight, and end on forget and expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "smart.h"

#define S 1000000000ULL

/* A main-thread stack: leaf, mid, main, then libc's start frames. */
static const uint64_t dw[] = { 0x1010, 0x2020, 0x3030, 0x7001 /* __libc_start_call_main */,
			       0x7002 /* __libc_start_main */, 0x4004 /* _start */ };

static int probe_n(struct smart *sm, int pid, const uint64_t *fp, int nfp, const uint64_t *d,
		   int nd, enum unwind_stop stop, int n, uint64_t now)
{
	int m = GP_PROC_PROBE;

	for (int i = 0; i < n; i++)
		m = smart__probe(sm, pid, fp, nfp, d, nd, stop, now);
	return m;
}

static void test_fp_with_learned_tail(void **state)
{
	struct smart *sm = smart__new(NULL);
	/* the walk reaches __libc_start_call_main, then reads libc's rbp */
	const uint64_t fp[] = { 0x1010, 0x2020, 0x3030, 0x7001, 0xdead };
	uint64_t ips[16] = { 0x1011, 0x2020, 0x3030, 0x7001, 0xbeef };
	int n;

	(void)state;
	assert_int_equal(probe_n(sm, 7, fp, 5, dw, 6, UNWIND_STOP_END, 15, 0), GP_PROC_PROBE);
	assert_int_equal(smart__probe(sm, 7, fp, 5, dw, 6, UNWIND_STOP_END, 0), GP_PROC_FP);
	assert_int_equal(smart__mode(sm, 7), GP_PROC_FP);
	/* a later frame-pointer stack gets _start back, the junk dropped */
	n = smart__complete(sm, 7, ips, 5, 16);
	assert_int_equal(n, 6);
	assert_int_equal(ips[4], 0x7002);
	assert_int_equal(ips[5], 0x4004);
	/* never past max */
	memcpy(ips, (uint64_t[]){ 0x1011, 0x2020, 0x3030, 0x7001, 0xbeef }, 5 * sizeof(*ips));
	assert_int_equal(smart__complete(sm, 7, ips, 5, 5), 5);
	smart__free(sm);
}

static void test_fp_skipping_a_frame_keeps_dwarf(void **state)
{
	struct smart *sm = smart__new(NULL);
	/* sampled in a frameless leaf: the walk starts at the caller's
	 * caller, so mid (0x2020) is missing */
	const uint64_t fp[] = { 0x1010, 0x3030, 0x7001 };
	const uint64_t fp_ok[] = { 0x1010, 0x2020, 0x3030, 0x7001 };
	uint64_t ips[8] = { 0x1010, 0x3030, 0x7001 };

	(void)state;
	/* 3 bad walks in 16: under 95% agreement */
	probe_n(sm, 8, fp_ok, 4, dw, 6, UNWIND_STOP_END, 13, 0);
	assert_int_equal(probe_n(sm, 8, fp, 3, dw, 6, UNWIND_STOP_END, 3, 0), GP_PROC_DWARF);
	assert_int_equal(smart__mode(sm, 8), GP_PROC_DWARF);
	assert_int_equal(smart__complete(sm, 8, ips, 3, 8), 3);	/* DWARF: untouched */
	smart__free(sm);
}

static void test_jit_deeper_with_frame_pointers(void **state)
{
	struct smart *sm = smart__new(NULL);
	/* DWARF has no unwind data for JIT code: libunwind guesses a frame
	 * and stops; the frame-pointer walk goes on through it */
	const uint64_t d[] = { 0x1010, 0x9990000, 0x5555 };
	const uint64_t fp[] = { 0x1010, 0x9990000, 0x9990100, 0x9990200, 0x3030, 0x7001 };

	(void)state;
	assert_int_equal(probe_n(sm, 9, fp, 6, d, 3, UNWIND_STOP_NO_INFO, 16, 0), GP_PROC_FP);
	smart__free(sm);
}

static void test_truncated_dwarf_prefix_agrees(void **state)
{
	struct smart *sm = smart__new(NULL);
	/* deep recursion past the stack copy: DWARF is a prefix of the walk */
	const uint64_t fp[] = { 0x1010, 0x2020, 0x2020, 0x2020, 0x2020, 0x3030, 0x7001 };

	(void)state;
	assert_int_equal(probe_n(sm, 10, fp, 7, fp, 3, UNWIND_STOP_STACK, 16, 0), GP_PROC_FP);
	smart__free(sm);
}

static void test_judgements_last_until_they_should_not(void **state)
{
	struct smart *sm = smart__new(&(struct smart_opts){ .probes = 4, .ttl_ns = 60 * S });
	const uint64_t fp[] = { 0x1010, 0x2020, 0x3030, 0x7001 };

	(void)state;
	assert_int_equal(probe_n(sm, getpid(), fp, 4, dw, 6, UNWIND_STOP_END, 4, 10 * S),
			 GP_PROC_FP);
	/* probes the kernel sent before it saw the judgement */
	assert_int_equal(smart__probe(sm, getpid(), fp, 4, dw, 6, UNWIND_STOP_END, 11 * S),
			 GP_PROC_PROBE);
	assert_int_equal(smart__mode(sm, getpid()), GP_PROC_FP);
	/* a probe long after: the kernel forgot the process, start again */
	smart__probe(sm, getpid(), fp, 4, dw, 6, UNWIND_STOP_END, 20 * S);
	assert_int_equal(smart__mode(sm, getpid()), GP_PROC_PROBE);
	/* judged again, then expired after the TTL (this process is alive) */
	probe_n(sm, getpid(), fp, 4, dw, 6, UNWIND_STOP_END, 4, 30 * S);
	assert_int_equal(smart__mode(sm, getpid()), GP_PROC_FP);
	smart__expire(sm, 60 * S, NULL, NULL);
	assert_int_equal(smart__mode(sm, getpid()), GP_PROC_FP);
	smart__expire(sm, 91 * S, NULL, NULL);
	assert_int_equal(smart__mode(sm, getpid()), GP_PROC_PROBE);
	/* forget (exec) */
	probe_n(sm, getpid(), fp, 4, dw, 6, UNWIND_STOP_END, 4, 100 * S);
	assert_int_equal(smart__forget(sm, getpid()), GP_PROC_FP);
	assert_int_equal(smart__mode(sm, getpid()), GP_PROC_PROBE);
	smart__free(sm);
}

static int expired_pid;

static void on_expired(void *arg, int pid)
{
	(void)arg;
	expired_pid = pid;
}

static void test_gone_processes_are_dropped(void **state)
{
	struct smart *sm = smart__new(&(struct smart_opts){ .probes = 1 });
	const uint64_t fp[] = { 0x1010, 0x2020, 0x3030, 0x7001 };
	int gone = 0x3fffff00;	/* beyond any pid in use */

	(void)state;
	smart__probe(sm, gone, fp, 4, dw, 6, UNWIND_STOP_END, 0);
	assert_int_equal(smart__mode(sm, gone), GP_PROC_FP);
	smart__expire(sm, 1, on_expired, NULL);
	assert_int_equal(expired_pid, gone);		/* the kernel's entry goes too */
	assert_int_equal(smart__mode(sm, gone), GP_PROC_PROBE);
	smart__free(sm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fp_with_learned_tail),
		cmocka_unit_test(test_fp_skipping_a_frame_keeps_dwarf),
		cmocka_unit_test(test_jit_deeper_with_frame_pointers),
		cmocka_unit_test(test_truncated_dwarf_prefix_agrees),
		cmocka_unit_test(test_judgements_last_until_they_should_not),
		cmocka_unit_test(test_gone_processes_are_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
