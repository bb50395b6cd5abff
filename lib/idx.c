/*
 * idx.c: MNIST IDX files, plain or gzip-compressed (zlib's gzread reads
 * both).  Header: two zero bytes, a type code, ndim, then ndim big-endian
 * u32 dims; data big-endian in C order.  Types: 0x08 u8, 0x09 i8, 0x0B
 * i16, 0x0C i32, 0x0D f32, 0x0E f64.  The result keeps the IDX type.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "rq.h"

static int
gzfull(gzFile gz, void *p, size_t n)
{
	unsigned char *b = p;

	while (n > 0) {
		unsigned c = n > (1u << 30) ? (1u << 30) : (unsigned)n;
		int got = gzread(gz, b, c);
		if (got <= 0)
			return -1;
		b += got;
		n -= (size_t)got;
	}
	return 0;
}

int
rq_idx_read(const char *path, rq_tensor *t, char *err, size_t errn)
{
	unsigned char h[4], d[4], extra;
	uint64_t dims[RQ_MAX_NDIM];
	gzFile gz;
	int dtype, ndim, rc;
	size_t es, nb;

	if ((gz = gzopen(path, "rb")) == NULL) {
		snprintf(err, errn, "%s: cannot open", path);
		return RQ_EIO;
	}
	if (gzfull(gz, h, 4) != 0) {
		snprintf(err, errn, "%s: truncated header", path);
		goto bad;
	}
	if (h[0] != 0 || h[1] != 0) {
		snprintf(err, errn, "%s: not an IDX file (magic %02x %02x %02x "
		    "%02x)", path, h[0], h[1], h[2], h[3]);
		goto bad;
	}
	switch (h[2]) {
	case 0x08: dtype = RQ_U8; break;
	case 0x09: dtype = RQ_I8; break;
	case 0x0B: dtype = RQ_I16; break;
	case 0x0C: dtype = RQ_I32; break;
	case 0x0D: dtype = RQ_F32; break;
	case 0x0E: dtype = RQ_F64; break;
	default:
		snprintf(err, errn, "%s: unknown IDX type 0x%02x", path, h[2]);
		goto bad;
	}
	ndim = h[3];
	if (ndim < 1 || ndim > RQ_MAX_NDIM) {
		snprintf(err, errn, "%s: bad IDX rank %d", path, ndim);
		goto bad;
	}
	for (int i = 0; i < ndim; i++) {
		if (gzfull(gz, d, 4) != 0) {
			snprintf(err, errn, "%s: truncated header", path);
			goto bad;
		}
		dims[i] = (uint64_t)d[0] << 24 | (uint64_t)d[1] << 16 |
		    (uint64_t)d[2] << 8 | d[3];
	}
	es = rq_dtype_size(dtype);
	if (rq_numel_of(ndim, dims, es, &nb) != RQ_OK) {
		snprintf(err, errn, "%s: IDX shape too large", path);
		gzclose(gz);
		return RQ_ERANGE;
	}
	/* grow the buffer only as bytes arrive: a short file claiming a
	 * huge shape must not allocate that shape */
	for (size_t have = 0; have < nb;) {
		size_t want = RQ_MIN(nb, RQ_MAX(2 * have, (size_t)1 << 20));
		if ((rc = rq_tensor_reserve(t, want)) != RQ_OK) {
			snprintf(err, errn, "%s: out of memory", path);
			gzclose(gz);
			return rc;
		}
		if (gzfull(gz, (char *)t->data + have, want - have) != 0) {
			snprintf(err, errn, "%s: truncated data: expected %zu "
			    "items of %zu bytes", path, nb / es, es);
			goto bad;
		}
		have = want;
	}
	if ((rc = rq_tensor_reserve(t, nb ? nb : 1)) != RQ_OK) {
		gzclose(gz);
		return rc;
	}
	t->dtype = dtype;
	t->ndim = ndim;
	for (int i = 0; i < RQ_MAX_NDIM; i++)
		t->dims[i] = i < ndim ? dims[i] : 0;
	t->nbytes = nb;
	if (gzread(gz, &extra, 1) != 0) {
		snprintf(err, errn, "%s: trailing bytes after the data", path);
		goto bad;
	}
	if (es > 1) {   /* big-endian to host (little-endian) */
		unsigned char *p = t->data;
		for (size_t i = 0; i < t->nbytes; i += es)
			for (size_t a = 0, b = es - 1; a < b; a++, b--) {
				unsigned char c = p[i + a];
				p[i + a] = p[i + b];
				p[i + b] = c;
			}
	}
	gzclose(gz);
	return RQ_OK;
bad:
	gzclose(gz);
	return RQ_EFORMAT;
}
