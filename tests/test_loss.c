/*
 * test_loss.c: softmax cross-entropy; uniform logits give log k (checks as
 * in layercheck.h).
 */
#include "layercheck.h"


struct xe {
	int n, k;
	int32_t *y;
	float *z, *p;
	double *zd;
};

static double
xe_lf(void *c)
{
	struct xe *l = c;

	return rq_xent_forward(l->p, l->z, l->y, l->n, l->k);
}

static double
xe_ld(void *c)
{
	struct xe *l = c;
	double s = 0;

	for (int i = 0; i < l->n; i++) {
		double z = 0;
		for (int j = 0; j < l->k; j++)
			z += exp(l->zd[i * l->k + j]);
		s += log(z) - l->zd[i * l->k + l->y[i]];
	}
	return s / l->n;
}

Test(loss, xent_forward_backward)
{
	struct xe l = { .n = 5, .k = 7 };
	size_t nz = 35;
	int32_t y[5] = { 0, 6, 3, 3, 1 };
	float *dz = falloc(nz), *pz;
	double *g = dalloc(nz), L, Ld;
	rq_rng r;

	rq_rng_seed(&r, 13);
	l.y = y;
	l.z = falloc(nz); l.p = falloc(nz);
	fill_normal(l.z, nz, &r, 2);
	l.zd = to_d(l.z, nz);
	L = xe_lf(&l);
	Ld = xe_ld(&l);
	cr_expect(fabs(L - Ld) < 1e-6 * (1 + Ld), "xent %g vs %g", L, Ld);
	for (int i = 0; i < l.n; i++) {
		double s = 0;
		for (int j = 0; j < l.k; j++)
			s += l.p[i * l.k + j];
		cr_expect(fabs(s - 1) < 1e-6, "probs row %d sums to %g", i, s);
	}
	pz = prefill(dz, nz, &r);
	rq_xent_backward(dz, l.p, l.y, l.n, l.k, 1.0f / l.n);
	fd_double(l.zd, nz, xe_ld, &l, H_REF, g);
	check_grad("xent dlogits ref", dz, pz, g, nz, TOL_REF);
	fd_float(l.z, nz, xe_lf, &l, H_FLT, g);
	check_grad("xent dlogits flt", dz, pz, g, nz, TOL_FLT);
}

Test(loss, xent_known_values)
{
	float z[2 * 10], p[2 * 10];
	int32_t y[2] = { 3, 9 };
	float big[2] = { 1000, 0 }, pb[2];
	int32_t y0 = 0, y1 = 1;
	double L;

	for (int i = 0; i < 20; i++)
		z[i] = i < 10 ? 0.0f : 5.0f;  /* two uniform rows */
	L = rq_xent_forward(p, z, y, 2, 10);
	cr_expect(fabs(L - log(10.0)) < 1e-6, "uniform xent %g != log 10", L);
	for (int i = 0; i < 20; i++)
		cr_expect(fabsf(p[i] - 0.1f) < 1e-7f);
	/* stability: exp(1000) overflows in float and double */
	L = rq_xent_forward(pb, big, &y0, 1, 2);
	cr_expect(isfinite(L) && fabs(L) < 1e-12, "xent big right %g", L);
	L = rq_xent_forward(pb, big, &y1, 1, 2);
	cr_expect(fabs(L - 1000) < 1e-9, "xent big wrong %g", L);
}
