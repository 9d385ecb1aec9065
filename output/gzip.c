// SPDX-License-Identifier: Apache-2.0
/* In-memory gzip; see gzip.h. */
#include "gzip.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <zlib.h>

#include "xalloc.h"

/* windowBits 15 + 16: a gzip header and trailer instead of zlib's */
#define GZIP_WINDOW (15 + 16)

int gzip__compress(const void *in, size_t len, void **ret_out, size_t *ret_len)
{
	z_stream z = { 0 };
	unsigned char *out;
	size_t cap;
	int zr;

	if (len > UINT_MAX / 2)
		return -EFBIG;
	if (deflateInit2(&z, 6, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	/* deflateBound() is enough for one deflate(Z_FINISH) over all input */
	cap = (size_t)deflateBound(&z, (uLong)len);
	out = xmalloc(cap);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	zr = deflate(&z, Z_FINISH);
	if (zr != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return -EIO;
	}
	*ret_len = z.total_out;
	*ret_out = out;
	deflateEnd(&z);
	return 0;
}

int gzip__decompress(const void *in, size_t len, size_t max, void **ret_out, size_t *ret_len)
{
	z_stream z = { 0 };
	unsigned char *out;
	size_t cap;
	int zr, r = 0;

	if (len > UINT_MAX)
		return -EFBIG;
	if (max > UINT_MAX - 1)
		max = UINT_MAX - 1;
	cap = len * 4 + 256;
	if (cap > max + 1)
		cap = max + 1;
	if (inflateInit2(&z, GZIP_WINDOW) != Z_OK)
		return -ENOMEM;
	out = xmalloc(cap);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	for (;;) {
		if (z.total_out == cap) {
			if (cap > max) {
				r = -EFBIG;
				break;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			out = xrealloc(out, cap);
		}
		z.next_out = out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && !(zr == Z_BUF_ERROR && !z.avail_out)) {
			r = -EBADMSG;	/* data error, or truncated input */
			break;
		}
	}
	if (!r && z.total_out > max)
		r = -EFBIG;
	inflateEnd(&z);
	if (r) {
		free(out);
		return r;
	}
	out = xrealloc(out, z.total_out + 1);
	out[z.total_out] = '\0';
	*ret_len = z.total_out;
	*ret_out = out;
	return 0;
}
