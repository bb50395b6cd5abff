/*
 * fuzz_jpeg.c: libFuzzer target for rq_jpeg_read (libjpeg-turbo) and the
 * reader that picks PNG or JPEG by magic bytes.  Neither may exit(3) or
 * crash; an error is one line; a JPEG read both ways gives the same
 * status and the same pixels, all in [0, 1].
 */
#include "memfile.h"

#include <string.h>

#include "rq.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = memfile(data, size);
	char e1[256] = "", e2[256] = "";
	float *a = NULL, *b = NULL;
	int w, h, ch, w2, h2, ch2, r1, r2;
	int jpeg = size >= 3 && data[0] == 0xff && data[1] == 0xd8 &&
	    data[2] == 0xff;

	r1 = rq_jpeg_read(path, &a, &w, &h, &ch, e1, sizeof e1);
	r2 = rq_image_read(path, &b, &w2, &h2, &ch2, e2, sizeof e2);
	if ((r1 != RQ_OK && (e1[0] == '\0' || strchr(e1, '\n'))) ||
	    (r2 != RQ_OK && (e2[0] == '\0' || strchr(e2, '\n'))))
		abort();
	if (jpeg && (r1 != r2 || (r1 == RQ_OK && (w != w2 || h != h2 ||
	    ch != ch2 || memcmp(a, b, (size_t)w * h * ch * sizeof *a)))))
		abort();	/* the dispatcher must be the JPEG reader */
	if (r1 == RQ_OK) {
		if (w < 1 || h < 1 || (ch != 1 && ch != 3))
			abort();
		for (size_t i = 0; i < (size_t)w * h * ch; i++)
			if (!(a[i] >= 0 && a[i] <= 1))
				abort();	/* promised [0, 1] */
	}
	free(a);
	free(b);
	return 0;
}
