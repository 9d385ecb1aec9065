/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The output folder, as gProfiler keeps it: profile_<end time>.col and
 * .html, and the links last_profile.col and last_flamegraph.html. Files
 * appear atomically (written under a temporary name, then renamed), links
 * are swapped with a rename too, and --rotating-output removes the
 * previous target once the link has moved.
 */
#ifndef GP_OUTDIR_H
#define GP_OUTDIR_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

struct outfile {
	FILE *f;
	char *tmp_path;
	char *path;
};

/* Creates dir and its parents. 0 or -errno (-ENOTDIR when a component is
 * not a folder). */
int outdir__create(const char *dir);
/* Opens dir/name for writing under a temporary name. 0 or -errno. */
int outfile__open(struct outfile *o, const char *dir, const char *name);
/* Flushes, closes and renames into place. 0 or -errno (the temporary file
 * is removed on error). */
int outfile__commit(struct outfile *o);
void outfile__abort(struct outfile *o);
/* Points dir/link at target (a name in dir); with rotating, removes the
 * previous target. 0 or -errno. */
int outdir__link(const char *dir, const char *link, const char *target, bool rotating);

/* The base name of a session ending at `end`: "profile_<UTC ISO end>", as
 * gProfiler names files, with "_2", "_3"... when a file of that second
 * exists already (a session cut short by a signal can end in the same
 * second as the one before: it must not replace it). Caller frees. */
char *outdir__session_name(const char *dir, time_t end);

/* Writes dir/name through write(f, arg) atomically, then points dir/link
 * at it (rotating: the previous target is removed). 0 or -errno. */
int outdir__publish(const char *dir, const char *name, const char *link, bool rotating,
		    int (*write)(FILE *f, void *arg), void *arg);

#endif
