/*
 * gemm.c: rq's matrix product for the model's small, skinny shapes,
 * row-major float32, with the kernel chosen at run time.
 *
 * Shapes: C[M,N] = alpha op(A) op(B) + beta C, op(A) [M,K], op(B) [K,N];
 * ta: op(A) = A^T, A stored [K,M] (lda >= M), else A [M,K] (lda >= K);
 * tb likewise for B.  beta 0 never reads C (it may hold NaN).
 *
 * The layers' products are M ~ 1000 rows (batch x tokens) by N, K of
 * 16..1024, where OpenBLAS reaches about half the core's FMA peak (the
 * per-call cost of its packing and threading checks is large against
 * so little arithmetic).  Here, in the usual blocked form (Goto & van
 * de Geijn): K in blocks of at most KC, N of NC; op(B)'s block is packed
 * once into zero-padded panels of NR columns [kc][NR]; op(A) is read in
 * place, MR rows at a time (packed into panels of MR rows [kc][MR] only
 * when transposed, or for the last rows short of MR), and one
 * register-blocked micro-kernel computes every MR x NR tile of C:
 *   AVX2 + FMA: MR 6, NR 16 (12 ymm accumulators);
 *   AVX-512F:   MR 12, NR 32 (24 zmm accumulators).
 * Each path is compiled with its own target attribute, so one binary
 * carries both; the CPU is asked once (__builtin_cpu_supports).  (A
 * test-only build runs the AVX-512 kernel in portable C on any CPU with
 * AVX2: RQ_GEMM_EMU512 below.)  Without
 * either, or for the products where OpenBLAS is faster (see auto_own),
 * the call goes to cblas_sgemm.  RQ_GEMM=blas|avx2|avx512 in the
 * environment (read once) or rq_gemm_force() forces a path for every
 * product, for tests and A/B timing; a path the CPU lacks is refused.
 * The sums run over k in order within a block: results differ from
 * OpenBLAS's in the last bits only.
 *
 * Packing buffers are allocated once per thread (the first call) and
 * kept; a call needs no other memory.
 */
#include <stdlib.h>
#include <string.h>

#include <immintrin.h>
#include <cblas.h>

#include "rq.h"

/*
 * Test-only hooks: built with -DRQ_GEMM_EMU512 (tests/unit-emu512, never
 * librq), kern_avx512's intrinsics are tests/emu512.h's portable C, it
 * loses its target attribute (so no AVX-512 instruction is emitted), and
 * the AVX-512 path counts as supported wherever the AVX2 one is (the
 * packing is AVX code): its logic is tested on CPUs without AVX-512.
 * Without the macro this file compiles as if the hooks were not there.
 */
#ifdef RQ_GEMM_EMU512
#include "../tests/emu512.h"
#define TARGET_AVX512
#define CPU_AVX512() (__builtin_cpu_supports("avx2") && \
	__builtin_cpu_supports("fma"))
#else
#define TARGET_AVX512 __attribute__((target("avx512f")))
#define CPU_AVX512() __builtin_cpu_supports("avx512f")
#endif

#define KC 256
#define NC 1024
/* rows of op(A) packed at once (ta 1; both MR divide it) */
#define MC 96
/* rows of op(A) read in place at once (ta 0): about 12 KiB of them, so
 * they stay in L1 beside B's panel (measured: 48 rows at kc 64 beat 192
 * by 10-30% at N 192 and 256) */
#define MC_IN_BYTES 12288
#define SMALL_FLOP (16 * 16 * 16)	/* below: cblas_sgemm */
#define SKINNY 64	/* see auto_own */

static int forced = -1;		/* rq_gemm_force / RQ_GEMM; -1: unset */
static int best = -1;		/* the CPU's best path, once */

static _Thread_local float *bufa, *bufb;

static int
cpu_best(void)
{
	if (best < 0) {
		__builtin_cpu_init();
		if (CPU_AVX512())
			best = RQ_GEMM_AVX512;
		else if (__builtin_cpu_supports("avx2") &&
		    __builtin_cpu_supports("fma"))
			best = RQ_GEMM_AVX2;
		else
			best = RQ_GEMM_BLAS;
	}
	return best;
}

