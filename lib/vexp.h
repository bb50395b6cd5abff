/*
 * vexp.h: the one exp of librq's layers (attention.c's softmax, gelu.c's
 * Phi and phi), inline: x = n ln2 + r, |r| <= ln2/2, e^r by the Cephes
 * degree-6 polynomial (about 1 ulp), 2^n through the exponent bits; ln 2
 * in two parts (ln2_hi has 9 significant bits, so n ln2_hi is exact).
 *
 * rq_exp_neg(x): scalar, for x <= 0 (softmax arguments x - rowmax);
 *   x is clamped to [-87, 0] (e^-87 ~ 1.6e-38, still normal); NaN passes.
 * rq_exp8(a, b): eight lanes of exp(a + b), with b small next to a (gelu
 *   passes -z^2 as an exact hi + lo pair; softmax passes b = 0); a and
 *   a + b are clamped below at -87, a + b must stay below 88.  With b = 0
 *   it is rq_exp_neg lane by lane.
 * GCC does not vectorise the scalar form at -O2 (float compares may trap),
 * hence the explicit AVX2 one.
 */
#ifndef RQ_VEXP_H
#define RQ_VEXP_H

#include <stdint.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#define RQ_EXP_LOG2E 1.44269504088896341f
#define RQ_EXP_LN2_HI 0.693359375f
#define RQ_EXP_LN2_LO -2.12194440e-4f
#define RQ_EXP_P0 1.9875691500e-4f
#define RQ_EXP_P1 1.3981999507e-3f
#define RQ_EXP_P2 8.3334519073e-3f
#define RQ_EXP_P3 4.1665795894e-2f
#define RQ_EXP_P4 1.6666665459e-1f
#define RQ_EXP_P5 5.0000001201e-1f

static inline float
rq_exp_neg(float x)
{
	union { int32_t i; float f; } s;
	float n, r, p;

	if (x != x)		/* NaN (a diverged model): pass it on */
		return x;
	/* keep n in [-126, 0] so the exponent arithmetic cannot overflow */
	x = x < -87.0f ? -87.0f : x > 0.0f ? 0.0f : x;
	n = (x * RQ_EXP_LOG2E + 12582912.0f) - 12582912.0f;
	r = x - n * RQ_EXP_LN2_HI;
	r = r - n * RQ_EXP_LN2_LO;
	p = RQ_EXP_P0;
	p = p * r + RQ_EXP_P1;
	p = p * r + RQ_EXP_P2;
	p = p * r + RQ_EXP_P3;
	p = p * r + RQ_EXP_P4;
	p = p * r + RQ_EXP_P5;
	p = p * r * r + r + 1.0f;
	s.i = ((int32_t)n + 127) * (1 << 23);
	return p * s.f;
}

#if defined(__AVX2__) && defined(__FMA__)
static inline __m256
rq_exp8(__m256 a, __m256 b)
{
	__m256 x, n, r, p;
	__m256i e;

	a = _mm256_max_ps(a, _mm256_set1_ps(-87.0f));
	x = _mm256_max_ps(_mm256_add_ps(a, b), _mm256_set1_ps(-87.0f));
	n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(RQ_EXP_LOG2E)),
	    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	/* a - n ln2_hi is exact */
	r = _mm256_add_ps(_mm256_fnmadd_ps(n, _mm256_set1_ps(RQ_EXP_LN2_HI),
	    a), b);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(RQ_EXP_LN2_LO), r);
	p = _mm256_set1_ps(RQ_EXP_P0);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RQ_EXP_P1));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RQ_EXP_P2));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RQ_EXP_P3));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RQ_EXP_P4));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RQ_EXP_P5));
	p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r,
	    _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
	e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
	    _mm256_set1_epi32(127)), 23);
	return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
#endif

#endif /* RQ_VEXP_H */
