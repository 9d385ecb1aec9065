/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel symbols from /proc/kallsyms (text symbols of the kernel and its
 * modules). Loaded once; reloaded by the owner when modules change.
 */
#ifndef GP_KALLSYMS_H
#define GP_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct kallsyms;

/* Reads path (normally "/proc/kallsyms"). Caller frees with
 * kallsyms__free(). NULL and errno on failure; EPERM when the addresses
 * are hidden (kptr_restrict). */
struct kallsyms *kallsyms__load(const char *path);
struct kallsyms *kallsyms__free(struct kallsyms *k);
/* Name of the function holding addr, or NULL. Borrowed. */
const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr);
size_t kallsyms__count(const struct kallsyms *k);
size_t kallsyms__bytes(const struct kallsyms *k);

#endif
