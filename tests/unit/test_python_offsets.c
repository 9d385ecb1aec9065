// SPDX-License-Identifier: Apache-2.0
/* The CPython layout tables: every supported version has one and it is
 * self-consistent; _Py_DebugOffsets (3.13) is parsed to the same layout
 * as the 3.13 table, and refused when its cookie, version or build kind is
 * not the one known; version strings; gProfiler's maps pattern. (The
 * numbers themselves are checked against the compiler and the installed
 * headers by tests/integration/test_python_offsets.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "python/pyoffsets.h"
#include "python/pyruntime.h"
#include "python/python.h"

static void test_tables_exist(void **state)
{
	(void)state;
	for (unsigned int minor = 8; minor <= 13; minor++)
		assert_non_null(pylayout_for_version(3, minor));
	assert_null(pylayout_for_version(3, 7));
	assert_null(pylayout_for_version(3, 14));
	assert_null(pylayout_for_version(2, 7));
	assert_string_equal(pylayout_supported(), "3.8-3.13");
}

static void test_tables_consistent(void **state)
{
	(void)state;
	for (unsigned int minor = 8; minor <= 13; minor++) {
		const struct pylayout *l = pylayout_for_version(3, minor);

		assert_int_equal(l->major, 3);
		assert_int_equal(l->minor, minor);
		/* the read sizes cover the fields read from them */
		assert_true(l->fr_back + 8 <= l->fr_size);
		assert_true(l->fr_code + 8 <= l->fr_size);
		assert_true(l->fr_lasti + (l->frame_kind == PYFRAME_OBJECT ? 4 : 8) <= l->fr_size);
		assert_true(l->co_firstlineno + 4 <= l->co_size);
		assert_true(l->co_name + 8 <= l->co_size);
		assert_true(l->co_filename + 8 <= l->co_size);
		assert_true(l->co_linetable + 8 <= l->co_size);
		/* the version-dependent choices */
		assert_int_equal(l->frame_kind, minor <= 10 ? PYFRAME_OBJECT : PYFRAME_INTERP);
		assert_int_equal(l->line_kind, minor <= 9 ? PYLINE_LNOTAB
					       : minor == 10 ? PYLINE_310 : PYLINE_311);
		assert_int_equal(l->gil_kind, minor <= 11 ? PYGIL_TSTATE_CURRENT : PYGIL_INTERP);
		if (l->gil_kind == PYGIL_TSTATE_CURRENT)
			assert_true(l->rt_tstate_current > l->rt_interp_head);
		else
			assert_true(l->gil_locked != l->gil_last_holder);
		if (minor >= 11) {
			assert_true(l->fr_owner + 1 <= l->fr_size);
			assert_true(l->co_code_adaptive > l->co_linetable);
			assert_true(l->ts_native_thread_id > 0);
		}
		assert_int_equal(l->cframe_current_frame == PYLAYOUT_DIRECT_FRAME,
				 minor <= 10 || minor >= 13);
		/* str: compact data follows the ASCII header; bytes/object */
		assert_true(l->str_compact_data > l->str_ascii_data);
		assert_true(l->str_ascii_data > l->str_state);
		assert_int_equal(l->bytes_sval, 32);
		assert_int_equal(l->ob_type, 8);
	}
}

/* _Py_DebugOffsets as Include/internal/pycore_runtime.h of 3.13 declares
 * it, restated here so the parser's byte positions are checked against an
 * independent description. */
