/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the unit tests. */
#ifndef GP_TESTUTIL_H
#define GP_TESTUTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs argv (from PATH) with stderr silenced; returns its exit status, -1
 * if it did not exit. */
static inline int run_quiet(const char *const argv[])
{
	pid_t p = fork();
	int st;

	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline int rm_entry_(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it, following no links. */
static inline int rm_tree(const char *dir)
{
	return nftw(dir, rm_entry_, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
