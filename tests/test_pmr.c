/*
 * test_pmr.c: PMR's loss (pmr.c) against a double reference and finite
 * differences with respect to the features z; the prototypes (raw means,
 * then momentum; a class without samples keeps its prototype); the
 * binary coefficients; the model's feature-gradient hook.
 */
#include "layercheck.h"

enum { B = 4, K = 3, D = 5 };

typedef struct ctx {
	rq_pmr *p;
	double z[B * D];
	int32_t y[B];
} ctx;

/* sum_i -log softmax(-|z_i - c_k|)[y_i], in double */
static double
pce_ref(void *arg)
{
	ctx *x = arg;
	const double *c = x->p->proto;	/* modality 0 */
	double L = 0;

	for (int b = 0; b < B; b++) {
		double s[K], mx = -1e300, sum = 0;
		for (int k = 0; k < K; k++) {
			double q = 0;
			for (int i = 0; i < D; i++)
				q += pow(x->z[b * D + i] - c[k * D + i], 2);
			s[k] = -sqrt(q);
			mx = fmax(mx, s[k]);
		}
		for (int k = 0; k < K; k++)
			sum += exp(s[k] - mx);
		L -= s[x->y[b]] - mx - log(sum);
	}
	return L;
}

static void
setup(rq_pmr *p, float *z, ctx *x)
{
	rq_rng r;
	static const int32_t y[B] = {0, 2, 1, 2};
	float za[B * D], zv[B * D];

	cr_assert_eq(rq_pmr_init(p, K, D), RQ_OK);
	rq_rng_seed(&r, 3);
	/* prototypes from K samples per class */
	for (int k = 0; k < K; k++) {
		int32_t yy[2] = {k, k};
		float a2[2 * D], v2[2 * D];
		fill_normal(a2, 2 * D, &r, 1);
		fill_normal(v2, 2 * D, &r, 1);
		rq_pmr_add(p, a2, v2, yy, 2);
	}
	cr_assert_eq(rq_pmr_update(p, 0.5), RQ_OK);
	fill_normal(za, B * D, &r, 1);
	fill_normal(zv, B * D, &r, 1);
	memcpy(z, za, sizeof za);
	x->p = p;
	for (int i = 0; i < B * D; i++)
		x->z[i] = z[i];
	memcpy(x->y, y, sizeof y);
}

Test(pmr, pce_gradient)
{
	rq_pmr p;
	ctx x;
	rq_rng r;
	float z[B * D], dz[B * D], *pre;
	double g[B * D], L, pt = 0, scale = 0.7;

	setup(&p, z, &x);
	rq_rng_seed(&r, 9);
	pre = prefill(dz, B * D, &r);
	L = rq_pmr_pce(&p, 0, z, x.y, B, dz, scale, &pt);
	cr_expect(fabs(L - pce_ref(&x)) < 1e-5 * fabs(L), "loss %g ref %g", L,
	    pce_ref(&x));
	cr_expect(pt > 0 && pt < B);
	fd_double(x.z, B * D, pce_ref, &x, H_REF, g);
	for (int i = 0; i < B * D; i++)
		g[i] *= scale;
	check_grad("pce dz", dz, pre, g, B * D, TOL_REF);
	free(pre);
	rq_pmr_free(&p);
}

