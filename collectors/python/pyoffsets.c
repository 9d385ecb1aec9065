// SPDX-License-Identifier: Apache-2.0
/*
 * Per-version CPython layouts; see pyoffsets.h. The numbers were read off
 * each version's Include/ and Include/internal/ headers (struct order and
 * LP64 sizes) and are checked by compiling offsetof() against installed
 * headers in tests/integration/test_python_offsets.py. Patch releases keep
 * these structs (CPython freezes them within a minor version); the sampler
 * still validates every pointer it follows.
 */
#include "pyoffsets.h"

#include <errno.h>
#include <string.h>

#define STR_312 .str_length = 16, .str_state = 32, .str_ascii_data = 40, \
	.str_compact_data = 56, .str_legacy_data = 56
#define STR_38 .str_length = 16, .str_state = 32, .str_ascii_data = 48, \
	.str_compact_data = 72, .str_legacy_data = 72
#define OBJ .bytes_size = 16, .bytes_sval = 32, .ob_type = 8

static const struct pylayout layouts[] = {
	{
		.major = 3, .minor = 8, .frame_kind = PYFRAME_OBJECT,
		.line_kind = PYLINE_LNOTAB, .gil_kind = PYGIL_TSTATE_CURRENT,
		.rt_interp_head = 32, .rt_tstate_current = 1368,
		.is_next = 0, .is_tstate_head = 8,
		.ts_next = 8, .ts_interp = 16, .ts_frame = 24,
		.cframe_current_frame = PYLAYOUT_DIRECT_FRAME, .ts_thread_id = 176,
		.fr_back = 24, .fr_code = 32, .fr_lasti = 104, .fr_size = 112,
		.co_firstlineno = 40, .co_filename = 104, .co_name = 112,
		.co_linetable = 120, .co_size = 128,
		STR_38, OBJ,
	},
	{
		.major = 3, .minor = 9, .frame_kind = PYFRAME_OBJECT,
		.line_kind = PYLINE_LNOTAB, .gil_kind = PYGIL_TSTATE_CURRENT,
		.rt_interp_head = 32, .rt_tstate_current = 568,
		.is_next = 0, .is_tstate_head = 8,
		.ts_next = 8, .ts_interp = 16, .ts_frame = 24,
		.cframe_current_frame = PYLAYOUT_DIRECT_FRAME, .ts_thread_id = 176,
		.fr_back = 24, .fr_code = 32, .fr_lasti = 104, .fr_size = 112,
		.co_firstlineno = 40, .co_filename = 104, .co_name = 112,
		.co_linetable = 120, .co_size = 128,
		STR_38, OBJ,
	},
	{
		.major = 3, .minor = 10, .frame_kind = PYFRAME_OBJECT,
		.line_kind = PYLINE_310, .gil_kind = PYGIL_TSTATE_CURRENT,
		.rt_interp_head = 32, .rt_tstate_current = 568,
		.is_next = 0, .is_tstate_head = 8,
		.ts_next = 8, .ts_interp = 16, .ts_frame = 24,
		.cframe_current_frame = PYLAYOUT_DIRECT_FRAME, .ts_thread_id = 176,
		.fr_back = 24, .fr_code = 32, .fr_lasti = 96, .fr_size = 104,
		.co_firstlineno = 40, .co_filename = 104, .co_name = 112,
		.co_linetable = 120, .co_size = 128,
		STR_38, OBJ,
	},
	{
		.major = 3, .minor = 11, .frame_kind = PYFRAME_INTERP,
		.line_kind = PYLINE_311, .gil_kind = PYGIL_TSTATE_CURRENT,
		.rt_interp_head = 40, .rt_tstate_current = 576,
		.is_next = 0, .is_tstate_head = 16,
		.ts_next = 8, .ts_interp = 16, .ts_frame = 56,
		.cframe_current_frame = 8, .ts_thread_id = 152, .ts_native_thread_id = 160,
		.fr_back = 48, .fr_code = 32, .fr_lasti = 56, .fr_owner = 69, .fr_size = 72,
		.co_firstlineno = 72, .co_filename = 112, .co_name = 120, .co_qualname = 128,
		.co_linetable = 136, .co_code_adaptive = 184, .co_size = 144,
		STR_38, OBJ,
	},
	{
		.major = 3, .minor = 12, .frame_kind = PYFRAME_INTERP,
		.line_kind = PYLINE_311, .gil_kind = PYGIL_INTERP,
		.rt_interp_head = 40,
		.is_next = 0, .is_tstate_head = 72, .is_gil = 384,
		.gil_last_holder = 8, .gil_locked = 16,
		.ts_next = 8, .ts_interp = 16, .ts_frame = 56,
		.cframe_current_frame = 0, .ts_thread_id = 136, .ts_native_thread_id = 144,
		.fr_back = 8, .fr_code = 0, .fr_lasti = 56, .fr_owner = 70, .fr_size = 72,
		.co_firstlineno = 68, .co_filename = 112, .co_name = 120, .co_qualname = 128,
		.co_linetable = 136, .co_code_adaptive = 192, .co_size = 144,
		STR_312, OBJ,
	},
	{
		/* Used only when _Py_DebugOffsets cannot be read. */
		.major = 3, .minor = 13, .frame_kind = PYFRAME_INTERP,
		.line_kind = PYLINE_311, .gil_kind = PYGIL_INTERP,
		.rt_interp_head = 632,
		.is_next = 7264, .is_tstate_head = 7344, .is_gil = 16,
		.gil_last_holder = 8, .gil_locked = 16,
		.ts_next = 8, .ts_interp = 16, .ts_frame = 72,
		.cframe_current_frame = PYLAYOUT_DIRECT_FRAME,
		.ts_thread_id = 152, .ts_native_thread_id = 160,
		.fr_back = 8, .fr_code = 0, .fr_lasti = 56, .fr_owner = 70, .fr_size = 72,
		.co_firstlineno = 68, .co_filename = 112, .co_name = 120, .co_qualname = 128,
		.co_linetable = 136, .co_code_adaptive = 200, .co_size = 144,
		STR_312, OBJ,
	},
};

