/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The application_metadata entry of a Python process, with gProfiler's
 * keys and values: python_version ("Python 3.11.2", for processes whose
 * executable or argv[0] is python*, or uwsgi), exe_elfid and
 * libpython_elfid ("buildid:<hex>", "sha1:<hex>" without a build id, or
 * null), sys_maxunicode (null: Python 2 only), exe, execfn (AT_EXECFN
 * from /proc/PID/auxv) and arch (of the executable's ELF). The version is
 * read from the process's own memory, not by running its binary.
 */
#ifndef GP_PYMETA_H
#define GP_PYMETA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "procinfo.h"

/* New reference; NULL when the process is gone. */
json_t *python_app_metadata(const struct procinfo *pi);

/* "buildid:<hex>" or "sha1:<hex>" of the ELF file at path; caller frees;
 * NULL with errno when it cannot be read or is not ELF. */
char *elf_id_of(const char *path);

/* AT_EXECFN of pid. Caller frees; NULL with errno. */
char *proc_execfn(int pid);

/* "x86_64" / "aarch64" for an ELF e_machine, NULL for others. */
const char *elf_machine_arch(unsigned int e_machine);

#endif
