/*
 * test_fuzzregress.c: every input a fuzzer (fuzz/fuzz_*.c) made crash is
 * kept in testdata/fuzz/crashes/<target>-<what> and replayed here; each
 * must be refused with a status and a one-line message, never a crash.
 * The real check is `make check-asan`, where an over-read aborts the test.
 *
 * The checkpoint field reproducers (ckpt_fields-*) are scripts for the
 * fuzz_ckpt_fields target, which is included whole below: each is run
 * through it (a crash or an accepted field aborts the test) and must end
 * in a refusal with a one-line message.
 */
#define _GNU_SOURCE	/* memfd_create, for fuzz/fuzz_ckpt_fields.c */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
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

/*
 * Issue 16: data sets are checked before use.  set() writes a data set of
 * n samples (audio [n,F,2], visual [n,1,2,2], label [n]) with the given
 * labels, classes= (0: none) and one value planted at audio[bad].
 */
static const char *
set(const char *name, size_t n, size_t F, const int32_t *lab, int classes,
    size_t bad, float badv)
{
	static char path[256];
	uint64_t da[3] = {n, F, 2}, dv[4] = {n, 1, 2, 2}, dl[1] = {n};
	rq_tensor a, v, l;
	rq_stream *s;

	mkdir("tests/tmp", 0777);
	snprintf(path, sizeof path, "tests/tmp/%s", name);
	rq_tensor_init(&a);
	rq_tensor_init(&v);
	rq_tensor_init(&l);
	cr_assert_eq(rq_tensor_alloc(&a, RQ_F32, 3, da), RQ_OK);
	cr_assert_eq(rq_tensor_alloc(&v, RQ_F32, 4, dv), RQ_OK);
	cr_assert_eq(rq_tensor_alloc(&l, RQ_I32, 1, dl), RQ_OK);
	for (size_t i = 0; i < n * F * 2; i++)
		((float *)a.data)[i] = (float)i / 8;
	if (bad < n * F * 2)
		((float *)a.data)[bad] = badv;
	for (size_t i = 0; i < n * 4; i++)
		((float *)v.data)[i] = 0.5f;
	if (n > 0)
		memcpy(l.data, lab, n * sizeof *lab);
	rq_tensor_set_name(&a, "audio");
	rq_tensor_set_name(&v, "visual");
	rq_tensor_set_name(&l, "label");
	if (classes)
		rq_meta_set(&l, "classes", "%d", classes);
	cr_assert_not_null(s = rq_stream_open(path, "w"));
	cr_assert_eq(rq_tensor_write(s, &a), RQ_OK);
	cr_assert_eq(rq_tensor_write(s, &v), RQ_OK);
	cr_assert_eq(rq_tensor_write(s, &l), RQ_OK);
	cr_assert_eq(rq_stream_close(s), RQ_OK);
	rq_tensor_free(&a);
	rq_tensor_free(&v);
	rq_tensor_free(&l);
	return path;
}

/* refused with status rc and one line holding path and every word */
static void
set_refused(const char *path, int rc, const char *w1, const char *w2)
{
	rq_dataset ds;
	char err[512] = "";

	cr_expect_eq(rq_dataset_load(&ds, path, err, sizeof err), rc,
	    "%s: status, message %s", path, err);
	one_line(err, path);
	cr_expect(strstr(err, path) != NULL, "no file named: %s", err);
	cr_expect(strstr(err, w1) != NULL, "no '%s' in: %s", w1, err);
	cr_expect(strstr(err, w2) != NULL, "no '%s' in: %s", w2, err);
	cr_expect_null(ds.label, "a refused set keeps its labels");
}

