// SPDX-License-Identifier: Apache-2.0
/* The merge rule's arithmetic and the profile model it works on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "merge.h"
#include "profile.h"

static uint64_t count_of(const struct profile *p, int32_t pid, const char *leaf, const char *first)
{
	const struct profile_sample *s;
	size_t n;
	uint64_t total = 0;

	s = profile__samples(p, &n);
	for (size_t i = 0; i < n; i++) {
		const struct profile_proc *pp = profile__proc_at((struct profile *)p, s[i].proc);
		uint32_t nf;
		const gp_str *fr = profile__stack_frames(p, s[i].stack, &nf);

		if (pp->pid != pid || !nf)
			continue;
		if (leaf && strcmp(profile__str(p, fr[nf - 1]), leaf))
			continue;
		if (first && strcmp(profile__str(p, fr[0]), first))
			continue;
		total += s[i].count;
	}
	return total;
}

static void test_interning(void **state)
{
	(void)state;
	struct profile *p = profile__new();
	gp_str a = profile__intern_cstr(p, "a"), b = profile__intern_cstr(p, "b");
	gp_str st[] = { a, b };
	uint32_t s1 = profile__stack(p, st, 2), s2 = profile__stack(p, st, 2);
	uint32_t proc = profile__proc(p, 1, a, GP_SRC_NATIVE);

	assert_int_equal(profile__intern_cstr(p, "a"), a);
	assert_int_equal(profile__intern_cstr(p, ""), 0);
	assert_int_equal(s1, s2);
	assert_int_equal(profile__proc(p, 1, a, GP_SRC_NATIVE), proc);
	assert_int_not_equal(profile__proc(p, 1, a, GP_SRC_PYTHON), proc);
	/* many distinct strings force the index to grow */
	for (int i = 0; i < 100000; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "frame%d", i);
		profile__intern_cstr(p, buf);
	}
	assert_string_equal(profile__str(p, profile__intern_cstr(p, "frame77777")), "frame77777");
	assert_string_equal(profile__str(p, b), "b");
	profile__add(p, proc, s1, 3);
	profile__add(p, proc, s2, 4);
	assert_int_equal(profile__total(p), 7);
	assert_int_equal(profile__proc_total(p, proc), 7);
	profile__free(p);
}

static void test_scale_random_rounding(void **state)
{
	(void)state;
	uint64_t rng = 42, sum = 0;

	/* 1000 draws of 1 * 0.3: floor 0 or ceil 1, about 300 ones */
	for (int i = 0; i < 10000; i++)
		sum += merge__scale(1, 0.3, &rng);
	assert_true(sum > 2800 && sum < 3200);
	assert_int_equal(merge__scale(10, 2.0, &rng), 20);
	assert_int_equal(merge__scale(7, 1.0, &rng), 7);
}

/* native: pid 1 (python) 100 samples in the interpreter, pid 2 (other) 50 */
static struct profile *native_profile(void)
{
	struct profile *p = profile__new();
	uint32_t py = profile__proc(p, 1, profile__intern_cstr(p, "python3"), GP_SRC_NATIVE);
	uint32_t other = profile__proc(p, 2, profile__intern_cstr(p, "other"), GP_SRC_NATIVE);
	const char *s1[] = { "_start", "Py_BytesMain", "_PyEval_EvalFrameDefault" };
	const char *s2[] = { "_start", "main" };

	profile__proc_at(p, py)->container = profile__intern_cstr(p, "web");
	profile__add_frames(p, py, s1, 3, 100);
	profile__add_frames(p, other, s2, 2, 50);
	return p;
}

static struct profile *runtime_profile(uint64_t slow, uint64_t fast)
{
	struct profile *p = profile__new();
	uint32_t pr = profile__proc(p, 1, profile__intern_cstr(p, "python3"), GP_SRC_PYTHON);
	const char *a[] = { "<module> (/x.py:9)_[p]", "slow (/x.py:2)_[p]" };
	const char *b[] = { "<module> (/x.py:9)_[p]", "fast (/x.py:5)_[p]" };

	profile__add_frames(p, pr, a, 2, slow);
	profile__add_frames(p, pr, b, 2, fast);
	return p;
}

