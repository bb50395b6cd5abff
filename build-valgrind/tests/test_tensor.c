/*
 * test_tensor.c: the in-memory tensor, metadata, and the stream format of
 * rq-tensor(5).  The byte layout is checked against an encoder written
 * here from the man page (enc_record), not against the library's writer.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "rq.h"

/* ---- helpers ---- */

static void
le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * One record as rq-tensor(5) describes it; returns its length.  With
 * nbytes_hdr_only set, only the header (and its padding) is produced.
 */
static size_t
enc_record(unsigned char *o, int version, int dtype, int ndim,
    const uint64_t *dims, const char *name, const char *meta,
    const void *data, size_t nb, int hdr_only)
{
	size_t n = 0, nl = strlen(name), ml = strlen(meta);
	uLong crc;

	memcpy(o, "\x89RQT", 4);
	le(o + 4, (uint64_t)version, 2);
	o[6] = (unsigned char)dtype;
	o[7] = (unsigned char)ndim;
	le(o + 8, nl, 4);
	le(o + 12, ml, 4);
	n = 16;
	for (int i = 0; i < ndim; i++, n += 8)
		le(o + n, dims[i], 8);
	memcpy(o + n, name, nl);
	n += nl;
	memcpy(o + n, meta, ml);
	n += ml;
	crc = crc32(0L, o, (uInt)n);
	le(o + n, crc, 4);
	n += 4;
	while (n % 8)
		o[n++] = 0;
	if (hdr_only)
		return n;
	if (nb)
		memcpy(o + n, data, nb);
	crc = crc32(0L, o + n, (uInt)nb);
	n += nb;
	while (n % 8)
		o[n++] = 0;
	le(o + n, crc, 4);
	le(o + n + 4, 0, 4);
	return n + 8;
}

/* a readable fd holding buf: a pipe (len must fit its buffer) or a file */
static int
fd_of(const void *buf, size_t len, int use_pipe)
{
	int p[2];

	if (use_pipe) {
		cr_assert(len <= 65536);
		cr_assert_eq(pipe(p), 0);
		cr_assert_eq(write(p[1], buf, len), (ssize_t)len);
		close(p[1]);
		return p[0];
	} else {
		FILE *fp = tmpfile();
		int fd;

		cr_assert_not_null(fp);
		cr_assert_eq(fwrite(buf, 1, len, fp), len);
		fflush(fp);
		fd = dup(fileno(fp));
		fclose(fp);
		lseek(fd, 0, SEEK_SET);
		return fd;
	}
}

/* bytes written by the library for n tensors */
static unsigned char *
lib_write(const rq_tensor *ts, int n, size_t *len)
{
	FILE *fp = tmpfile();
	rq_stream *s;
	unsigned char *buf;
	long sz;

	cr_assert_not_null(fp);
	s = rq_stream_fdopen(dup(fileno(fp)), "mem", "w");
	cr_assert_not_null(s);
	for (int i = 0; i < n; i++)
		cr_assert_eq(rq_tensor_write(s, &ts[i]), RQ_OK, "%s",
		    rq_stream_error(s));
	cr_assert_eq(rq_stream_close(s), RQ_OK);
	sz = ftell(fp);
	fseek(fp, 0, SEEK_END);
	sz = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)sz + 1);
	cr_assert_eq(fread(buf, 1, (size_t)sz, fp), (size_t)sz);
	fclose(fp);
	*len = (size_t)sz;
	return buf;
}

/* read every record of buf; returns the final status, *nrec good ones */
static int
read_all(const void *buf, size_t len, int use_pipe, long *nrec, char *msg,
    size_t msgn)
{
	rq_stream *s = rq_stream_fdopen(fd_of(buf, len, use_pipe), "buf", "r");
	rq_tensor t;
	int rc;

	cr_assert_not_null(s);
	rq_tensor_init(&t);
	*nrec = 0;
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK)
		(*nrec)++;
	snprintf(msg, msgn, "%s", rq_stream_error(s));
	if (rc != RQ_EOF)
		cr_assert_eq(rq_stream_record(s), *nrec);
	rq_stream_close(s);
	rq_tensor_free(&t);
	return rc;
}

/* error message of the first record of buf (which must fail) */
static int
first_error(const void *buf, size_t len, int use_pipe, char *msg, size_t n)
{
	long nrec;
	int rc = read_all(buf, len, use_pipe, &nrec, msg, n);

	cr_assert_eq(nrec, 0, "record read despite error: %s", msg);
	return rc;
}