const struct pylayout *pylayout_for_version(unsigned int major, unsigned int minor)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].major == major && layouts[i].minor == minor)
			return &layouts[i];
	return NULL;
}

const char *pylayout_supported(void)
{
	return "3.8-3.13";
}

/* _Py_DebugOffsets as 3.13 lays it out: a cookie, then uint64 fields.
 * These are byte positions of the fields this parser reads. */
enum {
	DO_COOKIE = 0, DO_VERSION = 8, DO_FREE_THREADED = 16,
	DO_RT_INTERP_HEAD = 40,
	DO_IS_NEXT = 64, DO_IS_THREADS_HEAD = 72, DO_IS_CEVAL_GIL = 112,
	DO_IS_GIL_STATE = 120, DO_IS_GIL_LOCKED = 136, DO_IS_GIL_HOLDER = 144,
	DO_TS_NEXT = 168, DO_TS_INTERP = 176, DO_TS_CURRENT_FRAME = 184,
	DO_TS_THREAD_ID = 192, DO_TS_NATIVE_THREAD_ID = 200,
	DO_FR_PREVIOUS = 232, DO_FR_EXECUTABLE = 240, DO_FR_INSTR_PTR = 248,
	DO_FR_OWNER = 264,
	DO_CO_FILENAME = 280, DO_CO_NAME = 288, DO_CO_QUALNAME = 296,
	DO_CO_LINETABLE = 304, DO_CO_FIRSTLINENO = 312, DO_CO_CODE_ADAPTIVE = 344,
	DO_OB_TYPE = 360,
	DO_BYTES_OB_SIZE = 520, DO_BYTES_OB_SVAL = 528,
	DO_STR_STATE = 544, DO_STR_LENGTH = 552, DO_STR_ASCII_SIZE = 560,
	DO_END = 584,
};

