/*
 * rq-avmnist: build AV-MNIST-FSDD: each Free Spoken Digit clip (log-mel)
 * paired with an MNIST image of the same digit, split by take index,
 * normalised with training-split statistics, optionally degraded.
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rq.h"

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: rq-avmnist [-s seed] [-M mels] [-T frames] "
	    "[--snr db | lo:hi]\n"
	    "                  [--noise std | lo:hi] [--blur sigma] "
	    "[--downsample factor]\n"
	    "                  --dir dir fsdd-dir mnist-dir\n"
	    "       rq-avmnist [options] --split name [-o file] "
	    "fsdd-dir mnist-dir\n");
	if (status == 0)
		fprintf(f,
		    "  -s seed               pairing, order and noise seed (0)\n"
		    "  -M mels               mel bands (40)\n"
		    "  -T frames             frames (48)\n"
		    "  --snr db | lo:hi      audio noise at db, or per clip in "
		    "[lo, hi] dB\n"
		    "  --noise std | lo:hi   image noise std, or per image in "
		    "[lo, hi]\n"
		    "  --blur sigma          Gaussian blur of the images, "
		    "pixels\n"
		    "  --downsample factor   block-average the images\n"
		    "  --dir dir             write dir/{train,val,test}.rqt\n"
		    "  --split name          write one split (train, val, "
		    "test)\n"
		    "  -o file               with --split: write to file "
		    "(stdout)\n"
		    "  -h, --help            print this help\n"
		    "  --version             print the version\n");
	exit(status);
}

/* the spelling of the last release, kept for one more */
static void
old(const char *was, const char *now)
{
	warnx("%s is deprecated; use %s", was, now);
}

enum { TEST, VAL, TRAIN, NSPLIT };
static const char *splitname[NSPLIT] = {"test", "val", "train"};

struct clip {
	char *path;
	int digit, take, split;
	int64_t id;
	int64_t img;        /* index into the MNIST file of its split */
};

struct opts {
	uint64_t seed;
	int a_mode;         /* 0 none, 1 fixed, 2 range */
	double a_lo, a_hi;
	int v_mode;
	double v_lo, v_hi;
	double blur;
	long down;
	rq_logmel lm;
};

static int
cmpclip(const void *a, const void *b)
{
	return strcmp(((const struct clip *)a)->path,
	    ((const struct clip *)b)->path);
}

/* a number (mode 1) or lo:hi (mode 2) */
static int
range(const char *s, const char *opt, double *lo, double *hi)
{
	int r = rq_cli_range(s, lo, hi);

	if (r < 0)
		errx(2, "%s: bad number or range (want x or lo:hi with "
		    "lo <= hi): %s", opt, s);
	return r + 1;
}

/* FSDD: {digit}_{speaker}_{take}.wav in dir or dir/recordings */
static struct clip *
scan(const char *dir, size_t *np)
{
	char sub[4096], *base;
	struct clip *c = NULL;
	struct dirent *de;
	struct stat st;
	size_t n = 0, cap = 0;
	DIR *d;

	snprintf(sub, sizeof sub, "%s/recordings", dir);
	base = stat(sub, &st) == 0 && S_ISDIR(st.st_mode) ? sub : (char *)dir;
	if ((d = opendir(base)) == NULL)
		err(1, "%s", base);
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		char spk[64];
		int digit, take, used = 0;

		if (len < 5 || strcmp(nm + len - 4, ".wav") != 0)
			continue;
		if (sscanf(nm, "%d_%63[^_]_%d.wav%n", &digit, spk, &take,
		    &used) != 3 || (size_t)used != len || digit < 0 ||
		    digit > 9 || take < 0 || take > 49)
			errx(1, "%s/%s: name is not digit_speaker_take.wav "
			    "(take 0-49)", base, nm);
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			if ((c = realloc(c, cap * sizeof *c)) == NULL)
				err(1, "realloc");
		}
		if ((c[n].path = malloc(strlen(base) + len + 2)) == NULL)
			err(1, "malloc");
		snprintf(c[n].path, strlen(base) + len + 2, "%s/%s", base, nm);
		c[n].digit = digit;
		c[n].take = take;
		c[n].split = take < 5 ? TEST : take < 10 ? VAL : TRAIN;
		n++;
	}
	closedir(d);
	if (n == 0)
		errx(1, "%s: no FSDD .wav files", base);
	qsort(c, n, sizeof *c, cmpclip);
	for (size_t i = 0; i < n; i++)
		c[i].id = (int64_t)i;
	*np = n;
	return c;
}

