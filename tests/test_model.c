/*
 * test_model.c: the whole model.  Gradients of every parameter kind vs
 * central finite differences (with a non-identity R_total, so the
 * backward through the rotation is checked), the paper-size parameter
 * count against the authors' figure (DESIGN.md section 5), a falling loss,
 * and a checkpoint round trip; for MT* (two fusion layers) the same with
 * R1 and R2 both non-identity, plus dropout with fixed masks.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"
#include "tinymodel.h"

static float tiny_drop;   /* drop of tiny(): 0 but for one test */

/* tinymodel.h's model with tiny_drop */
static void
tiny(rq_model_cfg *c, int method)
{
	tiny_cfg(c, method);
	c->drop = tiny_drop;
}

/* tinymodel.h's rotation, counted as one */
static void
random_rotation_layer(rq_model *m, int layer, uint64_t seed)
{
	tiny_rotation(m, layer, seed);
	*rq_model_rotations(m, layer) = 1;
}

static void
random_rotation(rq_model *m, uint64_t seed)
{
	random_rotation_layer(m, 0, seed);
}

static void
gradcheck(int method)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32], *g;
	int32_t y[3];
	int B = 3;

	tiny(&c, method);
	m = tiny_make(&c, 7 + method);
	if (method == RQ_METHOD_MT)
		random_rotation(m, 99);
	if (method == RQ_METHOD_MTSTAR) {
		/* R1 and R2 both non-identity and different */
		random_rotation_layer(m, 0, 99);
		random_rotation_layer(m, 1, 98);
	}
	tiny_data(&c, B, a, v, y, 11);
	g = tiny_grads(m, a, v, y, B);
	tiny_fd_check(m, g, a, v, y, B, rq_method_name(method), NULL);
	free(g);
	rq_model_free(m);
}

Test(model, gradcheck_mt_rotated) { gradcheck(RQ_METHOD_MT); }
Test(model, mtstar_gradcheck_rotated) { gradcheck(RQ_METHOD_MTSTAR); }

/* the same with dropout 0.2 on both layers' weights and outputs (fixed
 * masks): checks the mask path of the full-sequence layer's backward */
Test(model, mtstar_gradcheck_dropout)
{
	tiny_drop_seed = 77;
	tiny_drop = 0.2f;
	gradcheck(RQ_METHOD_MTSTAR);
	tiny_drop_seed = 0;
	tiny_drop = 0;
}
Test(model, gradcheck_concat) { gradcheck(RQ_METHOD_CONCAT); }
Test(model, gradcheck_sum) { gradcheck(RQ_METHOD_SUM); }
Test(model, gradcheck_audio) { gradcheck(RQ_METHOD_AUDIO); }
Test(model, gradcheck_visual) { gradcheck(RQ_METHOD_VISUAL); }

/* the rotation matters: gradient of W_q with R differs from without */
Test(model, rotation_changes_query_gradient)
{
	rq_model_cfg c;
	rq_model *m;
	float a[72], v[96], g0;
	int32_t y[3];
	const rq_param *p;

	tiny(&c, RQ_METHOD_MT);
	m = tiny_make(&c, 3);
	tiny_data(&c, 3, a, v, y, 5);
	p = rq_model_find(m, "fusion.q.b");
	cr_assert_not_null(p);
	rq_model_zero_grad(m);
	rq_model_forward(m, a, v, y, 3, 0, NULL);
	rq_model_backward(m, y, 3);
	g0 = rq_model_grads(m)[p->off];
	random_rotation(m, 4);
	rq_model_zero_grad(m);
	rq_model_forward(m, a, v, y, 3, 0, NULL);
	rq_model_backward(m, y, 3);
	cr_assert_gt(fabsf(g0 - rq_model_grads(m)[p->off]), 1e-6f);
	rq_model_free(m);
}

/*
 * Gradient accumulation: a batch of 3 run as parts of 2 and 1 through a
 * model whose arena holds 2 samples gives the gradient of the whole batch
 * (rq_model_backward_part), for every method.
 */