int
rq_gemm_supported(int path)
{
	switch (path) {
	case RQ_GEMM_BLAS:
		return 1;
	case RQ_GEMM_AVX2:
		return cpu_best() >= RQ_GEMM_AVX2;
	case RQ_GEMM_AVX512:
		return cpu_best() >= RQ_GEMM_AVX512;
	}
	return 0;
}

int
rq_gemm_force(int path)
{
	if (path == RQ_GEMM_AUTO) {
		forced = RQ_GEMM_AUTO;
		return RQ_OK;
	}
	if (!rq_gemm_supported(path))
		return RQ_EINVAL;
	forced = path;
	return RQ_OK;
}

int
rq_gemm_path(void)
{
	if (forced < 0) {
		const char *e = getenv("RQ_GEMM");

		forced = RQ_GEMM_AUTO;
		if (e != NULL && strcmp(e, "blas") == 0)
			forced = RQ_GEMM_BLAS;
		else if (e != NULL && strcmp(e, "avx2") == 0 &&
		    rq_gemm_supported(RQ_GEMM_AVX2))
			forced = RQ_GEMM_AVX2;
		else if (e != NULL && strcmp(e, "avx512") == 0 &&
		    rq_gemm_supported(RQ_GEMM_AVX512))
			forced = RQ_GEMM_AVX512;
	}
	if (forced != RQ_GEMM_AUTO)
		return forced;
	/*
	 * The AVX-512 kernel is opt-in (RQ_GEMM=avx512) until it has been
	 * timed on a machine that has AVX-512: the automatic choice stops at
	 * AVX2, which such a machine also runs.  Its logic is checked on
	 * every machine with AVX2: tests/unit-emu512 runs it, with the
	 * intrinsics in portable C (the hooks above), through all of
	 * tests/test_gemm.c against cblas_sgemm.  Its speed, and the real
	 * instructions, only where the CPU has AVX-512 (tests/test_gemm.c
	 * then runs it in tests/unit too).
	 */
	return cpu_best() > RQ_GEMM_AVX2 ? RQ_GEMM_AVX2 : cpu_best();
}

const char *
rq_gemm_name(int path)
{
	switch (path) {
	case RQ_GEMM_AVX2:
		return "avx2";
	case RQ_GEMM_AVX512:
		return "avx512";
	}
	return "blas";
}

/*
 * Pack rows i0..i0+mc, columns k0..k0+kc of op(A) into panels of mr rows
 * (6 or 12): Ap[p][k][r] = op(A)[i0 + p mr + r, k0 + k], 0 past mc.
 */
__attribute__((target("avx2")))
static void
pack_a(float *Ap, int ta, const float *A, int lda, int i0, int mc, int k0,
    int kc, int mr)
{
	/* ta: op(A)[i,k] = A[k lda + i], a row of A per k, read once */
	if (ta) {
		for (int k = 0; k < kc; k++) {
			const float *s = A + (size_t)(k0 + k) * lda + i0;
			float *d = Ap + (size_t)k * mr;
			int p, r;

			if (mr == 6)	/* 4 + 2 floats */
				for (p = 0; p + 6 <= mc;
				    p += 6, d += 6 * (size_t)kc) {
					_mm_storeu_ps(d, _mm_loadu_ps(s + p));
					/* not a (double *) load: s + p + 4
					 * need not be 8-byte aligned */
					d[4] = s[p + 4];
					d[5] = s[p + 5];
				}
			else	/* 12: 8 + 4 */
				for (p = 0; p + 12 <= mc; p += 12,
				    d += 12 * (size_t)kc) {
					_mm256_storeu_ps(d,
					    _mm256_loadu_ps(s + p));
					_mm_storeu_ps(d + 8,
					    _mm_loadu_ps(s + p + 8));
				}
			if (p < mc) {
				for (r = 0; r < mc - p; r++)
					d[r] = s[p + r];
				for (; r < mr; r++)
					d[r] = 0;
			}
		}
		return;
	}
	for (int p = 0; p < mc; p += mr) {
		int nr = RQ_MIN(mr, mc - p);
		float *o = Ap + (size_t)p * kc;

		for (int r = 0; r < mr; r++) {
			const float *s = A + (size_t)(i0 + p + r) * lda + k0;

			if (r < nr)
				for (int k = 0; k < kc; k++)
					o[(size_t)k * mr + r] = s[k];
			else
				for (int k = 0; k < kc; k++)
					o[(size_t)k * mr + r] = 0;
		}
	}
}

