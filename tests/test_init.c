/*
 * test_init.c: rq_init_load on made-up streams: named tensors replace
 * exactly their parameters (f32 and f64), the report counts them and
 * names the groups left as they were; a name the model lacks, a shape,
 * dtype or value that does not fit, a name twice and an empty stream are
 * errors naming the file, record and tensor, and leave the model as it
 * was.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

/* visual-only, width 4, one block: enc.v.* and head.* */
static rq_model *
model(void)
{
	rq_model_cfg c;
	rq_model *m;
	rq_rng r;

	rq_model_cfg_defaults(&c);
	c.method = RQ_METHOD_VISUAL;
	c.d = 4;
	c.depth = 1;
	c.heads = 2;
	c.mlp = 2;
	c.C = 1;
	c.H = c.W = 4;
	c.vc = 1;
	c.ph = c.pw = 2;
	c.classes = 2;
	c.batch = 1;
	cr_assert_eq(rq_model_plan(&m, &c), RQ_OK);
	cr_assert_eq(rq_model_alloc(m), RQ_OK);
	rq_rng_seed(&r, 7);
	rq_model_init_params(m, &r);
	return m;
}

struct rec {
	const char *name;
	int dtype, ndim;
	uint64_t d0, d1;
	double v;           /* element i holds v + i */
};

static char *
stream(const struct rec *r, int n)
{
	static char path[64];
	rq_stream *s;
	rq_tensor t;
	int fd;

	snprintf(path, sizeof path, "/tmp/rq-test-init.XXXXXX");
	cr_assert((fd = mkstemp(path)) >= 0);
	close(fd);
	cr_assert((s = rq_stream_open(path, "w")) != NULL);
	rq_tensor_init(&t);
	for (int i = 0; i < n; i++) {
		uint64_t dims[2] = {r[i].d0, r[i].d1};
		cr_assert_eq(rq_tensor_alloc(&t, r[i].dtype, r[i].ndim, dims),
		    RQ_OK);
		cr_assert_eq(rq_tensor_set_name(&t, r[i].name), RQ_OK);
		for (size_t j = 0; j < rq_tensor_numel(&t); j++)
			rq_tensor_put(&t, j, r[i].v + (double)j);
		cr_assert_eq(rq_tensor_write(s, &t), RQ_OK);
	}
	rq_tensor_free(&t);
	cr_assert_eq(rq_stream_close(s), RQ_OK);
	return path;
}

Test(init, loads_named_tensors_only)
{
	rq_model *m = model();
	const rq_param *pos = rq_model_find(m, "enc.v.pos");
	const rq_param *cls = rq_model_find(m, "enc.v.cls");
	const rq_param *hw = rq_model_find(m, "head.w");
	size_t np = rq_model_nparams(m);
	float *before = malloc(np * sizeof *before), *p = rq_model_params(m);
	struct rec r[] = {
		{"enc.v.pos", RQ_F32, 2, 5, 4, 0.5},
		{"enc.v.cls", RQ_F64, 1, 4, 0, -3.25},
	};
	char *path = stream(r, 2), err[512];
	rq_init_report rep;

	memcpy(before, p, np * sizeof *p);
	cr_assert_eq(rq_init_load(m, path, &rep, err, sizeof err), RQ_OK,
	    "%s", err);
	for (size_t j = 0; j < pos->n; j++)
		cr_assert_eq(p[pos->off + j], (float)(0.5 + (double)j));
	for (size_t j = 0; j < cls->n; j++)
		cr_assert_eq(p[cls->off + j], (float)(-3.25 + (double)j));
	for (size_t j = 0; j < np; j++)
		if ((j < pos->off || j >= pos->off + pos->n) &&
		    (j < cls->off || j >= cls->off + cls->n))
			cr_assert_eq(p[j], before[j], "float %zu changed", j);
	cr_assert(memcmp(p + hw->off, before + hw->off, hw->n * sizeof *p) ==
	    0);
	cr_assert_eq(rep.ntensors, 2);
	cr_assert_eq(rep.nloaded, pos->n + cls->n);
	cr_assert_eq(rep.nparams, np);
	cr_assert_eq(rep.ntable, rq_model_ntable(m));
	cr_assert_str_eq(rep.names, "enc.v.pos,enc.v.cls");
	cr_assert_str_eq(rep.left,
	    "enc.v.patch,enc.v.blk.0,enc.v.ln,head");
	rq_init_report_free(&rep);
	unlink(path);
	free(before);
	rq_model_free(m);
}

