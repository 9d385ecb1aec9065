/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --external-metadata FILE, as gProfiler reads it: a JSON object
 * {"static": {...}, "application": {"<pid>": {...}}} written by another
 * agent. "static" goes into the header's metadata.external_metadata;
 * "application" replaces a process's application_metadata entry. A file
 * last written more than 300 s ago is stale: fatal at start, ignored later.
 */
#ifndef GP_EXTMETA_H
#define GP_EXTMETA_H

#include <jansson.h>
#include <stddef.h>

#define EXTMETA_MAX_AGE_S 300

/* Loads path. On success *ret_static and *ret_app are new references
 * (empty objects when absent). Returns 0, or -errno with a reason in err
 * (-ESTALE: too old). */
int extmeta__load(const char *path, json_t **ret_static, json_t **ret_app, char *err,
		  size_t errlen);

#endif