Test(pmr, prototypes_momentum)
{
	rq_pmr p;
	float a[2 * 2] = {1, 2, 3, 4}, v[2 * 2] = {-1, 0, 5, 6};
	int32_t y[2] = {0, 0}, y1[1] = {1};
	float a1[2] = {10, 20}, v1[2] = {30, 40};

	cr_assert_eq(rq_pmr_init(&p, 2, 2), RQ_OK);
	rq_pmr_clear(&p);
	rq_pmr_add(&p, a, v, y, 2);
	cr_assert_eq(rq_pmr_update(&p, 0.5), RQ_OK);
	/* first estimate: the raw means; class 1 unseen stays 0 */
	cr_assert_eq(p.proto[0], 2);
	cr_assert_eq(p.proto[1], 3);
	cr_assert_eq(p.proto[4], 2);     /* visual, class 0 */
	cr_assert_eq(p.proto[2], 0);
	rq_pmr_clear(&p);
	rq_pmr_add(&p, a1, v1, y1, 1);
	rq_pmr_add(&p, a, v, y, 1);      /* class 0: the first sample only */
	cr_assert_eq(rq_pmr_update(&p, 0.25), RQ_OK);
	/* c <- 0.75 mean + 0.25 c */
	cr_assert_float_eq(p.proto[0], 0.75 * 1 + 0.25 * 2, 1e-12);
	cr_assert_float_eq(p.proto[2], 0.75 * 10 + 0.25 * 0, 1e-12);
	cr_assert_float_eq(p.proto[7], 0.75 * 40, 1e-12);
	rq_pmr_free(&p);
}

Test(pmr, binary_coefficients)
{
	double b[2];

	rq_pmr_beta(3, 2, 0.6, b);      /* audio ahead: visual pulled */
	cr_assert(b[0] == 0 && b[1] == 0.6);
	rq_pmr_beta(1, 2, 0.6, b);
	cr_assert(b[0] == 0.6 && b[1] == 0);
	rq_pmr_beta(2, 2, 0.6, b);
	cr_assert(b[0] == 0 && b[1] == 0);
}

/* the feature-gradient hook: a gradient g on cls_a equals the gradient
 * of the extra loss g . cls_a, by finite differences on a weight */
Test(pmr, feature_gradient_hook)
{
	rq_model_cfg c;
	rq_model *m;
	rq_rng r;
	float a[2 * 24], v[2 * 32], g[2 * 8], *w, *dg;
	int32_t y[2] = {0, 1};
	const rq_param *p;
	double lp, lm, num, h = 1e-2;

	rq_model_cfg_defaults(&c);
	c.method = RQ_METHOD_CONCAT;
	c.d = 8; c.depth = 1; c.heads = 2; c.mlp = 2;
	c.F = 4; c.T = 6; c.pf = 2; c.pt = 3;
	c.C = 2; c.H = 4; c.W = 4; c.vc = 1; c.ph = c.pw = 2;
	c.classes = 2; c.batch = 2;
	cr_assert_eq(rq_model_plan(&m, &c), RQ_OK);
	cr_assert_eq(rq_model_alloc(m), RQ_OK);
	rq_rng_seed(&r, 4);
	rq_model_init_params(m, &r);
	fill_normal(a, 2 * 24, &r, 1);
	fill_normal(v, 2 * 32, &r, 1);
	fill_normal(g, 2 * 8, &r, 1);
	p = rq_model_find(m, "enc.a.blk.0.mlp.fc2.w");
	cr_assert_not_null(p);
	w = rq_model_params(m) + p->off + 3;
	/* L = CE (fused head) + g . cls_a */
#define LOSS() (rq_model_forward(m, a, v, y, 2, 0, NULL), \
	rq_model_head_loss(m, 0) + dotf((const double[]){g[0], g[1], g[2], \
	g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], \
	g[14], g[15]}, rq_model_feature(m, 0), 16))
	rq_model_zero_grad(m);
	rq_model_forward(m, a, v, y, 2, 0, NULL);
	dg = rq_model_feature_grad(m, 0);
	cr_assert_not_null(dg);
	memcpy(dg, g, sizeof g);
	rq_model_backward(m, y, 2);
	*w += (float)h;
	lp = LOSS();
	*w -= (float)(2 * h);
	lm = LOSS();
	*w += (float)h;
	num = (lp - lm) / (2 * h);
	cr_expect(fabs(num - rq_model_grads(m)[p->off + 3]) <
	    2e-3 + 3e-2 * fabs(num), "analytic %g numeric %g",
	    rq_model_grads(m)[p->off + 3], num);
	/* the hook is spent: a second backward adds CE's gradient only */
	cr_assert_eq(rq_model_feature_grad(m, 0)[0], 0);
	rq_model_free(m);
}
