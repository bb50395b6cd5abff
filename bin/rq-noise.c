/*
 * rq-noise: add seeded Gaussian noise to one modality of a data set
 * stream, or to a random fraction of samples (one modality each) with
 * per-sample indicators of what stayed clean.  A filter: one record in
 * memory at a time.
 *
 * The noise of sample i (its index counted over the whole stream, chunks
 * concatenated) of modality m is drawn from an rq_rng seeded by
 * hash(seed, m, i), so it depends on the seed and the sample's position,
 * not on how the stream is cut into chunks.  The choice made by -f for
 * sample i comes from hash(seed, 3, i) the same way.  Modalities other
 * than audio and visual: --modalities A,B names the pair (m = 0 for A,
 * 1 for B), and --modality alone takes any f32 record (m = 0 unless it
 * is B).
 */
#include <err.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

enum { AUDIO, VISUAL, SELECT };

static char modname[2][256] = {"audio", "visual"};
static char cleanname[2][264] = {"clean.audio", "clean.visual"};

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: rq-noise [-s seed] --modality name "
	    "--std std [file]\n"
	    "       rq-noise [-s seed] -f frac [--modalities A,B] "
	    "[--modality name]\n"
	    "                --std std [file]\n");
	if (status == 0)
		fprintf(f,
		    "  -s seed                  seed, unsigned 64-bit (1)\n"
		    "  -f frac                  corrupt a fraction of the "
		    "samples, one modality each\n"
		    "  --modality name          the modality to corrupt (any "
		    "f32 record)\n"
		    "  --modalities A,B         -f: the two modalities "
		    "(audio,visual)\n"
		    "  --std std                noise standard deviation, "
		    ">= 0\n"
		    "  -h, --help               print this help\n"
		    "  --version                print the version\n");
	exit(status);
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static void
sample_rng(rq_rng *r, uint64_t seed, int tag, uint64_t i)
{
	rq_rng_seed(r, mix(mix(mix(0, seed), (uint64_t)tag), i));
}

struct opts {
	double std, frac;
	uint64_t seed;
	int mod;          /* AUDIO, VISUAL, or -1 (-f: chosen per sample) */
	int fmode;
};

/* -f: which modality of sample i is corrupted, or -1 for none */
static int
corrupted(const struct opts *o, uint64_t i)
{
	rq_rng r;
	double u, v;

	if (!o->fmode)
		return o->mod;
	sample_rng(&r, o->seed, SELECT, i);
	u = rq_rng_uniform(&r);
	v = rq_rng_uniform(&r);
	if (!(u < o->frac))
		return -1;
	return o->mod >= 0 ? o->mod : v < 0.5 ? AUDIO : VISUAL;
}

static void
set_meta(rq_tensor *t, const struct opts *o, const char *file, long rec)
{
	if (rq_meta_set(t, "noise.std", "%.17g", o->std) != RQ_OK ||
	    rq_meta_set(t, "noise.seed", "%llu",
	    (unsigned long long)o->seed) != RQ_OK ||
	    (o->fmode && rq_meta_set(t, "noise.frac", "%.17g", o->frac) !=
	    RQ_OK))
		errx(1, "%s: record %ld: '%s': cannot set metadata", file, rec,
		    t->name);
}

/* add the noise to a modality record whose first sample is number off */
static void
add_noise(rq_tensor *t, int m, uint64_t off, const struct opts *o,
    const char *file, long rec)
{
	size_t n, per;
	float *x = t->data;
	rq_rng r;

	if (t->dtype != RQ_F32)
		errx(1, "%s: record %ld: '%s': dtype %s not supported (need "
		    "f32)", file, rec, t->name, rq_dtype_name(t->dtype));
	if (t->ndim < 1)
		errx(1, "%s: record %ld: '%s': scalar has no sample axis",
		    file, rec, t->name);
	n = (size_t)t->dims[0];
	per = n ? rq_tensor_numel(t) / n : 0;
	for (size_t i = 0; i < n; i++, x += per) {
		if (o->std == 0 || corrupted(o, off + i) != m)
			continue;
		sample_rng(&r, o->seed, m, off + i);
		for (size_t j = 0; j < per; j++)
			x[j] += (float)(o->std * rq_rng_normal(&r));
	}
	set_meta(t, o, file, rec);
}

/* clean.audio and clean.visual for the n samples from off */
static void
indicators(rq_tensor ind[2], uint64_t off, uint64_t n, const struct opts *o,
    const char *file, long rec)
{
	for (int m = 0; m < 2; m++) {
		if (rq_tensor_alloc(&ind[m], RQ_U8, 1, &n) != RQ_OK ||
		    rq_tensor_set_name(&ind[m], cleanname[m]) != RQ_OK ||
		    rq_meta_clear(&ind[m]) != RQ_OK)
			errx(1, "out of memory");
		set_meta(&ind[m], o, file, rec);
	}
	for (uint64_t i = 0; i < n; i++) {
		int c = corrupted(o, off + i);

		((uint8_t *)ind[AUDIO].data)[i] = c != AUDIO;
		((uint8_t *)ind[VISUAL].data)[i] = c != VISUAL;
	}
}

