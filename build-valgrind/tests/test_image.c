/*
 * test_image.c: PNG and IDX readers (round trips, bad input), bilinear
 * resize, blur and downsampling.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "rq.h"

static void
put(const char *path, const void *b, size_t n)
{
	FILE *fp;

	mkdir("tests/tmp", 0777);
	fp = fopen(path, "wb");
	cr_assert_not_null(fp);
	fwrite(b, 1, n, fp);
	fclose(fp);
}

Test(image, png_round_trip_gray_rgb)
{
	float px[3 * 5 * 7], *q;
	int w, h, ch;
	char err[512];

	mkdir("tests/tmp", 0777);
	for (int i = 0; i < 3 * 5 * 7; i++)
		px[i] = (float)((i * 37) % 256) / 255.0f;
	for (int c = 1; c <= 3; c += 2) {
		cr_assert_eq(rq_png_write("tests/tmp/image_rt.png", px, 7, 5, c),
		    RQ_OK);
		cr_assert_eq(rq_png_read("tests/tmp/image_rt.png", &q, &w, &h,
		    &ch, err, sizeof err), RQ_OK, "%s", err);
		cr_assert_eq(w, 7);
		cr_assert_eq(h, 5);
		cr_assert_eq(ch, c);
		for (int i = 0; i < c * 35; i++)
			cr_assert_float_eq(q[i], px[i], 1e-6);
		free(q);
	}
}

Test(image, png_bad_input)
{
	float px[64], *q;
	int w, h, ch;
	char err[512];
	unsigned char b[4096];
	size_t n;
	FILE *fp;

	for (int i = 0; i < 64; i++)
		px[i] = (float)i / 64;
	mkdir("tests/tmp", 0777);
	cr_assert_eq(rq_png_write("tests/tmp/image_ok.png", px, 8, 8, 1), RQ_OK);
	fp = fopen("tests/tmp/image_ok.png", "rb");
	n = fread(b, 1, sizeof b, fp);
	fclose(fp);
	put("tests/tmp/image_trunc.png", b, n / 2);
	cr_assert_eq(rq_png_read("tests/tmp/image_trunc.png", &q, &w, &h, &ch,
	    err, sizeof err), RQ_EFORMAT);
	cr_assert_not_null(strstr(err, "tests/tmp/image_trunc.png"), "%s", err);
	put("tests/tmp/image_text.png", "hello, world", 12);
	cr_assert_eq(rq_png_read("tests/tmp/image_text.png", &q, &w, &h, &ch,
	    err, sizeof err), RQ_EFORMAT);
	cr_assert_not_null(strstr(err, "image_text.png"), "%s", err);
	b[n / 2] ^= 0xff;           /* corrupt the IDAT data; crc fails */
	put("tests/tmp/image_crc.png", b, n);
	cr_assert_eq(rq_png_read("tests/tmp/image_crc.png", &q, &w, &h, &ch,
	    err, sizeof err), RQ_EFORMAT);
}

/* big-endian IDX, gzip-compressed through zlib */
Test(image, idx_round_trip_and_truncation)
{
	unsigned char hdr[16] = {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0,
	    0, 4};
	unsigned char data[24];
	unsigned char i32[8 + 12] = {0, 0, 0x0C, 1, 0, 0, 0, 3,
	    0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 1, 0, 0};
	rq_tensor t;
	char err[512];
	gzFile gz;

	for (int i = 0; i < 24; i++)
		data[i] = (unsigned char)(i * 10);
	mkdir("tests/tmp", 0777);
	gz = gzopen("tests/tmp/image_u8.idx.gz", "wb");
	gzwrite(gz, hdr, 16);
	gzwrite(gz, data, 24);
	gzclose(gz);
	rq_tensor_init(&t);
	cr_assert_eq(rq_idx_read("tests/tmp/image_u8.idx.gz", &t, err,
	    sizeof err), RQ_OK, "%s", err);
	cr_assert_eq(t.dtype, RQ_U8);
	cr_assert_eq(t.ndim, 3);
	cr_assert_eq(t.dims[0], 2);
	cr_assert_eq(t.dims[2], 4);
	cr_assert_eq(memcmp(t.data, data, 24), 0);
	put("tests/tmp/image_i32.idx", i32, sizeof i32);
	cr_assert_eq(rq_idx_read("tests/tmp/image_i32.idx", &t, err,
	    sizeof err), RQ_OK, "%s", err);
	cr_assert_eq(((int32_t *)t.data)[0], 1);
	cr_assert_eq(((int32_t *)t.data)[1], -2);
	cr_assert_eq(((int32_t *)t.data)[2], 65536);
	put("tests/tmp/image_short.idx", i32, sizeof i32 - 1);
	cr_assert_eq(rq_idx_read("tests/tmp/image_short.idx", &t, err,
	    sizeof err), RQ_EFORMAT);
	cr_assert_not_null(strstr(err, "image_short.idx: truncated"), "%s",
	    err);
	put("tests/tmp/image_long.idx", data, 8);   /* bad magic */
	cr_assert_eq(rq_idx_read("tests/tmp/image_long.idx", &t, err,
	    sizeof err), RQ_EFORMAT);
	put("tests/tmp/image_badgz.idx.gz", "\x1f\x8b\x08\x00garbage", 11);
	cr_assert_eq(rq_idx_read("tests/tmp/image_badgz.idx.gz", &t, err,
	    sizeof err), RQ_EFORMAT);
	rq_tensor_free(&t);
}

/* bilinear with centre alignment reproduces a linear ramp exactly inside */
Test(image, resize_ramp)
{
	float src[10 * 10], dst[5 * 20];

	for (int y = 0; y < 10; y++)
		for (int x = 0; x < 10; x++)
			src[y * 10 + x] = (float)(2 * x + 3 * y);
	rq_image_resize(src, 10, 10, 1, dst, 20, 5);
	for (int y = 0; y < 5; y++)
		for (int x = 1; x < 19; x++) {
			double sx = (x + 0.5) * 10 / 20 - 0.5;
			double sy = (y + 0.5) * 10 / 5 - 0.5;
			cr_assert_float_eq(dst[y * 20 + x], 2 * sx + 3 * sy, 1e-4,
			    "(%d,%d)", x, y);
		}
}

Test(image, blur_and_downsample_keep_mean)
{
	float p[16 * 16], q[16 * 16];
	double s0 = 0, s1 = 0;

	for (int i = 0; i < 256; i++)
		p[i] = q[i] = (float)((i * 7919) % 101) / 100.0f;
	rq_image_downsample(q, 16, 16, 4);
	for (int i = 0; i < 256; i++) {
		s0 += p[i];
		s1 += q[i];
	}
	cr_assert_float_eq(s0, s1, 1e-3);
	cr_assert_eq(q[0], q[3 * 16 + 3]);
	memcpy(q, p, sizeof p);
	cr_assert_eq(rq_image_blur(q, 16, 16, 1.0), RQ_OK);
	s1 = 0;
	for (int i = 0; i < 256; i++)
		s1 += q[i];
	cr_assert_float_eq(s0, s1, 0.05 * s0);  /* clamped edges: near */
}
