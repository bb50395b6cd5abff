/*
 * test_seq.c: the sequence encoder and modalities by name.
 *
 * A sequence [T,F] in either slot is the patch encoder with one patch per
 * step holding all F features (rq_model_cfg): token 0 = cls + pos[0],
 * token t + 1 = W x_t + b + pos[t + 1], with W [d,F].  The tokens are
 * checked against that formula computed here in double from the model's
 * own parameters, for both slots with different T and F; the model's
 * gradient against central finite differences; the loader's acceptance
 * and refusals of sequence records.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "rq.h"
#include "tinymodel.h"

/* slot 0: T0 steps of F0 features; slot 1: T1 steps of F1 features */
enum { T0 = 5, F0 = 3, T1 = 4, F1 = 6, B = 3 };

static void
seq_cfg(rq_model_cfg *c, int method)
{
	tiny_cfg(c, method);
	c->layout[0] = c->layout[1] = RQ_LAYOUT_SEQ;
	snprintf(c->mod[0], sizeof c->mod[0], "vision");
	snprintf(c->mod[1], sizeof c->mod[1], "text");
	c->F = T0;		/* slot 0 sees [T,F] as its [F,T] */
	c->T = F0;
	c->pf = 1;
	c->pt = F0;
	c->C = 1;		/* slot 1 sees [T,F] as [1,T,F] */
	c->H = T1;
	c->W = F1;
	c->vc = 1;
	c->ph = 1;
	c->pw = F1;
}

static void
seq_data(float *a, float *v, int32_t *y, uint64_t seed)
{
	rq_rng r;

	rq_rng_seed(&r, seed);
	for (int i = 0; i < B * T0 * F0; i++)
		a[i] = (float)rq_rng_normal(&r);
	for (int i = 0; i < B * T1 * F1; i++)
		v[i] = (float)rq_rng_normal(&r);
	for (int b = 0; b < B; b++)
		y[b] = (int32_t)rq_rng_below(&r, 3);
}

/* the tokens of slot e against W x_t + b + pos[t + 1] and cls + pos[0] */
static void
tokens_match(rq_model *m, int e, const float *x, int T, int F)
{
	const char *pre = e ? "enc.v" : "enc.a";
	char nm[64];
	const rq_param *pw, *pb, *pos, *cls;
	const float *P = rq_model_params(m), *x0;
	int d = rq_model_config(m)->d, N = 0;
	double worst = 0;

	snprintf(nm, sizeof nm, "%s.patch.w", pre);
	cr_assert_not_null(pw = rq_model_find(m, nm));
	snprintf(nm, sizeof nm, "%s.patch.b", pre);
	cr_assert_not_null(pb = rq_model_find(m, nm));
	snprintf(nm, sizeof nm, "%s.pos", pre);
	cr_assert_not_null(pos = rq_model_find(m, nm));
	snprintf(nm, sizeof nm, "%s.cls", pre);
	cr_assert_not_null(cls = rq_model_find(m, nm));
	/* the projection is [d,F]: one step's features, nothing more */
	cr_assert_eq(pw->dims[0], (uint64_t)d);
	cr_assert_eq(pw->dims[1], (uint64_t)F);
	cr_assert_eq(pos->dims[0], (uint64_t)T + 1);
	cr_assert_not_null(x0 = rq_model_embedding(m, e, &N));
	cr_assert_eq(N, T + 1);
	for (int b = 0; b < B; b++)
		for (int t = 0; t <= T; t++)
			for (int j = 0; j < d; j++) {
				double want = P[pos->off + (size_t)t * d + j];
				if (t == 0)
					want += P[cls->off + j];
				else {
					const float *xt = x + ((size_t)b * T + t - 1) * F;
					want += P[pb->off + j];
					for (int f = 0; f < F; f++)
						want += (double)P[pw->off + (size_t)j * F +
						    f] * xt[f];
				}
				worst = fmax(worst, fabs(want - x0[((size_t)b * N +
				    t) * d + j]));
			}
	cr_assert_lt(worst, 1e-5, "slot %d: token off by %g", e, worst);
}

