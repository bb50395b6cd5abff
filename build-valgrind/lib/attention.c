/*
 * attention.c: multi-head self-attention core without a mask (every token
 * attends to every token), row-major float32.  The Q/K/V and output
 * projections are separate linear layers (linear.c).
 *
 * Shapes: qkv, dqkv [B,T,3C] = [q | k | v] along the last axis; head h of
 * q (k, v) is columns h*hs .. (h+1)*hs of its third, hs = C/H.
 * att [B,H,T,T] (softmax weights, kept for the backward);
 * out, dout [B,T,C] (heads concatenated in the same column order);
 * scratch >= T*T floats (the declared B*H*T*T is more than enough).
 *
 * Forward, per (b, h), with Q, K, V [T,hs] (leading dimension 3C) and
 * s = 1/sqrt(hs):
 *   S = s Q K^T [T,T]          one sgemm
 *   A = softmax_rows(S)         stable: exp(S - rowmax)
 *   O = A V [T,hs]              one sgemm, written into out's head columns
 *
 * Backward, per (b, h):
 *   dV += A^T dO                          (O = A V)
 *   dA  = dO V^T                          [T,T] into scratch
 *   dS_ij = A_ij (dA_ij - sum_k A_ik dA_ik)   softmax Jacobian, row-wise
 *   dQ += s dS K,  dK += s dS^T Q          (S = s Q K^T)
 * dqkv accumulates (+=); dqkv NULL skips the backward.
 */
#include <math.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
#include <cblas.h>

#include "rq.h"

/*
 * exp for softmax arguments x <= 0: x = n ln2 + r, |r| <= ln2/2, e^r by
 * the Cephes degree-6 polynomial (about 1 ulp), 2^n through the exponent
 * bits.  x is clamped at -87 (e^-87 ~ 1.6e-38, still normal), which is
 * harmless next to the row maximum's term 1.  The AVX2 path computes the
 * same formula eight lanes at a time; GCC does not vectorise the scalar
 * loop at -O2 (float compares may trap).
 */
static inline float
exp_neg(float x)
{
	union { int32_t i; float f; } s;
	float n, r, p;

	x = x < -87.0f ? -87.0f : x;
	n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
	r = x - n * 0.693359375f;
	r = r - n * -2.12194440e-4f;
	p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	s.i = ((int32_t)n + 127) * (1 << 23);
	return p * s.f;
}

#if defined(__AVX2__) && defined(__FMA__)
static inline __m256
exp_neg8(__m256 x)
{
	__m256 n, r, p;
	__m256i e;

	x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
	n = _mm256_round_ps(_mm256_mul_ps(x,
	    _mm256_set1_ps(1.44269504088896341f)),
	    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
	p = _mm256_set1_ps(1.9875691500e-4f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
	p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r,
	    _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
	e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
	    _mm256_set1_epi32(127)), 23);
	return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline float
hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}
#endif

/* max of r[0..n), n >= 1 */
static inline float
row_max(const float *r, int n)
{
	float m = r[0];
	int j = 0;

#if defined(__AVX2__) && defined(__FMA__)
	if (n >= 8) {
		__m256 v = _mm256_loadu_ps(r);
		__m128 h;

		for (j = 8; j + 8 <= n; j += 8)
			v = _mm256_max_ps(v, _mm256_loadu_ps(r + j));
		h = _mm_max_ps(_mm256_castps256_ps128(v),
		    _mm256_extractf128_ps(v, 1));
		h = _mm_max_ps(h, _mm_movehl_ps(h, h));
		h = _mm_max_ss(h, _mm_movehdup_ps(h));
		m = _mm_cvtss_f32(h);
	}
#endif
	for (; j < n; j++)
		m = r[j] > m ? r[j] : m;
	return m;
}

/* sum_j a[j] b[j] */
static inline float
row_dot(const float *a, const float *b, int n)
{
	float s = 0;
	int j = 0;

#if defined(__AVX2__) && defined(__FMA__)
	__m256 v = _mm256_setzero_ps();

	for (; j + 8 <= n; j += 8)
		v = _mm256_fmadd_ps(_mm256_loadu_ps(a + j),
		    _mm256_loadu_ps(b + j), v);
	s = hsum8(v);
#endif
	for (; j < n; j++)
		s += a[j] * b[j];
	return s;
}

