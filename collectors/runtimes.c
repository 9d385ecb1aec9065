// SPDX-License-Identifier: Apache-2.0
/*
 * The registry of runtime profilers, in the order the daemon tries them
 * on each process (the first whose match() accepts a process owns it).
 */
#include "runtimes.h"

#include <stddef.h>

#include "java/java.h"
#include "python/python.h"

const struct runtime_ops *const runtime_registry[] = {
	&python_runtime_ops,
	&java_runtime_ops,
	NULL,
};
