/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's log, as gProfiler writes it: "[2024-10-20 15:03:47,123]
 * INFO: gprofiler: message" on stdout (INFO, or DEBUG with -v) and in a
 * size-rotated file (DEBUG). Only daemon/ logs; lower layers return codes.
 * Thread-safe.
 */
#ifndef GP_LOG_H
#define GP_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_DEBUG = 0,
	LOG_LVL_INFO,
	LOG_LVL_WARNING,
	LOG_LVL_ERROR,
	LOG_LVL_CRITICAL,
};

/* Opens the log file (creating its folder). path NULL or "" for none.
 * Returns 0 or -errno; the console log works either way. */
int log_open(bool verbose, const char *path, size_t max_bytes, int backups);
void log_close(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Count of ERROR+ lines so far (tests check a clean run). */
unsigned long log_errors(void);

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_critical(...) log_msg(LOG_LVL_CRITICAL, __VA_ARGS__)

#endif