struct debug_offsets_313 {
	char cookie[8];
	uint64_t version, free_threaded;
	struct { uint64_t size, finalizing, interpreters_head; } runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct { uint64_t size, previous, executable, instr_ptr, localsplus, owner; } interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} code_object;
	struct { uint64_t size, ob_type; } pyobject;
	struct { uint64_t size, tp_name, tp_repr, tp_flags; } type_object;
	struct { uint64_t size, ob_item, ob_size; } tuple_object;
	struct { uint64_t size, ob_item, ob_size; } list_object;
	struct { uint64_t size, ma_keys, ma_values; } dict_object;
	struct { uint64_t size, ob_fval; } float_object;
	struct { uint64_t size, lv_tag, ob_digit; } long_object;
	struct { uint64_t size, ob_size, ob_sval; } bytes_object;
	struct { uint64_t size, state, length, asciiobject_size; } unicode_object;
	struct { uint64_t size, collecting; } gc;
};

static void fill_313(struct debug_offsets_313 *d)
{
	const struct pylayout *t = pylayout_for_version(3, 13);

	memset(d, 0, sizeof(*d));
	memcpy(d->cookie, "xdebugpy", 8);
	d->version = 0x030D00F0;
	d->runtime_state.interpreters_head = t->rt_interp_head;
	d->interpreter_state.next = t->is_next;
	d->interpreter_state.threads_head = t->is_tstate_head;
	d->interpreter_state.ceval_gil = t->is_gil;
	d->interpreter_state.gil_runtime_state = 7000;
	d->interpreter_state.gil_runtime_state_locked = 7000 + t->gil_locked;
	d->interpreter_state.gil_runtime_state_holder = 7000 + t->gil_last_holder;
	d->thread_state.next = t->ts_next;
	d->thread_state.interp = t->ts_interp;
	d->thread_state.current_frame = t->ts_frame;
	d->thread_state.thread_id = t->ts_thread_id;
	d->thread_state.native_thread_id = t->ts_native_thread_id;
	d->interpreter_frame.previous = t->fr_back;
	d->interpreter_frame.executable = t->fr_code;
	d->interpreter_frame.instr_ptr = t->fr_lasti;
	d->interpreter_frame.owner = t->fr_owner;
	d->code_object.filename = t->co_filename;
	d->code_object.name = t->co_name;
	d->code_object.qualname = t->co_qualname;
	d->code_object.linetable = t->co_linetable;
	d->code_object.firstlineno = t->co_firstlineno;
	d->code_object.co_code_adaptive = t->co_code_adaptive;
	d->pyobject.ob_type = t->ob_type;
	d->bytes_object.ob_size = t->bytes_size;
	d->bytes_object.ob_sval = t->bytes_sval;
	d->unicode_object.state = t->str_state;
	d->unicode_object.length = t->str_length;
	d->unicode_object.asciiobject_size = t->str_ascii_data;
}

static void test_debug_offsets_313(void **state)
{
	(void)state;
	uint8_t buf[PY_DEBUG_OFFSETS_SIZE] = { 0 };
	struct debug_offsets_313 d;
	const struct pylayout *t = pylayout_for_version(3, 13);
	struct pylayout l;
	uint64_t version = 0;

	assert_true(sizeof(d) <= sizeof(buf));
	fill_313(&d);
	memcpy(buf, &d, sizeof(d));
	assert_int_equal(pylayout_from_debug_offsets(buf, sizeof(buf), &l, &version), 0);
	assert_int_equal(version, 0x030D00F0);
	/* the parsed layout equals the table, field for field */
	assert_int_equal(memcmp(&l, t, sizeof(l)), 0);
}

