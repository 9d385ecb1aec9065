// SPDX-License-Identifier: Apache-2.0
/*
 * DWARF unwinding without BPF or root: this test copies its own registers
 * and stack, as the sampler does for another process, and unwinds the copy
 * through unwind.c's libunwind accessors; the search tables ehframe.c
 * builds are checked against the linker's .eh_frame_hdr of this binary,
 * and a .debug_frame (from a program compiled here without unwind tables)
 * is checked to come out as well-formed .eh_frame records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ehframe.h"
#include "symbolizer.h"
#include "unwind.h"
#include "testutil.h"
#include "xalloc.h"

struct image {
	uint8_t *p;
	size_t len;
};

static struct image map_file(const char *path)
{
	struct image im = { 0 };
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	im.len = st.st_size;
	im.p = mmap(NULL, im.len, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(im.p != MAP_FAILED);
	close(fd);
	return im;
}

static int32_t rd32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t table_word(const struct ehtab *t, uint64_t vaddr)
{
	uint64_t v;

	assert_int_equal(ehtab__read(t, vaddr, &v), 0);
	return v;
}

/* The table built over .eh_frame lists the FDEs the linker's lists. */
static void test_eh_frame_table_matches_linker(void **state)
{
	struct image im = map_file("/proc/self/exe");
	const Elf64_Ehdr *eh = (const void *)im.p;
	const Elf64_Phdr *ph = (const void *)(im.p + eh->e_phoff);
	struct eh_frame_hdr h = { 0 };
	struct ehtab_info ti;
	struct ehtab *t;
	const uint8_t *hdr = NULL;
	uint64_t hdr_vaddr = 0;

	(void)state;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_GNU_EH_FRAME) {
			hdr = im.p + ph[i].p_offset;
			hdr_vaddr = ph[i].p_vaddr;
			assert_int_equal(ehframe_parse_hdr(hdr, ph[i].p_filesz, hdr_vaddr, &h), 0);
		}
	assert_non_null(hdr);
	assert_true(h.fde_count > 10);
	t = ehtab__build(im.p, im.len, EHTAB_EH_FRAME, im.p, im.len);
	assert_non_null(t);
	ehtab__info(t, &ti);
	assert_int_equal(ti.fde_count, h.fde_count);
	for (uint64_t i = 0; i < h.fde_count; i++) {
		const uint8_t *e = hdr + h.table_off + i * 8;
		uint64_t want_pc = hdr_vaddr + rd32(e), want_fde = hdr_vaddr + rd32(e + 4);
		uint64_t w = table_word(t, ti.table + i * 8);

		assert_int_equal(ti.segbase + (int32_t)(uint32_t)w, want_pc);
		assert_int_equal(ti.segbase + (int32_t)(uint32_t)(w >> 32), want_fde);
	}
	/* served past the file's segments, where nothing of the file is */
	assert_true(ti.lo > hdr_vaddr);
	assert_false(ehtab__contains(t, ti.lo - 1));
	ehtab__free(t);
	munmap(im.p, im.len);
}

static const char FIXTURE[] =
	"volatile int sink;\n"
	"__attribute__((noinline)) void f1(void) { for (int i = 0; i < 100; i++) sink += i; }\n"
	"__attribute__((noinline)) void f2(void) { f1(); sink++; }\n"
	"int main(void) { f2(); return 0; }\n";

/* A .debug_frame comes out as .eh_frame records: each table entry leads
 * to an FDE whose pc-relative start is the entry's pc, whose CIE pointer
 * leads to a "zR" CIE. */
static void test_debug_frame_rewrite(void **state)
{
	char dir[] = "/tmp/gp-unwind-XXXXXX", src[64], exe[64];
	struct image im;
	struct ehtab_info ti;
	struct ehtab *t;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/f.c", dir);
	snprintf(exe, sizeof(exe), "%s/f", dir);
	f = fopen(src, "w");
	assert_non_null(f);
	fputs(FIXTURE, f);
	fclose(f);
	if (run_quiet((const char *const[]){ "cc", "-O2", "-g", "-fno-asynchronous-unwind-tables",
				       "-o", exe, src, NULL })) {
		skip();
	}
	im = map_file(exe);
	assert_true(ehframe_has_section(im.p, im.len, ".debug_frame"));
	t = ehtab__build(im.p, im.len, EHTAB_DEBUG_FRAME, im.p, im.len);
	assert_non_null(t);
	ehtab__info(t, &ti);
	assert_true(ti.fde_count >= 3);	/* f1, f2, main */
	assert_int_equal(ti.segbase, ti.lo);
	for (uint64_t i = 0; i < ti.fde_count; i++) {
		uint64_t w = table_word(t, ti.table + i * 8);
		uint64_t pc = ti.segbase + (int32_t)(uint32_t)w;
		uint64_t fde = ti.segbase + (int32_t)(uint32_t)(w >> 32), v, cie;

		v = table_word(t, fde);
		assert_true((uint32_t)v > 12);			/* length */
		cie = fde + 4 - (uint32_t)(v >> 32);		/* CIE pointer */
		assert_true(ehtab__contains(t, cie));
		v = table_word(t, fde + 8);
		assert_int_equal(fde + 8 + (int32_t)(uint32_t)v, pc);	/* pcrel sdata4 */
		assert_true((uint32_t)(v >> 32) > 0);		/* range */
		v = table_word(t, cie);
		assert_int_equal((uint32_t)(v >> 32), 0);	/* CIE id */
		v = table_word(t, cie + 8);
		assert_int_equal(v & 0xffffffff, ('z' << 8) | 1 | ('R' << 16));
	}
	ehtab__free(t);
	munmap(im.p, im.len);
	unlink(src);
	unlink(exe);
	rmdir(dir);
}

