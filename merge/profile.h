/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The profile model shared by every stage: interned strings (frames, comms,
 * container names, appids), interned stacks (arrays of string ids, root
 * first), processes, and a count per (process, stack).
 *
 * Collectors add to a profile, merge/ combines one native profile with
 * runtime profiles, output/ writes the result. Everything is interned once,
 * so adding a sample that was seen before allocates nothing. A profile is
 * not thread-safe: each runtime job fills its own and the session merges.
 */
#ifndef GP_PROFILE_H
#define GP_PROFILE_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t gp_str;	/* interned string id; 0 is "" */

/* Which sampler produced a process's stacks. */
enum gp_source {
	GP_SRC_NATIVE = 0,
	GP_SRC_PYTHON,
	GP_SRC_JAVA,
	GP_SRC_RUBY,
	GP_SRC_PHP,
	GP_SRC_DOTNET,
};

struct profile_proc {
	int32_t pid;		/* host pid, or -1 when the source does not say */
	gp_str comm;
	gp_str container;	/* container name, "" when none */
	gp_str appid;		/* without the "appid: " prefix, "" when none */
	int32_t app_meta;	/* index into application_metadata, 0 = null */
	enum gp_source source;
};

struct profile_sample {
	uint32_t proc;
	uint32_t stack;
	uint64_t count;
};

struct profile;

/* Caller frees with profile__free(). */
struct profile *profile__new(void);
/* Accepts NULL; returns NULL. */
struct profile *profile__free(struct profile *p);

gp_str profile__intern(struct profile *p, const char *s, size_t len);
gp_str profile__intern_cstr(struct profile *p, const char *s);
/* Borrowed until the profile is freed. */
const char *profile__str(const struct profile *p, gp_str id);
size_t profile__strlen(const struct profile *p, gp_str id);

/* Finds or adds the process (pid, comm, source); returns its index. New
 * processes have no container, appid or metadata. */
uint32_t profile__proc(struct profile *p, int32_t pid, gp_str comm, enum gp_source src);
/* Borrowed until the next profile__proc() on the same profile. */
struct profile_proc *profile__proc_at(struct profile *p, uint32_t idx);
uint32_t profile__nprocs(const struct profile *p);

/* Interns a stack of n frames (root first); returns its id. */
uint32_t profile__stack(struct profile *p, const gp_str *frames, uint32_t n);
/* Borrowed until the next profile__stack(). */
const gp_str *profile__stack_frames(const struct profile *p, uint32_t stack, uint32_t *ret_n);

/* Adds count samples of stack to process proc (counts of equal pairs sum). */
void profile__add(struct profile *p, uint32_t proc, uint32_t stack, uint64_t count);
/* Adds a stack given as frame strings (root first). */
void profile__add_frames(struct profile *p, uint32_t proc, const char *const *frames,
			 uint32_t n, uint64_t count);

/* All samples in insertion order; borrowed until the next profile__add(). */
const struct profile_sample *profile__samples(const struct profile *p, size_t *ret_n);
uint64_t profile__total(const struct profile *p);
/* Sum of the counts of process proc. */
uint64_t profile__proc_total(const struct profile *p, uint32_t proc);

#endif
