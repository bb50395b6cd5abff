/*
 * model-step: drive librq's Vanilla MT model directly, for bench/.
 *
 * usage: model-step [-r] [-d width] [-L depth] [-H heads] [-b batch]
 *            [-k classes] [-a FxT] [-v CxHxW] [-c vchan] [-p pfxpt]
 *            [-q phxpw] [-m method] [-F layers] [-T tokens] -g params.rqt
 *            batch.rqt
 *        model-step [-r] [...same sizes...] [-n samples] [-s steps]
 *            [-e evalsteps] [-w warmup] [-R repeats] [-u micro] -t
 *        model-step [...same sizes...] [-u micro] -P
 *
 * -g: read parameters (records named as rq's parameter table, plus an
 *     optional "R" f64 [d,d] rotation) and one batch (audio, visual,
 *     label), run one forward (dropout off) and backward, and write to
 *     standard output the records "loss" f64 [1] and "grad.<name>" f32 for
 *     every parameter.  bench/grad-check.py compares them with PyTorch.
 *     -m: an rq-train method's model (mt); -F, -T: its fusion layers and
 *     tokens (MBT; bench/grad-check-mbt-mmml.py).
 * -t: time the training step exactly as `torch_mt.py bench` does: a data
 *     set of -n random samples in memory, random batches gathered from it,
 *     forward (dropout 0.2) + backward + SGD (momentum 0.9, wd 1e-4), then
 *     evaluation forwards; print one key=value line: train_sps eval_sps
 *     peak_rss_kb step_ms, and step_cpu_ms / train_cpu_sps from the
 *     process CPU time (less disturbed by other processes on a shared
 *     machine; with one thread it equals the wall time when idle), and
 *     gemm=PATH, the kernels rq_gemm took (RQ_GEMM forces one).
 *     -r applies a non-trivial RollingQ rotation.  -u runs each batch
 *     as micro-batches of that many samples whose gradients add up (as
 *     rq-train -u): the arena then holds one micro-batch's activations.
 * -P: plan only, allocate nothing: print impl=rq-plan ... params=
 *     arena_kb= (parameters, gradients, momentum and the activations of
 *     one batch, or of one micro-batch with -u), for sizes too large to
 *     run on this machine.
 * -v CxHxW is C/vc frames of vc channels (-c vc; default C: one frame);
 * the audio is [F,T] cut into -p pfxpt patches, the frames into -q phxpw.
 * Threads: OPENBLAS_NUM_THREADS.
 */
#include <sys/resource.h>

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
	fprintf(stderr, "usage: model-step [-r] [-d width] [-L depth] "
	    "[-H heads] [-b batch] [-k classes]\n"
	    "           [-a FxT] [-v CxHxW] [-c vchan] [-p pfxpt] [-q phxpw] "
	    "[-m method] [-F layers] [-T tokens]\n"
	    "           -g params.rqt batch.rqt\n"
	    "       model-step [-r] [sizes] [-n samples] [-s steps] "
	    "[-e evalsteps] [-w warmup]\n"
	    "           [-R repeats] [-u micro] -t\n"
	    "       model-step [sizes] [-u micro] -P\n");
	exit(2);
}

/* "AxB" or "AxBxC" into n ints */
static void
dims(const char *s, int *out, int n, int opt)
{
	char buf[64], *p, *q;

	if (strlen(s) >= sizeof buf)
		errx(2, "-%c: bad shape: %s", opt, s);
	strcpy(buf, s);
	p = buf;
	for (int i = 0; i < n; i++) {
		q = strchr(p, 'x');
		if ((q == NULL) != (i == n - 1))
			errx(2, "-%c: bad shape: %s", opt, s);
		if (q != NULL)
			*q = '\0';
		out[i] = (int)bench_num(p, 1, 100000, opt);
		p = q + 1;
	}
}