/*
 * Records are held back (copied) until the stream has shown everything
 * the mode needs (the -m modality; audio, visual and label for -f), so
 * that a stream lacking it fails with nothing written; but never more
 * than HOLD_MAX bytes, so memory stays near one record.  With -f the
 * records are held (without that cap) until the audio, visual and label
 * sample counts agree, i.e. one chunk at a time, so that mismatched
 * counts fail with nothing written.
 */
#define HOLD_MAX ((size_t)16 << 20)

struct out {
	rq_stream *s;
	rq_tensor *held;
	size_t nheld, cap, bytes;
	int ready;
	int nocap;        /* -f: hold whole chunks, whatever their size */
};

static void go(struct out *);

static void
emit(struct out *w, const rq_tensor *t)
{
	if (!w->ready && !w->nocap && w->bytes + t->nbytes > HOLD_MAX)
		go(w);
	if (!w->ready) {
		if (w->nheld == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 8;
			rq_tensor *p = realloc(w->held, cap * sizeof *p);

			if (p == NULL)
				errx(1, "out of memory");
			w->held = p;
			w->cap = cap;
		}
		rq_tensor_init(&w->held[w->nheld]);
		if (rq_tensor_copy(&w->held[w->nheld], t) != RQ_OK)
			errx(1, "out of memory");
		w->nheld++;
		w->bytes += t->nbytes;
		return;
	}
	if (rq_tensor_write(w->s, t) != RQ_OK)
		errx(1, "%s", rq_stream_error(w->s));
}

/* write the held records; with keep, go on holding the next ones */
static void
flush(struct out *w, int keep)
{
	w->ready = 1;
	for (size_t i = 0; i < w->nheld; i++) {
		emit(w, &w->held[i]);
		rq_tensor_free(&w->held[i]);
	}
	free(w->held);
	w->held = NULL;
	w->nheld = w->cap = w->bytes = 0;
	w->ready = !keep;
}

static void
go(struct out *w)
{
	flush(w, 0);
}

enum { OPT_VERSION = 256, OPT_MODALITY, OPT_STD, OPT_MODALITIES };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"modality", required_argument, NULL, OPT_MODALITY},
	{"std", required_argument, NULL, OPT_STD},
	{"modalities", required_argument, NULL, OPT_MODALITIES},
	{NULL, 0, NULL, 0}
};

/* a record name rq-noise may corrupt: not empty, not label or id */
static int
name_ok(const char *s)
{
	return *s != '\0' && strlen(s) < sizeof modname[0] &&
	    strcmp(s, "label") != 0 && strcmp(s, "id") != 0;
}

/* --modalities A,B: the pair -f chooses from */
static void
pair(const char *s)
{
	const char *c = strchr(s, ',');

	if (c == NULL || strchr(c + 1, ',') != NULL ||
	    (size_t)(c - s) >= sizeof modname[0])
		errx(2, "--modalities: need two names A,B: %s", s);
	snprintf(modname[0], sizeof modname[0], "%.*s", (int)(c - s), s);
	snprintf(modname[1], sizeof modname[1], "%s", c + 1);
	if (!name_ok(modname[0]) || !name_ok(modname[1]) ||
	    strcmp(modname[0], modname[1]) == 0)
		errx(2, "--modalities: need two different names, not label "
		    "or id: %s", s);
	for (int m = 0; m < 2; m++)
		snprintf(cleanname[m], sizeof cleanname[m], "clean.%.249s",
		    modname[m]);
}

