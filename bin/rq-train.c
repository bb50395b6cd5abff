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
#include <sys/stat.h>
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

static volatile sig_atomic_t stop_sig;
static FILE *logfp;
static int drank, dsize = 1;	/* MPI rank and size (rq_dist_*) */
static const char *argv0 = "rq-train";	/* as typed, for resume_cmd */

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

/* 0 for w0, 1 for w1 */
static int
pick(const char *s, const char *w0, const char *w1, const char *what)
{
	if (strcmp(s, w0) != 0 && strcmp(s, w1) != 0)
		errx(2, "%s: need %s or %s: %s", what, w0, w1, s);
	return strcmp(s, w1) == 0;
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

/* rank 0's buf to every rank */
static void
dbcast(void *buf, size_t nbytes)
{
	if (rq_dist_bcast(buf, nbytes, 0) != RQ_OK)
		errx(1, "%s", rq_dist_error());
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
		dbcast(k < 0 ? rq_model_params(m) : rq_model_state(m, k), nb);
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

/* a lost log line is a lost result: exit 1 naming the log */
static const char *logname = "standard error";

static void
log_failed(void)
{
	int e = errno ? errno : EIO;

	errx(1, "%s: cannot write the log: %s", logname, strerror(e));
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
	if (fflush(logfp) != 0 || ferror(logfp))
		log_failed();
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

/* the command line */
typedef struct opts {
	rq_train_cfg tc;
	rq_model_cfg cfg;
	const rq_method *meth;
	const char *out, *resume, *logpath, *airdump;
	int threads, paonly, set_e, set_l, seen_ogm;
	int pa[2], pv[2], vchan, sh_a[2], sh_v[3], ncls;
} opts;

/* a run: the model, the data, the state, the buffers of a step */
typedef struct run {
	opts o;
	rq_model *m;
	rq_rollingq *rq;
	rq_dataset ds[3];
	int nsets, K, B, U, tty;
	long nb, total, warm;
	size_t fa, fv;
	rq_train_state st;
	work w;
	rq_rng drng;
	const char *train_path;
	char **sets;                 /* the data set operands */
	char best_path[4096];
} run;

static void
parse(int *argcp, char ***argvp, opts *o)
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
	rq_train_cfg *h = &o->tc;
	int c, argc = *argcp;
	char **argv = *argvp;

	memset(o, 0, sizeof *o);
	rq_train_cfg_defaults(h);
	rq_model_cfg_defaults(&o->cfg);
	o->meth = rq_method_find("mt");
	o->threads = 1;
	while ((c = getopt_long(argc, argv, "m:d:n:h:x:a:v:c:D:e:b:u:l:w:O:W:"
	    "s:j:o:r:L:", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if ((o->meth = rq_method_find(optarg)) == NULL)
				errx(2, "-m: unknown method: %s", optarg);
			h->rq.on |= o->meth->rollingq;
			h->ogm |= o->meth->ogm;
			break;
		case 'd': o->cfg.d = (int)num(optarg, 1, 65536, "-d"); break;
		case 'n': o->cfg.depth = (int)num(optarg, 0, 32, "-n"); break;
		case 'h': o->cfg.heads = (int)num(optarg, 1, 4096, "-h"); break;
		case 'x': o->cfg.mlp = (int)num(optarg, 1, 64, "-x"); break;
		case 'a': dims_arg(optarg, o->pa, 2, "-a"); break;
		case 'v': dims_arg(optarg, o->pv, 2, "-v"); break;
		case 'c': o->vchan = (int)num(optarg, 1, 4096, "-c"); break;
		case 'D':
			o->cfg.drop = (float)dbl(optarg, "-D");
			if (!(o->cfg.drop >= 0 && o->cfg.drop < 1))
				errx(2, "-D: need 0 <= drop < 1: %s", optarg);
			break;
		case 'e': h->epochs = (int)num(optarg, 1, 1000000, "-e");
			o->set_e = 1;
			break;
		case 'b': h->batch = (int)num(optarg, 1, 1 << 20, "-b"); break;
		case 'u': h->micro = (int)num(optarg, 1, 1 << 20, "-u"); break;
		case 'l': h->lr = dbl(optarg, "-l"); o->set_l = 1; break;
		case 'w': h->warmup = dbl(optarg, "-w"); break;
		case 'O':
			if (strcmp(optarg, "sgd") == 0)
				h->opt = RQ_OPT_SGD;
			else if (strcmp(optarg, "adamw") == 0)
				h->opt = RQ_OPT_ADAMW;
			else
				errx(2, "-O: unknown optimizer: %s", optarg);
			break;
		case 'W': h->wd = dbl(optarg, "-W"); break;
		case 's':
			if (rq_parse_u64(optarg, &h->seed) != 0)
				errx(2, "-s: bad seed: %s", optarg);
			break;
		case 'j': o->threads = (int)num(optarg, 1, 256, "-j"); break;
		case 'o': o->out = optarg; break;
		case 'r': o->resume = optarg; break;
		case 'L': o->logpath = optarg; break;
		case 1: h->rq.on = 1; break;
		case 2: h->rq.rho = dbl(optarg, "--rho"); break;
		case 3: h->rq.beta = dbl(optarg, "--beta"); break;
		case 4: h->rq.rmax = (int)num(optarg, 0, 1000000, "--rmax"); break;
		case 5:
			h->rq.air_full = !pick(optarg, "full", "last", "--air-est");
			break;
		case 6: h->rq.rot_svd = pick(optarg, "plane", "svd", "--rot"); break;
		case 7: o->airdump = optarg; break;
		case 8: h->ogm_alpha = dbl(optarg, "--ogm-alpha");
			o->seen_ogm = 1;
			break;
		case 9: h->ogm_ge = 1; o->seen_ogm = 1; break;
		case 10: o->paonly = 1; break;
		case 11: dims_arg(optarg, o->sh_a, 2, "--audio"); break;
		case 12: dims_arg(optarg, o->sh_v, 3, "--visual"); break;
		case 13: o->ncls = (int)num(optarg, 2, 1000000, "--classes");
			break;
		default:
			usage();
		}
	}
	*argcp = argc - optind;
	*argvp = argv + optind;
	o->cfg.method = o->meth->model;
	if (o->seen_ogm && !o->meth->ogm_able)
		errx(2, "--ogm-*: OGM-GE needs method concat or sum");
	if (o->seen_ogm)
		h->ogm = 1;
	if (h->rq.on && o->meth->queries == 0)
		errx(2, "--rollingq: needs method mt or mtstar");
	if (!(h->lr > 0) || !(h->warmup >= 0) || !(h->wd >= 0))
		errx(2, "-l, -w, -W: need lr > 0, warmup >= 0, decay >= 0");
}

static int
default_patch(int x)
{
	return x >= 4 ? x / 4 : 1;
}

/* the model config of a new run from the sample shapes and the options */
static void
shapes_cfg(opts *o, int F, int T, int C, int H, int W, int K)
{
	rq_model_cfg *c = &o->cfg;

	c->F = F;
	c->T = T;
	c->C = C;
	c->H = H;
	c->W = W;
	c->classes = K;
	c->pf = o->pa[0] ? o->pa[0] : default_patch(F);
	c->pt = o->pa[1] ? o->pa[1] : default_patch(T);
	c->ph = o->pv[0] ? o->pv[0] : default_patch(H);
	c->pw = o->pv[1] ? o->pv[1] : default_patch(W);
	c->vc = o->vchan ? o->vchan : C % 3 == 0 ? 3 : 1;
}

/* s as one shell word: as is when plain, else in single quotes */
static void
shell_word(char *buf, size_t n, const char *s)
{
	size_t off = strlen(buf);

	if (*s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./,:=+@%") == strlen(s)) {
		snprintf(buf + off, n - off, " %s", s);
		return;
	}
	snprintf(buf + off, n - off, " '");
	for (; *s != '\0'; s++) {
		off = strlen(buf);
		snprintf(buf + off, n - off, *s == '\'' ? "'\\''" : "%c", *s);
	}
	off = strlen(buf);
	snprintf(buf + off, n - off, "'");
}

/*
 * The command that continues the run saved in ck and keeps saving there:
 * -r ck (-o defaults to it), the log, threads, AIR dump and data sets of
 * this run.  The settings come from the checkpoint.
 */
static const char *
resume_cmd(const run *r, const char *ck)
{
	static char buf[8192];
	char num[16];

	buf[0] = '\0';
	shell_word(buf, sizeof buf, argv0);
	memmove(buf, buf + 1, strlen(buf));	/* no leading blank */
	shell_word(buf, sizeof buf, "-r");
	shell_word(buf, sizeof buf, ck);
	if (r->o.logpath != NULL) {
		shell_word(buf, sizeof buf, "-L");
		shell_word(buf, sizeof buf, r->o.logpath);
	}
	if (r->o.threads != 1) {
		snprintf(num, sizeof num, "%d", r->o.threads);
		shell_word(buf, sizeof buf, "-j");
		shell_word(buf, sizeof buf, num);
	}
	if (r->o.airdump != NULL) {
		shell_word(buf, sizeof buf, "--air-dump");
		shell_word(buf, sizeof buf, r->o.airdump);
	}
	for (int i = 0; i < r->nsets; i++)
		shell_word(buf, sizeof buf, r->sets[i]);
	return buf;
}

/*
 * The one way out on a signal: save the resume point (between epochs:
 * the epoch checkpoint; mid-epoch: batch bi of epoch e + 1) and stop.
 */
static void
stop(run *r, long e, long bi)
{
	char where[64], errbuf[512];
	const char *out = r->o.out;

	if (bi > 0)
		snprintf(where, sizeof where, "at epoch %ld batch %ld", e + 1, bi);
	else
		snprintf(where, sizeof where, "after epoch %ld", e);
	r->st.batch = bi;
	if (out == NULL)
		errx(1, "signal %d: stopped %s (no -o, nothing saved)",
		    (int)stop_sig, where);
	if (drank == 0 && rq_ckpt_save(out, r->m, &r->st, errbuf,
	    sizeof errbuf) != RQ_OK)
		errx(1, "%s", errbuf);
	rq_dist_barrier();
	errx(1, "signal %d: saved %s %s; resume with: %s", (int)stop_sig, out,
	    where, resume_cmd(r, out));
}

/* -o before any training: a file, not a directory, in a writable one */
static void
out_check(const char *path)
{
	const char *sl = strrchr(path, '/');
	char dir[4096];
	struct stat sb;

	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		errx(1, "%s: is a directory", path);
	if (sl == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", sl == path ? 1 : (int)(sl - path),
		    path);
	if (stat(dir, &sb) != 0 || access(dir, W_OK | X_OK) != 0)
		errx(1, "%s: cannot write a checkpoint there: %s: %s", path, dir,
		    strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		errx(1, "%s: cannot write a checkpoint there: %s: not a directory",
		    path, dir);
}

/*
 * A new run (no -r) whose -o holds an unfinished run: the same command
 * again after a kill.  Starting over would discard the saved epochs and
 * append a second header to the log; refuse with the command that
 * resumes.  A finished run, or a file that is not a checkpoint, is
 * overwritten as before.
 */
static void
unfinished_check(const run *r)
{
	const char *out = r->o.out;
	double ep, eps, bi = 0;
	rq_stream *s;
	rq_tensor t;
	int open = 0;

	if (r->o.resume != NULL || out == NULL || (s = rq_stream_open(out,
	    "r")) == NULL)
		return;
	rq_tensor_init(&t);
	if (rq_tensor_read(s, &t) == RQ_OK && strcmp(t.name, "checkpoint") ==
	    0 && rq_meta_getd(&t, "epoch", &ep) == RQ_OK &&
	    rq_meta_getd(&t, "train.epochs", &eps) == RQ_OK) {
		if (rq_meta_getd(&t, "batch", &bi) != RQ_OK)
			bi = 0;
		open = ep < eps || bi > 0;
	}
	rq_tensor_free(&t);
	rq_stream_close(s);
	if (open)
		errx(1, "%s: holds an unfinished run (epoch %.0f of %.0f); resume "
		    "it with: %s (or remove it to start over)", out, ep, eps,
		    resume_cmd(r, out));
}

/*
 * Resuming with -L: drop the log's lines of epochs past the checkpoint's
 * (the epoch line is written before the checkpoint, so a kill between
 * the two leaves a line for an epoch the resume runs again).  The lines
 * from the first "epoch=N" or "# epoch=N" with N > epoch on are cut.
 */
static void
log_trim(const char *path, long epoch)
{
	FILE *fp = fopen(path, "r+");
	char line[4096];
	long at = 0, cut = -1;

	if (fp == NULL) {
		if (errno == ENOENT)
			return;
		err(1, "%s", path);
	}
	while (cut < 0 && fgets(line, sizeof line, fp) != NULL) {
		const char *p = strncmp(line, "# ", 2) == 0 ? line + 2 : line;
		long n;
		if (strncmp(p, "epoch=", 6) == 0 &&
		    sscanf(p + 6, "%ld", &n) == 1 && n > epoch)
			cut = at;
		at = ftell(fp);
	}
	if (ferror(fp) || (cut >= 0 && ftruncate(fileno(fp), cut) != 0))
		err(1, "%s", path);
	fclose(fp);
}

/* the data sets, the model (new or from -r), the buffers of a step */
static void
setup(run *r, int nsets, char **argv)
{
	opts *o = &r->o;
	rq_train_cfg *h = &o->tc;
	rq_model_cfg *cfg = &o->cfg;
	rq_ckpt *ck = NULL;
	rq_dataset *ds = r->ds;
	char errbuf[512];
	size_t d;

	if (o->resume != NULL) {
		rq_train_cfg cli = *h;
		if (rq_ckpt_open(&ck, o->resume, cfg, h, errbuf,
		    sizeof errbuf) != RQ_OK)
			errx(1, "%s", errbuf);
		/* -e and -l on the command line override the checkpoint's */
		if (o->set_e)
			h->epochs = cli.epochs;
		if (o->set_l)
			h->lr = cli.lr;
	}
	r->nsets = nsets;
	r->train_path = argv[0];
	for (int i = 0; i < nsets; i++)
		if (rq_dataset_load(&ds[i], argv[i], errbuf, sizeof errbuf) !=
		    RQ_OK)
			errx(1, "%s", errbuf);
	r->K = ds[0].classes;
	for (int i = 1; i < nsets; i++) {
		if (ds[i].F != ds[0].F || ds[i].T != ds[0].T ||
		    ds[i].C != ds[0].C || ds[i].H != ds[0].H ||
		    ds[i].W != ds[0].W)
			errx(1, "%s: sample shapes differ from %s", argv[i],
			    argv[0]);
		r->K = RQ_MAX(r->K, ds[i].classes);
	}
	if (ck == NULL)
		shapes_cfg(o, ds[0].F, ds[0].T, ds[0].C, ds[0].H, ds[0].W, r->K);
	else if (cfg->F != ds[0].F || cfg->T != ds[0].T || cfg->C != ds[0].C ||
	    cfg->H != ds[0].H || cfg->W != ds[0].W || r->K > cfg->classes)
		errx(1, "%s: data shapes differ from checkpoint %s", argv[0],
		    o->resume);
	/*
	 * The arena holds U samples' activations: a rank's share of the
	 * batch, or -u's micro-batch if smaller.  Larger batches run in parts
	 * whose gradients add up (rq_model_backward_part).
	 */
	r->B = h->batch;
	r->U = (r->B + dsize - 1) / dsize;
	if (h->micro > 0 && h->micro < r->U)
		r->U = h->micro;
	cfg->batch = r->U;
	cfg->opt_slots = h->opt == RQ_OPT_SGD ? 1 : 2;
	if (ck == NULL && cfg->d % cfg->heads != 0)
		errx(2, "%d heads do not divide the width %d", cfg->heads,
		    cfg->d);
	if (rq_model_plan(&r->m, cfg) != RQ_OK)
		errx(1, "%s: %s: impossible model configuration (width %d, "
		    "heads %d, mlp x%d, batch %d, patches %dx%d and %dx%d for audio "
		    "%dx%d, visual %dx%dx%d)", ck != NULL ? o->resume : argv[0],
		    ck != NULL ? "record 0: d, mlp, train.batch" : "data shapes",
		    cfg->d, cfg->heads, cfg->mlp, cfg->batch, cfg->pf, cfg->pt,
		    cfg->ph, cfg->pw, cfg->F, cfg->T, cfg->C, cfg->H, cfg->W);
	if (rq_model_alloc(r->m) != RQ_OK)
		errx(1, "%s: %s: out of memory for a model of %zu bytes",
		    ck != NULL ? o->resume : argv[0], ck != NULL ?
		    "record 0: d, mlp, train.batch" : "data shapes",
		    rq_model_arena_bytes(r->m));
	d = (size_t)cfg->d;
	r->fa = (size_t)cfg->F * cfg->T;
	r->fv = (size_t)cfg->C * cfg->H * cfg->W;

	/* everything a step needs, allocated once */
	r->w.a = malloc((size_t)r->B * r->fa * sizeof(float));
	r->w.v = malloc((size_t)r->B * r->fv * sizeof(float));
	r->w.la = malloc((size_t)r->B * r->K * 2 * sizeof(float));
	r->w.lv = r->w.la + (size_t)r->B * r->K;
	r->w.y = malloc((size_t)r->B * sizeof(int32_t));
	r->w.idx = malloc((size_t)r->B * sizeof(int64_t));
	r->st.nperm = ds[0].n;
	r->st.perm = malloc(ds[0].n * sizeof(int64_t));
	if (r->w.a == NULL || r->w.v == NULL || r->w.la == NULL ||
	    r->w.y == NULL || r->w.idx == NULL || r->st.perm == NULL ||
	    rq_rollingq_new(&r->rq, r->m, &h->rq, o->airdump, ds[0].n, r->B) !=
	    RQ_OK)
		errx(1, "out of memory");

	if (ck != NULL) {
		if (rq_ckpt_read(ck, r->m, &r->st, errbuf, sizeof errbuf) !=
		    RQ_OK)
			errx(1, "%s", errbuf);
		rq_ckpt_close(ck);
	} else {
		rq_rng_seed(&r->st.rng, h->seed);
		rq_model_init_params(r->m, &r->st.rng);
		r->st.best_val = -1;
		r->st.best_test = NAN;
		r->st.best_epoch = -1;
	}
	r->st.train = *h;
	if (dsize > 1) {
		/* one replica: rank 0's weights, optimizer state and R */
		size_t np = rq_model_nparams(r->m) * sizeof(float);
		dbcast(rq_model_params(r->m), np);
		for (int k = 0; k < cfg->opt_slots; k++)
			dbcast(rq_model_state(r->m, k), np);
		for (int k = 0; k < rq_model_fusion_layers(r->m); k++)
			dbcast(rq_model_rotation(r->m, k), d * d * sizeof(double));
	}
	r->nb = (long)((ds[0].n + r->B - 1) / r->B);
	r->total = r->nb * h->epochs;
	r->warm = (long)floor(h->warmup * r->nb);
	if (o->out != NULL)
		snprintf(r->best_path, sizeof r->best_path, "%s.best", o->out);
}

/* OGM-GE: the global batch's score ratio scales the encoders' gradients */
static void
ogm_modulate(run *r, const double ogs[2])
{
	const rq_train_cfg *h = &r->o.tc;
	double ratio = ogs[0] / ogs[1];
	float coef[2] = {1, 1};

	if (ratio > 1)
		coef[0] = (float)(1 - tanh(h->ogm_alpha * (ratio - 1)));
	else if (ratio < 1)
		coef[1] = (float)(1 - tanh(h->ogm_alpha * (1 / ratio - 1)));
	for (int md = 0; md < 2; md++)
		rq_model_scale_encoder_grad(r->m, md, coef[md], h->ogm_ge,
		    &r->st.rng);
}

/*
 * Batch bi of epoch e + 1, one optimizer step.  Rank r takes the
 * contiguous part r of the global batch (every rank holds the same
 * permutation) and runs it in micro-batches of at most U samples.  Each
 * part's gradient is that of its losses' sum over the n samples of the
 * global batch, so the parts and ranks sum to the gradient of the mean
 * over the global batch.  Dropout on more than one rank draws from a
 * per-rank stream reseeded every step (st.rng must stay in step on all
 * ranks: it shuffles); on one rank it is st.rng.  Returns the stop
 * request seen by any rank (more than one rank) and the step's lr.
 */
static int
train_batch(run *r, long e, long bi, double *lrp)
{
	const rq_train_cfg *h = &r->o.tc;
	rq_train_state *st = &r->st;
	rq_model *m = r->m;
	size_t i0 = (size_t)bi * r->B, off, ln;
	int n = (int)RQ_MIN((size_t)r->B, r->ds[0].n - i0), nl, U = r->U;
	int K = r->K, stopnow = 0;
	double loss, red[8] = {0, 0, 0, 0, 0, 0, 0, 0}, ogs[2] = {0, 0};
	work *w = &r->w;

	rq_dist_part((size_t)n, drank, dsize, &off, &ln);
	nl = (int)ln;
	rq_model_zero_grad(m);
	if (nl > 0)
		rq_dataset_batch(&r->ds[0], st->perm + i0 + off, nl, w->a, w->v,
		    w->y);
	if (nl > 0 && dsize > 1)
		rq_rng_seed(&r->drng, h->seed ^ (0x9e3779b97f4a7c15ULL *
		    ((uint64_t)st->step * (uint64_t)dsize + (uint64_t)drank +
		    1)));
	for (int o = 0; o < nl; o += U) {
		int nc = RQ_MIN(U, nl - o);
		const int32_t *yc = w->y + o;
		loss = rq_model_forward(m, w->a + (size_t)o * r->fa,
		    w->v + (size_t)o * r->fv, yc, nc, 1, dsize > 1 ? &r->drng :
		    &st->rng);
		red[0] += loss * nc;
		red[1] += nc;
		for (int hh = 0; hh < 3; hh++) {
			const float *p = rq_model_probs(m, hh);
			if (p == NULL)
				continue;
			for (int b = 0; b < nc; b++)
				red[2 + hh] += argmax(p + (size_t)b * K, K) == yc[b];
		}
		if (h->ogm)	/* OGM-GE's scores, summed below */
			ogm_scores(m, nc, yc, w, ogs);
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
		errx(1, "%s: epoch %ld batch %ld: loss is %g; stopped; the last "
		    "good checkpoint is %s", r->train_path, e + 1, bi, loss,
		    r->o.out == NULL ? "(none: no -o)" : access(r->o.out, F_OK) ==
		    0 ? r->o.out : "(none yet)");
	if (h->ogm)
		ogm_modulate(r, ogs);
	*lrp = rq_lr_cosine(h->lr, st->step, r->warm, r->total);
	if (h->opt == RQ_OPT_SGD)
		rq_sgd_step(rq_model_params(m), rq_model_grads(m),
		    rq_model_state(m, 0), rq_model_nparams(m), *lrp, h->mom, h->wd);
	else
		rq_adamw_step(rq_model_params(m), rq_model_grads(m),
		    rq_model_state(m, 0), rq_model_state(m, 1), rq_model_nparams(m),
		    *lrp, 0.9, 0.999, 1e-8, h->wd, st->step + 1);
	st->step++;
	for (int j = 0; j < 5; j++)
		st->acc[j] += red[j];
	if (r->tty) {
		int done = (int)(40 * (bi + 1) / r->nb);
		fprintf(stderr, "\r%ld/%d [%-40.*s] loss %.4f", e + 1, h->epochs,
		    done, "========================================",
		    st->acc[0] / st->acc[1]);
	}
	return stopnow;
}

/*
 * After the epoch's batches: RollingQ (rq_rollingq_epoch), validation and
 * test accuracy, the best and epoch checkpoints, the epoch's log line.
 */
static void
end_epoch(run *r, long e, double t0, double lr)
{
	rq_train_state *st = &r->st;
	rq_model *m = r->m;
	rq_rollingq_report rep;
	double vacc[3], tacc[3], ta[3] = {NAN, NAN, NAN}, vloss, tloss, tl;
	double test_acc = NAN;
	char x2[96] = "", errbuf[512];
	int best;

	if (r->tty)
		fprintf(stderr, "\r%*s\r", 70, "");
	st->batch = 0;
	if (dsize > 1)
		replica_check(m);
	tloss = st->acc[0] / st->acc[1];
	for (int hh = 0; hh < 3; hh++)
		tacc[hh] = rq_model_probs(m, hh) ? st->acc[2 + hh] / st->acc[1] :
		    NAN;
	if (rq_rollingq_epoch(r->rq, m, &r->ds[0], st->perm, r->U, e + 1, &rep,
	    errbuf, sizeof errbuf) != RQ_OK)
		errx(1, "%s", errbuf);
	if (rep.rotated)
		logline("# epoch=%ld rotation=%ld air=%.6f alpha=%.6f rho=%g "
		    "layer=%d\n", e + 1, rep.rotation, rep.air[rep.rotated - 1],
		    rep.alpha, r->o.tc.rq.rho, rep.rotated);
	evaluate(m, &r->ds[1], &r->w, r->U, vacc, &vloss);
	/* test accuracy of this epoch, used if it is the best on val */
	if (r->nsets > 2) {
		evaluate(m, &r->ds[2], &r->w, r->U, ta, &tl);
		test_acc = ta[0];
	}
	if ((best = vacc[0] > st->best_val)) {
		st->best_val = vacc[0];
		st->best_test = test_acc;
		st->best_train = tacc[0];
		st->best_epoch = e + 1;
	}
	if (rep.layers > 1)	/* MT*: layer 2 (air, rotations: layer 1) */
		snprintf(x2, sizeof x2, " air2=%.6f rotations2=%ld", rep.air[1],
		    *rq_model_rotations(m, 1));
	logline("epoch=%ld lr=%.6g loss=%.6f train_acc=%.4f train_acc_a=%.4f "
	    "train_acc_v=%.4f val_loss=%.6f val_acc=%.4f val_acc_a=%.4f "
	    "val_acc_v=%.4f test_acc=%.4f test_acc_a=%.4f test_acc_v=%.4f "
	    "air=%.6f rotations=%ld rotated=%d%s seconds=%.3f\n", e + 1, lr,
	    tloss, tacc[0], tacc[1], tacc[2], vloss, vacc[0], vacc[1], vacc[2],
	    test_acc, ta[1], ta[2], rep.air[0], rq_model_rotations(m, 0) ?
	    *rq_model_rotations(m, 0) : 0L, rep.rotated, x2, now() - t0);
	/* after the log line: a kill between the two leaves a line that the
	 * resume drops (log_trim) and writes again, never a lost line */
	st->epoch = e + 1;
	if (r->o.out != NULL && drank == 0 && ((best &&
	    rq_ckpt_save(r->best_path, m, st, errbuf, sizeof errbuf) != RQ_OK) ||
	    rq_ckpt_save(r->o.out, m, st, errbuf, sizeof errbuf) != RQ_OK))
		errx(1, "%s", errbuf);
	st->epoch = e;
}

int
main(int argc, char **argv)
{
	static run r;
	rq_train_state *st = &r.st;
	const rq_train_cfg *h = &r.o.tc;
	const rq_model_cfg *cfg;
	struct rusage ru;

	rq_progname_init(argc, argv);
	argv0 = argv[0];
	if (rq_dist_init(&argc, &argv) != RQ_OK)
		errx(1, "%s", rq_dist_error());
	drank = rq_dist_rank();
	dsize = rq_dist_size();
	parse(&argc, &argv, &r.o);
	openblas_set_num_threads(r.o.threads);
	if (r.o.paonly) {
		if (argc != 0 || r.o.sh_a[0] == 0 || r.o.sh_v[0] == 0 ||
		    r.o.ncls == 0)
			usage();
		shapes_cfg(&r.o, r.o.sh_a[0], r.o.sh_a[1], r.o.sh_v[0],
		    r.o.sh_v[1], r.o.sh_v[2], r.o.ncls);
		if (rq_model_plan(&r.m, &r.o.cfg) != RQ_OK)
			errx(2, "impossible model configuration");
		if (drank == 0)
			params_only(r.m, &r.o.cfg);
		rq_model_free(r.m);
		rq_dist_finalize();
		if (rq_finish_stdout() != 0)
			err(1, "stdout");
		return 0;
	}
	if (argc < 2 || argc > 3)
		usage();
	/* -r ck alone continues writing ck; every path checked before work */
	if (r.o.resume != NULL && r.o.out == NULL)
		r.o.out = r.o.resume;
	r.nsets = argc;
	r.sets = argv;
	if (r.o.out != NULL)
		out_check(r.o.out);
	unfinished_check(&r);
	setup(&r, argc, argv);
	cfg = rq_model_config(r.m);

	logfp = stderr;
	if (drank == 0 && r.o.logpath != NULL) {
		if (r.o.resume != NULL)
			log_trim(r.o.logpath, st->epoch);
		if ((logfp = fopen(r.o.logpath, "a")) == NULL)
			err(1, "%s", r.o.logpath);
		logname = r.o.logpath;
	}
	r.tty = drank == 0 && isatty(STDERR_FILENO);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (r.o.resume == NULL)
		logline("# rq-train method=%s%s d=%d depth=%d heads=%d mlp=%d "
		    "patches=%dx%d,%dx%d params=%zu epochs=%d batch=%d "
		    "micro=%d lr=%g opt=%s seed=%llu threads=%d rho=%g beta=%g "
		    "rmax=%d air_est=%s rot=%s\n", rq_method_name(cfg->method),
		    h->rq.on ? "+rollingq" : h->ogm ? "+ogm" : "", cfg->d,
		    cfg->depth, cfg->heads, cfg->mlp, cfg->pf, cfg->pt, cfg->ph,
		    cfg->pw, rq_model_nparams(r.m), h->epochs, r.B, r.U, h->lr,
		    h->opt == RQ_OPT_SGD ? "sgd" : "adamw",
		    (unsigned long long)h->seed, r.o.threads, h->rq.rho,
		    h->rq.beta, h->rq.rmax, h->rq.air_full ? "full" : "last",
		    h->rq.rot_svd ? "svd" : "plane");
	else if (r.o.logpath != NULL)
		logline("# rq-train resumed from %s at epoch %ld batch %ld\n",
		    r.o.resume, st->epoch, st->batch);
	if (rq_dist_enabled())
		logline("# rq-train-mpi ranks=%d global_batch=%d "
		    "dropout_rng=%s\n", dsize, r.B, dsize > 1 ?
		    "per-rank-per-step" : "shared");

	for (; st->epoch < h->epochs; st->epoch++) {
		long e = st->epoch;
		double t0 = now(), lr = h->lr;
		int stopnow = dsize > 1 ? dmax(stop_sig) : stop_sig;

		if (st->batch == 0 && stopnow)	/* the epoch checkpoint */
			stop(&r, e, 0);
		if (st->batch == 0) {
			for (size_t i = 0; i < r.ds[0].n; i++)
				st->perm[i] = (int64_t)i;
			rq_rng_shuffle(&st->rng, st->perm, r.ds[0].n);
			memset(st->acc, 0, sizeof st->acc);
		}
		for (long bi = st->batch; bi < r.nb; bi++) {
			if (dsize == 1)
				stopnow = stop_sig;
			if (stopnow && bi > 0)
				stop(&r, e, bi);
			stopnow = train_batch(&r, e, bi, &lr);
		}
		end_epoch(&r, e, t0, lr);
	}
	getrusage(RUSAGE_SELF, &ru);
	logline("best_epoch=%ld val_acc=%.4f test_acc=%.4f train_acc=%.4f "
	    "peak_rss_kb=%ld arena_bytes=%zu\n", st->best_epoch, st->best_val,
	    st->best_test, st->best_train, ru.ru_maxrss,
	    rq_model_arena_bytes(r.m));
	if (logfp != stderr && fclose(logfp) != 0)
		errx(1, "%s: cannot write the log: %s", r.o.logpath,
		    strerror(errno));
	rq_dist_barrier();	/* rank 0's checkpoint is whole before exit */
	rq_dist_finalize();
	rq_rollingq_free(r.rq);
	rq_model_free(r.m);
	for (int i = 0; i < r.nsets; i++)
		rq_dataset_free(&r.ds[i]);
	free(r.w.a); free(r.w.v); free(r.w.la); free(r.w.y); free(r.w.idx);
	free(st->perm);
	return 0;
}
