/*
 * rq-train: train a model of DESIGN.md section 2 (unimodal, Concat, Sum,
 * Vanilla MT, MT + RollingQ, OGM-GE) from data set streams, one log line
 * per epoch, atomic resumable checkpoints.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "rq.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rq-train [-m method] [-d width] [-n depth] [-h heads] "
	    "[-x ratio]\n"
	    "                [-a FxT] [-v HxW] [-c channels] [-D drop] "
	    "[-e epochs] [-b batch]\n"
	    "                [-u micro] [-l lr] [-w warmup] [-O sgd|adamw] "
	    "[-W decay]\n"
	    "                [-s seed] [-j threads] [-o ckpt] [-r ckpt] [-L log] "
	    "[--rollingq]\n"
	    "                [--rho r] [--beta b] [--rmax n] "
	    "[--air-est full|last]\n"
	    "                [--rot plane|svd] [--air-dump prefix] "
	    "[--ogm-alpha a] [--ogm-ge]\n"
	    "                train val [test]\n"
	    "       rq-train --params-only [-m method] [-d width] [-n depth] "
	    "[-h heads]\n"
	    "                [-x ratio] [-a FxT] [-v HxW] [-c channels] "
	    "--audio FxT\n"
	    "                --visual CxHxW --classes K\n");
	exit(2);
}

typedef struct hyper {
	int method, epochs, batch, opt, rollingq, rmax, air_full, rot_svd;
	int ogm, ogm_ge, micro;
	double lr, warmup, wd, mom, rho, beta, ogm_alpha;
	uint64_t seed;
} hyper;

static volatile sig_atomic_t stop_sig;
static FILE *logfp;
static int drank, dsize = 1;	/* MPI rank and size (rq_dist_*) */

static void
on_signal(int sig)
{
	stop_sig = sig;
}

static long
num(const char *s, long lo, long hi, const char *what)
{
	long v;

	if (rq_parse_long(s, lo, hi, &v) != 0)
		errx(2, "%s: bad number: %s", what, s);
	return v;
}

static double
dbl(const char *s, const char *what)
{
	double v;

	if (rq_parse_double(s, &v) != 0)
		errx(2, "%s: bad number: %s", what, s);
	return v;
}

/* "AxB" or "AxBxC" into out[]; returns the count */
static int
dims_arg(const char *s, int *out, int want, const char *what)
{
	char buf[64], *p, *tok, *save = NULL;
	int n = 0;

	if (strlen(s) >= sizeof buf)
		errx(2, "%s: bad size: %s", what, s);
	strcpy(buf, s);
	for (p = buf; (tok = strtok_r(p, "x", &save)) != NULL; p = NULL) {
		if (n == want)
			errx(2, "%s: bad size: %s", what, s);
		out[n++] = (int)num(tok, 1, 1000000, what);
	}
	if (n != want)
		errx(2, "%s: bad size: %s", what, s);
	return n;
}

static void
hyper_str(const hyper *h, char *buf, size_t n)
{
	snprintf(buf, n,
	    "epochs=%d\nbatch=%d\nopt=%s\nlr=%a\nwarmup=%a\nwd=%a\nmom=%a\n"
	    "seed=%llu\nrollingq=%d\nrho=%a\nbeta=%a\nrmax=%d\nair_est=%s\n"
	    "rot=%s\nogm=%d\nogm_ge=%d\nogm_alpha=%a\nmicro=%d\n",
	    h->epochs, h->batch, h->opt == RQ_OPT_SGD ? "sgd" : "adamw", h->lr,
	    h->warmup, h->wd, h->mom, (unsigned long long)h->seed, h->rollingq,
	    h->rho, h->beta, h->rmax, h->air_full ? "full" : "last",
	    h->rot_svd ? "svd" : "plane", h->ogm, h->ogm_ge, h->ogm_alpha,
	    h->micro);
}

