/*
 * gelu.c: exact GELU, elementwise over n floats.
 *
 * Shapes: x, y, dx, dy [n] (any layout; y may equal x).
 *
 * Forward:  y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
 * Backward: dy/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi),
 *           so dx += dy (Phi(x) + x phi(x)).
 * The gradient accumulates (+=); dx NULL is skipped.
 *
 * With AVX2 and FMA, Phi is computed eight lanes at a time (a tail of
 * fewer than eight goes through the same code in a padded buffer, so
 * every element gets the same formula), with z = |x| / sqrt 2, from the
 * Numerical Recipes erfcc form (Chebyshev fit, fractional error 1.2e-7 in
 * exact arithmetic; 1.05e-7 measured in double):
 *   erfc(z) = t exp(-z^2 + Q(t)),  t = 1 / (1 + z/2),  Q of degree 9,
 *   Phi = 1 - erfc(z)/2 for x >= 0, erfc(z)/2 for x < 0,
 * so 1 + erf never cancels in the negative tail.  z^2 = x^2/2 is carried
 * as an exact hi + lo pair (fma), so exp sees no argument rounding (the
 * rounding of x / sqrt 2 would cost 2 z^2 6e-8 relative); exp is vexp.h's,
 * the Cephes polynomial with a two-constant ln 2 reduction; Q is evaluated by
 * Estrin's scheme.  Measured against double-precision erfc over every
 * fourth float in [-12.5, 12.5] (tests/test_layers.c sweeps 200001 points):
 * Phi has relative error below 6e-7 everywhere (float rounding of t, Q
 * and exp, about 4 ulp) and absolute error below 3e-7; hence GELU has
 * |error| <= 6e-7 |x Phi(x)| + 1 ulp, and the derivative Phi + x phi is
 * within 3e-7 max(1, |Phi + x phi|).  For x <= -12.5, Phi (< 5e-36) is
 * flushed to 0 (the form 1 + erff gives exactly 0 already below about
 * -5.9).  NaN propagates through the factor x.
 * Without AVX2, Phi = erfc(-x / sqrt 2) / 2 and phi in double with libm
 * (slow, but no cancellation and no argument rounding either).
 *
 * rq_gelu_backward_y is the backward the model uses: it takes the forward's
 * output y = x Phi(x) as well and recovers Phi = y / x (1 ulp from the
 * division on top of Phi's own error; Phi = 1/2 for |x| < 2^-60, where
 * x Phi(x) may be subnormal), so only phi's exp remains: about half the
 * work of rq_gelu_backward.  It writes dx (=) instead of adding, which
 * saves the caller a zeroing pass.  The derivative stays within 5e-7
 * max(1, |Phi + x phi|) (tests/test_layers.c).
 */
#include <math.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "rq.h"
#include "vexp.h"

#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

#if defined(__AVX2__) && defined(__FMA__)

#define S1(c) _mm256_set1_ps(c)

/*
 * Phi(x) lane by lane; *pdf (if not NULL) gets phi(x) = exp(-x^2/2) /
 * sqrt(2 pi), 0 where |x| >= 12.5.
 */
static inline __m256
phi8(__m256 x, __m256 *pdf)
{
	__m256 sgn = S1(-0.0f), ax = _mm256_andnot_ps(sgn, x);
	__m256 z = _mm256_mul_ps(ax, S1(SQRT1_2));
	__m256 xx = _mm256_mul_ps(x, x), zh, zl, t, q, ec, big, ph;
	__m256 e, t2, t4, q0, q1;

	/* z^2 = zh + zl exactly */
	zh = _mm256_mul_ps(xx, S1(0.5f));
	zl = _mm256_mul_ps(_mm256_fmsub_ps(x, x, xx), S1(0.5f));
	/* erfc branch */
	t = _mm256_div_ps(S1(1.0f), _mm256_fmadd_ps(z, S1(0.5f), S1(1.0f)));
	/*
	 * Q(t) by Estrin's scheme (shorter dependency chain):
	 * (c0 + c1 t) + t^2 (c2 + c3 t) + t^4 ((c4 + c5 t) + t^2 (c6 + c7 t))
	 * + t^8 (c8 + c9 t)
	 */
	t2 = _mm256_mul_ps(t, t);
	t4 = _mm256_mul_ps(t2, t2);
	q0 = _mm256_fmadd_ps(_mm256_fmadd_ps(S1(0.09678418f), t,
	    S1(0.37409196f)), t2, _mm256_fmadd_ps(S1(1.00002368f), t,
	    S1(-1.26551223f)));
	q1 = _mm256_fmadd_ps(_mm256_fmadd_ps(S1(1.48851587f), t,
	    S1(-1.13520398f)), t2, _mm256_fmadd_ps(S1(0.27886807f), t,
	    S1(-0.18628806f)));
	q = _mm256_fmadd_ps(S1(0.17087277f), t, S1(-0.82215223f));
	q = _mm256_fmadd_ps(_mm256_fmadd_ps(q, t4, q1), t4, q0);
	big = _mm256_cmp_ps(ax, S1(12.5f), _CMP_LT_OQ);
	zh = _mm256_and_ps(big, zh);	/* keep exp's input finite */
	zl = _mm256_and_ps(big, zl);
	ec = _mm256_and_ps(big, _mm256_mul_ps(_mm256_mul_ps(t, S1(0.5f)),
	    rq_exp8(_mm256_sub_ps(_mm256_setzero_ps(), zh),
	    _mm256_sub_ps(q, zl))));		/* erfc(z) / 2 */
	ph = _mm256_blendv_ps(_mm256_sub_ps(S1(1.0f), ec), ec, x);
	if (pdf != NULL) {
		e = rq_exp8(_mm256_sub_ps(_mm256_setzero_ps(), zh),
		    _mm256_sub_ps(_mm256_setzero_ps(), zl));
		*pdf = _mm256_and_ps(big, _mm256_mul_ps(e, S1(INV_SQRT_2PI)));
	}
	return ph;
}

