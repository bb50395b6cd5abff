/* test_npy.c: NumPy .npy export and import (format 1.0, see numpy.lib.format). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

/* the whole .npy of t as bytes */
static unsigned char *
npy_bytes(const rq_tensor *t, size_t *len)
{
	FILE *fp = tmpfile();
	unsigned char *buf;
	long n;

	cr_assert_not_null(fp);
	cr_assert_eq(rq_npy_write(fp, t), RQ_OK);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static FILE *
file_of(const void *buf, size_t n)
{
	FILE *fp = tmpfile();

	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(buf, 1, n, fp), n);
	rewind(fp);
	return fp;
}

Test(npy, roundtrip_every_dtype_and_shape)
{
	static const struct { int ndim; uint64_t d[8]; const char *shape; }
	    sh[] = {
		{0, {0}, "'shape': (), }"}, {1, {5}, "'shape': (5,), }"},
		{2, {2, 3}, "'shape': (2, 3), }"},
		{3, {2, 0, 4}, "'shape': (2, 0, 4), }"},
		{8, {1, 2, 1, 2, 1, 2, 1, 2},
		    "'shape': (1, 2, 1, 2, 1, 2, 1, 2), }"},
	};
	static const char *descr[] = {NULL, "'|u1'", "'|i1'", "'<u2'",
	    "'<i2'", "'<u4'", "'<i4'", "'<u8'", "'<i8'", "'<f4'", "'<f8'"};

	for (int dt = RQ_U8; dt <= RQ_F64; dt++)
		for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++) {
			rq_tensor t, r;
			unsigned char *b;
			size_t len, hl;
			char err[128];
			FILE *fp;

			rq_tensor_init(&t);
			rq_tensor_init(&r);
			cr_assert_eq(rq_tensor_alloc(&t, dt, sh[s].ndim,
			    sh[s].d), RQ_OK);
			for (size_t i = 0; i < t.nbytes; i++)
				((unsigned char *)t.data)[i] =
				    (unsigned char)(i * 37 + dt);
			b = npy_bytes(&t, &len);
			cr_assert_eq(memcmp(b, "\x93NUMPY\x01\x00", 8), 0);
			hl = b[8] | (size_t)b[9] << 8;
			cr_assert_eq((10 + hl) % 64, 0, "header not aligned");
			cr_assert_eq(b[10 + hl - 1], '\n');
			cr_assert_eq(len, 10 + hl + t.nbytes);
			cr_assert_not_null(strstr((char *)b + 10,
			    descr[dt]), "dtype %d", dt);
			cr_assert_not_null(strstr((char *)b + 10,
			    sh[s].shape), "%.*s", (int)hl, b + 10);
			fp = file_of(b, len);
			cr_assert_eq(rq_npy_read(fp, &r, err, sizeof err),
			    RQ_OK, "%s", err);
			fclose(fp);
			cr_assert_eq(r.dtype, dt);
			cr_assert_eq(r.ndim, t.ndim);
			cr_assert_eq(memcmp(r.dims, t.dims, sizeof r.dims), 0);
			cr_assert_eq(r.nbytes, t.nbytes);
			if (t.nbytes)
				cr_assert_eq(memcmp(r.data, t.data, t.nbytes),
				    0);
			free(b);
			rq_tensor_free(&t);
			rq_tensor_free(&r);
		}
}

/* headers as numpy itself writes them, incl. version 2.0 */
Test(npy, reads_numpy_headers)
{
	static const char h1[] = "{'descr': '<i8', 'fortran_order': False, "
	    "'shape': (3,), }";
	unsigned char buf[256];
	size_t hl = 128 - 12, n = 0;
	int64_t v[3] = {-1, 0, 1LL << 40};
	rq_tensor t;
	char err[128];
	FILE *fp;

	/* 2.0: 4-byte header length */
	memcpy(buf, "\x93NUMPY\x02\x00", 8);
	buf[8] = (unsigned char)hl;
	buf[9] = buf[10] = buf[11] = 0;
	n = 12;
	memset(buf + n, ' ', hl);
	memcpy(buf + n, h1, strlen(h1));
	buf[n + hl - 1] = '\n';
	n += hl;
	memcpy(buf + n, v, sizeof v);
	n += sizeof v;
	rq_tensor_init(&t);
	fp = file_of(buf, n);
	cr_assert_eq(rq_npy_read(fp, &t, err, sizeof err), RQ_OK, "%s", err);
	fclose(fp);
	cr_assert_eq(t.dtype, RQ_I64);
	cr_assert_eq(t.ndim, 1);
	cr_assert_eq(t.dims[0], 3);
	cr_assert_eq(((int64_t *)t.data)[2], 1LL << 40);
	rq_tensor_free(&t);
}

static void
expect_error(const char *hdr, size_t data, const char *want)
{
	unsigned char buf[512];
	size_t hl = strlen(hdr) + 1, n;
	rq_tensor t;
	char err[128];
	FILE *fp;

	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (unsigned char)hl;
	buf[9] = 0;
	memcpy(buf + 10, hdr, hl - 1);
	buf[10 + hl - 1] = '\n';
	n = 10 + hl;
	memset(buf + n, 0, data);
	n += data;
	rq_tensor_init(&t);
	fp = file_of(buf, n);
	cr_assert_neq(rq_npy_read(fp, &t, err, sizeof err), RQ_OK, "%s", hdr);
	cr_assert_not_null(strstr(err, want), "%s: %s", hdr, err);
	fclose(fp);
	rq_tensor_free(&t);
}

Test(npy, errors)
{
	expect_error("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
	    8, "dtype");
	expect_error("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
	    16, "dtype");
	expect_error("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
	    16, "Fortran");
	expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
	    15, "truncated");
	expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': "
	    "(1,1,1,1,1,1,1,1,1), }", 4, "ndim");
	expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': "
	    "(4294967296, 4294967296), }", 0, "overflow");
	expect_error("{'descr': '<f4', 'fortran_order': False}", 0, "shape");
	{
		rq_tensor t;
		char err[128];
		FILE *fp = file_of("\x93NUMPX\x01\x00\x10\x00", 10);

		rq_tensor_init(&t);
		cr_assert_eq(rq_npy_read(fp, &t, err, sizeof err), RQ_EFORMAT);
		cr_assert_not_null(strstr(err, "magic"));
		fclose(fp);
	}
}
