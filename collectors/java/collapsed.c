// SPDX-License-Identifier: Apache-2.0
/*
 * Collapsed-stack reader; see collapsed.h. A '(' that opens a well-formed
 * JVM method descriptor, "(" FieldType* ")" (FieldType | "V"), is consumed
 * as a unit and its class-name terminators become '|'; anything else
 * (C++ signatures, "[unknown]") is split on ';' as usual.
 */
#include "collapsed.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* End (exclusive) of the field type at s[i], or 0 if there is none. */
static size_t field_type(const char *s, size_t i)
{
	while (s[i] == '[')
		i++;
	if (s[i] && strchr("BCDFIJSZ", s[i]))
		return i + 1;
	if (s[i] != 'L')
		return 0;
	for (i++; s[i]; i++) {
		if (s[i] == ';' || s[i] == '|')
			return i + 1;
		if (s[i] == '(' || s[i] == ')' || s[i] == ' ' || s[i] == '[')
			return 0;
	}
	return 0;
}

/* End of the method descriptor opening at s[i] == '(', or 0. */
static size_t descriptor(const char *s, size_t i)
{
	size_t j = i + 1;

	while (s[j] && s[j] != ')') {
		size_t k = field_type(s, j);

		if (!k)
			return 0;
		j = k;
	}
	if (s[j] != ')')
		return 0;
	j++;
	if (s[j] == 'V')
		return j + 1;
	return field_type(s, j);
}

size_t collapsed_split(char *s, const char **frames, size_t max)
{
	size_t n = 0, i = 0, start = 0;

	for (;;) {
		if (s[i] == '(') {
			size_t end = descriptor(s, i);

			if (end) {
				for (size_t k = i; k < end; k++)
					if (s[k] == ';')
						s[k] = '|';
				i = end;
				continue;
			}
		}
		if (s[i] == ';' || !s[i]) {
			bool last = !s[i];

			s[i] = '\0';
			if (n < max)
				frames[n] = s + start;
			n++;
			if (last)
				break;
			start = i + 1;
		}
		i++;
	}
	return n;
}

static bool parse_count(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return true;
}

int collapsed_parse(struct profile *prof, uint32_t proc, const char *text, size_t len,
		    struct collapsed_stats *ret)
{
	struct collapsed_stats st = { 0 };
	const char **frames = NULL;
	size_t fcap = 0, lcap = 0;
	char *line = NULL;

	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - text - off) : len - off;
		const char *s = text + off, *sp;
		uint64_t count;
		size_t n;

		off += l + (nl ? 1 : 0);
		while (l && (s[l - 1] == '\r' || s[l - 1] == ' '))
			l--;
		if (!l || s[0] == '#')
			continue;
		sp = NULL;
		for (size_t i = l; i > 0; i--) {
			if (s[i - 1] == ' ') {
				sp = s + i - 1;
				break;
			}
		}
		if (!sp || sp == s || !parse_count(sp + 1, s + l - sp - 1, &count)) {
			st.bad++;
			continue;
		}
		if (!count)
			continue;
		xgrow((void **)&line, &lcap, (size_t)(sp - s) + 1, 1);
		memcpy(line, s, sp - s);
		line[sp - s] = '\0';
		n = collapsed_split(line, frames, fcap);
		if (n > fcap) {
			xgrow((void **)&frames, &fcap, n, sizeof(*frames));
			memcpy(line, s, sp - s);
			line[sp - s] = '\0';
			n = collapsed_split(line, frames, fcap);
		}
		profile__add_frames(prof, proc, frames, (uint32_t)n, count);
		st.samples += count;
		st.lines++;
	}
	free(line);
	free(frames);
	if (ret)
		*ret = st;
	return 0;
}
