/*
 * xsmm-ab: single matrix products at the model's shapes through OpenBLAS,
 * rq_gemm and libxsmm (and BLIS, where built with it), interleaved in one
 * process, with every result checked against a double-precision product.
 *
 * usage: xsmm-ab [-av] [-b MxN[xK]] [-m 64|256|all] [-r rounds]
 *
 * The shapes are the training step's products at batch 64 as
 * `torch_mt.py shapes` lists them (row-major, op N or T as rq calls
 * them), with the number of times each occurs in one step: -m 64 the
 * default model (d 64, 2 blocks, 4 heads), -m 256 the larger one (d 256,
 * 4 blocks, 8 heads), -m all (the default) both.  The products of
 * attention's heads (17 tokens) go through attention.c's own kernels in
 * the model, not through rq_gemm, so they are timed only with -a and
 * totalled apart.
 *
 * Sides, one call each in turn, in an order rotated every round:
 *   blas        cblas_sgemm (OpenBLAS, one thread)
 *   rq-auto     rq_gemm, its own choice of path per product
 *   rq-avx2     rq_gemm_force(RQ_GEMM_AVX2): rq's AVX2 kernels always
 *   rq-avx512   the same with RQ_GEMM_AVX512, where the CPU has it
 *   xsmm-jit    one libxsmm_smmdispatch kernel for the whole product
 *   xsmm-blk    libxsmm kernels as the micro-kernel of a blocked product
 *               (-b MxNxK: M rows and N columns of the row-major C, K of
 *               the inner dimension, the first block's kernel with beta
 *               0, the others' 1; default 64x64, all of K): for each N
 *               columns, op(B)'s panel copied into a buffer [K, N], then
 *               every block of rows against it; A^T copied out first
 *               where op(A) = A^T
 *   xsmm-sgemm  libxsmm_sgemm, libxsmm's own dispatch (its JIT up to
 *               LIBXSMM_MAX_MNK multiply-adds, OpenBLAS's sgemm_ above)
 *   blis        bli_sgemm, one thread (built when blis.h was found)
 * libxsmm is column-major: row-major C = op(A) op(B) is computed as the
 * column-major C^T = op(B)^T op(A)^T, B first.  Its JIT refuses a
 * transposed first operand, so for op(B) = B^T (the layers' forward)
 * libxsmm_otrans copies B^T out first, inside the timed call; a
 * transposed second operand (op(A) = A^T, the weight gradients) is a
 * kernel flag in xsmm-jit and a copy (libxsmm_otrans, timed) in
 * xsmm-blk.
 *
 * Each round times, per side, enough calls to make about 4 MFLOP, by the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID); the median over the rounds
 * (-r, default 31) is the side's time per call.  Prints one line per
 * shape with every side's GFLOP/s, then per model the step-weighted total
 * (the step's FLOPs over its time: sum of count x FLOPs over sum of count
 * x time) and its ratio to OpenBLAS's ("mix": xsmm-blk where op(A) =
 * A, rq-auto for the weight gradients, op(A) = A^T), then each side's
 * largest error max |C - ref| / max |ref| over the shapes, the reference
 * computed in double.  A side whose error passes 1e-4 on a shape is marked '!' on that
 * shape and "wrong" in the totals.  -v also prints every shape's errors.
 * OpenBLAS and BLIS are set to one thread whatever the environment says.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <err.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <libxsmm.h>
#ifdef XAB_BLIS
#define BLIS_DISABLE_BLAS	/* OpenBLAS's cblas.h is the one */
#define BLIS_DISABLE_CBLAS
#include <blis.h>
#endif

#include "rq.h"
#include "bench.h"

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

#define TOL 1e-4		/* largest error a side may have */
#define SAMPLE_FLOP 4e6		/* FLOPs per timed sample, at least */

enum { BLAS, RQ_AUTO, RQ_AVX2, RQ_AVX512, XJIT, XBLK, XSGEMM, BLIS, NSIDE };
static const char *sname[NSIDE] = { "blas", "rq-auto", "rq-avx2",
    "rq-avx512", "xsmm-jit", "xsmm-blk", "xsmm-sgemm", "blis" };