static void
load_idx(const char *dir, const char *stem, rq_tensor *t)
{
	char path[4096], msg[600];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s.gz", dir, stem);
	if (stat(path, &st) != 0)
		snprintf(path, sizeof path, "%s/%s", dir, stem);
	if (rq_idx_read(path, t, msg, sizeof msg) != RQ_OK)
		errx(1, "%s", msg);
}

/*
 * Pair every clip with an image of its digit: per digit the MNIST indices
 * are shuffled by the seed; val clips take the first ones, train clips
 * the next (so val and train images are disjoint); test uses t10k.
 */
static void
pair(struct clip *c, size_t n, const rq_tensor *lab, int which,
    uint64_t seed)
{
	size_t N = lab->dims[0];
	int64_t *idx[10];
	size_t cnt[10] = {0}, next[10] = {0};
	const uint8_t *y = lab->data;
	rq_rng r;

	if (lab->dtype != RQ_U8 || lab->ndim != 1)
		errx(1, "MNIST labels: expected a u8 vector");
	for (int d = 0; d < 10; d++)
		if ((idx[d] = malloc(N * sizeof *idx[d])) == NULL)
			err(1, "malloc");
	for (size_t i = 0; i < N; i++) {
		if (y[i] > 9)
			errx(1, "MNIST labels: record %zu: label %d", i, y[i]);
		idx[y[i]][cnt[y[i]]++] = (int64_t)i;
	}
	rq_rng_seed(&r, rq_synth_split_seed(seed, which == TEST ? "mnist.test"
	    : "mnist.train"));
	for (int d = 0; d < 10; d++)
		rq_rng_shuffle(&r, idx[d], cnt[d]);
	for (int pass = 0; pass < 2; pass++) {
		int sp = which == TEST ? TEST : pass == 0 ? VAL : TRAIN;
		if (which == TEST && pass == 1)
			break;
		for (size_t i = 0; i < n; i++) {
			int d = c[i].digit;
			if (c[i].split != sp)
				continue;
			if (next[d] >= cnt[d])
				errx(1, "MNIST %s labels: too few images of digit %d",
				    which == TEST ? "t10k" : "train", d);
			c[i].img = idx[d][next[d]++];
		}
	}
	for (int d = 0; d < 10; d++)
		free(idx[d]);
}

/*
 * The degraded recording: the clip centred in the fixed-length window
 * (zero-padded or centre-cropped to the samples that give exactly
 * lm->frames frames), then white noise over the WHOLE window at snr dB
 * below the clip's mean power, as a noisy recording would have it.
 * (Noise over the clip alone left the padded frames at the exact
 * log(eps) silence of rq_logmel_compute.)  Frees x; *nx becomes the
 * window length.
 */
static float *
noisy_window(const rq_logmel *lm, float *x, size_t *nx, double snr,
    rq_rng *rn)
{
	size_t n = *nx, W = (size_t)(lm->frames - 1) * (size_t)lm->hop;
	double p = 0, sd;
	float *y;

	if (!lm->center)
		W += (size_t)lm->n_fft;
	for (size_t i = 0; i < n; i++)
		p += (double)x[i] * x[i];
	sd = sqrt(p / (double)(n ? n : 1) / pow(10, snr / 10));
	if ((y = calloc(W ? W : 1, sizeof *y)) == NULL)
		err(1, "calloc");
	if (n >= W)
		memcpy(y, x + (n - W) / 2, W * sizeof *y);
	else
		memcpy(y + (W - n) / 2, x, n * sizeof *y);
	for (size_t i = 0; i < W; i++)
		y[i] += (float)(sd * rq_rng_normal(rn));
	free(x);
	*nx = W;
	return y;
}

static void
stats(const float *x, size_t n, double *mean, double *sd)
{
	double m = 0, s = 0;

	for (size_t i = 0; i < n; i++)
		m += x[i];
	m /= (double)n;
	for (size_t i = 0; i < n; i++)
		s += (x[i] - m) * (x[i] - m);
	*mean = m;
	*sd = sqrt(s / (double)n);
	if (!(*sd > 0))
		*sd = 1;
}