static void
gradmode(rq_model *m, const char *ppath, const char *bpath)
{
	const rq_model_cfg *c = rq_model_config(m);
	rq_stream *s;
	rq_tensor t;
	float *a = NULL, *v = NULL;
	int32_t *y = NULL;
	int B = -1, rc, seen = 0;
	double loss;

	rq_tensor_init(&t);
	if ((s = rq_stream_open(ppath, "r")) == NULL)
		err(1, "%s", ppath);
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
		const rq_param *p;

		if (strcmp(t.name, "R") == 0) {
			if (t.dtype != RQ_F64 || t.nbytes != (size_t)c->d * c->d *
			    sizeof(double))
				errx(1, "%s: record %ld: R must be f64 [d,d]",
				    ppath, rq_stream_record(s));
			memcpy(rq_model_rotation(m, 0), t.data, t.nbytes);
			continue;
		}
		if ((p = rq_model_find(m, t.name)) == NULL)
			errx(1, "%s: record %ld: unknown parameter %s", ppath,
			    rq_stream_record(s), t.name);
		if (t.dtype != RQ_F32 || t.nbytes != p->n * sizeof(float))
			errx(1, "%s: record %ld: %s: want f32 of %zu values",
			    ppath, rq_stream_record(s), t.name, p->n);
		memcpy(rq_model_params(m) + p->off, t.data, t.nbytes);
		seen++;
	}
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(s));
	rq_stream_close(s);
	if (seen != rq_model_ntable(m))
		errx(1, "%s: %d of %d parameters", ppath, seen,
		    rq_model_ntable(m));
	if ((s = rq_stream_open(bpath, "r")) == NULL)
		err(1, "%s", bpath);
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
		void **dst;

		if (strcmp(t.name, "audio") == 0 && t.dtype == RQ_F32)
			dst = (void **)&a;
		else if (strcmp(t.name, "visual") == 0 && t.dtype == RQ_F32)
			dst = (void **)&v;
		else if (strcmp(t.name, "label") == 0 && t.dtype == RQ_I32)
			dst = (void **)&y;
		else
			continue;
		if ((*dst = malloc(t.nbytes)) == NULL)
			err(1, NULL);
		memcpy(*dst, t.data, t.nbytes);
		if (dst == (void **)&y)
			B = (int)t.dims[0];
	}
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(s));
	rq_stream_close(s);
	if (a == NULL || v == NULL || y == NULL || B < 1 || B > c->batch)
		errx(1, "%s: want audio, visual f32 and label i32 of at most "
		    "%d samples", bpath, c->batch);
	rq_model_zero_grad(m);
	loss = rq_model_forward(m, a, v, y, B, 0, NULL);
	rq_model_backward(m, y, B);
	bench_put_grads(m, loss);
	rq_tensor_free(&t);
	free(a);
	free(v);
	free(y);
}