typedef struct shape {
	const char *group;	/* model, and "att" for attention's heads */
	char ta, tb;		/* 'N' or 'T' */
	int M, N, K, count;	/* C[M,N], inner K; calls per step */
} shape;

/* bench/torch_mt.py shapes -d 64 -L 2 --heads 4 -b 64, one line per
 * distinct product, counted; the first 14 are doc/BENCHMARKING.md's */
static const shape shapes[] = {
	{ "d64", 'N', 'T', 1088, 192, 64, 4 },	/* qkv, forward */
	{ "d64", 'N', 'T', 1088, 256, 64, 4 },	/* MLP up, forward */
	{ "d64", 'N', 'T', 1088, 64, 256, 4 },	/* MLP down, forward */
	{ "d64", 'N', 'T', 1088, 64, 64, 4 },	/* attention output, fwd */
	{ "d64", 'N', 'N', 1088, 64, 192, 4 },	/* qkv, dx */
	{ "d64", 'N', 'N', 1088, 64, 256, 4 },	/* MLP up, dx */
	{ "d64", 'N', 'N', 1088, 64, 64, 4 },	/* attention output, dx */
	{ "d64", 'N', 'N', 1088, 256, 64, 4 },	/* MLP down, dx */
	{ "d64", 'T', 'N', 192, 64, 1088, 4 },	/* qkv, dW */
	{ "d64", 'T', 'N', 256, 64, 1088, 4 },	/* MLP up, dW */
	{ "d64", 'T', 'N', 64, 256, 1088, 4 },	/* MLP down, dW */
	{ "d64", 'T', 'N', 64, 64, 1088, 4 },	/* attention output, dW */
	{ "d64", 'N', 'T', 1024, 64, 80, 1 },	/* audio patches */
	{ "d64", 'N', 'T', 1024, 64, 49, 1 },	/* visual patches */
	{ "d64", 'T', 'N', 64, 80, 1024, 1 },	/* audio patches, dW */
	{ "d64", 'T', 'N', 64, 49, 1024, 1 },	/* visual patches, dW */
	{ "d64", 'N', 'T', 2240, 64, 64, 2 },	/* fusion block */
	{ "d64", 'N', 'N', 2240, 64, 64, 2 },
	{ "d64", 'T', 'N', 64, 64, 2240, 2 },
	{ "d64", 'N', 'T', 64, 64, 64, 1 },	/* fusion, CLS rows */
	{ "d64", 'N', 'N', 64, 64, 64, 1 },
	{ "d64", 'T', 'N', 64, 64, 64, 1 },
	{ "d64", 'N', 'T', 64, 10, 64, 3 },	/* heads */
	{ "d64", 'N', 'N', 64, 64, 10, 1 },
	{ "d64", 'T', 'N', 10, 64, 64, 3 },
	{ "d64-att", 'N', 'T', 17, 17, 16, 2048 },	/* per head */
	{ "d64-att", 'N', 'N', 17, 16, 17, 2048 },
	{ "d64-att", 'T', 'N', 17, 16, 17, 2048 },
	/* ... -d 256 -L 4 --heads 8 -b 64 */
	{ "d256", 'N', 'T', 1088, 768, 256, 8 },
	{ "d256", 'N', 'T', 1088, 1024, 256, 8 },
	{ "d256", 'N', 'T', 1088, 256, 1024, 8 },
	{ "d256", 'N', 'T', 1088, 256, 256, 8 },
	{ "d256", 'N', 'N', 1088, 256, 768, 8 },
	{ "d256", 'N', 'N', 1088, 256, 1024, 8 },
	{ "d256", 'N', 'N', 1088, 256, 256, 8 },
	{ "d256", 'N', 'N', 1088, 1024, 256, 8 },
	{ "d256", 'T', 'N', 768, 256, 1088, 8 },
	{ "d256", 'T', 'N', 1024, 256, 1088, 8 },
	{ "d256", 'T', 'N', 256, 1024, 1088, 8 },
	{ "d256", 'T', 'N', 256, 256, 1088, 8 },
	{ "d256", 'N', 'T', 1024, 256, 80, 1 },
	{ "d256", 'N', 'T', 1024, 256, 49, 1 },
	{ "d256", 'T', 'N', 256, 80, 1024, 1 },
	{ "d256", 'T', 'N', 256, 49, 1024, 1 },
	{ "d256", 'N', 'T', 2240, 256, 256, 2 },
	{ "d256", 'N', 'N', 2240, 256, 256, 2 },
	{ "d256", 'T', 'N', 256, 256, 2240, 2 },
	{ "d256", 'N', 'T', 64, 256, 256, 1 },
	{ "d256", 'N', 'N', 64, 256, 256, 1 },
	{ "d256", 'T', 'N', 256, 256, 64, 1 },
	{ "d256", 'N', 'T', 64, 10, 256, 3 },
	{ "d256", 'N', 'N', 64, 256, 10, 1 },
	{ "d256", 'T', 'N', 10, 256, 64, 3 },
	{ "d256-att", 'N', 'T', 17, 17, 32, 8192 },
	{ "d256-att", 'N', 'N', 17, 32, 17, 8192 },
	{ "d256-att", 'T', 'N', 17, 32, 17, 8192 },
};
#define NSHAPE (int)(sizeof(shapes) / sizeof(shapes[0]))

