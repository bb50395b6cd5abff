/*
 * sgemm-peak: OpenBLAS sgemm throughput at a model's matrix shapes.
 *
 * usage: sgemm-peak [-cv] [-m seconds] [-s size] < shapes
 *
 * Each input line is "ta tb M N K count" (ta, tb: N or T), the GEMMs of
 * one training step as printed by `torch_mt.py shapes`; '#' lines are
 * comments.  Every shape is timed on its own (repeated until -m seconds,
 * default 0.05, have passed; median of 3 such runs), and the step's
 * GEMM time is sum(count * time per call).  Prints one line:
 *   sgemm_shapes_gflops=G sgemm_square_gflops=S step_gemm_flop=F
 *   step_gemm_ms=T openblas_core=NAME
 * G = F / T is the rate OpenBLAS reaches on exactly the step's GEMMs;
 * S is the rate on one square size x size x size product (-s, default
 * 1024), a near-peak reference.  -v also prints every shape's rate on
 * standard error.  -c times by process CPU time instead of wall time
 * (with one thread: less disturbed by other processes on a shared
 * machine).  Thread count: OPENBLAS_NUM_THREADS.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

static clockid_t clk = CLOCK_MONOTONIC;	/* -c: CLOCK_PROCESS_CPUTIME_ID */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* seconds per call of C[M,N] = op(A) op(B), median of 3 timed runs */
static double
time_gemm(int ta, int tb, int M, int N, int K, double minsec)
{
	float *a, *b, *c;
	double t[3];
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
	for (int r = 0; r < 3; r++) {
		long n = 0;
		double t0 = now(), el;

		do {
			cblas_sgemm(CblasRowMajor,
			    ta ? CblasTrans : CblasNoTrans,
			    tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
			    a, ta ? M : K, b, tb ? K : N, 1.0f, c, N);
			n++;
		} while ((el = now() - t0) < minsec);
		t[r] = el / n;
	}
	free(a);
	free(b);
	free(c);
	qsort(t, 3, sizeof t[0], cmpd);
	return t[1];
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
	double minsec = 0.05, flop = 0, sec = 0, sq;
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
		double t;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%7s %7s %d %d %d %d", ta, tb, &M, &N, &K,
		    &cnt) != 6 || M < 1 || N < 1 || K < 1 || cnt < 1 ||
		    strchr("NT", ta[0]) == NULL || strchr("NT", tb[0]) == NULL)
			errx(1, "<stdin>: line %d: want \"ta tb M N K count\"",
			    lineno);
		t = time_gemm(ta[0] == 'T', tb[0] == 'T', M, N, K, minsec);
		if (verbose)
			fprintf(stderr, "%s %s %5d %5d %5d x%-5d %7.1f GFLOP/s\n",
			    ta, tb, M, N, K, cnt, 2.0 * M * N * K / t / 1e9);
		flop += 2.0 * M * N * K * cnt;
		sec += t * cnt;
	}
	if (ferror(stdin))
		err(1, "<stdin>");
	if (sec == 0)
		errx(1, "<stdin>: no shapes");
	sq = time_gemm(0, 0, size, size, size, minsec * 4);
	printf("sgemm_shapes_gflops=%.1f sgemm_square_gflops=%.1f "
	    "step_gemm_flop=%.6g step_gemm_ms=%.3f openblas_core=%s\n",
	    flop / sec / 1e9, 2.0 * size * size * size / sq / 1e9, flop,
	    sec * 1e3, openblas_get_corename());
	return 0;
}