Test(seq, tokens_are_per_step_projections)
{
	rq_model_cfg c;
	rq_model *m;
	float a[B * T0 * F0], v[B * T1 * F1];
	int32_t y[B];

	seq_cfg(&c, RQ_METHOD_MT);
	m = tiny_make(&c, 5);
	seq_data(a, v, y, 6);
	rq_model_forward(m, a, v, y, B, 0, NULL);
	tokens_match(m, 0, a, T0, F0);
	tokens_match(m, 1, v, T1, F1);
	/* a step's features move only its own token */
	{
		int N;
		const float *x0 = rq_model_embedding(m, 0, &N);
		float *before = malloc((size_t)B * N * c.d * sizeof *before);
		int d = c.d, moved = 0, other = 0;
		cr_assert_not_null(before);
		memcpy(before, x0, (size_t)B * N * d * sizeof *before);
		a[2 * F0 + 1] += 1;	/* sample 0, step 2, feature 1 */
		rq_model_forward(m, a, v, y, B, 0, NULL);
		x0 = rq_model_embedding(m, 0, &N);
		for (int t = 0; t < N; t++)
			for (int j = 0; j < d; j++) {
				int ch = x0[(size_t)t * d + j] != before[(size_t)t * d + j];
				if (t == 3)
					moved += ch;
				else
					other += ch;
			}
		cr_expect_gt(moved, 0, "token 3 (step 2) did not move");
		cr_expect_eq(other, 0, "%d entries of other tokens moved", other);
		free(before);
	}
	rq_model_free(m);
}

/* a sequence slot must be cut one patch per step */
Test(seq, plan_refuses_other_patches)
{
	rq_model_cfg c;
	rq_model *m;

	seq_cfg(&c, RQ_METHOD_MT);
	c.pt = 1;
	cr_expect_eq(rq_model_plan(&m, &c), RQ_EINVAL);
	seq_cfg(&c, RQ_METHOD_MT);
	c.pw = 2;
	cr_expect_eq(rq_model_plan(&m, &c), RQ_EINVAL);
	seq_cfg(&c, RQ_METHOD_VISUAL);	/* slot 0 unused: its cut is free */
	c.pt = 1;
	cr_assert_eq(rq_model_plan(&m, &c), RQ_OK);
	rq_model_free(m);
}

static void
gradcheck(int method)
{
	rq_model_cfg c;
	rq_model *m;
	float a[B * T0 * F0], v[B * T1 * F1], *g;
	double *num;
	int32_t y[B];
	int patch = 0;

	seq_cfg(&c, method);
	m = tiny_make(&c, 7);
	seq_data(a, v, y, 8);
	g = tiny_grads(m, a, v, y, B);
	num = malloc(3 * (size_t)rq_model_ntable(m) * sizeof *num);
	cr_assert_not_null(num);
	tiny_fd_check(m, g, a, v, y, B, rq_method_name(method), num);
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const char *nm = rq_model_table(m, i)->name;
		int isp = strstr(nm, ".patch.") != NULL ||
		    strstr(nm, ".pos") != NULL;
		for (int k = 0; k < 3; k++)
			patch += isp && fabs(num[3 * i + k]) > 1e-6;
	}
	cr_assert_gt(patch, 0, "no sequence projection carried gradient");
	free(num);
	free(g);
	rq_model_free(m);
}

Test(seq, gradcheck_mt) { gradcheck(RQ_METHOD_MT); }
Test(seq, gradcheck_concat) { gradcheck(RQ_METHOD_CONCAT); }
Test(seq, gradcheck_first_alone) { gradcheck(RQ_METHOD_AUDIO); }
Test(seq, gradcheck_second_alone) { gradcheck(RQ_METHOD_VISUAL); }

/*
 * The loader.  A record list: name, dtype, dims, layout=seq or not; each
 * float is its index / 8 so the data can be checked after loading.
 */
struct rec {
	const char *name;
	int dtype, ndim;
	uint64_t dims[4];
	int seq;
};

