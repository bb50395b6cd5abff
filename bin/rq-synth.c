/* rq-synth: write the synthetic audio-visual data set as a tensor stream. */
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
	    "[--blob height]\n");
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
    OPT_BLOB };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"split", required_argument, NULL, OPT_SPLIT},
	{"audio", required_argument, NULL, OPT_AUDIO},
	{"visual", required_argument, NULL, OPT_VISUAL},
	{"parity", required_argument, NULL, OPT_PARITY},
	{"blob", required_argument, NULL, OPT_BLOB},
	{NULL, 0, NULL, 0}
};

int
main(int argc, char **argv)
{
	static const char *names[6] = {"audio", "visual", "label", "id",
	    "quality.audio", "quality.visual"};
	rq_synth o;
	rq_tensor t[6];
	rq_stream *s;
	const char *out = "-";
	long v, rec;
	int c, rc;

	rq_cli_init(argc, argv);
	rq_synth_defaults(&o);
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
			o.n = v;
			break;
		case 's':
			if (rq_parse_u64(optarg, &o.seed) != 0)
				errx(2, "-s: bad seed: %s", optarg);
			break;
		case 'S':
			old(c, "--split");
			/* FALLTHROUGH */
		case OPT_SPLIT:
			if (*optarg == '\0' || strchr(optarg, '\n'))
				errx(2, "--split: bad split: %s", optarg);
			o.split = optarg;
			break;
		case 'a':
			old(c, "--audio");
			/* FALLTHROUGH */
		case OPT_AUDIO:
			range(optarg, "--audio", &o.a_lo, &o.a_hi);
			break;
		case 'v':
			old(c, "--visual");
			/* FALLTHROUGH */
		case OPT_VISUAL:
			range(optarg, "--visual", &o.v_lo, &o.v_hi);
			break;
		case 'p':
			old(c, "--parity");
			/* FALLTHROUGH */
		case OPT_PARITY:
			if (rq_parse_double(optarg, &o.a_parity) != 0)
				errx(2, "--parity: bad number: %s", optarg);
			break;
		case 'g':
			old(c, "--blob");
			/* FALLTHROUGH */
		case OPT_BLOB:
			if (rq_parse_double(optarg, &o.v_group) != 0)
				errx(2, "--blob: bad number: %s", optarg);
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
	if (rq_cli_stream_to_tty(out))
		errx(1, "%s", RQ_CLI_TTY_MSG);
	for (int i = 0; i < 6; i++)
		rq_tensor_init(&t[i]);
	if ((rc = rq_synth_generate(&o, &t[0], &t[1], &t[2], &t[3], &t[4],
	    &t[5])) != RQ_OK)
		errx(1, "cannot generate the data set (status %d)", rc);
	if ((s = rq_stream_open(out, "w")) == NULL)
		err(1, "%s", out);
	for (int i = 0; i < 6; i++) {
		if (rq_tensor_set_name(&t[i], names[i]) != RQ_OK ||
		    rq_synth_meta(&o, &t[i]) != RQ_OK)
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
	return 0;
}