static void
parts_match_whole(int method)
{
	rq_model_cfg c, c2;
	rq_model *m, *m2;
	float a[72], v[96];
	int32_t y[3];
	double e;

	tiny(&c, method);
	m = tiny_make(&c, 11);
	c2 = c;
	c2.batch = 2;
	m2 = tiny_make(&c2, 11);
	tiny_data(&c, 3, a, v, y, 12);
	e = tiny_parts_error(m, m2, a, v, y);
	cr_assert_lt(e, 1e-5, "%s: relative error %g", rq_method_name(method),
	    e);
	rq_model_free(m);
	rq_model_free(m2);
}

Test(model, parts_match_whole_mt) { parts_match_whole(RQ_METHOD_MT); }
Test(model, parts_match_whole_mtstar) { parts_match_whole(RQ_METHOD_MTSTAR); }
Test(model, parts_match_whole_concat) { parts_match_whole(RQ_METHOD_CONCAT); }
Test(model, parts_match_whole_audio) { parts_match_whole(RQ_METHOD_AUDIO); }

/*
 * DESIGN.md section 5: the authors' Vanilla MT at CREMA-D shapes has
 * 60,456,198 trainable parameters: encoders 58,086,912 (of which the MBT
 * bottleneck tokens 4 x 768 are dead) and fusion module 2,369,286 (of
 * which the fusion LayerNorm 2 x 768 is dead).  Probe heads are outside
 * that count.
 */
Test(model, paper_parameter_count)
{
	rq_model_cfg c;
	rq_model *m;
	double enc = 0, fus = 0, probe = 0;

	rq_model_cfg_defaults(&c);
	c.method = RQ_METHOD_MT;
	c.d = 768;
	c.depth = 4;
	c.heads = 12;
	c.mlp = 4;
	c.F = 257;
	c.T = 188;
	c.pf = c.pt = 16;
	c.C = 9;
	c.H = c.W = 224;
	c.vc = 3;
	c.ph = c.pw = 16;
	c.classes = 6;
	c.batch = 1;
	cr_assert_eq(rq_model_plan(&m, &c), RQ_OK);
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		if (strncmp(p->name, "enc.", 4) == 0)
			enc += (double)p->n;
		else if (p->group == 1)
			probe += (double)p->n;
		else
			fus += (double)p->n;
	}
	cr_assert_eq((long)enc + 4 * 768, 58086912L);
	cr_assert_eq((long)fus + 2 * 768, 2369286L);
	cr_assert_eq((long)(enc + fus) + 6 * 768, 60456198L);
	cr_assert_eq((long)probe, 2L * (768 * 6 + 6));
	rq_model_free(m);
}

/*
 * steps SGD steps (lr 0.05, momentum 0.9 from zero, weight decay 1e-4) on
 * a fixed batch of 3, in train mode with dropout drawn from r (eval mode
 * if r is NULL): the loss falls below 0.3 of its start
 */
static void
loss_falls(rq_model *m, const float *a, const float *v, const int32_t *y,
    int steps, rq_rng *r)
{
	double l0, l1;

	l0 = rq_model_forward(m, a, v, y, 3, 0, NULL);
	memset(rq_model_state(m, 0), 0, rq_model_nparams(m) * sizeof(float));
	for (int s = 0; s < steps; s++) {
		rq_model_zero_grad(m);
		rq_model_forward(m, a, v, y, 3, r != NULL, r);
		rq_model_backward(m, y, 3);
		rq_sgd_step(rq_model_params(m), rq_model_grads(m),
		    rq_model_state(m, 0), rq_model_nparams(m), 0.05, 0.9, 1e-4);
	}
	l1 = rq_model_forward(m, a, v, y, 3, 0, NULL);
	cr_assert_lt(l1, 0.3 * l0, "loss %g -> %g", l0, l1);
}

Test(model, loss_falls)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32];
	int32_t y[3];

	tiny(&c, RQ_METHOD_MT);
	m = tiny_make(&c, 21);
	tiny_data(&c, 3, a, v, y, 22);
	loss_falls(m, a, v, y, 60, NULL);
	rq_model_free(m);
}

