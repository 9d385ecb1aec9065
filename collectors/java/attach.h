/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HotSpot's dynamic attach protocol, spoken directly (no jattach, no jcmd):
 * the .attach_pid<nspid> trigger and SIGQUIT start the JVM's attach
 * listener, which serves one request per connection on the unix socket
 * /tmp/.java_pid<nspid> in its mount namespace, to peers with its own
 * euid/egid. A request is "1\0<cmd>\0<a1>\0<a2>\0<a3>\0"; the reply is a
 * status line and text.
 */
#ifndef GP_JAVA_ATTACH_H
#define GP_JAVA_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "jvm.h"

/* HotSpot's limits on a request (AttachOperation name and arg lengths). */
#define JATTACH_NAME_MAX 16
#define JATTACH_ARG_MAX 1024

struct jattach_reply {
	int status;	/* first line: 0 when the JVM ran the command */
	/* For "load", the agent's return code: line 2 "return code: N" on
	 * JDK 9+, a bare "N" on JDK 8. JDK 21+ answers 0 and puts its error
	 * text on line 2 when the library cannot be loaded; then code is -1
	 * and load_failed is set. For other commands, the status. */
	int code;
	bool load_failed;
	char *text;	/* the rest (load: after the code line); malloc'd, never NULL */
};

/* Parses a reply. 0, or -EPROTO when the status line is not a number. */
int jattach_parse_reply(const char *buf, size_t len, bool is_load, struct jattach_reply *ret);
void jattach_reply__clear(struct jattach_reply *r);

/* Builds "1\0cmd\0a1\0a2\0a3\0" (NULL args are empty). Caller frees.
 * NULL with errno E2BIG when an argument exceeds HotSpot's limits. */
char *jattach_request(const char *cmd, const char *a1, const char *a2, const char *a3,
		      size_t *ret_len);

/* Runs one command on the JVM, starting its attach listener if needed;
 * everything (listener start, connect, reply) within timeout_ms. 0 with
 * *ret filled (caller clears), or -errno: -ESRCH the JVM is gone,
 * -ENOTSUP it does not catch SIGQUIT (-Xrs, or still starting) so the
 * listener cannot be started, -ETIMEDOUT, -ECONNREFUSED...; then ret->text
 * may hold details (caller clears) and the rest of *ret is unset. */
int jattach__run(const struct jvm *j, const char *cmd, const char *a1, const char *a2,
		 const char *a3, int timeout_ms, struct jattach_reply *ret);

/* jcmd: the command's text on success (caller frees); -EPROTO with the
 * JVM's error text in *ret_text when it refused the command; other errors
 * with details or NULL in *ret_text. */
int jattach__jcmd(const struct jvm *j, const char *command_line, int timeout_ms, char **ret_text);

/* load <path> true <options>: 0 with the agent's return code and the
 * reply text (caller frees); -EPROTO (with the text) when the JVM could not
 * load the library or run Agent_OnAttach; other errors as for jcmd. */
int jattach__load(const struct jvm *j, const char *path, const char *options, int timeout_ms,
		  int *ret_code, char **ret_text);

/* A sentence for an attach error code (static). */
const char *jattach_strerror(int err);

#endif
