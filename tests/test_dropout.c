/*
 * test_dropout.c: inverted dropout: identity at p = 0, statistics (checks
 * as in layercheck.h).
 */
#include "layercheck.h"


Test(dropout, dropout_identity_at_zero)
{
	float x[100], y[100], dx[100] = { 0 };
	uint8_t m[100];
	rq_rng r, r0;

	rq_rng_seed(&r, 14);
	fill_normal(x, 100, &r, 1);
	r0 = r;
	memset(m, 7, sizeof(m));
	rq_dropout_forward(y, m, x, 100, 0, &r);
	cr_expect(memcmp(x, y, sizeof(x)) == 0);
	for (int i = 0; i < 100; i++)
		cr_expect(m[i] == 1);
	cr_expect(memcmp(&r, &r0, sizeof(r)) == 0, "p = 0 drew numbers");
	rq_dropout_backward(dx, x, m, 100, 0);
	rq_dropout_backward(dx, x, m, 100, 0);
	for (int i = 0; i < 100; i++)
		cr_expect(dx[i] == 2 * x[i]);
}

Test(dropout, dropout_statistics_and_backward)
{
	enum { N = 100000 };
	float *x = falloc(N), *y = falloc(N), *y2 = falloc(N), *dx = falloc(N);
	float *dy = falloc(N);
	uint8_t *m = malloc(N), *m2 = malloc(N);
	double kept = 0, mean = 0, p = 0.3, sd = sqrt(p * (1 - p) / N);
	rq_rng r;

	for (int i = 0; i < N; i++)
		x[i] = 1;
	rq_rng_seed(&r, 15);
	rq_dropout_forward(y, m, x, N, (float)p, &r);
	for (int i = 0; i < N; i++) {
		kept += m[i];
		mean += y[i];
		cr_assert(m[i] <= 1);
		cr_assert(y[i] == (m[i] ? x[i] / (1 - (float)p) : 0));
	}
	kept /= N;
	mean /= N;
	cr_expect(fabs(kept - (1 - p)) < 5 * sd, "kept %g", kept);
	cr_expect(fabs(mean - 1) < 5 * sd / (1 - p), "mean %g", mean);
	/* same seed, same mask; another seed, another mask */
	rq_rng_seed(&r, 15);
	rq_dropout_forward(y2, m2, x, N, (float)p, &r);
	cr_expect(memcmp(m, m2, N) == 0);
	rq_rng_seed(&r, 16);
	rq_dropout_forward(y2, m2, x, N, (float)p, &r);
	cr_expect(memcmp(m, m2, N) != 0);
	/* backward: dx += dy mask / (1 - p); L = sum dy y is linear in x */
	rq_rng_seed(&r, 17);
	fill_normal(dy, N, &r, 1);
	for (int i = 0; i < N; i++)
		dx[i] = 0.5f;
	rq_dropout_backward(dx, dy, m, N, (float)p);
	for (int i = 0; i < N; i++)
		cr_assert(fabsf(dx[i] - 0.5f - (m[i] ? dy[i] / 0.7f : 0)) <
		    1e-6f * (1 + fabsf(dy[i])), "dx[%d]", i);
	/* in place */
	rq_rng_seed(&r, 15);
	rq_dropout_forward(x, m2, x, N, (float)p, &r);
	cr_expect(memcmp(x, y, N * sizeof(*x)) == 0);
	free(x); free(y); free(y2); free(dx); free(dy); free(m); free(m2);
}
