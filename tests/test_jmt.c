/*
 * test_jmt.c: JMT's second fusion layer (jmt.c: one query per sample)
 * against a double-precision reference and finite differences, with and
 * without a dropout mask; then the whole JMT model's gradient (R of
 * layer 1 not the identity, eval mode and fixed dropout masks) against
 * finite differences of its loss, and its parameter count.
 */
#include "layercheck.h"

enum { B = 2, T = 3, C = 5 };

typedef struct ctx {
	double q[B * C], k[B * T * C], v[B * T * C], dy[B * C];
	const uint8_t *mask;
	double p;
} ctx;

/* reference: o_b = sum_t ad_t v_bt, a = softmax(q.k / sqrt C) */
static void
ref(const ctx *x, double *o)
{
	double s = 1 / sqrt((double)C);

	for (int b = 0; b < B; b++) {
		double z[T], mx = -1e300, sum = 0;
		for (int t = 0; t < T; t++) {
			z[t] = 0;
			for (int i = 0; i < C; i++)
				z[t] += x->q[b * C + i] * x->k[(b * T + t) * C + i];
			z[t] *= s;
			mx = fmax(mx, z[t]);
		}
		for (int t = 0; t < T; t++)
			sum += z[t] = exp(z[t] - mx);
		for (int i = 0; i < C; i++)
			o[b * C + i] = 0;
		for (int t = 0; t < T; t++) {
			double ad = z[t] / sum;
			if (x->mask != NULL)
				ad = x->mask[b * T + t] ? ad / (1 - x->p) : 0;
			for (int i = 0; i < C; i++)
				o[b * C + i] += ad * x->v[(b * T + t) * C + i];
		}
	}
}

static double
lossd(void *p)
{
	ctx *x = p;
	double o[B * C];

	ref(x, o);
	return dotd(x->dy, o, B * C);
}

static void
check_layer(const uint8_t *mask, float p)
{
	rq_rng r;
	ctx x;
	float q[B * C], k[B * T * C], v[B * T * C], o[B * C], a[B * T],
	    ad[B * T], dy[B * C], dq[B * C], dk[B * T * C], dv[B * T * C];
	float *pq, *pk, *pv;
	double od[B * C], gq[B * C], gk[B * T * C], gv[B * T * C];

	rq_rng_seed(&r, 5);
	fill_normal(q, B * C, &r, 1.5);
	fill_normal(k, B * T * C, &r, 1.5);
	fill_normal(v, B * T * C, &r, 1);
	fill_normal(dy, B * C, &r, 1);
	for (int i = 0; i < B * C; i++) {
		x.q[i] = q[i];
		x.dy[i] = dy[i];
	}
	for (int i = 0; i < B * T * C; i++) {
		x.k[i] = k[i];
		x.v[i] = v[i];
	}
	x.mask = mask;
	x.p = p;
	rq_jmt_attn_forward(o, a, ad, q, k, v, mask, p, B, T, C);
	ref(&x, od);
	check_fwd("jmt forward", o, od, B * C, 1e-5);
	pq = prefill(dq, B * C, &r);
	pk = prefill(dk, B * T * C, &r);
	pv = prefill(dv, B * T * C, &r);
	rq_jmt_attn_backward(dq, dk, dv, dy, a, ad, q, k, v, B, T, C);
	fd_double(x.q, B * C, lossd, &x, H_REF, gq);
	fd_double(x.k, B * T * C, lossd, &x, H_REF, gk);
	fd_double(x.v, B * T * C, lossd, &x, H_REF, gv);
	check_grad("jmt dq", dq, pq, gq, B * C, TOL_REF);
	check_grad("jmt dk", dk, pk, gk, B * T * C, TOL_REF);
	check_grad("jmt dv", dv, pv, gv, B * T * C, TOL_REF);
	free(pq);
	free(pk);
	free(pv);
}

Test(jmt, layer_gradient) { check_layer(NULL, 0); }

Test(jmt, layer_gradient_dropout)
{
	static const uint8_t mask[B * T] = {1, 0, 1, 1, 1, 0};

	check_layer(mask, 0.25f);
}

/* the whole model: tiny shapes, as tests/test_model.c */
static void
tiny(rq_model_cfg *c)
{
	rq_model_cfg_defaults(c);
	c->method = RQ_METHOD_JMT;
	c->d = 8;
	c->depth = 1;
	c->heads = 2;
	c->mlp = 2;
	c->F = 4;
	c->T = 6;
	c->pf = 2;
	c->pt = 3;
	c->C = 2;
	c->H = 4;
	c->W = 4;
	c->vc = 1;
	c->ph = c->pw = 2;
	c->classes = 3;
	c->batch = 3;
}