static void test_runtime_replaces_and_scales(void **state)
{
	(void)state;
	struct profile *nat = native_profile(), *rt = runtime_profile(30, 10), *out;
	struct merge_runtime r = { .pid = 1, .prof = rt, .appid = "python: x.py (/x.py)",
				   .app_meta = 1, .source = GP_SRC_PYTHON };
	uint64_t slow, fast;

	out = merge__profiles(nat, &r, 1, 7);
	slow = count_of(out, 1, "slow (/x.py:2)_[p]", NULL);
	fast = count_of(out, 1, "fast (/x.py:5)_[p]", NULL);
	/* 40 runtime samples become the 100 native ones: 75 / 25 exactly */
	assert_int_equal(slow, 75);
	assert_int_equal(fast, 25);
	assert_int_equal(count_of(out, 1, "_PyEval_EvalFrameDefault", NULL), 0);
	assert_int_equal(count_of(out, 2, "main", NULL), 50);
	assert_int_equal(profile__total(out), 150);
	for (uint32_t i = 0; i < profile__nprocs(out); i++) {
		const struct profile_proc *pp = profile__proc_at(out, i);

		if (pp->pid == 1) {
			assert_string_equal(profile__str(out, pp->container), "web");
			assert_string_equal(profile__str(out, pp->appid), "python: x.py (/x.py)");
			assert_int_equal(pp->app_meta, 1);
		}
	}
	profile__free(out);

	/* a ratio that does not divide: totals stay right on average */
	profile__free(rt);
	rt = runtime_profile(2, 1);
	r.prof = rt;
	uint64_t total = 0;

	for (int seed = 1; seed <= 200; seed++) {
		out = merge__profiles(nat, &r, 1, seed);
		total += count_of(out, 1, NULL, NULL);
		profile__free(out);
	}
	assert_true(fabs(total / 200.0 - 100.0) < 2.0);
	profile__free(rt);
	profile__free(nat);
}

static void test_no_native_samples_keeps_runtime(void **state)
{
	(void)state;
	struct profile *nat = native_profile(), *rt = runtime_profile(3, 1), *out;
	struct merge_runtime r = { .pid = 9, .prof = rt, .source = GP_SRC_PYTHON };

	out = merge__profiles(nat, &r, 1, 1);
	assert_int_equal(count_of(out, 9, "slow (/x.py:2)_[p]", NULL), 3);
	assert_int_equal(count_of(out, 9, "fast (/x.py:5)_[p]", NULL), 1);
	assert_int_equal(profile__total(out), 154);
	profile__free(out);
	profile__free(rt);
	profile__free(nat);
}

static void test_error_stacks(void **state)
{
	(void)state;
	struct profile *nat = native_profile(), *out;
	struct merge_runtime r = { .pid = 1, .error = "process went down during profiling",
				   .comm = "python3", .source = GP_SRC_PYTHON };
	struct merge_runtime gone = { .pid = 5, .error = "timed out", .skipped = true,
				      .comm = "java", .source = GP_SRC_JAVA };
	struct merge_runtime both[] = { r, gone };

	out = merge__profiles(nat, both, 2, 1);
	/* native stacks kept with the reason inserted first */
	assert_int_equal(count_of(out, 1, "_PyEval_EvalFrameDefault",
				  "[Profiling error: process went down during profiling]"),
			 100);
	/* no native samples: one error stack */
	assert_int_equal(count_of(out, 5, "[Profiling skipped: timed out]", NULL), 1);
	profile__free(out);
	profile__free(nat);
}

static void test_perfless_concatenation(void **state)
{
	(void)state;
	struct profile *a = runtime_profile(30, 10), *out;
	struct merge_runtime r = { .pid = 1, .prof = a, .source = GP_SRC_PYTHON };

	out = merge__profiles(NULL, &r, 1, 1);
	assert_int_equal(count_of(out, 1, "slow (/x.py:2)_[p]", NULL), 30);
	assert_int_equal(count_of(out, 1, "fast (/x.py:5)_[p]", NULL), 10);
	profile__free(out);
	profile__free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interning),
		cmocka_unit_test(test_scale_random_rounding),
		cmocka_unit_test(test_runtime_replaces_and_scales),
		cmocka_unit_test(test_no_native_samples_keeps_runtime),
		cmocka_unit_test(test_error_stacks),
		cmocka_unit_test(test_perfless_concatenation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
