/*
 * test_gemm.c: rq_gemm (lib/gemm.c) against cblas_sgemm, on every path
 * this CPU supports (each forced in turn), over random shapes (odd sizes,
 * sizes around the kernels' tile edges and the K blocking), all four
 * transpose cases, leading dimensions wider than the matrix, and alpha /
 * beta including beta 0 over a C full of NaN (which must not be read).
 * Tolerance: |rq - cblas| <= 1e-5 (|alpha| sum_k |a_ik b_kj| + |beta c_ij|)
 * + 1e-30 per element (float sums in different orders).
 *
 * tests/unit-emu512 is this file again (-DRQ_GEMM_EMU512), linked with
 * lib/gemm.c built on tests/emu512.h: there the AVX-512 path is portable
 * C and supported wherever AVX2 is, so every test here also runs it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <criterion/criterion.h>

#include "rq.h"

static const int paths[] = { RQ_GEMM_BLAS, RQ_GEMM_AVX2, RQ_GEMM_AVX512 };

static float
urand(rq_rng *r)
{
	return (float)(rq_rng_uniform(r) * 2 - 1);
}

/* one case on the path now forced; returns the largest error / bound */
static double
one_case(rq_rng *r, int ta, int tb, int M, int N, int K, int pad,
    float alpha, float beta)
{
	int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
	size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
	size_t nc = (size_t)M * ldc;
	float *a = malloc(sizeof(float) * na), *b = malloc(sizeof(float) * nb);
	float *c = malloc(sizeof(float) * nc), *c0 = malloc(sizeof(float) * nc);
	float *ref = malloc(sizeof(float) * nc);
	double worst = 0;

	cr_assert(a && b && c && c0 && ref);
	for (size_t i = 0; i < na; i++)
		a[i] = urand(r);
	for (size_t i = 0; i < nb; i++)
		b[i] = urand(r);
	for (size_t i = 0; i < nc; i++)
		c0[i] = beta == 0 ? NAN : urand(r);
	memcpy(c, c0, sizeof(float) * nc);
	memcpy(ref, c0, sizeof(float) * nc);
	if (beta == 0)	/* cblas may read C when beta is 0 */
		for (size_t i = 0; i < nc; i++)
			ref[i] = 0;
	rq_gemm(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
	    tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, a, lda, b, ldb,
	    beta, ref, ldc);
	for (int i = 0; i < M; i++) {
		for (int j = 0; j < N; j++) {
			double s = 0, bound, e;

			for (int k = 0; k < K; k++)
				s += fabs((double)(ta ? a[(size_t)k * lda + i] :
				    a[(size_t)i * lda + k]) *
				    (tb ? b[(size_t)j * ldb + k] :
				    b[(size_t)k * ldb + j]));
			bound = 1e-5 * (fabs(alpha) * s + (beta == 0 ? 0 :
			    fabs(beta * c0[(size_t)i * ldc + j]))) + 1e-30;
			e = fabs((double)c[(size_t)i * ldc + j] -
			    ref[(size_t)i * ldc + j]);
			cr_assert(isfinite(c[(size_t)i * ldc + j]),
			    "%s %c%c %dx%dx%d: C[%d,%d] = %g",
			    rq_gemm_name(rq_gemm_path()), "NT"[ta], "NT"[tb],
			    M, N, K, i, j, c[(size_t)i * ldc + j]);
			worst = e / bound > worst ? e / bound : worst;
		}
		/* the padding past N is not C's: untouched */
		for (int j = N; j < ldc; j++)
			cr_assert(memcmp(&c[(size_t)i * ldc + j],
			    &c0[(size_t)i * ldc + j], sizeof(float)) == 0,
			    "%c%c %dx%dx%d: wrote past N at row %d",
			    "NT"[ta], "NT"[tb], M, N, K, i);
	}
	free(a);
	free(b);
	free(c);
	free(c0);
	free(ref);
	return worst;
}

