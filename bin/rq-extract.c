/*
 * rq-extract: audio files (log-mel, the CREMA-D spectrogram or the
 * Kinetics-Sounds Kaldi filterbank) or PNG/JPEG images (resized, stacked
 * frames, optionally picked from a clip's frames as the authors' loaders
 * pick them) to a dataset tensor stream, from file operands or a CSV
 * manifest "path[;path...],label,split".
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
	    "usage: rq-extract [-k logmel|cremad|ksfbank|image] "
	    "[--manifest manifest]\n"
	    "                  [--split split] [--rate rate] [-M mels] "
	    "[-T frames]\n"
	    "                  [--n-fft n_fft] [--win win] [--hop hop] "
	    "[--size size] [-I]\n"
	    "                  [-P pick [--draw [-s seed]]] "
	    "[-z | --stats stats] [-o file]\n"
	    "                  [file ...]\n"
	    "       rq-extract -k idx [--split split] [-z | --stats stats] "
	    "[-o file]\n"
	    "                  images [labels]\n");
	if (status == 0)
		fprintf(f,
		    "  -k kind              logmel (default), cremad, ksfbank, "
		    "image or idx\n"
		    "  --manifest manifest  items from a CSV manifest "
		    "(- stdin)\n"
		    "  --split split        only the manifest lines of this "
		    "split\n"
		    "  --rate rate          audio sample rate (logmel 8000; "
		    "ksfbank the clip's)\n"
		    "  -M mels              mel bands (logmel 40, ksfbank 128)\n"
		    "  -T frames            frames (logmel 48, ksfbank 1024)\n"
		    "  --n-fft n_fft        logmel: FFT size (256)\n"
		    "  --win win            logmel: window length (200)\n"
		    "  --hop hop            logmel: hop (80)\n"
		    "  --size size          image: side after resizing (224)\n"
		    "  -I                   image: ImageNet normalisation\n"
		    "  -P pick              image: pick frames of each item, "
		    "evenly spaced\n"
		    "  --draw               -P: draw them at random, the "
		    "training-time pick\n"
		    "  -s seed              --draw: the seed (0)\n"
		    "  -z                   standardise with the features' own "
		    "mean and std\n"
		    "  --stats stats        standardise with the norm.* of "
		    "this stream\n"
		    "  -o file              write to file, atomically (stdout)\n"
		    "  -h, --help           print this help\n"
		    "  --version            print the version\n");
	exit(status);
}

/* the spelling of the last release, kept for one more */
static void
old(int c, const char *now)
{
	warnx("-%c is deprecated; use %s", c, now);
}

enum { OPT_VERSION = 256, OPT_MANIFEST, OPT_SPLIT, OPT_RATE, OPT_NFFT,
    OPT_WIN, OPT_HOP, OPT_SIZE, OPT_STATS, OPT_DRAW };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"manifest", required_argument, NULL, OPT_MANIFEST},
	{"split", required_argument, NULL, OPT_SPLIT},
	{"rate", required_argument, NULL, OPT_RATE},
	{"n-fft", required_argument, NULL, OPT_NFFT},
	{"win", required_argument, NULL, OPT_WIN},
	{"hop", required_argument, NULL, OPT_HOP},
	{"size", required_argument, NULL, OPT_SIZE},
	{"stats", required_argument, NULL, OPT_STATS},
	{"draw", no_argument, NULL, OPT_DRAW},
	{NULL, 0, NULL, 0}
};

static int
number(const char *s, const char *opt)
{
	long v;

	if (rq_parse_long(s, 1, 65536, &v) != 0)
		errx(2, "%s: bad number: %s", opt, s);
	return (int)v;
}

enum { LOGMEL, CREMAD, KSFBANK, IMAGE, IDX };

static const char *mname = "-";

/*
 * -k idx: an MNIST-style IDX file of u8 images [N,H,W] (plain or .gz)
 * becomes visual f32 [N,1,H,W] = bytes / 255; an optional IDX label file
 * [N] gives label 0-9 (else -1); id is the image index.  Returns N.
 */