static void
meta(rq_tensor *t, const struct opts *o, int sp)
{
	int rc = 0;

	rc |= rq_meta_set(t, "classes", "10");
	rc |= rq_meta_set(t, "split", "%s", splitname[sp]);
	rc |= rq_meta_set(t, "dataset", "avmnist-fsdd");
	rc |= rq_meta_set(t, "seed", "%llu", (unsigned long long)o->seed);
	rc |= rq_meta_set(t, "audio.feature", "logmel sr=%g n_fft=%d win=%d "
	    "hop=%d mels=%d frames=%d eps=%g", o->lm.sr, o->lm.n_fft, o->lm.win,
	    o->lm.hop, o->lm.n_mels, o->lm.frames, o->lm.eps);
	if (o->a_mode)
		rc |= rq_meta_set(t, "degrade.audio.span", "window");
	if (o->a_mode == 1)
		rc |= rq_meta_set(t, "degrade.audio.snr_db", "%g", o->a_lo);
	else if (o->a_mode == 2)
		rc |= rq_meta_set(t, "degrade.audio.snr_db", "%g:%g", o->a_lo,
		    o->a_hi);
	if (o->v_mode == 1)
		rc |= rq_meta_set(t, "degrade.visual.noise_std", "%g", o->v_lo);
	else if (o->v_mode == 2)
		rc |= rq_meta_set(t, "degrade.visual.noise_std", "%g:%g",
		    o->v_lo, o->v_hi);
	if (o->blur > 0)
		rc |= rq_meta_set(t, "degrade.visual.blur", "%g", o->blur);
	if (o->down > 1)
		rc |= rq_meta_set(t, "degrade.visual.downsample", "%ld", o->down);
	if (o->a_mode)
		rc |= rq_meta_set(t, "quality.audio", "snr_db");
	if (o->v_mode)
		rc |= rq_meta_set(t, "quality.visual", "noise_std");
	if (rc)
		errx(1, "metadata too large");
}

enum { OPT_VERSION = 256, OPT_SNR, OPT_NOISE, OPT_BLUR, OPT_DOWN, OPT_SPLIT,
    OPT_DIR };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"snr", required_argument, NULL, OPT_SNR},
	{"noise", required_argument, NULL, OPT_NOISE},
	{"blur", required_argument, NULL, OPT_BLUR},
	{"downsample", required_argument, NULL, OPT_DOWN},
	{"split", required_argument, NULL, OPT_SPLIT},
	{"dir", required_argument, NULL, OPT_DIR},
	{NULL, 0, NULL, 0}
};

