/*
 * rq-tsv: print records of a stream as tab-separated text, one line per
 * index of the leading axis, for awk, gnuplot and spreadsheets.  With
 * several --name options the records are pasted side by side (their chunks are
 * concatenated first), so per-sample columns from different programs can
 * be joined: rq-cat a.rqt b.rqt | rq-tsv --name share.audio --name clean.audio.
 */
#include <err.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

#define MAXCOL 32

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: rq-tsv [-H] [--name glob ...] [file]\n");
	if (status == 0)
		fprintf(f,
		    "  -H            print a header (column names, or # name)\n"
		    "  --name glob   print the records so named, side by side "
		    "(repeatable)\n"
		    "  -h, --help    print this help\n"
		    "  --version     print the version\n");
	exit(status);
}

/* one selected name: all its chunks, as doubles, row-major */
struct col {
	const char *name;
	double *v;
	size_t rows, width, cap;
	int seen;
};

static void
append(struct col *c, const rq_tensor *t, const char *file, long rec)
{
	size_t rows = t->ndim ? t->dims[0] : 1;
	size_t n = rq_tensor_numel(t), width = rows ? n / rows : 0;

	if (c->seen && width != c->width)
		errx(1, "%s: record %ld: %s has %zu columns, earlier chunks %zu",
		    file, rec, c->name, width, c->width);
	c->width = width;
	c->seen = 1;
	if (c->rows * width + n > c->cap) {
		size_t cap = RQ_MAX(2 * c->cap, c->rows * width + n);
		double *p = realloc(c->v, cap * sizeof *p);
		if (p == NULL)
			err(1, "%s", file);
		c->v = p;
		c->cap = cap;
	}
	for (size_t i = 0; i < n; i++)
		c->v[c->rows * width + i] = rq_tensor_get(t, i);
	c->rows += rows;
}

static void
print_row(FILE *out, const rq_tensor *t, size_t r, size_t width)
{
	for (size_t j = 0; j < width; j++)
		fprintf(out, "%s%.9g", j ? "\t" : "",
		    rq_tensor_get(t, r * width + j));
	fputc('\n', out);
}

enum { OPT_VERSION = 256, OPT_NAME };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"name", required_argument, NULL, OPT_NAME},
	{NULL, 0, NULL, 0}
};

int
main(int argc, char **argv)
{
	struct col cols[MAXCOL];
	int ncol = 0, header = 0, c, rc;
	const char *file;
	rq_stream *s;
	rq_tensor t;

	rq_cli_init(argc, argv);
	memset(cols, 0, sizeof cols);
	while ((c = getopt_long(argc, argv, "hHn:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-tsv %s\n", rq_cli_version());
			exit(0);
		case 'H':
			header = 1;
			break;
		case 'n':
			warnx("-n is deprecated; use --name");
			/* FALLTHROUGH */
		case OPT_NAME:
			if (ncol == MAXCOL)
				errx(2, "--name: at most %d names", MAXCOL);
			cols[ncol++].name = optarg;
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1) {
		warnx("unexpected operand: %s", argv[1]);
		usage(2);
	}
	file = argc ? argv[0] : "-";
	if ((s = rq_stream_open(file, "r")) == NULL)
		err(1, "%s", file);
	rq_tensor_init(&t);
	/* no -n: every record in turn, a blank line between records */
	if (ncol == 0) {
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		long rec = 0;

		if (out == NULL)
			err(1, "open_memstream");
		while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
			size_t rows = t.ndim ? t.dims[0] : 1;
			size_t width = rows ? rq_tensor_numel(&t) / rows : 0;
			if (rec++)
				fputc('\n', out);
			if (header)
				fprintf(out, "# %s\n", t.name);
			for (size_t r = 0; r < rows; r++)
				print_row(out, &t, r, width);
		}
		if (rc != RQ_EOF)
			errx(1, "%s", rq_stream_error(s));
		if (fclose(out) != 0)
			err(1, "open_memstream");
		if (len && fwrite(buf, 1, len, stdout) != len)
			err(1, "stdout");
		free(buf);
	} else {
		long rec = 0;

		while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
			for (int k = 0; k < ncol; k++)
				if (fnmatch(cols[k].name, t.name, 0) == 0)
					append(&cols[k], &t, rq_stream_name(s),
					    rec);
			rec++;
		}
		if (rc != RQ_EOF)
			errx(1, "%s", rq_stream_error(s));
		for (int k = 0; k < ncol; k++) {
			if (!cols[k].seen)
				errx(1, "%s: no record named %s",
				    rq_stream_name(s), cols[k].name);
			if (cols[k].rows != cols[0].rows)
				errx(1, "%s: %s has %zu rows but %s has %zu",
				    rq_stream_name(s), cols[k].name,
				    cols[k].rows, cols[0].name, cols[0].rows);
		}
		if (header) {
			for (int k = 0; k < ncol; k++)
				for (size_t j = 0; j < cols[k].width; j++)
					if (cols[k].width > 1)
						printf("%s%s:%zu", k || j ? "\t" :
						    "", cols[k].name, j);
					else
						printf("%s%s", k ? "\t" : "",
						    cols[k].name);
			putchar('\n');
		}
		for (size_t r = 0; r < cols[0].rows; r++) {
			for (int k = 0; k < ncol; k++)
				for (size_t j = 0; j < cols[k].width; j++)
					printf("%s%.9g", k || j ? "\t" : "",
					    cols[k].v[r * cols[k].width + j]);
			putchar('\n');
		}
	}
	rq_stream_close(s);
	rq_tensor_free(&t);
	for (int k = 0; k < ncol; k++)
		free(cols[k].v);
	if (rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
}
