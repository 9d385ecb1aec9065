/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPython's three line-number tables, decoded from the bytes of a code
 * object's table: co_lnotab (3.8, 3.9), the PEP 626 co_linetable (3.10) and
 * the location table (3.11 and later). Pure functions over a byte string,
 * so they are unit-tested on tables produced by real interpreters; a
 * corrupt or truncated table (the target is read without stopping it)
 * gives "no line", never a read past the end.
 */
#ifndef GP_PYLINETABLE_H
#define GP_PYLINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* Line of byte offset lasti (f_lasti, -1 before the first instruction) in
 * a 3.8/3.9 co_lnotab. */
int pyline_lnotab(const uint8_t *tab, size_t len, int firstlineno, int lasti);

/* Line of byte offset addr in a 3.10 co_linetable; 0 when the instruction
 * has no line. A negative addr gives firstlineno. */
int pyline_linetable310(const uint8_t *tab, size_t len, int firstlineno, int addr);

/* Line of code unit index unit (2-byte units) in a 3.11+ location table;
 * 0 when the instruction has no line. A negative unit gives firstlineno. */
int pyline_locations311(const uint8_t *tab, size_t len, int firstlineno, int unit);

#endif