/* ---- unwinding a copy of our own stack ---- */

static uint8_t stack_copy[16384];

/* Copies [sp, sp + len) byte by byte: the stack holds other frames'
 * redzones, which AddressSanitizer would report for memcpy. */
__attribute__((noinline, no_sanitize_address)) static void copy_raw(uint8_t *dst,
								    const volatile uint8_t *src,
								    size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i];
}

/* Takes the registers as a sample would see them here, and the stack. */
__attribute__((noinline)) void gp_unwind_snap(struct unwind_sample *s)
{
	uint64_t *r = s->regs;
	pthread_attr_t a;
	void *lo;
	size_t size, len;

	__asm__ volatile("lea 0(%%rip), %%rax\n\t"
			 "mov %%rax, 128(%0)\n\t"
			 "mov %%rsp, 56(%0)\n\t"
			 "mov %%rbp, 48(%0)\n\t"
			 "mov %%rbx, 24(%0)\n\t"
			 "mov %%r12, 96(%0)\n\t"
			 "mov %%r13, 104(%0)\n\t"
			 "mov %%r14, 112(%0)\n\t"
			 "mov %%r15, 120(%0)\n\t"
			 :
			 : "r"(r)
			 : "rax", "memory");
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &lo, &size);
	pthread_attr_destroy(&a);
	len = (uint64_t)(uintptr_t)lo + size - r[GP_REG_SP];
	if (len > sizeof(stack_copy))
		len = sizeof(stack_copy);
	copy_raw(stack_copy, (const volatile uint8_t *)(uintptr_t)r[GP_REG_SP], len);
	s->stack = stack_copy;
	s->stack_len = len;
}

__attribute__((noinline)) void gp_unwind_mid(struct unwind_sample *s)
{
	gp_unwind_snap(s);
	__asm__ volatile("" ::: "memory");	/* no tail call */
}

__attribute__((noinline)) void gp_unwind_top(struct unwind_sample *s)
{
	gp_unwind_mid(s);
	__asm__ volatile("" ::: "memory");
}

static void test_unwind_own_stack(void **state)
{
	struct symbolizer_opts so = { 0 };
	struct symbolizer *sym = symbolizer__new(&so);
	struct unwinder *u = unwinder__new(sym, NULL);
	struct unwind_sample s = { 0 };
	struct unwind_stats st;
	enum unwind_stop stop;
	uint64_t ips[GP_MAX_STACK_DEPTH];
	char comm[32] = "", *names[GP_MAX_STACK_DEPTH];
	FILE *f = fopen("/proc/self/comm", "r");
	int n;

	(void)state;
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	s.pid = getpid();
	s.comm = comm;
	gp_unwind_top(&s);
	symbolizer__note_process(sym, s.pid);
	for (int round = 0; round < 2; round++) {	/* the second from libunwind's cache */
		n = unwinder__unwind(u, &s, ips, GP_MAX_STACK_DEPTH, &stop);
		for (int i = 0; i < n; i++)
			names[i] = xstrdup(symbolizer__user(sym, s.pid, comm, ips[i], i > 0));
		for (int i = 0; i < n; i++)
			print_message("  #%d %s\n", i, names[i]);
		assert_int_equal(stop, UNWIND_STOP_END);
		assert_true(n >= 6);
		assert_string_equal(names[0], "gp_unwind_snap");
		assert_string_equal(names[1], "gp_unwind_mid");
		assert_string_equal(names[2], "gp_unwind_top");
		assert_string_equal(names[3], "test_unwind_own_stack");
		assert_string_equal(names[n - 1], "_start");
		assert_string_equal(names[n - 3], "__libc_start_call_main");
		assert_string_equal(names[n - 4], "main");
		for (int i = 0; i < n; i++)
			free(names[i]);
	}
	/* libunwind binds to our sigprocmask (no syscalls inside it) */
	assert_ptr_equal(dlsym(RTLD_DEFAULT, "sigprocmask"), (void *)sigprocmask);
	unwinder__stats(u, &st);
	assert_int_equal(st.samples, 2);
	assert_int_equal(st.stops[UNWIND_STOP_END], 2);
	unwinder__free(u);
	symbolizer__free(sym);
}

/* A stack copy cut short ends the walk with UNWIND_STOP_STACK, not junk. */
static void test_unwind_short_copy(void **state)
{
	struct symbolizer_opts so = { 0 };
	struct symbolizer *sym = symbolizer__new(&so);
	struct unwinder *u = unwinder__new(sym, NULL);
	struct unwind_sample s = { 0 };
	enum unwind_stop stop;
	uint64_t ips[GP_MAX_STACK_DEPTH];
	int n;

	(void)state;
	s.pid = getpid();
	s.comm = "test_unwind";
	gp_unwind_top(&s);
	s.comm = NULL;
	{
		char comm[32] = "";
		FILE *f = fopen("/proc/self/comm", "r");

		assert_non_null(fgets(comm, sizeof(comm), f));
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		s.comm = xstrdup(comm);
	}
	s.stack_len = 16;	/* not even gp_unwind_snap's return address */
	n = unwinder__unwind(u, &s, ips, GP_MAX_STACK_DEPTH, &stop);
	assert_true(n >= 1 && n <= 2);
	assert_int_equal(stop, UNWIND_STOP_STACK);
	free((char *)s.comm);
	unwinder__free(u);
	symbolizer__free(sym);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eh_frame_table_matches_linker),
		cmocka_unit_test(test_debug_frame_rewrite),
		cmocka_unit_test(test_unwind_own_stack),
		cmocka_unit_test(test_unwind_short_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
