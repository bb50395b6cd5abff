/*
 * rq-pearson: Pearson (or Spearman) correlation of two tensors of a
 * stream or two columns of a TSV, with the two-sided p-value, n and a
 * Fisher-z confidence interval, printed as one key=value line.
 */
#include <err.h>
#include <getopt.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: rq-pearson [-H] [-c level] [--spearman] "
	    "-x name[:col] -y name[:col]\n"
	    "                  [file]\n"
	    "       rq-pearson -t [-H] [-c level] [--spearman] [-x col] "
	    "[-y col] [file]\n");
	if (status == 0)
		fprintf(f,
		    "  -x name[:col]   the record (column col of it) giving x; "
		    "with -t a column\n"
		    "  -y name[:col]   the same for y\n"
		    "  -t              read TSV instead of a stream\n"
		    "  -H              print a header line and one "
		    "tab-separated row\n"
		    "  -c level        confidence level of the interval (0.95)\n"
		    "  --spearman      Spearman's rank correlation instead\n"
		    "  -h, --help      print this help\n"
		    "  --version       print the version\n");
	exit(status);
}

/* a growing array of doubles */
typedef struct vec {
	double *v;
	size_t n, cap;
} vec;

static void
push(vec *a, double x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 1024;
		double *p;

		if (cap > SIZE_MAX / sizeof *p ||
		    (p = realloc(a->v, cap * sizeof *p)) == NULL)
			errx(1, "out of memory");
		a->v = p;
		a->cap = cap;
	}
	a->v[a->n++] = x;
}

/* "name" or "name:col"; col -1 when absent */
typedef struct sel {
	char name[RQ_NAME_MAX + 1];
	long col;
	const char *arg;
} sel;

static void
parse_sel(sel *s, const char *arg, char opt)
{
	const char *colon = strrchr(arg, ':');
	size_t len;

	s->arg = arg;
	s->col = -1;
	/* a suffix that is not a column number belongs to the name */
	if (colon && rq_parse_long(colon + 1, 0, LONG_MAX, &s->col) != 0)
		colon = NULL;
	len = colon ? (size_t)(colon - arg) : strlen(arg);
	if (len == 0 || len > RQ_NAME_MAX)
		errx(2, "-%c: bad record name: %s", opt, arg);
	memcpy(s->name, arg, len);
	s->name[len] = '\0';
}

/* append the values t holds for selection s */
static void
take(vec *a, const rq_tensor *t, const sel *s, const char *file, long rec)
{
	size_t n = rq_tensor_numel(t), stride = 1, first = 0;

	if (s->col >= 0) {
		if (t->ndim != 2 || (uint64_t)s->col >= t->dims[1])
			errx(1, "%s: record %ld: '%s': column %ld needs a 2-d "
			    "tensor with more columns", file, rec, t->name,
			    s->col);
		stride = (size_t)t->dims[1];
		first = (size_t)s->col;
	}
	for (size_t i = first; i < n; i += stride) {
		double v = rq_tensor_get(t, i);

		if (!isfinite(v))
			errx(1, "%s: record %ld: '%s': element %zu is %s", file,
			    rec, t->name, i, isnan(v) ? "NaN" : "infinite");
		push(a, v);
	}
}

static void
read_stream(const char *path, const sel *sx, const sel *sy, vec *x, vec *y)
{
	rq_stream *s;
	rq_tensor t;
	long rec = 0;
	int rc;

	if ((s = rq_stream_open(path, "r")) == NULL)
		err(1, "%s", path);
	rq_tensor_init(&t);
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
		if (strcmp(t.name, sx->name) == 0)
			take(x, &t, sx, rq_stream_name(s), rec);
		if (strcmp(t.name, sy->name) == 0)
			take(y, &t, sy, rq_stream_name(s), rec);
		rec++;
	}
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(s));
	if (x->n == 0)
		errx(1, "%s: no values in records named '%s'",
		    rq_stream_name(s), sx->name);
	if (y->n == 0)
		errx(1, "%s: no values in records named '%s'",
		    rq_stream_name(s), sy->name);
	if (x->n != y->n)
		errx(1, "%s: '%s' has %zu values but '%s' has %zu",
		    rq_stream_name(s), sx->arg, x->n, sy->arg, y->n);
	rq_tensor_free(&t);
	rq_stream_close(s);
}

/* split line at tabs in place; returns the field count (at most max) */
static size_t
split(char *line, char **f, size_t max)
{
	size_t n = 0;

	while (n < max) {
		f[n++] = line;
		if ((line = strchr(line, '\t')) == NULL)
			break;
		*line++ = '\0';
	}
	return n;
}

static int
is_number(const char *s)
{
	char *end;

	if (*s == '\0')
		return 0;
	errno = 0;
	(void)strtod(s, &end);
	return *end == '\0';
}

/* column spec: 1-based number, or a header name; returns 0-based index */
static long
find_col(const char *spec, char **f, size_t nf, int header, const char *file)
{
	long c;

	if (rq_parse_long(spec, 1, 1L << 20, &c) == 0)
		return c - 1;
	if (!header)
		errx(1, "%s: line 1: no header line to find column '%s'", file,
		    spec);
	for (size_t i = 0; i < nf; i++)
		if (strcmp(f[i], spec) == 0)
			return (long)i;
	errx(1, "%s: line 1: no column named '%s'", file, spec);
}

