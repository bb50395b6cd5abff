/*
 * test_fuzzregress.c: every input a fuzzer (fuzz/fuzz_*.c) made crash is
 * kept in testdata/fuzz/crashes/<target>-<what> and replayed here; each
 * must be refused with a status and a one-line message, never a crash.
 * The real check is `make check-asan`, where an over-read aborts the test.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

#define CRASHES "testdata/fuzz/crashes"

/* call fn(path) for every reproducer whose name starts with prefix */
static int
each_crash(const char *prefix, void (*fn)(const char *))
{
	DIR *d = opendir(CRASHES);
	struct dirent *e;
	char path[512];
	int n = 0;

	cr_assert_not_null(d, "cannot open %s", CRASHES);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", CRASHES, e->d_name);
		fn(path);
		n++;
	}
	closedir(d);
	return n;
}

static void
one_line(const char *msg, const char *path)
{
	cr_expect(msg[0] != '\0', "%s: empty error message", path);
	cr_expect(strchr(msg, '\n') == NULL, "%s: message has a newline: %s",
	    path, msg);
}

static void
npy_refused(const char *path)
{
	FILE *fp = fopen(path, "rb");
	rq_tensor t;
	char err[256] = "";

	cr_assert_not_null(fp, "%s", path);
	rq_tensor_init(&t);
	cr_expect_neq(rq_npy_read(fp, &t, err, sizeof err), RQ_OK,
	    "%s: accepted", path);
	one_line(err, path);
	rq_tensor_free(&t);
	fclose(fp);
}

Test(fuzzregress, npy_reproducers)
{
	cr_expect_gt(each_crash("npy-", npy_refused), 0);
}

static void
stream_refused(const char *path)
{
	rq_stream *s = rq_stream_open(path, "r");
	rq_tensor t;
	int rc;

	cr_assert_not_null(s, "%s", path);
	rq_tensor_init(&t);
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK)
		;
	cr_expect_lt(rc, 0, "%s: read to a clean end", path);
	one_line(rq_stream_error(s), path);
	cr_expect(strstr(rq_stream_error(s), path) != NULL,
	    "%s: message does not name the file: %s", path,
	    rq_stream_error(s));
	rq_tensor_free(&t);
	rq_stream_close(s);
}

Test(fuzzregress, stream_reproducers)
{
	each_crash("stream-", stream_refused);
}

/*
 * A .npy header may claim any shape.  A 16-byte body claiming 2^33 bytes
 * must be refused as truncated without allocating (and zeroing) 8 GiB
 * first: the timeout catches the old allocate-then-read behaviour.
 */
Test(fuzzregress, npy_huge_shape_short_body, .timeout = 5)
{
	char hdr[128], buf[256], err[256] = "";
	rq_tensor t;
	FILE *fp = fmemopen(buf, sizeof buf, "w+b");
	int n;

	cr_assert_not_null(fp);
	n = snprintf(hdr, sizeof hdr, "{'descr': '<f8', 'fortran_order': "
	    "False, 'shape': (1073741824,), }");
	while ((10 + n + 1) % 64)
		hdr[n++] = ' ';
	hdr[n++] = '\n';
	fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
	fputc(n & 0xff, fp);
	fputc(n >> 8, fp);
	fwrite(hdr, 1, (size_t)n, fp);
	fwrite("0123456789abcdef", 1, 16, fp);
	fflush(fp);
	rewind(fp);
	rq_tensor_init(&t);
	cr_expect_eq(rq_npy_read(fp, &t, err, sizeof err), RQ_EFORMAT, "%s",
	    err);
	cr_expect(strstr(err, "truncated") != NULL, "%s", err);
	cr_expect_lt(t.cap, (size_t)64 << 20, "allocated %zu bytes", t.cap);
	rq_tensor_free(&t);
	fclose(fp);
}

/* a dimension past 2^64 must not saturate to UINT64_MAX and be accepted
 * (with another dimension 0 the product would be a valid 0 bytes) */
Test(fuzzregress, npy_dim_overflow)
{
	static const char h[] = "{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (0, 99999999999999999999999), }";
	char buf[256], err[256] = "";
	rq_tensor t;
	FILE *fp = fmemopen(buf, sizeof buf, "w+b");
	size_t n = sizeof h - 1;

	cr_assert_not_null(fp);
	fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
	fputc((int)(n + 1), fp);
	fputc(0, fp);
	fwrite(h, 1, n, fp);
	fputc('\n', fp);
	fflush(fp);
	rewind(fp);
	rq_tensor_init(&t);
	cr_expect_eq(rq_npy_read(fp, &t, err, sizeof err), RQ_EFORMAT, "%s",
	    err);
	rq_tensor_free(&t);
	fclose(fp);
}

/*
 * IDX (fuzz_idx, out-of-memory): the header's dims were allocated and
 * zeroed before any data was read, so a 20-byte file claiming [16384,
 * 8192] u8 took 128 MiB (the fuzzer's claimed 2 GiB).  A reader must grow
 * its buffer only as bytes arrive, as rq_tensor_read does.
 */
Test(fuzzregress, idx_huge_claim_short_body)
{
	const char *path = CRASHES "/idx-huge-claim";
	char err[256] = "";
	rq_tensor t;

	rq_tensor_init(&t);
	cr_expect_eq(rq_idx_read(path, &t, err, sizeof err), RQ_EFORMAT,
	    "%s", err);
	one_line(err, path);
	cr_expect_lt(t.cap, (size_t)16 << 20, "allocated %zu bytes for a "
	    "20-byte file", t.cap);
	rq_tensor_free(&t);
}

static void
idx_refused(const char *path)
{
	char err[256] = "";
	rq_tensor t;

	rq_tensor_init(&t);
	cr_expect_neq(rq_idx_read(path, &t, err, sizeof err), RQ_OK,
	    "%s: accepted", path);
	one_line(err, path);
	cr_expect_lt(t.cap, (size_t)16 << 20, "%s: allocated %zu bytes",
	    path, t.cap);
	rq_tensor_free(&t);
}

Test(fuzzregress, idx_reproducers)
{
	cr_expect_gt(each_crash("idx-", idx_refused), 1);
}