Test(model, checkpoint_round_trip)
{
	rq_model_cfg c, c2;
	rq_model *m, *m2;
	rq_train_state st, st2;
	rq_train_cfg h2;
	rq_ckpt *ck;
	float a[72], v[96];
	int32_t y[3];
	char path[32], err[256];
	size_t K;

	tiny(&c, RQ_METHOD_MT);
	c.drop = 0.2f;
	m = tiny_make(&c, 31);
	random_rotation(m, 32);
	tiny_data(&c, 3, a, v, y, 33);
	memset(&st, 0, sizeof st);
	rq_rng_seed(&st.rng, 5);
	st.epoch = 3;
	st.best_val = 0.5;
	rq_train_cfg_defaults(&st.train);
	st.train.lr = 0.125;
	st.train.seed = 18446744073709551557ULL;	/* past 2^53: exact */
	st.train.rq.on = 1;
	st.train.rq.rho = -0.3;
	st.train.rq.air_full = 0;
	st.train.rq.rot_svd = 1;
	st.train.micro = 7;
	tiny_save(m, &st, path);
	cr_assert_eq(rq_ckpt_open(&ck, path, &c2, &h2, err, sizeof err), RQ_OK,
	    "%s", err);
	cr_assert_eq(c2.d, c.d);
	cr_assert_eq(c2.drop, c.drop);
	cr_assert_eq(h2.lr, 0.125);
	cr_assert_eq(h2.seed, st.train.seed);
	cr_assert_eq(h2.rq.on, 1);
	cr_assert_eq(h2.rq.rho, -0.3);
	cr_assert_eq(h2.rq.air_full, 0);
	cr_assert_eq(h2.rq.rot_svd, 1);
	cr_assert_eq(h2.micro, 7);
	cr_assert_eq(h2.epochs, st.train.epochs);
	cr_assert_eq(h2.ogm_alpha, st.train.ogm_alpha);
	c2.batch = c.batch;
	cr_assert_eq(rq_model_plan(&m2, &c2), RQ_OK);
	cr_assert_eq(rq_model_alloc(m2), RQ_OK);
	memset(&st2, 0, sizeof st2);
	cr_assert_eq(rq_ckpt_read(ck, m2, &st2, err, sizeof err), RQ_OK, "%s",
	    err);
	rq_ckpt_close(ck);
	cr_assert_eq(st2.train.lr, 0.125);
	cr_assert_eq(st2.epoch, 3);
	cr_assert_eq(st2.best_val, 0.5);
	cr_assert_eq(memcmp(st2.rng.s, st.rng.s, sizeof st.rng.s), 0);
	cr_assert_eq(*rq_model_rotations(m2, 0), 1);
	rq_model_forward(m, a, v, NULL, 3, 0, NULL);
	rq_model_forward(m2, a, v, NULL, 3, 0, NULL);
	K = (size_t)c.classes;
	cr_assert_eq(memcmp(rq_model_probs(m, 0), rq_model_probs(m2, 0),
	    3 * K * sizeof(float)), 0);
	cr_assert_eq(memcmp(rq_model_query(m, 0), rq_model_query(m2, 0),
	    (size_t)c.d * sizeof(float)), 0);
	/* a corrupt checkpoint is refused */
	FILE *fp = fopen(path, "r+b");
	cr_assert_not_null(fp);
	fseek(fp, 200, SEEK_SET);
	fputc(0x55, fp);
	fclose(fp);
	cr_assert_neq(rq_ckpt_load(path, m2, &st2, err, sizeof err), RQ_OK);
	unlink(path);
	rq_model_free(m);
	rq_model_free(m2);
}

/*
 * MT*: each layer's rotation is live.  Rotating R1 changes the gradient
 * of layer 1's q bias and the fused output; rotating R2 changes layer 2's;
 * the probes (detached CLS rows) are unaffected by either.
 */
