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
 * rq_mhsa_backward_set writes dqkv instead (every element of it is a
 * head's dQ, dK or dV): the caller need not zero it first.
 * That is the BLAS path (one rq_gemm per product per head); with AVX2
 * and a head size that is a multiple of 8, the same products run through
 * the direct path further below (small register-blocked kernels, no
 * per-call BLAS overhead), which is what the default model uses.
 */
#include <math.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "rq.h"
#include "vexp.h"

#if defined(__AVX2__) && defined(__FMA__)
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
			__m256 e = rq_exp8(_mm256_sub_ps(
			    _mm256_loadu_ps(r + j), vm), _mm256_setzero_ps());
			_mm256_storeu_ps(r + j, e);
			vs = _mm256_add_ps(vs, e);
		}
		s = hsum8(vs);
#endif
		for (; j < T; j++) {
			r[j] = rq_exp_neg(r[j] - m);
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

static void
mhsa_forward_blas(float *out, float *att, const float *qkv, int B, int T,
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

			rq_gemm(0, 1, T, T, hs, sc, Q, C3, K, C3, 0.0f, A, T);
			softmax_rows(A, T);
			rq_gemm(0, 0, T, hs, T, 1.0f, A, T, V, C3, 0.0f, O, C);
		}
	}
}

static void
mhsa_backward_blas(float *dqkv, float *scratch, const float *dout,
    const float *qkv, const float *att, int B, int T, int C, int H, int set)
{
	int hs = C / H, C3 = 3 * C;
	float bt = set ? 0.0f : 1.0f;
	float sc = 1.0f / sqrtf((float)hs), *dA = scratch;
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

			rq_gemm(1, 0, T, hs, T, 1.0f, A, T, dO, C, bt, dV,
			    C3);
			rq_gemm(0, 1, T, T, hs, 1.0f, dO, C, V, C3, 0.0f, dA,
			    T);
			for (int i = 0; i < T; i++) {
				const float *a = A + (size_t)i * T;
				float *d = dA + (size_t)i * T;

				row_jacobian(d, a, row_dot(a, d, T), T);
			}
			rq_gemm(0, 0, T, hs, T, sc, dA, T, K, C3, bt, dQ, C3);
			rq_gemm(1, 0, T, hs, T, sc, dA, T, Q, C3, bt, dK, C3);
		}
	}
}

#if defined(__AVX2__) && defined(__FMA__)
/*
 * The direct path: per (b, h) the products are 17 x 17 x 16 at the
 * default sizes, where a cblas_sgemm call costs about as much as its
 * arithmetic.  Here every product is one small register-blocked kernel,
 * C[M, N] (+)= s A[M, K] B[K, N] (N a multiple of 8, A entries broadcast,
 * B rows loaded 8 wide, tiles of 4 rows x 24 columns in 12 accumulators),
 * on per-head buffers of Tp = T rounded up to 8 columns, zero past T:
 *   Kt = K^T [hs, Tp];  S = s Q Kt [T, Tp];  A = softmax rows;  O = A V
 *   backward: At = A^T, dV += At dO;  dA = dO Vt;  dS = A (dA - rowdot);
 *   dQ += s dS K;  dSt = dS^T, dK += s dSt Q.
 * Taken when hs is a multiple of 8, hs Tp <= DIRECT_MAX and T Tp <=
 * DIRECT_TT (buffers on the stack), and in the backward T <= DIRECT_BWD_T;
 * larger T goes to BLAS, which is as fast or faster there (measured at
 * T 17 and 65, hs 16 and 32).  The sums run in a fixed order: results
 * are reproducible (they differ from the BLAS path in the last bits).
 */
#define DIRECT_MAX 8192
#define DIRECT_TT 6144
#define DIRECT_BWD_T 40	/* measured: BLAS is faster for T = 65 */
#define DIRECT_BWD_TT (DIRECT_BWD_T * DIRECT_BWD_T)	/* T Tp, T <= 40 */

static int
direct_ok(int T, int hs)
{
	long Tp = (T + 7) & ~7;

	return hs % 8 == 0 && T >= 1 && hs * Tp <= DIRECT_MAX &&
	    T * Tp <= DIRECT_TT;
}

/* r[0..8), eight rows of eight, transposed in place */
static inline void
tr8x8(__m256 r[8])
{
	__m256 t[8], u[8];

	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 8; i += 4) {
		u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
		u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
		u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
	}
	for (int i = 0; i < 4; i++) {
		r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
		r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
	}
}

/*
 * Xt[k*ldt + j] = X[j*ld + k] for j < T, k < n; zero for T <= j < Tp
 * (Tp % 8 == 0, Xt 32-byte aligned, ldt % 8 == 0): 8 x 8 blocks in
 * registers, the last n % 8 columns one by one.
 */
