/*
 * test_fusion.c: the fusion attention of MT; a zero query attends
 * uniformly (checks as in layercheck.h).
 */
#include "layercheck.h"


struct fus {
	int B, T, C;
	float p;
	uint8_t *mask;
	float *q, *k, *v, *o, *a, *ad;
	double *qd, *kd, *vd, *od, *dy;
};

static void
fusion_ref(double *o, const double *q, const double *k, const double *v,
    const uint8_t *mask, double p, int B, int T, int C)
{
	double *a = dalloc(T), s = 1 / sqrt((double)C);

	for (int b = 0; b < B; b++) {
		double m = -INFINITY, z = 0;
		for (int t = 0; t < T; t++) {
			double d = 0;
			for (int e = 0; e < C; e++)
				d += q[e] * k[((size_t)b * T + t) * C + e];
			a[t] = d * s;
			m = fmax(m, a[t]);
		}
		for (int t = 0; t < T; t++)
			z += a[t] = exp(a[t] - m);
		for (int t = 0; t < T; t++)
			a[t] = a[t] / z * (mask ? mask[b * T + t] / (1 - p) :
			    1);
		for (int e = 0; e < C; e++) {
			double x = 0;
			for (int t = 0; t < T; t++)
				x += a[t] * v[((size_t)b * T + t) * C + e];
			o[(size_t)b * C + e] = x;
		}
	}
	free(a);
}

static double
fus_lf(void *c)
{
	struct fus *l = c;

	rq_fusion_attn_forward(l->o, l->a, l->ad, l->q, l->k, l->v, l->mask,
	    l->p, l->B, l->T, l->C);
	return dotf(l->dy, l->o, (size_t)l->B * l->C);
}

static double
fus_ld(void *c)
{
	struct fus *l = c;

	fusion_ref(l->od, l->qd, l->kd, l->vd, l->mask, l->p, l->B, l->T,
	    l->C);
	return dotd(l->dy, l->od, (size_t)l->B * l->C);
}

static void
fusion_case(int B, int T, int C, int masked, uint64_t seed)
{
	struct fus l = { .B = B, .T = T, .C = C, .p = masked ? 0.25f : 0 };
	size_t nk = (size_t)B * T * C, no = (size_t)B * C, na = (size_t)B * T;
	float *dq = falloc(C), *dk = falloc(nk), *dv = falloc(nk);
	float *dyf = falloc(no), *pq, *pk, *pv;
	double *g = dalloc(nk);
	rq_rng r;

	rq_rng_seed(&r, seed);
	l.q = falloc(C); l.k = falloc(nk); l.v = falloc(nk);
	l.o = falloc(no); l.a = falloc(na);
	l.ad = masked ? falloc(na) : l.a;
	for (size_t i = 0; i < na; i++)  /* outputs must be overwritten */
		l.a[i] = l.ad[i] = NAN;
	for (size_t i = 0; i < no; i++)
		l.o[i] = NAN;
	fill_normal(l.q, C, &r, 2); fill_normal(l.k, nk, &r, 1);
	fill_normal(l.v, nk, &r, 1);
	if (masked) {
		l.mask = calloc(na, 1);
		for (size_t i = 0; i < na; i++)
			l.mask[i] = i % 3 != 1;
	}
	fill_normal(dyf, no, &r, 1);
	l.dy = to_d(dyf, no);
	l.qd = to_d(l.q, C); l.kd = to_d(l.k, nk); l.vd = to_d(l.v, nk);
	l.od = dalloc(no);
	fus_lf(&l); fus_ld(&l);
	check_fwd("fusion", l.o, l.od, no, 1e-5);
	for (int b = 0; b < B; b++) {
		double s = 0;
		for (int t = 0; t < T; t++)
			s += l.a[b * T + t];
		cr_expect(fabs(s - 1) < 1e-5, "fusion a row %d sums to %g", b,
		    s);
	}

	pq = prefill(dq, C, &r); pk = prefill(dk, nk, &r);
	pv = prefill(dv, nk, &r);
	rq_fusion_attn_backward(dq, dk, dv, dyf, l.a, l.ad, l.q, l.k, l.v,
	    l.mask, l.p, B, T, C);
	fd_double(l.qd, C, fus_ld, &l, H_REF, g);
	check_grad("fusion dq ref", dq, pq, g, C, TOL_REF);
	fd_double(l.kd, nk, fus_ld, &l, H_REF, g);
	check_grad("fusion dk ref", dk, pk, g, nk, TOL_REF);
	fd_double(l.vd, nk, fus_ld, &l, H_REF, g);
	check_grad("fusion dv ref", dv, pv, g, nk, TOL_REF);
	fd_float(l.q, C, fus_lf, &l, H_FLT, g);
	check_grad("fusion dq flt", dq, pq, g, C, TOL_FLT);
	fd_float(l.k, nk, fus_lf, &l, H_FLT, g);
	check_grad("fusion dk flt", dk, pk, g, nk, TOL_FLT);
	fd_float(l.v, nk, fus_lf, &l, H_FLT, g);
	check_grad("fusion dv flt", dv, pv, g, nk, TOL_FLT);

	/* NULL gradients are skipped and do not change the others */
	memcpy(pk, dk, nk * sizeof(*dk));
	rq_fusion_attn_backward(NULL, NULL, dv, dyf, l.a, l.ad, l.q, l.k,
	    l.v, l.mask, l.p, B, T, C);
	cr_expect(memcmp(pk, dk, nk * sizeof(*dk)) == 0);
}

Test(fusion, fusion_forward_backward)
{
	fusion_case(3, 6, 8, 0, 10);
	fusion_case(2, 9, 5, 1, 11);
	fusion_case(1, 600, 3, 1, 19);  /* T above fusion.c's chunk of 512 */
}

Test(fusion, fusion_zero_query_uniform)
{
	enum { B = 2, T = 5, C = 4 };
	float q[C] = { 0 }, k[B * T * C], v[B * T * C], o[B * C], a[B * T];
	rq_rng r;

	rq_rng_seed(&r, 12);
	fill_normal(k, B * T * C, &r, 1);
	fill_normal(v, B * T * C, &r, 1);
	rq_fusion_attn_forward(o, a, a, q, k, v, NULL, 0, B, T, C);
	for (int b = 0; b < B; b++)
		for (int e = 0; e < C; e++) {
			double m = 0;
			for (int t = 0; t < T; t++)
				m += v[(b * T + t) * C + e];
			cr_expect(fabs(o[b * C + e] - m / T) < 1e-6);
		}
}