static char *
stream(const char *file, const struct rec *r, int n)
{
	static char path[4][256];
	static int slot;
	char *p = path[slot++ % 4];
	rq_stream *s;

	snprintf(p, sizeof path[0], "/tmp/rq-test-seq-%ld-%s", (long)getpid(),
	    file);
	cr_assert_not_null(s = rq_stream_open(p, "w"));
	for (int i = 0; i < n; i++) {
		rq_tensor t;
		rq_tensor_init(&t);
		cr_assert_eq(rq_tensor_alloc(&t, r[i].dtype, r[i].ndim,
		    r[i].dims), RQ_OK);
		cr_assert_eq(rq_tensor_set_name(&t, r[i].name), RQ_OK);
		if (r[i].seq)
			rq_meta_set(&t, "layout", "seq");
		if (r[i].dtype == RQ_F32)
			for (size_t k = 0; k < t.nbytes / 4; k++)
				((float *)t.data)[k] = (float)k / 8;
		else
			memset(t.data, 0, t.nbytes);
		if (strcmp(r[i].name, "label") == 0)
			for (size_t k = 0; k < t.dims[0]; k++)
				((int32_t *)t.data)[k] = (int32_t)(k % 2);
		cr_assert_eq(rq_tensor_write(s, &t), RQ_OK);
		rq_tensor_free(&t);
	}
	cr_assert_eq(rq_stream_close(s), RQ_OK);
	return p;
}

static void
refused(const char *path, unsigned seq, const char *w1, const char *w2)
{
	rq_dataset ds;
	char err[512] = "";

	cr_expect_neq(rq_dataset_load_named(&ds, path, "vision", "text", seq,
	    err, sizeof err), RQ_OK, "%s: loaded", path);
	cr_expect_null(strchr(err, '\n'), "not one line: %s", err);
	cr_expect(strstr(err, path) != NULL, "no file named: %s", err);
	cr_expect(strstr(err, w1) != NULL, "no '%s' in: %s", w1, err);
	cr_expect(strstr(err, w2) != NULL, "no '%s' in: %s", w2, err);
	cr_expect_null(ds.label);
	unlink(path);
}

Test(seq, loader_accepts_sequences)
{
	struct rec r[] = {
		{"text", RQ_F32, 3, {2, T1, F1, 0}, 1},
		{"other", RQ_F32, 2, {2, 7, 0, 0}, 0},
		{"vision", RQ_F32, 3, {2, T0, F0, 0}, 1},
		{"label", RQ_I32, 1, {2, 0, 0, 0}, 0},
		/* a second chunk */
		{"vision", RQ_F32, 3, {1, T0, F0, 0}, 1},
		{"text", RQ_F32, 3, {1, T1, F1, 0}, 1},
		{"label", RQ_I32, 1, {1, 0, 0, 0}, 0},
	};
	rq_dataset ds;
	char err[512] = "";
	const char *p = stream("ok.rqt", r, 7);

	cr_assert_eq(rq_dataset_load_named(&ds, p, "vision", "text", 0, err,
	    sizeof err), RQ_OK, "%s", err);
	cr_expect_eq(ds.n, 3);
	cr_expect_eq(ds.layout[0], RQ_LAYOUT_SEQ);
	cr_expect_eq(ds.layout[1], RQ_LAYOUT_SEQ);
	cr_expect_str_eq(ds.mod[0], "vision");
	cr_expect_str_eq(ds.mod[1], "text");
	cr_expect(ds.F == T0 && ds.T == F0, "slot 0 [%d,%d]", ds.F, ds.T);
	cr_expect(ds.C == 1 && ds.H == T1 && ds.W == F1, "slot 1 [%d,%d,%d]",
	    ds.C, ds.H, ds.W);
	/* the samples in stream order, each step's features contiguous */
	cr_expect_float_eq(ds.audio[T0 * F0 + 1], (float)(T0 * F0 + 1) / 8,
	    1e-9);
	cr_expect_float_eq(ds.audio[2 * T0 * F0 + 4], 4.0f / 8, 1e-9);
	cr_expect_float_eq(ds.visual[T1 * F1 + F1], (float)(T1 * F1 + F1) / 8,
	    1e-9);
	rq_dataset_free(&ds);
	/* without layout=seq the caller's seq bits make them sequences */
	{
		struct rec q[] = {
			{"vision", RQ_F32, 3, {2, T0, F0, 0}, 0},
			{"text", RQ_F32, 3, {2, T1, F1, 0}, 0},
			{"label", RQ_I32, 1, {2, 0, 0, 0}, 0},
		};
		const char *p2 = stream("plain.rqt", q, 3);
		cr_assert_eq(rq_dataset_load_named(&ds, p2, "vision", "text", 3,
		    err, sizeof err), RQ_OK, "%s", err);
		cr_expect_eq(ds.layout[0], RQ_LAYOUT_SEQ);
		cr_expect(ds.H == T1 && ds.W == F1);
		rq_dataset_free(&ds);
		/* and without them a 3-D second slot is refused with a hint */
		refused(p2, 0, "record 1: text", "layout=seq");
	}
	unlink(p);
}

