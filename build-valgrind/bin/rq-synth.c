/* rq-synth: write the synthetic audio-visual data set as a tensor stream. */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

static void
usage(void)
{
	fprintf(stderr, "usage: rq-synth [-n count] [-s seed] [-S split] "
	    "[-a lo:hi] [-v lo:hi]\n"
	    "                [-p depth] [-g height] [-o file]\n");
	exit(2);
}

static void
range(const char *s, char opt, double *lo, double *hi)
{
	char buf[128], *colon;

	if (strlen(s) >= sizeof buf)
		errx(2, "-%c: bad range: %s", opt, s);
	strcpy(buf, s);
	if ((colon = strchr(buf, ':')) == NULL) {
		if (rq_parse_double(buf, lo) != 0)
			errx(2, "-%c: bad number: %s", opt, s);
		*hi = *lo;
	} else {
		*colon = '\0';
		if (rq_parse_double(buf, lo) != 0 ||
		    rq_parse_double(colon + 1, hi) != 0)
			errx(2, "-%c: bad range: %s", opt, s);
	}
	if (!(*lo > 0) || *hi < *lo)
		errx(2, "-%c: need 0 < lo <= hi: %s", opt, s);
}

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

	rq_progname_init(argc, argv);
	rq_synth_defaults(&o);
	while ((c = getopt(argc, argv, "n:s:S:a:v:p:g:o:")) != -1) {
		switch (c) {
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
			if (*optarg == '\0' || strchr(optarg, '\n'))
				errx(2, "-S: bad split: %s", optarg);
			o.split = optarg;
			break;
		case 'a':
			range(optarg, 'a', &o.a_lo, &o.a_hi);
			break;
		case 'v':
			range(optarg, 'v', &o.v_lo, &o.v_hi);
			break;
		case 'p':
			if (rq_parse_double(optarg, &o.a_parity) != 0)
				errx(2, "-p: bad number: %s", optarg);
			break;
		case 'g':
			if (rq_parse_double(optarg, &o.v_group) != 0)
				errx(2, "-g: bad number: %s", optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc != 0)
		usage();
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
