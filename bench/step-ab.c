/*
 * step-ab: rq's training step with rq_gemm's paths interleaved step by
 * step in one process, for an A/B comparison that a busy machine
 * disturbs equally on every side.
 *
 * usage: step-ab [-F mask] [-d width] [-L depth] [-H heads] [-s steps]
 *
 * The model is Vanilla MT at batch 64 on the default inputs (audio 40x32,
 * visual 1x28x28, rq-train's patches), random data.  Each round runs one
 * step (forward with dropout, backward, SGD) under each of: every product
 * through OpenBLAS (RQ_GEMM_BLAS), rq_gemm's own choice (RQ_GEMM_AUTO),
 * and rq's kernels on every product (the CPU's best path, forced), in a
 * rotating order; the thread's CPU time of each step is kept.  With
 * -F mask the two sides are instead the model's fused layer functions
 * off and those of the mask on (rq_fuse_force 0 and mask, RQ_FUSE_* in
 * rq.h; both with rq_gemm's own choice of path).  Prints,
 * per side, the median, first quartile and minimum in ms.  Threads:
 * OPENBLAS_NUM_THREADS (the CPU time counted is the calling thread's, so
 * use 1).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rq.h"
#include "bench.h"

static void
usage(void)
{
	fprintf(stderr, "usage: step-ab [-F mask] [-d width] [-L depth] [-H heads] "
	    "[-s steps]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	rq_model_cfg cfg;
	rq_model *m;
	rq_rng rng;
	const rq_model_cfg *c;
	int ch, steps = 60, paths[3] = { RQ_GEMM_BLAS, RQ_GEMM_AUTO, 0 };
	int fuses[3], ns = 3, fab = 0;
	const char *names[3] = { "blas", "auto", "" };
	size_t fa, fv, B = 64, np;
	float *ba, *bv;
	int32_t *by;
	double *t[3];

	rq_progname_init(argc, argv);
	bench_cfg(&cfg);
	cfg.batch = (int)B;
	while ((ch = getopt(argc, argv, "F:d:L:H:s:")) != -1) {
		switch (ch) {
		case 'F':
			fab = (int)bench_num(optarg, 1, RQ_FUSE_ALL, ch);
			break;
		case 'd':
			cfg.d = (int)bench_num(optarg, 1, 1 << 14, ch);
			break;
		case 'L':
			cfg.depth = (int)bench_num(optarg, 0, 32, ch);
			break;
		case 'H':
			cfg.heads = (int)bench_num(optarg, 1, 1024, ch);
			break;
		case 's':
			steps = (int)bench_num(optarg, 1, 100000, ch);
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	paths[2] = rq_gemm_supported(RQ_GEMM_AVX512) ? RQ_GEMM_AVX512 :
	    rq_gemm_supported(RQ_GEMM_AVX2) ? RQ_GEMM_AVX2 : RQ_GEMM_BLAS;
	names[2] = rq_gemm_name(paths[2]);
	fuses[0] = fuses[1] = fuses[2] = rq_fuse();
	if (fab) {
		ns = 2;
		paths[0] = paths[1] = RQ_GEMM_AUTO;
		fuses[0] = 0;
		fuses[1] = fab;
		names[0] = "unfused";
		names[1] = "fused";
	}
	if (rq_model_plan(&m, &cfg) != RQ_OK || rq_model_alloc(m) != RQ_OK)
		errx(1, "cannot build the model (sizes or memory)");
	c = rq_model_config(m);
	fa = (size_t)c->F * c->T;
	fv = (size_t)c->C * c->H * c->W;
	np = rq_model_nparams(m);
	rq_rng_seed(&rng, 1);
	rq_model_init_params(m, &rng);
	ba = malloc(sizeof(float) * fa * B);
	bv = malloc(sizeof(float) * fv * B);
	by = malloc(sizeof(int32_t) * B);
	for (int p = 0; p < 3; p++)
		if ((t[p] = malloc(sizeof(double) * steps)) == NULL)
			err(1, NULL);
	if (ba == NULL || bv == NULL || by == NULL)
		err(1, NULL);
	for (int s = -2; s < steps; s++)	/* two rounds of warm-up */
		for (int q = 0; q < ns; q++) {
			int p = (q + s + 2 * ns) % ns;
			double t0;

			if (rq_gemm_force(paths[p]) != RQ_OK)
				errx(1, "path %s refused", names[p]);
			rq_fuse_force(fuses[p]);
			for (size_t i = 0; i < fa * B; i++)
				ba[i] = (float)rq_rng_normal(&rng);
			for (size_t i = 0; i < fv * B; i++)
				bv[i] = (float)rq_rng_normal(&rng);
			for (size_t j = 0; j < B; j++)
				by[j] = (int32_t)rq_rng_below(&rng,
				    (uint64_t)c->classes);
			t0 = bench_tcpu();
			rq_model_zero_grad(m);
			rq_model_forward(m, ba, bv, by, (int)B, 1, &rng);
			rq_model_backward_part(m, by, (int)B, (int)B);
			rq_sgd_step(rq_model_params(m), rq_model_grads(m),
			    rq_model_state(m, 0), np, 1e-3, 0.9, 1e-4);
			if (s >= 0)
				t[p][s] = bench_tcpu() - t0;
		}
	printf("# d %d, %d blocks, %d heads, batch %zu, %d rounds; thread CPU "
	    "ms per step\n", c->d, c->depth, c->heads, B, steps);
	for (int p = 0; p < ns; p++) {
		bench_sort(t[p], (size_t)steps);
		printf("%s%s median=%.2f q1=%.2f min=%.2f\n", names[p],
		    p == 2 ? "-all" : "", t[p][steps / 2] * 1e3,
		    t[p][steps / 4] * 1e3, t[p][0] * 1e3);
	}
	rq_model_free(m);
	free(ba);
	free(bv);
	free(by);
	for (int p = 0; p < 3; p++)
		free(t[p]);
	return rq_finish_stdout() == 0 ? 0 : 1;
}