/* INT32_MAX + 1 wrapped to INT32_MIN and passed "label < classes" */
Test(fuzzregress, dataset_label_int_max)
{
	int32_t lab[3] = {0, INT32_MAX, 1};

	set_refused(set("ds_intmax.rqt", 3, 2, lab, 10, 99, 0), RQ_EFORMAT,
	    "(sample 1)", "label 2147483647 out of range");
	/* without classes=, max label + 1 would overflow the class count */
	set_refused(set("ds_intmax_nok.rqt", 3, 2, lab, 0, 99, 0), RQ_EFORMAT,
	    "(sample 1)", "out of range");
}

Test(fuzzregress, dataset_label_range)
{
	int32_t hi[3] = {0, 1, 3}, neg[3] = {0, -2, 1}, ok[3] = {0, 2, 1};
	rq_dataset ds;
	char err[512] = "";

	set_refused(set("ds_hi.rqt", 3, 2, hi, 3, 99, 0), RQ_EFORMAT,
	    "(sample 2)", "record 2: label 3 out of range (classes=3)");
	set_refused(set("ds_neg.rqt", 3, 2, neg, 3, 99, 0), RQ_EFORMAT,
	    "(sample 1)", "record 2: negative label -2");
	cr_assert_eq(rq_dataset_load(&ds, set("ds_ok.rqt", 3, 2, ok, 3, 99, 0),
	    err, sizeof err), RQ_OK, "%s", err);
	cr_expect_eq(ds.classes, 3);
	rq_dataset_free(&ds);
}

/* a zero sample dimension: memcpy from a NULL buffer before any check */
Test(fuzzregress, dataset_zero_dimension)
{
	int32_t lab[2] = {0, 1};

	set_refused(set("ds_zero.rqt", 2, 0, lab, 2, 99, 0), RQ_EFORMAT,
	    "audio", "zero or too large dimension");
}

Test(fuzzregress, dataset_nonfinite)
{
	int32_t lab[3] = {0, 1, 0};

	/* audio [3,2,2]: element 9 is sample 2 */
	set_refused(set("ds_nan.rqt", 3, 2, lab, 2, 9, NAN), RQ_ENUM,
	    "audio: sample 2", "non-finite");
	set_refused(set("ds_inf.rqt", 3, 2, lab, 2, 0, -INFINITY), RQ_ENUM,
	    "audio: sample 0", "non-finite");
}

Test(fuzzregress, dataset_batch_index_range)
{
	int32_t lab[3] = {0, 1, 0}, y[2] = {7, 7};
	int64_t bad[2] = {0, 3}, neg[2] = {-1, 0}, good[2] = {2, 1};
	float a[8], v[8];
	rq_dataset ds;
	char err[512] = "";

	cr_assert_eq(rq_dataset_load(&ds, set("ds_b.rqt", 3, 2, lab, 2, 99, 0),
	    err, sizeof err), RQ_OK, "%s", err);
	cr_expect_eq(rq_dataset_batch(&ds, bad, 2, a, v, y), RQ_ERANGE);
	cr_expect_eq(rq_dataset_batch(&ds, neg, 2, a, v, y), RQ_ERANGE);
	cr_expect_eq(y[0], 7, "a refused batch copied labels");
	cr_expect_eq(rq_dataset_batch(&ds, good, 2, a, v, y), RQ_OK);
	cr_expect_eq(y[0], 0);
	cr_expect_eq(y[1], 1);
	cr_expect_float_eq(a[0], 8.0f / 8, 0);
	rq_dataset_free(&ds);
}

/*
 * rng.state of all zeros (a crafted checkpoint): xoshiro stays at zero,
 * so rq_rng_below(n) with n not a power of two looped for ever.  The
 * state is refused by rq_rng_set; a state forced in anyway must not hang.
 */
