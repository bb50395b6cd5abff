/*
 * npy.c: NumPy .npy (format 1.0 written; 1.0, 2.0 and 3.0 read) for one
 * tensor, so any rq tensor opens in Python with numpy.load and nothing of
 * ours.  Written: little-endian C order.  Read: what numpy commonly
 * writes -- C or Fortran order (transposed to C order), little- or
 * big-endian (swapped to host order), bool (u8 0/1), integers of 1 to 8
 * bytes, f4, f8, and f2 (widened to f32, exactly).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

static const char *descr[] = {
	[RQ_U8] = "|u1", [RQ_I8] = "|i1", [RQ_U16] = "<u2", [RQ_I16] = "<i2",
	[RQ_U32] = "<u4", [RQ_I32] = "<i4", [RQ_U64] = "<u8", [RQ_I64] = "<i8",
	[RQ_F32] = "<f4", [RQ_F64] = "<f8",
};

int
rq_npy_write(FILE *fp, const rq_tensor *t)
{
	char hdr[512];
	size_t n, total;
	int w;

	if (rq_dtype_size(t->dtype) == 0)
		return RQ_EINVAL;
	w = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': "
	    "False, 'shape': (", descr[t->dtype]);
	n = (size_t)w;
	for (int i = 0; i < t->ndim; i++) {
		w = snprintf(hdr + n, sizeof hdr - n, "%llu,%s",
		    (unsigned long long)t->dims[i],
		    i + 1 < t->ndim ? " " : "");
		n += (size_t)w;
	}
	if (t->ndim > 1)	/* "(2, 3,)" is valid but "(2, 3)" is usual */
		n--;
	n += (size_t)snprintf(hdr + n, sizeof hdr - n, "), }");
	total = 10 + n + 1;
	total = (total + 63) / 64 * 64;
	while (10 + n + 1 < total)
		hdr[n++] = ' ';
	hdr[n++] = '\n';
	if (fwrite("\x93NUMPY\x01\x00", 1, 8, fp) != 8 ||
	    fputc((int)(n & 0xff), fp) == EOF ||
	    fputc((int)(n >> 8), fp) == EOF ||
	    fwrite(hdr, 1, n, fp) != n ||
	    (t->nbytes && fwrite(t->data, 1, t->nbytes, fp) != t->nbytes))
		return RQ_EIO;
	return RQ_OK;
}

static const char *
dict_value(const char *h, const char *key)
{
	const char *p = strstr(h, key);

	if (p == NULL)
		return NULL;
	p += strlen(key);
	while (*p == ' ' || *p == '\'' || *p == '"')
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (*p == ' ')
		p++;
	return p;
}

/* what a .npy descr means for us: the rq dtype the data becomes, the
 * element size in the file, and how to convert it */
struct npy_type {
	int dtype;
	size_t fsize;
	int swap;	/* big-endian in the file */
	int half;	/* IEEE binary16, widened to f32 */
	int boolean;	/* numpy bool, kept as u8 0/1 */
};

/* "<f4", ">i2", "|b1", "|u1", "u1": 0, or -1 when not supported */
static int
parse_descr(const char *s, size_t n, struct npy_type *nt)
{
	static const int ints[2][4] = {
		{RQ_U8, RQ_U16, RQ_U32, RQ_U64},
		{RQ_I8, RQ_I16, RQ_I32, RQ_I64},
	};
	char order = '|', kind;
	size_t size = 0, i = 0;
	int lg;

	if (n > 0 && strchr("<>|=", s[0]) != NULL)
		order = s[i++];
	if (i >= n)
		return -1;
	kind = s[i++];
	if (i >= n)
		return -1;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) || size > 16)
			return -1;
		size = size * 10 + (size_t)(s[i] - '0');
	}
	memset(nt, 0, sizeof *nt);
	nt->fsize = size;
	/* numpy writes '|' only for one-byte types, '<' or '>' otherwise */
	if (size > 1 && order == '|')
		return -1;
	nt->swap = size > 1 && order == '>';
	for (lg = 0; lg < 4 && (size_t)1 << lg != size; lg++)
		;
	switch (kind) {
	case 'b':
		if (size != 1)
			return -1;
		nt->dtype = RQ_U8;
		nt->boolean = 1;
		return 0;
	case 'u':
	case 'i':
		if (lg == 4)
			return -1;
		nt->dtype = ints[kind == 'i'][lg];
		return 0;
	case 'f':
		if (size == 2) {
			nt->dtype = RQ_F32;
			nt->half = 1;
		} else if (size == 4) {
			nt->dtype = RQ_F32;
		} else if (size == 8) {
			nt->dtype = RQ_F64;
		} else {
			return -1;
		}
		return 0;
	}
	return -1;
}