int
main(int argc, char **argv)
{
	struct opts o = {.std = -1, .frac = -1, .seed = 1, .mod = -1};
	struct out w = {0};
	rq_stream *in;
	rq_tensor t, ind[2];
	uint64_t off[3] = {0, 0, 0};  /* samples seen: audio, visual, label */
	int seen[3] = {0, 0, 0};
	const char *path = "-", *file, *sarg = NULL, *Sarg = NULL;
	const char *marg = NULL;
	long nrec = 0;
	int c, rc, newstd = 0;

	rq_cli_init(argc, argv);
	while ((c = getopt_long(argc, argv, "hs:f:m:S:", longopts, NULL))
	    != -1) {
		switch (c) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-noise %s\n", rq_cli_version());
			exit(0);
		case 'f':
			if (rq_parse_double(optarg, &o.frac) != 0 ||
			    o.frac < 0 || o.frac > 1)
				errx(2, "-f: bad fraction (need 0..1): %s",
				    optarg);
			o.fmode = 1;
			break;
		case 'm':
			warnx("-m is deprecated; use --modality");
			/* FALLTHROUGH */
		case OPT_MODALITY:
			if (!name_ok(optarg))
				errx(2, "--modality: bad modality (a record name, "
				    "not label or id): %s", optarg);
			marg = optarg;
			break;
		case OPT_MODALITIES:
			pair(optarg);
			break;
		case OPT_STD:
			if (rq_parse_double(optarg, &o.std) != 0 || o.std < 0)
				errx(2, "--std: bad std (need a number >= 0): "
				    "%s", optarg);
			newstd = 1;
			break;
		case 's':	/* the seed, or the last release's -s std */
			sarg = optarg;
			break;
		case 'S':
			Sarg = optarg;
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	/*
	 * The last release spelt the std -s and the seed -S.  Without --std,
	 * -s is read the old way (the std is required, so nothing new is
	 * lost).
	 */
	if (sarg != NULL && !newstd) {
		warnx("-s std is deprecated; use --std std (-s is the seed)");
		if (rq_parse_double(sarg, &o.std) != 0 || o.std < 0)
			errx(2, "-s: bad std (need a number >= 0): %s", sarg);
		sarg = NULL;
	}
	if (Sarg != NULL) {
		warnx("-S is deprecated; use -s");
		if (sarg == NULL)
			sarg = Sarg;
	}
	if (sarg != NULL && rq_parse_u64(sarg, &o.seed) != 0)
		errx(2, "-s: bad seed: %s", sarg);
	if (marg != NULL) {
		if (strcmp(marg, modname[1]) == 0)
			o.mod = VISUAL;
		else if (strcmp(marg, modname[0]) == 0)
			o.mod = AUDIO;
		else if (o.fmode)
			errx(2, "--modality: -f chooses between %s and %s: %s",
			    modname[0], modname[1], marg);
		else {	/* any other record: the first slot's place */
			snprintf(modname[0], sizeof modname[0], "%s", marg);
			snprintf(cleanname[0], sizeof cleanname[0], "clean.%.249s",
			    marg);
			o.mod = AUDIO;
		}
	}
	if (o.std < 0) {
		warnx("missing --std");
		usage(2);
	}
	if (!o.fmode && o.mod < 0) {
		warnx("missing --modality (or -f)");
		usage(2);
	}
	if (argc > 1) {
		warnx("unexpected operand: %s", argv[1]);
		usage(2);
	}
	if (argc == 1)
		path = argv[0];
	if (rq_cli_stream_to_tty("-"))
		errx(1, "%s", RQ_CLI_TTY_MSG);
	if ((in = rq_stream_open(path, "r")) == NULL)
		err(1, "%s", path);
	if ((w.s = rq_stream_open("-", "w")) == NULL)
		err(1, "<stdout>");
	file = rq_stream_name(in);
	w.nocap = o.fmode;
	rq_tensor_init(&t);
	rq_tensor_init(&ind[0]);
	rq_tensor_init(&ind[1]);
	while ((rc = rq_tensor_read(in, &t)) == RQ_OK) {
		long rec = nrec++;
		int m = strcmp(t.name, modname[0]) == 0 ? AUDIO :
		    strcmp(t.name, modname[1]) == 0 ? VISUAL : -1;

		if (m >= 0 && (o.fmode || m == o.mod)) {
			add_noise(&t, m, off[m], &o, file, rec);
			off[m] += t.dims[0];
			seen[m] = 1;
		} else if (o.fmode && (strcmp(t.name, cleanname[0]) == 0 ||
		    strcmp(t.name, cleanname[1]) == 0)) {
			continue;  /* replaced by the new indicators */
		} else if (!o.fmode && o.std > 0 &&
		    strcmp(t.name, cleanname[o.mod]) == 0) {
			/* every sample of the modality is noisy now */
			memset(t.data, 0, t.nbytes);
			set_meta(&t, &o, file, rec);
		}
		if (!o.fmode && !w.ready && seen[o.mod])
			go(&w);
		emit(&w, &t);
		if (o.fmode && strcmp(t.name, "label") == 0) {
			if (t.ndim != 1)
				errx(1, "%s: record %ld: 'label': need a 1-d "
				    "tensor", file, rec);
			indicators(ind, off[2], t.dims[0], &o, file, rec);
			off[2] += t.dims[0];
			seen[2] = 1;
			emit(&w, &ind[AUDIO]);
			emit(&w, &ind[VISUAL]);
		}
		/* -f: a chunk is complete when the counts agree again */
		if (o.fmode && seen[AUDIO] && seen[VISUAL] && seen[2] &&
		    off[AUDIO] == off[2] && off[VISUAL] == off[2])
			flush(&w, 1);
	}
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(in));
	for (int k = 0; k < 3; k++)
		if ((o.fmode || k == o.mod) && !seen[k])
			errx(1, "%s: no '%s' record in %ld records", file,
			    k < 2 ? modname[k] : "label", nrec);
	if (o.fmode && (off[AUDIO] != off[2] || off[VISUAL] != off[2]))
		errx(1, "%s: sample counts differ: %s %llu, %s %llu, "
		    "label %llu", file, modname[0], (unsigned long long)off[AUDIO],
		    modname[1],
		    (unsigned long long)off[VISUAL],
		    (unsigned long long)off[2]);
	go(&w);
	rq_tensor_free(&t);
	rq_tensor_free(&ind[0]);
	rq_tensor_free(&ind[1]);
	rq_stream_close(in);
	if (rq_stream_close(w.s) != RQ_OK || rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
}
