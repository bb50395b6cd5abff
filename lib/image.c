/*
 * image.c: planar float images ([ch][h][w]): a reader that picks PNG or
 * JPEG by the file's first bytes (never by its name), and small
 * operations: bilinear resize, Gaussian blur, box downsampling.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

int
rq_image_read(const char *path, float **px, int *w, int *h, int *ch,
    char *err, size_t errn)
{
	static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n',
	    0x1a, '\n'};
	static const unsigned char jpeg[3] = {0xff, 0xd8, 0xff};
	unsigned char sig[8];
	size_t n;
	FILE *fp;

	*px = NULL;
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errn, "%s: cannot open", path);
		return RQ_EIO;
	}
	n = fread(sig, 1, sizeof sig, fp);
	fclose(fp);
	if (n >= sizeof png && memcmp(sig, png, sizeof png) == 0)
		return rq_png_read(path, px, w, h, ch, err, errn);
	if (n >= sizeof jpeg && memcmp(sig, jpeg, sizeof jpeg) == 0)
		return rq_jpeg_read(path, px, w, h, ch, err, errn);
	snprintf(err, errn, "%s: not a PNG or JPEG file", path);
	return RQ_EFORMAT;
}

/*
 * Bilinear resize with pixel centres aligned (align_corners=False, no
 * antialiasing): source coordinate (d + 0.5) * s/d - 0.5, clamped.
 */
void
rq_image_resize(const float *src, int sw, int sh, int ch, float *dst,
    int dw, int dh)
{
	for (int c = 0; c < ch; c++)
		for (int y = 0; y < dh; y++) {
			double fy = (y + 0.5) * sh / dh - 0.5;
			int y0;
			double ay;
			fy = fy < 0 ? 0 : fy > sh - 1 ? sh - 1 : fy;
			y0 = (int)fy;
			if (y0 > sh - 2)
				y0 = sh > 1 ? sh - 2 : 0;
			ay = sh > 1 ? fy - y0 : 0;
			for (int x = 0; x < dw; x++) {
				double fx = (x + 0.5) * sw / dw - 0.5, ax, v;
				int x0;
				const float *p = src + (size_t)c * sw * sh;
				fx = fx < 0 ? 0 : fx > sw - 1 ? sw - 1 : fx;
				x0 = (int)fx;
				if (x0 > sw - 2)
					x0 = sw > 1 ? sw - 2 : 0;
				ax = sw > 1 ? fx - x0 : 0;
				v = (1 - ay) * ((1 - ax) * p[y0 * sw + x0] +
				    (sw > 1 ? ax * p[y0 * sw + x0 + 1] : 0));
				if (sh > 1)
					v += ay * ((1 - ax) * p[(y0 + 1) * sw + x0] +
					    (sw > 1 ? ax * p[(y0 + 1) * sw + x0 + 1] : 0));
				dst[((size_t)c * dh + y) * dw + x] = (float)v;
			}
		}
}

/* separable Gaussian blur, std sigma pixels, radius ceil(3 sigma), edges
 * clamped; in place on one [h][w] plane */
int
rq_image_blur(float *p, int w, int h, double sigma)
{
	int r = (int)ceil(3 * sigma);
	double *k, *tmp;

	if (!(sigma > 0))
		return RQ_OK;
	k = malloc((size_t)(2 * r + 1) * sizeof *k);
	tmp = malloc((size_t)w * h * sizeof *tmp);
	if (k == NULL || tmp == NULL) {
		free(k);
		free(tmp);
		return RQ_ENOMEM;
	}
	{
		double s = 0;
		for (int i = -r; i <= r; i++)
			s += k[i + r] = exp(-0.5 * i * i / (sigma * sigma));
		for (int i = 0; i <= 2 * r; i++)
			k[i] /= s;
	}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double s = 0;
			for (int i = -r; i <= r; i++) {
				int xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
				s += k[i + r] * p[y * w + xx];
			}
			tmp[y * w + x] = s;
		}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double s = 0;
			for (int i = -r; i <= r; i++) {
				int yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
				s += k[i + r] * tmp[yy * w + x];
			}
			p[y * w + x] = (float)s;
		}
	free(k);
	free(tmp);
	return RQ_OK;
}

/* lose resolution, keep the shape: f x f box means, repeated back */
void
rq_image_downsample(float *p, int w, int h, int f)
{
	if (f <= 1)
		return;
	for (int by = 0; by < h; by += f)
		for (int bx = 0; bx < w; bx += f) {
			double s = 0;
			int n = 0;
			for (int y = by; y < by + f && y < h; y++)
				for (int x = bx; x < bx + f && x < w; x++) {
					s += p[y * w + x];
					n++;
				}
			for (int y = by; y < by + f && y < h; y++)
				for (int x = bx; x < bx + f && x < w; x++)
					p[y * w + x] = (float)(s / n);
		}
}