static void
fill_bytes(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (unsigned char)(x >> 16);
	}
}

static void
mk(rq_tensor *t, int dtype, int ndim, const uint64_t *dims, const char *name,
    unsigned seed)
{
	rq_tensor_init(t);
	cr_assert_eq(rq_tensor_alloc(t, dtype, ndim, dims), RQ_OK);
	cr_assert_eq(rq_tensor_set_name(t, name), RQ_OK);
	fill_bytes(t->data, t->nbytes, seed);
}

/* a small stream of three records and its record boundaries */
static size_t
small_stream(unsigned char *buf, size_t *bounds)
{
	uint64_t d1[2] = {2, 3}, d2[1] = {5};
	float f[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
	int32_t l[5] = {0, 1, 2, 1, 0};
	double x = 0.25;
	size_t n = 0;

	bounds[0] = 0;
	n += enc_record(buf + n, 1, RQ_F32, 2, d1, "audio", "split=train\n",
	    f, sizeof f, 0);
	bounds[1] = n;
	n += enc_record(buf + n, 1, RQ_I32, 1, d2, "label", "", l, sizeof l, 0);
	bounds[2] = n;
	n += enc_record(buf + n, 1, RQ_F64, 0, NULL, "", "a=b\n", &x,
	    sizeof x, 0);
	bounds[3] = n;
	return n;
}

/* ---- dtypes and the in-memory tensor ---- */

Test(tensor, dtype_table)
{
	static const struct { int code; const char *name; size_t size; } d[] = {
		{1, "u8", 1}, {2, "i8", 1}, {3, "u16", 2}, {4, "i16", 2},
		{5, "u32", 4}, {6, "i32", 4}, {7, "u64", 8}, {8, "i64", 8},
		{9, "f32", 4}, {10, "f64", 8},
	};

	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
		cr_assert_eq(rq_dtype_size(d[i].code), d[i].size);
		cr_assert_str_eq(rq_dtype_name(d[i].code), d[i].name);
		cr_assert_eq(rq_dtype_parse(d[i].name), d[i].code);
	}
	cr_assert_eq(rq_dtype_size(0), 0);
	cr_assert_eq(rq_dtype_size(11), 0);
	cr_assert_str_eq(rq_dtype_name(11), "?");
	cr_assert_eq(rq_dtype_parse("f16"), -1);
}

Test(tensor, numel_overflow)
{
	uint64_t big[2] = {(uint64_t)1 << 33, (uint64_t)1 << 33};
	uint64_t zero[3] = {0, UINT64_MAX, UINT64_MAX};
	uint64_t ok[3] = {2, 3, 4};
	size_t nb;

	cr_assert_eq(rq_numel_of(2, big, 4, &nb), RQ_ERANGE);
	cr_assert_eq(rq_numel_of(3, ok, 8, &nb), RQ_OK);
	cr_assert_eq(nb, 192);
	cr_assert_eq(rq_numel_of(0, NULL, 8, &nb), RQ_OK);
	cr_assert_eq(nb, 8);
	cr_assert_eq(rq_numel_of(3, zero, 4, &nb), RQ_OK);
	cr_assert_eq(nb, 0);
	cr_assert_eq(rq_numel_of(9, ok, 4, &nb), RQ_ERANGE);
}

Test(tensor, get_put_convert_copy_shape)
{
	rq_tensor t, u;
	uint64_t d[2] = {2, 3};
	char buf[64];

	rq_tensor_init(&t);
	rq_tensor_init(&u);
	cr_assert_eq(rq_tensor_alloc(&t, RQ_I16, 2, d), RQ_OK);
	for (size_t i = 0; i < 6; i++)
		rq_tensor_put(&t, i, (double)i * 1000 - 2500);
	cr_assert_eq(((int16_t *)t.data)[0], -2500);
	cr_assert_eq(rq_tensor_get(&t, 5), 2500);
	cr_assert_eq(rq_tensor_convert(&t, RQ_F64), RQ_OK);
	cr_assert_eq(t.nbytes, 48);
	cr_assert_eq(((double *)t.data)[4], 1500);
	rq_tensor_set_name(&t, "w");
	rq_meta_set(&t, "k", "%d", 3);
	cr_assert_eq(rq_tensor_copy(&u, &t), RQ_OK);
	cr_assert_eq(memcmp(u.data, t.data, t.nbytes), 0);
	cr_assert_str_eq(u.name, "w");
	cr_assert_str_eq(u.meta, "k=3\n");
	cr_assert_eq(rq_tensor_shape_str(&t, buf, sizeof buf), RQ_OK);
	cr_assert_str_eq(buf, "[2,3]");
	cr_assert_eq(rq_tensor_shape_str(&t, buf, 4), RQ_ERANGE);
	t.ndim = 0;
	cr_assert_eq(rq_tensor_shape_str(&t, buf, sizeof buf), RQ_OK);
	cr_assert_str_eq(buf, "[]");
	rq_tensor_free(&t);
	rq_tensor_free(&u);
}

