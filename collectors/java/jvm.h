/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One JVM the Java profiler works on, by handles that survive pid reuse and
 * the JVM's exit (a pidfd, its mount namespace's fd), and a way to act
 * inside its mount namespace: jvm__run() forks a short-lived child that
 * enters the namespace (and, if asked, the JVM's credentials), runs one
 * function and reports back over a pipe and a memfd. The daemon's own
 * namespaces and credentials are never touched, and the child is killed
 * when it overruns its bound.
 */
#ifndef GP_JAVA_JVM_H
#define GP_JAVA_JVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct jvm {
	int pid;		/* host pid */
	int nspid;		/* pid in its own namespace (names the attach files) */
	uint64_t start_time;
	uid_t uid;		/* effective ids, as the host sees them */
	gid_t gid;
	int pidfd;		/* -1 without pidfd_open() */
	int mntns_fd;		/* keeps its mount namespace reachable after exit */
	int pidns_fd;		/* its pid namespace, or -1 */
	int cwd_fd;		/* O_PATH of its working directory, or -1 */
	char *cwd;		/* its working directory as it sees it ("" if unknown) */
	char comm[16];
	bool own_mntns;		/* shares the daemon's mount namespace */
	bool own_pidns;		/* shares the daemon's pid namespace */
	bool sigquit;		/* catches SIGQUIT, so attach can start its listener */
};

/* Opens pid; with start_time != 0, fails with ESRCH unless the process
 * started then. Caller frees with jvm__free(). NULL and errno. */
struct jvm *jvm__open(int pid, uint64_t start_time);
struct jvm *jvm__free(struct jvm *j);

/* True while the process runs (a recycled pid is not it). */
bool jvm__alive(const struct jvm *j);
/* Sleeps up to ms or until the process exits; true when it has exited. */
bool jvm__wait_exit(const struct jvm *j, int ms);

/* Runs in the child, inside the JVM's mount namespace (cwd and root are
 * its root), as root. Only async-signal-safe calls: the daemon is
 * multi-threaded. Writes its output to out_fd; returns 0 or -errno. */
typedef int (*jvm_child_fn)(const struct jvm *j, void *arg, int out_fd);

/* Runs fn in a child for at most timeout_ms (then kills it: -ETIMEDOUT).
 * Returns fn's result. When fn returned (0 or not), *ret_out (caller frees,
 * NUL-terminated) gets up to max bytes of its output and *ret_len their
 * count; on -ETIMEDOUT or a crash (-ECHILD) it is left alone. ret_out may
 * be NULL. */
int jvm__run(const struct jvm *j, jvm_child_fn fn, void *arg, int timeout_ms, size_t max,
	     char **ret_out, size_t *ret_len);

/* In a child: takes the JVM's effective uid and gid (supplementary groups
 * dropped). 0 or -errno. */
int jvm_child_become(const struct jvm *j);
/* In a child: CLOCK_MONOTONIC in ns. */
uint64_t jvm_child_now(void);

#endif