/* one shape's operands, results and libxsmm kernels */
typedef struct prob {
	int ta, tb, M, N, K, lda, ldb;
	float *A, *B, *At, *Bt, *P, *C[NSIDE];	/* P: xsmm-blk's panel */
	libxsmm_smmfunction whole;	/* xsmm-jit */
	/* xsmm-blk: [last row block][last column block][last inner block]
	 * [beta 1: not the first inner block] */
	libxsmm_smmfunction blk[2][2][2][2];
	int bm, bn, bk;		/* block: rows and columns of C, inner */
} prob;

static int blk_m = 64, blk_n = 64, blk_k;	/* -b; blk_k 0: all of K */

static void
usage(void)
{
	fprintf(stderr, "usage: xsmm-ab [-av] [-b MxN[xK]] [-m 64|256|all] "
	    "[-r rounds]\n");
	exit(2);
}

/*
 * A column-major libxsmm kernel C[m,n] = a[m,k] op(b)[k,n] + beta C, beta
 * 0 or 1, for the row-major product's block of rows x cols x kb (cols =
 * m, rows = n, kb = k): a is op(B)^T with leading dimension lda (B, or
 * B^T copied out when tb, or a panel of either), b is op(A)^T: with ta,
 * A itself and a flag (tflag 1) or A^T copied out (tflag 0).
 */
static libxsmm_smmfunction
kernel(const prob *p, int rows, int cols, int kb, int beta1, int tflag,
    libxsmm_blasint lda)
{
	int tr = p->ta && tflag;
	libxsmm_blasint ldb = tr ? p->M : p->K, ldc = p->N;
	float alpha = 1, beta = beta1;
	int flags = (tr ? LIBXSMM_GEMM_FLAG_TRANS_B : 0) |
	    (beta1 ? 0 : LIBXSMM_GEMM_FLAG_BETA_0);
	int pf = LIBXSMM_GEMM_PREFETCH_NONE;

	if (rows <= 0 || cols <= 0 || kb <= 0)
		return NULL;
	return libxsmm_smmdispatch(cols, rows, kb, &lda, &ldb, &ldc, &alpha,
	    &beta, &flags, &pf);
}

/* op(B)^T as column-major N x K with leading dimension N: B itself, or
 * B^T copied out (B stored [N,K]) */
static const float *
bfirst(const prob *p)
{
	if (!p->tb)
		return p->B;
	libxsmm_otrans(p->Bt, p->B, sizeof(float), p->K, p->N, p->K, p->N);
	return p->Bt;
}

