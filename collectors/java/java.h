/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Java runtime profiler (runtime.h's interface): HotSpot JVMs found by
 * a mapped libjvm.so are profiled through the attach protocol with either
 * our own JVMTI agent (libgpjavaagent.so, "builtin") or async-profiler when
 * one is available ("ap", gProfiler's default; it falls back to builtin).
 * Runtime options (runtime_job_config.options) it reads:
 *   ap_path             libasyncProfiler.so to use (--java-async-profiler-path)
 *   java_agent_path     our agent, when not at its usual places
 *   ap_mode             async-profiler event: itimer (default) or cpu
 *   ap_args             extra async-profiler arguments (start and stop)
 *   java_agent_margin   seconds after the session's end at which an agent
 *                       nobody stopped stops itself (default 30)
 *   java_frames         "ap" (default: pkg/Class.method(desc)_[j], gProfiler's
 *                       frames from async-profiler "ann,sig") or "dotted"
 *                       (pkg.Class.method_[j])
 * appid() and app_metadata() get no options; java_configure() sets theirs:
 *   java_collect_jvm_flags  default|all|none|a,b (--java-collect-jvm-flags)
 *   app_id_args_filter  a POSIX extended regex of jvm_args to add to the
 *                       appid (--app-id-args-filter; the name may repeat)
 */
#ifndef GP_JAVA_JAVA_H
#define GP_JAVA_JAVA_H

#include <jansson.h>
#include <stdbool.h>

#include "runtime.h"

extern const struct runtime_ops java_runtime_ops;

/* Options for appid() and app_metadata() (NULL-terminated name/value
 * pairs, copied). Call before the first session; optional. */
void java_configure(const char *const *options);

/* Which backend --java-mode=mode uses with these options, as a sentence
 * for the daemon's log ("async-profiler /x/libasyncProfiler.so", "built-in
 * sampler (no async-profiler found: ...)"). Caller frees. */
char *java_backend_describe(const char *mode, const char *const *options);

/* Set once a profiled JVM crashed (hs_err): the reason Java profiling is
 * off for the rest of the daemon's life, or NULL. Caller frees. */
char *java_disabled_reason(void);

/* The ops' appid() and app_metadata() (javameta.c). */
char *java_appid(const struct procinfo *pi);
json_t *java_app_metadata(const struct procinfo *pi);

/* ---- pieces, exposed for tests ---- */

/* The appid of a "jcmd VM.command_line" text: "java: <first token of
 * java_command>", plus " (<jvm_args matching any of the POSIX extended
 * regexes in filters>)". NULL when there is no java_command. Caller frees. */
char *java_appid_from_command_line(const char *text, const char *const *filters);

/* The libjvm.so path mapped in a /proc/PID/maps text and its address
 * range ("7f..-7f.."), or false. */
bool java_maps_libjvm(const char *maps, char **ret_path, char **ret_range);

/* True when maps shows a libjvm.so (gProfiler's "^.+/libjvm\.so"). */
bool java_maps_match(const char *maps);

/* The start/stop option strings of async-profiler, as gProfiler passes
 * them. Caller frees. */
char *java_ap_start_args(const char *event, const char *out, const char *log,
			 unsigned int frequency, unsigned int timeout_s, const char *extra);
char *java_ap_stop_args(const char *out, const char *log, const char *extra);

#endif
