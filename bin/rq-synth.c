/*
 * rq-synth: write the synthetic audio-visual data set as a tensor stream,
 * or its sequence form: two named [N,T,F] modalities (--seq, twice, or
 * --preset mosei for the CMU-MOSEI-shaped vision + text stand-in).
 */
#include <err.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: rq-synth [-n count] [-s seed] [-o file] "
	    "[--split name] [--audio lo:hi]\n"
	    "                [--visual lo:hi] [--parity depth] "
	    "[--blob height]\n"
	    "       rq-synth --seq name:T:F[:gain] --seq name:T:F[:gain] "
	    "[-n count] [-s seed]\n"
	    "                [-o file] [--split name] [--classes K] "
	    "[--noise lo:hi]\n"
	    "       rq-synth --preset mosei [-n count] [-s seed] [-o file] "
	    "[--split name]\n");
	if (status == 0)
		fprintf(f,
		    "  -n count         samples to write (1000)\n"
		    "  -s seed          seed, unsigned 64-bit (0)\n"
		    "  -o file          write to file, atomically (stdout)\n"
		    "  --split name     split name, hashed into the seed (train)\n"
		    "  --audio lo:hi    audio noise std range, or one number (0.2:2)\n"
		    "  --visual lo:hi   image noise std range, or one number (0.3:2)\n"
		    "  --parity depth   depth of the audio's parity cue (0.15)\n"
		    "  --blob height    height of the image's group cue (0.9)\n"
		    "  --seq name:T:F[:gain]  a sequence modality [T,F] (twice;"
		    " gain 0.1)\n"
		    "  --classes K      --seq: classes (2)\n"
		    "  --noise lo:hi    --seq: noise std range, or one number "
		    "(0.5:2)\n"
		    "  --preset mosei   vision [50,35] and text [50,300], 2 classes\n"
		    "  -h, --help       print this help\n"
		    "  --version        print the version\n");
	exit(status);
}

/* the spelling of the last release, kept for one more */
static void
old(int c, const char *now)
{
	warnx("-%c is deprecated; use %s", c, now);
}

static void
range(const char *s, const char *opt, double *lo, double *hi)
{
	if (rq_cli_range(s, lo, hi) < 0)
		errx(2, "%s: bad range (want lo:hi or a number): %s", opt, s);
	if (!(*lo > 0))
		errx(2, "%s: need 0 < lo <= hi: %s", opt, s);
}

enum { OPT_VERSION = 256, OPT_SPLIT, OPT_AUDIO, OPT_VISUAL, OPT_PARITY,
    OPT_BLOB, OPT_SEQ, OPT_CLASSES, OPT_NOISE, OPT_PRESET };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"split", required_argument, NULL, OPT_SPLIT},
	{"audio", required_argument, NULL, OPT_AUDIO},
	{"visual", required_argument, NULL, OPT_VISUAL},
	{"parity", required_argument, NULL, OPT_PARITY},
	{"blob", required_argument, NULL, OPT_BLOB},
	{"seq", required_argument, NULL, OPT_SEQ},
	{"classes", required_argument, NULL, OPT_CLASSES},
	{"noise", required_argument, NULL, OPT_NOISE},
	{"preset", required_argument, NULL, OPT_PRESET},
	{NULL, 0, NULL, 0}
};

/* write the records of t in order, named, each with its metadata */
static void
write_all(const char *out, rq_tensor *t, const char **names, int n,
    const rq_synth *av, const rq_synth_seq *sq)
{
	rq_stream *s;
	long rec;

	if ((s = rq_stream_open(out, "w")) == NULL)
		err(1, "%s", out);
	for (int i = 0; i < n; i++) {
		if (rq_tensor_set_name(&t[i], names[i]) != RQ_OK ||
		    (av ? rq_synth_meta(av, &t[i]) :
		    rq_synth_seq_meta(sq, i < 2 ? i : -1, &t[i])) != RQ_OK)
			errx(1, "%s: cannot set metadata", names[i]);
		if (rq_tensor_write(s, &t[i]) != RQ_OK) {
			char msg[512];
			snprintf(msg, sizeof msg, "%s", rq_stream_error(s));
			rq_stream_abort(s);
			errx(1, "%s", msg);
		}
		rq_tensor_free(&t[i]);
	}
	rec = rq_stream_record(s);
	if (rq_stream_close(s) != RQ_OK)
		err(1, "%s: record %ld", strcmp(out, "-") ? out : "<stdout>",
		    rec);
	if (strcmp(out, "-") == 0 && rq_finish_stdout() != 0)
		err(1, "stdout");
}