static uint64_t u64_at(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

int pylayout_from_debug_offsets(const uint8_t *buf, size_t len, struct pylayout *ret,
				uint64_t *ret_version)
{
	struct pylayout l = { 0 };
	uint64_t version, v[32];
	static const size_t fields[] = {
		DO_RT_INTERP_HEAD, DO_IS_NEXT, DO_IS_THREADS_HEAD, DO_IS_CEVAL_GIL,
		DO_IS_GIL_STATE, DO_IS_GIL_LOCKED, DO_IS_GIL_HOLDER, DO_TS_NEXT,
		DO_TS_INTERP, DO_TS_CURRENT_FRAME, DO_TS_THREAD_ID,
		DO_TS_NATIVE_THREAD_ID, DO_FR_PREVIOUS, DO_FR_EXECUTABLE,
		DO_FR_INSTR_PTR, DO_FR_OWNER, DO_CO_FILENAME, DO_CO_NAME,
		DO_CO_QUALNAME, DO_CO_LINETABLE, DO_CO_FIRSTLINENO,
		DO_CO_CODE_ADAPTIVE, DO_OB_TYPE, DO_BYTES_OB_SIZE,
		DO_BYTES_OB_SVAL, DO_STR_STATE, DO_STR_LENGTH, DO_STR_ASCII_SIZE,
	};
	_Static_assert(sizeof(fields) / sizeof(fields[0]) <= 32, "v[] too small");
	_Static_assert(DO_END <= PY_DEBUG_OFFSETS_SIZE, "buffer too small");

	if (len < DO_END || memcmp(buf + DO_COOKIE, "xdebugpy", 8))
		return -ENOENT;
	version = u64_at(buf, DO_VERSION);
	*ret_version = version;
	/* The struct grew in 3.14; only the 3.13 shape is known here. */
	if ((version >> 24) != 3 || ((version >> 16) & 0xff) != 13)
		return -ENOTSUP;
	if (u64_at(buf, DO_FREE_THREADED))
		return -ENOTSUP;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		v[i] = u64_at(buf, fields[i]);
		/* Every field sits inside a struct of at most a few pages,
		 * except the interpreter state (~100 KB in 3.13). */
		if (v[i] >= (1u << 20))
			return -EINVAL;
	}
	l.major = 3;
	l.minor = 13;
	l.frame_kind = PYFRAME_INTERP;
	l.line_kind = PYLINE_311;
	l.gil_kind = PYGIL_INTERP;
	l.rt_interp_head = v[0];
	l.is_next = v[1];
	l.is_tstate_head = v[2];
	l.is_gil = v[3];
	if (v[5] < v[4] || v[6] < v[4])
		return -EINVAL;
	l.gil_locked = v[5] - v[4];
	l.gil_last_holder = v[6] - v[4];
	l.ts_next = v[7];
	l.ts_interp = v[8];
	l.ts_frame = v[9];
	l.cframe_current_frame = PYLAYOUT_DIRECT_FRAME;
	l.ts_thread_id = v[10];
	l.ts_native_thread_id = v[11];
	l.fr_back = v[12];
	l.fr_code = v[13];
	l.fr_lasti = v[14];
	l.fr_owner = v[15];
	l.fr_size = max_u32(max_u32(l.fr_back, l.fr_code), l.fr_lasti) + 8;
	l.fr_size = (max_u32(l.fr_size, l.fr_owner + 1) + 7) & ~7u;
	l.co_filename = v[16];
	l.co_name = v[17];
	l.co_qualname = v[18];
	l.co_linetable = v[19];
	l.co_firstlineno = v[20];
	l.co_code_adaptive = v[21];
	l.co_size = max_u32(max_u32(l.co_filename, l.co_name), max_u32(l.co_qualname, l.co_linetable)) + 8;
	l.co_size = (max_u32(l.co_size, l.co_firstlineno + 4) + 7) & ~7u;
	l.ob_type = v[22];
	l.bytes_size = v[23];
	l.bytes_sval = v[24];
	l.str_state = v[25];
	l.str_length = v[26];
	l.str_ascii_data = v[27];
	/* PyCompactUnicodeObject adds utf8_length and utf8 (3.12+). */
	l.str_compact_data = v[27] + 16;
	l.str_legacy_data = l.str_compact_data;
	if (l.fr_size > 4096 || l.co_size > 4096 || l.str_ascii_data > 256)
		return -EINVAL;
	*ret = l;
	return 0;
}
