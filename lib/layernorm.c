/*
 * layernorm.c: LayerNorm over the last dimension, row-major float32.
 *
 * Shapes: x, y, dx, dy [n,c]; g, b, dg, db [c]; mean, rstd [n].
 *
 * Forward, per row i:  mu = (1/c) sum_j x_j,  var = (1/c) sum_j (x_j-mu)^2
 * (biased, as PyTorch), r = 1/sqrt(var + eps), xh_j = (x_j - mu) r,
 * y_j = xh_j g_j + b_j.  mean[i] = mu and rstd[i] = r are kept for the
 * backward.
 *
 * Backward: with u_j = dy_j g_j (the gradient w.r.t. xh),
 *   dxh_j/dx_k = r (delta_jk - 1/c - xh_j xh_k / c)
 * so dx_k = r (u_k - mean_j(u_j) - xh_k mean_j(u_j xh_j));
 *   dg_j += sum_i dy_ij xh_ij,  db_j += sum_i dy_ij.
 * Row statistics (sum x, sum (x - mu)^2, sum u, sum u xh) are accumulated
 * in double; with AVX2 eight floats at a time into two 4-lane double
 * accumulators, so the order of the additions differs from the scalar
 * loop but not the precision.  g or b NULL means 1 or 0.
 * Every gradient accumulates (+=); a NULL gradient pointer is skipped.
 */
#include <math.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LN_AVX2 1
#endif

#include "rq.h"

