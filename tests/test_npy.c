/* test_npy.c: NumPy .npy export and import (format 1.0, see numpy.lib.format). */
#include <criterion/criterion.h>
#include <math.h>
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
	char err[256];
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
	/* the message names the whole descr (it used to stop mid-header) */
	expect_error("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
	    16, ".npy dtype '<c8' not supported (want bool, u1, u2, u4, u8, "
	    "i1, i2, i4, i8, f2, f4 or f8)");
	expect_error("{'descr': '|u2', 'fortran_order': False, 'shape': (2,), }",
	    4, "dtype '|u2' not");
	expect_error("{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }",
	    16, "dtype '<f16' not");
	expect_error("{'descr': '<b2', 'fortran_order': False, 'shape': (1,), }",
	    2, "dtype '<b2' not");
	expect_error("{'descr': [('a', '<f4')], 'fortran_order': False, "
	    "'shape': (1,), }", 4, "structured");
	expect_error("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
	    4, "fortran_order");
	expect_error("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }",
	    7, "truncated .npy data (7 of 8 bytes)");
	expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
	    15, "truncated");
	expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': "
	    "(1,1,1,1,1,1,1,1,1), }", 4, "ndim");
	expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': "
	    "(4294967296, 4294967296), }", 0, "overflow");
	expect_error("{'descr': '<f4', 'fortran_order': False}", 0, "shape");
	expect_error("{'descr': '<f4', 'shape': (1,), }", 4, "fortran_order");
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

/* a version 1.0 .npy of header hdr (no padding needed) and data */
static FILE *
npy_file(const char *hdr, const void *data, size_t n)
{
	static unsigned char buf[1 << 18];
	size_t hl = strlen(hdr) + 1;

	cr_assert_lt(10 + hl + n, sizeof buf);
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (unsigned char)(hl & 0xff);
	buf[9] = (unsigned char)(hl >> 8);
	memcpy(buf + 10, hdr, hl - 1);
	buf[10 + hl - 1] = '\n';
	memcpy(buf + 10 + hl, data, n);
	return file_of(buf, 10 + hl + n);
}

static void
read_ok(FILE *fp, rq_tensor *t)
{
	char err[256];

	cr_assert_eq(rq_npy_read(fp, t, err, sizeof err), RQ_OK, "%s", err);
	fclose(fp);
}

/* Fortran order: element (i, j, k) of a [2, 3, 4] array sits at
 * i + 2 j + 6 k in the file; we hand back C order, i * 12 + j * 4 + k */
Test(npy, fortran_order_becomes_c_order)
{
	int16_t f[24];
	rq_tensor t;

	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++)
				f[i + 2 * j + 6 * k] =
				    (int16_t)(100 * i + 10 * j + k);
	rq_tensor_init(&t);
	read_ok(npy_file("{'descr': '<i2', 'fortran_order': True, "
	    "'shape': (2, 3, 4), }", f, sizeof f), &t);
	cr_assert_eq(t.dtype, RQ_I16);
	cr_assert_eq(t.ndim, 3);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++)
				cr_assert_eq(((int16_t *)t.data)[i * 12 +
				    j * 4 + k], 100 * i + 10 * j + k,
				    "(%d, %d, %d)", i, j, k);
	/* 1-d and empty Fortran arrays are their C order */
	read_ok(npy_file("{'descr': '<i2', 'fortran_order': True, "
	    "'shape': (5,), }", f, 10), &t);
	cr_assert_eq(memcmp(t.data, f, 10), 0);
	read_ok(npy_file("{'descr': '<i2', 'fortran_order': True, "
	    "'shape': (3, 0), }", f, 0), &t);
	cr_assert_eq(t.nbytes, 0);
	rq_tensor_free(&t);
}

Test(npy, big_endian_and_bool)
{
	static const unsigned char be[] = {
		0x3f, 0x80, 0x00, 0x00, 0xc0, 0x20, 0x00, 0x00,	/* 1, -2.5 */
	};
	static const unsigned char be8[] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const unsigned char bo[] = {0, 1, 1, 0};
	rq_tensor t;

	rq_tensor_init(&t);
	read_ok(npy_file("{'descr': '>f4', 'fortran_order': False, "
	    "'shape': (2,), }", be, sizeof be), &t);
	cr_assert_eq(t.dtype, RQ_F32);
	cr_assert_eq(((float *)t.data)[0], 1.0f);
	cr_assert_eq(((float *)t.data)[1], -2.5f);
	read_ok(npy_file("{'descr': '>u8', 'fortran_order': False, "
	    "'shape': (), }", be8, sizeof be8), &t);
	cr_assert_eq(t.dtype, RQ_U64);
	cr_assert_eq(((uint64_t *)t.data)[0], 0x0102030405060708ULL);
	read_ok(npy_file("{'descr': '|b1', 'fortran_order': False, "
	    "'shape': (2, 2), }", bo, sizeof bo), &t);
	cr_assert_eq(t.dtype, RQ_U8);
	cr_assert_eq(memcmp(t.data, bo, 4), 0);
	rq_tensor_free(&t);
}

/* every one of the 65536 halves, against the formula of IEEE 754 in
 * double: (-1)^s 2^(e-15) (1 + m/1024), subnormals 2^-14 (m/1024) */
Test(npy, float16_widened_exactly)
{
	static uint16_t h[65536];
	rq_tensor t;

	for (unsigned i = 0; i < 65536; i++)
		h[i] = (uint16_t)i;	/* little-endian host */
	rq_tensor_init(&t);
	read_ok(npy_file("{'descr': '<f2', 'fortran_order': False, "
	    "'shape': (65536,), }", h, sizeof h), &t);
	cr_assert_eq(t.dtype, RQ_F32);
	cr_assert_eq(t.nbytes, 65536 * 4);
	for (unsigned i = 0; i < 65536; i++) {
		unsigned s = i >> 15, e = (i >> 10) & 31, m = i & 1023;
		float got = ((float *)t.data)[i];
		double want;

		if (e == 31 && m != 0) {
			cr_assert(isnan(got), "%#x", i);
			continue;
		}
		if (e == 31)
			want = INFINITY;
		else if (e == 0)
			want = ldexp(m / 1024.0, -14);
		else
			want = ldexp(1 + m / 1024.0, (int)e - 15);
		if (s)
			want = -want;
		cr_assert_eq((double)got, want, "%#x: %g, want %g", i,
		    (double)got, want);
		cr_assert_eq(signbit(got) != 0, s == 1, "%#x sign", i);
	}
	rq_tensor_free(&t);
}
