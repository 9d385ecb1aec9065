// SPDX-License-Identifier: Apache-2.0
/*
 * Line-number table decoders; see pylinetable.h. Written from the formats
 * CPython documents (Objects/lnotab_notes.txt, Objects/locations.md): each
 * walks the table once from co_firstlineno, in O(table length), and every
 * byte access is bounds-checked because the table was copied from a live
 * process and may be torn.
 */
#include "pylinetable.h"

int pyline_lnotab(const uint8_t *tab, size_t len, int firstlineno, int lasti)
{
	int line = firstlineno, addr = 0;

	/* Pairs of (unsigned address increment, signed line increment); the
	 * line applies from the accumulated address on. */
	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > lasti)
			break;
		line += (int8_t)tab[i + 1];
	}
	return line;
}

int pyline_linetable310(const uint8_t *tab, size_t len, int firstlineno, int addr)
{
	int computed = firstlineno, start = 0, end = 0, line = -1;

	if (addr < 0)
		return firstlineno;
	/* Pairs of (unsigned byte length of a range, signed line delta or
	 * -128 for "no line"); zero-length ranges only move the line. */
	for (size_t i = 0; i + 1 < len; i += 2) {
		int8_t delta = (int8_t)tab[i + 1];

		start = end;
		end += tab[i];
		if (delta == -128) {
			line = -1;
		} else {
			computed += delta;
			line = computed;
		}
		if (start <= addr && addr < end)
			return line < 0 ? 0 : line;
	}
	return 0;
}

/* Reads one 6-bit-chunk varint at *i; 0 on a truncated table. */
static int read_varint(const uint8_t *tab, size_t len, size_t *i, unsigned int *ret)
{
	unsigned int v = 0, shift = 0;

	for (;;) {
		uint8_t b;

		if (*i >= len || shift > 30)
			return -1;
		b = tab[(*i)++];
		v |= (unsigned int)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	*ret = v;
	return 0;
}

static int read_svarint(const uint8_t *tab, size_t len, size_t *i, int *ret)
{
	unsigned int v;

	if (read_varint(tab, len, i, &v))
		return -1;
	*ret = (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
	return 0;
}

int pyline_locations311(const uint8_t *tab, size_t len, int firstlineno, int unit)
{
	int line = firstlineno, addr = 0;
	size_t i = 0;

	if (unit < 0)
		return firstlineno;
	while (i < len) {
		uint8_t b = tab[i++];
		int code = (b >> 3) & 15, n = (b & 7) + 1, has_line = 1;
		unsigned int skip;
		int delta;

		if (!(b & 0x80))
			return 0;	/* not an entry start: torn table */
		switch (code) {
		case 15:		/* no location */
			has_line = 0;
			break;
		case 14:		/* long form: line, end line, columns */
			if (read_svarint(tab, len, &i, &delta))
				return 0;
			line += delta;
			for (int k = 0; k < 3; k++)
				if (read_varint(tab, len, &i, &skip))
					return 0;
			break;
		case 13:		/* no column info */
			if (read_svarint(tab, len, &i, &delta))
				return 0;
			line += delta;
			break;
		case 12:
		case 11:
		case 10:		/* one-line form: two column bytes */
			line += code - 10;
			i += 2;
			break;
		default:		/* short form: one column byte */
			i += 1;
			break;
		}
		if (addr <= unit && unit < addr + n)
			return has_line ? line : 0;
		addr += n;
	}
	return 0;
}
