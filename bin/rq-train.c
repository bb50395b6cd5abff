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
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
	    "usage: rq-train [-m method] [-d width] [--depth n] [--heads n]\n"
	    "                [--mlp-ratio r] [--audio-patch FxT] [--visual-patch HxW]\n"
	    "                [--channels c] [-D drop] [-e epochs] [-b batch] [-u micro]\n"
	    "                [-l lr] [-w warmup] [-O sgd|adamw] [-W decay] [-s seed]\n"
	    "                [-j threads] [-o ckpt] [-r ckpt] [-L log] [--rollingq]\n"
	    "                [--rho r] [--beta b] [--rmax n] [--air-est full|last]\n"
	    "                [--rot plane|svd] [--air-dump prefix] [--ogm-alpha a]\n"
	    "                [--ogm-ge] [--pmr-alpha a] [--pmr-momentum mu]\n"
	    "                [--pmr-start e] [--pmr-end e] [--mbt-layers n]\n"
	    "                [--bottlenecks n] [--cme-layers n] [--init file]\n"
	    "                [--mut-layers n] [--mut-memory n] [--modalities A,B]\n"
	    "                [--seq name[,name]] train val [test]\n"
	    "       rq-train --params-only [-m method] [-d width] [--depth n] [--heads n]\n"
	    "                [--mlp-ratio r] [--audio-patch FxT] [--visual-patch HxW]\n"
	    "                [--channels c] --audio FxT --visual CxHxW --classes K\n"
	    "                [--count] [--modalities A,B] [--seq name[,name]]\n");
	if (status != 0)
		exit(status);
	fprintf(f, "  -m method           the model (mt), one of (or a modality "
	    "name: that one alone):\n"
	    "   ");
	for (int i = 0; i < rq_method_count(); i++)
		fprintf(f, " %s", rq_method_at(i)->name);
	fprintf(f, "\n");
	fprintf(f,
	    "  -d width            model width (64)\n"
	    "  --depth n           blocks per encoder (2)\n"
	    "  --heads n           encoder attention heads, dividing width (4)\n"
	    "  --mlp-ratio r       MLP ratio (4)\n"
	    "  --audio-patch FxT   audio patch (a quarter of each side)\n"
	    "  --visual-patch HxW  image patch (a quarter of each side)\n"
	    "  --channels c        channels per frame (3 if C is a multiple "
	    "of 3, else 1)\n"
	    "  -D drop             fusion dropout (0.2)\n"
	    "  -e epochs           epochs (30)\n"
	    "  -b batch            batch size (64)\n"
	    "  -u micro            micro-batch: the most samples in one "
	    "pass (the batch)\n"
	    "  -l lr               base learning rate (1e-3)\n"
	    "  -w warmup           warm-up in epochs (2.5)\n"
	    "  -O sgd|adamw        optimizer (sgd, momentum 0.9)\n"
	    "  -W decay            weight decay (1e-4)\n"
	    "  -s seed             seed, unsigned 64-bit (0)\n"
	    "  -j threads          BLAS threads (1)\n"
	    "  -o ckpt             checkpoint, each epoch, atomically; "
	    "best epoch: ckpt.best\n"
	    "  -r ckpt             resume from a checkpoint\n"
	    "  -L log              append the log to a file (stderr)\n"
	    "  --rollingq          RollingQ at the fusion query (mt, "
	    "mtstar)\n"
	    "  --rho r             RollingQ: rho (0)\n"
	    "  --beta b            RollingQ: AIR threshold (0)\n"
	    "  --rmax n            RollingQ: most rotations (1)\n"
	    "  --air-est full|last  RollingQ: AIR of the epoch or its last "
	    "batch (full)\n"
	    "  --rot plane|svd     RollingQ: rotation (plane)\n"
	    "  --air-dump prefix   each epoch's queries and key means to "
	    "prefix.EPOCH.rqt\n"
	    "  --ogm-alpha a       OGM-GE: alpha (0.5)\n"
	    "  --ogm-ge            OGM-GE: add the generalisation "
	    "noise\n"
	    "  --pmr-alpha a       PMR: prototype loss weight (0.6)\n"
	    "  --pmr-momentum mu   PMR: prototype momentum (0.5)\n"
	    "  --pmr-start e       PMR: first epoch of the prototype loss (1)\n"
	    "  --pmr-end e         PMR: last epoch of the prototype loss (80)\n"
	    "  --mbt-layers n      MBT: bottleneck layers after the encoders (1)\n"
	    "  --bottlenecks n     MBT: bottleneck tokens (4)\n"
	    "  --cme-layers n      MMML: CME layers (1)\n"
	    "  --init file         start from the named tensors of file "
	    "(e.g. scripts/vit-convert)\n"
	    "  --mut-layers n      MuT: crossmodal layers per direction (1)\n"
	    "  --mut-memory n      MuT: memory blocks per target (3)\n"
	    "  --params-only       print the parameter and FLOP counts "
	    "of a model\n"
	    "  --audio FxT         --params-only: the audio shape\n"
	    "  --visual CxHxW      --params-only: the image shape\n"
	    "  --classes K         --params-only: the number of classes\n"
	    "  --count             --params-only: Table 4's counts (thop "
	    "and complete)\n"
	    "  --modalities A,B    the two modality records (audio,visual); "
	    "A takes the\n"
	    "                      first encoder, B the second\n"
	    "  --seq name[,name]   these modalities are sequences [N,T,F] "
	    "(as layout=seq);\n"
	    "                      --params-only: --audio or --visual "
	    "TxF\n"
	    "  -h, --help          print this help\n"
	    "  --version           print the version\n");
	exit(status);
}