Test(model, mtstar_each_rotation_matters)
{
	rq_model_cfg c;
	rq_model *m;
	float a[72], v[96], g[2][2], pr[3][9], pa[9];
	int32_t y[3];
	const rq_param *q1, *q2;

	tiny(&c, RQ_METHOD_MTSTAR);
	m = tiny_make(&c, 41);
	cr_assert_eq(rq_model_fusion_layers(m), 2);
	tiny_data(&c, 3, a, v, y, 42);
	q1 = rq_model_find(m, "fusion.q.b");
	q2 = rq_model_find(m, "fusion.1.q.b");
	cr_assert_not_null(q1);
	cr_assert_not_null(q2);
	for (int step = 0; step < 3; step++) {
		if (step == 1)
			random_rotation_layer(m, 0, 43);
		if (step == 2)
			random_rotation_layer(m, 1, 44);
		rq_model_zero_grad(m);
		rq_model_forward(m, a, v, y, 3, 0, NULL);
		rq_model_backward(m, y, 3);
		memcpy(pr[step], rq_model_probs(m, 0), sizeof pr[step]);
		if (step == 0)
			memcpy(pa, rq_model_probs(m, 1), sizeof pa);
		else
			cr_assert_eq(memcmp(pa, rq_model_probs(m, 1), sizeof pa),
			    0);
		if (step < 2) {
			g[step][0] = rq_model_grads(m)[q1->off];
			g[step][1] = rq_model_grads(m)[q2->off];
		}
	}
	cr_assert_gt(fabsf(g[0][0] - g[1][0]), 1e-7f, "R1 does not reach layer 1");
	cr_assert_gt(fabsf(pr[0][0] - pr[1][0]) + fabsf(pr[0][1] - pr[1][1]),
	    1e-7f, "R1 does not reach the output");
	cr_assert_gt(fabsf(pr[1][0] - pr[2][0]) + fabsf(pr[1][1] - pr[2][1]),
	    1e-7f, "R2 does not reach the output");
	/* the query each layer reports is R times its unrotated query */
	{
		int d = c.d;
		const float *q = rq_model_query(m, 1);
		const rq_param *w = rq_model_find(m, "fusion.1.q.w");
		const rq_param *cl = rq_model_find(m, "fusion.1.cls");
		const double *R = rq_model_rotation(m, 1);
		double pre[8];
		for (int i = 0; i < d; i++) {
			pre[i] = rq_model_params(m)[q2->off + i];
			for (int j = 0; j < d; j++)
				pre[i] += (double)rq_model_params(m)[w->off + i * d +
				    j] * rq_model_params(m)[cl->off + j];
		}
		for (int i = 0; i < d; i++) {
			double s = 0;
			for (int j = 0; j < d; j++)
				s += R[i * d + j] * pre[j];
			cr_assert_float_eq(q[i], s, 1e-5);
		}
	}
	rq_model_free(m);
}

/*
 * MT* parameter count: MT plus one more fusion layer of the same form
 * (cls_f2, Wq Wk Wv Wo with biases) = d + 4 (d^2 + d), probes included
 * in both; parameter names of layer 2 are fusion.1.*.
 */
Test(model, mtstar_parameter_count)
{
	rq_model_cfg c;
	rq_model *m1, *m2;
	size_t d;

	tiny(&c, RQ_METHOD_MT);
	cr_assert_eq(rq_model_plan(&m1, &c), RQ_OK);
	c.method = RQ_METHOD_MTSTAR;
	cr_assert_eq(rq_model_plan(&m2, &c), RQ_OK);
	d = (size_t)c.d;
	cr_assert_eq(rq_model_nparams(m2), rq_model_nparams(m1) + d +
	    4 * (d * d + d));
	cr_assert_not_null(rq_model_find(m2, "fusion.1.cls"));
	cr_assert_not_null(rq_model_find(m2, "fusion.1.o.w"));
	cr_assert_null(rq_model_find(m1, "fusion.1.cls"));
	rq_model_free(m1);
	rq_model_free(m2);
}

/* MT* learns: the loss of a fixed batch falls under SGD, with dropout */
Test(model, mtstar_loss_falls)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32];
	int32_t y[3];
	rq_rng r;

	tiny(&c, RQ_METHOD_MTSTAR);
	c.drop = 0.1f;
	m = tiny_make(&c, 51);
	random_rotation_layer(m, 0, 52);
	random_rotation_layer(m, 1, 53);
	tiny_data(&c, 3, a, v, y, 54);
	rq_rng_seed(&r, 55);
	loss_falls(m, a, v, y, 80, &r);
	rq_model_free(m);
}