/* IEEE 754 binary16 to binary32: exact (every half is a float) */
static float
half_to_float(uint16_t h)
{
	unsigned e = (h >> 10) & 0x1f, m = h & 0x3ff;
	float f;

	if (e == 0)
		f = ldexpf((float)m, -24);		/* zero, subnormal */
	else if (e == 31)
		f = m ? NAN : INFINITY;
	else
		f = ldexpf((float)(m | 0x400), (int)e - 25);
	return h & 0x8000 ? -f : f;
}

/* numel elements of size es, stored in Fortran order for dims, into C
 * order: C index (i0, ..., in-1), last fastest, reads Fortran offset
 * sum i_k * fs_k with fs_0 = 1, fs_k = fs_{k-1} * d_{k-1} */
static void
fortran_to_c(const unsigned char *src, unsigned char *dst, int ndim,
    const uint64_t *dims, size_t numel, size_t es)
{
	size_t idx[RQ_MAX_NDIM] = {0}, fs[RQ_MAX_NDIM], off = 0;

	for (int k = 0; k < ndim; k++)
		fs[k] = k == 0 ? 1 : fs[k - 1] * (size_t)dims[k - 1];
	for (size_t c = 0; c < numel; c++) {
		memcpy(dst + c * es, src + off * es, es);
		for (int k = ndim - 1; k >= 0; k--) {
			if (++idx[k] < dims[k]) {
				off += fs[k];
				break;
			}
			off -= (idx[k] - 1) * fs[k];
			idx[k] = 0;
		}
	}
}

#define FAIL(...) do { snprintf(err, errn, __VA_ARGS__); rc = RQ_EFORMAT; \
	goto out; } while (0)

