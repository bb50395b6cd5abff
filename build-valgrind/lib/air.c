/*
 * air.c: the Attention Imbalance Rate of RollingQ (DESIGN.md section 3).
 *
 * q [d] is the fusion query (after W_q, its bias and any rotation);
 * ka, kv [n,d] hold, for sample i, the mean fusion key over its audio
 * tokens and over its visual tokens.
 *	AIR = (1/n) sum_i [cos(q, ka_i) - cos(q, kv_i)]  in [-2, 2],
 * positive when the query points nearer the audio keys (audio favoured).
 * All sums in double.  cos(a, b) = a.b / (|a| |b|), and 0 when either
 * vector is zero (as torch's F.cosine_similarity with its eps gives).
 */
#include <math.h>

#include "rq.h"

static double
cosine(const float *a, const float *b, size_t d, double nb)
{
	double ab = 0, na = 0;

	for (size_t j = 0; j < d; j++) {
		ab += (double)a[j] * b[j];
		na += (double)a[j] * a[j];
	}
	if (!(na > 0) || !(nb > 0))
		return 0;
	return ab / (sqrt(na) * nb);
}

void
rq_air_samples(double *ca, double *cv, const float *q, const float *ka,
    const float *kv, size_t n, size_t d)
{
	double nq = 0;

	for (size_t j = 0; j < d; j++)
		nq += (double)q[j] * q[j];
	nq = sqrt(nq);
	for (size_t i = 0; i < n; i++) {
		if (ca)
			ca[i] = cosine(ka + i * d, q, d, nq);
		if (cv)
			cv[i] = cosine(kv + i * d, q, d, nq);
	}
}

/* NaN when n == 0 */
double
rq_air(const float *q, const float *ka, const float *kv, size_t n, size_t d,
    double *cos_a, double *cos_v)
{
	double sa = 0, sv = 0, nq = 0;

	if (n == 0) {
		if (cos_a)
			*cos_a = NAN;
		if (cos_v)
			*cos_v = NAN;
		return NAN;
	}
	for (size_t j = 0; j < d; j++)
		nq += (double)q[j] * q[j];
	nq = sqrt(nq);
	for (size_t i = 0; i < n; i++) {
		sa += cosine(ka + i * d, q, d, nq);
		sv += cosine(kv + i * d, q, d, nq);
	}
	sa /= (double)n;
	sv /= (double)n;
	if (cos_a)
		*cos_a = sa;
	if (cos_v)
		*cos_v = sv;
	return sa - sv;
}