/* MT* checkpoint: both R_total and both rotation counts come back */
Test(model, mtstar_checkpoint_round_trip)
{
	rq_model_cfg c, c2;
	rq_model *m, *m2;
	rq_train_state st, st2;
	float a[72], v[96];
	int32_t y[3];
	rq_ckpt *ck;
	char path[32], err[256];
	int d;

	tiny(&c, RQ_METHOD_MTSTAR);
	d = c.d;
	m = tiny_make(&c, 61);
	random_rotation_layer(m, 0, 62);
	random_rotation_layer(m, 1, 63);
	*rq_model_rotations(m, 0) = 2;
	*rq_model_rotations(m, 1) = 1;
	tiny_data(&c, 3, a, v, y, 64);
	memset(&st, 0, sizeof st);
	rq_train_cfg_defaults(&st.train);
	rq_rng_seed(&st.rng, 5);
	tiny_save(m, &st, path);
	cr_assert_eq(rq_ckpt_open(&ck, path, &c2, NULL, err, sizeof err),
	    RQ_OK, "%s", err);
	rq_ckpt_close(ck);
	cr_assert_eq(c2.method, RQ_METHOD_MTSTAR);
	c2.batch = c.batch;
	cr_assert_eq(rq_model_plan(&m2, &c2), RQ_OK);
	cr_assert_eq(rq_model_alloc(m2), RQ_OK);
	memset(&st2, 0, sizeof st2);
	cr_assert_eq(rq_ckpt_load(path, m2, &st2, err, sizeof err), RQ_OK, "%s",
	    err);
	cr_assert_eq(*rq_model_rotations(m2, 0), 2);
	cr_assert_eq(*rq_model_rotations(m2, 1), 1);
	for (int l = 0; l < 2; l++)
		cr_assert_eq(memcmp(rq_model_rotation(m, l),
		    rq_model_rotation(m2, l), (size_t)d * d * sizeof(double)), 0);
	rq_model_forward(m, a, v, NULL, 3, 0, NULL);
	rq_model_forward(m2, a, v, NULL, 3, 0, NULL);
	cr_assert_eq(memcmp(rq_model_probs(m, 0), rq_model_probs(m2, 0),
	    3 * (size_t)c.classes * sizeof(float)), 0);
	unlink(path);
	rq_model_free(m);
	rq_model_free(m2);
}

/* a setting out of range is refused, the file and the field named */
Test(model, checkpoint_bad_setting)
{
	rq_model_cfg c, c2;
	rq_model *m;
	rq_train_state st;
	rq_train_cfg h2;
	rq_ckpt *ck = NULL;
	char path[32], err[512], want[600];

	tiny(&c, RQ_METHOD_MT);
	m = tiny_make(&c, 71);
	memset(&st, 0, sizeof st);
	rq_train_cfg_defaults(&st.train);
	st.train.lr = -1;
	rq_rng_seed(&st.rng, 5);
	tiny_save(m, &st, path);
	/* the model config alone still reads (rq-eval) */
	cr_assert_eq(rq_ckpt_open(&ck, path, &c2, NULL, err, sizeof err), RQ_OK,
	    "%s", err);
	rq_ckpt_close(ck);
	cr_assert_eq(rq_ckpt_open(&ck, path, &c2, &h2, err, sizeof err),
	    RQ_EFORMAT);
	cr_assert_null(ck);
	snprintf(want, sizeof want, "%s: record 0: train.lr: need 0 < lr < inf",
	    path);
	cr_assert_str_eq(err, want);
	st.train.lr = 0.1;
	st.train.rq.rmax = -2;
	cr_assert_eq(rq_ckpt_save(path, m, &st, err, sizeof err), RQ_OK, "%s",
	    err);
	cr_assert_eq(rq_ckpt_open(&ck, path, &c2, &h2, err, sizeof err),
	    RQ_EFORMAT);
	cr_assert(strstr(err, "train.rmax") != NULL, "%s", err);
	unlink(path);
	rq_model_free(m);
}