Test(seq, loader_refuses_bad_sequences)
{
	struct rec dt[] = {
		{"vision", RQ_F32, 3, {2, T0, F0, 0}, 1},
		{"text", RQ_F64, 3, {2, T1, F1, 0}, 1},
		{"label", RQ_I32, 1, {2, 0, 0, 0}, 0},
	};
	struct rec nd[] = {
		{"vision", RQ_F32, 4, {2, 1, T0, F0}, 1},
		{"text", RQ_F32, 3, {2, T1, F1, 0}, 1},
		{"label", RQ_I32, 1, {2, 0, 0, 0}, 0},
	};
	struct rec tt[] = {
		{"vision", RQ_F32, 3, {2, T0, F0, 0}, 1},
		{"text", RQ_F32, 3, {2, T1, F1, 0}, 1},
		{"label", RQ_I32, 1, {2, 0, 0, 0}, 0},
		{"vision", RQ_F32, 3, {2, T0 + 1, F0, 0}, 1},
	};
	struct rec ff[] = {
		{"vision", RQ_F32, 3, {2, T0, F0, 0}, 1},
		{"text", RQ_F32, 3, {2, T1, F1, 0}, 1},
		{"label", RQ_I32, 1, {2, 0, 0, 0}, 0},
		{"vision", RQ_F32, 3, {2, T0, F0, 0}, 1},
		{"text", RQ_F32, 3, {2, T1, F1 + 1, 0}, 1},
	};
	struct rec ly[] = {
		{"vision", RQ_F32, 3, {2, T0, F0, 0}, 1},
		{"text", RQ_F32, 3, {2, T1, F1, 0}, 1},
		{"label", RQ_I32, 1, {2, 0, 0, 0}, 0},
		{"vision", RQ_F32, 3, {2, T0, F0, 0}, 0},
	};

	refused(stream("dtype.rqt", dt, 3), 0, "record 1: text", "f64");
	refused(stream("ndim.rqt", nd, 3), 0, "record 0: vision", "rank 4");
	refused(stream("t.rqt", tt, 4), 0, "record 3: vision",
	    "chunk shape differs");
	refused(stream("f.rqt", ff, 5), 0, "record 4: text",
	    "chunk shape differs");
	refused(stream("layout.rqt", ly, 4), 0, "record 3: vision",
	    "layout spectrogram differs");
	/* label and id are not modality names */
	{
		rq_dataset ds;
		char err[256];
		cr_expect_neq(rq_dataset_load_named(&ds, "/nonexistent", "label",
		    "text", 0, err, sizeof err), RQ_OK);
	}
}

/* the checkpoint keeps the names and layouts; one without them reads as
 * audio, visual */
Test(seq, checkpoint_names)
{
	rq_model_cfg c, back;
	rq_model *m;
	rq_train_state st;
	rq_ckpt *ck;
	rq_train_cfg tc;
	char err[512] = "", path[128];

	snprintf(path, sizeof path, "/tmp/rq-test-seq-%ld-ck.rqt",
	    (long)getpid());
	seq_cfg(&c, RQ_METHOD_MT);
	m = tiny_make(&c, 3);
	memset(&st, 0, sizeof st);
	rq_train_cfg_defaults(&st.train);
	rq_rng_seed(&st.rng, 1);
	st.best_epoch = -1;
	cr_assert_eq(rq_ckpt_save(path, m, &st, err, sizeof err), RQ_OK, "%s",
	    err);
	cr_assert_eq(rq_ckpt_open(&ck, path, &back, &tc, err, sizeof err),
	    RQ_OK, "%s", err);
	rq_ckpt_close(ck);
	cr_expect_str_eq(back.mod[0], "vision");
	cr_expect_str_eq(back.mod[1], "text");
	cr_expect_eq(back.layout[0], RQ_LAYOUT_SEQ);
	cr_expect_eq(back.layout[1], RQ_LAYOUT_SEQ);
	rq_model_free(m);
	unlink(path);
}
