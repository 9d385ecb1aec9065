/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gProfiler's collapsed-stacks file (.col). Line 1 is "# " and a JSON
 * object (written as Python's json.dumps would: ", " and ": " separators,
 * non-ASCII escaped); each other line is
 *   [<app metadata idx>;]<container>;<comm>;[appid: X;]frame;...;frame <count>
 * root first. The reader validates and loads a file back into a profile.
 */
#ifndef GP_COL_H
#define GP_COL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "profile.h"

struct col_options {
	bool app_metadata_idx;	/* write the index frame (v2 + app metadata on) */
	bool container_frame;	/* write the container frame (v2) */
	bool appids;		/* write "appid: X" frames */
};

/* The header line (without newline) for a JSON object: "# " + dump.
 * Caller frees. */
char *col__header_line(const json_t *header);

/* Writes the stack lines of p, one per (process, stack), in insertion
 * order. Returns the number of samples written or -errno. */
int64_t col__write_stacks(FILE *f, const struct profile *p, const struct col_options *o);

/* Writes the whole file: header line, then the stacks. */
int64_t col__write(FILE *f, const json_t *header, const struct profile *p,
		   const struct col_options *o);

struct col_file {
	json_t *header;		/* owned */
	struct profile *prof;	/* owned; procs have pid -1 */
	uint64_t total;
	size_t lines;
};

/*
 * Reads and validates a .col text of len bytes. The first line must be
 * "#" + a JSON object; every other non-empty line must be frames, one
 * space, and a non-negative count. On error returns -EINVAL and writes a
 * message naming the line into err (errlen bytes). Caller frees *ret with
 * col_file__free().
 */
int col__parse(const char *text, size_t len, struct col_file **ret, char *err, size_t errlen);
struct col_file *col_file__free(struct col_file *cf);

#endif