static void
sweep(int path)
{
	/* sizes at and around the tiles (6, 12 rows; 16, 32 columns), the
	 * model's (17, 64, 192, 1088) and the K blocks (256, 128) */
	static const int sz[] = { 1, 3, 5, 6, 7, 11, 12, 13, 16, 17, 31, 32,
	    33, 48, 64, 65, 97, 130, 192, 257 };
	int nsz = sizeof sz / sizeof sz[0];
	rq_rng r;
	double worst = 0;

	cr_assert_eq(rq_gemm_force(path), RQ_OK);
	cr_assert_eq(rq_gemm_path(), path);
	rq_rng_seed(&r, 21 + path);
	for (int t = 0; t < 160; t++) {
		int ta = t & 1, tb = (t >> 1) & 1;
		int M = sz[rq_rng_below(&r, nsz)];
		int N = sz[rq_rng_below(&r, nsz)];
		int K = sz[rq_rng_below(&r, nsz)], pad = t % 3 == 0 ? 3 : 0;
		float alpha = t % 5 == 0 ? -0.5f : 1.0f;
		float beta = t % 4 == 0 ? 0.0f : t % 4 == 1 ? 1.0f : 0.75f;
		double w = one_case(&r, ta, tb, M, N, K, pad, alpha, beta);

		cr_assert(w <= 1, "%s %c%c %dx%dx%d a %g b %g: error %g x "
		    "the bound", rq_gemm_name(path), "NT"[ta], "NT"[tb], M, N,
		    K, alpha, beta, w);
		worst = w > worst ? w : worst;
	}
	/* a tall product over several K blocks, as the layers' dw */
	for (int t = 0; t < 4; t++)
		cr_assert(one_case(&r, t & 1, t >> 1, 70, 45, 1088, 1, 1.0f,
		    1.0f) <= 1);
	cr_assert(one_case(&r, 0, 1, 1088, 192, 64, 0, 1.0f, 0.0f) <= 1);
	cr_assert(one_case(&r, 1, 0, 256, 64, 1088, 0, 1.0f, 1.0f) <= 1);
	/* at and just under SMALL_FLOP (16^3) and auto_own's 64^3; N over
	 * NC (1024), M over a block of rows in place, K in many blocks */
	static const int th[][3] = { { 16, 16, 16 }, { 16, 16, 15 },
	    { 15, 16, 17 }, { 64, 64, 64 }, { 64, 64, 65 }, { 65, 49, 64 },
	    { 1, 4096, 1 }, { 7, 1100, 3 }, { 4096, 1, 1 }, { 1, 1, 5000 },
	    { 3100, 2, 1 } };

	for (size_t s = 0; s < sizeof th / sizeof th[0]; s++)
		for (int t = 0; t < 4; t++) {
			int M = th[s][0], N = th[s][1], K = th[s][2];
			double w = one_case(&r, t & 1, t >> 1, M, N, K, t == 3,
			    t == 2 ? -0.5f : 1.0f, t == 1 ? 0.0f : 0.75f);

			cr_assert(w <= 1, "%s %c%c %dx%dx%d: error %g x the "
			    "bound", rq_gemm_name(path), "NT"[t & 1],
			    "NT"[t >> 1], M, N, K, w);
		}
}

Test(gemm, every_supported_path_matches_cblas)
{
	int n = 0;

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (rq_gemm_supported(paths[i])) {
			sweep(paths[i]);
			n++;
		}
	cr_assert_geq(n, 1);
	cr_assert_eq(rq_gemm_force(RQ_GEMM_AUTO), RQ_OK);
}

/* rq_gemm_bias against cblas over C preset to the bias, every path */
Test(gemm, bias_epilogue_matches_cblas)
{
	static const int sh[][3] = { { 1088, 192, 64 }, { 13, 17, 5 },
	    { 7, 33, 300 }, { 100, 64, 256 }, { 6, 16, 1 }, { 300, 300, 300 } };
	rq_rng r;

	rq_rng_seed(&r, 7);
	for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
		if (!rq_gemm_supported(paths[p]))
			continue;
		cr_assert_eq(rq_gemm_force(paths[p]), RQ_OK);
		for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++)
			for (int tb = 0; tb < 2; tb++) {
				int M = sh[s][0], N = sh[s][1], K = sh[s][2];
				float *a = malloc(sizeof(float) * M * K);
				float *b = malloc(sizeof(float) * K * N);
				float *bias = malloc(sizeof(float) * N);
				float *c = malloc(sizeof(float) * M * N);
				float *ref = malloc(sizeof(float) * M * N);

				for (int i = 0; i < M * K; i++)
					a[i] = urand(&r);
				for (int i = 0; i < K * N; i++)
					b[i] = urand(&r);
				for (int j = 0; j < N; j++)
					bias[j] = 3 * urand(&r);
				for (int i = 0; i < M * N; i++) {
					c[i] = NAN;
					ref[i] = bias[i % N];
				}
				rq_gemm_bias(0, tb, M, N, K, a, K, b,
				    tb ? K : N, bias, c, N);
				cblas_sgemm(CblasRowMajor, CblasNoTrans,
				    tb ? CblasTrans : CblasNoTrans, M, N, K,
				    1.0f, a, K, b, tb ? K : N, 1.0f, ref, N);
				for (int i = 0; i < M * N; i++)
					cr_assert(fabsf(c[i] - ref[i]) <=
					    1e-5f * (K + 3), "%s %dx%dx%d "
					    "tb %d: C[%d] %g, cblas %g",
					    rq_gemm_name(paths[p]), M, N, K, tb,
					    i, c[i], ref[i]);
				free(a);
				free(b);
				free(bias);
				free(c);
				free(ref);
			}
	}
}

Test(gemm, unsupported_path_refused)
{
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		cr_assert_eq(rq_gemm_force(paths[i]) == RQ_OK,
		    rq_gemm_supported(paths[i]) != 0);
	cr_assert_eq(rq_gemm_force(99), RQ_EINVAL);
	cr_assert(rq_gemm_supported(RQ_GEMM_BLAS));
}