/*
 * Pack rows k0..k0+kc, columns j0..j0+nc of op(B) into panels of nr
 * columns: Bp[p][k][c] = op(B)[k0 + k, j0 + p nr + c], 0 past nc.
 * tb 0: row by row (each row of B read once, front to back: a column
 * panel at a time would walk B with a stride of ldb and miss the cache
 * on every row).  nr is 16 or 32.
 */
__attribute__((target("avx2")))
static void
pack_b(float *Bp, int tb, const float *B, int ldb, int k0, int kc, int j0,
    int nc, int nr)
{
	if (!tb) {
		int nf = nc - nc % nr;

		for (int k = 0; k < kc; k++) {
			const float *s = B + (size_t)(k0 + k) * ldb + j0;
			float *d = Bp + (size_t)k * nr;
			int p, c;

			for (p = 0; p < nf; p += nr, d += (size_t)nr * kc)
				for (c = 0; c < nr; c += 8)
					_mm256_store_ps(d + c,
					    _mm256_loadu_ps(s + p + c));
			if (p < nc) {
				for (c = 0; c < nc - p; c++)
					d[c] = s[p + c];
				for (; c < nr; c++)
					d[c] = 0;
			}
		}
		return;
	}
	/* op(B)[k,j] = B[j ldb + k]: each row of B is a column of op(B) */
	for (int p = 0; p < nc; p += nr) {
		int w = RQ_MIN(nr, nc - p);
		float *o = Bp + (size_t)p * kc;

		for (int c = 0; c < nr; c++) {
			const float *s = B + (size_t)(j0 + p + c) * ldb + k0;

			if (c < w)
				for (int k = 0; k < kc; k++)
					o[(size_t)k * nr + c] = s[k];
			else
				for (int k = 0; k < kc; k++)
					o[(size_t)k * nr + c] = 0;
		}
	}
}

/* C[0..mr, 0..nr) = alpha T + beta C (beta 0: C not read) + bias (if
 * not NULL, per column); T [MR][NR] */
static void
store_edge(float *C, int ldc, const float *T, int NRt, int mr, int nr,
    float alpha, float beta, const float *bias)
{
	for (int r = 0; r < mr; r++)
		for (int c = 0; c < nr; c++) {
			float v = alpha * T[r * NRt + c] +
			    (bias != NULL ? bias[c] : 0.0f);

			C[(size_t)r * ldc + c] = beta == 0 ? v :
			    v + beta * C[(size_t)r * ldc + c];
		}
}

/*
 * One 6 x 16 tile: C = alpha A Bp + beta C over kc, where A's element
 * (r, k) is Ap[r rs + k ks] (op(A) read in place, or a packed edge
 * panel); mr, nr the live part of the tile.
 */
__attribute__((target("avx2,fma")))
static void
kern_avx2(int kc, const float *Ap, size_t rs, size_t ks, const float *Bp,
    float *C, int ldc, float alpha, float beta, const float *bias, int mr,
    int nr)
{
	__m256 c[6][2], va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
	__m256 bias0 = _mm256_setzero_ps(), bias1 = _mm256_setzero_ps();

#pragma GCC unroll 6
	for (int r = 0; r < 6; r++) {
		c[r][0] = _mm256_setzero_ps();
		c[r][1] = _mm256_setzero_ps();
	}
	for (int k = 0; k < kc; k++) {
		__m256 b0 = _mm256_load_ps(Bp), b1 = _mm256_load_ps(Bp + 8);

#pragma GCC unroll 6
		for (int r = 0; r < 6; r++) {
			__m256 a = _mm256_broadcast_ss(Ap + r * rs);

			c[r][0] = _mm256_fmadd_ps(a, b0, c[r][0]);
			c[r][1] = _mm256_fmadd_ps(a, b1, c[r][1]);
		}
		Ap += ks;
		Bp += 16;
	}
	if (mr == 6 && nr == 16) {
		if (bias != NULL) {
			bias0 = _mm256_loadu_ps(bias);
			bias1 = _mm256_loadu_ps(bias + 8);
		}
#pragma GCC unroll 6
		for (int r = 0; r < 6; r++) {
			float *o = C + (size_t)r * ldc;
			__m256 x0 = _mm256_fmadd_ps(c[r][0], va, bias0);
			__m256 x1 = _mm256_fmadd_ps(c[r][1], va, bias1);

			if (beta != 0) {
				x0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(o),
				    x0);
				x1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(o + 8),
				    x1);
			}
			_mm256_storeu_ps(o, x0);
			_mm256_storeu_ps(o + 8, x1);
		}
	} else {
		_Alignas(32) float T[6 * 16];

#pragma GCC unroll 6
		for (int r = 0; r < 6; r++) {
			_mm256_store_ps(T + 16 * r, c[r][0]);
			_mm256_store_ps(T + 16 * r + 8, c[r][1]);
		}
		store_edge(C, ldc, T, 16, mr, nr, alpha, beta, bias);
	}
}

