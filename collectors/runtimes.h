/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime profilers the daemon knows; see runtime.h. */
#ifndef GP_RUNTIMES_H
#define GP_RUNTIMES_H

#include "runtime.h"

/* NULL-terminated. */
extern const struct runtime_ops *const runtime_registry[];

#endif
