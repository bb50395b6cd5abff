/*
 * test_attention.c: multi-head self-attention (mhsa); known outputs, large
 * scores (checks as in layercheck.h).
 */
#include "layercheck.h"


struct att {
	int B, T, C, H;
	float *qkv, *out, *att;
	double *qkvd, *outd, *dy;
};

static void
mhsa_ref(double *out, const double *qkv, int B, int T, int C, int H)
{
	int hs = C / H;
	double s = 1 / sqrt((double)hs), a[64];

	for (int b = 0; b < B; b++)
		for (int h = 0; h < H; h++)
			for (int i = 0; i < T; i++) {
				const double *q = qkv + ((size_t)b * T + i) *
				    3 * C + h * hs;
				double m = -INFINITY, z = 0;
				for (int j = 0; j < T; j++) {
					const double *k = qkv + ((size_t)b *
					    T + j) * 3 * C + C + h * hs;
					double d = 0;
					for (int e = 0; e < hs; e++)
						d += q[e] * k[e];
					a[j] = d * s;
					m = fmax(m, a[j]);
				}
				for (int j = 0; j < T; j++)
					z += a[j] = exp(a[j] - m);
				for (int e = 0; e < hs; e++) {
					double o = 0;
					for (int j = 0; j < T; j++)
						o += a[j] / z * qkv[((size_t)b *
						    T + j) * 3 * C + 2 * C +
						    h * hs + e];
					out[((size_t)b * T + i) * C + h * hs +
					    e] = o;
				}
			}
}

static double
att_lf(void *c)
{
	struct att *l = c;

	rq_mhsa_forward(l->out, l->att, l->qkv, l->B, l->T, l->C, l->H);
	return dotf(l->dy, l->out, (size_t)l->B * l->T * l->C);
}

static double
att_ld(void *c)
{
	struct att *l = c;

	mhsa_ref(l->outd, l->qkvd, l->B, l->T, l->C, l->H);
	return dotd(l->dy, l->outd, (size_t)l->B * l->T * l->C);
}

static void
mhsa_case(int B, int T, int C, int H, uint64_t seed)
{
	struct att l = { .B = B, .T = T, .C = C, .H = H };
	size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
	size_t na = (size_t)B * H * T * T;
	float *dq = falloc(nq), *scr = falloc(na), *dyf = falloc(no), *pq;
	double *g = dalloc(nq);
	rq_rng r;

	rq_rng_seed(&r, seed);
	l.qkv = falloc(nq); l.out = falloc(no); l.att = falloc(na);
	/* outputs and scratch start as NaN: beta = 0 must overwrite them */
	for (size_t i = 0; i < na; i++)
		l.att[i] = scr[i] = NAN;
	for (size_t i = 0; i < no; i++)
		l.out[i] = NAN;
	fill_normal(l.qkv, nq, &r, 1.5);
	fill_normal(dyf, no, &r, 1);
	l.dy = to_d(dyf, no);
	l.qkvd = to_d(l.qkv, nq);
	l.outd = dalloc(no);
	att_lf(&l); att_ld(&l);
	check_fwd("mhsa", l.out, l.outd, no, 1e-5);
	for (size_t i = 0; i < (size_t)B * H * T; i++) {
		double s = 0;
		for (int j = 0; j < T; j++)
			s += l.att[i * T + j];
		cr_expect(fabs(s - 1) < 1e-5, "att row %zu sums to %g", i, s);
	}

	pq = prefill(dq, nq, &r);
	rq_mhsa_backward(dq, scr, dyf, l.qkv, l.att, B, T, C, H);
	fd_double(l.qkvd, nq, att_ld, &l, H_REF, g);
	check_grad("mhsa dqkv ref", dq, pq, g, nq, TOL_REF);
	fd_float(l.qkv, nq, att_lf, &l, H_FLT, g);
	check_grad("mhsa dqkv flt", dq, pq, g, nq, TOL_FLT);
	free(dq); free(scr); free(dyf); free(pq); free(g);
	free(l.qkv); free(l.out); free(l.att); free(l.dy); free(l.qkvd);
	free(l.outd);
}

Test(attention, mhsa_forward_backward)
{
	mhsa_case(2, 5, 8, 2, 6);
	mhsa_case(1, 7, 12, 3, 7);
	mhsa_case(2, 1, 4, 1, 8);
	mhsa_case(1, 19, 8, 2, 18);  /* T >= 8: the vector softmax path */
}