/* one 12 x 32 tile, as kern_avx2 */
TARGET_AVX512
static void
kern_avx512(int kc, const float *Ap, size_t rs, size_t ks, const float *Bp,
    float *C, int ldc, float alpha, float beta, const float *bias, int mr,
    int nr)
{
	__m512 c[12][2], va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
	__m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();

#pragma GCC unroll 12
	for (int r = 0; r < 12; r++) {
		c[r][0] = _mm512_setzero_ps();
		c[r][1] = _mm512_setzero_ps();
	}
	for (int k = 0; k < kc; k++) {
		__m512 b0 = _mm512_load_ps(Bp), b1 = _mm512_load_ps(Bp + 16);

#pragma GCC unroll 12
		for (int r = 0; r < 12; r++) {
			__m512 a = _mm512_set1_ps(Ap[r * rs]);

			c[r][0] = _mm512_fmadd_ps(a, b0, c[r][0]);
			c[r][1] = _mm512_fmadd_ps(a, b1, c[r][1]);
		}
		Ap += ks;
		Bp += 32;
	}
	if (mr == 12 && nr == 32) {
		if (bias != NULL) {
			bias0 = _mm512_loadu_ps(bias);
			bias1 = _mm512_loadu_ps(bias + 16);
		}
#pragma GCC unroll 12
		for (int r = 0; r < 12; r++) {
			float *o = C + (size_t)r * ldc;
			__m512 x0 = _mm512_fmadd_ps(c[r][0], va, bias0);
			__m512 x1 = _mm512_fmadd_ps(c[r][1], va, bias1);

			if (beta != 0) {
				x0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(o),
				    x0);
				x1 = _mm512_fmadd_ps(vb,
				    _mm512_loadu_ps(o + 16),
				    x1);
			}
			_mm512_storeu_ps(o, x0);
			_mm512_storeu_ps(o + 16, x1);
		}
	} else {
		_Alignas(64) float T[12 * 32];

#pragma GCC unroll 12
		for (int r = 0; r < 12; r++) {
			_mm512_store_ps(T + 32 * r, c[r][0]);
			_mm512_store_ps(T + 32 * r + 16, c[r][1]);
		}
		store_edge(C, ldc, T, 32, mr, nr, alpha, beta, bias);
	}
}

typedef void kern_fn(int, const float *, size_t, size_t, const float *,
    float *, int, float, float, const float *, int, int);

/*
 * The elementwise work after a product, on rows i0..i0+m, columns
 * j0..j0+n of C, while they are in cache: a strip of rows once its last
 * inner block is stored (blocked), or, after cblas_sgemm, in one pass
 * over C.  (Per 6 x 16 tile was measured 25-50% slower: GELU on 16
 * floats at a time does not overlap with the kernel.)  Each kind runs
 * the layer's own vector code (gelu.c) on the strip's rows, so the
 * result is the same, bit for bit, as the unfused product followed by
 * the layer.
 */
static void
epilogue(const rq_epilogue *e, float *C, int ldc, int i0, int j0, int m,
    int n)
{
	for (int i = i0; i < i0 + m; i++) {
		float *c = C + (size_t)i * ldc + j0;
		size_t o = (size_t)i * e->ld + j0;

		switch (e->kind) {
		case RQ_EP_ADD:
			for (int j = 0; j < n; j++)
				c[j] += e->x[o + j];
			break;
		case RQ_EP_GELU:
			rq_gelu_forward(e->out + o, c, (size_t)n);
			break;
		case RQ_EP_DGELU:
			rq_gelu_backward_y(c, c, e->x + o, e->y + o,
			    (size_t)n);
			break;
		}
	}
}

