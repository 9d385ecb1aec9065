/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What /proc says about one process, read once when it is first seen (it
 * may be gone by the time a session ends): comm, exe, argv, cwd, the pid in
 * its own namespace, its container id and its start time, which with the
 * pid identifies it across pid reuse.
 */
#ifndef GP_PROCINFO_H
#define GP_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

#define PROC_COMM_LEN 16

struct procinfo {
	int pid;
	uint64_t start_time;	/* clock ticks after boot, /proc/PID/stat field 22 */
	char comm[PROC_COMM_LEN];
	char *exe;		/* "" when unreadable */
	char **argv;		/* NULL-terminated; argc may be 0 */
	int argc;
	char *cwd;		/* "" when unreadable */
	int nspid;		/* pid in the innermost pid namespace */
	char *container_id;	/* NULL when not in a container */
};

/* Caller frees with procinfo__free(). NULL and errno (ENOENT: gone). */
struct procinfo *procinfo__read(int pid);
struct procinfo *procinfo__free(struct procinfo *pi);

/* Start time of pid. 0 or -errno. */
int proc_start_time(int pid, uint64_t *ret_start);
/* comm of pid into buf[PROC_COMM_LEN]. 0 or -errno. */
int proc_comm(int pid, char *buf);
/* Reads a whole small file (< max bytes). Caller frees; *ret_len gets the
 * length. NULL and errno. */
char *proc_read_file(const char *path, size_t max, size_t *ret_len);
/* The last run of 64 hex digits in a /proc/PID/cgroup text, as gProfiler
 * takes it. Caller frees; NULL when none. */
char *container_id_from_cgroup(const char *text);

#endif