static size_t
idx_input(int argc, char **argv, rq_tensor *feat, rq_tensor *lab,
    rq_tensor *id, size_t *per)
{
	rq_tensor im, lb;
	char msg[600];
	size_t n;

	if (argc < 1) {
		warnx("missing operand: images");
		usage(2);
	}
	if (argc > 2) {
		warnx("unexpected operand: %s", argv[2]);
		usage(2);
	}
	rq_tensor_init(&im);
	rq_tensor_init(&lb);
	if (rq_idx_read(argv[0], &im, msg, sizeof msg) != RQ_OK)
		errx(1, "%s", msg);
	if (im.ndim != 3 || im.dtype != RQ_U8)
		errx(1, "%s: want u8 images [N,H,W], not %s with %d dims",
		    argv[0], rq_dtype_name(im.dtype), im.ndim);
	n = (size_t)im.dims[0];
	*per = (size_t)(im.dims[1] * im.dims[2]);
	{
		uint64_t d4[4] = {n, 1, im.dims[1], im.dims[2]}, d1[1] = {n};
		if (rq_tensor_alloc(feat, RQ_F32, 4, d4) ||
		    rq_tensor_alloc(lab, RQ_I32, 1, d1) ||
		    rq_tensor_alloc(id, RQ_I64, 1, d1))
			errx(1, "%s: out of memory", argv[0]);
	}
	for (size_t i = 0; i < n * *per; i++)
		((float *)feat->data)[i] = ((uint8_t *)im.data)[i] / 255.0f;
	for (size_t i = 0; i < n; i++) {
		((int32_t *)lab->data)[i] = -1;
		((int64_t *)id->data)[i] = (int64_t)i;
	}
	if (argc == 2) {
		if (rq_idx_read(argv[1], &lb, msg, sizeof msg) != RQ_OK)
			errx(1, "%s", msg);
		if (lb.ndim != 1 || lb.dtype != RQ_U8)
			errx(1, "%s: want u8 labels [N], not %s with %d dims",
			    argv[1], rq_dtype_name(lb.dtype), lb.ndim);
		if (lb.dims[0] != n)
			errx(1, "%s: %llu labels for %zu images in %s", argv[1],
			    (unsigned long long)lb.dims[0], n, argv[0]);
		/* MNIST-style labels are digits: ten classes */
		for (size_t i = 0; i < n; i++) {
			int l = ((uint8_t *)lb.data)[i];
			if (l >= 10)
				errx(1, "%s: item %zu: label %d out of range "
				    "(10 classes, 0-9)", argv[1], i, l);
			((int32_t *)lab->data)[i] = l;
		}
	}
	rq_tensor_free(&im);
	rq_tensor_free(&lb);
	return n;
}

/*
 * -P: replace each item's ';'-separated frames (a clip's 1-fps frames in
 * order) by the pick of them rq_manifest_pick chooses (rng: --draw).
 */
static void
pick_frames(rq_manifest_item *it, size_t n, int pick, rq_rng *rng, int own)
{
	size_t *idx = malloc((size_t)pick * sizeof *idx);

	if (idx == NULL)
		err(1, "malloc");
	for (size_t i = 0; i < n; i++) {
		char *s = strdup(it[i].paths), **f = NULL, *p, *save = NULL, *out;
		size_t nf = 0, len = 0;
		int rc;

		if (s == NULL)
			err(1, "strdup");
		for (p = strtok_r(s, ";", &save); p;
		    p = strtok_r(NULL, ";", &save)) {
			if ((f = realloc(f, (nf + 1) * sizeof *f)) == NULL)
				err(1, "realloc");
			f[nf++] = p;
		}
		if ((rc = rq_manifest_pick(nf, pick, rng, idx)) != RQ_OK)
			errx(1, "%s: line %ld: %zu frames, too few for -P %d",
			    mname, it[i].line, nf, pick);
		for (int k = 0; k < pick; k++)
			len += strlen(f[idx[k]]) + 1;
		if ((out = malloc(len + 1)) == NULL)
			err(1, "malloc");
		out[0] = '\0';
		for (int k = 0; k < pick; k++) {
			if (k)
				strcat(out, ";");
			strcat(out, f[idx[k]]);
		}
		if (own)
			free(it[i].paths);
		it[i].paths = out;
		free(f);
		free(s);
	}
	free(idx);
}