Test(tensor, names)
{
	rq_tensor t;
	char long_name[RQ_NAME_MAX + 2];

	rq_tensor_init(&t);
	memset(long_name, 'n', sizeof long_name);
	long_name[RQ_NAME_MAX + 1] = '\0';
	cr_assert_eq(rq_tensor_set_name(&t, long_name), RQ_EINVAL);
	long_name[RQ_NAME_MAX] = '\0';
	cr_assert_eq(rq_tensor_set_name(&t, long_name), RQ_OK);
	cr_assert_eq(strlen(t.name), RQ_NAME_MAX);
	cr_assert_eq(rq_tensor_set_name(&t, "a\nb"), RQ_EINVAL);
	cr_assert_eq(rq_tensor_set_name(&t, ""), RQ_OK);
	rq_tensor_free(&t);
}

Test(tensor, metadata)
{
	rq_tensor t;
	char buf[64], *big;
	double v;

	rq_tensor_init(&t);
	cr_assert_null(rq_meta_get(&t, "a", buf, sizeof buf));
	cr_assert_eq(rq_meta_set(&t, "classes", "%d", 10), RQ_OK);
	cr_assert_eq(rq_meta_set(&t, "norm.mean", "%g", -0.5), RQ_OK);
	cr_assert_eq(rq_meta_set(&t, "split", "train"), RQ_OK);
	cr_assert_str_eq(t.meta, "classes=10\nnorm.mean=-0.5\nsplit=train\n");
	cr_assert_str_eq(rq_meta_get(&t, "split", buf, sizeof buf), "train");
	cr_assert_eq(rq_meta_getd(&t, "norm.mean", &v), RQ_OK);
	cr_assert_eq(v, -0.5);
	cr_assert_eq(rq_meta_getd(&t, "split", &v), RQ_EFORMAT);
	cr_assert_eq(rq_meta_getd(&t, "nope", &v), RQ_EINVAL);
	/* overwrite moves the key to the end; prefixes do not match */
	cr_assert_eq(rq_meta_set(&t, "classes", "%d", 4), RQ_OK);
	cr_assert_str_eq(t.meta, "norm.mean=-0.5\nsplit=train\nclasses=4\n");
	cr_assert_null(rq_meta_get(&t, "norm", buf, sizeof buf));
	cr_assert_null(rq_meta_get(&t, "class", buf, sizeof buf));
	cr_assert_null(rq_meta_get(&t, "split", buf, 5));	/* too small */
	cr_assert_eq(rq_meta_del(&t, "split"), RQ_OK);
	cr_assert_eq(rq_meta_del(&t, "split"), RQ_OK);
	cr_assert_str_eq(t.meta, "norm.mean=-0.5\nclasses=4\n");
	cr_assert_eq(t.meta_len, strlen(t.meta));
	cr_assert_eq(rq_meta_set(&t, "empty", "%s", ""), RQ_OK);
	cr_assert_str_eq(rq_meta_get(&t, "empty", buf, sizeof buf), "");
	/* values may hold '=' and spaces; keys are restricted */
	cr_assert_eq(rq_meta_set(&t, "cmd", "a=b c"), RQ_OK);
	cr_assert_str_eq(rq_meta_get(&t, "cmd", buf, sizeof buf), "a=b c");
	cr_assert_eq(rq_meta_set(&t, "bad key", "1"), RQ_EINVAL);
	cr_assert_eq(rq_meta_set(&t, "", "1"), RQ_EINVAL);
	cr_assert_eq(rq_meta_set(&t, "k=v", "1"), RQ_EINVAL);
	cr_assert_eq(rq_meta_set(&t, "k", "a\nb"), RQ_EINVAL);
	cr_assert(rq_meta_valid(t.meta, t.meta_len));
	/* the size limit: a failed set keeps the old value */
	big = malloc(4096);
	memset(big, 'v', 4095);
	big[4095] = '\0';
	cr_assert_eq(rq_meta_set(&t, "k0", "small"), RQ_OK);
	{
		int i, rc = RQ_OK;
		char key[32];

		for (i = 0; rc == RQ_OK; i++) {
			snprintf(key, sizeof key, "f%d", i);
			rc = rq_meta_set(&t, key, "%.3999s", big);
		}
		cr_assert_eq(rc, RQ_ERANGE);
		cr_assert(t.meta_len <= RQ_META_MAX);
		cr_assert_eq(rq_meta_set(&t, "k0", "%s", big), RQ_ERANGE);
		cr_assert_str_eq(rq_meta_get(&t, "k0", buf, sizeof buf),
		    "small");
		cr_assert(rq_meta_valid(t.meta, t.meta_len));
	}
	free(big);
	cr_assert_eq(rq_meta_clear(&t), RQ_OK);
	cr_assert_eq(t.meta_len, 0);
	rq_tensor_free(&t);
}