/* d[j] = a[j] (d[j] - c) */
static inline void
row_jacobian(float *d, const float *a, float c, int n)
{
	int j = 0;

#if defined(__AVX2__) && defined(__FMA__)
	__m256 vc = _mm256_set1_ps(c);

	for (; j + 8 <= n; j += 8)
		_mm256_storeu_ps(d + j, _mm256_mul_ps(_mm256_loadu_ps(a + j),
		    _mm256_sub_ps(_mm256_loadu_ps(d + j), vc)));
#endif
	for (; j < n; j++)
		d[j] = a[j] * (d[j] - c);
}

/* stable softmax of each of the T rows of a [T,T], in place */
static void
softmax_rows(float *a, int T)
{
	for (int i = 0; i < T; i++) {
		float *r = a + (size_t)i * T, m = row_max(r, T), s = 0, inv;
		int j = 0;

#if defined(__AVX2__) && defined(__FMA__)
		__m256 vm = _mm256_set1_ps(m), vs = _mm256_setzero_ps(), vi;

		for (; j + 8 <= T; j += 8) {
			__m256 e = exp_neg8(_mm256_sub_ps(
			    _mm256_loadu_ps(r + j), vm));
			_mm256_storeu_ps(r + j, e);
			vs = _mm256_add_ps(vs, e);
		}
		s = hsum8(vs);
#endif
		for (; j < T; j++) {
			r[j] = exp_neg(r[j] - m);
			s += r[j];
		}
		inv = 1.0f / s;
		j = 0;
#if defined(__AVX2__) && defined(__FMA__)
		vi = _mm256_set1_ps(inv);
		for (; j + 8 <= T; j += 8)
			_mm256_storeu_ps(r + j, _mm256_mul_ps(
			    _mm256_loadu_ps(r + j), vi));
#endif
		for (; j < T; j++)
			r[j] *= inv;
	}
}

void
rq_mhsa_forward(float *out, float *att, const float *qkv, int B, int T,
    int C, int H)
{
	int hs = C / H, C3 = 3 * C;
	float sc = 1.0f / sqrtf((float)hs);

	for (int b = 0; b < B; b++) {
		const float *base = qkv + (size_t)b * T * C3;
		for (int h = 0; h < H; h++) {
			const float *Q = base + h * hs, *K = Q + C;
			const float *V = Q + 2 * C;
			float *A = att + ((size_t)b * H + h) * T * T;
			float *O = out + (size_t)b * T * C + h * hs;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
			    T, T, hs, sc, Q, C3, K, C3, 0.0f, A, T);
			softmax_rows(A, T);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    T, hs, T, 1.0f, A, T, V, C3, 0.0f, O, C);
		}
	}
}

void
rq_mhsa_backward(float *dqkv, float *scratch, const float *dout,
    const float *qkv, const float *att, int B, int T, int C, int H)
{
	int hs = C / H, C3 = 3 * C;
	float sc = 1.0f / sqrtf((float)hs), *dA = scratch;

	if (dqkv == NULL)
		return;
	for (int b = 0; b < B; b++) {
		const float *base = qkv + (size_t)b * T * C3;
		float *dbase = dqkv + (size_t)b * T * C3;
		for (int h = 0; h < H; h++) {
			const float *Q = base + h * hs, *K = Q + C;
			const float *V = Q + 2 * C;
			float *dQ = dbase + h * hs, *dK = dQ + C;
			float *dV = dQ + 2 * C;
			const float *A = att + ((size_t)b * H + h) * T * T;
			const float *dO = dout + (size_t)b * T * C + h * hs;

			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
			    T, hs, T, 1.0f, A, T, dO, C, 1.0f, dV, C3);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
			    T, T, hs, 1.0f, dO, C, V, C3, 0.0f, dA, T);
			for (int i = 0; i < T; i++) {
				const float *a = A + (size_t)i * T;
				float *d = dA + (size_t)i * T;

				row_jacobian(d, a, row_dot(a, d, T), T);
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    T, hs, T, sc, dA, T, K, C3, 1.0f, dQ, C3);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
			    T, hs, T, sc, dA, T, Q, C3, 1.0f, dK, C3);
		}
	}
}
