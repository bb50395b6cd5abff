/*
 * test_image.c: PNG, JPEG and IDX readers (round trips, golden decode,
 * bad input), the reader that picks PNG or JPEG by magic bytes, bilinear
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

/* the bytes of a file (at most cap) */
static size_t
slurp(const char *path, unsigned char *b, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	cr_assert_not_null(fp, "%s", path);
	n = fread(b, 1, cap, fp);
	fclose(fp);
	return n;
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

	for (int i = 0; i < 64; i++)
		px[i] = (float)i / 64;
	mkdir("tests/tmp", 0777);
	cr_assert_eq(rq_png_write("tests/tmp/image_ok.png", px, 8, 8, 1), RQ_OK);
	n = slurp("tests/tmp/image_ok.png", b, sizeof b);
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

/* testdata/frame.jpg and frame-gray.jpg against Pillow's decode */
Test(image, jpeg_golden)
{
	static const char *path[2] = {"testdata/frame.jpg",
	    "testdata/frame-gray.jpg"};
	int want_ch[2] = {3, 1}, w, h, ch, v;
	size_t k = 0;
	char err[512], line[256];
	float *q;
	FILE *fp = fopen("testdata/frame-jpeg.txt", "r");

	cr_assert_not_null(fp);
	cr_assert_not_null(fgets(line, sizeof line, fp));   /* comment */
	for (int f = 0; f < 2; f++) {
		cr_assert_eq(rq_jpeg_read(path[f], &q, &w, &h, &ch, err,
		    sizeof err), RQ_OK, "%s", err);
		cr_assert_eq(w, 12);
		cr_assert_eq(h, 9);
		cr_assert_eq(ch, want_ch[f]);
		for (int i = 0; i < ch * w * h; i++, k++) {
			cr_assert_eq(fscanf(fp, "%d", &v), 1);
			cr_assert_float_eq(q[i], v / 255.0, 1e-6,
			    "%s[%d]: %g, Pillow %d", path[f], i, q[i] * 255, v);
		}
		free(q);
	}
	cr_assert_eq(fscanf(fp, "%d", &v), EOF);
	cr_assert_eq(k, 4 * 9 * 12);
	fclose(fp);
}

/* lossy round trip: a smooth image comes back within a few levels */
Test(image, jpeg_round_trip)
{
	float px[3 * 16 * 24], *q;
	int w, h, ch;
	char err[512];

	mkdir("tests/tmp", 0777);
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < 16; y++)
			for (int x = 0; x < 24; x++)
				px[(c * 16 + y) * 24 + x] = (float)(0.2 + 0.02 * x +
				    0.01 * y * (c + 1) - 0.05 * c);
	for (int c = 1; c <= 3; c += 2) {
		cr_assert_eq(rq_jpeg_write("tests/tmp/image_rt.jpg", px, 24, 16,
		    c, 95), RQ_OK);
		cr_assert_eq(rq_jpeg_read("tests/tmp/image_rt.jpg", &q, &w, &h,
		    &ch, err, sizeof err), RQ_OK, "%s", err);
		cr_assert_eq(w, 24);
		cr_assert_eq(h, 16);
		cr_assert_eq(ch, c);
		for (int i = 0; i < c * 16 * 24; i++)
			cr_assert_float_eq(q[i], px[i], 6 / 255.0, "%d: %g vs %g",
			    i, q[i], px[i]);
		free(q);
	}
	cr_assert_eq(rq_jpeg_write("tests/tmp/image_bad.jpg", px, 24, 16, 2,
	    95), RQ_EINVAL);
}

/* truncated or corrupt JPEG: an error naming the file, never exit(3) */
Test(image, jpeg_bad_input)
{
	unsigned char b[4096];
	float *q;
	int w, h, ch;
	char err[512];
	size_t n = slurp("testdata/frame.jpg", b, sizeof b);

	mkdir("tests/tmp", 0777);
	put("tests/tmp/image_trunc.jpg", b, n - 40);
	cr_assert_eq(rq_jpeg_read("tests/tmp/image_trunc.jpg", &q, &w, &h, &ch,
	    err, sizeof err), RQ_EFORMAT);
	cr_assert_null(q);
	cr_assert_not_null(strstr(err, "tests/tmp/image_trunc.jpg: "), "%s",
	    err);
	cr_assert_null(strchr(err, '\n'), "%s", err);
	put("tests/tmp/image_head.jpg", b, 40);     /* header cut short */
	cr_assert_eq(rq_jpeg_read("tests/tmp/image_head.jpg", &q, &w, &h, &ch,
	    err, sizeof err), RQ_EFORMAT);
	cr_assert_not_null(strstr(err, "image_head.jpg"), "%s", err);
	put("tests/tmp/image_junk.jpg", "\xff\xd8\xffjunk", 7);
	cr_assert_eq(rq_jpeg_read("tests/tmp/image_junk.jpg", &q, &w, &h, &ch,
	    err, sizeof err), RQ_EFORMAT);
	cr_assert_not_null(strstr(err, "image_junk.jpg"), "%s", err);
	cr_assert_eq(rq_jpeg_read("tests/tmp/no-such.jpg", &q, &w, &h, &ch,
	    err, sizeof err), RQ_EIO);
	cr_assert_eq(rq_jpeg_read("testdata/frame-cmyk.jpg", &q, &w, &h, &ch,
	    err, sizeof err), RQ_EFORMAT);
	cr_assert_str_eq(err, "testdata/frame-cmyk.jpg: CMYK JPEG not "
	    "supported");
}

