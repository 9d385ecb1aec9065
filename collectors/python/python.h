/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Python runtime profiler: matches CPython processes by their mapped
 * files (gProfiler's regex and skip list) and profiles each with the
 * built-in sampler or py-spy, per --python-mode:
 *   auto     built-in; py-spy when the version is not supported and a
 *            py-spy binary exists (option "pyspy_path", PATH, or beside
 *            our executable)
 *   builtin  built-in only;  pyspy / py-spy  py-spy only;  disabled
 * Options (cfg->options): "pyspy_path"; "python_lineno" = "first"
 * (default: the function's first line, as gProfiler's `py-spy -F`) or
 * "current" (the line being executed); "python_add_versions" = "false"
 * for --no-python-versions (default: frames of package files get
 * gProfiler's " [pkg==ver]" / " [standard-library==X.Y.Z]" tag).
 */
#ifndef GP_PYTHON_H
#define GP_PYTHON_H

#include <stdbool.h>

#include "runtime.h"

extern const struct runtime_ops python_runtime_ops;

/* gProfiler's DETECTED_PYTHON_PROCESSES_REGEX on one maps path:
 * (^.+/(lib)?python[^/]*$)|(^.+/site-packages/.+?$)|(^.+/dist-packages/.+?$) */
bool python_maps_path_matches(const char *path, size_t len);

/* The value of option name in a NULL-terminated name/value list, or NULL. */
const char *python_option(const char *const *options, const char *name);

#endif
