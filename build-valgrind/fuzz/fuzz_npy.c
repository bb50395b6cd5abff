/*
 * fuzz_npy.c: libFuzzer target for the .npy reader (rq_npy_read).  The
 * input is one file; a successful read is written back and read again,
 * which must give the same tensor.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rq_tensor t, u;
	char err[256], *buf = NULL;
	size_t blen = 0;
	FILE *fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "rb")) == NULL)
		return 0;
	rq_tensor_init(&t);
	rq_tensor_init(&u);
	if (rq_npy_read(fp, &t, err, sizeof err) == RQ_OK) {
		FILE *w = open_memstream(&buf, &blen);

		if (w == NULL)
			abort();
		if (rq_npy_write(w, &t) != RQ_OK)
			abort();
		fclose(w);
		if ((w = fmemopen(buf, blen, "rb")) == NULL)
			abort();
		if (rq_npy_read(w, &u, err, sizeof err) != RQ_OK ||
		    u.dtype != t.dtype || u.ndim != t.ndim ||
		    memcmp(u.dims, t.dims, sizeof t.dims) != 0 ||
		    u.nbytes != t.nbytes ||
		    (t.nbytes && memcmp(u.data, t.data, t.nbytes) != 0))
			abort();
		fclose(w);
		free(buf);
	} else if (memchr(err, '\0', sizeof err) == NULL) {
		abort();	/* the message must be terminated */
	}
	fclose(fp);
	rq_tensor_free(&t);
	rq_tensor_free(&u);
	return 0;
}