/*
 * Loop order: op(A) in blocks of rows (MC_IN_BYTES of them in place, or
 * MC x kc packed); within a block, a panel of op(B) (kc x NR, packed, in
 * L1) against every MR-row strip.  ta 0: op(A)'s rows are read in place
 * (MR rows lda apart, each a stream in k); only the last strip of a
 * block, if its rows are not a multiple of MR, is packed (zero rows past
 * the end), so no kernel reads outside A.  ta 1: a column of A per k
 * would cost a cache line per k, so op(A) is packed (contiguous reads).
 */
static void
blocked(kern_fn *kern, int MR, int NR, int kcmax, int ta, int tb, int M,
    int N, int K, float alpha, const float *A, int lda, const float *B,
    int ldb, float beta, const float *bias, float *C, int ldc,
    const rq_epilogue *ep)
{
	int pk = ta;

	for (int jc = 0; jc < N; jc += NC) {
		int nc = RQ_MIN(NC, N - jc);

		/* K in equal blocks of at most kcmax (no short last block) */
		int nk = (K + kcmax - 1) / kcmax, kb = (K + nk - 1) / nk;

		for (int pc = 0; pc < K; pc += kb) {
			int kc = RQ_MIN(kb, K - pc);
			float bt = pc == 0 ? beta : 1.0f;
			/* the epilogue runs on each strip once it is final */
			const rq_epilogue *e = pc + kc >= K ? ep : NULL;

			pack_b(bufb, tb, B, ldb, pc, kc, jc, nc, NR);
			int mcin = RQ_MAX(12, MC_IN_BYTES /
			    (int)sizeof(float) / kc / 12 * 12);

			for (int ic = 0; ic < M; ic += pk ? MC : mcin) {
				int mc = RQ_MIN(pk ? MC : mcin, M - ic);
				int mf = pk ? 0 : mc - mc % MR;
				const float *Ak = A + (size_t)ic * lda + pc;

				if (mf < mc)
					pack_a(bufa, ta, A, lda, ic + mf,
					    mc - mf, pc, kc, MR);
				for (int jr = 0; jr < nc; jr += NR) {
					const float *bp = bufb +
					    (size_t)jr * kc;
					float *cj = C + (size_t)ic * ldc +
					    jc + jr;
					int w = RQ_MIN(NR, nc - jr);
					const float *bj = pc == 0 && bias !=
					    NULL ? bias + jc + jr : NULL;

					for (int ir = 0; ir < mf; ir += MR)
						kern(kc, Ak + (size_t)ir * lda,
						    lda, 1, bp,
						    cj + (size_t)ir * ldc, ldc,
						    alpha, bt, bj, MR, w);
					for (int ir = mf; ir < mc; ir += MR)
						kern(kc, bufa + (size_t)(ir -
						    mf) * kc, 1, MR, bp,
						    cj + (size_t)ir * ldc, ldc,
						    alpha, bt, bj,
						    RQ_MIN(MR, mc - ir), w);
				}
				if (e != NULL)
					epilogue(e, C, ldc, ic, jc, mc, nc);
			}
		}
	}
}

/*
 * Without a forced path, which products rq's kernels take.  Measured in
 * the training step (steps with and without them interleaved in one
 * process, AVX2, one thread): rq's kernels on every product make the
 * default model's step (every product with a side of 64) 7-11% faster
 * than OpenBLAS, and the d 256 model's (sides of 256 to 1088) 4-6%
 * slower.  Timed alone (bench/sgemm-peak -v) the products are within
 * +-15% of OpenBLAS either way, too noisy here to pick shape by shape.
 * So: a side of at most 64; more than 64^3 multiply-adds (below, the
 * packing does not pay); N not padded out badly to the panel width (N
 * 49 or 10 would waste a quarter or more of the tile's columns).
 * Sending the weight gradients (ta 1) to OpenBLAS instead, where
 * bench/xsmm-ab timed it 10% faster than rq's kernels alone, was tried
 * and not kept: in the step (OPENBLAS_NUM_THREADS=1 bench/step-ab -s
 * 150, old and new binaries alternated, AVX2 EPYC, 2 vCPUs, shared),
 * auto / blas by median went 0.946 -> 0.933 in one pair of runs and
 * 0.947 -> 0.950 in the other: no gain above the noise.
 */
