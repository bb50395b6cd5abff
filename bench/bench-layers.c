/*
 * bench-layers.c: GFLOP/s of the nn layers of librq at transformer shapes
 * (linear forward/backward, multi-head self-attention forward/backward,
 * fusion attention forward/backward).
 *
 * Build and run from the repository root, after `make`:
 *
 *	cc -O2 -march=native -Ilib bench/bench-layers.c lib/librq.a \
 *	    $(pkg-config --cflags --libs openblas gsl zlib) -lm \
 *	    -o bench/bench-layers
 *	bench/bench-layers [-t threads] [-r reps] [-B batch] [-T tokens]
 *
 * -t sets the OpenBLAS thread count (default 1: on the 2-vCPU machines one
 * thread is the primary figure, see /work/shared/BENCHMARKING.md).  Each
 * line is the median of -r timed runs (default 7) after one warm-up.
 * OPENBLAS_CORETYPE is printed as found; run rq and any comparison under
 * the same setting.  FLOPs counted: linear forward 2 n in out, backward
 * 4 n in out (dx and dw); mhsa forward 4 B T^2 C (QK^T and AV), backward
 * 8 B T^2 C; fusion forward 4 B T C, backward 8 B T C (exp not counted).
 * Two columns: wall-clock time, and process CPU time (less disturbed by
 * other processes on a shared machine; with -t 1 the two agree when the
 * machine is idle).
 */
#define _POSIX_C_SOURCE 200809L

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "rq.h"
#include "bench.h"

/* OpenBLAS extensions (declared in its cblas.h, repeated for clarity) */
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);

static int reps = 7;

static float *
buf(size_t n)
{
	float *p = malloc(n * sizeof(*p));

	if (p == NULL)
		err(1, "malloc");
	for (size_t i = 0; i < n; i++)
		p[i] = (float)((i * 2654435761u % 1000) / 1000.0 - 0.5);
	return p;
}

enum { LIN_F, LIN_B, ATT_F, ATT_B, FUS_F, FUS_B };

struct job {
	int kind, n, in, out, B, T, C, H;
	float *x, *w, *b, *y, *dx, *dw, *db, *dy, *att, *scr, *a, *q, *dq;
};

static void
run(struct job *j)
{
	switch (j->kind) {
	case LIN_F:
		rq_linear_forward(j->y, j->x, j->w, j->b, j->n, j->in, j->out);
		break;
	case LIN_B:
		rq_linear_backward(j->dx, j->dw, j->db, j->dy, j->x, j->w,
		    j->n, j->in, j->out);
		break;
	case ATT_F:
		rq_mhsa_forward(j->y, j->att, j->x, j->B, j->T, j->C, j->H);
		break;
	case ATT_B:
		rq_mhsa_backward(j->dx, j->scr, j->dy, j->x, j->att, j->B,
		    j->T, j->C, j->H);
		break;
	case FUS_F:
		rq_fusion_attn_forward(j->y, j->a, j->a, j->q, j->x, j->w,
		    NULL, 0, j->B, j->T, j->C);
		break;
	case FUS_B:
		rq_fusion_attn_backward(j->dq, j->dx, j->dw, j->dy, j->a, j->a,
		    j->q, j->x, j->w, NULL, 0, j->B, j->T, j->C);
		break;
	}
}

static void
timeit(const char *what, struct job *j, double flops)
{
	double t[64], c[64];
	int r = reps < 64 ? reps : 64;

	run(j);
	for (int i = 0; i < r; i++) {
		double t0 = bench_now();
		double c0 = bench_cpu();
		run(j);
		t[i] = bench_now() - t0;
		c[i] = bench_cpu() - c0;
	}
	bench_sort(t, r);
	bench_sort(c, r);
	printf("%-30s %8.3f ms %7.1f GFLOP/s %8.3f ms %7.1f GFLOP/s\n", what,
	    t[r / 2] * 1e3, flops / t[r / 2] * 1e-9, c[r / 2] * 1e3,
	    flops / c[r / 2] * 1e-9);
}

