/*
 * fuse-ab: each fused layer function of the model's block against the
 * separate passes it replaces, at the block's shapes, interleaved call
 * by call in one process (thread CPU time, robust to other load).
 *
 * usage: fuse-ab [-d width] [-H heads] [-r rounds]
 *
 * Batch 64, 17 tokens (the default model's), MLP ratio 4.  Per round,
 * for each pair the unfused and the fused form run in alternating order:
 *   res:   fc2 forward then the residual add, vs rq_linear_forward_add;
 *   gelu:  fc1 forward then GELU, vs rq_linear_forward_gelu;
 *   dgelu: fc2's backward (dx written) then GELU's, vs
 *          rq_linear_backward_gelu;
 *   att:   zeroing dqkv then rq_mhsa_backward, vs rq_mhsa_backward_set.
 * Prints per pair the medians in microseconds and unfused / fused
 * (> 1: the fused form is faster).  Threads: OPENBLAS_NUM_THREADS (1).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rq.h"
#include "bench.h"

#define NPAIR 4

static void
usage(void)
{
	fprintf(stderr, "usage: fuse-ab [-d width] [-H heads] [-r rounds]\n");
	exit(2);
}

static float *
buf(size_t n, rq_rng *r)
{
	float *p = malloc(sizeof(float) * n);

	if (p == NULL)
		err(1, NULL);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)(0.5 * rq_rng_normal(r));
	return p;
}

int
main(int argc, char *argv[])
{
	int ch, d = 64, H = 4, R = 100, B = 64, N = 17, n, hd;
	static const char *names[NPAIR] = { "res", "gelu", "dgelu", "att" };
	float *x, *xo, *res, *h1, *h2, *w1, *b1, *w2, *b2, *dy, *dh, *dh1;
	float *dw, *db, *qkv, *att, *ao, *dqkv, *scr;
	double *t[NPAIR][2];
	rq_rng rng;

	rq_progname_init(argc, argv);
	while ((ch = getopt(argc, argv, "d:H:r:")) != -1) {
		switch (ch) {
		case 'd':
			d = (int)bench_num(optarg, 8, 4096, ch);
			break;
		case 'H':
			H = (int)bench_num(optarg, 1, 64, ch);
			break;
		case 'r':
			R = (int)bench_num(optarg, 1, 100000, ch);
			break;
		default:
			usage();
		}
	}
	if (argc != optind || d % H != 0)
		usage();
	n = B * N;
	hd = 4 * d;
	rq_rng_seed(&rng, 1);
	x = buf((size_t)n * d, &rng);
	xo = buf((size_t)n * d, &rng);
	res = buf((size_t)n * d, &rng);
	h1 = buf((size_t)n * hd, &rng);
	h2 = buf((size_t)n * hd, &rng);
	w1 = buf((size_t)hd * d, &rng);
	b1 = buf((size_t)hd, &rng);
	w2 = buf((size_t)d * hd, &rng);
	b2 = buf((size_t)d, &rng);
	dy = buf((size_t)n * d, &rng);
	dh = buf((size_t)n * hd, &rng);
	dh1 = buf((size_t)n * hd, &rng);
	dw = buf((size_t)hd * d, &rng);
	db = buf((size_t)hd, &rng);
	qkv = buf((size_t)n * 3 * d, &rng);
	dqkv = buf((size_t)n * 3 * d, &rng);
	ao = buf((size_t)n * d, &rng);
	att = buf((size_t)B * H * N * N, &rng);
	scr = buf((size_t)B * H * N * N, &rng);
	for (int p = 0; p < NPAIR; p++)
		for (int f = 0; f < 2; f++)
			if ((t[p][f] = malloc(sizeof(double) * R)) == NULL)
				err(1, NULL);
	rq_linear_forward(h1, x, w1, b1, n, d, hd);
	rq_gelu_forward(h2, h1, (size_t)n * hd);
	rq_mhsa_forward(ao, att, qkv, B, N, d, H);
	for (int s = -2; s < R; s++)
		for (int p = 0; p < NPAIR; p++)
			for (int q = 0; q < 2; q++) {
				int f = (q + s) & 1;
				double t0 = bench_tcpu();

				switch (p * 2 + f) {
				case 0:
					rq_linear_forward(xo, h2, w2, b2, n, hd,
					    d);
					for (size_t i = 0; i < (size_t)n * d; i++)
						xo[i] += res[i];
					break;
				case 1:
					rq_linear_forward_add(xo, h2, w2, b2, res,
					    n, hd, d);
					break;
				case 2:
					rq_linear_forward(h1, x, w1, b1, n, d,
					    hd);
					rq_gelu_forward(h2, h1, (size_t)n * hd);
					break;
				case 3:
					rq_linear_forward_gelu(h1, h2, x, w1, b1,
					    n, d, hd);
					break;
				case 4:
					rq_linear_backward_set(dh, dw, db, dy, h2,
					    w2, n, hd, d);
					rq_gelu_backward_y(dh1, dh, h1, h2,
					    (size_t)n * hd);
					break;
				case 5:
					rq_linear_backward_gelu(dh1, dw, db, dy,
					    h2, h1, w2, n, hd, d);
					break;
				case 6:
					memset(dqkv, 0, sizeof(float) * n * 3 * d);
					rq_mhsa_backward(dqkv, scr, ao, qkv, att,
					    B, N, d, H);
					break;
				case 7:
					rq_mhsa_backward_set(dqkv, scr, ao, qkv,
					    att, B, N, d, H);
					break;
				}
				if (s >= 0)
					t[p][f][s] = bench_tcpu() - t0;
			}
	printf("# d %d, %d heads, batch %d x %d tokens, %d rounds, gemm %s; "
	    "thread CPU us, medians\n", d, H, B, N, R,
	    rq_gemm_name(rq_gemm_path()));
	for (int p = 0; p < NPAIR; p++) {
		double m[2];

		for (int f = 0; f < 2; f++) {
			bench_sort(t[p][f], (size_t)R);
			m[f] = t[p][f][R / 2];
		}
		printf("%s unfused=%.1f fused=%.1f gain=%.3f\n", names[p],
		    m[0] * 1e6, m[1] * 1e6, m[0] / m[1]);
	}
	return rq_finish_stdout() == 0 ? 0 : 1;
}
