/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The py-spy driver: runs a user-provided py-spy exactly as gProfiler does
 * (`py-spy record -r F -d D --nonblocking --format raw -F --output OUT -p
 * PID --full-filenames --gil`, F capped at 50, killed after D+10 s), reads
 * its raw (folded) output and reports failures with gProfiler's reasons.
 * Used by --python-mode pyspy, and by auto for versions the built-in
 * sampler does not know.
 */
#ifndef GP_PYSPY_H
#define GP_PYSPY_H

#include <stddef.h>

#include "profile.h"
#include "pypackages.h"
#include "runtime.h"

#define PYSPY_MAX_FREQUENCY 50
#define PYSPY_EXTRA_TIMEOUT_S 10

/*
 * Adds the stacks of py-spy raw output (text, len bytes) to proc of prof,
 * as gProfiler reads it: one "frames count" line each, split at the last
 * space; blank and '#' lines and lines without a valid count are skipped.
 * Frames get the "_[p]" suffix when py-spy did not write it (upstream
 * py-spy; Granulate's fork writes it), and " [pkg==ver]" package tags
 * when pkgs is given. Returns the number of lines taken.
 */
int pyspy_parse_raw(const char *text, size_t len, struct profile *prof, uint32_t proc,
		    struct pypackages *pkgs);

/* The py-spy command line; NULL-terminated, caller frees with
 * pyspy_argv_free(). */
char **pyspy_argv(const char *pyspy, int pid, unsigned int frequency, unsigned int duration_s,
		  const char *output);
void pyspy_argv_free(char **argv);

/*
 * The py-spy to run: path when given (must be executable), else "py-spy"
 * on PATH, else next to our own binary. Caller frees; NULL when none.
 */
char *pyspy_find(const char *path);

/* Profiles cfg->pid with the py-spy at pyspy; fills res (prof with one
 * process (pid, comm), or error). pkgs as for pyspy_parse_raw. Returns 0. */
int pyspy_profile(const struct runtime_job_config *cfg, const char *pyspy, const char *comm,
		  struct pypackages *pkgs, struct runtime_result *res);

#endif