/* head sizes that are multiples of 8: attention.c's direct AVX2 path */
Test(attention, mhsa_forward_backward_direct)
{
	mhsa_case(2, 17, 32, 2, 19);	/* the default model's T and hs */
	mhsa_case(1, 3, 8, 1, 20);	/* T < 8: all padding */
	mhsa_case(1, 9, 24, 1, 21);	/* hs 24, T one past a block */
	mhsa_case(1, 24, 16, 2, 22);	/* T a whole number of blocks */
	mhsa_case(1, 41, 16, 2, 23);	/* direct forward, BLAS backward */
}

Test(attention, mhsa_large_scores_stable_direct)
{
	enum { T = 11, C = 16 };
	float qkv[T * 3 * C], out[T * C], att[T * T];

	for (int i = 0; i < T * 3 * C; i++)
		qkv[i] = 300;  /* scores 3.6e5: exp would overflow */
	rq_mhsa_forward(out, att, qkv, 1, T, C, 1);
	for (int i = 0; i < T * C; i++)
		cr_expect(isfinite(out[i]) && fabsf(out[i] - 300) < 1e-3f);
	for (int i = 0; i < T * T; i++)
		cr_expect(fabsf(att[i] - 1.0f / T) < 1e-6f);
}

Test(attention, mhsa_known_outputs)
{
	/* q = 0: uniform attention, out = mean over t of v */
	enum { B = 2, T = 4, C = 6, H = 2 };
	float qkv[B * T * 3 * C], out[B * T * C], att[B * H * T * T];
	rq_rng r;

	rq_rng_seed(&r, 9);
	fill_normal(qkv, B * T * 3 * C, &r, 1);
	for (int i = 0; i < B * T; i++)
		for (int e = 0; e < C; e++)
			qkv[i * 3 * C + e] = 0;
	rq_mhsa_forward(out, att, qkv, B, T, C, H);
	for (int b = 0; b < B; b++)
		for (int e = 0; e < C; e++) {
			double m = 0;
			for (int t = 0; t < T; t++)
				m += qkv[(b * T + t) * 3 * C + 2 * C + e];
			m /= T;
			for (int t = 0; t < T; t++)
				cr_expect(fabs(out[(b * T + t) * C + e] - m) <
				    1e-6, "b %d t %d e %d", b, t, e);
		}
	for (int i = 0; i < B * H * T * T; i++)
		cr_expect(fabsf(att[i] - 0.25f) < 1e-7f);
}

Test(attention, mhsa_large_scores_stable)
{
	enum { T = 3, C = 2 };
	float qkv[T * 3 * C], out[T * C], att[T * T];

	for (int i = 0; i < T * 3 * C; i++)
		qkv[i] = 300;  /* scores ~ 1.3e5: exp would overflow */
	rq_mhsa_forward(out, att, qkv, 1, T, C, 1);
	for (int i = 0; i < T * C; i++)
		cr_expect(isfinite(out[i]) && fabsf(out[i] - 300) < 1e-3f);
}

/*
 * rq_mhsa_backward_set over a dqkv full of NaN gives what
 * rq_mhsa_backward adds to zeros: every element is written.  Shapes on
 * the direct path (head size a multiple of 8) and on the BLAS path.
 */
Test(attention, mhsa_backward_set_writes_every_element)
{
	static const int sh[][4] = { { 2, 17, 64, 4 }, { 1, 41, 16, 2 },
	    { 2, 7, 12, 3 } };
	rq_rng r;

	rq_rng_seed(&r, 29);
	for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++) {
		int B = sh[s][0], T = sh[s][1], C = sh[s][2], H = sh[s][3];
		size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
		size_t na = (size_t)B * H * T * T;
		float *qkv = malloc(sizeof(float) * nq);
		float *d1 = calloc(nq, sizeof(float));
		float *d2 = malloc(sizeof(float) * nq);
		float *out = malloc(sizeof(float) * no);
		float *dout = malloc(sizeof(float) * no);
		float *att = malloc(sizeof(float) * na);
		float *scr = malloc(sizeof(float) * na);

		cr_assert(qkv && d1 && d2 && out && dout && att && scr);
		fill_normal(qkv, nq, &r, 1);
		fill_normal(dout, no, &r, 1);
		for (size_t i = 0; i < nq; i++)
			d2[i] = NAN;
		rq_mhsa_forward(out, att, qkv, B, T, C, H);
		rq_mhsa_backward(d1, scr, dout, qkv, att, B, T, C, H);
		rq_mhsa_backward_set(d2, scr, dout, qkv, att, B, T, C, H);
		for (size_t i = 0; i < nq; i++)
			cr_assert(d1[i] == d2[i], "B %d T %d C %d H %d: "
			    "dqkv[%zu] %g, accumulated %g", B, T, C, H, i,
			    d2[i], d1[i]);
		free(qkv); free(d1); free(d2); free(out); free(dout); free(att);
		free(scr);
	}
}
