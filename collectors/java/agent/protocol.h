/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the daemon and libgpjavaagent.so agree on. The daemon sends
 * `load <agent> true <options>` over the attach socket; options are
 * comma-separated like async-profiler's:
 *   start,file=F,interval=NS,timeout=S[,sig][,dot][,ann][,maxmem=B]
 *   stop,file=F
 * Agent_OnAttach's return code (the "return code: N" of the reply) is one of
 * GPJA_RC_*. The agent writes F (which the daemon creates, owned by the
 * JVM's user): a first line "# gprofiler-java-agent 1 status=<ok|started|
 * error> ..." with key=value counters or "reason=<text>", then, after a
 * stop, collapsed stacks in async-profiler's grammar. Only the first
 * successful load returns 0 (so HotSpot records the agent once); later
 * successes return GPJA_RC_OK_AGAIN and HotSpot drops its duplicate entry,
 * so repeated sessions do not pile up agent records in the target.
 */
#ifndef GPJA_PROTOCOL_H
#define GPJA_PROTOCOL_H

#define GPJA_AGENT_NAME "libgpjavaagent.so"
#define GPJA_STATUS_PREFIX "# gprofiler-java-agent 1 "

#define GPJA_RC_OK 0
#define GPJA_RC_OK_AGAIN 99	/* success; the library was already resident */
#define GPJA_RC_BADARGS 91	/* unknown or missing option */
#define GPJA_RC_BUSY 92		/* SIGPROF or ITIMER_PROF owned by someone else */
#define GPJA_RC_JVMTI 93	/* JVMTI or AsyncGetCallTrace unavailable, or failed */
#define GPJA_RC_NOTRUNNING 94	/* stop without a session (e.g. it timed out) */
#define GPJA_RC_OUTPUT 95	/* could not write the output file */
#define GPJA_RC_STUCK 96	/* the previous session did not stop in time */

#endif