static int
auto_own(int path, int M, int N, int K)
{
	int nr = path == RQ_GEMM_AVX512 ? 32 : 16;
	int np = (N + nr - 1) / nr * nr;

	return (M <= SKINNY || N <= SKINNY || K <= SKINNY) &&
	    (double)M * N * K > 64.0 * 64 * 64 && 8 * (np - N) <= N;
}

/* C = alpha op(A) op(B) + beta C + bias (per column; NULL: none) */
static void
gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
    int lda, const float *B, int ldb, float beta, const float *bias,
    float *C, int ldc, const rq_epilogue *ep)
{
	int path = rq_gemm_path();

	if (M <= 0 || N <= 0)
		return;
	if (K <= 0 || alpha == 0) {
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++)
				C[(size_t)i * ldc + j] = (beta == 0 ? 0 :
				    beta * C[(size_t)i * ldc + j]) +
				    (bias != NULL ? bias[j] : 0.0f);
		if (ep != NULL)
			epilogue(ep, C, ldc, 0, 0, M, N);
		return;
	}
	if (path != RQ_GEMM_BLAS && (double)M * N * K >= SMALL_FLOP &&
	    bufa == NULL) {
		/* MC x KC of A; KC x NC (+ NR padding) of B */
		bufa = aligned_alloc(64, sizeof(float) * MC * KC);
		bufb = aligned_alloc(64, sizeof(float) * KC * (NC + 32));
		if (bufa == NULL || bufb == NULL) {
			free(bufa);
			free(bufb);
			bufa = bufb = NULL;
			path = RQ_GEMM_BLAS;
		}
	}
	if (path == RQ_GEMM_BLAS || (double)M * N * K < SMALL_FLOP ||
	    (forced == RQ_GEMM_AUTO && !auto_own(path, M, N, K))) {
		/* C = beta C + bias, then C += op(A) op(B) */
		if (bias != NULL) {
			for (int i = 0; i < M; i++) {
				float *c = C + (size_t)i * ldc;

				if (beta == 0)
					memcpy(c, bias, sizeof(float) * N);
				else
					for (int j = 0; j < N; j++)
						c[j] = beta * c[j] + bias[j];
			}
			beta = 1;
		}
		cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
		    tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
		    B, ldb, beta, C, ldc);
		if (ep != NULL)
			epilogue(ep, C, ldc, 0, 0, M, N);
		return;
	}
	if (path == RQ_GEMM_AVX512)
		blocked(kern_avx512, 12, 32, KC / 2, ta, tb, M, N, K, alpha, A,
		    lda, B, ldb, beta, bias, C, ldc, ep);
	else
		blocked(kern_avx2, 6, 16, KC, ta, tb, M, N, K, alpha, A, lda,
		    B, ldb, beta, bias, C, ldc, ep);
}

void
rq_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
    int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, NULL, C, ldc,
	    NULL);
}

/* C = op(A) op(B) + bias, the bias added as the tiles are stored: one
 * pass over C instead of a copy then a read-modify-write */
void
rq_gemm_bias(int ta, int tb, int M, int N, int K, const float *A, int lda,
    const float *B, int ldb, const float *bias, float *C, int ldc)
{
	gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, bias, C, ldc,
	    NULL);
}

/* C = op(A) op(B) + bias, then the epilogue ep (NULL: none) on each strip
 * of rows as it is finished */
void
rq_gemm_ep(int ta, int tb, int M, int N, int K, const float *A, int lda,
    const float *B, int ldb, const float *bias, float *C, int ldc,
    const rq_epilogue *ep)
{
	gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, bias, C, ldc, ep);
}

/* the mask of fused layer functions the model uses (rq.h) */
static int fuse = -1;

int
rq_fuse(void)
{
	if (fuse < 0) {
		const char *e = getenv("RQ_FUSE");
		long v;

		fuse = RQ_FUSE_ALL;
		if (e != NULL && rq_parse_long(e, 0, RQ_FUSE_ALL, &v) == RQ_OK)
			fuse = (int)v;
	}
	return fuse;
}

void
rq_fuse_force(int mask)
{
	fuse = mask & RQ_FUSE_ALL;
}
