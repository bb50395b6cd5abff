/*
 * sgemm-peak: matrix-product throughput at a model's shapes, OpenBLAS
 * against rq's own path (lib/gemm.c), and the core's FMA peak.
 *
 * usage: sgemm-peak [-cv] [-m seconds] [-s size] < shapes
 *
 * Each input line is "ta tb M N K count" (ta, tb: N or T), the GEMMs of
 * one training step as printed by `torch_mt.py shapes`; '#' lines are
 * comments.  Every shape is timed on its own through cblas_sgemm and
 * through rq_gemm, alternately (each repeated until -m seconds, default
 * 0.05, have passed; median of 3 such runs per side), and the step's GEMM
 * time is sum(count * time per call).  Prints one line:
 *   sgemm_shapes_gflops=G rq_shapes_gflops=R sgemm_square_gflops=S
 *   fma_peak_gflops=P fma_peak_avx2_gflops=P2 fma_peak_avx512_gflops=P5
 *   step_gemm_flop=F step_gemm_ms=T rq_gemm_ms=U openblas_core=NAME
 *   rq_gemm=PATH
 * G = F / T is the rate OpenBLAS reaches on exactly the step's GEMMs, R
 * the rate of rq_gemm (the path it takes here: RQ_GEMM or the CPU's
 * best); S is OpenBLAS on one square size x size x size product (-s,
 * default 1024); P is the core's FMA peak for rq's path: independent
 * fused multiply-adds on registers only (8 or 16 lanes, 2 flops each);
 * P2 and P5 the same with AVX2 (8 lanes) and AVX-512 (16 lanes), each
 * measured where the CPU has it (asked at run time), else "none".
 * -v also prints every shape's two rates on standard error.  -c times by
 * process CPU time instead of wall time (with one thread: less disturbed
 * by other processes on a shared machine).  Thread count:
 * OPENBLAS_NUM_THREADS.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <immintrin.h>
#include <cblas.h>

#include "rq.h"
#include "bench.h"

static clockid_t clk = CLOCK_MONOTONIC;	/* -c: CLOCK_PROCESS_CPUTIME_ID */

static double
now(void)
{
	return bench_clock(clk);
}

/* seconds per call of C[M,N] = op(A) op(B), median of 3 timed runs:
 * t[0] OpenBLAS, t[1] rq_gemm, interleaved */
static void
time_gemm(int ta, int tb, int M, int N, int K, double minsec, double tt[2])
{
	float *a, *b, *c;
	double t[2][3];
	size_t i;

	a = malloc(sizeof(float) * (size_t)M * K);
	b = malloc(sizeof(float) * (size_t)K * N);
	c = malloc(sizeof(float) * (size_t)M * N);
	if (a == NULL || b == NULL || c == NULL)
		err(1, NULL);
	for (i = 0; i < (size_t)M * K; i++)
		a[i] = (float)((i * 7 % 13) - 6) * 0.01f;
	for (i = 0; i < (size_t)K * N; i++)
		b[i] = (float)((i * 5 % 11) - 5) * 0.01f;
	memset(c, 0, sizeof(float) * (size_t)M * N);
	for (int r = 0; r < 6; r++) {
		long n = 0;
		double t0 = now(), el;

		do {
			if (r % 2 == 0)
				cblas_sgemm(CblasRowMajor,
				    ta ? CblasTrans : CblasNoTrans,
				    tb ? CblasTrans : CblasNoTrans, M, N, K,
				    1.0f, a, ta ? M : K, b, tb ? K : N, 1.0f,
				    c, N);
			else
				rq_gemm(ta, tb, M, N, K, 1.0f, a, ta ? M : K,
				    b, tb ? K : N, 1.0f, c, N);
			n++;
		} while ((el = now() - t0) < minsec);
		t[r % 2][r / 2] = el / n;
	}
	free(a);
	free(b);
	free(c);
	for (int s = 0; s < 2; s++) {
		bench_sort(t[s], 3);
		tt[s] = t[s][1];
	}
}

/* FMA chains: 12 independent accumulators of 8 (16) lanes, so the two
 * FMA pipes never wait on a latency; flops per second */
#define PEAK_ITER 20000000L
__attribute__((target("avx2,fma")))
static double
peak_avx2(void)
{
	__m256 acc[12], m = _mm256_set1_ps(0.999999f);
	__m256 x = _mm256_set1_ps(1e-6f);
	double t0, t;
	float sink = 0;

	for (int i = 0; i < 12; i++)
		acc[i] = _mm256_set1_ps((float)i);
	t0 = now();
	for (long n = 0; n < PEAK_ITER; n++)
#pragma GCC unroll 12
		for (int i = 0; i < 12; i++)
			acc[i] = _mm256_fmadd_ps(acc[i], m, x);
	t = now() - t0;
	for (int i = 0; i < 12; i++)
		sink += _mm256_cvtss_f32(acc[i]);
	if (sink == 12345.0f)	/* keep the loop */
		fputc(' ', stderr);
	return 2.0 * 8 * 12 * PEAK_ITER / t;
}