static void
run(prob *p, int side)
{
	float *C = p->C[side];
	const float *b;
	int i, j, l;

	switch (side) {
	case BLAS:
		cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans,
		    p->tb ? CblasTrans : CblasNoTrans, p->M, p->N, p->K, 1.0f,
		    p->A, p->lda, p->B, p->ldb, 0.0f, C, p->N);
		break;
	case RQ_AUTO:
	case RQ_AVX2:
	case RQ_AVX512:
		rq_gemm_force(side == RQ_AUTO ? RQ_GEMM_AUTO : side == RQ_AVX2 ?
		    RQ_GEMM_AVX2 : RQ_GEMM_AVX512);
		rq_gemm(p->ta, p->tb, p->M, p->N, p->K, 1.0f, p->A, p->lda,
		    p->B, p->ldb, 0.0f, C, p->N);
		break;
	case XJIT:
		p->whole(bfirst(p), p->A, C);
		break;
	case XBLK:
		/* b: op(A) row-major [M,K], i.e. column-major K x M */
		b = p->A;
		if (p->ta) {	/* At [M,K] = A^T, A stored [K,M] */
			libxsmm_otrans(p->At, p->A, sizeof(float), p->M, p->K,
			    p->M, p->K);
			b = p->At;
		}
		for (j = 0; j < p->N; j += p->bn) {
			int nb = p->N - j < p->bn ? p->N - j : p->bn;
			int lj = j + p->bn >= p->N;

			/* the panel P [K, bn]: columns j.. of op(B) */
			if (p->tb)
				libxsmm_otrans(p->P, p->B + (size_t)j * p->K,
				    sizeof(float), p->K, nb, p->K, p->bn);
			else
				for (l = 0; l < p->K; l++)
					memcpy(p->P + (size_t)l * p->bn,
					    p->B + (size_t)l * p->N + j,
					    sizeof(float) * nb);
			for (i = 0; i < p->M; i += p->bm)
				for (l = 0; l < p->K; l += p->bk)
					p->blk[i + p->bm >= p->M][lj]
					    [l + p->bk >= p->K][l > 0]
					    (p->P + (size_t)l * p->bn,
					    b + (size_t)i * p->K + l,
					    C + (size_t)i * p->N + j);
		}
		break;
	case XSGEMM: {
		/* column-major C^T[N,M] = op(B)^T op(A)^T */
		libxsmm_blasint m = p->N, n = p->M, k = p->K, lda = p->ldb,
		    ldb = p->lda, ldc = p->N;
		float alpha = 1, beta = 0;

		libxsmm_sgemm(p->tb ? "T" : "N", p->ta ? "T" : "N", &m, &n, &k,
		    &alpha, p->B, &lda, p->A, &ldb, &beta, C, &ldc);
		break;
	}
#ifdef XAB_BLIS
	case BLIS: {
		float alpha = 1, beta = 0;

		/* strides of A and B as stored; BLIS transposes */
		bli_sgemm(p->ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
		    p->tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, p->M, p->N,
		    p->K, &alpha, p->A, p->lda, 1, p->B, p->ldb, 1, &beta, C,
		    p->N, 1);
		break;
	}
#endif
	}
}

/* max |C - ref| / max |ref| */
static double
relerr(const float *C, const double *ref, size_t n)
{
	double e = 0, r = 0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)C[i] - ref[i]);

		if (!(d <= e))
			e = d;	/* NaN too */
		if (fabs(ref[i]) > r)
			r = fabs(ref[i]);
	}
	return r > 0 ? e / r : e;
}

/* -b MxN or MxNxK into blk_m, blk_n, blk_k; 0 if good */
static int
parse_blocks(const char *s)
{
	long v[3] = { 0, 0, 0 };
	char *end;
	int n = 0;

	do {
		if (n == 3)
			return -1;
		v[n] = strtol(s, &end, 10);
		if (end == s || v[n] < 1 || v[n] > 4096)
			return -1;
		n++;
		s = end + 1;
	} while (*end == 'x');
	if (*end != '\0' || n < 2)
		return -1;
	blk_m = (int)v[0];
	blk_n = (int)v[1];
	blk_k = (int)v[2];
	return 0;
}

