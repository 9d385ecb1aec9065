/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files the Java profiler keeps inside a JVM's mount namespace, as gProfiler
 * lays them out: <base>/gprofiler_tmp/ where base is the first root-owned,
 * writable, exec-mountable folder of /tmp, /run, /opt, /dev (a library on a
 * noexec mount cannot be mapped). The agent library goes in a folder named
 * by its content hash, written to a temporary folder and renamed into place,
 * so a file a JVM has mapped is never rewritten and concurrent installers
 * race safely. Output files are created fresh, owned by the JVM's user
 * (mode 0600) so the JVM can write them and nobody else can read them.
 */
#ifndef GP_JAVA_JVMFILES_H
#define GP_JAVA_JVMFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jvm.h"

/* A library to install into JVMs. */
struct jvm_lib {
	char *path;		/* on the host */
	char *name;		/* file name in the target ("libgpjavaagent.so") */
	char *dir;		/* "<prefix>-<content hash>" */
	uint64_t size;
};

/* Caller frees with jvm_lib__free(). NULL and errno. */
struct jvm_lib *jvm_lib__new(const char *path, const char *dir_prefix, const char *name);
struct jvm_lib *jvm_lib__free(struct jvm_lib *l);

/* Paths as the JVM sees them. */
struct jvm_files {
	char *base;		/* <base>/gprofiler_tmp */
	char *lib;		/* <base>/gprofiler_tmp/<dir>/<name> */
	char *out;		/* <base>/gprofiler_tmp/<tag>-<pid>-<daemon pid>.out */
	char *log;		/* the same with .log, or NULL */
};

/* Installs lib (if not there yet) and creates the output (and log) files.
 * 0 or -errno (-ENOENT: no usable folder). Caller clears ret. */
int jvm_files__prepare(const struct jvm *j, const struct jvm_lib *lib, const char *tag,
		       bool with_log, struct jvm_files *ret);
void jvm_files__clear(struct jvm_files *f);

/* Reads up to max bytes of a regular file in the JVM's namespace (caller
 * frees *ret), then unlinks it if asked. 0 or -errno. */
int jvm_files__read(const struct jvm *j, const char *path, size_t max, bool unlink_after,
		    char **ret, size_t *ret_len);
/* Unlinks files (NULL entries skipped). */
void jvm_files__unlink(const struct jvm *j, const char *a, const char *b);

/* Looks for the HotSpot fatal error log of the JVM written at or after
 * since (CLOCK_REALTIME seconds): -XX:ErrorFile (error_file, may be NULL;
 * %p is the ns pid), hs_err_pid<nspid>.log in its cwd, then in /tmp. 0
 * with the path and its "# Problematic frame:" line (or "") in *ret_what
 * (caller frees), -ENOENT when there is none. */
int jvm_files__find_hserr(const struct jvm *j, const char *error_file, time_t since,
			  char **ret_what);

#endif