static void
timemode(rq_model *m, size_t B, long n, long steps, long esteps, long warm,
    long reps, int rolling)
{
	const rq_model_cfg *c = rq_model_config(m);
	size_t fa = (size_t)c->F * c->T, fv = (size_t)c->C * c->H * c->W;
	size_t U = (size_t)c->batch, np = rq_model_nparams(m);
	float *A, *V, *ba, *bv;
	int32_t *Y, *by;
	rq_rng rng;
	double tt[16], te[16], tc[16], t0, c0, tr, ev;
	struct rusage ru;

	rq_rng_seed(&rng, 1);
	rq_model_init_params(m, &rng);
	if (rolling) {
		double *x = malloc(sizeof(double) * c->d * 2);
		if (x == NULL)
			err(1, NULL);
		for (int i = 0; i < 2 * c->d; i++)
			x[i] = rq_rng_normal(&rng);
		if (rq_rotation_plane(rq_model_rotation(m, 0), x, x + c->d,
		    (size_t)c->d) != RQ_OK)
			errx(1, "rotation failed");
		free(x);
	}
	A = malloc(sizeof(float) * fa * n);
	V = malloc(sizeof(float) * fv * n);
	Y = malloc(sizeof(int32_t) * n);
	ba = malloc(sizeof(float) * fa * B);
	bv = malloc(sizeof(float) * fv * B);
	by = malloc(sizeof(int32_t) * B);
	if (!A || !V || !Y || !ba || !bv || !by)
		err(1, NULL);
	for (size_t i = 0; i < fa * n; i++)
		A[i] = (float)rq_rng_normal(&rng);
	for (size_t i = 0; i < fv * n; i++)
		V[i] = (float)rq_rng_normal(&rng);
	for (long i = 0; i < n; i++)
		Y[i] = (int32_t)rq_rng_below(&rng, (uint64_t)c->classes);

#define GATHER() do {							\
	for (size_t j = 0; j < B; j++) {				\
		size_t k = rq_rng_below(&rng, (uint64_t)n);		\
		memcpy(ba + j * fa, A + k * fa, fa * sizeof(float));	\
		memcpy(bv + j * fv, V + k * fv, fv * sizeof(float));	\
		by[j] = Y[k];						\
	}								\
} while (0)

	for (long r = -1; r < reps; r++) {
		long ns = r < 0 ? warm : steps;
		t0 = bench_now();
		c0 = bench_cpu();
		for (long s = 0; s < ns; s++) {
			GATHER();
			rq_model_zero_grad(m);
			/* micro-batches of U (-u) add up to the batch's gradient */
			for (size_t o = 0; o < B; o += U) {
				int nc = (int)(B - o < U ? B - o : U);
				rq_model_forward(m, ba + o * fa, bv + o * fv, by + o,
				    nc, 1, &rng);
				rq_model_backward_part(m, by + o, nc, (int)B);
			}
			rq_sgd_step(rq_model_params(m), rq_model_grads(m),
			    rq_model_state(m, 0), np, 1e-3, 0.9, 1e-4);
		}
		if (r >= 0) {
			tt[r] = bench_now() - t0;
			tc[r] = bench_cpu() - c0;
		}
	}
	for (long r = -1; r < reps; r++) {
		long ns = r < 0 ? warm : esteps;
		t0 = bench_now();
		for (long s = 0; s < ns; s++) {
			GATHER();
			for (size_t o = 0; o < B; o += U)
				rq_model_forward(m, ba + o * fa, bv + o * fv, NULL,
				    (int)(B - o < U ? B - o : U), 0, NULL);
		}
		if (r >= 0)
			te[r] = bench_now() - t0;
	}
	bench_sort(tt, (size_t)reps);
	bench_sort(te, (size_t)reps);
	bench_sort(tc, (size_t)reps);
	tr = (double)B * steps / tt[reps / 2];
	ev = (double)B * esteps / te[reps / 2];
	getrusage(RUSAGE_SELF, &ru);
	printf("impl=rq batch=%zu micro=%zu d=%d layers=%d heads=%d train_sps=%.1f "
	    "eval_sps=%.1f peak_rss_kb=%ld step_ms=%.3f arena_kb=%zu "
	    "fwd_flop_per_sample=%.6g step_cpu_ms=%.3f train_cpu_sps=%.1f "
	    "gemm=%s\n",
	    B, U, c->d, c->depth, c->heads, tr, ev,
	    ru.ru_maxrss, tt[reps / 2] / steps * 1e3,
	    rq_model_arena_bytes(m) / 1024, rq_model_flops(m),
	    tc[reps / 2] / steps * 1e3, (double)B * steps / tc[reps / 2],
	    rq_gemm_name(rq_gemm_path()));
	free(A);
	free(V);
	free(Y);
	free(ba);
	free(bv);
	free(by);
}

