/* fuzz_idx.c: libFuzzer target for rq_idx_read (IDX, plain or gzip). */
#include "memfile.h"

#include <string.h>

#include "rq.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	rq_tensor t;

	rq_tensor_init(&t);
	if (rq_idx_read(memfile(data, size), &t, err, sizeof err) == RQ_OK) {
		size_t n = rq_tensor_numel(&t);
		if (n)
			(void)rq_tensor_get(&t, n - 1);
	} else if (err[0] == '\0' || strchr(err, '\n')) {
		abort();
	}
	rq_tensor_free(&t);
	return 0;
}
