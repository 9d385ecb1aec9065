/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finds a CPython interpreter inside a running process: which mapped ELF
 * (libpython or the executable) holds _PyRuntime, where it is loaded, and
 * the interpreter's version. The file is opened as the target sees it
 * (/proc/PID/map_files, else /proc/PID/root/<path>), so containers work;
 * what an ELF file says is cached by file identity (device, inode, size,
 * mtime) in a small bounded LRU shared by all jobs.
 */
#ifndef GP_PYRUNTIME_H
#define GP_PYRUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PYVERSION_LEN 32

struct pyruntime {
	unsigned int major, minor;
	char version[PYVERSION_LEN];	/* "3.11.2", "3.13.0rc1"; "" when unknown */
	uint64_t runtime;		/* address of _PyRuntime in the target */
	uint64_t code_type;		/* &PyCode_Type, 0 when unknown */
	uint64_t unicode_type;		/* &PyUnicode_Type, 0 when unknown */
	bool shared;			/* found in libpython, not the executable */
};

/*
 * Locates the interpreter of pid. Returns 0 and fills *ret; -ENOENT when
 * no mapped file exports _PyRuntime (not CPython, or too old), -ESRCH when
 * the process is gone, or another -errno.
 */
int pyruntime__find(int pid, struct pyruntime *ret);

/* Formats a PY_VERSION_HEX as CPython's PY_VERSION ("3.13.0rc1") into buf
 * (PYVERSION_LEN bytes). */
void pyversion_format(uint32_t hex, char *buf);

/*
 * Finds CPython's version string ("3.9.18 (main, ...") in text (len
 * bytes), the form Py_GetVersion() leaves in the interpreter's data.
 * Copies the version part into buf (PYVERSION_LEN) and returns 0, or
 * -ENOENT. Only major.minor versions equal to the ones given match when
 * minor >= 0.
 */
int pyversion_scan(const char *text, size_t len, int major, int minor, char *buf);

#endif
