/*
 * jmtpmr-step: one forward and backward of JMT or PMR (on Concat) from
 * given weights, for bench/grad-check-jmt-pmr.py.  Writes the loss (f64
 * [1]) and grad.<name> for every parameter to stdout.
 *
 *   jmtpmr-step -m jmt|pmr [-d width] [-L depth] [-H heads] [-b batch]
 *       [-A alpha] params.rqt batch.rqt [proto.rqt | R.rqt]
 *
 * params.rqt: one f32 record per parameter (rq's names); batch.rqt:
 * audio f32 [B,40,32], visual f32 [B,1,28,28], label i32 [B]; proto.rqt
 * (pmr): f64 [2,10,d], the prototypes; R.rqt (jmt): f64 [d,d], layer 1's
 * R_total.  PMR's loss is CE + probes +
 * beta_a PCE_a / B + beta_v PCE_v / B with rq-train's coefficients.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"
#include "bench.h"

static void
usage(void)
{
	fprintf(stderr, "usage: jmtpmr-step -m jmt|pmr [-d width] [-L depth] "
	    "[-H heads] [-b batch]\n"
	    "                   [-A alpha] params.rqt batch.rqt "
	    "[proto.rqt | R.rqt]\n");
	exit(2);
}

/* every record of path, handed to f */
static void
each(const char *path, void (*f)(rq_tensor *, void *), void *arg)
{
	rq_stream *s;
	rq_tensor t;
	int rc;

	rq_tensor_init(&t);
	if ((s = rq_stream_open(path, "r")) == NULL)
		err(1, "%s", path);
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK)
		f(&t, arg);
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(s));
	rq_stream_close(s);
	rq_tensor_free(&t);
}

static void
param(rq_tensor *t, void *arg)
{
	rq_model *m = arg;
	const rq_param *p = rq_model_find(m, t->name);

	if (p == NULL || t->dtype != RQ_F32 || t->nbytes != p->n * 4)
		errx(1, "params: %s: unknown or wrong size", t->name);
	memcpy(rq_model_params(m) + p->off, t->data, t->nbytes);
}

typedef struct batch {
	float *a, *v;
	int32_t *y;
	int B;
	rq_pmr *pmr;
} batch;

static void *
copy(const rq_tensor *t)
{
	void *p = malloc(t->nbytes);

	if (p == NULL)
		err(1, NULL);
	return memcpy(p, t->data, t->nbytes);
}

static void
sample(rq_tensor *t, void *arg)
{
	batch *b = arg;

	if (strcmp(t->name, "audio") == 0)
		b->a = copy(t);
	else if (strcmp(t->name, "visual") == 0)
		b->v = copy(t);
	else if (strcmp(t->name, "label") == 0) {
		b->y = copy(t);
		b->B = (int)t->dims[0];
	}
}

static void
rot(rq_tensor *t, void *arg)
{
	rq_model *m = arg;
	int d = rq_model_config(m)->d;

	if (t->dtype != RQ_F64 || t->nbytes != (size_t)d * d * sizeof(double))
		errx(1, "R: want f64 [d,d]");
	memcpy(rq_model_rotation(m, 0), t->data, t->nbytes);
}

static void
proto(rq_tensor *t, void *arg)
{
	batch *b = arg;

	if (t->dtype != RQ_F64 || t->nbytes != 2 * (size_t)b->pmr->K *
	    b->pmr->d * sizeof(double))
		errx(1, "proto: want f64 [2,K,d]");
	memcpy(b->pmr->proto, t->data, t->nbytes);
	b->pmr->have = 1;
}

int
main(int argc, char *argv[])
{
	rq_model_cfg c;
	rq_model *m;
	rq_pmr pmr;
	batch b = {0};
	const char *meth = NULL;
	double alpha = 0.6, loss, beta[2] = {0, 0}, pt[2] = {0, 0};
	int ch;

	rq_progname_init(argc, argv);
	bench_cfg(&c);
	c.drop = 0;
	while ((ch = getopt(argc, argv, "A:b:d:H:L:m:")) != -1) {
		switch (ch) {
		case 'A': alpha = atof(optarg); break;
		case 'b': c.batch = atoi(optarg); break;
		case 'd': c.d = atoi(optarg); break;
		case 'H': c.heads = atoi(optarg); break;
		case 'L': c.depth = atoi(optarg); break;
		case 'm': meth = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (meth == NULL || rq_method_find(meth) == NULL || argc < 2)
		usage();
	c.method = rq_method_find(meth)->model;
	if (rq_model_plan(&m, &c) != RQ_OK || rq_model_alloc(m) != RQ_OK)
		errx(1, "cannot build the model");
	each(argv[0], param, m);
	each(argv[1], sample, &b);
	if (!rq_method_find(meth)->pmr && argc > 2)
		each(argv[2], rot, m);
	if (b.a == NULL || b.v == NULL || b.y == NULL || b.B > c.batch)
		errx(1, "%s: want audio, visual, label", argv[1]);
	rq_model_zero_grad(m);
	loss = rq_model_forward(m, b.a, b.v, b.y, b.B, 0, NULL);
	if (rq_method_find(meth)->pmr) {
		if (argc < 3 || rq_pmr_init(&pmr, c.classes, c.d) != RQ_OK)
			usage();
		b.pmr = &pmr;
		each(argv[2], proto, &b);
		for (int md = 0; md < 2; md++)
			rq_pmr_pce(&pmr, md, rq_model_feature(m, md), b.y, b.B,
			    NULL, 0, &pt[md]);
		rq_pmr_beta(pt[0], pt[1], alpha, beta);
		for (int md = 0; md < 2; md++)
			if (beta[md] != 0)
				loss += beta[md] / b.B * rq_pmr_pce(&pmr, md,
				    rq_model_feature(m, md), b.y, b.B,
				    rq_model_feature_grad(m, md), beta[md] / b.B,
				    NULL);
		rq_pmr_free(&pmr);
	}
	rq_model_backward(m, b.y, b.B);
	bench_put_grads(m, loss);
	rq_model_free(m);
	free(b.a);
	free(b.v);
	free(b.y);
	return rq_finish_stdout() == 0 ? 0 : 1;
}