Test(fuzzregress, rng_zero_state, .timeout = 5)
{
	uint64_t zero[4] = {0, 0, 0, 0}, one[4] = {0, 0, 1, 0};
	rq_rng r;
	int64_t idx[5] = {0, 1, 2, 3, 4};

	rq_rng_seed(&r, 3);
	cr_expect_eq(rq_rng_set(&r, zero, 0, 0), RQ_EINVAL);
	cr_expect_neq(r.s[0] | r.s[1] | r.s[2] | r.s[3], 0,
	    "a refused state was copied");
	cr_expect_eq(rq_rng_set(&r, one, 1, NAN), RQ_EINVAL);
	cr_expect_eq(rq_rng_set(&r, one, 2, 0), RQ_EINVAL);
	cr_expect_eq(rq_rng_set(&r, one, 1, 0.25), RQ_OK);
	cr_expect_eq(rq_rng_check(&r), RQ_OK);
	cr_expect_eq(r.s[2], 1u);
	cr_expect_eq(rq_rng_normal(&r), 0.25);
	memset(r.s, 0, sizeof r.s);
	cr_expect_eq(rq_rng_check(&r), RQ_EINVAL);
	cr_expect_lt(rq_rng_below(&r, 3), 3u);
	rq_rng_shuffle(&r, idx, 5);
	r.has_spare = 0;
	cr_expect(isfinite(rq_rng_normal(&r)));
}

static void
jpeg_refused(const char *path)
{
	float *px = NULL;
	int w, h, ch;
	char err[256] = "";

	cr_expect_neq(rq_jpeg_read(path, &px, &w, &h, &ch, err, sizeof err),
	    RQ_OK, "%s: accepted", path);
	cr_expect_null(px, "%s: pixels returned with an error", path);
	one_line(err, path);
	cr_expect(strstr(err, "too large") != NULL,
	    "%s: refused for another reason (%s), not before the decode", path,
	    err);
}

/* a progressive JPEG declaring a huge image: refused before libjpeg
 * allocates for it (found by fuzz_jpeg as an 874 MB allocation) */
Test(fuzzregress, jpeg_reproducers)
{
	cr_expect_gt(each_crash("jpeg-", jpeg_refused), 0);
}

/* fuzz_ckpt_fields, its LLVMFuzzerInitialize and LLVMFuzzerTestOneInput */
#include "../fuzz/fuzz_ckpt_fields.c"

static void
ckpt_fields_refused(const char *path)
{
	static uint8_t buf[4096];
	FILE *fp = fopen(path, "rb");
	size_t n;

	cr_assert_not_null(fp, "%s", path);
	n = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	fuzz_ckpt_fields_refused = -1;
	LLVMFuzzerTestOneInput(buf, n);
	cr_expect_eq(fuzz_ckpt_fields_refused, 1, "%s: not refused (%d)", path,
	    fuzz_ckpt_fields_refused);
	one_line(fuzz_ckpt_fields_err, path);
}

/*
 * Every checkpoint field class the fuzzer found: int and long range
 * (1e300 in d, -1e300 in epoch), sizes whose int products overflow, an
 * all-zero rng.state, a batch position past the epoch or without
 * train.perm, a train.perm with a duplicate, a negative epoch or step, a
 * warm-up of 1e300, a NaN or non-orthogonal R.
 */
Test(fuzzregress, ckpt_fields_reproducers, .timeout = 60)
{
	LLVMFuzzerInitialize(NULL, NULL);
	cr_expect_geq(each_crash("ckpt_fields-", ckpt_fields_refused), 13);
}

/* the unmutated seeds resume: the target is not refusing everything */
Test(fuzzregress, ckpt_fields_seeds_resume, .timeout = 60)
{
	LLVMFuzzerInitialize(NULL, NULL);
	for (uint8_t k = 0; k < NSEED; k++) {
		fuzz_ckpt_fields_refused = -1;
		LLVMFuzzerTestOneInput(&k, 1);
		cr_expect_eq(fuzz_ckpt_fields_refused, 0, "seed %d refused: %s",
		    k, fuzz_ckpt_fields_err);
	}
}