/* rq_image_read goes by the first bytes, not by the name */
Test(image, read_by_magic)
{
	float px[6 * 4], *q;
	int w, h, ch;
	char err[512];
	unsigned char b[4096];
	size_t n = slurp("testdata/frame.jpg", b, sizeof b);

	mkdir("tests/tmp", 0777);
	put("tests/tmp/image_jpeg.png", b, n);
	cr_assert_eq(rq_image_read("tests/tmp/image_jpeg.png", &q, &w, &h, &ch,
	    err, sizeof err), RQ_OK, "%s", err);
	cr_assert(w == 12 && h == 9 && ch == 3);
	free(q);
	for (int i = 0; i < 24; i++)
		px[i] = (float)i / 24;
	cr_assert_eq(rq_png_write("tests/tmp/image_png.jpg", px, 6, 4, 1),
	    RQ_OK);
	cr_assert_eq(rq_image_read("tests/tmp/image_png.jpg", &q, &w, &h, &ch,
	    err, sizeof err), RQ_OK, "%s", err);
	cr_assert(w == 6 && h == 4 && ch == 1);
	for (int i = 0; i < 24; i++)
		cr_assert_float_eq(q[i], px[i], 0.5 / 255 + 1e-6);
	free(q);
	put("tests/tmp/image_text.jpg", "GIF89a, not a frame", 19);
	cr_assert_eq(rq_image_read("tests/tmp/image_text.jpg", &q, &w, &h, &ch,
	    err, sizeof err), RQ_EFORMAT);
	cr_assert_str_eq(err, "tests/tmp/image_text.jpg: not a PNG or JPEG "
	    "file");
	put("tests/tmp/image_empty.jpg", "", 0);
	cr_assert_eq(rq_image_read("tests/tmp/image_empty.jpg", &q, &w, &h,
	    &ch, err, sizeof err), RQ_EFORMAT);
}

/* the authors' frame choice: 3 of n 1-fps frames, test and train rules */
Test(image, manifest_pick)
{
	size_t idx[3], seen[3][10] = {{0}};
	rq_rng r;

	cr_assert_eq(rq_manifest_pick(10, 3, NULL, idx), RQ_OK);
	cr_assert(idx[0] == 0 && idx[1] == 3 && idx[2] == 6,   /* t 1 4 7 */
	    "%zu %zu %zu", idx[0], idx[1], idx[2]);
	cr_assert_eq(rq_manifest_pick(20, 3, NULL, idx), RQ_OK);
	cr_assert(idx[0] == 2 && idx[1] == 8 && idx[2] == 14,  /* 3 9 15 */
	    "%zu %zu %zu", idx[0], idx[1], idx[2]);
	cr_assert_eq(rq_manifest_pick(7, 3, NULL, idx), RQ_OK);
	cr_assert(idx[0] == 0 && idx[1] == 2 && idx[2] == 4);  /* 1 3 5 */
	cr_assert_eq(rq_manifest_pick(6, 3, NULL, idx), RQ_OK);
	cr_assert(idx[0] == 0 && idx[1] == 0 && idx[2] == 0);  /* <= 6: 1 */
	cr_assert_eq(rq_manifest_pick(2, 3, NULL, idx), RQ_OK);
	cr_assert(idx[0] == 0 && idx[1] == 0 && idx[2] == 0);
	cr_assert_eq(rq_manifest_pick(0, 3, NULL, idx), RQ_EINVAL);
	cr_assert_eq(rq_manifest_pick(7, 8, NULL, idx), RQ_ERANGE);
	/* train, 10 frames: segment i is t in [3i+1, 3i+3], each drawn */
	rq_rng_seed(&r, 18);
	for (int k = 0; k < 600; k++) {
		cr_assert_eq(rq_manifest_pick(10, 3, &r, idx), RQ_OK);
		for (int i = 0; i < 3; i++) {
			cr_assert(idx[i] >= (size_t)3 * i && idx[i] <= (size_t)3 * i + 2,
			    "segment %d: %zu", i, idx[i]);
			seen[i][idx[i]]++;
		}
	}
	for (int i = 0; i < 3; i++)
		for (int t = 3 * i; t <= 3 * i + 2; t++)
			cr_assert(seen[i][t] > 100, "segment %d frame %d: %zu of 600",
			    i, t, seen[i][t]);
	/* train, 20 frames: t >= 10 becomes 9, so segment 2 is always 9 */
	for (int k = 0; k < 50; k++) {
		cr_assert_eq(rq_manifest_pick(20, 3, &r, idx), RQ_OK);
		cr_assert(idx[0] <= 5 && idx[1] >= 6 && idx[1] <= 8 &&
		    idx[2] == 8, "%zu %zu %zu", idx[0], idx[1], idx[2]);
	}
	cr_assert_eq(rq_manifest_pick(4, 3, &r, idx), RQ_OK);
	cr_assert(idx[0] == 0 && idx[1] == 0 && idx[2] == 0);
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