void
rq_gelu_forward(float *y, const float *x, size_t n)
{
	size_t i = 0;
	float bx[8], by[8];

	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		_mm256_storeu_ps(y + i, _mm256_mul_ps(v, phi8(v, NULL)));
	}
	if (i < n) {
		__m256 v;

		memset(bx, 0, sizeof bx);
		memcpy(bx, x + i, (n - i) * sizeof(float));
		v = _mm256_loadu_ps(bx);
		_mm256_storeu_ps(by, _mm256_mul_ps(v, phi8(v, NULL)));
		memcpy(y + i, by, (n - i) * sizeof(float));
	}
}

void
rq_gelu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	size_t i = 0;
	float bx[8], bd[8], bo[8];

	if (dx == NULL)
		return;
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i), pdf, c;

		c = phi8(v, &pdf);
		c = _mm256_fmadd_ps(v, pdf, c);
		_mm256_storeu_ps(dx + i, _mm256_fmadd_ps(_mm256_loadu_ps(dy + i),
		    c, _mm256_loadu_ps(dx + i)));
	}
	if (i < n) {
		__m256 v, pdf, c;

		memset(bx, 0, sizeof bx);
		memset(bd, 0, sizeof bd);
		memset(bo, 0, sizeof bo);
		memcpy(bx, x + i, (n - i) * sizeof(float));
		memcpy(bd, dy + i, (n - i) * sizeof(float));
		memcpy(bo, dx + i, (n - i) * sizeof(float));
		v = _mm256_loadu_ps(bx);
		c = phi8(v, &pdf);
		c = _mm256_fmadd_ps(v, pdf, c);
		_mm256_storeu_ps(bo, _mm256_fmadd_ps(_mm256_loadu_ps(bd), c,
		    _mm256_loadu_ps(bo)));
		memcpy(dx + i, bo, (n - i) * sizeof(float));
	}
}

void
rq_gelu_backward_y(float *dx, const float *dy, const float *x, const float *y,
    size_t n)
{
	size_t i = 0;
	float bx[8], by[8], bd[8], bo[8];

	for (;; i += 8) {
		__m256 v, yv, g, ax, ph, xx, zh, zl, big, pdf, c;
		int tail = i + 8 > n;

		if (i >= n)
			break;
		if (tail) {
			/* padding lanes x = y = 0 take the Phi = 1/2 branch */
			memset(bx, 0, sizeof bx);
			memset(by, 0, sizeof by);
			memset(bd, 0, sizeof bd);
			memcpy(bx, x + i, (n - i) * sizeof(float));
			memcpy(by, y + i, (n - i) * sizeof(float));
			memcpy(bd, dy + i, (n - i) * sizeof(float));
		}
		v = _mm256_loadu_ps(tail ? bx : x + i);
		yv = _mm256_loadu_ps(tail ? by : y + i);
		g = _mm256_loadu_ps(tail ? bd : dy + i);
		ax = _mm256_andnot_ps(S1(-0.0f), v);
		ph = _mm256_blendv_ps(_mm256_div_ps(yv, v), S1(0.5f),
		    _mm256_cmp_ps(ax, S1(0x1p-60f), _CMP_LT_OQ));
		/* phi(x) = exp(-(zh + zl)) / sqrt(2 pi), x^2/2 = zh + zl exactly */
		xx = _mm256_mul_ps(v, v);
		zh = _mm256_mul_ps(xx, S1(0.5f));
		zl = _mm256_mul_ps(_mm256_fmsub_ps(v, v, xx), S1(0.5f));
		big = _mm256_cmp_ps(ax, S1(12.5f), _CMP_LT_OQ);
		zh = _mm256_and_ps(big, zh);
		zl = _mm256_and_ps(big, zl);
		pdf = _mm256_and_ps(big, _mm256_mul_ps(rq_exp8(
		    _mm256_sub_ps(_mm256_setzero_ps(), zh),
		    _mm256_sub_ps(_mm256_setzero_ps(), zl)), S1(INV_SQRT_2PI)));
		c = _mm256_mul_ps(g, _mm256_fmadd_ps(v, pdf, ph));
		if (!tail)
			_mm256_storeu_ps(dx + i, c);
		else {
			_mm256_storeu_ps(bo, c);
			memcpy(dx + i, bo, (n - i) * sizeof(float));
			break;
		}
	}
}

#else /* !AVX2 */

void
rq_gelu_forward(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		y[i] = (float)(0.5 * v * erfc(-v * M_SQRT1_2));
	}
}

void
rq_gelu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	if (dx == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		double cdf = 0.5 * erfc(-v * M_SQRT1_2);
		double pdf = INV_SQRT_2PI * exp(-0.5 * v * v);
		dx[i] += dy[i] * (float)(cdf + v * pdf);
	}
}

/* without AVX2, y is not needed: the libm form is exact already */
void
rq_gelu_backward_y(float *dx, const float *dy, const float *x, const float *y,
    size_t n)
{
	(void)y;
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		double cdf = 0.5 * erfc(-v * M_SQRT1_2);
		double pdf = INV_SQRT_2PI * exp(-0.5 * v * v);
		dx[i] = dy[i] * (float)(cdf + v * pdf);
	}
}

#endif