Test(init, partly_loaded_group)
{
	rq_model *m = model();
	struct rec r[] = {{"enc.v.blk.0.ln1.g", RQ_F32, 1, 4, 0, 1}};
	char *path = stream(r, 1), err[512];
	rq_init_report rep;

	cr_assert_eq(rq_init_load(m, path, &rep, err, sizeof err), RQ_OK,
	    "%s", err);
	cr_assert_str_eq(rep.left, "enc.v.patch,enc.v.cls,enc.v.pos,"
	    "enc.v.blk.0 (1 of 12),enc.v.ln,head");
	rq_init_report_free(&rep);
	unlink(path);
	rq_model_free(m);
}

/* the load fails with a message holding want, the model untouched */
static void
fails(const struct rec *r, int n, int rc, const char *want)
{
	rq_model *m = model();
	size_t np = rq_model_nparams(m);
	float *before = malloc(np * sizeof *before);
	char *path = stream(r, n), err[512];
	rq_init_report rep;

	memcpy(before, rq_model_params(m), np * sizeof *before);
	cr_assert_eq(rq_init_load(m, path, &rep, err, sizeof err), rc);
	cr_assert(strncmp(err, path, strlen(path)) == 0, "%s", err);
	cr_assert(strstr(err, want) != NULL, "got '%s', want '%s'", err, want);
	cr_assert(memcmp(before, rq_model_params(m), np * sizeof *before) ==
	    0, "the model changed");
	unlink(path);
	free(before);
	rq_model_free(m);
}

Test(init, unknown_name)
{
	struct rec r[] = {
		{"enc.v.cls", RQ_F32, 1, 4, 0, 1},
		{"enc.a.cls", RQ_F32, 1, 4, 0, 1},
	};
	fails(r, 2, RQ_EFORMAT,
	    ": record 1: enc.a.cls: no parameter of that name in the model");
}

Test(init, shape_mismatch)
{
	struct rec r[] = {{"enc.v.pos", RQ_F32, 2, 17, 4, 0}};
	fails(r, 1, RQ_EFORMAT,
	    ": record 0: enc.v.pos: shape [17,4] in the file, [5,4] in the "
	    "model");
}

Test(init, rank_mismatch)
{
	struct rec r[] = {{"enc.v.cls", RQ_F32, 2, 1, 4, 0}};
	fails(r, 1, RQ_EFORMAT,
	    "enc.v.cls: shape [1,4] in the file, [4] in the model");
}

Test(init, dtype)
{
	struct rec r[] = {{"enc.v.cls", RQ_I32, 1, 4, 0, 0}};
	fails(r, 1, RQ_EFORMAT, "record 0: enc.v.cls: dtype i32, need f32");
}

Test(init, non_finite)
{
	struct rec r[] = {
		{"enc.v.cls", RQ_F32, 1, 4, 0, 0},
		{"enc.v.ln.g", RQ_F64, 1, 4, 0, 1e300},
	};
	fails(r, 2, RQ_EFORMAT, "record 1: enc.v.ln.g: element 0 is not a "
	    "finite float");
}

Test(init, twice)
{
	struct rec r[] = {
		{"enc.v.cls", RQ_F32, 1, 4, 0, 0},
		{"enc.v.cls", RQ_F32, 1, 4, 0, 0},
	};
	fails(r, 2, RQ_EFORMAT, "record 1: enc.v.cls: named twice");
}

Test(init, empty)
{
	fails(NULL, 0, RQ_EFORMAT, ": no tensors in the stream");
}

Test(init, missing_file)
{
	rq_model *m = model();
	char err[512];
	rq_init_report rep;

	cr_assert_eq(rq_init_load(m, "/nonexistent/x.rqt", &rep, err,
	    sizeof err), RQ_EIO);
	cr_assert(strstr(err, "/nonexistent/x.rqt: ") == err, "%s", err);
	rq_model_free(m);
}