static void
bench_linear(int n, int in, int out)
{
	struct job j = { .n = n, .in = in, .out = out };
	char name[64];
	double f = 2.0 * n * in * out;

	j.x = buf((size_t)n * in); j.w = buf((size_t)out * in);
	j.b = buf(out); j.y = buf((size_t)n * out);
	j.dx = buf((size_t)n * in); j.dw = buf((size_t)out * in);
	j.db = buf(out); j.dy = buf((size_t)n * out);
	snprintf(name, sizeof(name), "linear fwd n=%d %d->%d", n, in, out);
	j.kind = LIN_F;
	timeit(name, &j, f);
	snprintf(name, sizeof(name), "linear bwd n=%d %d->%d", n, in, out);
	j.kind = LIN_B;
	timeit(name, &j, 2 * f);
	free(j.x); free(j.w); free(j.b); free(j.y); free(j.dx); free(j.dw);
	free(j.db); free(j.dy);
}

static void
bench_mhsa(int B, int T, int C, int H)
{
	struct job j = { .B = B, .T = T, .C = C, .H = H };
	size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
	size_t na = (size_t)B * H * T * T;
	double f = 4.0 * B * T * T * C;
	char name[64];

	j.x = buf(nq); j.dx = buf(nq); j.y = buf(no); j.dy = buf(no);
	j.att = buf(na); j.scr = buf(na);
	snprintf(name, sizeof(name), "mhsa fwd B=%d T=%d C=%d H=%d", B, T, C,
	    H);
	j.kind = ATT_F;
	timeit(name, &j, f);
	snprintf(name, sizeof(name), "mhsa bwd B=%d T=%d C=%d H=%d", B, T, C,
	    H);
	j.kind = ATT_B;
	timeit(name, &j, 2 * f);
	free(j.x); free(j.dx); free(j.y); free(j.dy); free(j.att);
	free(j.scr);
}

static void
bench_fusion(int B, int T, int C)
{
	struct job j = { .B = B, .T = T, .C = C };
	size_t nk = (size_t)B * T * C;
	double f = 4.0 * B * T * C;
	char name[64];

	j.x = buf(nk); j.w = buf(nk); j.dx = buf(nk); j.dw = buf(nk);
	j.q = buf(C); j.dq = buf(C); j.y = buf((size_t)B * C);
	j.dy = buf((size_t)B * C); j.a = buf((size_t)B * T);
	snprintf(name, sizeof(name), "fusion fwd B=%d T=%d C=%d", B, T, C);
	j.kind = FUS_F;
	timeit(name, &j, f);
	snprintf(name, sizeof(name), "fusion bwd B=%d T=%d C=%d", B, T, C);
	j.kind = FUS_B;
	timeit(name, &j, 2 * f);
	free(j.x); free(j.w); free(j.dx); free(j.dw); free(j.q); free(j.dq);
	free(j.y); free(j.dy); free(j.a);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench-layers [-t threads] [-r reps] "
	    "[-B batch] [-T tokens]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const int cs[] = { 64, 128, 256 }, hs[] = { 4, 8 };
	const char *ct = getenv("OPENBLAS_CORETYPE");
	long v;
	int ch, threads = 1, B = 64, T = 65;

	while ((ch = getopt(argc, argv, "B:r:t:T:")) != -1) {
		if (rq_parse_long(optarg, 1, 100000, &v) != RQ_OK)
			errx(2, "-%c %s: not an integer in [1, 100000]", ch,
			    optarg);
		switch (ch) {
		case 'B': B = (int)v; break;
		case 'r': reps = (int)v; break;
		case 't': threads = (int)v; break;
		case 'T': T = (int)v; break;
		default: usage();
		}
	}
	openblas_set_num_threads(threads);
	printf("OPENBLAS_CORETYPE=%s (core %s), threads %d, median of %d\n",
	    ct ? ct : "(unset)", openblas_get_corename(),
	    openblas_get_num_threads(), reps);
	printf("%-30s %11s %15s %11s %15s\n", "", "wall", "", "cpu", "");
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		int C = cs[i];
		bench_linear(B * T, C, 3 * C);
		bench_linear(B * T, C, 4 * C);
		bench_linear(B * T, 4 * C, C);
		for (size_t h = 0; h < sizeof(hs) / sizeof(hs[0]); h++)
			bench_mhsa(B, T, C, hs[h]);
		bench_fusion(B, 2 * T + 1, C);
	}
	return 0;
}