static uint64_t drop_seed;

static double
model_loss(rq_model *m, const rq_param *p, const float *a, const float *v,
    const int32_t *y)
{
	rq_rng r;

	rq_rng_seed(&r, drop_seed);
	rq_model_forward(m, a, v, y, 3, drop_seed != 0, &r);
	return p->group == 1 ? rq_model_head_loss(m, 1) +
	    rq_model_head_loss(m, 2) : rq_model_head_loss(m, 0);
}

static void
model_gradcheck(float drop)
{
	rq_model_cfg c;
	rq_model *m;
	rq_rng r;
	float a[3 * 24], v[3 * 32], *g, *w;
	double x[8], yv[8];
	int32_t y[3];
	int checked = 0, bad = 0, jmt_seen = 0;

	tiny(&c);
	c.drop = drop;
	cr_assert_eq(rq_model_plan(&m, &c), RQ_OK);
	cr_assert_eq(rq_model_alloc(m), RQ_OK);
	cr_assert_eq(rq_model_fusion_layers(m), 1);
	rq_rng_seed(&r, 17);
	rq_model_init_params(m, &r);
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		float *pw = rq_model_params(m) + p->off;
		if (p->init != RQ_INIT_XAVIER)
			for (size_t j = 0; j < p->n; j++)
				pw[j] += (float)(0.3 * rq_rng_normal(&r));
	}
	for (int i = 0; i < 8; i++) {
		x[i] = rq_rng_normal(&r);
		yv[i] = rq_rng_normal(&r);
	}
	cr_assert_eq(rq_rotation_plane(rq_model_rotation(m, 0), x, yv, 8),
	    RQ_OK);
	for (int i = 0; i < 3 * 24; i++)
		a[i] = (float)rq_rng_normal(&r);
	for (int i = 0; i < 3 * 32; i++)
		v[i] = (float)rq_rng_normal(&r);
	for (int b = 0; b < 3; b++)
		y[b] = b;
	drop_seed = drop > 0 ? 1234 : 0;
	rq_model_zero_grad(m);
	model_loss(m, rq_model_table(m, 0), a, v, y);
	rq_model_backward(m, y, 3);
	g = malloc(rq_model_nparams(m) * sizeof *g);
	cr_assert_not_null(g);
	memcpy(g, rq_model_grads(m), rq_model_nparams(m) * sizeof *g);
	w = rq_model_params(m);
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		size_t pick[3] = {0, p->n / 2, p->n - 1};
		jmt_seen += strncmp(p->name, "jmt.", 4) == 0;
		for (int k = 0; k < 3; k++) {
			size_t j = p->off + pick[k];
			float save = w[j], h = 1e-2f;
			double lp, lm, num;
			w[j] = save + h;
			lp = model_loss(m, p, a, v, y);
			w[j] = save - h;
			lm = model_loss(m, p, a, v, y);
			w[j] = save;
			num = (lp - lm) / (2.0 * h);
			checked++;
			if (fabs(num - g[j]) > 2e-3 + 3e-2 * fabs(num)) {
				bad++;
				cr_log_error("%s[%zu]: analytic %.6g numeric %.6g",
				    p->name, pick[k], g[j], num);
			}
		}
	}
	cr_assert_eq(jmt_seen, 8, "jmt.{q,k,v,o}.{w,b}");
	cr_assert_eq(bad, 0, "%d of %d gradient entries differ", bad, checked);
	free(g);
	rq_model_free(m);
}

Test(jmt, model_gradient) { model_gradcheck(0); }
Test(jmt, model_gradient_dropout) { model_gradcheck(0.3f); }

/* JMT = MT + exactly one single-head attention module: 4 (d^2 + d) */
Test(jmt, parameters_over_mt)
{
	rq_model_cfg c;
	rq_model *mt, *jmt;

	tiny(&c);
	cr_assert_eq(rq_model_plan(&jmt, &c), RQ_OK);
	c.method = RQ_METHOD_MT;
	cr_assert_eq(rq_model_plan(&mt, &c), RQ_OK);
	cr_assert_eq(rq_model_nparams(jmt) - rq_model_nparams(mt),
	    (size_t)4 * (8 * 8 + 8));
	cr_assert_str_eq(rq_method_name(RQ_METHOD_JMT), "jmt");
	cr_assert_eq(rq_method_find("jmt")->model, RQ_METHOD_JMT);
	rq_model_free(mt);
	rq_model_free(jmt);
}
