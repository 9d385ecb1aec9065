/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gzip in memory, with zlib: upload bodies (the Performance Studio takes
 * gzipped JSON) and spool records. Decompression takes an output bound,
 * so a damaged or hostile input cannot make us allocate without limit.
 */
#ifndef GP_GZIP_H
#define GP_GZIP_H

#include <stddef.h>

/* Compresses len bytes into a gzip member (level 6). Caller frees
 * *ret_out. 0 or -errno (-ENOMEM, -EIO for a zlib error). */
int gzip__compress(const void *in, size_t len, void **ret_out, size_t *ret_len);

/* Decompresses one gzip member of at most max output bytes; the output is
 * NUL-terminated (not counted in *ret_len). Caller frees *ret_out.
 * 0, -EBADMSG (not gzip, damaged or truncated), -EFBIG (over max). */
int gzip__decompress(const void *in, size_t len, size_t max, void **ret_out, size_t *ret_len);

#endif
