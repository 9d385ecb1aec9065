/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Python application ids, rule for rule as gProfiler 1.51 makes them
 * (metadata/application_identifiers.py): gunicorn (process title, then
 * argv), uvicorn, uwsgi (-w, --wsgi-file, or the module of its ini file),
 * celery (-A/--app, else -Q/--queues), pyspark, then python -m / script.
 * The first rule that matches wins; a rule that would raise in gProfiler
 * (an option with no value, an unreadable ini) yields to the next one.
 */
#ifndef GP_PYAPPID_H
#define GP_PYAPPID_H

#include "procinfo.h"

/* The appid of a Python process without the "appid: " prefix, or NULL.
 * Caller frees. */
char *python_appid(const struct procinfo *pi);

/*
 * Resolves path (absolute, as process pid sees it) under /proc/PID/root
 * one component at a time, so absolute symlinks inside the process's
 * mount namespace stay inside it, and returns it without the root prefix
 * (granulate_utils' resolve_proc_root_links). Caller frees; NULL with
 * errno on a symlink loop or a relative path.
 */
char *proc_root_resolve(int pid, const char *path);

/* True when basename(path) matches ^python([23](\.\d{1,2})?)?$. */
int python_is_bin(const char *path);

#endif
