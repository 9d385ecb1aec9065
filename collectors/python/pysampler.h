/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in CPython sampler: one sample reads, without stopping the
 * target, which thread holds the GIL (as `py-spy --gil` does: a thread
 * that is not running Python code is not on CPU for Python) and walks its
 * frames to a stack of "func (file:line)_[p]" frames, root first. Code
 * objects are cached by address and revalidated on every sample, so a
 * stack costs a few page-sized reads; the cache is bounded.
 */
#ifndef GP_PYSAMPLER_H
#define GP_PYSAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "profile.h"
#include "pyoffsets.h"
#include "pyruntime.h"

/* Deepest stack kept; deeper stacks keep their outermost (root) frames.
 * A frame chain longer than PYSAMPLER_MAX_WALK is taken for a torn read. */
#define PYSAMPLER_MAX_DEPTH 512
#define PYSAMPLER_MAX_WALK 8192

enum pyline_mode {
	/* co_firstlineno, as gProfiler's `py-spy -F` (function granularity) */
	PYLINE_MODE_FIRST = 0,
	/* the line being executed */
	PYLINE_MODE_CURRENT,
};

struct pysampler_stats {
	uint64_t samples;	/* pysampler__sample() calls */
	uint64_t stacks;	/* stacks added (GIL held, walk succeeded) */
	uint64_t idle;		/* no thread held the GIL */
	uint64_t errors;	/* torn or failed walks, dropped */
	uint64_t syscalls;	/* process_vm_readv calls */
	uint64_t pages;		/* pages they read */
	uint64_t frames;	/* frames walked */
};

struct pysampler;

/*
 * Prepares sampling pid, whose interpreter rt describes. Checks the
 * layout against the live process. Returns NULL with errno and a static
 * reason in *ret_reason: ENOTSUP (version without a layout), ESRCH (gone),
 * EPROTO (the layout did not validate). Caller frees with pysampler__free().
 */
struct pysampler *pysampler__new(int pid, const struct pyruntime *rt, enum pyline_mode mode,
				 const char **ret_reason);
struct pysampler *pysampler__free(struct pysampler *s);

/*
 * Takes one sample into proc of prof (frames interned there; use one
 * profile for the sampler's lifetime). Returns the number of stacks added
 * (0 when no thread holds the GIL or the walk was torn), or -ESRCH when
 * the process is gone.
 */
int pysampler__sample(struct pysampler *s, struct profile *prof, uint32_t proc);

struct pypackages;

/* Tags frames of package files with " [pkg==ver]" (gProfiler's default);
 * pkgs is borrowed for the sampler's lifetime, NULL turns tags off. Set
 * before the first sample. */
void pysampler__set_packages(struct pysampler *s, struct pypackages *pkgs);

/* The layout in use (borrowed). */
const struct pylayout *pysampler__layout(const struct pysampler *s);
void pysampler__stats(const struct pysampler *s, struct pysampler_stats *ret);

#endif