/* group "d<model>" or "d<model>-..." (model "all": every group) */
static int
inmodel(const char *group, const char *model)
{
	size_t n = strlen(model);

	return strcmp(model, "all") == 0 || (strncmp(group + 1, model, n) ==
	    0 && (group[1 + n] == '\0' || group[1 + n] == '-'));
}

static float *
falloc(size_t n)
{
	float *f = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);

	if (f == NULL)
		err(1, NULL);
	return f;
}

/* the library that defines sym in this process, for the header */
static const char *
libof(const char *sym)
{
	Dl_info di;
	void *f = dlsym(RTLD_DEFAULT, sym);

	if (f == NULL || dladdr(f, &di) == 0 || di.dli_fname == NULL)
		return "none";
	return di.dli_fname;
}

static void
header(const int *avail, int rounds)
{
	char line[256] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f != NULL) {
		while (fgets(line, sizeof line, f) != NULL)
			if (strncmp(line, "model name", 10) == 0)
				break;
		fclose(f);
		line[strcspn(line, "\n")] = '\0';
	}
	printf("# cpu: %s\n", strchr(line, ':') ? strchr(line, ':') + 2 :
	    line);
	printf("# avx2 %d fma %d avx512f %d; openblas core %s; rq_gemm auto "
	    "path %s; libxsmm %s, JIT target %s\n",
	    __builtin_cpu_supports("avx2") != 0,
	    __builtin_cpu_supports("fma") != 0,
	    __builtin_cpu_supports("avx512f") != 0, openblas_get_corename(),
	    rq_gemm_name(rq_gemm_path()), LIBXSMM_VERSION,
	    libxsmm_get_target_arch());
	printf("# cblas_sgemm from %s; sgemm_ (libxsmm's fallback) from %s\n",
	    libof("cblas_sgemm"), libof("sgemm_"));
#ifdef XAB_BLIS
	printf("# bli_sgemm from %s, arch %s\n", libof("bli_sgemm"),
	    bli_arch_string(bli_arch_query_id()));
#endif
	printf("# one thread, thread CPU time, median of %d rounds; xsmm-blk "
	    "blocks %dx%dx", rounds, blk_m, blk_n);
	printf(blk_k ? "%d" : "K", blk_k);
	printf("; GFLOP/s (! wrong result)\n");
	printf("%-8s %-2s %5s %5s %5s %5s", "model", "op", "M", "N", "K",
	    "count");
	for (int s = 0; s < NSIDE; s++)
		if (avail[s])
			printf(" %10s", sname[s]);
	printf("\n");
}

