/*
 * jpeg.c: baseline and progressive JPEG images through libjpeg-turbo,
 * gray (1 channel) or colour (YCbCr/RGB, converted to 3 channels RGB),
 * as planar floats v / 255 in [0, 1], the same scale as 8-bit PNG.
 *
 * libjpeg's default error handler calls exit(3) and its warnings (a
 * truncated file is only a warning: the decoder pads it with grey) go to
 * stderr; here both longjmp back with the message, so a damaged file is
 * an error that names the file, never a picture that is partly made up.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "rq.h"

/* 4096 x 4096: far above any frame rq trains on, and a bounded decode */
#define RQ_JPEG_MAX_PIXELS (UINT64_C(1) << 24)

struct jerr {
	struct jpeg_error_mgr pub;      /* first: libjpeg casts to it */
	jmp_buf jb;
	char *err;
	size_t errn;
	const char *path;
};

static void
on_error(j_common_ptr cinfo)
{
	struct jerr *e = (struct jerr *)cinfo->err;
	char buf[JMSG_LENGTH_MAX];

	e->pub.format_message(cinfo, buf);
	snprintf(e->err, e->errn, "%s: %s", e->path, buf);
	longjmp(e->jb, 1);
}

/* level -1 is a warning (corrupt or truncated data): fatal here */
static void
on_message(j_common_ptr cinfo, int level)
{
	if (level < 0)
		on_error(cinfo);
}

/* the error manager of a (de)compressor: messages into err, longjmp */
static struct jpeg_error_mgr *
jerr_init(struct jerr *e, char *err, size_t errn, const char *path)
{
	memset(e, 0, sizeof *e);
	e->err = err;
	e->errn = errn;
	e->path = path;
	jpeg_std_error(&e->pub);
	e->pub.error_exit = on_error;
	e->pub.emit_message = on_message;
	return &e->pub;
}

int
rq_jpeg_read(const char *path, float **px, int *w, int *h, int *ch,
    char *err, size_t errn)
{
	struct jpeg_decompress_struct cinfo;
	struct jerr e;
	FILE *volatile fp;
	unsigned char *volatile row = NULL;
	float *volatile out = NULL;
	JDIMENSION W, H;
	int C;

	*px = NULL;
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errn, "%s: cannot open", path);
		return RQ_EIO;
	}
	cinfo.err = jerr_init(&e, err, errn, path);
	if (setjmp(e.jb)) {
		jpeg_destroy_decompress(&cinfo);
		fclose(fp);
		free(row);
		free(out);
		return RQ_EFORMAT;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_stdio_src(&cinfo, fp);
	jpeg_read_header(&cinfo, TRUE);
	/*
	 * Refuse a huge declared size before libjpeg allocates for it: a
	 * progressive file makes jpeg_start_decompress allocate coefficient
	 * buffers for the whole image (an allocation bomb from a header of a
	 * few bytes; testdata/fuzz/crashes/jpeg-huge-progressive).
	 */
	if ((uint64_t)cinfo.image_width * cinfo.image_height >
	    RQ_JPEG_MAX_PIXELS) {
		snprintf(err, errn, "%s: %ux%u image too large (more than %lu "
		    "pixels)", path, (unsigned)cinfo.image_width,
		    (unsigned)cinfo.image_height,
		    (unsigned long)RQ_JPEG_MAX_PIXELS);
		longjmp(e.jb, 1);
	}
	if (cinfo.jpeg_color_space == JCS_CMYK ||
	    cinfo.jpeg_color_space == JCS_YCCK) {
		snprintf(err, errn, "%s: CMYK JPEG not supported", path);
		longjmp(e.jb, 1);
	}
	cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE :
	    JCS_RGB;
	jpeg_start_decompress(&cinfo);
	W = cinfo.output_width;
	H = cinfo.output_height;
	C = cinfo.output_components;
	if (W > (1u << 15) || H > (1u << 15) || (C != 1 && C != 3)) {
		snprintf(err, errn, "%s: %ux%u image with %d components not "
		    "supported", path, (unsigned)W, (unsigned)H, C);
		longjmp(e.jb, 1);
	}
	row = malloc((size_t)W * C);
	out = malloc((size_t)W * H * C * sizeof *out);
	if (row == NULL || out == NULL) {
		snprintf(err, errn, "%s: out of memory", path);
		longjmp(e.jb, 1);
	}
	while (cinfo.output_scanline < H) {
		JSAMPROW r = row;
		JDIMENSION y = cinfo.output_scanline;
		if (jpeg_read_scanlines(&cinfo, &r, 1) != 1) {
			snprintf(err, errn, "%s: truncated", path);
			longjmp(e.jb, 1);
		}
		for (JDIMENSION x = 0; x < W; x++)
			for (int c = 0; c < C; c++)
				out[((size_t)c * H + y) * W + x] =
				    (float)(row[(size_t)x * C + c] / 255.0);
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	fclose(fp);
	free(row);
	*px = out;
	*w = (int)W;
	*h = (int)H;
	*ch = C;
	return RQ_OK;
}

/* 8-bit gray (ch 1) or RGB (ch 3) from planar [0, 1] floats, quality q */
int
rq_jpeg_write(const char *path, const float *px, int w, int h, int ch,
    int quality)
{
	struct jpeg_compress_struct cinfo;
	struct jerr e;
	char msg[JMSG_LENGTH_MAX + 64];
	FILE *volatile fp;
	unsigned char *volatile row = NULL;

	if ((ch != 1 && ch != 3) || w < 1 || h < 1 || quality < 1 ||
	    quality > 100)
		return RQ_EINVAL;
	if ((fp = fopen(path, "wb")) == NULL)
		return RQ_EIO;
	cinfo.err = jerr_init(&e, msg, sizeof msg, path);
	if (setjmp(e.jb)) {
		jpeg_destroy_compress(&cinfo);
		fclose(fp);
		free(row);
		return RQ_EIO;
	}
	jpeg_create_compress(&cinfo);
	jpeg_stdio_dest(&cinfo, fp);
	cinfo.image_width = (JDIMENSION)w;
	cinfo.image_height = (JDIMENSION)h;
	cinfo.input_components = ch;
	cinfo.in_color_space = ch == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&cinfo);
	jpeg_set_quality(&cinfo, quality, TRUE);
	if ((row = malloc((size_t)w * ch)) == NULL)
		longjmp(e.jb, 1);
	jpeg_start_compress(&cinfo, TRUE);
	while (cinfo.next_scanline < cinfo.image_height) {
		JSAMPROW r = row;
		int y = (int)cinfo.next_scanline;
		for (int x = 0; x < w; x++)
			for (int c = 0; c < ch; c++) {
				double v = px[((size_t)c * h + y) * w + x];
				v = v < 0 ? 0 : v > 1 ? 1 : v;
				row[x * ch + c] = (unsigned char)(v * 255 + 0.5);
			}
		jpeg_write_scanlines(&cinfo, &r, 1);
	}
	jpeg_finish_compress(&cinfo);
	jpeg_destroy_compress(&cinfo);
	free(row);
	return fclose(fp) == 0 ? RQ_OK : RQ_EIO;
}