static void
transpose_pad(float *Xt, int ldt, const float *X, int ld, int T, int Tp,
    int n)
{
	int k = 0;

	for (; k + 8 <= n; k += 8)
		for (int j = 0; j < Tp; j += 8) {
			__m256 r[8];

			for (int i = 0; i < 8; i++)
				r[i] = j + i < T ? _mm256_loadu_ps(X +
				    (size_t)(j + i) * ld + k) : _mm256_setzero_ps();
			tr8x8(r);
			for (int i = 0; i < 8; i++)
				_mm256_store_ps(Xt + (size_t)(k + i) * ldt + j,
				    r[i]);
		}
	for (; k < n; k++) {
		float *o = Xt + (size_t)k * ldt;
		int j;

		for (j = 0; j < T; j++)
			o[j] = X[(size_t)j * ld + k];
		for (; j < Tp; j++)
			o[j] = 0;
	}
}

/* P[j*n + k] = X[j*ld + k], j < T, k < n: a B operand with a short row
 * stride (rows 3C apart alias a few L1 sets and thrash) */
static void
pack_rows(float *P, const float *X, int ld, int T, int n)
{
	for (int j = 0; j < T; j++)
		for (int k = 0; k < n; k += 8)	/* n % 8 == 0 */
			_mm256_storeu_ps(P + (size_t)j * n + k,
			    _mm256_loadu_ps(X + (size_t)j * ld + k));
}

/* d[0..T) = s[0..T), d[T..Tp) = 0; short rows, no libc call */
static inline void
copy_pad(float *d, const float *s, int T, int Tp)
{
	int j = 0;

	for (; j + 8 <= T; j += 8)
		_mm256_storeu_ps(d + j, _mm256_loadu_ps(s + j));
	for (; j < T; j++)
		d[j] = s[j];
	for (; j < Tp; j++)
		d[j] = 0;
}

/* d[0..T) = s[0..T) */
static inline void
copy_row(float *d, const float *s, int T)
{
	int j = 0;

	for (; j + 8 <= T; j += 8)
		_mm256_storeu_ps(d + j, _mm256_loadu_ps(s + j));
	for (; j < T; j++)
		d[j] = s[j];
}

