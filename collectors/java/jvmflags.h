/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jvm_flags entry of Java application metadata, from the text of
 * "jcmd VM.flags -all", exactly as gProfiler builds it: a list sorted by
 * name of {"<name>": {"type", "value", "origin", "kind": [sorted]}}, without
 * ccstr/ccstrlist flags (values may hold spaces) and manageable ones (they
 * change at run time). Line grammar (JDK 9+, JDK 8 has no origin and marks
 * non-default values with ":="):
 *   <type> <name> [:]= <value> {<kind> <kind>...} {<origin>}
 */
#ifndef GP_JAVA_JVMFLAGS_H
#define GP_JAVA_JVMFLAGS_H

#include <jansson.h>

/* filter: "default" (gProfiler's default: also drops origin "default" and
 * notproduct/pd/develop kinds), "all", "none"/"" (empty list), or a comma
 * list of flag names. New reference. */
json_t *jvm_flags_parse(const char *text, const char *filter);

#endif