int
main(int argc, char **argv)
{
	struct opts o;
	struct clip *c;
	rq_tensor mimg[2], mlab[2], T[NSPLIT][6];
	const char *outdir = NULL, *only = NULL, *outfile = NULL;
	double amean = 0, asd = 1, vmean = 0, vsd = 1;
	size_t n, ns[NSPLIT] = {0}, F, TT, AD, VD = 28 * 28;
	long v;
	int ch;

	rq_cli_init(argc, argv);
	memset(&o, 0, sizeof o);
	rq_logmel_defaults(&o.lm);
	while ((ch = getopt_long(argc, argv, "hs:M:T:o:a:A:n:N:b:d:S:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-avmnist %s\n", rq_cli_version());
			exit(0);
		case 's':
			if (rq_parse_u64(optarg, &o.seed) != 0)
				errx(2, "-s: bad seed: %s", optarg);
			break;
		case 'a':
		case 'A':
			old(ch == 'a' ? "-a" : "-A", "--snr");
			/* FALLTHROUGH */
		case OPT_SNR:
			o.a_mode = range(optarg, "--snr", &o.a_lo, &o.a_hi);
			break;
		case 'n':
		case 'N':
			old(ch == 'n' ? "-n" : "-N", "--noise");
			/* FALLTHROUGH */
		case OPT_NOISE:
			o.v_mode = range(optarg, "--noise", &o.v_lo, &o.v_hi);
			if (o.v_lo < 0)
				errx(2, "--noise: negative noise std: %s", optarg);
			break;
		case 'b':
			old("-b", "--blur");
			/* FALLTHROUGH */
		case OPT_BLUR:
			if (rq_parse_double(optarg, &o.blur) != 0 || o.blur < 0 ||
			    o.blur > 10)
				errx(2, "--blur: bad blur sigma: %s", optarg);
			break;
		case 'd':
			old("-d", "--downsample");
			/* FALLTHROUGH */
		case OPT_DOWN:
			if (rq_parse_long(optarg, 1, 28, &o.down) != 0)
				errx(2, "--downsample: bad factor: %s", optarg);
			break;
		case 'M':
			if (rq_parse_long(optarg, 1, 128, &v) != 0)
				errx(2, "-M: bad mel band count: %s", optarg);
			o.lm.n_mels = (int)v;
			break;
		case 'T':
			if (rq_parse_long(optarg, 1, 1000, &v) != 0)
				errx(2, "-T: bad frame count: %s", optarg);
			o.lm.frames = (int)v;
			break;
		case 'S':
			old("-S", "--split");
			/* FALLTHROUGH */
		case OPT_SPLIT:
			only = optarg;
			break;
		case OPT_DIR:
			outdir = optarg;
			break;
		case 'o':
			outfile = optarg;
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (outfile != NULL && only == NULL && outdir == NULL) {
		/* the last release's -o dir */
		old("-o dir", "--dir dir");
		outdir = outfile;
		outfile = NULL;
	}
	if (argc < 2) {
		warnx("missing operand: %s", argc == 0 ? "fsdd-dir" :
		    "mnist-dir");
		usage(2);
	}
	if (argc > 2) {
		warnx("unexpected operand: %s", argv[2]);
		usage(2);
	}
	if (only == NULL && outdir == NULL) {
		warnx("need --dir or --split");
		usage(2);
	}
	if (only != NULL && outdir != NULL) {
		warnx("--dir and --split exclude each other");
		usage(2);
	}
	if (outfile != NULL && only == NULL) {
		warnx("-o needs --split (--dir writes all three)");
		usage(2);
	}
	if (only && strcmp(only, "train") && strcmp(only, "val") &&
	    strcmp(only, "test"))
		errx(2, "--split: split must be train, val or test: %s", only);
	if (outdir == NULL && rq_cli_stream_to_tty(outfile))
		errx(1, "%s", RQ_CLI_TTY_MSG);

	if (outdir != NULL && mkdir(outdir, 0777) != 0 && errno != EEXIST)
		err(1, "%s", outdir);
	c = scan(argv[0], &n);
	for (int i = 0; i < 2; i++) {
		rq_tensor_init(&mimg[i]);
		rq_tensor_init(&mlab[i]);
	}
	load_idx(argv[1], "train-images-idx3-ubyte", &mimg[0]);
	load_idx(argv[1], "train-labels-idx1-ubyte", &mlab[0]);
	load_idx(argv[1], "t10k-images-idx3-ubyte", &mimg[1]);
	load_idx(argv[1], "t10k-labels-idx1-ubyte", &mlab[1]);
	for (int i = 0; i < 2; i++)
		if (mimg[i].dtype != RQ_U8 || mimg[i].ndim != 3 ||
		    mimg[i].dims[1] != 28 || mimg[i].dims[2] != 28 ||
		    mlab[i].dims[0] != mimg[i].dims[0])
			errx(1, "%s: MNIST images: expected u8 [N,28,28] with "
			    "N labels", argv[1]);
	pair(c, n, &mlab[0], TRAIN, o.seed);
	pair(c, n, &mlab[1], TEST, o.seed);

	F = (size_t)o.lm.n_mels;
	TT = (size_t)o.lm.frames;
	AD = F * TT;
	for (size_t i = 0; i < n; i++)
		ns[c[i].split]++;
	for (int sp = 0; sp < NSPLIT; sp++) {
		uint64_t da[3] = {ns[sp], F, TT}, dv[4] = {ns[sp], 1, 28, 28};
		uint64_t d1[1] = {ns[sp]};
		static const char *nm[6] = {"audio", "visual", "label", "id",
		    "quality.audio", "quality.visual"};
		for (int k = 0; k < 6; k++) {
			rq_tensor_init(&T[sp][k]);
			if (rq_tensor_alloc(&T[sp][k], k < 2 ? RQ_F32 : k == 2 ?
			    RQ_I32 : k == 3 ? RQ_I64 : RQ_F32, k == 0 ? 3 :
			    k == 1 ? 4 : 1, k == 0 ? da : k == 1 ? dv : d1) ||
			    rq_tensor_set_name(&T[sp][k], nm[k]))
				errx(1, "out of memory");
		}
	}

	/* features; sample order within a split shuffled by the seed */
	for (int sp = 0; sp < NSPLIT; sp++) {
		int64_t *ord = malloc((ns[sp] ? ns[sp] : 1) * sizeof *ord);
		size_t k = 0;
		rq_rng r, rn;

		if (ord == NULL)
			err(1, "malloc");
		for (size_t i = 0; i < n; i++)
			if (c[i].split == sp)
				ord[k++] = (int64_t)i;
		rq_rng_seed(&r, rq_synth_split_seed(o.seed, splitname[sp]));
		rq_rng_shuffle(&r, ord, ns[sp]);
		rq_rng_seed(&rn, rq_synth_split_seed(o.seed ^ 0x5eed,
		    splitname[sp]));
		for (k = 0; k < ns[sp]; k++) {
			struct clip *cl = &c[ord[k]];
			const rq_tensor *im = &mimg[sp == TEST];
			float *a = (float *)T[sp][0].data + k * AD;
			float *vv = (float *)T[sp][1].data + k * VD;
			const uint8_t *src = (const uint8_t *)im->data +
			    (size_t)cl->img * VD;
			char msg[600];
			float *x;
			size_t nx;
			int sr;

			if (rq_wav_read(cl->path, &x, &nx, &sr, msg, sizeof msg))
				errx(1, "%s", msg);
			if (sr != (int)o.lm.sr)
				errx(1, "%s: sample rate %d Hz, expected %g", cl->path,
				    sr, o.lm.sr);
			if (o.a_mode) {
				double snr = o.a_lo + (o.a_hi - o.a_lo) *
				    rq_rng_uniform(&rn);
				x = noisy_window(&o.lm, x, &nx, snr, &rn);
				((float *)T[sp][4].data)[k] = (float)snr;
			}
			if (rq_logmel_compute(&o.lm, x, nx, a) != RQ_OK)
				errx(1, "%s: cannot compute log-mel features",
				    cl->path);
			free(x);
			for (size_t i = 0; i < VD; i++)
				vv[i] = src[i] / 255.0f;
			if (o.down > 1)
				rq_image_downsample(vv, 28, 28, (int)o.down);
			if (o.blur > 0 && rq_image_blur(vv, 28, 28, o.blur))
				errx(1, "out of memory");
			if (o.v_mode) {
				double sd = o.v_lo + (o.v_hi - o.v_lo) *
				    rq_rng_uniform(&rn);
				for (size_t i = 0; i < VD; i++)
					vv[i] += (float)(sd * rq_rng_normal(&rn));
				((float *)T[sp][5].data)[k] = (float)sd;
			}
			((int32_t *)T[sp][2].data)[k] = cl->digit;
			((int64_t *)T[sp][3].data)[k] = cl->id;
		}
		free(ord);
	}

	/* normalisation: scalar mean and std of the training split */
	stats(T[TRAIN][0].data, ns[TRAIN] * AD, &amean, &asd);
	stats(T[TRAIN][1].data, ns[TRAIN] * VD, &vmean, &vsd);
	for (int sp = 0; sp < NSPLIT; sp++) {
		float *a = T[sp][0].data, *vv = T[sp][1].data;
		for (size_t i = 0; i < ns[sp] * AD; i++)
			a[i] = (float)((a[i] - amean) / asd);
		for (size_t i = 0; i < ns[sp] * VD; i++)
			vv[i] = (float)((vv[i] - vmean) / vsd);
		for (int k = 0; k < 6; k++)
			meta(&T[sp][k], &o, sp);
		if (rq_meta_set(&T[sp][0], "norm.mean", "%.9g", amean) ||
		    rq_meta_set(&T[sp][0], "norm.std", "%.9g", asd) ||
		    rq_meta_set(&T[sp][1], "norm.mean", "%.9g", vmean) ||
		    rq_meta_set(&T[sp][1], "norm.std", "%.9g", vsd))
			errx(1, "metadata too large");
	}

	for (int sp = 0; sp < NSPLIT; sp++) {
		char path[4096], msg[600];
		rq_stream *s;
		long rec;

		if (only && strcmp(only, splitname[sp]) != 0)
			continue;
		if (outdir)
			snprintf(path, sizeof path, "%s/%s.rqt", outdir,
			    splitname[sp]);
		else
			snprintf(path, sizeof path, "%s", outfile ? outfile :
			    "-");
		if ((s = rq_stream_open(path, "w")) == NULL)
			err(1, "%s", path);
		for (int k = 0; k < 6; k++) {
			if ((k == 4 && !o.a_mode) || (k == 5 && !o.v_mode))
				continue;
			if (rq_tensor_write(s, &T[sp][k]) != RQ_OK) {
				snprintf(msg, sizeof msg, "%s", rq_stream_error(s));
				rq_stream_abort(s);
				errx(1, "%s", msg);
			}
		}
		rec = rq_stream_record(s);
		if (rq_stream_close(s) != RQ_OK)
			err(1, "%s: record %ld", strcmp(path, "-") ? path :
			    "<stdout>", rec);
	}
	if (only && outfile == NULL && rq_finish_stdout() != 0)
		err(1, "stdout");
	for (int i = 0; i < 2; i++) {
		rq_tensor_free(&mimg[i]);
		rq_tensor_free(&mlab[i]);
	}
	for (int sp = 0; sp < NSPLIT; sp++)
		for (int k = 0; k < 6; k++)
			rq_tensor_free(&T[sp][k]);
	for (size_t i = 0; i < n; i++)
		free(c[i].path);
	free(c);
	return 0;
}