/* the spelling of the last release, kept for one more */
static void
old(int c, const char *now)
{
	warnx("-%c is deprecated; use %s", c, now);
}

/* the methods of the table, for an unknown -m */
static void
bad_method(const char *name)
{
	char list[512] = "";

	for (int i = 0; i < rq_method_count(); i++) {
		strncat(list, " ", sizeof list - strlen(list) - 1);
		strncat(list, rq_method_at(i)->name, sizeof list -
		    strlen(list) - 1);
	}
	errx(2, "-m: unknown method: %s (methods:%s)", name, list);
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

/*
 * The terminal (rank 0's stderr, when it is one): a progress bar redrawn
 * at most ten times a second and at each phase's start and end: the
 * epoch, the phase (training, then the AIR, validation and test passes),
 * the phase's samples per second and the run's ETA.  The ETA counts work units, a
 * training sample 1 and a sample of a forward-only pass 1/3 (about its
 * share of the cost), done at the rate measured since the first batch.
 * Without -L the terminal gets a short line per epoch instead of the log's
 * records; with -L both.
 */
static struct bar {
	int on;
	const char *phase;
	long epoch, epochs;
	double n, done;		/* samples of the phase, done */
	double loss;		/* the epoch's training loss so far */
	double unit_epoch;	/* work units of one epoch */
	double units, units_left; /* done since t_run; left in the run */
	double t_run, t_phase, t_draw;
} bar;

static void
hms(char *buf, size_t n, double s)
{
	long t = isfinite(s) && s >= 0 && s < 1e8 ? (long)(s + 0.5) : -1;

	if (t < 0)
		snprintf(buf, n, "?");
	else if (t >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void
bar_draw(int force)
{
	char eta[32], line[160];
	double t = now(), rate, tp;
	int w = 20, fill;

	if (!bar.on || (!force && t - bar.t_draw < 0.1))
		return;
	bar.t_draw = t;
	tp = t - bar.t_phase;
	rate = tp > 0 && bar.done > 0 ? bar.done / tp : NAN;
	hms(eta, sizeof eta, bar.units > 0 && t > bar.t_run ? bar.units_left /
	    (bar.units / (t - bar.t_run)) : NAN);
	fill = bar.n > 0 ? (int)(w * RQ_MIN(bar.done / bar.n, 1)) : 0;
	snprintf(line, sizeof line, "%ld/%ld %-5s [%-*.*s]", bar.epoch,
	    bar.epochs, bar.phase, w, fill,
	    "========================================");
	if (!isnan(rate))
		snprintf(line + strlen(line), sizeof line - strlen(line),
		    " %.0f samples/s", rate);
	snprintf(line + strlen(line), sizeof line - strlen(line), " ETA %s",
	    eta);
	if (strcmp(bar.phase, "train") == 0 && isfinite(bar.loss))
		snprintf(line + strlen(line), sizeof line - strlen(line),
		    " loss %.4f", bar.loss);
	fprintf(stderr, "\r%-79.79s", line);
	fflush(stderr);
}

/* a new phase of n samples, drawn at once */
static void
bar_phase(const char *phase, long epoch, double n)
{
	bar.phase = phase;
	bar.epoch = epoch;
	bar.n = n;
	bar.done = 0;
	bar.t_phase = now();
	if (bar.units == 0)
		bar.t_run = bar.t_phase;
	bar_draw(1);
}

/* n more samples of the phase, worth w work units each */
static void
bar_step(double n, double w)
{
	bar.done += n;
	bar.units += n * w;
	bar.units_left -= n * w;
	bar_draw(bar.done >= bar.n);	/* and at the phase's end */
}

/* the line of the bar blanked, for a line of text */
static void
bar_clear(void)
{
	if (bar.on)
		fprintf(stderr, "\r%79s\r", "");
}

/* one line on the terminal, cut to 79 columns */
static void
term(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!bar.on)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	bar_clear();
	fprintf(stderr, "%.79s\n", line);
}

/* an accuracy as a percentage, "-" when there is none */
static const char *
pct(char *buf, size_t n, double a)
{
	if (isnan(a))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f", 100 * a);
	return buf;
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
		bar_step((double)nb * dsize, 1.0 / 3);
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
	if (bar.on && logfp == stderr)	/* the terminal has its own lines */
		return;
	va_start(ap, fmt);
	vfprintf(logfp, fmt, ap);
	va_end(ap);
	if (fflush(logfp) != 0 || ferror(logfp))
		log_failed();
}

/* the method as the log names it: a unimodal model by its modality */
static const char *
method_label(const rq_model_cfg *c)
{
	if (c->method == RQ_METHOD_AUDIO)
		return c->mod[0];
	if (c->method == RQ_METHOD_VISUAL)
		return c->mod[1];
	return rq_method_name(c->method);
}

/* " modalities=A:layout,B:layout" unless the default audio, visual */
static const char *
mods_label(const rq_model_cfg *c)
{
	static char buf[128];

	if (strcmp(c->mod[0], "audio") == 0 && strcmp(c->mod[1], "visual") ==
	    0 && c->layout[0] == RQ_LAYOUT_SPEC &&
	    c->layout[1] == RQ_LAYOUT_FRAMES)
		return "";
	snprintf(buf, sizeof buf, " modalities=%s:%s,%s:%s", c->mod[0],
	    rq_layout_name(c->layout[0]), c->mod[1],
	    rq_layout_name(c->layout[1]));
	return buf;
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
	printf("tokens %s=%d %s=%d\n", c->mod[0], na, c->mod[1], nv);
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

/*
 * --params-only --count: count.c's counts, thop's convention (the
 * paper's Table 4) and every tensor and product; each also with R
 */
static void
print_counts(const rq_model *m)
{
	static const char *name[2] = {"thop", "all"};

	for (int conv = 0; conv < 2; conv++)
		for (int rq = 0; rq < 2; rq++) {
			rq_count c;
			if (rq_count_model(m, conv == 0 ? RQ_COUNT_THOP :
			    RQ_COUNT_ALL, rq, &c) != RQ_OK)
				errx(1, "%s: not annotated for counting", c.bad);
			printf("count=%s%s params=%.0f macs=%.0f attn_macs=%.0f\n",
			    name[conv], rq ? "+R" : "", c.params, c.macs,
			    c.attn_macs);
		}
}

/* the command line */
typedef struct opts {
	rq_train_cfg tc;
	rq_model_cfg cfg;
	const rq_method *meth;
	const char *out, *resume, *logpath, *airdump, *init;
	int threads, paonly, set_e, set_l, seen_ogm, count, seen_pmr;
	int pa[2], pv[2], vchan, sh_a[2], sh_v[3], ncls;
	const char *mname, *mods, *seqs;	/* -m, --modalities, --seq */
	char mod[2][RQ_MODNAME_MAX];
	unsigned seq;                /* bit s: slot s is a sequence */
	const char *sh_v_arg;        /* --visual as typed (CxHxW or TxF) */
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
	rq_pmr pmr;
	const char *train_path;
	char **sets;                 /* the data set operands */
	char best_path[4096];
} run;

/* "A" or "A,B" into out[0], out[1]; returns the count */
static int
name_pair(const char *s, char (*out)[RQ_MODNAME_MAX], const char *what)
{
	const char *c = strchr(s, ',');
	size_t l0 = c ? (size_t)(c - s) : strlen(s);

	if ((c != NULL && strchr(c + 1, ',') != NULL) ||
	    l0 >= RQ_MODNAME_MAX || (c && strlen(c + 1) >= RQ_MODNAME_MAX))
		errx(2, "%s: need name[,name], names of 1-31 characters: %s",
		    what, s);
	snprintf(out[0], RQ_MODNAME_MAX, "%.*s", (int)l0, s);
	if (c != NULL)
		snprintf(out[1], RQ_MODNAME_MAX, "%s", c + 1);
	for (int i = 0; i < (c ? 2 : 1); i++)
		if (!rq_modality_name_ok(out[i]))
			errx(2, "%s: bad modality name (A-Z a-z 0-9 _ -, not "
			    "label or id): %s", what, out[i]);
	return c ? 2 : 1;
}

/* --modalities and --seq: the slots' names and which are sequences */
static void
modalities(opts *o)
{
	char sq[2][RQ_MODNAME_MAX];
	int n;

	snprintf(o->mod[0], sizeof o->mod[0], "audio");
	snprintf(o->mod[1], sizeof o->mod[1], "visual");
	if (o->mods != NULL && (name_pair(o->mods, o->mod, "--modalities") !=
	    2 || strcmp(o->mod[0], o->mod[1]) == 0))
		errx(2, "--modalities: need two different names A,B: %s",
		    o->mods);
	for (int i = 0; i < 2; i++)
		if (strcmp(o->mod[i], "audio") != 0 &&
		    strcmp(o->mod[i], "visual") != 0 &&
		    rq_method_find(o->mod[i]) != NULL)
			errx(2, "--modalities: %s is the name of a method "
			    "(-m %s would be ambiguous)", o->mod[i], o->mod[i]);
	o->seq = 0;
	if (o->seqs == NULL)
		return;
	n = name_pair(o->seqs, sq, "--seq");
	for (int i = 0; i < n; i++) {
		if (strcmp(sq[i], o->mod[0]) == 0)
			o->seq |= 1;
		else if (strcmp(sq[i], o->mod[1]) == 0)
			o->seq |= 2;
		else
			errx(2, "--seq: %s is not one of the modalities %s,%s",
			    sq[i], o->mod[0], o->mod[1]);
	}
}

/* -m: a method of the table, or a modality name (that slot alone) */
static void
method(opts *o, const char *name)
{
	rq_train_cfg *h = &o->tc;

	if (strcmp(name, "mbt-rq") == 0)
		errx(2, "-m mbt-rq: no MBT attention has keys "
		    "from both modalities, so RollingQ does not "
		    "apply; use -m mbt");
	/* the names first: with --modalities visual,audio, -m audio is the
	 * second slot */
	if (strcmp(name, o->mod[0]) == 0)
		o->meth = rq_method_find("audio");
	else if (strcmp(name, o->mod[1]) == 0)
		o->meth = rq_method_find("visual");
	else if ((o->meth = rq_method_find(name)) == NULL)
		bad_method(name);
	h->rq.on |= o->meth->rollingq;
	h->ogm |= o->meth->ogm;
	h->pmr |= o->meth->pmr;
}

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
		{"help", no_argument, NULL, 14},
		{"version", no_argument, NULL, 15},
		{"depth", required_argument, NULL, 16},
		{"heads", required_argument, NULL, 17},
		{"mlp-ratio", required_argument, NULL, 18},
		{"audio-patch", required_argument, NULL, 19},
		{"visual-patch", required_argument, NULL, 20},
		{"channels", required_argument, NULL, 21},
		{"count", no_argument, NULL, 22},
		{"pmr-alpha", required_argument, NULL, 23},
		{"pmr-momentum", required_argument, NULL, 24},
		{"pmr-start", required_argument, NULL, 25},
		{"pmr-end", required_argument, NULL, 26},
		{"mbt-layers", required_argument, NULL, 27},
		{"bottlenecks", required_argument, NULL, 28},
		{"cme-layers", required_argument, NULL, 29},
		{"init", required_argument, NULL, 30},
		{"mut-layers", required_argument, NULL, 31},
		{"mut-memory", required_argument, NULL, 32},
		{"modalities", required_argument, NULL, 33},
		{"seq", required_argument, NULL, 34},
		{NULL, 0, NULL, 0}
	};
	rq_train_cfg *h = &o->tc;
	int c, argc = *argcp, mbtf = 0, cmef = 0, mutf = 0;
	char **argv = *argvp;

	memset(o, 0, sizeof *o);
	rq_train_cfg_defaults(h);
	rq_model_cfg_defaults(&o->cfg);
	o->meth = rq_method_find("mt");
	o->threads = 1;
	while ((c = getopt_long(argc, argv, "m:d:n:h::x:a:v:c:D:e:b:u:l:w:O:"
	    "W:s:j:o:r:L:", lo, NULL)) != -1) {
		/*
		 * -h is help; the last release's -h N (heads) still works:
		 * "-hN", or "-h" and a number as the next word
		 */
		if (c == 'h' && optarg == NULL && optind < argc &&
		    rq_parse_long(argv[optind], 1, 4096, &(long){0}) == 0)
			optarg = argv[optind++];
		if (c == 'h' && optarg == NULL)
			usage(0);
		switch (c) {
		case 14:
			usage(0);
			break;
		case 15:
			printf("rq-train %s\n", rq_cli_version());
			exit(0);
		case 'm': o->mname = optarg; break;
		case 'd': o->cfg.d = (int)num(optarg, 1, 65536, "-d"); break;
		case 'n': old(c, "--depth"); /* FALLTHROUGH */
		case 16: o->cfg.depth = (int)num(optarg, 0, 32, "--depth"); break;
		case 'h': old(c, "--heads"); /* FALLTHROUGH */
		case 17: o->cfg.heads = (int)num(optarg, 1, 4096, "--heads"); break;
		case 'x': old(c, "--mlp-ratio"); /* FALLTHROUGH */
		case 18: o->cfg.mlp = (int)num(optarg, 1, 64, "--mlp-ratio"); break;
		case 'a': old(c, "--audio-patch"); /* FALLTHROUGH */
		case 19: dims_arg(optarg, o->pa, 2, "--audio-patch"); break;
		case 'v': old(c, "--visual-patch"); /* FALLTHROUGH */
		case 20: dims_arg(optarg, o->pv, 2, "--visual-patch"); break;
		case 'c': old(c, "--channels"); /* FALLTHROUGH */
		case 21: o->vchan = (int)num(optarg, 1, 4096, "--channels"); break;
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
		case 12: o->sh_v_arg = optarg; break;
		case 13: o->ncls = (int)num(optarg, 2, 1000000, "--classes");
			break;
		case 22: o->count = 1; break;
		case 23: h->pmr_alpha = dbl(optarg, "--pmr-alpha");
			o->seen_pmr = 1;
			break;
		case 24: h->pmr_mom = dbl(optarg, "--pmr-momentum");
			if (!(h->pmr_mom >= 0 && h->pmr_mom <= 1))
				errx(2, "--pmr-momentum: need 0 <= mu <= 1: %s",
				    optarg);
			o->seen_pmr = 1;
			break;
		case 25: h->pmr_start = (int)num(optarg, 1, 1000000,
			    "--pmr-start");
			o->seen_pmr = 1;
			break;
		case 26: h->pmr_end = (int)num(optarg, 0, 1000000, "--pmr-end");
			o->seen_pmr = 1;
			break;
		case 27: o->cfg.fdepth = (int)num(optarg, 1, 32, "--mbt-layers");
			mbtf = 1;
			break;
		case 28: o->cfg.ftok = (int)num(optarg, 1, 4096, "--bottlenecks");
			mbtf = 1;
			break;
		case 29: o->cfg.fdepth = (int)num(optarg, 1, 32, "--cme-layers");
			cmef = 1;
			break;
		case 30: o->init = optarg; break;
		case 31: o->cfg.fdepth = (int)num(optarg, 1, 32, "--mut-layers");
			mutf = 1;
			break;
		case 32: o->cfg.mdepth = (int)num(optarg, 0, 32, "--mut-memory");
			mutf = 1;
			break;
		case 33: o->mods = optarg; break;
		case 34: o->seqs = optarg; break;
		default:
			usage(2);
		}
	}
	*argcp = argc - optind;
	*argvp = argv + optind;
	modalities(o);
	if (o->mname != NULL)
		method(o, o->mname);
	if (o->sh_v_arg != NULL)
		dims_arg(o->sh_v_arg, o->sh_v, o->seq & 2 ? 2 : 3, "--visual");
	o->cfg.method = o->meth->model;
	if (o->seen_ogm && !o->meth->ogm_able)
		errx(2, "--ogm-*: OGM-GE needs method concat or sum");
	if (o->seen_ogm)
		h->ogm = 1;
	if (o->seen_pmr && !h->pmr)
		errx(2, "--pmr-*: need method pmr");
	if (mbtf && o->cfg.method != RQ_METHOD_MBT)
		errx(2, "--mbt-layers, --bottlenecks: need method mbt");
	if (cmef && o->cfg.method != RQ_METHOD_MMML)
		errx(2, "--cme-layers: needs method mmml or mmml-rq");
	if (mutf && o->cfg.method != RQ_METHOD_MUT)
		errx(2, "--mut-layers, --mut-memory: need method mut or mut-rq");
	if (h->rq.on && o->meth->queries == 0)
		errx(2, "--rollingq: needs method mt, mtstar, mmml or mut");
	if (o->init != NULL && o->resume != NULL)
		errx(2, "--init and -r exclude each other (a resumed run "
		    "keeps its weights)");
	if (!(h->lr > 0) || !(h->warmup >= 0) || !(h->wd >= 0))
		errx(2, "-l, -w, -W: need lr > 0, warmup >= 0, decay >= 0");
}

static int
default_patch(int x)
{
	return x >= 4 ? x / 4 : 1;
}

/*
 * The model config of a new run from the sample shapes (slot 0 [F,T],
 * slot 1 [C,H,W]), the slots' layouts and the options.  A sequence slot
 * has one patch per step holding all its features (rq_model_cfg).
 */
static void
shapes_cfg(opts *o, int F, int T, int C, int H, int W, int K,
    const int layout[2])
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
	memcpy(c->mod, o->mod, sizeof c->mod);
	c->layout[0] = layout[0];
	c->layout[1] = layout[1];
	if (layout[0] == RQ_LAYOUT_SEQ) {
		if (o->pa[0] != 0)
			errx(2, "--audio-patch: %s is a sequence (one token per "
			    "step)", o->mod[0]);
		c->pf = 1;
		c->pt = T;
	}
	if (layout[1] == RQ_LAYOUT_SEQ) {
		if (o->pv[0] != 0 || o->vchan != 0)
			errx(2, "--visual-patch, --channels: %s is a sequence "
			    "(one token per step)", o->mod[1]);
		c->vc = 1;
		c->ph = 1;
		c->pw = W;
	}
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

	bar_clear();
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

/*
 * --init FILE: named tensors over the fresh initialisation; what was
 * loaded goes to stderr and into the checkpoints' metadata.
 */
static void
init_from(run *r, const char *path)
{
	rq_init_report rep;
	char errbuf[1024];

	if (rq_init_load(r->m, path, &rep, errbuf, sizeof errbuf) != RQ_OK)
		errx(1, "%s", errbuf);
	if (drank == 0)
		warnx("%s: loaded %d of the model's %d tensors (%zu of %zu "
		    "parameters); left at init: %s", path, rep.ntensors,
		    rep.ntable, rep.nloaded, rep.nparams,
		    rep.left[0] ? rep.left : "none");
	if ((r->st.init_file = strdup(path)) == NULL)
		errx(1, "out of memory");
	r->st.init_names = rep.names;
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
	if (ck != NULL) {
		/* the checkpoint's modalities; --modalities, --seq must agree */
		unsigned sq = (cfg->layout[0] == RQ_LAYOUT_SEQ) |
		    (cfg->layout[1] == RQ_LAYOUT_SEQ) << 1;
		if ((o->mods != NULL && (strcmp(o->mod[0], cfg->mod[0]) != 0 ||
		    strcmp(o->mod[1], cfg->mod[1]) != 0)) || (o->seqs != NULL &&
		    (o->seq & ~sq) != 0))
			errx(1, "%s: record 0: modality.0, modality.1: the "
			    "checkpoint's modalities are %s,%s (%s, %s)",
			    o->resume, cfg->mod[0], cfg->mod[1],
			    rq_layout_name(cfg->layout[0]),
			    rq_layout_name(cfg->layout[1]));
		memcpy(o->mod, cfg->mod, sizeof o->mod);
		o->seq = sq;
	}
	for (int i = 0; i < nsets; i++)
		if (rq_dataset_load_named(&ds[i], argv[i], o->mod[0], o->mod[1],
		    o->seq, errbuf, sizeof errbuf) != RQ_OK)
			errx(1, "%s", errbuf);
	r->K = ds[0].classes;
	for (int i = 1; i < nsets; i++) {
		if (ds[i].F != ds[0].F || ds[i].T != ds[0].T ||
		    ds[i].C != ds[0].C || ds[i].H != ds[0].H ||
		    ds[i].W != ds[0].W || ds[i].layout[0] != ds[0].layout[0] ||
		    ds[i].layout[1] != ds[0].layout[1])
			errx(1, "%s: sample shapes differ from %s", argv[i],
			    argv[0]);
		r->K = RQ_MAX(r->K, ds[i].classes);
	}
	if (ck == NULL)
		shapes_cfg(o, ds[0].F, ds[0].T, ds[0].C, ds[0].H, ds[0].W, r->K,
		    ds[0].layout);
	else if (cfg->F != ds[0].F || cfg->T != ds[0].T || cfg->C != ds[0].C ||
	    cfg->H != ds[0].H || cfg->W != ds[0].W || r->K > cfg->classes ||
	    cfg->layout[0] != ds[0].layout[0] ||
	    cfg->layout[1] != ds[0].layout[1])
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
		    "heads %d, mlp x%d, batch %d, patches %dx%d and %dx%d for %s "
		    "%dx%d, %s %dx%dx%d)", ck != NULL ? o->resume : argv[0],
		    ck != NULL ? "record 0: d, mlp, train.batch" : "data shapes",
		    cfg->d, cfg->heads, cfg->mlp, cfg->batch, cfg->pf, cfg->pt,
		    cfg->ph, cfg->pw, cfg->mod[0], cfg->F, cfg->T, cfg->mod[1],
		    cfg->C, cfg->H, cfg->W);
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

	if (h->pmr) {
		if (rq_pmr_init(&r->pmr, cfg->classes, cfg->d) != RQ_OK)
			errx(1, "out of memory");
		r->st.pmr = &r->pmr;
	}
	if (ck != NULL) {
		if (rq_ckpt_read(ck, r->m, &r->st, errbuf, sizeof errbuf) !=
		    RQ_OK)
			errx(1, "%s", errbuf);
		rq_ckpt_close(ck);
	} else {
		rq_rng_seed(&r->st.rng, h->seed);
		rq_model_init_params(r->m, &r->st.rng);
		if (o->init != NULL)
			init_from(r, o->init);
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

/* PMR acts in epochs pmr_start..pmr_end (1-based) */
static int
pmr_on(const run *r, long e)
{
	const rq_train_cfg *h = &r->o.tc;

	return h->pmr && e + 1 >= h->pmr_start && e + 1 <= h->pmr_end;
}

/*
 * PMR, at the start of epoch e + 1: the prototypes from the class means
 * of the CLS features (eval mode) over the first tenth of the epoch's
 * batches (at least one), each rank its part, the sums reduced.
 */
static void
pmr_estimate(run *r)
{
	rq_model *m = r->m;
	long nbp = RQ_MAX(1, r->nb / 10);
	size_t n = RQ_MIN((size_t)nbp * r->B, r->ds[0].n), lo, cnt;
	work *w = &r->w;

	rq_pmr_clear(&r->pmr);
	rq_dist_part(n, drank, dsize, &lo, &cnt);
	for (size_t i = lo; i < lo + cnt; i += (size_t)r->U) {
		int nc = (int)RQ_MIN((size_t)r->U, lo + cnt - i);
		rq_dataset_batch(&r->ds[0], r->st.perm + i, nc, w->a, w->v, w->y);
		rq_model_forward(m, w->a, w->v, NULL, nc, 0, NULL);
		rq_pmr_add(&r->pmr, rq_model_feature(m, 0), rq_model_feature(m, 1),
		    w->y, nc);
	}
	if (rq_pmr_update(&r->pmr, r->o.tc.pmr_mom) != RQ_OK)
		errx(1, "%s", rq_dist_error());
}

/*
 * PMR's coefficients need the whole global batch's prototype scores
 * before any backward: when the batch runs in parts (micro-batches or
 * ranks), a forward-only pass over the parts first (the Concat encoders
 * draw no dropout, so the features are those of the training forward).
 */
static void
pmr_prepass(run *r, int nl, double beta[2])
{
	double pt[2] = {0, 0};
	work *w = &r->w;

	for (int o = 0; o < nl; o += r->U) {
		int nc = RQ_MIN(r->U, nl - o);
		rq_model_forward(r->m, w->a + (size_t)o * r->fa,
		    w->v + (size_t)o * r->fv, NULL, nc, 0, NULL);
		for (int md = 0; md < 2; md++)
			rq_pmr_pce(&r->pmr, md, rq_model_feature(r->m, md),
			    w->y + o, nc, NULL, 0, &pt[md]);
	}
	dsum(pt, 2);
	rq_pmr_beta(pt[0], pt[1], r->o.tc.pmr_alpha, beta);
}

/* PMR after a forward of nc samples of an n-sample batch: the weighted
 * PCE gradients into the features (beta from the prepass, or from this
 * forward when it is the whole batch); returns the weighted PCE sum */
static double
pmr_loss(run *r, int nc, const int32_t *yc, int n, int whole, double beta[2])
{
	double l = 0, pt[2] = {0, 0};

	if (whole) {
		for (int md = 0; md < 2; md++)
			rq_pmr_pce(&r->pmr, md, rq_model_feature(r->m, md), yc, nc,
			    NULL, 0, &pt[md]);
		rq_pmr_beta(pt[0], pt[1], r->o.tc.pmr_alpha, beta);
	}
	for (int md = 0; md < 2; md++)
		if (beta[md] != 0)
			l += beta[md] * rq_pmr_pce(&r->pmr, md,
			    rq_model_feature(r->m, md), yc, nc,
			    rq_model_feature_grad(r->m, md), beta[md] / n, NULL);
	return l;
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
	double pbeta[2] = {0, 0};
	int pmr = pmr_on(r, e), whole;
	work *w = &r->w;

	rq_dist_part((size_t)n, drank, dsize, &off, &ln);
	nl = (int)ln;
	whole = dsize == 1 && nl <= U;
	rq_model_zero_grad(m);
	if (nl > 0)
		rq_dataset_batch(&r->ds[0], st->perm + i0 + off, nl, w->a, w->v,
		    w->y);
	if (pmr && !whole)
		pmr_prepass(r, nl, pbeta);
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
		if (pmr)
			red[0] += pmr_loss(r, nc, yc, n, whole, pbeta);
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
	bar.loss = st->acc[0] / st->acc[1];
	bar_step(n, 1);
	return stopnow;
}

/* the samples of the epoch's AIR pass (rq_rollingq_epoch) */
static double
air_samples(const run *r)
{
	int nfl = rq_model_fusion_layers(r->m);

	return r->o.tc.rq.air_full || r->o.airdump != NULL ?
	    (double)r->ds[0].n * nfl : (double)r->B * nfl;
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
	char x2[96] = "", errbuf[512], pc[3][16];
	int best;

	if (air_samples(r) > 0)	/* methods with a fusion query */
		bar_phase("air", e + 1, air_samples(r));
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
	bar_step(air_samples(r), 1.0 / 3);
	if (rep.rotated) {
		logline("# epoch=%ld rotation=%ld air=%.6f alpha=%.6f rho=%g "
		    "layer=%d\n", e + 1, rep.rotation, rep.air[rep.rotated - 1],
		    rep.alpha, r->o.tc.rq.rho, rep.rotated);
		term("epoch %ld: rotation %ld (layer %d), air %.4f, alpha %.4f",
		    e + 1, rep.rotation, rep.rotated, rep.air[rep.rotated - 1],
		    rep.alpha);
	}
	bar_phase("val", e + 1, (double)r->ds[1].n);
	evaluate(m, &r->ds[1], &r->w, r->U, vacc, &vloss);
	/* test accuracy of this epoch, used if it is the best on val */
	if (r->nsets > 2) {
		bar_phase("test", e + 1, (double)r->ds[2].n);
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
	term("epoch %ld/%d loss %.4f acc %s val %s test %s air %.3f rot %ld "
	    "%.1fs", e + 1, r->o.tc.epochs, tloss, pct(pc[0], 16, tacc[0]),
	    pct(pc[1], 16, vacc[0]), pct(pc[2], 16, test_acc), rep.air[0],
	    rq_model_rotations(m, 0) ? *rq_model_rotations(m, 0) : 0L,
	    now() - t0);
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

	rq_cli_init(argc, argv);
	argv0 = argv[0];
	if (rq_dist_init(&argc, &argv) != RQ_OK)
		errx(1, "%s", rq_dist_error());
	drank = rq_dist_rank();
	dsize = rq_dist_size();
	parse(&argc, &argv, &r.o);
	openblas_set_num_threads(r.o.threads);
	if (r.o.paonly) {
		if (argc != 0 || r.o.sh_a[0] == 0 || r.o.sh_v[0] == 0 ||
		    r.o.ncls == 0) {
			if (argc != 0)
				warnx("--params-only: unexpected operand: %s",
				    argv[0]);
			else
				warnx("--params-only: missing %s", r.o.sh_a[0] ==
				    0 ? "--audio" : r.o.sh_v[0] == 0 ? "--visual" :
				    "--classes");
			usage(2);
		}
		{
			int lay[2] = {r.o.seq & 1 ? RQ_LAYOUT_SEQ : RQ_LAYOUT_SPEC,
			    r.o.seq & 2 ? RQ_LAYOUT_SEQ : RQ_LAYOUT_FRAMES};
			if (r.o.seq & 2)	/* TxF: one frame [1,T,F] */
				shapes_cfg(&r.o, r.o.sh_a[0], r.o.sh_a[1], 1,
				    r.o.sh_v[0], r.o.sh_v[1], r.o.ncls, lay);
			else
				shapes_cfg(&r.o, r.o.sh_a[0], r.o.sh_a[1],
				    r.o.sh_v[0], r.o.sh_v[1], r.o.sh_v[2],
				    r.o.ncls, lay);
		}
		if (rq_model_plan(&r.m, &r.o.cfg) != RQ_OK)
			errx(2, "impossible model configuration");
		if (drank == 0 && r.o.count)
			print_counts(r.m);
		else if (drank == 0)
			params_only(r.m, &r.o.cfg);
		rq_model_free(r.m);
		rq_dist_finalize();
		if (rq_finish_stdout() != 0)
			err(1, "stdout");
		return 0;
	}
	if (argc < 2) {
		warnx("missing operand: %s", argc == 0 ? "train" : "val");
		usage(2);
	}
	if (argc > 3) {
		warnx("unexpected operand: %s", argv[3]);
		usage(2);
	}
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
	bar.on = r.tty;
	bar.epochs = h->epochs;
	bar.unit_epoch = (double)r.ds[0].n + (air_samples(&r) +
	    (double)r.ds[1].n + (r.nsets > 2 ? (double)r.ds[2].n : 0)) / 3;
	bar.units_left = bar.unit_epoch * (h->epochs - st->epoch) -
	    (double)st->batch * r.B;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (r.o.resume == NULL)
		logline("# rq-train method=%s%s d=%d depth=%d heads=%d mlp=%d "
		    "patches=%dx%d,%dx%d params=%zu epochs=%d batch=%d "
		    "micro=%d lr=%g opt=%s seed=%llu threads=%d rho=%g beta=%g "
		    "rmax=%d air_est=%s rot=%s%s\n", method_label(cfg),
		    h->rq.on ? "+rollingq" : h->ogm ? "+ogm" : h->pmr ? "+pmr" : "",
		    cfg->d,
		    cfg->depth, cfg->heads, cfg->mlp, cfg->pf, cfg->pt, cfg->ph,
		    cfg->pw, rq_model_nparams(r.m), h->epochs, r.B, r.U, h->lr,
		    h->opt == RQ_OPT_SGD ? "sgd" : "adamw",
		    (unsigned long long)h->seed, r.o.threads, h->rq.rho,
		    h->rq.beta, h->rq.rmax, h->rq.air_full ? "full" : "last",
		    h->rq.rot_svd ? "svd" : "plane", mods_label(cfg));
	else if (r.o.logpath != NULL)
		logline("# rq-train resumed from %s at epoch %ld batch %ld\n",
		    r.o.resume, st->epoch, st->batch);
	term("rq-train: %s%s, %zu params, %d epochs x %ld batches; %s%s",
	    method_label(cfg), h->rq.on ? "+rollingq" : h->ogm ?
	    "+ogm" : "", rq_model_nparams(r.m), h->epochs, r.nb,
	    r.o.logpath ? "log: " : "full log: -L file",
	    r.o.logpath ? r.o.logpath : "");
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
			if (pmr_on(&r, e))
				pmr_estimate(&r);
		}
		bar.loss = NAN;
		bar_phase("train", e + 1, (double)r.ds[0].n);
		bar.done = (double)st->batch * r.B;
		for (long bi = st->batch; bi < r.nb; bi++) {
			if (dsize == 1)
				stopnow = stop_sig;
			if (stopnow && bi > 0)
				stop(&r, e, bi);
			stopnow = train_batch(&r, e, bi, &lr);
		}
		end_epoch(&r, e, t0, lr);
	}
	if (st->best_epoch > 0) {
		char pc[2][16];
		term("best epoch %ld: val %s test %s (accuracy, %%)",
		    st->best_epoch, pct(pc[0], 16, st->best_val),
		    pct(pc[1], 16, st->best_test));
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
	rq_pmr_free(&r.pmr);
	return 0;
}