static const char *
hget(const char *s, const char *key, char *buf, size_t n)
{
	size_t kl = strlen(key);

	while (s != NULL && *s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (len > kl && strncmp(s, key, kl) == 0 && s[kl] == '=') {
			snprintf(buf, n, "%.*s", (int)(len - kl - 1), s + kl + 1);
			return buf;
		}
		s = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void
hyper_parse(hyper *h, const char *s, const char *path)
{
	char b[64];
	double x;

#define HD(k, dst) do { if (hget(s, k, b, sizeof b) == NULL || \
    (x = strtod(b, NULL), 0)) errx(1, "%s: record 0: train.%s missing", \
    path, k); dst = x; } while (0)
	HD("epochs", h->epochs);
	HD("batch", h->batch);
	HD("lr", h->lr);
	HD("warmup", h->warmup);
	HD("wd", h->wd);
	HD("mom", h->mom);
	/* the seed is a u64: through strtod it would lose bits past 2^53 */
	if (hget(s, "seed", b, sizeof b) == NULL ||
	    rq_parse_u64(b, &h->seed) != 0)
		errx(1, "%s: record 0: train.seed missing or bad", path);
	HD("rollingq", h->rollingq);
	HD("rho", h->rho);
	HD("beta", h->beta);
	HD("rmax", h->rmax);
	HD("ogm", h->ogm);
	HD("ogm_ge", h->ogm_ge);
	HD("ogm_alpha", h->ogm_alpha);
#undef HD
	if (hget(s, "opt", b, sizeof b) == NULL)
		errx(1, "%s: record 0: train.opt missing", path);
	h->opt = strcmp(b, "adamw") == 0 ? RQ_OPT_ADAMW : RQ_OPT_SGD;
	h->air_full = hget(s, "air_est", b, sizeof b) == NULL ||
	    strcmp(b, "full") == 0;
	h->rot_svd = hget(s, "rot", b, sizeof b) != NULL &&
	    strcmp(b, "svd") == 0;
	/* checkpoints from before -u ran whole batches */
	h->micro = hget(s, "micro", b, sizeof b) != NULL ? atoi(b) : 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
argmax(const float *p, int K)
{
	int k = 0;

	for (int j = 1; j < K; j++)
		if (p[j] > p[k])
			k = j;
	return k;
}

/* data-parallel collectives (one process: no-ops); any failure is fatal */
static void
dsum(double *v, size_t n)
{
	if (rq_dist_sum_f64(v, n) != RQ_OK)
		errx(1, "%s", rq_dist_error());
}

static void
dsumf(float *v, size_t n)
{
	if (rq_dist_sum_f32(v, n) != RQ_OK)
		errx(1, "%s", rq_dist_error());
}

/* the largest of every rank's v: a signal seen by one rank stops all */
static int
dmax(int v)
{
	if (rq_dist_max_int(&v) != RQ_OK)
		errx(1, "%s", rq_dist_error());
	return v;
}

/*
 * Replicas stay bitwise equal when every rank gets the same reduced
 * gradient; check it once an epoch (a hash of the weights) and, should
 * an MPI reduction order ever differ between ranks, copy rank 0's.
 */
static void
replica_check(rq_model *m)
{
	const unsigned char *p = (const unsigned char *)rq_model_params(m);
	size_t nb = rq_model_nparams(m) * sizeof(float);
	uint64_t x = 0xcbf29ce484222325ULL;
	int hv, hi, lo;

	for (size_t i = 0; i < nb; i++)
		x = (x ^ p[i]) * 0x100000001b3ULL;
	hv = (int)(x & 0x7fffffff);
	hi = dmax(hv);
	lo = -dmax(-hv);
	if (hi == lo)
		return;
	for (int k = -1; k < rq_model_config(m)->opt_slots; k++)
		if (rq_dist_bcast(k < 0 ? rq_model_params(m) :
		    rq_model_state(m, k), nb, 0) != RQ_OK)
			errx(1, "%s", rq_dist_error());
	if (drank == 0)
		fprintf(logfp, "# replicas differed; copied rank 0's weights\n");
}

typedef struct work {
	float *a, *v, *la, *lv;
	int32_t *y;
	int64_t *idx;
} work;

/*
 * OGM-GE: add each modality's summed softmax score of the true class
 * (from the unimodal logits of the last forward, nc samples) to s[0]
 * (audio) and s[1] (visual)
 */
static void
ogm_scores(rq_model *m, int nc, const int32_t *y, work *w, double s[2])
{
	int K = rq_model_config(m)->classes;

	rq_model_modality_logits(m, nc, w->la, w->lv);
	for (int md = 0; md < 2; md++) {
		const float *L = md ? w->lv : w->la;
		for (int b = 0; b < nc; b++) {
			const float *r = L + (size_t)b * K;
			double mx = r[argmax(r, K)], z = 0;
			for (int k = 0; k < K; k++)
				z += exp(r[k] - mx);
			s[md] += exp(r[y[b]] - mx) / z;
		}
	}
}

/* accuracy of the fused head and the probes over a data set (eval mode) */
static void
evaluate(rq_model *m, const rq_dataset *ds, work *w, int B, double acc[3],
    double *loss)
{
	int K = rq_model_config(m)->classes;
	double c[4] = {0, 0, 0, 0}, l = 0;
	size_t lo, cnt;

	/* each rank takes a contiguous part; the sums are reduced below */
	rq_dist_part(ds->n, drank, dsize, &lo, &cnt);
	for (size_t i = lo; i < lo + cnt; i += (size_t)B) {
		int nb = (int)RQ_MIN((size_t)B, lo + cnt - i);
		for (int b = 0; b < nb; b++)
			w->idx[b] = (int64_t)(i + b);
		rq_dataset_batch(ds, w->idx, nb, w->a, w->v, w->y);
		l += nb * rq_model_forward(m, w->a, w->v, w->y, nb, 0, NULL);
		for (int h = 0; h < 3; h++) {
			const float *p = rq_model_probs(m, h);
			if (p == NULL)
				continue;
			for (int b = 0; b < nb; b++)
				c[h] += argmax(p + (size_t)b * K, K) == w->y[b];
		}
	}
	c[3] = l;
	dsum(c, 4);
	l = c[3];
	for (int h = 0; h < 3; h++)
		acc[h] = rq_model_probs(m, h) ? c[h] / ds->n : NAN;
	*loss = l / ds->n;
}

/* AIR of fusion layer `layer` over a data set in eval mode: E[Q], E[Ka],
 * E[Kv] into eq, eka, ekv */
static double
air_pass(rq_model *m, int layer, const rq_dataset *ds, work *w, int B,
    double *eq, double *eka, double *ekv, float *ka, float *kv, float *dka,
    float *dkv)
{
	int d = rq_model_config(m)->d;
	double sa = 0, sv = 0, ca, cv, s2[2];
	const float *q;
	size_t lo, cnt;

	memset(eka, 0, (size_t)d * sizeof *eka);
	memset(ekv, 0, (size_t)d * sizeof *ekv);
	/* each rank a contiguous part; sums reduced so all get one R */
	rq_dist_part(ds->n, drank, dsize, &lo, &cnt);
	if (dka != NULL && dsize > 1)
		memset(dka, 0, ds->n * d * 2 * sizeof(float));
	for (size_t i = lo; i < lo + cnt; i += (size_t)B) {
		int nb = (int)RQ_MIN((size_t)B, lo + cnt - i);
		for (int b = 0; b < nb; b++)
			w->idx[b] = (int64_t)(i + b);
		rq_dataset_batch(ds, w->idx, nb, w->a, w->v, w->y);
		rq_model_forward(m, w->a, w->v, NULL, nb, 0, NULL);
		rq_model_kmeans(m, layer, nb, ka, kv);
		q = rq_model_query(m, layer);
		rq_air(q, ka, kv, (size_t)nb, (size_t)d, &ca, &cv);
		sa += ca * nb;
		sv += cv * nb;
		for (int b = 0; b < nb; b++)
			for (int j = 0; j < d; j++) {
				eka[j] += ka[(size_t)b * d + j];
				ekv[j] += kv[(size_t)b * d + j];
			}
		if (dka != NULL) {
			memcpy(dka + i * d, ka, (size_t)nb * d * sizeof(float));
			memcpy(dkv + i * d, kv, (size_t)nb * d * sizeof(float));
		}
	}
	s2[0] = sa;
	s2[1] = sv;
	dsum(s2, 2);
	sa = s2[0];
	sv = s2[1];
	dsum(eka, (size_t)d);
	dsum(ekv, (size_t)d);
	if (dka != NULL && dsize > 1)	/* gather: the parts are disjoint */
		dsumf(dka, ds->n * d * 2);
	q = rq_model_query(m, layer);
	for (int j = 0; j < d; j++) {
		eka[j] /= (double)ds->n;
		ekv[j] /= (double)ds->n;
		eq[j] = q[j];
	}
	return (sa - sv) / (double)ds->n;
}

static void
dump_air(const char *prefix, long epoch, const float *q, const float *ka,
    const float *kv, size_t n, int d)
{
	char path[4096];
	rq_stream *s;
	rq_tensor t;
	uint64_t dims[2];

	snprintf(path, sizeof path, "%s.%ld.rqt", prefix, epoch);
	if ((s = rq_stream_open(path, "w")) == NULL)
		err(1, "%s", path);
	rq_tensor_init(&t);
	dims[0] = (uint64_t)d;
	if (rq_tensor_alloc(&t, RQ_F32, 1, dims) != RQ_OK)
		errx(1, "out of memory");
	rq_tensor_set_name(&t, "fusion.q");
	rq_meta_set(&t, "epoch", "%ld", epoch);
	memcpy(t.data, q, t.nbytes);
	if (rq_tensor_write(s, &t) != RQ_OK)
		goto bad;
	dims[0] = n;
	dims[1] = (uint64_t)d;
	for (int i = 0; i < 2; i++) {
		if (rq_tensor_alloc(&t, RQ_F32, 2, dims) != RQ_OK)
			errx(1, "out of memory");
		rq_tensor_set_name(&t, i ? "fusion.kmean.visual" :
		    "fusion.kmean.audio");
		memcpy(t.data, i ? kv : ka, t.nbytes);
		if (rq_tensor_write(s, &t) != RQ_OK)
			goto bad;
	}
	rq_tensor_free(&t);
	if (rq_stream_close(s) != RQ_OK)
		err(1, "%s", path);
	return;
bad:
	warnx("%s", rq_stream_error(s));
	rq_stream_abort(s);
	exit(1);
}

static void
logline(const char *fmt, ...)
{
	va_list ap;

	if (drank != 0)		/* rank 0 alone logs */
		return;
	va_start(ap, fmt);
	vfprintf(logfp, fmt, ap);
	va_end(ap);
	fflush(logfp);
}

static void
params_only(rq_model *m, const rq_model_cfg *c)
{
	double sum[4] = {0, 0, 0, 0}, f = rq_model_flops(m), d = c->d;
	int na, nv;

	rq_model_tokens(m, &na, &nv);
	printf("method=%s d=%d depth=%d heads=%d mlp=%d classes=%d\n",
	    rq_method_name(c->method), c->d, c->depth, c->heads, c->mlp,
	    c->classes);
	printf("tokens audio=%d visual=%d\n", na, nv);
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		int part = strncmp(p->name, "enc.a.", 6) == 0 ? 0 :
		    strncmp(p->name, "enc.v.", 6) == 0 ? 1 : p->group ? 3 : 2;
		sum[part] += (double)p->n;
	}
	printf("params enc.a=%.0f enc.v=%.0f head=%.0f probes=%.0f\n", sum[0],
	    sum[1], sum[2], sum[3]);
	printf("params live=%.0f (without the probes)\n", sum[0] + sum[1] +
	    sum[2]);
	if (c->method == RQ_METHOD_MT) {
		/* the authors' model object builds two unused tensors */
		double ln = 2 * d, bot = 4 * d;
		printf("params dead fusion.layer_norm=%.0f mbt.bot_token=%.0f\n",
		    ln, bot);
		printf("params paper=%.0f (live + dead; the authors' count: "
		    "encoder + fusion module, probes excluded)\n",
		    sum[0] + sum[1] + sum[2] + ln + bot);
		printf("params nontrainable R=%.0f\n", d * d);
	}
	if (c->method == RQ_METHOD_MTSTAR) {
		/* MT*: two fusion layers of the same form, one R each */
		double fl[2] = {0, 0};
		for (int i = 0; i < rq_model_ntable(m); i++) {
			const rq_param *p = rq_model_table(m, i);
			if (strncmp(p->name, "fusion.1.", 9) == 0)
				fl[1] += (double)p->n;
			else if (strncmp(p->name, "fusion.", 7) == 0 &&
			    strcmp(p->name, "fusion.fc.w") != 0 &&
			    strcmp(p->name, "fusion.fc.b") != 0)
				fl[0] += (double)p->n;
		}
		printf("params fusion.layer1=%.0f fusion.layer2=%.0f\n", fl[0],
		    fl[1]);
		printf("params nontrainable R=%.0f (R1 + R2)\n", 2 * d * d);
	}
	printf("params trainable=%zu (built by rq, probes included)\n",
	    rq_model_nparams(m));
	if (rq_model_fusion_layers(m) > 0)
		printf("flops forward=%.0f without_R=%.0f per sample\n", f,
		    f - rq_model_fusion_layers(m) * 2 * d * d);
	else
		printf("flops forward=%.0f per sample\n", f);
}

