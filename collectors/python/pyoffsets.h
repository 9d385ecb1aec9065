/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where CPython keeps what a stack walk needs, per minor version: offsets
 * into _PyRuntimeState, PyInterpreterState, PyThreadState, frames, code,
 * str and bytes objects (x86_64 and aarch64 share them: LP64, no packing).
 * 3.8-3.12 come from tables written from each version's headers (checked
 * against the compiler by tests/integration/test_python_offsets.py); 3.13
 * and later describe themselves in _Py_DebugOffsets at _PyRuntime+0, which
 * is preferred when its cookie and version check out.
 */
#ifndef GP_PYOFFSETS_H
#define GP_PYOFFSETS_H

#include <stddef.h>
#include <stdint.h>

enum pyframe_kind {
	PYFRAME_OBJECT = 0,	/* <= 3.10: PyFrameObject chain, f_back */
	PYFRAME_INTERP,		/* 3.11+: _PyInterpreterFrame chain, previous */
};

enum pyline_kind {
	PYLINE_LNOTAB = 0,	/* 3.8, 3.9: co_lnotab, f_lasti in bytes */
	PYLINE_310,		/* 3.10: co_linetable, f_lasti in code units */
	PYLINE_311,		/* 3.11+: location table, instruction pointer */
};

/* How the GIL holder is found. */
enum pygil_kind {
	PYGIL_TSTATE_CURRENT = 0, /* <= 3.11: _PyRuntime.gilstate.tstate_current */
	PYGIL_INTERP,		  /* 3.12+: interp->ceval.gil -> {last_holder, locked} */
};

struct pylayout {
	uint8_t major, minor;
	enum pyframe_kind frame_kind;
	enum pyline_kind line_kind;
	enum pygil_kind gil_kind;
	/* _PyRuntimeState */
	uint32_t rt_interp_head;
	uint32_t rt_tstate_current;	/* PYGIL_TSTATE_CURRENT */
	/* PyInterpreterState */
	uint32_t is_next, is_tstate_head;
	uint32_t is_gil;		/* PYGIL_INTERP: struct _gil_runtime_state * */
	uint32_t gil_last_holder, gil_locked;	/* in struct _gil_runtime_state */
	/* PyThreadState */
	uint32_t ts_next, ts_interp;
	uint32_t ts_frame;		/* frame (<=3.10), cframe (3.11, 3.12), current_frame */
	uint32_t cframe_current_frame;	/* in _PyCFrame; UINT32_MAX: ts_frame is direct */
	uint32_t ts_thread_id;
	uint32_t ts_native_thread_id;	/* 0 when the version has none */
	/* frame */
	uint32_t fr_back, fr_code, fr_lasti;	/* fr_lasti: f_lasti int, or instr pointer */
	uint32_t fr_owner;		/* char; PYFRAME_INTERP only */
	uint32_t fr_size;		/* bytes to read to cover the fields above */
	/* PyCodeObject */
	uint32_t co_firstlineno, co_filename, co_name, co_qualname, co_linetable;
	uint32_t co_code_adaptive;	/* 3.11+: first code unit, inline */
	uint32_t co_size;		/* bytes to read to cover the fields above */
	/* str, bytes, object */
	uint32_t str_length, str_state, str_ascii_data, str_compact_data, str_legacy_data;
	uint32_t bytes_size, bytes_sval;
	uint32_t ob_type;
};

#define PYLAYOUT_DIRECT_FRAME UINT32_MAX

/* The owner value of a shim frame that has no Python code (3.12+). */
#define PYFRAME_OWNED_BY_CSTACK 3

/* The table for major.minor, or NULL when the version is unsupported.
 * Borrowed (static). */
const struct pylayout *pylayout_for_version(unsigned int major, unsigned int minor);

/* The versions with a table, for tests and messages: "3.8-3.13". */
const char *pylayout_supported(void);

/* Size of the _Py_DebugOffsets prefix this parser understands. */
#define PY_DEBUG_OFFSETS_SIZE 584

/*
 * Builds a layout from the _Py_DebugOffsets bytes at _PyRuntime+0 (at
 * least PY_DEBUG_OFFSETS_SIZE of them). Returns 0; -ENOENT when the cookie
 * is absent, -ENOTSUP for a version or free-threaded build whose struct
 * this parser does not know, -EINVAL when an offset is implausible.
 * *ret_version gets the PY_VERSION_HEX it states (when not -ENOENT).
 */
int pylayout_from_debug_offsets(const uint8_t *buf, size_t len, struct pylayout *ret,
				uint64_t *ret_version);

#endif
