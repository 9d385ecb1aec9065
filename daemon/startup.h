/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Start-up checks and process setup, with gProfiler's messages and exit
 * codes: root, the init pid namespace, the singleton lock (an abstract unix
 * socket bound in the host's network namespace, so one instance runs per
 * host even across containers), the pid file, no core files, umask 022.
 */
#ifndef GP_STARTUP_H
#define GP_STARTUP_H

#include <stdbool.h>

/* 0 when root; else prints gProfiler's message and returns -EPERM. */
int startup_check_root(void);
/* 0 in the init pid namespace; else prints the hint and returns -EPERM. */
int startup_check_pidns(void);
/* Takes the lock "\0<name>". Returns the socket fd (kept open for the
 * process's life), -EADDRINUSE when another instance holds it (message
 * printed), or another -errno (message printed). */
int startup_lock(const char *name);
/* Writes our pid; returns 0 or -errno. */
int startup_pid_file(const char *path);
void startup_process_setup(bool disable_core_files);

#endif