/* sizes whose int products overflow are refused by the plan */
Test(fuzzregress, model_plan_int_products)
{
	rq_model_cfg c;
	rq_model *m = NULL;

	rq_model_cfg_defaults(&c);
	c.method = RQ_METHOD_MT;
	c.d = 65536;
	c.heads = 1;
	c.mlp = 64;
	c.F = c.T = 64;
	c.pf = c.pt = 1;
	c.C = c.H = c.W = 8;
	c.vc = c.ph = c.pw = 1;
	c.classes = 10;
	c.batch = 64;
	cr_expect_eq(rq_model_plan(&m, &c), RQ_ERANGE);
	cr_expect_null(m);
	c.d = 1000000000;	/* 3d overflows int */
	c.mlp = 1;
	c.batch = 1;
	cr_expect_eq(rq_model_plan(&m, &c), RQ_ERANGE);
	c.d = 64;
	c.heads = 4;
	c.mlp = 4;
	c.F = c.T = 16;
	c.pf = c.pt = 4;
	c.batch = 8;
	cr_expect_eq(rq_model_plan(&m, &c), RQ_OK);
	rq_model_free(m);
}

/* out-of-range values saturate when stored in an integer dtype */
Test(fuzzregress, tensor_put_saturates)
{
	rq_tensor t;
	uint64_t dims[1] = {4};
	int32_t *i32;

	rq_tensor_init(&t);
	cr_assert_eq(rq_tensor_alloc(&t, RQ_F64, 1, dims), RQ_OK);
	((double *)t.data)[0] = 1e300;
	((double *)t.data)[1] = -1e300;
	((double *)t.data)[2] = NAN;
	((double *)t.data)[3] = -7.9;
	cr_assert_eq(rq_tensor_convert(&t, RQ_I32), RQ_OK);
	i32 = t.data;
	cr_expect_eq(i32[0], INT32_MAX);
	cr_expect_eq(i32[1], INT32_MIN);
	cr_expect_eq(i32[2], 0);
	cr_expect_eq(i32[3], -7);
	rq_tensor_put(&t, 0, 2147483648.0);
	cr_expect_eq(i32[0], INT32_MAX);
	cr_assert_eq(rq_tensor_convert(&t, RQ_U8), RQ_OK);
	cr_expect_eq(((uint8_t *)t.data)[0], 255);
	cr_expect_eq(((uint8_t *)t.data)[1], 0);
	cr_expect_eq(((uint8_t *)t.data)[3], 0);
	rq_tensor_put(&t, 2, 1e19);
	cr_expect_eq(((uint8_t *)t.data)[2], 255);
	rq_tensor_free(&t);
	cr_assert_eq(rq_tensor_alloc(&t, RQ_U64, 1, dims), RQ_OK);
	rq_tensor_put(&t, 0, 1e30);
	rq_tensor_put(&t, 1, -1);
	cr_expect_eq(((uint64_t *)t.data)[0], UINT64_MAX);
	cr_expect_eq(((uint64_t *)t.data)[1], 0u);
	rq_tensor_free(&t);
	cr_assert_eq(rq_tensor_alloc(&t, RQ_F32, 1, dims), RQ_OK);
	rq_tensor_put(&t, 0, 1e300);
	cr_expect(isinf(((float *)t.data)[0]));
	rq_tensor_free(&t);
}

/* R read back: finite and orthogonal, or refused with a message */
Test(fuzzregress, rotation_check)
{
	double R[9] = {0, -1, 0, 1, 0, 0, 0, 0, 1};
	char err[128] = "";

	cr_expect_eq(rq_rollingq_check_R(R, 3, err, sizeof err), RQ_OK);
	R[8] = 1 + 1e-4;
	cr_expect_eq(rq_rollingq_check_R(R, 3, err, sizeof err), RQ_ERANGE);
	cr_expect(strstr(err, "orthogonal") != NULL, "%s", err);
	R[8] = NAN;
	cr_expect_eq(rq_rollingq_check_R(R, 3, err, sizeof err), RQ_ERANGE);
	cr_expect(strstr(err, "finite") != NULL, "%s", err);
}
