/*
 * fuzz_jpeg.c: libFuzzer target for rq_jpeg_read (libjpeg-turbo): never
 * exit(3), one line on error, pixels in [0, 1].
 */
#include "memfile.h"

#include <string.h>

#include "rq.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	float *px = NULL;
	int w, h, ch;

	if (rq_jpeg_read(memfile(data, size), &px, &w, &h, &ch, err,
	    sizeof err) == RQ_OK) {
		volatile float s = 0;
		size_t n = (size_t)w * (size_t)h * (size_t)ch;
		if (w < 1 || h < 1 || (ch != 1 && ch != 3))
			abort();
		for (size_t i = 0; i < n; i++) {
			if (!(px[i] >= 0 && px[i] <= 1))
				abort();	/* promised [0, 1] */
			s += px[i];
		}
		(void)s;
		free(px);
	} else if (err[0] == '\0' || strchr(err, '\n')) {
		abort();
	}
	return 0;
}