int
main(int argc, char **argv)
{
	static const char *names[6] = {"audio", "visual", "label", "id",
	    "quality.audio", "quality.visual"};
	rq_synth o;
	rq_synth_seq sq;
	rq_tensor t[6];
	const char *out = "-", *avopt = NULL, *seqopt = NULL, *preset = NULL;
	char qn[2][80];
	const char *sn[6];
	long v;
	int c, rc, nseq = 0;

	rq_cli_init(argc, argv);
	rq_synth_defaults(&o);
	rq_synth_seq_defaults(&sq);
	while ((c = getopt_long(argc, argv, "hn:s:o:S:a:v:p:g:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-synth %s\n", rq_cli_version());
			exit(0);
		case 'n':
			if (rq_parse_long(optarg, 0, 100000000, &v) != 0)
				errx(2, "-n: bad count: %s", optarg);
			o.n = sq.n = v;
			break;
		case 's':
			if (rq_parse_u64(optarg, &o.seed) != 0)
				errx(2, "-s: bad seed: %s", optarg);
			sq.seed = o.seed;
			break;
		case 'S':
			old(c, "--split");
			/* FALLTHROUGH */
		case OPT_SPLIT:
			if (*optarg == '\0' || strchr(optarg, '\n'))
				errx(2, "--split: bad split: %s", optarg);
			o.split = sq.split = optarg;
			break;
		case 'a':
			old(c, "--audio");
			/* FALLTHROUGH */
		case OPT_AUDIO:
			avopt = "--audio";
			range(optarg, "--audio", &o.a_lo, &o.a_hi);
			break;
		case 'v':
			old(c, "--visual");
			/* FALLTHROUGH */
		case OPT_VISUAL:
			avopt = "--visual";
			range(optarg, "--visual", &o.v_lo, &o.v_hi);
			break;
		case 'p':
			old(c, "--parity");
			/* FALLTHROUGH */
		case OPT_PARITY:
			avopt = "--parity";
			if (rq_parse_double(optarg, &o.a_parity) != 0)
				errx(2, "--parity: bad number: %s", optarg);
			break;
		case 'g':
			old(c, "--blob");
			/* FALLTHROUGH */
		case OPT_BLOB:
			avopt = "--blob";
			if (rq_parse_double(optarg, &o.v_group) != 0)
				errx(2, "--blob: bad number: %s", optarg);
			break;
		case OPT_SEQ:
			if (nseq == 2)
				errx(2, "--seq: given more than twice: %s", optarg);
			if (rq_synth_seq_parse(&sq.m[nseq], optarg) != RQ_OK)
				errx(2, "--seq: bad modality (want name:T:F[:gain], "
				    "T and F 1..4096, a name of A-Z a-z 0-9 _ -, "
				    "not label or id): %s", optarg);
			nseq++;
			seqopt = "--seq";
			break;
		case OPT_CLASSES:
			if (rq_parse_long(optarg, 2, 1000, &v) != 0)
				errx(2, "--classes: bad count (2..1000): %s", optarg);
			sq.classes = (int)v;
			seqopt = "--classes";
			break;
		case OPT_NOISE:
			range(optarg, "--noise", &sq.lo, &sq.hi);
			seqopt = "--noise";
			break;
		case OPT_PRESET:
			if (strcmp(optarg, "mosei") != 0)
				errx(2, "--preset: unknown preset (mosei): %s",
				    optarg);
			preset = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0) {
		warnx("unexpected operand: %s", argv[0]);
		usage(2);
	}
	if (avopt && (nseq || preset))
		errx(2, "%s: an option of the audio-visual set, not of %s", avopt,
		    preset ? "--preset" : "--seq");
	if (preset && seqopt)
		errx(2, "%s: not with --preset (it sets the modalities, the "
		    "classes and the noise)", seqopt);
	if (seqopt && nseq != 2)
		errx(2, "%s", nseq == 1 ? "--seq: give two modalities (--seq "
		    "twice)" : "--classes, --noise: only with --seq");
	if (nseq == 2 && strcmp(sq.m[0].name, sq.m[1].name) == 0)
		errx(2, "--seq: the two modalities share the name %s",
		    sq.m[0].name);
	if (rq_cli_stream_to_tty(out))
		errx(1, "%s", RQ_CLI_TTY_MSG);
	for (int i = 0; i < 6; i++)
		rq_tensor_init(&t[i]);
	if (nseq == 2 || preset) {
		if (nseq == 2)
			sq.dataset = "synth-seq";
		if ((rc = rq_synth_seq_generate(&sq, &t[0], &t[2], &t[3],
		    &t[4])) != RQ_OK)
			errx(1, "cannot generate the data set (status %d)", rc);
		for (int m = 0; m < 2; m++) {
			snprintf(qn[m], sizeof qn[m], "quality.%s", sq.m[m].name);
			sn[m] = sq.m[m].name;
			sn[4 + m] = qn[m];
		}
		sn[2] = "label";
		sn[3] = "id";
		write_all(out, t, sn, 6, NULL, &sq);
		return 0;
	}
	if ((rc = rq_synth_generate(&o, &t[0], &t[1], &t[2], &t[3], &t[4],
	    &t[5])) != RQ_OK)
		errx(1, "cannot generate the data set (status %d)", rc);
	write_all(out, t, names, 6, &o, NULL);
	return 0;
}
