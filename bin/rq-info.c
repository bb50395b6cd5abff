/* rq-info: print one line per record of tensor streams. */
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

	fprintf(f, "usage: rq-info [-v] [file ...]\n");
	if (status == 0)
		fprintf(f,
		    "  -v          add min, max, mean and std of each record\n"
		    "  -h, --help  print this help\n"
		    "  --version   print the version\n");
	exit(status);
}

/* metadata lines joined by spaces */
static void
print_meta(FILE *out, const rq_tensor *t)
{
	if (t->meta_len == 0)
		fputc('-', out);
	for (size_t i = 0; i < t->meta_len; i++) {
		if (t->meta[i] != '\n')
			fputc(t->meta[i], out);
		else if (i + 1 < t->meta_len)
			fputc(' ', out);
	}
}

static void
print_stats(FILE *out, const rq_tensor *t)
{
	size_t n = rq_tensor_numel(t), bad = 0, k = 0;
	double mn = INFINITY, mx = -INFINITY, mean = 0, m2 = 0;

	for (size_t i = 0; i < n; i++) {
		double v = rq_tensor_get(t, i), d;

		if (!isfinite(v)) {
			bad++;
			continue;
		}
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
		k++;
		d = v - mean;
		mean += d / (double)k;
		m2 += d * (v - mean);
	}
	if (k == 0)
		fprintf(out, "\tmin=- max=- mean=- std=-");
	else
		fprintf(out, "\tmin=%.6g max=%.6g mean=%.6g std=%.6g", mn, mx, mean,
		    sqrt(m2 / (double)k));
	if (bad)
		fprintf(out, " nonfinite=%zu", bad);
}

enum { OPT_VERSION = 256 };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0}
};

int
main(int argc, char **argv)
{
	rq_tensor t;
	int c, verbose = 0, nfiles;
	FILE *out;
	char *buf = NULL;
	size_t buflen = 0;
	static char *stdin_only[] = {"-", NULL};

	rq_cli_init(argc, argv);
	while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-info %s\n", rq_cli_version());
			exit(0);
		case 'v':
			verbose = 1;
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	nfiles = argc;
	if (argc == 0)
		argv = stdin_only;
	/*
	 * Lines are collected in memory and printed only when every stream
	 * read cleanly, so a bad stream leaves stdout empty.
	 */
	if ((out = open_memstream(&buf, &buflen)) == NULL)
		err(1, "open_memstream");
	rq_tensor_init(&t);
	for (; *argv; argv++) {
		rq_stream *s = rq_stream_open(*argv, "r");
		char shape[256];
		long i = 0;
		int rc;

		if (s == NULL)
			err(1, "%s", *argv);
		while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
			if (nfiles > 1)
				fprintf(out, "%s:", *argv);
			rq_tensor_shape_str(&t, shape, sizeof shape);
			fprintf(out, "%ld\t%s\t%s\t%s\t", i++, t.name[0] ?
			    t.name : "-", rq_dtype_name(t.dtype), shape);
			print_meta(out, &t);
			if (verbose)
				print_stats(out, &t);
			fputc('\n', out);
		}
		if (rc != RQ_EOF)
			errx(1, "%s", rq_stream_error(s));
		rq_stream_close(s);
	}
	rq_tensor_free(&t);
	if (fclose(out) != 0)
		err(1, "open_memstream");
	if (buflen && fwrite(buf, 1, buflen, stdout) != buflen)
		err(1, "stdout");
	free(buf);
	if (rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
}