int
rq_npy_read(FILE *fp, rq_tensor *t, char *err, size_t errn)
{
	unsigned char pre[12], *b;
	char *h = NULL;
	const char *p, *q;
	size_t hl, nb, fnb, numel;
	uint64_t dims[RQ_MAX_NDIM];
	struct npy_type nt;
	int ndim = 0, fortran, rc = RQ_OK;

	if (fread(pre, 1, 10, fp) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
		FAIL("not a .npy file (bad magic)");
	if (pre[6] == 1) {
		hl = pre[8] | (size_t)pre[9] << 8;
	} else if (pre[6] == 2 || pre[6] == 3) {
		if (fread(pre + 10, 1, 2, fp) != 2)
			FAIL("truncated .npy header");
		hl = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
		    (size_t)pre[11] << 24;
	} else {
		FAIL(".npy version %d.%d not supported", pre[6], pre[7]);
	}
	if (hl > 1 << 20 || (h = malloc(hl + 1)) == NULL)
		FAIL(".npy header of %zu bytes refused", hl);
	if (fread(h, 1, hl, fp) != hl)
		FAIL("truncated .npy header");
	h[hl] = '\0';
	if ((p = dict_value(h, "descr")) == NULL)
		FAIL(".npy header has no descr");
	if (*p == '[')
		FAIL(".npy dtype is a structured (record) type, not supported");
	if ((*p != '\'' && *p != '"') || (q = strchr(p + 1, *p)) == NULL)
		FAIL(".npy header has no descr string");
	if (parse_descr(p + 1, (size_t)(q - p - 1), &nt) != 0) {
		int n = (int)RQ_MIN(q - p - 1, 40);

		FAIL(".npy dtype '%.*s'%s not supported (want bool, u1, u2, u4, "
		    "u8, i1, i2, i4, i8, f2, f4 or f8)", n, p + 1,
		    q - p - 1 > 40 ? "..." : "");
	}
	if ((p = dict_value(h, "fortran_order")) != NULL &&
	    strncmp(p, "True", 4) == 0)
		fortran = 1;
	else if (p != NULL && strncmp(p, "False", 5) == 0)
		fortran = 0;
	else
		FAIL(".npy header has no fortran_order True or False");
	if ((p = dict_value(h, "shape")) == NULL || *p != '(')
		FAIL(".npy header has no shape");
	for (p++; *p != ')';) {
		char *end;
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == ')')
			break;
		if (!isdigit((unsigned char)*p) || ndim == RQ_MAX_NDIM)
			FAIL(".npy shape not understood or ndim > %d",
			    RQ_MAX_NDIM);
		errno = 0;
		dims[ndim++] = strtoull(p, &end, 10);
		if (errno == ERANGE)
			FAIL(".npy shape dimension out of range");
		p = end;
	}
	if (rq_numel_of(ndim, dims, 1, &numel) != RQ_OK ||
	    rq_numel_of(ndim, dims, rq_dtype_size(nt.dtype), &nb) != RQ_OK)
		FAIL(".npy shape overflows");
	fnb = numel * nt.fsize;		/* <= nb: fsize <= dtype size */
	/* grow the buffer as bytes arrive: a short file claiming a huge
	 * shape must not make us allocate (and zero) what it claims */
	if (rq_tensor_reserve(t, 1) != RQ_OK)
		goto nomem;
	for (size_t have = 0; have < fnb;) {
		size_t want = RQ_MIN(fnb, RQ_MAX(2 * have, (size_t)1 << 20));

		if (rq_tensor_reserve(t, want) != RQ_OK)
			goto nomem;
		have += fread((char *)t->data + have, 1, want - have, fp);
		if (have < want)
			FAIL("truncated .npy data (%zu of %zu bytes)", have,
			    fnb);
	}
	if (rq_tensor_reserve(t, RQ_MAX(nb, 1)) != RQ_OK)
		goto nomem;
	b = t->data;
	if (nt.swap)
		for (size_t i = 0; i < numel; i++)
			for (size_t j = 0; j < nt.fsize / 2; j++) {
				unsigned char c = b[i * nt.fsize + j];

				b[i * nt.fsize + j] =
				    b[i * nt.fsize + nt.fsize - 1 - j];
				b[i * nt.fsize + nt.fsize - 1 - j] = c;
			}
	if (nt.boolean)
		for (size_t i = 0; i < numel; i++)
			b[i] = b[i] != 0;
	if (nt.half)	/* widen in place, last first: 4i >= 2i + 2 */
		for (size_t i = numel; i-- > 0;) {
			uint16_t v = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
			float f = half_to_float(v);

			memcpy(b + 4 * i, &f, 4);
		}
	if (fortran && ndim > 1 && numel > 1) {
		unsigned char *c = malloc(nb);

		if (c == NULL)
			goto nomem;
		fortran_to_c(b, c, ndim, dims, numel, nb / numel);
		memcpy(b, c, nb);
		free(c);
	}
	t->dtype = nt.dtype;
	t->ndim = ndim;
	for (int i = 0; i < RQ_MAX_NDIM; i++)
		t->dims[i] = i < ndim ? dims[i] : 0;
	t->nbytes = nb;
out:
	free(h);
	return rc;
nomem:
	snprintf(err, errn, ".npy: out of memory for %zu bytes of data", nb);
	rc = RQ_ENOMEM;
	goto out;
}