int
main(int argc, char *argv[])
{
	rq_model_cfg cfg;
	rq_model *m;
	int ch, mode = 0, rolling = 0, sh[3], micro = 0, vchan = 0, B;
	long n = 2400, steps = 20, esteps = 40, warm = 3, reps = 3;

	rq_progname_init(argc, argv);
	bench_cfg(&cfg);
	while ((ch = getopt(argc, argv,
	    "a:b:c:d:e:F:gH:k:L:m:n:Pp:q:rR:s:T:tu:v:w:")) != -1) {
		const rq_method *meth;
		switch (ch) {
		case 'm':
			if ((meth = rq_method_find(optarg)) == NULL)
				errx(2, "-m: unknown method: %s", optarg);
			cfg.method = meth->model;
			break;
		case 'F':
			cfg.fdepth = (int)bench_num(optarg, 1, 32, ch);
			break;
		case 'T':
			cfg.ftok = (int)bench_num(optarg, 1, 4096, ch);
			break;
		case 'a':
			dims(optarg, sh, 2, ch);
			cfg.F = sh[0];
			cfg.T = sh[1];
			break;
		case 'b':
			cfg.batch = (int)bench_num(optarg, 1, 1 << 16, ch);
			break;
		case 'c':
			vchan = (int)bench_num(optarg, 1, 4096, ch);
			break;
		case 'd':
			cfg.d = (int)bench_num(optarg, 1, 1 << 14, ch);
			break;
		case 'e':
			esteps = bench_num(optarg, 1, 1 << 20, ch);
			break;
		case 'g':
			mode = 'g';
			break;
		case 'H':
			cfg.heads = (int)bench_num(optarg, 1, 1024, ch);
			break;
		case 'k':
			cfg.classes = (int)bench_num(optarg, 2, 1 << 16, ch);
			break;
		case 'L':
			cfg.depth = (int)bench_num(optarg, 0, 32, ch);
			break;
		case 'n':
			n = bench_num(optarg, 1, 1 << 24, ch);
			break;
		case 'P':
			mode = 'P';
			break;
		case 'p':
			dims(optarg, sh, 2, ch);
			cfg.pf = sh[0];
			cfg.pt = sh[1];
			break;
		case 'q':
			dims(optarg, sh, 2, ch);
			cfg.ph = sh[0];
			cfg.pw = sh[1];
			break;
		case 'r':
			rolling = 1;
			break;
		case 'R':
			reps = bench_num(optarg, 1, 15, ch);
			break;
		case 's':
			steps = bench_num(optarg, 1, 1 << 20, ch);
			break;
		case 't':
			mode = 't';
			break;
		case 'u':
			micro = (int)bench_num(optarg, 1, 1 << 16, ch);
			break;
		case 'v':
			dims(optarg, sh, 3, ch);
			cfg.C = sh[0];
			cfg.H = sh[1];
			cfg.W = sh[2];
			cfg.vc = sh[0];
			break;
		case 'w':
			warm = bench_num(optarg, 0, 1 << 20, ch);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (mode == 0 || (mode == 'g') != (argc == 2) ||
	    (mode != 'g' && argc != 0))
		usage();
	if (vchan > 0)
		cfg.vc = vchan;
	B = cfg.batch;
	if (mode != 'g' && micro > 0 && micro < B)
		cfg.batch = micro;	/* the arena holds one micro-batch */
	if (rq_model_plan(&m, &cfg) != RQ_OK)
		errx(1, "cannot plan the model (sizes)");
	if (mode == 'P') {
		int na, nv;

		rq_model_tokens(m, &na, &nv);
		printf("impl=rq-plan batch=%d micro=%d d=%d layers=%d heads=%d "
		    "tokens_a=%d tokens_v=%d params=%zu arena_kb=%zu "
		    "fwd_flop_per_sample=%.6g\n", B, cfg.batch, cfg.d, cfg.depth,
		    cfg.heads, na, nv, rq_model_nparams(m),
		    rq_model_arena_bytes(m) / 1024, rq_model_flops(m));
		rq_model_free(m);
		return rq_finish_stdout() == 0 ? 0 : 1;
	}
	if (rq_model_alloc(m) != RQ_OK)
		errx(1, "cannot build the model (sizes or memory)");
	if (mode == 'g')
		gradmode(m, argv[0], argv[1]);
	else
		timemode(m, (size_t)B, n, steps, esteps, warm, reps, rolling);
	rq_model_free(m);
	return rq_finish_stdout() == 0 ? 0 : 1;
}