Test(gemm, zero_k_and_zero_alpha_scale_c)
{
	/* C [2,2] with ldc 3: c[2] and c[5] are not C's */
	float c[6] = { 1, 2, 3, 4, 5, 6 }, a[8] = { 0 }, b[8] = { 0 };

	rq_gemm(0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.5f, c, 3);
	cr_assert_eq(c[0], 0.5f);
	cr_assert_eq(c[1], 1.0f);
	cr_assert_eq(c[3], 2.0f);
	cr_assert_eq(c[4], 2.5f);
	cr_assert_eq(c[2], 3.0f);
	cr_assert_eq(c[5], 6.0f);
	c[0] = NAN;
	rq_gemm(0, 0, 2, 2, 4, 0.0f, a, 4, b, 2, 0.0f, c, 3);
	cr_assert_eq(c[0], 0.0f);
	cr_assert_eq(c[4], 0.0f);
	cr_assert_eq(c[5], 6.0f);
}

/*
 * rq_gemm_ep: each fused epilogue against the product (rq_gemm_bias)
 * followed by the separate pass it replaces, on every path, over shapes
 * with edge tiles and with K in more than one block (the epilogue must
 * run once, on the final sums).  Both sides run the same kernel and the
 * same elementwise code, so they must agree bit for bit.
 */
Test(gemm, fused_epilogues_match_separate_passes)
{
	static const int sh[][3] = { { 1088, 256, 64 }, { 13, 17, 5 },
	    { 7, 33, 300 }, { 100, 64, 600 }, { 6, 16, 1 }, { 61, 70, 90 } };
	rq_rng r;
	int ncase = 0;

	rq_rng_seed(&r, 11);
	for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
		if (!rq_gemm_supported(paths[p]))
			continue;
		cr_assert_eq(rq_gemm_force(paths[p]), RQ_OK);
		for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++)
			for (int kind = RQ_EP_ADD; kind <= RQ_EP_DGELU; kind++) {
				int M = sh[s][0], N = sh[s][1], K = sh[s][2];
				size_t mn = (size_t)M * N;
				float *a = malloc(sizeof(float) * M * K);
				float *b = malloc(sizeof(float) * K * N);
				float *bias = malloc(sizeof(float) * N);
				float *c = malloc(sizeof(float) * mn);
				float *ref = malloc(sizeof(float) * mn);
				float *x = malloc(sizeof(float) * mn);
				float *y = malloc(sizeof(float) * mn);
				float *o = malloc(sizeof(float) * mn);
				float *oref = malloc(sizeof(float) * mn);
				rq_epilogue ep = { kind, x, y, o, N };

				cr_assert(a && b && bias && c && ref && x && y &&
				    o && oref);
				for (int i = 0; i < M * K; i++)
					a[i] = urand(&r);
				for (int i = 0; i < K * N; i++)
					b[i] = urand(&r);
				for (int j = 0; j < N; j++)
					bias[j] = urand(&r);
				for (size_t i = 0; i < mn; i++) {
					x[i] = 4 * urand(&r);
					c[i] = o[i] = NAN;
				}
				rq_gelu_forward(y, x, mn);
				rq_gemm_ep(0, 1, M, N, K, a, K, b, K, bias, c, N,
				    &ep);
				rq_gemm_bias(0, 1, M, N, K, a, K, b, K, bias, ref,
				    N);
				if (kind == RQ_EP_ADD)
					for (size_t i = 0; i < mn; i++)
						ref[i] += x[i];
				else if (kind == RQ_EP_GELU)
					rq_gelu_forward(oref, ref, mn);
				else
					rq_gelu_backward_y(ref, ref, x, y, mn);
				cr_assert(memcmp(c, ref, sizeof(float) * mn) == 0,
				    "%s %dx%dx%d kind %d: C differs",
				    rq_gemm_name(paths[p]), M, N, K, kind);
				if (kind == RQ_EP_GELU)
					cr_assert(memcmp(o, oref,
					    sizeof(float) * mn) == 0,
					    "%s %dx%dx%d: GELU(C) differs",
					    rq_gemm_name(paths[p]), M, N, K);
				ncase++;
				free(a); free(b); free(bias); free(c); free(ref);
				free(x); free(y); free(o); free(oref);
			}
	}
	cr_assert_geq(ncase, 18);
	cr_assert_eq(rq_gemm_force(RQ_GEMM_AUTO), RQ_OK);
}

#ifdef RQ_GEMM_EMU512
/* tests/unit-emu512: the tests above ran the (emulated) AVX-512 path */
Test(gemm, emulated_avx512_path_is_supported)
{
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
		cr_skip_test("no AVX2 + FMA: the packing it shares with the "
		    "AVX2 path cannot run here");
	cr_assert(rq_gemm_supported(RQ_GEMM_AVX512));
	cr_assert_eq(rq_gemm_force(RQ_GEMM_AVX512), RQ_OK);
	cr_assert_eq(rq_gemm_path(), RQ_GEMM_AVX512);
	cr_assert_eq(rq_gemm_force(RQ_GEMM_AUTO), RQ_OK);
	/* the automatic choice is not the emulation's to change */
	cr_assert_eq(rq_gemm_path(), RQ_GEMM_AVX2);
}
#endif