__attribute__((target("avx512f")))
static double
peak_avx512(void)
{
	__m512 acc[24], m = _mm512_set1_ps(0.999999f);
	__m512 x = _mm512_set1_ps(1e-6f);
	double t0, t;
	float sink = 0;

	for (int i = 0; i < 24; i++)
		acc[i] = _mm512_set1_ps((float)i);
	t0 = now();
	for (long n = 0; n < PEAK_ITER / 2; n++)
#pragma GCC unroll 24
		for (int i = 0; i < 24; i++)
			acc[i] = _mm512_fmadd_ps(acc[i], m, x);
	t = now() - t0;
	for (int i = 0; i < 24; i++)
		sink += _mm512_cvtss_f32(acc[i]);
	if (sink == 12345.0f)
		fputc(' ', stderr);
	return 2.0 * 16 * 24 * (PEAK_ITER / 2) / t;
}

/* best of 3 */
static double
fma_peak(int path)
{
	double best = 0;

	for (int r = 0; r < 3; r++) {
		double p = path == RQ_GEMM_AVX512 ? peak_avx512() :
		    rq_gemm_supported(RQ_GEMM_AVX2) ? peak_avx2() : 0;

		best = p > best ? p : best;
	}
	return best;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sgemm-peak [-cv] [-m seconds] [-s size] "
	    "< shapes\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	char line[256], ta[8], tb[8];
	double minsec = 0.05, flop = 0, sec = 0, rsec = 0, sq[2], pk;
	int ch, verbose = 0, size = 1024, M, N, K, cnt, lineno = 0;
	char *end;

	while ((ch = getopt(argc, argv, "cm:s:v")) != -1) {
		switch (ch) {
		case 'c':
			clk = CLOCK_PROCESS_CPUTIME_ID;
			break;
		case 'm':
			minsec = strtod(optarg, &end);
			if (*end != '\0' || !(minsec > 0 && minsec < 100))
				errx(2, "-m: bad seconds: %s", optarg);
			break;
		case 's':
			size = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || size < 1 || size > 8192)
				errx(2, "-s: bad size: %s", optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	while (fgets(line, sizeof line, stdin) != NULL) {
		double t[2];

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%7s %7s %d %d %d %d", ta, tb, &M, &N, &K,
		    &cnt) != 6 || M < 1 || N < 1 || K < 1 || cnt < 1 ||
		    strchr("NT", ta[0]) == NULL || strchr("NT", tb[0]) == NULL)
			errx(1, "<stdin>: line %d: want \"ta tb M N K count\"",
			    lineno);
		time_gemm(ta[0] == 'T', tb[0] == 'T', M, N, K, minsec, t);
		if (verbose)
			fprintf(stderr, "%s %s %5d %5d %5d x%-5d "
			    "openblas %7.1f "
			    "rq %7.1f GFLOP/s\n", ta, tb, M, N, K, cnt,
			    2.0 * M * N * K / t[0] / 1e9,
			    2.0 * M * N * K / t[1] / 1e9);
		flop += 2.0 * M * N * K * cnt;
		sec += t[0] * cnt;
		rsec += t[1] * cnt;
	}
	if (ferror(stdin))
		err(1, "<stdin>");
	if (sec == 0)
		errx(1, "<stdin>: no shapes");
	time_gemm(0, 0, size, size, size, minsec * 4, sq);
	pk = fma_peak(rq_gemm_path());
	printf("sgemm_shapes_gflops=%.1f rq_shapes_gflops=%.1f "
	    "sgemm_square_gflops=%.1f fma_peak_gflops=%.1f ",
	    flop / sec / 1e9, flop / rsec / 1e9,
	    2.0 * size * size * size / sq[0] / 1e9, pk / 1e9);
	/* both widths where the CPU has them */
	if (rq_gemm_supported(RQ_GEMM_AVX2))
		printf("fma_peak_avx2_gflops=%.1f ", fma_peak(RQ_GEMM_AVX2) /
		    1e9);
	else
		printf("fma_peak_avx2_gflops=none ");
	if (rq_gemm_supported(RQ_GEMM_AVX512))
		printf("fma_peak_avx512_gflops=%.1f ",
		    fma_peak(RQ_GEMM_AVX512) / 1e9);
	else
		printf("fma_peak_avx512_gflops=none ");
	printf("step_gemm_flop=%.6g step_gemm_ms=%.3f rq_gemm_ms=%.3f "
	    "openblas_core=%s rq_gemm=%s\n", flop, sec * 1e3, rsec * 1e3,
	    openblas_get_corename(), rq_gemm_name(rq_gemm_path()));
	return 0;
}