/* one nr x (8 nv) tile of C (+)= s A B; nr <= 4, nv <= 3 */
static inline __attribute__((always_inline)) void
tile(float *C, int ldc, const float *A, int lda, const float *B, int ldb,
    int K, float s, int beta, const int nr, const int nv)
{
	__m256 acc[4][3], vs = _mm256_set1_ps(s);

#pragma GCC unroll 4
	for (int r = 0; r < nr; r++)
#pragma GCC unroll 3
		for (int v = 0; v < nv; v++)
			acc[r][v] = _mm256_setzero_ps();
	for (int k = 0; k < K; k++) {
		__m256 bv[3];
#pragma GCC unroll 3
		for (int v = 0; v < nv; v++)
			bv[v] = _mm256_loadu_ps(B + (size_t)k * ldb + 8 * v);
#pragma GCC unroll 4
		for (int r = 0; r < nr; r++) {
			__m256 a = _mm256_broadcast_ss(A + (size_t)r * lda + k);
#pragma GCC unroll 3
			for (int v = 0; v < nv; v++)
				acc[r][v] = _mm256_fmadd_ps(a, bv[v], acc[r][v]);
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < nr; r++)
#pragma GCC unroll 3
		for (int v = 0; v < nv; v++) {
			float *c = C + (size_t)r * ldc + 8 * v;
			__m256 x = _mm256_mul_ps(acc[r][v], vs);

			if (beta)
				x = _mm256_add_ps(x, _mm256_loadu_ps(c));
			_mm256_storeu_ps(c, x);
		}
}

/* C[M, N] = s A B (beta 0) or C += s A B (beta 1); N % 8 == 0 */
static void
small_gemm(int M, int N, int K, float s, const float *A, int lda,
    const float *B, int ldb, int beta, float *C, int ldc)
{
	for (int i = 0; i < M; i += 4) {
		int nr = RQ_MIN(4, M - i);
		const float *Ai = A + (size_t)i * lda;
		float *Ci = C + (size_t)i * ldc;

		for (int v = 0; v < N / 8; v += 3) {
			int nv = RQ_MIN(3, N / 8 - v);
			float *c = Ci + 8 * v;
			const float *b = B + 8 * v;

#define TILE(R, V) case (R) * 4 + (V): \
	tile(c, ldc, Ai, lda, b, ldb, K, s, beta, R, V); break
			switch (nr * 4 + nv) {
			TILE(1, 1); TILE(1, 2); TILE(1, 3);
			TILE(2, 1); TILE(2, 2); TILE(2, 3);
			TILE(3, 1); TILE(3, 2); TILE(3, 3);
			TILE(4, 1); TILE(4, 2); TILE(4, 3);
			}
#undef TILE
		}
	}
}

/* softmax of r[0..T) in place; r[T..Tp) ends 0 */
static inline void
softmax_row_pad(float *r, int T, int Tp)
{
	float m = row_max(r, T), s;
	__m256 vm = _mm256_set1_ps(m), vs = _mm256_setzero_ps(), vi;
	int j;

	for (j = 0; j < Tp; j += 8) {
		__m256 e = rq_exp8(_mm256_sub_ps(_mm256_load_ps(r + j), vm),
		    _mm256_setzero_ps());
		_mm256_store_ps(r + j, e);
	}
	for (j = T; j < Tp; j++)
		r[j] = 0;
	for (j = 0; j < Tp; j += 8)
		vs = _mm256_add_ps(vs, _mm256_load_ps(r + j));
	s = hsum8(vs);
	vi = _mm256_set1_ps(1.0f / s);
	for (j = 0; j < Tp; j += 8)
		_mm256_store_ps(r + j, _mm256_mul_ps(_mm256_load_ps(r + j), vi));
}

static void
mhsa_forward_direct(float *out, float *att, const float *qkv, int B, int T,
    int C, int H)
{
	int hs = C / H, C3 = 3 * C, Tp = (T + 7) & ~7;
	float sc = 1.0f / sqrtf((float)hs);
	_Alignas(32) float Kt[DIRECT_MAX], S[DIRECT_TT], Vp[DIRECT_MAX];

	for (int b = 0; b < B; b++) {
		const float *base = qkv + (size_t)b * T * C3;
		for (int h = 0; h < H; h++) {
			const float *Q = base + h * hs, *K = Q + C;
			const float *V = Q + 2 * C;
			float *A = att + ((size_t)b * H + h) * T * T;
			float *O = out + (size_t)b * T * C + h * hs;

			transpose_pad(Kt, Tp, K, C3, T, Tp, hs);
			small_gemm(T, Tp, hs, sc, Q, C3, Kt, Tp, 0, S, Tp);
			for (int i = 0; i < T; i++) {
				softmax_row_pad(S + (size_t)i * Tp, T, Tp);
				copy_row(A + (size_t)i * T, S + (size_t)i * Tp, T);
			}
			pack_rows(Vp, V, C3, T, hs);
			small_gemm(T, hs, T, 1.0f, S, Tp, Vp, hs, 0, O, C);
		}
	}
}

static void
mhsa_backward_direct(float *dqkv, const float *dout, const float *qkv,
    const float *att, int B, int T, int C, int H, int set)
{
	int acc = !set;
	int hs = C / H, C3 = 3 * C, Tp = (T + 7) & ~7;
	float sc = 1.0f / sqrtf((float)hs);
	_Alignas(32) float Vt[DIRECT_MAX], Ab[DIRECT_BWD_TT], D[DIRECT_BWD_TT];
	_Alignas(32) float Xt[DIRECT_BWD_TT], P[DIRECT_MAX];

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

			/* dV += A^T dO */
			transpose_pad(Xt, Tp, A, T, T, Tp, T);
			pack_rows(P, dO, C, T, hs);
			small_gemm(T, hs, T, 1.0f, Xt, Tp, P, hs, acc, dV, C3);
			/* dA = dO V^T, then the softmax Jacobian row by row */
			transpose_pad(Vt, Tp, V, C3, T, Tp, hs);
			small_gemm(T, Tp, hs, 1.0f, dO, C, Vt, Tp, 0, D, Tp);
			for (int i = 0; i < T; i++) {
				float *a = Ab + (size_t)i * Tp, *d = D + (size_t)i * Tp;

				copy_pad(a, A + (size_t)i * T, T, Tp);
				row_jacobian(d, a, row_dot(a, d, Tp), Tp);
			}
			/* dQ += s dS K;  dK += s dS^T Q */
			pack_rows(P, K, C3, T, hs);
			small_gemm(T, hs, T, sc, D, Tp, P, hs, acc, dQ, C3);
			transpose_pad(Xt, Tp, D, Tp, T, Tp, T);
			pack_rows(P, Q, C3, T, hs);
			small_gemm(T, hs, T, sc, Xt, Tp, P, hs, acc, dK, C3);
		}
	}
}
#endif /* AVX2 */

void
rq_mhsa_forward(float *out, float *att, const float *qkv, int B, int T,
    int C, int H)
{
#if defined(__AVX2__) && defined(__FMA__)
	if (direct_ok(T, C / H)) {
		mhsa_forward_direct(out, att, qkv, B, T, C, H);
		return;
	}
#endif
	mhsa_forward_blas(out, att, qkv, B, T, C, H);
}

static void
backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
    const float *att, int B, int T, int C, int H, int set)
{
	if (dqkv == NULL)
		return;
#if defined(__AVX2__) && defined(__FMA__)
	if (direct_ok(T, C / H) && T <= DIRECT_BWD_T) {
		mhsa_backward_direct(dqkv, dout, qkv, att, B, T, C, H, set);
		return;
	}
#endif
	mhsa_backward_blas(dqkv, scratch, dout, qkv, att, B, T, C, H, set);
}

void
rq_mhsa_backward(float *dqkv, float *scratch, const float *dout,
    const float *qkv, const float *att, int B, int T, int C, int H)
{
	backward(dqkv, scratch, dout, qkv, att, B, T, C, H, 0);
}

void
rq_mhsa_backward_set(float *dqkv, float *scratch, const float *dout,
    const float *qkv, const float *att, int B, int T, int C, int H)
{
	backward(dqkv, scratch, dout, qkv, att, B, T, C, H, 1);
}
