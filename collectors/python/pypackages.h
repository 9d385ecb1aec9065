/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which package a Python source file belongs to, for gProfiler's frame
 * annotation "func (file.py:N [requests==2.31.0])" (on by default;
 * --no-python-versions turns it off): files of the standard library
 * (under pythonX.Y/, outside site- and dist-packages) get
 * "standard-library==<Python version>", files listed in the RECORD (or
 * legacy installed-files.txt) of a *.dist-info / *.egg-info in their
 * site-/dist-packages directory get "<Name>==<version>". Directories are
 * read once per owner, through /proc/PID/root, with bounded memory.
 */
#ifndef GP_PYPACKAGES_H
#define GP_PYPACKAGES_H

#include <stddef.h>

struct pypackages;

/* For the files process pid sees; python_version ("3.11.2") tags the
 * standard library, NULL or "" for none. Caller frees with
 * pypackages__free(). */
struct pypackages *pypackages__new(int pid, const char *python_version);
struct pypackages *pypackages__free(struct pypackages *p);

/* "name==version" for the file at path (absolute, as the process sees
 * it), or NULL. Borrowed until the pypackages is freed. */
const char *pypackages__tag(struct pypackages *p, const char *path);

/*
 * Adds the tag to a frame string the way gProfiler does: the first
 * "(<file>.py:<line>)" in frame becomes "(<file>.py:<line> [<tag>])".
 * Returns a new string (caller frees), or NULL when nothing changes.
 */
char *pypackages__annotate(struct pypackages *p, const char *frame, size_t len);

#endif
