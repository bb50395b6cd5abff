/*
 * png.c: PNG images through libpng (gray, gray+alpha, RGB, RGBA, palette;
 * 8 or 16 bits), as planar floats in [0, 1].
 */
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "rq.h"

struct pngerr {
	char *err;
	size_t errn;
	const char *path;
};

static void
on_error(png_structp png, png_const_charp msg)
{
	struct pngerr *e = png_get_error_ptr(png);

	snprintf(e->err, e->errn, "%s: %s", e->path, msg);
	png_longjmp(png, 1);
}

static void
on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

int
rq_png_read(const char *path, float **px, int *w, int *h, int *ch,
    char *err, size_t errn)
{
	struct pngerr e = {err, errn, path};
	png_structp png = NULL;
	png_infop info = NULL;
	unsigned char sig[8];
	FILE *fp;
	png_bytep *volatile rows = NULL;
	float *volatile out = NULL;
	png_uint_32 W, H;
	int depth, color, C, nch;

	*px = NULL;
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errn, "%s: cannot open", path);
		return RQ_EIO;
	}
	if (fread(sig, 1, 8, fp) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
		snprintf(err, errn, "%s: not a PNG file", path);
		fclose(fp);
		return RQ_EFORMAT;
	}
	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, on_error,
	    on_warning);
	if (png == NULL || (info = png_create_info_struct(png)) == NULL) {
		png_destroy_read_struct(&png, NULL, NULL);
		fclose(fp);
		snprintf(err, errn, "%s: out of memory", path);
		return RQ_ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_read_struct(&png, &info, NULL);
		fclose(fp);
		if (rows) {
			for (png_uint_32 y = 0; rows[y]; y++)
				free(rows[y]);
			free(rows);
		}
		free(out);
		return RQ_EFORMAT;
	}
	png_init_io(png, fp);
	png_set_sig_bytes(png, 8);
	png_set_user_limits(png, 1u << 15, 1u << 15);
	png_read_info(png, info);
	png_get_IHDR(png, info, &W, &H, &depth, &color, NULL, NULL, NULL);
	if (color == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(png);
	if (depth == 16)
		png_set_swap(png);      /* 16-bit samples in host order */
	png_read_update_info(png, info);
	nch = png_get_channels(png, info);
	depth = png_get_bit_depth(png, info);
	C = nch >= 3 ? 3 : 1;           /* alpha dropped */
	rows = calloc(H + 1, sizeof *rows);
	out = malloc((size_t)W * H * C * sizeof *out);
	if (rows == NULL || out == NULL) {
		snprintf(err, errn, "%s: out of memory", path);
		png_longjmp(png, 1);
	}
	for (png_uint_32 y = 0; y < H; y++)
		if ((rows[y] = malloc(png_get_rowbytes(png, info))) == NULL) {
			snprintf(err, errn, "%s: out of memory", path);
			png_longjmp(png, 1);
		}
	png_read_image(png, rows);
	for (png_uint_32 y = 0; y < H; y++)
		for (png_uint_32 x = 0; x < W; x++)
			for (int c = 0; c < C; c++) {
				size_t i = (size_t)x * nch + c;
				double v = depth == 16 ?
				    ((uint16_t *)rows[y])[i] / 65535.0 :
				    rows[y][i] / 255.0;
				out[((size_t)c * H + y) * W + x] = (float)v;
			}
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &info, NULL);
	fclose(fp);
	for (png_uint_32 y = 0; y < H; y++)
		free(rows[y]);
	free(rows);
	*px = out;
	*w = (int)W;
	*h = (int)H;
	*ch = C;
	return RQ_OK;
}

/* 8-bit gray (ch 1) or RGB (ch 3) from planar [0, 1] floats */
int
rq_png_write(const char *path, const float *px, int w, int h, int ch)
{
	png_structp png;
	png_infop info;
	unsigned char *row;
	FILE *fp;

	if ((ch != 1 && ch != 3) || w < 1 || h < 1)
		return RQ_EINVAL;
	if ((fp = fopen(path, "wb")) == NULL)
		return RQ_EIO;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png ? png_create_info_struct(png) : NULL;
	row = malloc((size_t)w * ch);
	if (png == NULL || info == NULL || row == NULL) {
		png_destroy_write_struct(&png, &info);
		free(row);
		fclose(fp);
		return RQ_ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(row);
		fclose(fp);
		return RQ_EIO;
	}
	png_init_io(png, fp);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
	    ch == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
	    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
	    PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++)
			for (int c = 0; c < ch; c++) {
				double v = px[((size_t)c * h + y) * w + x];
				v = v < 0 ? 0 : v > 1 ? 1 : v;
				row[x * ch + c] = (unsigned char)lround(v * 255);
			}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(row);
	return fclose(fp) == 0 ? RQ_OK : RQ_EIO;
}