int
main(int argc, char **argv)
{
	rq_logmel lm;
	rq_fbank fb;
	rq_manifest_item *it;
	rq_tensor feat, lab, id;
	const char *man = NULL, *split = NULL, *stats = NULL, *out = "-";
	const char *optrate = NULL;
	int kind = LOGMEL, imnet = 0, zscore = 0, size = 224, ch;
	int mels = 0, frames_T = 0;         /* -M, -T given */
	int pick = 0, draw = 0;             /* -P, --draw given */
	const char *sarg = NULL;            /* -s */
	int oldr = 0;                       /* -R given */
	uint64_t seed = 0;
	rq_rng rng;
	long v, rate = 0, rec;
	size_t n, per = 0, C = 0, ncut = 0, npad = 0;
	double mean = 0, sd = 1;
	rq_stream *s;
	char msg[700];

	rq_cli_init(argc, argv);
	rq_logmel_defaults(&lm);
	rq_fbank_defaults(&fb, 16000);
	while ((ch = getopt_long(argc, argv, "hk:m:S:r:M:T:n:w:H:s:IP:R:zN:o:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-extract %s\n", rq_cli_version());
			exit(0);
		case 'k':
			if (strcmp(optarg, "logmel") == 0)
				kind = LOGMEL;
			else if (strcmp(optarg, "cremad") == 0)
				kind = CREMAD;
			else if (strcmp(optarg, "ksfbank") == 0)
				kind = KSFBANK;
			else if (strcmp(optarg, "image") == 0)
				kind = IMAGE;
			else if (strcmp(optarg, "idx") == 0)
				kind = IDX;
			else
				errx(2, "-k: unknown kind: %s", optarg);
			break;
		case 'm': old(ch, "--manifest"); /* FALLTHROUGH */
		case OPT_MANIFEST: man = optarg; break;
		case 'S': old(ch, "--split"); /* FALLTHROUGH */
		case OPT_SPLIT: split = optarg; break;
		case 'r': old(ch, "--rate"); /* FALLTHROUGH */
		case OPT_RATE:
			if (rq_parse_long(optarg, 1000, 384000, &rate) != 0)
				errx(2, "--rate: bad rate: %s", optarg);
			optrate = optarg;
			break;
		case 'M': lm.n_mels = mels = number(optarg, "-M"); break;
		case 'T': lm.frames = frames_T = number(optarg, "-T"); break;
		case 'n': old(ch, "--n-fft"); /* FALLTHROUGH */
		case OPT_NFFT: lm.n_fft = number(optarg, "--n-fft"); break;
		case 'w': old(ch, "--win"); /* FALLTHROUGH */
		case OPT_WIN: lm.win = number(optarg, "--win"); break;
		case 'H': old(ch, "--hop"); /* FALLTHROUGH */
		case OPT_HOP: lm.hop = number(optarg, "--hop"); break;
		case OPT_SIZE: size = number(optarg, "--size"); break;
		case 's':
			/* the seed with --draw, else (or with the old -R) the
			 * last release's size */
			sarg = optarg;
			break;
		case 'I': imnet = 1; break;
		case 'P':
			if (rq_parse_long(optarg, 1, 64, &v) != 0)
				errx(2, "-P: bad frame count: %s", optarg);
			pick = (int)v;
			break;
		case 'R':
			warnx("-R is deprecated; use --draw -s seed");
			if (rq_parse_u64(optarg, &seed) != 0)
				errx(2, "-R: bad seed: %s", optarg);
			draw = oldr = 1;
			break;
		case OPT_DRAW: draw = 1; break;
		case 'z': zscore = 1; break;
		case 'N': old(ch, "--stats"); /* FALLTHROUGH */
		case OPT_STATS: stats = optarg; break;
		case 'o': out = optarg; break;
		default: usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (sarg != NULL && draw && !oldr) {
		if (rq_parse_u64(sarg, &seed) != 0)
			errx(2, "-s: bad seed: %s", sarg);
	} else if (sarg != NULL) {
		warnx("-s size is deprecated; use --size size (-s is the seed "
		    "of --draw)");
		size = number(sarg, "-s");
	}
	if (man == NULL && argc == 0) {
		warnx("missing operand: %s", kind == IDX ? "images" :
		    "file (or --manifest)");
		usage(2);
	}
	{
		const char *why = man != NULL && argc > 0 ? "files and "
		    "--manifest: one or the other" : kind == IDX && man != NULL ?
		    "-k idx: no --manifest" : zscore && stats ? "-z and "
		    "--stats: one or the other" : imnet && kind != IMAGE ?
		    "-I: needs -k image" : lm.win > lm.n_fft ? "--win: longer "
		    "than --n-fft" : (pick || draw) && kind != IMAGE ? "-P, "
		    "--draw: need -k image" : draw && !pick ? "--draw: needs -P" :
		    NULL;
		if (why != NULL) {
			warnx("%s", why);
			usage(2);
		}
	}
	if (rq_cli_stream_to_tty(out))
		errx(1, "%s", RQ_CLI_TTY_MSG);
	if (rate) {
		lm.sr = (double)rate;
		lm.fmax = lm.sr / 2;
	}
	if (mels)
		fb.n_mels = mels;
	if (frames_T)
		fb.frames = frames_T;
	if (kind == KSFBANK && fb.n_mels < 4)
		errx(2, "-M: ksfbank needs at least 4 mel bins");
	if (man) {
		mname = man;
		if (rq_manifest_read(man, split, &it, &n, msg, sizeof msg) !=
		    RQ_OK)
			errx(1, "%s", msg);
	} else {
		n = (size_t)argc;
		if ((it = calloc(n ? n : 1, sizeof *it)) == NULL)
			err(1, "calloc");
		for (size_t i = 0; i < n; i++) {
			it[i].paths = argv[i];
			it[i].label = -1;
			it[i].line = (long)i + 1;
		}
	}
	if (n == 0)
		errx(1, "%s: no items%s%s", mname, split ? " in split " : "",
		    split ? split : "");
	if (pick) {
		rq_rng_seed(&rng, seed);
		pick_frames(it, n, pick, draw ? &rng : NULL, man != NULL);
	}
	if (stats) {    /* norm.mean and norm.std of the train stream */
		rq_stream *ss = rq_stream_open(stats, "r");
		rq_tensor t;
		int rc, found = 0;
		const char *want = kind == IMAGE || kind == IDX ? "visual" :
		    "audio";

		if (ss == NULL)
			err(1, "%s", stats);
		rq_tensor_init(&t);
		while ((rc = rq_tensor_read(ss, &t)) == RQ_OK)
			if (!found && strcmp(t.name, want) == 0) {
				if (rq_meta_getd(&t, "norm.mean", &mean) != RQ_OK ||
				    rq_meta_getd(&t, "norm.std", &sd) != RQ_OK ||
				    !(sd > 0))
					errx(1, "%s: record %ld: no usable norm.mean and "
					    "norm.std", stats, rq_stream_record(ss));
				found = 1;
			}
		if (rc != RQ_EOF)
			errx(1, "%s", rq_stream_error(ss));
		if (!found)
			errx(1, "%s: no %s record", stats, want);
		rq_stream_close(ss);
		rq_tensor_free(&t);
	}

	rq_tensor_init(&feat);
	rq_tensor_init(&lab);
	rq_tensor_init(&id);
	if (kind == IDX)
		n = idx_input(argc, argv, &feat, &lab, &id, &per);
	else {
		uint64_t d1[1] = {n};
		if (rq_tensor_alloc(&lab, RQ_I32, 1, d1) ||
		    rq_tensor_alloc(&id, RQ_I64, 1, d1))
			errx(1, "out of memory");
	}
	for (size_t i = 0; kind != IDX && i < n; i++) {
		char *paths = strdup(it[i].paths), *p, *save = NULL;
		size_t frames = 0, chans = 0;

		if (paths == NULL)
			err(1, "strdup");
		for (p = strtok_r(paths, ";", &save); p;
		    p = strtok_r(NULL, ";", &save), frames++) {
			float *x, *buf;
			size_t nx, need, F, Tn;
			int sr, w, h, c, rc;

			if (kind != IMAGE) {
				if (frames > 0)
					errx(1, "%s: line %ld: one audio file per item",
					    mname, it[i].line);
				if (rq_wav_read(p, &x, &nx, &sr, msg, sizeof msg))
					errx(1, "%s", msg);
				if (kind == CREMAD && sr != RQ_CREMAD_SR) {
					float *y;
					size_t ny;
					if (rq_resample_rate(x, nx, sr, RQ_CREMAD_SR, &y,
					    &ny) != RQ_OK)
						errx(1, "%s: cannot resample", p);
					free(x);
					x = y;
					nx = ny;
				} else if ((kind == LOGMEL && sr != (int)lm.sr) ||
				    (kind == KSFBANK && rate && sr != rate)) {
					float *y;
					size_t ny;
					if (rq_resample_rate(x, nx, sr, (long)lm.sr, &y,
					    &ny) != RQ_OK)
						errx(1, "%s: cannot resample", p);
					free(x);
					x = y;
					nx = ny;
					sr = (int)lm.sr;
				}
				if (kind == CREMAD)
					F = RQ_CREMAD_BINS, Tn = RQ_CREMAD_FRAMES;
				else if (kind == KSFBANK)
					F = (size_t)fb.n_mels, Tn = (size_t)fb.frames;
				else
					F = (size_t)lm.n_mels, Tn = (size_t)lm.frames;
				per = F * Tn;
				if (i == 0) {
					uint64_t d[3] = {n, F, Tn};
					if (rq_tensor_alloc(&feat, RQ_F32, 3, d))
						errx(1, "out of memory");
				}
				buf = (float *)feat.data + i * per;
				if (kind == KSFBANK) {
					fb.sr = sr;     /* the clip's own rate */
					if (fb.high_hz <= 0 && 20 >= sr / 2.0)
						errx(1, "%s: %d Hz is too low a rate", p,
						    sr);
					if (rq_fbank_frames(&fb, nx) > (size_t)fb.frames)
						ncut++;
					else if (rq_fbank_frames(&fb, nx) < (size_t)fb.frames)
						npad++;
				}
				rc = kind == CREMAD ? rq_cremad_spec(x, nx, buf) :
				    kind == KSFBANK ? rq_fbank_compute(&fb, x, nx,
				    buf) : rq_logmel_compute(&lm, x, nx, buf);
				if (rc != RQ_OK)
					errx(1, "%s: feature extraction failed", p);
				free(x);
				continue;
			}
			if (rq_image_read(p, &x, &w, &h, &c, msg, sizeof msg))
				errx(1, "%s", msg);
			if (imnet && c == 1) {  /* gray to RGB for ImageNet stats */
				float *y = malloc((size_t)w * h * 3 * sizeof *y);
				if (y == NULL)
					err(1, "malloc");
				for (int k = 0; k < 3; k++)
					memcpy(y + (size_t)k * w * h, x,
					    (size_t)w * h * sizeof *y);
				free(x);
				x = y;
				c = 3;
			}
			if (i == 0 && frames == 0) {
				size_t nf = 1;
				for (const char *q = it[0].paths; *q; q++)
					nf += *q == ';';
				C = nf * (size_t)c;
				per = C * (size_t)size * size;
				uint64_t d[4] = {n, C, (uint64_t)size, (uint64_t)size};
				if (rq_tensor_alloc(&feat, RQ_F32, 4, d))
					errx(1, "out of memory");
			}
			need = chans + (size_t)c;
			if (need > C)
				errx(1, "%s: line %ld: %zu channels, the first item "
				    "has %zu", mname, it[i].line, need, C);
			buf = (float *)feat.data + i * per + chans * size * size;
			chans = need;
			rq_image_resize(x, w, h, c, buf, size, size);
			if (imnet) {
				static const double im[3] = {0.485, 0.456, 0.406};
				static const double is[3] = {0.229, 0.224, 0.225};
				for (int k = 0; k < 3; k++)
					for (size_t q = 0; q < (size_t)size * size; q++)
						buf[k * size * size + q] = (float)((buf[k *
						    size * size + q] - im[k]) / is[k]);
			}
			free(x);
		}
		if (kind == IMAGE && chans != C)
			errx(1, "%s: line %ld: %zu channels, the first item has "
			    "%zu", mname, it[i].line, chans, C);
		free(paths);
		((int32_t *)lab.data)[i] = it[i].label;
		((int64_t *)id.data)[i] = it[i].line - 1;
	}

	if (zscore) {
		size_t N = n * per;
		double m = 0, q = 0;
		for (size_t i = 0; i < N; i++)
			m += ((float *)feat.data)[i];
		m /= (double)N;
		for (size_t i = 0; i < N; i++) {
			double d = ((float *)feat.data)[i] - m;
			q += d * d;
		}
		mean = m;
		sd = sqrt(q / (double)N);
		if (!(sd > 0))
			sd = 1;
	}
	if (zscore || stats)
		for (size_t i = 0; i < n * per; i++)
			((float *)feat.data)[i] = (float)((((float *)
			    feat.data)[i] - mean) / sd);
	if (rq_tensor_set_name(&feat, kind == IMAGE || kind == IDX ? "visual" :
	    "audio") ||
	    rq_tensor_set_name(&lab, "label") || rq_tensor_set_name(&id, "id"))
		errx(1, "name");
	{
		rq_tensor *all[3] = {&feat, &lab, &id};
		for (int k = 0; k < 3; k++) {
			int rc = 0;
			if (split)
				rc |= rq_meta_set(all[k], "split", "%s", split);
			if (kind == LOGMEL)
				rc |= rq_meta_set(all[k], "feature", "logmel sr=%g "
				    "n_fft=%d win=%d hop=%d mels=%d frames=%d eps=%g",
				    lm.sr, lm.n_fft, lm.win, lm.hop, lm.n_mels,
				    lm.frames, lm.eps);
			else if (kind == CREMAD)
				rc |= rq_meta_set(all[k], "feature", "cremad sr=22050 "
				    "n_fft=512 hop=353 log_eps=1e-7");
			else if (kind == KSFBANK)
				rc |= rq_meta_set(all[k], "feature", "ksfbank kaldi "
				    "sr=%s win=25ms shift=10ms hann preemph=0.97 "
				    "mels=%d low=20 frames=%d norm=%.7g,%.7g",
				    rate ? optrate : "native", fb.n_mels, fb.frames,
				    fb.norm_mean, fb.norm_std);
			else if (kind == IDX)
				rc |= rq_meta_set(all[k], "feature", "idx bytes/255");
			else
				rc |= rq_meta_set(all[k], "feature", "image size=%d%s",
				    size, imnet ? " imagenet" : "");
			if (pick)
				rc |= draw ? rq_meta_set(all[k], "frames",
				    "pick=%d train seed=%llu", pick,
				    (unsigned long long)seed) :
				    rq_meta_set(all[k], "frames", "pick=%d test", pick);
			if (rc)
				errx(1, "metadata");
		}
		if (kind == KSFBANK)    /* clips longer or shorter than T */
			if (rq_meta_set(&feat, "frames.cut", "%zu", ncut) ||
			    rq_meta_set(&feat, "frames.padded", "%zu", npad))
				errx(1, "metadata");
		if (zscore || stats)
			if (rq_meta_set(&feat, "norm.mean", "%.9g", mean) ||
			    rq_meta_set(&feat, "norm.std", "%.9g", sd))
				errx(1, "metadata");
		if (imnet)
			if (rq_meta_set(&feat, "norm.mean", "0.485,0.456,0.406") ||
			    rq_meta_set(&feat, "norm.std", "0.229,0.224,0.225"))
				errx(1, "metadata");
		if ((s = rq_stream_open(out, "w")) == NULL)
			err(1, "%s", out);
		for (int k = 0; k < 3; k++)
			if (rq_tensor_write(s, all[k]) != RQ_OK) {
				snprintf(msg, sizeof msg, "%s", rq_stream_error(s));
				rq_stream_abort(s);
				errx(1, "%s", msg);
			}
		rec = rq_stream_record(s);
		if (rq_stream_close(s) != RQ_OK)
			err(1, "%s: record %ld", strcmp(out, "-") ? out :
			    "<stdout>", rec);
	}
	if (strcmp(out, "-") == 0 && rq_finish_stdout() != 0)
		err(1, "stdout");
	rq_tensor_free(&feat);
	rq_tensor_free(&lab);
	rq_tensor_free(&id);
	if (man)
		rq_manifest_free(it, n);
	else {          /* operands point into argv, picks are ours */
		for (size_t i = 0; pick && i < n; i++)
			free(it[i].paths);
		free(it);
	}
	return 0;
}