#ifdef LN_AVX2
/* acc += the 8 floats of v, as doubles */
static inline void
acc8(__m256d *a0, __m256d *a1, __m256 v)
{
	*a0 = _mm256_add_pd(*a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
	*a1 = _mm256_add_pd(*a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

static inline double
hsum4d(__m256d a0, __m256d a1)
{
	__m256d a = _mm256_add_pd(a0, a1);
	__m128d s = _mm_add_pd(_mm256_castpd256_pd128(a),
	    _mm256_extractf128_pd(a, 1));

	return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
#endif

void
rq_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, int n, int c, float eps)
{
	for (int i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * c;
		float *yi = y + (size_t)i * c;
		double m = 0, v = 0;
		float mf, r;
		int j = 0;

#ifdef LN_AVX2
		__m256d a0 = _mm256_setzero_pd(), a1 = a0;
		__m256 vm, vr;

		for (; j + 8 <= c; j += 8)
			acc8(&a0, &a1, _mm256_loadu_ps(xi + j));
		m = hsum4d(a0, a1);
#endif
		for (; j < c; j++)
			m += xi[j];
		m /= c;
		mf = (float)m;
		j = 0;
#ifdef LN_AVX2
		a0 = a1 = _mm256_setzero_pd();
		vm = _mm256_set1_ps(mf);
		for (; j + 8 <= c; j += 8) {
			__m256 d = _mm256_sub_ps(_mm256_loadu_ps(xi + j), vm);
			__m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(d));
			__m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
			a0 = _mm256_fmadd_pd(lo, lo, a0);
			a1 = _mm256_fmadd_pd(hi, hi, a1);
		}
		v = hsum4d(a0, a1);
#endif
		for (; j < c; j++) {
			double d = xi[j] - mf;
			v += d * d;
		}
		v /= c;
		r = (float)(1.0 / sqrt(v + eps));
		j = 0;
#ifdef LN_AVX2
		vr = _mm256_set1_ps(r);
		for (; j + 8 <= c; j += 8) {
			__m256 h = _mm256_mul_ps(_mm256_sub_ps(
			    _mm256_loadu_ps(xi + j), vm), vr);
			__m256 gg = g != NULL ? _mm256_loadu_ps(g + j) :
			    _mm256_set1_ps(1.0f);
			__m256 bb = b != NULL ? _mm256_loadu_ps(b + j) :
			    _mm256_setzero_ps();
			_mm256_storeu_ps(yi + j, _mm256_fmadd_ps(h, gg, bb));
		}
#endif
		for (; j < c; j++) {
			float h = (xi[j] - mf) * r;
			yi[j] = h * (g != NULL ? g[j] : 1.0f) +
			    (b != NULL ? b[j] : 0.0f);
		}
		if (mean != NULL)
			mean[i] = mf;
		if (rstd != NULL)
			rstd[i] = r;
	}
}

void
rq_layernorm_backward(float *dx, float *dg, float *db, const float *dy,
    const float *x, const float *g, const float *mean, const float *rstd,
    int n, int c)
{
	for (int i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * c, *dyi = dy + (size_t)i * c;
		float m = mean[i], r = rstd[i];
		double su = 0, suh = 0;
		float mu, muh;
		int j = 0;

#ifdef LN_AVX2
		__m256d s0 = _mm256_setzero_pd(), s1 = s0, t0 = s0, t1 = s0;
		__m256 vm = _mm256_set1_ps(m), vr = _mm256_set1_ps(r);
		__m256 vmu, vmuh;

		for (; j + 8 <= c; j += 8) {
			__m256 h = _mm256_mul_ps(_mm256_sub_ps(
			    _mm256_loadu_ps(xi + j), vm), vr);
			__m256 d = _mm256_loadu_ps(dyi + j);
			__m256 u = g != NULL ? _mm256_mul_ps(d,
			    _mm256_loadu_ps(g + j)) : d;
			__m256d ul = _mm256_cvtps_pd(_mm256_castps256_ps128(u));
			__m256d uh = _mm256_cvtps_pd(_mm256_extractf128_ps(u, 1));

			s0 = _mm256_add_pd(s0, ul);
			s1 = _mm256_add_pd(s1, uh);
			t0 = _mm256_fmadd_pd(ul, _mm256_cvtps_pd(
			    _mm256_castps256_ps128(h)), t0);
			t1 = _mm256_fmadd_pd(uh, _mm256_cvtps_pd(
			    _mm256_extractf128_ps(h, 1)), t1);
			if (dg != NULL)
				_mm256_storeu_ps(dg + j, _mm256_fmadd_ps(d, h,
				    _mm256_loadu_ps(dg + j)));
			if (db != NULL)
				_mm256_storeu_ps(db + j, _mm256_add_ps(d,
				    _mm256_loadu_ps(db + j)));
		}
		su = hsum4d(s0, s1);
		suh = hsum4d(t0, t1);
#endif
		for (; j < c; j++) {
			float h = (xi[j] - m) * r;
			float u = dyi[j] * (g != NULL ? g[j] : 1.0f);
			su += u;
			suh += (double)u * h;
			if (dg != NULL)
				dg[j] += dyi[j] * h;
			if (db != NULL)
				db[j] += dyi[j];
		}
		if (dx == NULL)
			continue;
		mu = (float)(su / c);
		muh = (float)(suh / c);
		j = 0;
#ifdef LN_AVX2
		vmu = _mm256_set1_ps(mu);
		vmuh = _mm256_set1_ps(muh);
		for (; j + 8 <= c; j += 8) {
			__m256 h = _mm256_mul_ps(_mm256_sub_ps(
			    _mm256_loadu_ps(xi + j), vm), vr);
			__m256 d = _mm256_loadu_ps(dyi + j);
			__m256 u = g != NULL ? _mm256_mul_ps(d,
			    _mm256_loadu_ps(g + j)) : d;
			float *o = dx + (size_t)i * c + j;

			u = _mm256_fnmadd_ps(h, vmuh, _mm256_sub_ps(u, vmu));
			_mm256_storeu_ps(o, _mm256_fmadd_ps(vr, u,
			    _mm256_loadu_ps(o)));
		}
#endif
		for (; j < c; j++) {
			float h = (xi[j] - m) * r;
			float u = dyi[j] * (g != NULL ? g[j] : 1.0f);
			dx[(size_t)i * c + j] += r * (u - mu - h * muh);
		}
	}
}