static void test_debug_offsets_refused(void **state)
{
	(void)state;
	uint8_t buf[PY_DEBUG_OFFSETS_SIZE] = { 0 };
	struct debug_offsets_313 d;
	struct pylayout l;
	uint64_t version;

	fill_313(&d);
	d.cookie[0] = 'X';
	memcpy(buf, &d, sizeof(d));
	assert_int_equal(pylayout_from_debug_offsets(buf, sizeof(buf), &l, &version), -ENOENT);
	fill_313(&d);
	d.version = 0x030E00F0;		/* 3.14 grew the struct */
	memcpy(buf, &d, sizeof(d));
	assert_int_equal(pylayout_from_debug_offsets(buf, sizeof(buf), &l, &version), -ENOTSUP);
	assert_int_equal(version, 0x030E00F0);
	fill_313(&d);
	d.free_threaded = 1;
	memcpy(buf, &d, sizeof(d));
	assert_int_equal(pylayout_from_debug_offsets(buf, sizeof(buf), &l, &version), -ENOTSUP);
	fill_313(&d);
	d.code_object.name = 1ULL << 40;	/* garbage */
	memcpy(buf, &d, sizeof(d));
	assert_int_equal(pylayout_from_debug_offsets(buf, sizeof(buf), &l, &version), -EINVAL);
	fill_313(&d);
	memcpy(buf, &d, sizeof(d));
	assert_int_equal(pylayout_from_debug_offsets(buf, 100, &l, &version), -ENOENT);
}

static void test_version_strings(void **state)
{
	(void)state;
	char v[PYVERSION_LEN];
	static const char data[] = "junk\0" "3.9.18 (main, May  9 2026, 07:33:22) \n[GCC 12.2.0]\0";
	static const char rc[] = "\0" "3.13.0rc1+ (heads/3.13:abc, Jan 1 2025) [Clang]";

	pyversion_format(0x030B02F0, v);
	assert_string_equal(v, "3.11.2");
	pyversion_format(0x030D00C1, v);
	assert_string_equal(v, "3.13.0rc1");
	pyversion_format(0x030C00A3, v);
	assert_string_equal(v, "3.12.0a3");
	pyversion_format(0x030A05B2, v);
	assert_string_equal(v, "3.10.5b2");

	assert_int_equal(pyversion_scan(data, sizeof(data), 3, 9, v), 0);
	assert_string_equal(v, "3.9.18");
	assert_int_equal(pyversion_scan(data, sizeof(data), 3, -1, v), 0);
	assert_int_equal(pyversion_scan(data, sizeof(data), 3, 10, v), -ENOENT);
	assert_int_equal(pyversion_scan(rc, sizeof(rc), 3, 13, v), 0);
	assert_string_equal(v, "3.13.0rc1+");
	/* mid-string versions and paths are not the version buffer */
	static const char path[] = "/root/.pyenv/versions/3.9.18 (x)\0" "x3.9.18 (y)";

	assert_int_equal(pyversion_scan(path, sizeof(path), 3, 9, v), -ENOENT);
}

static void test_maps_pattern(void **state)
{
	(void)state;
#define M(s) python_maps_path_matches(s, strlen(s))
	assert_true(M("00400000-0041e000 r--p 00000000 fe:00 1 /usr/bin/python3.11"));
	assert_true(M("7f-8f r-xp 00000000 fe:00 1 /root/.pyenv/versions/3.9.18/lib/libpython3.9.so.1.0"));
	assert_true(M("7f-8f r-xp 00000000 fe:00 1 /usr/bin/python3.11 (deleted)"));
	assert_true(M("7f-8f r-xp 0 fe:00 1 /venv/lib/python3.11/site-packages/_cffi.so"));
	assert_true(M("7f-8f r-xp 0 fe:00 1 /usr/lib/python3/dist-packages/x.cpython-311.so"));
	assert_false(M("7f-8f r-xp 0 fe:00 1 /usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_false(M("7f-8f r-xp 0 fe:00 1 /opt/python3/bin/node"));
	assert_false(M("7f-8f rw-p 0 00:00 0 [heap]"));
	assert_false(M("7f-8f r-xp 0 fe:00 1 /usr/lib/site-packages/"));
	assert_false(M("7f-8f r-xp 0 fe:00 1 /usr/bin/ipython"));
#undef M
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_exist),
		cmocka_unit_test(test_tables_consistent),
		cmocka_unit_test(test_debug_offsets_313),
		cmocka_unit_test(test_debug_offsets_refused),
		cmocka_unit_test(test_version_strings),
		cmocka_unit_test(test_maps_pattern),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
