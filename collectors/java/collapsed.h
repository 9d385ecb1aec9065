/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reader of async-profiler's collapsed output, which our own agent also
 * writes: "frame;frame;... count" per line, root first. With "sig", Java
 * frames carry method descriptors whose class names end in ';'; those are
 * told from frame separators by the descriptor grammar and become '|', as
 * gProfiler shows them ("Fibonacci.main([Ljava/lang/String|)V_[j]").
 */
#ifndef GP_JAVA_COLLAPSED_H
#define GP_JAVA_COLLAPSED_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct collapsed_stats {
	uint64_t samples;	/* sum of counts added */
	uint64_t lines;		/* stack lines added */
	uint64_t bad;		/* lines that were not "frames count" */
};

/* Adds every stack of text to process proc of prof. Lines starting with
 * '#' and blank lines are skipped. Returns 0 (bad lines are counted). */
int collapsed_parse(struct profile *prof, uint32_t proc, const char *text, size_t len,
		    struct collapsed_stats *ret);

/* Splits one line's frames part in place: writes NULs between frames and
 * '|' for descriptor semicolons; fills frames (up to max). Returns the
 * frame count (more than max means truncated). */
size_t collapsed_split(char *s, const char **frames, size_t max);

#endif
