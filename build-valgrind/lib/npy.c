/*
 * npy.c: NumPy .npy (format 1.0 written; 1.0, 2.0 and 3.0 read) for one
 * tensor, so any rq tensor opens in Python with numpy.load and nothing of
 * ours.  Only little-endian (or byte-order-free) C-order arrays.
 */
#include <ctype.h>
#include <errno.h>
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

#define FAIL(...) do { snprintf(err, errn, __VA_ARGS__); rc = RQ_EFORMAT; \
	goto out; } while (0)

int
rq_npy_read(FILE *fp, rq_tensor *t, char *err, size_t errn)
{
	unsigned char pre[12];
	char *h = NULL;
	const char *p;
	size_t hl, nb;
	uint64_t dims[RQ_MAX_NDIM];
	int ndim = 0, dtype = -1, rc = RQ_OK;

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
	if ((p = dict_value(h, "descr")) == NULL || (*p != '\'' && *p != '"'))
		FAIL(".npy header has no descr");
	for (int d = RQ_U8; d <= RQ_F64; d++) {
		size_t l = strlen(descr[d]);
		if (strncmp(p + 1, descr[d], l) == 0 && p[1 + l] == p[0])
			dtype = d;
		else if (descr[d][0] == '|' && (p[1] == '<' || p[1] == '=') &&
		    strncmp(p + 2, descr[d] + 1, l - 1) == 0 &&
		    p[1 + l] == p[0])
			dtype = d;
	}
	if (dtype < 0)
		FAIL(".npy dtype %.8s not supported (want little-endian "
		    "numbers)", p);
	if ((p = dict_value(h, "fortran_order")) == NULL ||
	    strncmp(p, "False", 5) != 0)
		FAIL(".npy array in Fortran order not supported");
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
	if (rq_numel_of(ndim, dims, rq_dtype_size(dtype), &nb) != RQ_OK)
		FAIL(".npy shape overflows");
	/* grow the buffer as bytes arrive: a short file claiming a huge
	 * shape must not make us allocate (and zero) what it claims */
	if (rq_tensor_reserve(t, 1) != RQ_OK)
		goto nomem;
	for (size_t have = 0; have < nb;) {
		size_t want = RQ_MIN(nb, RQ_MAX(2 * have, (size_t)1 << 20));

		if (rq_tensor_reserve(t, want) != RQ_OK)
			goto nomem;
		have += fread((char *)t->data + have, 1, want - have, fp);
		if (have < want)
			FAIL("truncated .npy data (%zu of %zu bytes)", have,
			    nb);
	}
	t->dtype = dtype;
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
