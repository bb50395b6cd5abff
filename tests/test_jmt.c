/*
 * test_jmt.c: JMT's second fusion layer (jmt.c: one query per sample)
 * against a double-precision reference and finite differences, with and
 * without a dropout mask; then the whole JMT model's gradient (R of
 * layer 1 not the identity, eval mode and fixed dropout masks) against
 * finite differences of its loss, and its parameter count.
 */
#include "layercheck.h"
#include "tinymodel.h"

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

/* the whole model: tinymodel.h's, with dropout drop at fixed masks */
static void
model_gradcheck(float drop)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32], *g;
	int32_t y[3];
	int jmt_seen = 0;

	tiny_cfg(&c, RQ_METHOD_JMT);
	c.drop = drop;
	m = tiny_make(&c, 17);
	cr_assert_eq(rq_model_fusion_layers(m), 1);
	tiny_rotation(m, 0, 18);
	tiny_data(&c, 3, a, v, y, 19);
	tiny_drop_seed = drop > 0 ? 1234 : 0;
	g = tiny_grads(m, a, v, y, 3);
	for (int i = 0; i < rq_model_ntable(m); i++)
		jmt_seen += strncmp(rq_model_table(m, i)->name, "jmt.", 4) == 0;
	cr_assert_eq(jmt_seen, 8, "jmt.{q,k,v,o}.{w,b}");
	tiny_fd_check(m, g, a, v, y, 3, "jmt", NULL);
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

	tiny_cfg(&c, RQ_METHOD_JMT);
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