Test(tensor, meta_valid)
{
	cr_assert(rq_meta_valid("", 0));
	cr_assert(rq_meta_valid("a=1\nb.c:d/e-f_g=x y=z\n", 22));
	cr_assert(rq_meta_valid("a=\n", 3));
	cr_assert_not(rq_meta_valid("a=1", 3));		/* no newline */
	cr_assert_not(rq_meta_valid("=1\n", 3));	/* empty key */
	cr_assert_not(rq_meta_valid("a b=1\n", 6));
	cr_assert_not(rq_meta_valid("novalue\n", 8));
	cr_assert_not(rq_meta_valid("\n", 1));
	cr_assert_not(rq_meta_valid("a=1\0\n", 5));
}

/* ---- the byte layout ---- */

Test(tensor, layout_matches_spec)
{
	rq_tensor t[3];
	uint64_t d[3] = {2, 1, 3};
	unsigned char want[1024];
	size_t n = 0, len;
	unsigned char *got;

	mk(&t[0], RQ_U16, 3, d, "enc.a.blk.0.attn.qkv.w", 1);
	rq_meta_set(&t[0], "epoch", "3");
	mk(&t[1], RQ_F64, 0, NULL, "", 2);	/* no metadata at all */
	mk(&t[2], RQ_U8, 1, d, "x", 3);
	n += enc_record(want + n, 1, RQ_U16, 3, d, t[0].name, "epoch=3\n",
	    t[0].data, 12, 0);
	n += enc_record(want + n, 1, RQ_F64, 0, NULL, "", "", t[1].data, 8, 0);
	n += enc_record(want + n, 1, RQ_U8, 1, d, "x", "", t[2].data, 2, 0);
	got = lib_write(t, 3, &len);
	cr_assert_eq(len, n);
	cr_assert_eq(len % 8, 0);
	cr_assert_eq(memcmp(got, want, n), 0, "library bytes differ from "
	    "rq-tensor(5)");
	free(got);
	for (int i = 0; i < 3; i++)
		rq_tensor_free(&t[i]);
}

/* ---- round trips ---- */

