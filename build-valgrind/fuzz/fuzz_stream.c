/*
 * fuzz_stream.c: libFuzzer target for the record reader of rq-tensor(5).
 * The input is served twice: from a memfd (a regular file, so the reader
 * knows the bytes left) and, when it fits a pipe buffer, from a pipe (the
 * reader cannot know).  Every record is read and its metadata looked up.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

static void
drain(int fd)
{
	rq_stream *s;
	rq_tensor t;
	char buf[64];
	double v;
	int rc;

	if ((s = rq_stream_fdopen(fd, "fuzz", "r")) == NULL) {
		close(fd);
		return;
	}
	rq_stream_set_limit(s, (uint64_t)64 << 20);
	rq_tensor_init(&t);
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
		size_t n = rq_tensor_numel(&t);

		(void)rq_meta_get(&t, "classes", buf, sizeof buf);
		(void)rq_meta_getd(&t, "norm.mean", &v);
		(void)rq_tensor_shape_str(&t, buf, sizeof buf);
		if (n)
			(void)rq_tensor_get(&t, n - 1);
	}
	(void)rq_stream_error(s);
	(void)rq_stream_record(s);
	rq_tensor_free(&t);
	rq_stream_close(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd, p[2];

	if ((fd = memfd_create("fuzz", 0)) >= 0) {
		if (write(fd, data, size) == (ssize_t)size &&
		    lseek(fd, 0, SEEK_SET) == 0)
			drain(fd);
		else
			close(fd);
	}
	if (size <= 60000 && pipe(p) == 0) {
		if (write(p[1], data, size) == (ssize_t)size) {
			close(p[1]);
			drain(p[0]);
		} else {
			close(p[0]);
			close(p[1]);
		}
	}
	return 0;
}