static int
default_patch(int x)
{
	return x >= 4 ? x / 4 : 1;
}

int
main(int argc, char **argv)
{
	static struct option lo[] = {
		{"rollingq", no_argument, NULL, 1},
		{"rho", required_argument, NULL, 2},
		{"beta", required_argument, NULL, 3},
		{"rmax", required_argument, NULL, 4},
		{"air-est", required_argument, NULL, 5},
		{"rot", required_argument, NULL, 6},
		{"air-dump", required_argument, NULL, 7},
		{"ogm-alpha", required_argument, NULL, 8},
		{"ogm-ge", no_argument, NULL, 9},
		{"params-only", no_argument, NULL, 10},
		{"audio", required_argument, NULL, 11},
		{"visual", required_argument, NULL, 12},
		{"classes", required_argument, NULL, 13},
		{NULL, 0, NULL, 0}
	};
	rq_model_cfg cfg;
	rq_model *m = NULL;
	rq_dataset ds[3];
	rq_train_state st;
	hyper h;
	work w;
	char errbuf[512], hyp[2048], best_path[4096];
	const char *out = NULL, *resume = NULL, *logpath = NULL;
	const char *airdump = NULL;
	int c, threads = 1, paonly = 0, pa[2] = {0, 0}, pv[2] = {0, 0};
	int vchan = 0, sh_a[2] = {0, 0}, sh_v[3] = {0, 0, 0}, ncls = 0;
	int nsets, K, d, B, U, tty, seen_ogm = 0, set_e = 0, set_l = 0;
	long nb, total, warm;
	size_t fa, fv;
	double *eq = NULL, *eka = NULL, *ekv = NULL, *Rn = NULL, *qb = NULL;
	float *ka = NULL, *kv = NULL, *dka = NULL, *dkv = NULL;
	struct rusage ru;
	rq_rng drng;
	int stopnow;

	rq_progname_init(argc, argv);
	if (rq_dist_init(&argc, &argv) != RQ_OK)
		errx(1, "%s", rq_dist_error());
	drank = rq_dist_rank();
	dsize = rq_dist_size();
	rq_model_cfg_defaults(&cfg);
	memset(&h, 0, sizeof h);
	h.method = RQ_METHOD_MT;
	h.epochs = 30;
	h.batch = 64;
	h.opt = RQ_OPT_SGD;
	h.lr = 1e-3;
	h.warmup = 2.5;
	h.wd = 1e-4;
	h.mom = 0.9;
	h.rmax = 1;
	h.air_full = 1;
	h.ogm_alpha = 0.5;
	while ((c = getopt_long(argc, argv, "m:d:n:h:x:a:v:c:D:e:b:u:l:w:O:W:"
	    "s:j:o:r:L:", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "mt-rq") == 0) {
				h.method = RQ_METHOD_MT;
				h.rollingq = 1;
			} else if (strcmp(optarg, "mtstar-rq") == 0) {
				h.method = RQ_METHOD_MTSTAR;
				h.rollingq = 1;
			} else if (strcmp(optarg, "ogm") == 0 ||
			    strcmp(optarg, "concat-ogm") == 0) {
				h.method = RQ_METHOD_CONCAT;
				h.ogm = 1;
			} else if ((h.method = rq_method_parse(optarg)) < 0)
				errx(2, "-m: unknown method: %s", optarg);
			break;
		case 'd': cfg.d = (int)num(optarg, 1, 65536, "-d"); break;
		case 'n': cfg.depth = (int)num(optarg, 0, 32, "-n"); break;
		case 'h': cfg.heads = (int)num(optarg, 1, 4096, "-h"); break;
		case 'x': cfg.mlp = (int)num(optarg, 1, 64, "-x"); break;
		case 'a': dims_arg(optarg, pa, 2, "-a"); break;
		case 'v': dims_arg(optarg, pv, 2, "-v"); break;
		case 'c': vchan = (int)num(optarg, 1, 4096, "-c"); break;
		case 'D':
			cfg.drop = (float)dbl(optarg, "-D");
			if (!(cfg.drop >= 0 && cfg.drop < 1))
				errx(2, "-D: need 0 <= drop < 1: %s", optarg);
			break;
		case 'e': h.epochs = (int)num(optarg, 1, 1000000, "-e");
			set_e = 1;
			break;
		case 'b': h.batch = (int)num(optarg, 1, 1 << 20, "-b"); break;
		case 'u': h.micro = (int)num(optarg, 1, 1 << 20, "-u"); break;
		case 'l': h.lr = dbl(optarg, "-l"); set_l = 1; break;
		case 'w': h.warmup = dbl(optarg, "-w"); break;
		case 'O':
			if (strcmp(optarg, "sgd") == 0)
				h.opt = RQ_OPT_SGD;
			else if (strcmp(optarg, "adamw") == 0)
				h.opt = RQ_OPT_ADAMW;
			else
				errx(2, "-O: unknown optimizer: %s", optarg);
			break;
		case 'W': h.wd = dbl(optarg, "-W"); break;
		case 's': {
			uint64_t u;
			if (rq_parse_u64(optarg, &u) != 0)
				errx(2, "-s: bad seed: %s", optarg);
			h.seed = u;
			break;
		}
		case 'j': threads = (int)num(optarg, 1, 256, "-j"); break;
		case 'o': out = optarg; break;
		case 'r': resume = optarg; break;
		case 'L': logpath = optarg; break;
		case 1: h.rollingq = 1; break;
		case 2: h.rho = dbl(optarg, "--rho"); break;
		case 3: h.beta = dbl(optarg, "--beta"); break;
		case 4: h.rmax = (int)num(optarg, 0, 1000000, "--rmax"); break;
		case 5:
			if (strcmp(optarg, "full") == 0)
				h.air_full = 1;
			else if (strcmp(optarg, "last") == 0)
				h.air_full = 0;
			else
				errx(2, "--air-est: need full or last: %s", optarg);
			break;
		case 6:
			if (strcmp(optarg, "plane") == 0)
				h.rot_svd = 0;
			else if (strcmp(optarg, "svd") == 0)
				h.rot_svd = 1;
			else
				errx(2, "--rot: need plane or svd: %s", optarg);
			break;
		case 7: airdump = optarg; break;
		case 8: h.ogm_alpha = dbl(optarg, "--ogm-alpha"); seen_ogm = 1;
			break;
		case 9: h.ogm_ge = 1; seen_ogm = 1; break;
		case 10: paonly = 1; break;
		case 11: dims_arg(optarg, sh_a, 2, "--audio"); break;
		case 12: dims_arg(optarg, sh_v, 3, "--visual"); break;
		case 13: ncls = (int)num(optarg, 2, 1000000, "--classes"); break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (seen_ogm && h.method != RQ_METHOD_CONCAT &&
	    h.method != RQ_METHOD_SUM)
		errx(2, "--ogm-*: OGM-GE needs method concat or sum");
	if (seen_ogm)
		h.ogm = 1;
	if (h.rollingq && h.method != RQ_METHOD_MT &&
	    h.method != RQ_METHOD_MTSTAR)
		errx(2, "--rollingq: needs method mt or mtstar");
	if (!(h.lr > 0) || !(h.warmup >= 0) || !(h.wd >= 0))
		errx(2, "-l, -w, -W: need lr > 0, warmup >= 0, decay >= 0");
	openblas_set_num_threads(threads);

	if (paonly) {
		if (argc != 0 || sh_a[0] == 0 || sh_v[0] == 0 || ncls == 0)
			usage();
		cfg.method = h.method;
		cfg.F = sh_a[0];
		cfg.T = sh_a[1];
		cfg.C = sh_v[0];
		cfg.H = sh_v[1];
		cfg.W = sh_v[2];
		cfg.classes = ncls;
		cfg.pf = pa[0] ? pa[0] : default_patch(cfg.F);
		cfg.pt = pa[1] ? pa[1] : default_patch(cfg.T);
		cfg.ph = pv[0] ? pv[0] : default_patch(cfg.H);
		cfg.pw = pv[1] ? pv[1] : default_patch(cfg.W);
		cfg.vc = vchan ? vchan : cfg.C % 3 == 0 ? 3 : 1;
		if (rq_model_plan(&m, &cfg) != RQ_OK)
			errx(2, "impossible model configuration");
		if (drank == 0)
			params_only(m, &cfg);
		rq_model_free(m);
		rq_dist_finalize();
		return rq_finish_stdout() == 0 ? 0 : 1;
	}
	if (argc < 2 || argc > 3)
		usage();
	nsets = argc;

	if (resume != NULL) {
		if (rq_ckpt_config(resume, &cfg, hyp, sizeof hyp, errbuf,
		    sizeof errbuf) != RQ_OK)
			errx(1, "%s", errbuf);
		hyper cli = h;
		h.method = cfg.method;
		hyper_parse(&h, hyp, resume);
		/* -e and -l on the command line override the checkpoint's */
		if (set_e)
			h.epochs = cli.epochs;
		if (set_l)
			h.lr = cli.lr;
	}
	memset(ds, 0, sizeof ds);
	for (int i = 0; i < nsets; i++)
		if (rq_dataset_load(&ds[i], argv[i], errbuf, sizeof errbuf) !=
		    RQ_OK)
			errx(1, "%s", errbuf);
	for (int i = 1; i < nsets; i++)
		if (ds[i].F != ds[0].F || ds[i].T != ds[0].T ||
		    ds[i].C != ds[0].C || ds[i].H != ds[0].H ||
		    ds[i].W != ds[0].W)
			errx(1, "%s: sample shapes differ from %s", argv[i],
			    argv[0]);
	K = ds[0].classes;
	for (int i = 1; i < nsets; i++)
		K = RQ_MAX(K, ds[i].classes);
	if (resume == NULL) {
		cfg.method = h.method;
		cfg.F = ds[0].F;
		cfg.T = ds[0].T;
		cfg.C = ds[0].C;
		cfg.H = ds[0].H;
		cfg.W = ds[0].W;
		cfg.classes = K;
		cfg.pf = pa[0] ? pa[0] : default_patch(cfg.F);
		cfg.pt = pa[1] ? pa[1] : default_patch(cfg.T);
		cfg.ph = pv[0] ? pv[0] : default_patch(cfg.H);
		cfg.pw = pv[1] ? pv[1] : default_patch(cfg.W);
		cfg.vc = vchan ? vchan : cfg.C % 3 == 0 ? 3 : 1;
	} else if (cfg.F != ds[0].F || cfg.T != ds[0].T || cfg.C != ds[0].C ||
	    cfg.H != ds[0].H || cfg.W != ds[0].W || K > cfg.classes)
		errx(1, "%s: data shapes differ from checkpoint %s", argv[0],
		    resume);
	/*
	 * The arena holds U samples' activations: a rank's share of the
	 * batch, or -u's micro-batch if smaller.  Larger batches run in parts
	 * whose gradients add up (rq_model_backward_part).
	 */
	B = h.batch;
	U = (B + dsize - 1) / dsize;
	if (h.micro > 0 && h.micro < U)
		U = h.micro;
	cfg.batch = U;
	cfg.opt_slots = h.opt == RQ_OPT_SGD ? 1 : 2;
	if ((c = rq_model_plan(&m, &cfg)) != RQ_OK)
		errx(2, "impossible model configuration (width %d, heads %d, "
		    "patches %dx%d and %dx%d for audio %dx%d, visual %dx%dx%d)",
		    cfg.d, cfg.heads, cfg.pf, cfg.pt, cfg.ph, cfg.pw, cfg.F, cfg.T,
		    cfg.C, cfg.H, cfg.W);
	if (rq_model_alloc(m) != RQ_OK)
		errx(1, "out of memory: %zu bytes", rq_model_arena_bytes(m));
	d = cfg.d;
	fa = (size_t)cfg.F * cfg.T;
	fv = (size_t)cfg.C * cfg.H * cfg.W;

	/* everything a step needs, allocated once */
	w.a = malloc((size_t)B * cfg.F * cfg.T * sizeof(float));
	w.v = malloc((size_t)B * cfg.C * cfg.H * cfg.W * sizeof(float));
	w.la = malloc((size_t)B * K * 2 * sizeof(float));
	w.lv = w.la + (size_t)B * K;
	w.y = malloc((size_t)B * sizeof(int32_t));
	w.idx = malloc((size_t)B * sizeof(int64_t));
	memset(&st, 0, sizeof st);
	st.nperm = ds[0].n;
	st.perm = malloc(ds[0].n * sizeof(int64_t));
	eq = calloc((size_t)d * 5, sizeof(double));
	Rn = calloc((size_t)d * d, sizeof(double));
	ka = malloc((size_t)B * d * 2 * sizeof(float));
	if (w.a == NULL || w.v == NULL || w.la == NULL || w.y == NULL ||
	    w.idx == NULL || st.perm == NULL || eq == NULL || Rn == NULL ||
	    ka == NULL)
		errx(1, "out of memory");
	eka = eq + d;
	ekv = eq + 2 * d;
	qb = eq + 3 * d;
	kv = ka + (size_t)B * d;
	if (airdump != NULL && rq_model_fusion_layers(m) > 0) {
		dka = malloc(ds[0].n * d * 2 * sizeof(float));
		if (dka == NULL)
			errx(1, "out of memory");
		dkv = dka + ds[0].n * d;
	}

	if (resume != NULL) {
		if (rq_ckpt_load(resume, m, &st, errbuf, sizeof errbuf) != RQ_OK)
			errx(1, "%s", errbuf);
	} else {
		rq_rng_seed(&st.rng, h.seed);
		rq_model_init_params(m, &st.rng);
		st.best_val = -1;
		st.best_test = NAN;
		st.best_epoch = -1;
	}
	hyper_str(&h, st.hyper, sizeof st.hyper);
	if (dsize > 1) {
		/* one replica: rank 0's weights, optimizer state and R */
		if (rq_dist_bcast(rq_model_params(m), rq_model_nparams(m) *
		    sizeof(float), 0) != RQ_OK)
			errx(1, "%s", rq_dist_error());
		for (int k = 0; k < cfg.opt_slots; k++)
			if (rq_dist_bcast(rq_model_state(m, k),
			    rq_model_nparams(m) * sizeof(float), 0) != RQ_OK)
				errx(1, "%s", rq_dist_error());
		for (int k = 0; k < rq_model_fusion_layers(m); k++)
			if (rq_dist_bcast(rq_model_rotation(m, k), (size_t)d * d *
			    sizeof(double), 0) != RQ_OK)
				errx(1, "%s", rq_dist_error());
	}

	logfp = stderr;
	if (drank == 0 && logpath != NULL &&
	    (logfp = fopen(logpath, "a")) == NULL)
		err(1, "%s", logpath);
	tty = drank == 0 && isatty(STDERR_FILENO);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (out != NULL)
		snprintf(best_path, sizeof best_path, "%s.best", out);

	nb = (long)((ds[0].n + B - 1) / B);
	total = nb * h.epochs;
	warm = (long)floor(h.warmup * nb);
	if (resume == NULL)
		logline("# rq-train method=%s%s d=%d depth=%d heads=%d mlp=%d "
		    "patches=%dx%d,%dx%d params=%zu epochs=%d batch=%d "
		    "micro=%d lr=%g opt=%s seed=%llu threads=%d rho=%g beta=%g "
		    "rmax=%d air_est=%s rot=%s\n",
		    rq_method_name(cfg.method), h.rollingq ? "+rollingq" : h.ogm ?
		    "+ogm" : "", d, cfg.depth, cfg.heads, cfg.mlp, cfg.pf, cfg.pt,
		    cfg.ph, cfg.pw, rq_model_nparams(m), h.epochs, B, U, h.lr,
		    h.opt == RQ_OPT_SGD ? "sgd" : "adamw",
		    (unsigned long long)h.seed, threads, h.rho, h.beta, h.rmax,
		    h.air_full ? "full" : "last", h.rot_svd ? "svd" : "plane");
	if (rq_dist_enabled())
		logline("# rq-train-mpi ranks=%d global_batch=%d "
		    "dropout_rng=%s\n", dsize, B, dsize > 1 ?
		    "per-rank-per-step" : "shared");

	for (; st.epoch < h.epochs; st.epoch++) {
		double t0 = now(), lr = h.lr, vacc[3], tacc[3], vloss, tloss;
		double air = NAN, ca, cv, airl[2] = {NAN, NAN};
		int rotated = 0, nfl, nextl;
		char x2[96] = "";
		long e = st.epoch;

		stopnow = dsize > 1 ? dmax(stop_sig) : stop_sig;
		if (st.batch == 0 && stopnow) {
			/* between epochs: the epoch checkpoint is the resume point */
			if (out == NULL)
				errx(1, "signal %d: stopped after epoch %ld (no -o, "
				    "nothing saved)", (int)stop_sig, e);
			if (drank == 0 && rq_ckpt_save(out, m, &st, errbuf,
			    sizeof errbuf) != RQ_OK)
				errx(1, "%s", errbuf);
			rq_dist_barrier();
			errx(1, "signal %d: saved %s after epoch %ld; resume with -r "
			    "%s", (int)stop_sig, out, e, out);
		}
		if (st.batch == 0) {
			for (size_t i = 0; i < ds[0].n; i++)
				st.perm[i] = (int64_t)i;
			rq_rng_shuffle(&st.rng, st.perm, ds[0].n);
			memset(st.acc, 0, sizeof st.acc);
		}
		for (long bi = st.batch; bi < nb; bi++) {
			size_t i0 = (size_t)bi * B, off, ln;
			int n = (int)RQ_MIN((size_t)B, ds[0].n - i0), nl;
			double loss, red[8] = {0, 0, 0, 0, 0, 0, 0, 0};
			double ogs[2] = {0, 0};
			if (dsize == 1)
				stopnow = stop_sig;
			if (stopnow && bi > 0) {
				st.batch = bi;
				if (out == NULL)
					errx(1, "signal %d: stopped at epoch %ld batch "
					    "%ld (no -o, nothing saved)", (int)stop_sig,
					    e + 1, bi);
				if (drank == 0 && rq_ckpt_save(out, m, &st, errbuf,
				    sizeof errbuf) != RQ_OK)
					errx(1, "%s", errbuf);
				rq_dist_barrier();
				errx(1, "signal %d: saved %s at epoch %ld batch %ld; "
				    "resume with -r %s", (int)stop_sig, out, e + 1, bi,
				    out);
			}
			/*
			 * Rank r takes the contiguous part r of the global batch
			 * (every rank holds the same permutation) and runs it in
			 * micro-batches of at most U samples.  Each part's
			 * gradient is that of its losses' sum over the n samples
			 * of the global batch, so the parts and ranks sum to the
			 * gradient of the mean over the global batch.  Dropout
			 * on more than one rank draws from a per-rank stream
			 * reseeded every step (st.rng must stay in step on all
			 * ranks: it shuffles); on one rank it is st.rng as in
			 * rq-train.
			 */
			rq_dist_part((size_t)n, drank, dsize, &off, &ln);
			nl = (int)ln;
			rq_model_zero_grad(m);
			if (nl > 0)
				rq_dataset_batch(&ds[0], st.perm + i0 + off, nl, w.a,
				    w.v, w.y);
			if (nl > 0 && dsize > 1)
				rq_rng_seed(&drng, h.seed ^ (0x9e3779b97f4a7c15ULL *
				    ((uint64_t)st.step * (uint64_t)dsize +
				    (uint64_t)drank + 1)));
			for (int o = 0; o < nl; o += U) {
				int nc = RQ_MIN(U, nl - o);
				const int32_t *yc = w.y + o;
				loss = rq_model_forward(m, w.a + (size_t)o * fa,
				    w.v + (size_t)o * fv, yc, nc, 1, dsize > 1 ?
				    &drng : &st.rng);
				red[0] += loss * nc;
				red[1] += nc;
				for (int hh = 0; hh < 3; hh++) {
					const float *p = rq_model_probs(m, hh);
					if (p == NULL)
						continue;
					for (int b = 0; b < nc; b++)
						red[2 + hh] += argmax(p + (size_t)b * K,
						    K) == yc[b];
				}
				if (h.ogm)	/* OGM-GE's scores, summed below */
					ogm_scores(m, nc, yc, &w, ogs);
				/* a NaN loss stops below, before any update */
				if (isfinite(loss))
					rq_model_backward_part(m, yc, nc, n);
			}
			if (dsize > 1) {
				red[7] = stop_sig;
				red[5] = ogs[0];
				red[6] = ogs[1];
				dsum(red, 8);
				stopnow = red[7] > 0;
				ogs[0] = red[5];
				ogs[1] = red[6];
				dsumf(rq_model_grads(m), rq_model_nparams(m));
			}
			loss = red[1] > 0 ? red[0] / red[1] : 0;
			if (!isfinite(loss))
				errx(1, "%s: epoch %ld batch %ld: loss is %g; stopped; "
				    "the last good checkpoint is %s", argv[0], e + 1, bi,
				    loss, out != NULL ? out : "(none: no -o)");
			if (h.ogm) {
				/* the global batch's score ratio scales the encoders */
				double ratio = ogs[0] / ogs[1];
				float coef[2] = {1, 1};
				if (ratio > 1)
					coef[0] = (float)(1 - tanh(h.ogm_alpha *
					    (ratio - 1)));
				else if (ratio < 1)
					coef[1] = (float)(1 - tanh(h.ogm_alpha *
					    (1 / ratio - 1)));
				for (int md = 0; md < 2; md++)
					rq_model_scale_encoder_grad(m, md, coef[md],
					    h.ogm_ge, &st.rng);
			}
			lr = rq_lr_cosine(h.lr, st.step, warm, total);
			if (h.opt == RQ_OPT_SGD)
				rq_sgd_step(rq_model_params(m), rq_model_grads(m),
				    rq_model_state(m, 0), rq_model_nparams(m), lr, h.mom,
				    h.wd);
			else
				rq_adamw_step(rq_model_params(m), rq_model_grads(m),
				    rq_model_state(m, 0), rq_model_state(m, 1),
				    rq_model_nparams(m), lr, 0.9, 0.999, 1e-8, h.wd,
				    st.step + 1);
			st.step++;
			for (int j = 0; j < 5; j++)
				st.acc[j] += red[j];
			if (tty) {
				int done = (int)(40 * (bi + 1) / nb);
				fprintf(stderr, "\r%ld/%d [%-40.*s] loss %.4f", e + 1,
				    h.epochs, done, "========================================",
				    st.acc[0] / st.acc[1]);
			}
		}
		if (tty)
			fprintf(stderr, "\r%*s\r", 70, "");
		st.batch = 0;
		if (dsize > 1)
			replica_check(m);
		tloss = st.acc[0] / st.acc[1];
		for (int hh = 0; hh < 3; hh++)
			tacc[hh] = rq_model_probs(m, hh) ? st.acc[2 + hh] / st.acc[1] :
			    NAN;

		/*
		 * RollingQ on every fusion layer of MT and MT*.  MT* rotates
		 * progressively: the layer next in line is the one with fewer
		 * rotations (layer 1 on ties), so triggers alternate layer 1,
		 * layer 2, layer 1, ...; --rmax bounds each layer's count.
		 * Its statistics are computed last so eq, eka, ekv hold them.
		 */
		nfl = rq_model_fusion_layers(m);
		nextl = nfl > 1 && *rq_model_rotations(m, 1) <
		    *rq_model_rotations(m, 0) ? 1 : 0;
		for (int k = 0; k < nfl; k++) {
			int l = (nextl + 1 + k) % nfl;
			if (h.air_full || airdump != NULL)
				airl[l] = air_pass(m, l, &ds[0], &w, U, eq, eka, ekv,
				    ka, kv, dka, dkv);
			if (!h.air_full) {
				/* the authors' estimate: the last training batch */
				size_t i0 = (size_t)(nb - 1) * B;
				int n = (int)(ds[0].n - i0);
				rq_dataset_batch(&ds[0], st.perm + i0, n, w.a, w.v,
				    w.y);
				for (int o = 0; o < n; o += U) {
					int nc = RQ_MIN(U, n - o);
					rq_model_forward(m, w.a + (size_t)o * fa,
					    w.v + (size_t)o * fv, NULL, nc, 0, NULL);
					rq_model_kmeans(m, l, nc, ka + (size_t)o * d,
					    kv + (size_t)o * d);
				}
				airl[l] = rq_air(rq_model_query(m, l), ka, kv,
				    (size_t)n, (size_t)d, &ca, &cv);
				memset(eka, 0, (size_t)d * sizeof *eka);
				memset(ekv, 0, (size_t)d * sizeof *ekv);
				for (int b = 0; b < n; b++)
					for (int j = 0; j < d; j++) {
						eka[j] += ka[(size_t)b * d + j] / (double)n;
						ekv[j] += kv[(size_t)b * d + j] / (double)n;
					}
				for (int j = 0; j < d; j++)
					eq[j] = rq_model_query(m, l)[j];
			}
			if (airdump != NULL && drank == 0) {
				/* layer 2 of MT*: <prefix>.l2.<epoch>.rqt */
				char pfx[3072];
				snprintf(pfx, sizeof pfx, "%s%s", airdump,
				    l ? ".l2" : "");
				dump_air(pfx, e + 1, rq_model_query(m, l), dka, dkv,
				    ds[0].n, d);
			}
		}
		if (nfl > 0)
			air = airl[0];
		if (nfl > 0 && h.rollingq &&
		    *rq_model_rotations(m, nextl) < h.rmax &&
		    fabs(airl[nextl]) > h.beta) {
			double alpha, *R = rq_model_rotation(m, nextl);
			int rc;
			if (rq_rollingq_anchor(qb, &alpha, eq, eka, ekv, airl[nextl],
			    h.rho, (size_t)d) != RQ_OK)
				errx(1, "epoch %ld: RollingQ anchor failed "
				    "(zero key mean?)", e + 1);
			rc = h.rot_svd ? rq_rotation_svd(Rn, eq, qb, (size_t)d) :
			    rq_rotation_plane(Rn, eq, qb, (size_t)d);
			if (rc != RQ_OK)
				errx(1, "epoch %ld: rotation failed", e + 1);
			/* R_total <- R_new R_total */
			double *tmp = eq + 4 * d;
			for (int j = 0; j < d; j++) {
				for (int i = 0; i < d; i++) {
					double s = 0;
					for (int k = 0; k < d; k++)
						s += Rn[(size_t)i * d + k] *
						    R[(size_t)k * d + j];
					tmp[i] = s;
				}
				for (int i = 0; i < d; i++)
					R[(size_t)i * d + j] = tmp[i];
			}
			(*rq_model_rotations(m, nextl))++;
			rotated = nextl + 1;
			logline("# epoch=%ld rotation=%ld air=%.6f alpha=%.6f "
			    "rho=%g layer=%d\n", e + 1,
			    *rq_model_rotations(m, nextl), airl[nextl], alpha, h.rho,
			    nextl + 1);
		}
		evaluate(m, &ds[1], &w, U, vacc, &vloss);
		/* test accuracy of this epoch, used if it is the best on val */
		double test_acc = NAN, ta[3] = {NAN, NAN, NAN};
		if (nsets > 2) {
			double tl;
			evaluate(m, &ds[2], &w, U, ta, &tl);
			test_acc = ta[0];
		}
		tloss = st.acc[0] / st.acc[1];
		int best = vacc[0] > st.best_val;
		if (best) {
			st.best_val = vacc[0];
			st.best_test = test_acc;
			st.best_train = tacc[0];
			st.best_epoch = e + 1;
		}
		st.epoch = e + 1;
		if (out != NULL && drank == 0) {
			if (best && rq_ckpt_save(best_path, m, &st, errbuf,
			    sizeof errbuf) != RQ_OK)
				errx(1, "%s", errbuf);
			if (rq_ckpt_save(out, m, &st, errbuf, sizeof errbuf) !=
			    RQ_OK)
				errx(1, "%s", errbuf);
		}
		st.epoch = e;
		if (nfl > 1)	/* MT*: layer 2 (air, rotations: layer 1) */
			snprintf(x2, sizeof x2, " air2=%.6f rotations2=%ld", airl[1],
			    *rq_model_rotations(m, 1));
		logline("epoch=%ld lr=%.6g loss=%.6f train_acc=%.4f "
		    "train_acc_a=%.4f train_acc_v=%.4f val_loss=%.6f "
		    "val_acc=%.4f val_acc_a=%.4f val_acc_v=%.4f test_acc=%.4f "
		    "test_acc_a=%.4f test_acc_v=%.4f "
		    "air=%.6f rotations=%ld rotated=%d%s seconds=%.3f\n", e + 1,
		    lr, tloss, tacc[0], tacc[1], tacc[2], vloss, vacc[0], vacc[1],
		    vacc[2], test_acc, ta[1], ta[2], air, rq_model_rotations(m, 0) ?
		    *rq_model_rotations(m, 0) : 0L, rotated, x2, now() - t0);
	}
	getrusage(RUSAGE_SELF, &ru);
	logline("best_epoch=%ld val_acc=%.4f test_acc=%.4f train_acc=%.4f "
	    "peak_rss_kb=%ld arena_bytes=%zu\n", st.best_epoch, st.best_val,
	    st.best_test, st.best_train, ru.ru_maxrss, rq_model_arena_bytes(m));
	if (logfp != stderr && fclose(logfp) != 0)
		err(1, "%s", logpath);
	rq_dist_barrier();	/* rank 0's checkpoint is whole before exit */
	rq_dist_finalize();
	rq_model_free(m);
	for (int i = 0; i < nsets; i++)
		rq_dataset_free(&ds[i]);
	free(w.a); free(w.v); free(w.la); free(w.y); free(w.idx);
	free(st.perm); free(eq); free(Rn); free(ka); free(dka);
	return 0;
}
