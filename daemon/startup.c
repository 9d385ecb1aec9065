// SPDX-License-Identifier: Apache-2.0
/* See startup.h. setns() here runs before any thread is started. */
#include "startup.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The kernel's inode number of the initial pid namespace. */
#define PROC_PID_INIT_INO 0xEFFFFFFCU

int startup_check_root(void)
{
	if (geteuid() == 0)
		return 0;
	fputs("Must run gprofiler as root, please re-run.\n", stderr);
	return -EPERM;
}

int startup_check_pidns(void)
{
	struct stat st;

	if (!stat("/proc/self/ns/pid", &st) && st.st_ino == PROC_PID_INIT_INO)
		return 0;
	fputs("Please run me in the init PID namespace! In Docker, make sure you pass '--pid=host'. "
	      "In Kubernetes, add 'hostPID: true' in the Pod spec.\n"
	      "You can disable this check with --disable-pidns-check.\n",
	      stderr);
	return -EPERM;
}

static int bind_abstract(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd;

	if (len + 1 > sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path + 1, name, len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + len)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int startup_lock(const char *name)
{
	int self_ns, host_ns, fd;

	/* Bind in the host's network namespace, where every instance on the
	 * host (in containers too) meets the same abstract name. */
	self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	host_ns = open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_ns >= 0 && host_ns >= 0 && setns(host_ns, CLONE_NEWNET) == 0) {
		fd = bind_abstract(name);
		if (setns(self_ns, CLONE_NEWNET)) {
			perror("gprofiler: cannot return to our network namespace");
			if (fd >= 0)
				close(fd);
			fd = -EIO;
		}
	} else {
		fd = bind_abstract(name);
	}
	if (self_ns >= 0)
		close(self_ns);
	if (host_ns >= 0)
		close(host_ns);
	if (fd == -EADDRINUSE)
		fputs("Could not acquire gProfiler's lock. Is it already running?\n", stderr);
	else if (fd < 0)
		fprintf(stderr,
			"Could not acquire gProfiler's lock due to an error (%s). Are you running "
			"gProfiler in privileged mode?\n",
			strerror(-fd));
	return fd;
}

int startup_pid_file(const char *path)
{
	char buf[32];
	int fd, n;

	if (!path || !path[0])
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d", getpid());
	if (write(fd, buf, n) != n) {
		int e = -errno;

		close(fd);
		return e ? e : -EIO;
	}
	close(fd);
	return 0;
}

void startup_process_setup(bool disable_core_files)
{
	umask(022);
	if (disable_core_files) {
		struct rlimit rl = { 0, 0 };

		setrlimit(RLIMIT_CORE, &rl);
	}
}