/* every row of the method table plans, with the queries it says */
Test(model, method_table)
{
	cr_assert_geq(rq_method_count(), 6);
	for (int i = 0; i < rq_method_count(); i++) {
		const rq_method *r = rq_method_at(i);
		rq_model_cfg c;
		rq_model *m = NULL;
		tiny(&c, r->model);
		cr_assert_eq(rq_method_find(r->name), r, "%s", r->name);
		cr_assert_eq(rq_model_plan(&m, &c), RQ_OK, "%s", r->name);
		cr_assert_eq(rq_model_fusion_layers(m), r->queries, "%s",
		    r->name);
		cr_assert_eq(rq_model_find(m, "enc.a.pos") != NULL,
		    (r->encoders & RQ_ENC_AUDIO) != 0, "%s", r->name);
		cr_assert_eq(rq_model_find(m, "enc.v.pos") != NULL,
		    (r->encoders & RQ_ENC_VISUAL) != 0, "%s", r->name);
		cr_assert(!r->rollingq || r->queries > 0, "%s", r->name);
		cr_assert(!r->ogm || r->ogm_able, "%s", r->name);
		rq_model_free(m);
	}
	cr_assert_null(rq_method_find("nope"));
	cr_assert_str_eq(rq_method_of(RQ_METHOD_MTSTAR)->name, "mtstar");
}

/* a data set of n random samples of tiny()'s shapes */
static void
tiny_set(rq_dataset *ds, const rq_model_cfg *c, size_t n, uint64_t seed)
{
	memset(ds, 0, sizeof *ds);
	ds->n = n;
	ds->F = c->F;
	ds->T = c->T;
	ds->C = c->C;
	ds->H = c->H;
	ds->W = c->W;
	ds->classes = c->classes;
	ds->audio = malloc(n * c->F * c->T * sizeof(float));
	ds->visual = malloc(n * c->C * c->H * c->W * sizeof(float));
	ds->label = malloc(n * sizeof(int32_t));
	cr_assert(ds->audio && ds->visual && ds->label);
	tiny_data(c, (int)n, ds->audio, ds->visual, ds->label, seed);
}

/*
 * rq_rollingq_epoch on MT: the AIR it reports is the one computed here
 * from the key means of the whole set, the rotation is orthogonal and
 * turns the query toward the anchor, rmax stops it.  The last-batch
 * estimate equals the AIR of those samples alone.
 */