#define MAXF 4096

static void
read_tsv(const char *path, const char *cx, const char *cy, vec *x, vec *y)
{
	FILE *fp = stdin;
	const char *file = "<stdin>";
	char *line = NULL, *f[MAXF];
	size_t cap = 0, nf;
	ssize_t len;
	long ix = -1, iy = -1, lineno = 0;

	if (strcmp(path, "-") != 0) {
		if ((fp = fopen(path, "r")) == NULL)
			err(1, "%s", path);
		file = path;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		nf = split(line, f, MAXF);
		if (ix < 0) {
			int header = 0;

			for (size_t i = 0; i < nf; i++)
				if (!is_number(f[i]))
					header = 1;
			ix = find_col(cx, f, nf, header, file);
			iy = find_col(cy, f, nf, header, file);
			if (header)
				continue;
		}
		for (int k = 0; k < 2; k++) {
			long c = k ? iy : ix;
			char *end;
			double v;

			if ((size_t)c >= nf)
				errx(1, "%s: line %ld: no column %ld (%zu fields)",
				    file, lineno, c + 1, nf);
			v = strtod(f[c], &end);
			if (f[c][0] == '\0' || *end != '\0')
				errx(1, "%s: line %ld: column %ld: not a number: "
				    "'%s'", file, lineno, c + 1, f[c]);
			if (!isfinite(v))
				errx(1, "%s: line %ld: column %ld is %s", file,
				    lineno, c + 1, isnan(v) ? "NaN" : "infinite");
			push(k ? y : x, v);
		}
	}
	if (ferror(fp))
		err(1, "%s", file);
	if (fp != stdin)
		fclose(fp);
	free(line);
}

static int
constant(const vec *a)
{
	for (size_t i = 1; i < a->n; i++)
		if (a->v[i] != a->v[0])
			return 0;
	return 1;
}

enum { OPT_VERSION = 256, OPT_SPEARMAN };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"spearman", no_argument, NULL, OPT_SPEARMAN},
	{NULL, 0, NULL, 0}
};

int
main(int argc, char **argv)
{
	sel sx, sy;
	vec x = {0}, y = {0};
	rq_corr c;
	const char *path = "-", *ax = NULL, *ay = NULL, *what;
	double level = 0.95;
	int ch, tsv = 0, spear = 0, header = 0, rc;

	rq_cli_init(argc, argv);
	while ((ch = getopt_long(argc, argv, "hc:Htx:y:s", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-pearson %s\n", rq_cli_version());
			exit(0);
		case 'c':
			if (rq_parse_double(optarg, &level) != 0 ||
			    !(level > 0 && level < 1))
				errx(2, "-c: bad level (need 0 < level < 1): %s",
				    optarg);
			break;
		case 'H':
			header = 1;
			break;
		case 's':
			warnx("-s is deprecated; use --spearman");
			/* FALLTHROUGH */
		case OPT_SPEARMAN:
			spear = 1;
			break;
		case 't':
			tsv = 1;
			break;
		case 'x':
			ax = optarg;
			break;
		case 'y':
			ay = optarg;
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
	if (argc == 1)
		path = argv[0];
	if (tsv) {
		read_tsv(path, ax ? ax : "1", ay ? ay : "2", &x, &y);
		what = strcmp(path, "-") ? path : "<stdin>";
	} else {
		if (ax == NULL || ay == NULL) {
			warnx("missing %s (or -t)", ax == NULL ? "-x" : "-y");
			usage(2);
		}
		parse_sel(&sx, ax, 'x');
		parse_sel(&sy, ay, 'y');
		read_stream(path, &sx, &sy, &x, &y);
		what = strcmp(path, "-") ? path : "<stdin>";
	}
	if (x.n < 3)
		errx(1, "%s: %zu pairs; need at least 3", what, x.n);
	if (constant(&x) || constant(&y))
		errx(1, "%s: %s '%s' is constant: r undefined", what,
		    tsv ? "column" : "record", constant(&x) ?
		    (ax ? ax : "1") : (ay ? ay : "2"));
	rc = spear ? rq_spearman(x.v, y.v, x.n, level, &c) :
	    rq_pearson(x.v, y.v, x.n, level, &c);
	if (rc == RQ_EINVAL)
		errx(1, "%s: input nearly constant: r undefined", what);
	if (rc != RQ_OK)
		errx(1, "%s: correlation failed (status %d)", what, rc);
	if (header)
		printf("r\tp\tn\tci_lo\tci_hi\n%.10g\t%.10g\t%zu\t%.10g\t%.10g\n",
		    c.r, c.p, c.n, c.ci_lo, c.ci_hi);
	else
		printf("r=%.10g p=%.10g n=%zu ci_lo=%.10g ci_hi=%.10g\n", c.r,
		    c.p, c.n, c.ci_lo, c.ci_hi);
	free(x.v);
	free(y.v);
	if (rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
}