int
main(int argc, char *argv[])
{
	const char *model = "all";
	int ch, rounds = 31, all_att = 0, verbose = 0, avail[NSIDE];
	double worst[NSIDE] = { 0 };
	/* per group (up to 4): sums of count x FLOPs and of count x time */
	const char *gname[4];
	double gflop[4] = { 0 }, gtime[4][NSIDE] = { { 0 } }, gmix[4] = { 0 };
	int ng = 0, gbad[4][NSIDE] = { { 0 } }, gna[4][NSIDE] = { { 0 } };

	rq_progname_init(argc, argv);
	while ((ch = getopt(argc, argv, "ab:m:r:v")) != -1) {
		switch (ch) {
		case 'a':
			all_att = 1;
			break;
		case 'b':
			if (parse_blocks(optarg) != 0)
				errx(2, "-b: not MxN or MxNxK (1 to 4096): %s",
				    optarg);
			break;
		case 'm':
			if (strcmp(optarg, "64") && strcmp(optarg, "256") &&
			    strcmp(optarg, "all"))
				errx(2, "-m: not 64, 256 or all: %s", optarg);
			model = optarg;
			break;
		case 'r':
			rounds = (int)bench_num(optarg, 1, 100000, 'r');
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage();

	openblas_set_num_threads(1);
	libxsmm_init();
#ifdef XAB_BLIS
	bli_thread_set_num_threads(1);
#endif
	for (int s = 0; s < NSIDE; s++)
		avail[s] = 1;
	avail[RQ_AVX2] = rq_gemm_supported(RQ_GEMM_AVX2);
	avail[RQ_AVX512] = rq_gemm_supported(RQ_GEMM_AVX512);
#ifndef XAB_BLIS
	avail[BLIS] = 0;
#endif
	header(avail, rounds);

	for (int si = 0; si < NSHAPE; si++) {
		const shape *sh = &shapes[si];
		prob p = { 0 };
		double *ref, *t[NSIDE], flop, e[NSIDE];
		size_t na, nb, nc;
		int g, reps, ok[NSIDE];

		if (!inmodel(sh->group, model) ||
		    (strstr(sh->group, "-att") != NULL && !all_att))
			continue;
		p.ta = sh->ta == 'T';
		p.tb = sh->tb == 'T';
		p.M = sh->M;
		p.N = sh->N;
		p.K = sh->K;
		p.lda = p.ta ? p.M : p.K;
		p.ldb = p.tb ? p.K : p.N;
		na = (size_t)p.M * p.K;
		nb = (size_t)p.K * p.N;
		nc = (size_t)p.M * p.N;
		p.A = falloc(na);
		p.B = falloc(nb);
		p.At = falloc(na);
		p.Bt = falloc(nb);
		ref = calloc(nc, sizeof(double));
		if (ref == NULL)
			err(1, NULL);
		/* in [-1, 1] */
		for (size_t i = 0; i < na; i++)
			p.A[i] = (float)((long)((i * 7919 + si) % 2001) - 1000) *
			    1e-3f;
		for (size_t i = 0; i < nb; i++)
			p.B[i] = (float)((long)((i * 104729 + si) % 1999) - 999) *
			    1e-3f;
		/* ref = op(A) op(B) in double */
		for (int i = 0; i < p.M; i++)
			for (int k = 0; k < p.K; k++) {
				double a = p.ta ? p.A[(size_t)k * p.lda + i] :
				    p.A[(size_t)i * p.lda + k];

				for (int j = 0; j < p.N; j++)
					ref[(size_t)i * p.N + j] += a * (p.tb ?
					    p.B[(size_t)j * p.ldb + k] :
					    p.B[(size_t)k * p.ldb + j]);
			}
		for (int s = 0; s < NSIDE; s++) {
			p.C[s] = falloc(nc);
			for (size_t i = 0; i < nc; i++)
				p.C[s][i] = NAN;	/* beta 0 reads no C */
			t[s] = malloc(sizeof(double) * rounds);
			if (t[s] == NULL)
				err(1, NULL);
			ok[s] = avail[s];
		}
		p.whole = kernel(&p, p.M, p.N, p.K, 0, 1, p.N);
		p.bm = p.M < blk_m ? p.M : blk_m;
		p.bn = p.N < blk_n ? p.N : blk_n;
		p.bk = blk_k == 0 || p.K < blk_k ? p.K : blk_k;
		p.P = falloc((size_t)p.K * p.bn);
		ok[XJIT] = p.whole != NULL;
		ok[XBLK] = 1;
		for (int b = 0; b < 16; b++) {
			int li = b >> 3, lj = b >> 2 & 1, lk = b >> 1 & 1;
			libxsmm_smmfunction *f = &p.blk[li][lj][lk][b & 1];

			/* the sizes of the last blocks (all of them when
			 * they divide), beta 1 after the first inner block */
			*f = kernel(&p, li ? p.M - (p.M - 1) / p.bm * p.bm :
			    p.bm, lj ? p.N - (p.N - 1) / p.bn * p.bn : p.bn,
			    lk ? p.K - (p.K - 1) / p.bk * p.bk : p.bk, b & 1, 0,
			    p.bn);
			if (*f == NULL)
				ok[XBLK] = 0;
		}

		flop = 2.0 * p.M * p.N * p.K;
		reps = flop >= SAMPLE_FLOP ? 1 : (int)ceil(SAMPLE_FLOP / flop);
		for (int s = 0; s < NSIDE; s++)	/* warm up: buffers, pages */
			if (ok[s])
				run(&p, s);
		for (int r = 0; r < rounds; r++)
			for (int o = 0; o < NSIDE; o++) {
				int s = (o + r) % NSIDE;
				double t0;

				if (!ok[s])
					continue;
				t0 = bench_tcpu();
				for (int n = 0; n < reps; n++)
					run(&p, s);
				t[s][r] = (bench_tcpu() - t0) / reps;
			}
		rq_gemm_force(RQ_GEMM_AUTO);

		for (g = 0; g < ng && strcmp(gname[g], sh->group); g++)
			;
		if (g == ng)
			gname[ng++] = sh->group;
		gflop[g] += flop * sh->count;
		printf("%-8s %c%c %5d %5d %5d %5d", sh->group, sh->ta, sh->tb,
		    p.M, p.N, p.K, sh->count);
		for (int s = 0; s < NSIDE; s++) {
			if (!avail[s])
				continue;
			if (!ok[s]) {
				gna[g][s] = 1;
				printf(" %10s", "n/a");
				continue;
			}
			bench_sort(t[s], rounds);
			e[s] = relerr(p.C[s], ref, nc);
			if (!(e[s] <= worst[s]))
				worst[s] = e[s];
			if (!(e[s] <= TOL))
				gbad[g][s] = 1;
			gtime[g][s] += t[s][rounds / 2] * sh->count;
			if (s == (p.ta ? RQ_AUTO : XBLK))
				gmix[g] += t[s][rounds / 2] * sh->count;
			printf(" %9.1f%c", flop / t[s][rounds / 2] * 1e-9,
			    e[s] <= TOL ? ' ' : '!');
		}
		printf("\n");
		if (verbose) {
			printf("#  error");
			for (int s = 0; s < NSIDE; s++)
				if (avail[s] && ok[s])
					printf(" %10.1e", e[s]);
				else if (avail[s])
					printf(" %10s", "n/a");
			printf("\n");
		}
		fflush(stdout);
		for (int s = 0; s < NSIDE; s++) {
			free(p.C[s]);
			free(t[s]);
		}
		free(p.A);
		free(p.B);
		free(p.At);
		free(p.Bt);
		free(p.P);
		free(ref);
	}

	for (int g = 0; g < ng; g++) {
		printf("%-8s step-weighted GFLOP/s (%.3g GFLOP)", gname[g],
		    gflop[g] * 1e-9);
		for (int s = 0; s < NSIDE; s++)
			if (avail[s])
				printf(gna[g][s] ? " %s n/a" : gbad[g][s] ?
				    " %s wrong" : " %s %.1f", sname[s],
				    gflop[g] / gtime[g][s] * 1e-9);
		printf("\n%-8s ratio to blas (> 1: faster)   ", gname[g]);
		for (int s = 0; s < NSIDE; s++)
			if (avail[s] && !gna[g][s] && !gbad[g][s])
				printf(" %s %.3f", sname[s], gtime[g][BLAS] /
				    gtime[g][s]);
		if (!gna[g][XBLK] && !gbad[g][XBLK] && !gbad[g][RQ_AUTO])
			printf(" mix %.3f (%.3f of rq-auto's time)",
			    gtime[g][BLAS] / gmix[g], gmix[g] /
			    gtime[g][RQ_AUTO]);
		printf("\n");
	}
	printf("# largest error (max |C - ref| / max |ref|):");
	for (int s = 0; s < NSIDE; s++)
		if (avail[s])
			printf(" %s %.1e", sname[s], worst[s]);
	printf("\n");
	if (fclose(stdout) != 0)
		err(1, "stdout");
	return 0;
}