Test(model, rollingq_epoch_mt)
{
	rq_model_cfg c;
	rq_model *m;
	rq_rollingq *rq;
	rq_rollingq_cfg rc = { .on = 1, .rho = 1, .rmax = 1, .air_full = 1 };
	int64_t perm[7] = {6, 5, 4, 3, 2, 1, 0};
	rq_rollingq_report rep;
	rq_dataset ds;
	float ka[7 * 8], kv[7 * 8], q0[8];
	char err[256];
	double air, *R;
	int d;

	tiny(&c, RQ_METHOD_MT);
	m = tiny_make(&c, 81);
	d = c.d;
	tiny_set(&ds, &c, 7, 82);
	rq_model_forward(m, ds.audio, ds.visual, NULL, 3, 0, NULL);
	memcpy(q0, rq_model_query(m, 0), sizeof q0);
	/* by hand: key means of all 7 samples, 3 at a time */
	for (int i = 0; i < 7; i += 3) {
		int nb = i + 3 <= 7 ? 3 : 7 - i;
		rq_model_forward(m, ds.audio + (size_t)i * c.F * c.T,
		    ds.visual + (size_t)i * c.C * c.H * c.W, NULL, nb, 0, NULL);
		rq_model_kmeans(m, 0, nb, ka + i * d, kv + i * d);
	}
	air = rq_air(q0, ka, kv, 7, (size_t)d, NULL, NULL);
	cr_assert_eq(rq_rollingq_new(&rq, m, &rc, NULL, ds.n, 3), RQ_OK);
	cr_assert_eq(rq_rollingq_epoch(rq, m, &ds, perm, 3, 1, &rep, err,
	    sizeof err), RQ_OK, "%s", err);
	cr_assert_eq(rep.layers, 1);
	cr_assert_float_eq(rep.air[0], air, 1e-12);
	cr_assert(isnan(rep.air[1]));
	cr_assert_eq(rep.rotated, 1);
	cr_assert_eq(rep.rotation, 1);
	cr_assert_eq(*rq_model_rotations(m, 0), 1);
	cr_assert_float_eq(rep.alpha, (1 + tanh(-air)) / 2, 1e-12);
	R = rq_model_rotation(m, 0);
	for (int i = 0; i < d; i++)	/* R R^T = I */
		for (int j = 0; j < d; j++) {
			double s = 0;
			for (int k = 0; k < d; k++)
				s += R[i * d + k] * R[j * d + k];
			cr_assert_float_eq(s, i == j, 1e-12);
		}
	/* the query moved: a second epoch at rmax = 1 does not rotate */
	rq_model_forward(m, ds.audio, ds.visual, NULL, 3, 0, NULL);
	cr_assert(memcmp(q0, rq_model_query(m, 0), sizeof q0) != 0);
	cr_assert_eq(rq_rollingq_epoch(rq, m, &ds, perm, 3, 2, &rep, err,
	    sizeof err), RQ_OK, "%s", err);
	cr_assert_eq(rep.rotated, 0);
	cr_assert(isfinite(rep.air[0]));
	cr_assert_eq(*rq_model_rotations(m, 0), 1);
	rq_rollingq_free(rq);

	/* the authors' estimate: the last batch of perm (7 = 3 + 3 + 1: the
	 * last batch is perm[6], sample 0 alone) */
	rc.air_full = 0;
	rc.on = 0;
	cr_assert_eq(rq_rollingq_new(&rq, m, &rc, NULL, ds.n, 3), RQ_OK);
	cr_assert_eq(rq_rollingq_epoch(rq, m, &ds, perm, 3, 3, &rep, err,
	    sizeof err), RQ_OK, "%s", err);
	rq_model_forward(m, ds.audio, ds.visual, NULL, 1, 0, NULL);
	rq_model_kmeans(m, 0, 1, ka, kv);
	cr_assert_float_eq(rep.air[0], rq_air(rq_model_query(m, 0), ka, kv, 1,
	    (size_t)d, NULL, NULL), 1e-12);
	cr_assert_eq(rep.rotated, 0);
	rq_rollingq_free(rq);
	rq_model_free(m);
	rq_dataset_free(&ds);
}

/* MT*: triggers alternate layer 1, layer 2, layer 1, each up to rmax */
Test(model, rollingq_epoch_mtstar_alternates)
{
	rq_model_cfg c;
	rq_model *m;
	rq_rollingq *rq;
	rq_rollingq_cfg rc = { .on = 1, .rho = 0.5, .beta = 0, .rmax = 2,
	    .air_full = 1 };
	rq_rollingq_report rep;
	rq_dataset ds;
	int64_t perm[6] = {0, 1, 2, 3, 4, 5};
	int want[] = {1, 2, 1, 2, 0};
	char err[256];

	tiny(&c, RQ_METHOD_MTSTAR);
	m = tiny_make(&c, 91);
	tiny_set(&ds, &c, 6, 92);
	cr_assert_eq(rq_rollingq_new(&rq, m, &rc, NULL, ds.n, 3), RQ_OK);
	for (int e = 0; e < 5; e++) {
		cr_assert_eq(rq_rollingq_epoch(rq, m, &ds, perm, 3, e + 1, &rep,
		    err, sizeof err), RQ_OK, "%s", err);
		cr_assert_eq(rep.layers, 2);
		cr_assert(isfinite(rep.air[0]) && isfinite(rep.air[1]));
		cr_assert_eq(rep.rotated, want[e], "epoch %d: layer %d", e + 1,
		    rep.rotated);
	}
	cr_assert_eq(*rq_model_rotations(m, 0), 2);
	cr_assert_eq(*rq_model_rotations(m, 1), 2);
	rq_rollingq_free(rq);
	rq_model_free(m);
	rq_dataset_free(&ds);
}