Test(tensor, roundtrip_every_dtype_and_shape)
{
	static const struct { int ndim; uint64_t d[8]; } shapes[] = {
		{0, {0}}, {1, {0}}, {1, {1}}, {1, {7}}, {2, {3, 0}},
		{3, {2, 0, 5}}, {2, {3, 5}}, {4, {1, 2, 1, 3}},
		{8, {1, 2, 1, 2, 1, 2, 1, 3}}, {8, {2, 2, 2, 2, 2, 2, 2, 0}},
	};
	enum { NS = sizeof shapes / sizeof shapes[0], NT = NS * 10 };
	rq_tensor *ts = calloc(NT, sizeof *ts), r;
	unsigned char *buf;
	size_t len;
	char name[RQ_NAME_MAX + 1];
	int k = 0;

	for (int dt = RQ_U8; dt <= RQ_F64; dt++)
		for (int s = 0; s < NS; s++, k++) {
			memset(name, 'a' + k % 26, sizeof name);
			name[k % 2 ? RQ_NAME_MAX : k % 17] = '\0';
			mk(&ts[k], dt, shapes[s].ndim, shapes[s].d, name,
			    (unsigned)k);
			if (k % 3)
				rq_meta_set(&ts[k], "k", "%d", k);
		}
	buf = lib_write(ts, NT, &len);
	for (int use_pipe = 0; use_pipe < 2; use_pipe++) {
		rq_stream *s;
		int fds[2];
		pid_t pid = -1;

		if (use_pipe) {		/* larger than a pipe: feed it */
			cr_assert_eq(pipe(fds), 0);
			if ((pid = fork()) == 0) {
				close(fds[0]);
				_exit(write(fds[1], buf, len) != (ssize_t)len);
			}
			close(fds[1]);
			s = rq_stream_fdopen(fds[0], "pipe", "r");
		} else {
			s = rq_stream_fdopen(fd_of(buf, len, 0), "file", "r");
		}
		rq_tensor_init(&r);
		for (k = 0; k < NT; k++) {
			cr_assert_eq(rq_tensor_read(s, &r), RQ_OK, "%s",
			    rq_stream_error(s));
			cr_assert_eq(r.dtype, ts[k].dtype);
			cr_assert_eq(r.ndim, ts[k].ndim);
			cr_assert_eq(memcmp(r.dims, ts[k].dims, sizeof r.dims),
			    0);
			cr_assert_eq(r.nbytes, ts[k].nbytes);
			cr_assert_str_eq(r.name, ts[k].name);
			cr_assert_eq(r.meta_len, ts[k].meta_len);
			if (r.meta_len)
				cr_assert_str_eq(r.meta, ts[k].meta);
			if (r.nbytes)
				cr_assert_eq(memcmp(r.data, ts[k].data,
				    r.nbytes), 0);
			cr_assert_eq(rq_stream_record(s), k + 1);
		}
		cr_assert_eq(rq_tensor_read(s, &r), RQ_EOF);
		rq_stream_close(s);
		rq_tensor_free(&r);
		if (pid > 0) {
			int st;
			waitpid(pid, &st, 0);
			cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
	}
	free(buf);
	for (k = 0; k < NT; k++)
		rq_tensor_free(&ts[k]);
	free(ts);
}

/* 40 records of 256 KiB through a pipe, written and read concurrently */
Test(tensor, pipe_record_by_record)
{
	int fds[2], st;
	pid_t pid;
	rq_stream *s;
	rq_tensor t;
	uint64_t d[2] = {256, 256};

	cr_assert_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		rq_stream *w;

		close(fds[0]);
		w = rq_stream_fdopen(fds[1], "pipe-w", "w");
		rq_tensor_init(&t);
		rq_tensor_alloc(&t, RQ_F32, 2, d);
		for (int r = 0; r < 40; r++) {
			for (size_t i = 0; i < 65536; i++)
				((float *)t.data)[i] = (float)(r * 65536 + i);
			rq_meta_set(&t, "r", "%d", r);
			if (rq_tensor_write(w, &t) != RQ_OK)
				_exit(1);
		}
		_exit(rq_stream_close(w) != RQ_OK);
	}
	close(fds[1]);
	s = rq_stream_fdopen(fds[0], "pipe-r", "r");
	rq_tensor_init(&t);
	for (int r = 0; r < 40; r++) {
		double v;

		cr_assert_eq(rq_tensor_read(s, &t), RQ_OK, "%s",
		    rq_stream_error(s));
		cr_assert_eq(rq_meta_getd(&t, "r", &v), RQ_OK);
		cr_assert_eq(v, r);
		cr_assert_eq(((float *)t.data)[0], (float)(r * 65536));
		cr_assert_eq(((float *)t.data)[65535],
		    (float)(r * 65536 + 65535));
		cr_assert(t.cap <= 2 * t.nbytes, "buffer grew to %zu", t.cap);
	}
	cr_assert_eq(rq_tensor_read(s, &t), RQ_EOF);
	rq_stream_close(s);
	rq_tensor_free(&t);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- the defensive reader ---- */

Test(tensor, truncated_at_every_byte)
{
	unsigned char buf[512];
	size_t bounds[4], len = small_stream(buf, bounds);
	char msg[512], want[64];

	for (int use_pipe = 0; use_pipe < 2; use_pipe++)
		for (size_t cut = 0; cut <= len; cut++) {
			long nrec, k = 0;
			int rc = read_all(buf, cut, use_pipe, &nrec, msg,
			    sizeof msg);

			while (k < 3 && bounds[k + 1] <= cut)
				k++;
			if (cut == bounds[k]) {
				cr_assert_eq(rc, RQ_EOF, "cut %zu: %s", cut,
				    msg);
				cr_assert_eq(nrec, k);
				continue;
			}
			cr_assert_eq(rc, RQ_EFORMAT, "cut %zu (pipe %d): rc %d",
			    cut, use_pipe, rc);
			cr_assert_eq(nrec, k, "cut %zu", cut);
			snprintf(want, sizeof want, "buf: record %ld: "
			    "truncated", k);
			cr_assert(strstr(msg, want) == msg, "cut %zu: %s", cut,
			    msg);
		}
}

Test(tensor, every_bit_flip_detected)
{
	unsigned char buf[512], bad[512];
	size_t bounds[4], len = small_stream(buf, bounds);
	char msg[512];
	long nrec;

	cr_assert_eq(read_all(buf, len, 1, &nrec, msg, sizeof msg), RQ_EOF);
	cr_assert_eq(nrec, 3);
	for (size_t bit = 0; bit < 8 * len; bit++) {
		int rc;

		memcpy(bad, buf, len);
		bad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		rc = read_all(bad, len, 1, &nrec, msg, sizeof msg);
		cr_assert(rc < 0, "flip of bit %zu (byte %zu) not detected",
		    bit % 8, bit / 8);
		cr_assert(nrec < 3);
		cr_assert(strstr(msg, "buf: record ") == msg, "%s", msg);
		cr_assert_null(strchr(msg, '\n'));
	}
}

Test(tensor, bad_magic_shows_bytes)
{
	char msg[512];

	cr_assert_eq(first_error("PK\x03\x04 not a stream at all", 24, 1, msg,
	    sizeof msg), RQ_EFORMAT);
	cr_assert(strstr(msg, "record 0: bad magic 50 4b 03 04") != NULL,
	    "%s", msg);
}

Test(tensor, bad_version_dtype_ndim)
{
	unsigned char buf[256];
	uint64_t d[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
	char msg[512];
	size_t n;
	static const struct { int ver, dt, nd; const char *want; } c[] = {
		{0, RQ_F32, 1, "unsupported version 0"},
		{2, RQ_F32, 1, "unsupported version 2"},
		{1, 0, 1, "unknown dtype code 0"},
		{1, 11, 1, "unknown dtype code 11"},
		{1, 255, 1, "unknown dtype code 255"},
		{1, RQ_F32, 9, "ndim 9 exceeds the limit 8"},
	};

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		float x[1] = {1};

		n = enc_record(buf, c[i].ver, c[i].dt, c[i].nd, d, "v", "",
		    x, 4, 0);
		cr_assert_eq(first_error(buf, n, 1, msg, sizeof msg),
		    RQ_EFORMAT);
		cr_assert(strstr(msg, c[i].want) != NULL, "%s", msg);
	}
}

Test(tensor, size_overflow)
{
	unsigned char buf[256];
	uint64_t d[3] = {(uint64_t)1 << 31, (uint64_t)1 << 31, 8};
	char msg[512];
	size_t n = enc_record(buf, 1, RQ_F64, 3, d, "big", "", NULL, 0, 1);

	cr_assert_eq(first_error(buf, n, 1, msg, sizeof msg), RQ_EFORMAT);
	cr_assert(strstr(msg, "record 0: size overflow") != NULL, "%s", msg);
}

Test(tensor, bad_checksums_and_padding)
{
	unsigned char buf[256];
	uint64_t d[1] = {3};
	uint8_t x[3] = {1, 2, 3};
	char msg[512];
	size_t n;

	n = enc_record(buf, 1, RQ_U8, 1, d, "x", "", x, 3, 0);
	buf[n - 8] ^= 1;	/* the data crc */
	cr_assert_eq(first_error(buf, n, 1, msg, sizeof msg), RQ_EFORMAT);
	cr_assert(strstr(msg, "data checksum mismatch") != NULL, "%s", msg);
	n = enc_record(buf, 1, RQ_U8, 1, d, "x", "", x, 3, 0);
	buf[24 + 1 + 1] ^= 0x80;	/* the header crc */
	cr_assert_eq(first_error(buf, n, 1, msg, sizeof msg), RQ_EFORMAT);
	cr_assert(strstr(msg, "header checksum mismatch") != NULL, "%s", msg);
	n = enc_record(buf, 1, RQ_U8, 1, d, "x", "", x, 3, 0);
	buf[30] = 7;		/* header padding (29..31) */
	cr_assert_eq(first_error(buf, n, 1, msg, sizeof msg), RQ_EFORMAT);
	cr_assert(strstr(msg, "nonzero byte in header padding") != NULL,
	    "%s", msg);
	n = enc_record(buf, 1, RQ_U8, 1, d, "x", "", x, 3, 0);
	buf[n - 1] = 1;		/* the reserved word */
	cr_assert_eq(first_error(buf, n, 1, msg, sizeof msg), RQ_EFORMAT);
	cr_assert(strstr(msg, "reserved") != NULL, "%s", msg);
	n = enc_record(buf, 1, RQ_U8, 1, d, "x", "novalue\n", x, 3, 0);
	cr_assert_eq(first_error(buf, n, 1, msg, sizeof msg), RQ_EFORMAT);
	cr_assert(strstr(msg, "malformed metadata") != NULL, "%s", msg);
	n = enc_record(buf, 1, RQ_U8, 1, d, "a\nb", "", x, 3, 0);
	cr_assert_eq(first_error(buf, n, 1, msg, sizeof msg), RQ_EFORMAT);
	cr_assert(strstr(msg, "newline") != NULL, "%s", msg);
}

/* 1 GiB claimed, 64 bytes present, in a file: refused before reading */
Test(tensor, huge_record_in_file)
{
	unsigned char buf[256];
	uint64_t d[1] = {(uint64_t)1 << 30};
	char msg[512];
	size_t n = enc_record(buf, 1, RQ_U8, 1, d, "huge", "", NULL, 0, 1);

	memset(buf + n, 0, 64);
	cr_assert_eq(first_error(buf, n + 64, 0, msg, sizeof msg), RQ_EFORMAT);
	cr_assert(strstr(msg, "record 0: truncated data: header says "
	    "1073741824 bytes") != NULL, "%s", msg);
}

/*
 * The same through a pipe, in a child whose address space allows only
 * 256 MiB more than it uses: the reader must say "truncated", which it
 * can only do if it never asked for the 1 GiB.
 */
Test(tensor, huge_record_on_pipe_without_allocating)
{
	pid_t pid;
	int st;

#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("AddressSanitizer reserves terabytes of address space");
#endif
	if ((pid = fork()) == 0) {
		unsigned char buf[256];
		uint64_t d[1] = {(uint64_t)1 << 30};
		struct rlimit rl;
		unsigned long pages = 0;
		rq_stream *s;
		rq_tensor t;
		FILE *fp;
		size_t n;
		void *p;
		int fds[2], rc;

		if ((fp = fopen("/proc/self/statm", "r")) == NULL ||
		    fscanf(fp, "%lu", &pages) != 1)
			_exit(10);
		fclose(fp);
		rl.rlim_cur = rl.rlim_max = (rlim_t)pages *
		    (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(11);
		if ((p = malloc((size_t)1 << 30)) != NULL)
			_exit(12);	/* the limit must bite */
		n = enc_record(buf, 1, RQ_U8, 1, d, "huge", "", NULL, 0, 1);
		memset(buf + n, 0xab, 100);
		if (pipe(fds) != 0 || write(fds[1], buf, n + 100) !=
		    (ssize_t)(n + 100))
			_exit(13);
		close(fds[1]);
		s = rq_stream_fdopen(fds[0], "pipe", "r");
		rq_tensor_init(&t);
		rc = rq_tensor_read(s, &t);
		if (rc != RQ_EFORMAT)
			_exit(rc == RQ_ENOMEM ? 14 : 15);
		if (strstr(rq_stream_error(s), "record 0: truncated data "
		    "(100 of 1073741824 bytes)") == NULL)
			_exit(16);
		_exit(0);
	}
	cr_assert(pid > 0);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st), "child died of signal %d", WTERMSIG(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "child status %d (12: no limit, "
	    "14: ENOMEM, 15/16: wrong error)", WEXITSTATUS(st));
}

Test(tensor, size_limit)
{
	unsigned char buf[2048];
	uint64_t d[1] = {1024};
	uint8_t x[1024] = {0};
	rq_stream *s;
	rq_tensor t;
	size_t n = enc_record(buf, 1, RQ_U8, 1, d, "x", "", x, 1024, 0);

	s = rq_stream_fdopen(fd_of(buf, n, 1), "lim", "r");
	rq_stream_set_limit(s, 1000);
	rq_tensor_init(&t);
	cr_assert_eq(rq_tensor_read(s, &t), RQ_ERANGE);
	cr_assert(strstr(rq_stream_error(s), "exceeds the limit") != NULL);
	rq_stream_close(s);
	rq_tensor_free(&t);
}

Test(tensor, writer_rejects_bad_tensors)
{
	rq_tensor t;
	uint64_t d[1] = {4};
	FILE *fp = tmpfile();
	rq_stream *s = rq_stream_fdopen(dup(fileno(fp)), "w", "w");

	mk(&t, RQ_F32, 1, d, "ok", 1);
	t.nbytes = 12;		/* inconsistent with the shape */
	cr_assert_eq(rq_tensor_write(s, &t), RQ_EINVAL);
	t.nbytes = 16;
	t.dtype = 0;
	cr_assert_eq(rq_tensor_write(s, &t), RQ_EINVAL);
	t.dtype = RQ_F32;
	strcpy(t.name, "a\nb");
	cr_assert_eq(rq_tensor_write(s, &t), RQ_EINVAL);
	cr_assert(strstr(rq_stream_error(s), "w: record 0: invalid") != NULL);
	strcpy(t.name, "ok");
	cr_assert_eq(rq_tensor_write(s, &t), RQ_OK);
	cr_assert_eq(rq_tensor_read(s, &t), RQ_EINVAL);
	cr_assert_eq(rq_stream_close(s), RQ_OK);
	fclose(fp);
	rq_tensor_free(&t);
}

Test(tensor, atomic_files)
{
	char dir[] = "/tmp/rq-test-XXXXXX", path[64], cmd[128];
	rq_stream *s;
	rq_tensor t;
	struct stat st;
	FILE *fp;
	uint64_t d[1] = {2};
	pid_t pid;
	int wst;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/out.rqt", dir);
	mk(&t, RQ_U8, 1, d, "x", 1);
	/* abort: nothing appears */
	s = rq_stream_open(path, "w");
	cr_assert_not_null(s);
	cr_assert_eq(rq_tensor_write(s, &t), RQ_OK);
	rq_stream_abort(s);
	cr_assert_neq(stat(path, &st), 0);
	/* an old file survives an abort, a commit replaces it */
	fp = fopen(path, "w");
	fputs("old", fp);
	fclose(fp);
	s = rq_stream_open(path, "w");
	cr_assert_eq(rq_tensor_write(s, &t), RQ_OK);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 3);
	rq_stream_abort(s);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 3);
	s = rq_stream_open(path, "w");
	cr_assert_eq(rq_tensor_write(s, &t), RQ_OK);
	cr_assert_eq(rq_stream_close(s), RQ_OK);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 48);
	/* only out.rqt is left in the directory */
	snprintf(cmd, sizeof cmd, "test \"$(ls -A %s)\" = out.rqt", dir);
	cr_assert_eq(system(cmd), 0);
	/*
	 * A FIFO (like a device) is written in place, never replaced.  Not
	 * /dev/null: a regression here would replace the system's device.
	 */
	snprintf(path, sizeof path, "%s/fifo", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	if ((pid = fork()) == 0) {
		char sink[256];
		int fd = open(path, O_RDONLY);
		ssize_t n, tot = 0;

		while ((n = read(fd, sink, sizeof sink)) > 0)
			tot += n;
		_exit(tot == 48 ? 0 : 1);
	}
	s = rq_stream_open(path, "w");
	cr_assert_not_null(s);
	cr_assert_eq(rq_tensor_write(s, &t), RQ_OK);
	cr_assert_eq(rq_stream_close(s), RQ_OK);
	waitpid(pid, &wst, 0);
	cr_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode));
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
	rq_tensor_free(&t);
	cr_assert_null(rq_stream_open(dir, "x"));
}

Test(tensor, parse_helpers)
{
	long l;
	double d;
	uint64_t u;

	cr_assert_eq(rq_parse_long("42", 0, 100, &l), 0);
	cr_assert_eq(l, 42);
	cr_assert_eq(rq_parse_long("101", 0, 100, &l), -1);
	cr_assert_eq(rq_parse_long("4x", 0, 100, &l), -1);
	cr_assert_eq(rq_parse_long(" 4", 0, 100, &l), -1);
	cr_assert_eq(rq_parse_long("", 0, 100, &l), -1);
	cr_assert_eq(rq_parse_double("-2.5e-3", &d), 0);
	cr_assert_eq(d, -2.5e-3);
	cr_assert_eq(rq_parse_double("nan", &d), -1);
	cr_assert_eq(rq_parse_double("1e999", &d), -1);
	cr_assert_eq(rq_parse_double("1.5 ", &d), -1);
	cr_assert_eq(rq_parse_u64("18446744073709551615", &u), 0);
	cr_assert_eq(u, UINT64_MAX);
	cr_assert_eq(rq_parse_u64("18446744073709551616", &u), -1);
	cr_assert_eq(rq_parse_u64("-1", &u), -1);
}
