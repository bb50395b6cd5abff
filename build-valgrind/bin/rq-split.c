/*
 * rq-split: split a tensor stream into files of N records or into one file
 * per group, and/or keep rows start..end-1 along axis 0.  Rows are counted
 * per record name across the whole input, so a data set stored in chunks
 * is sliced as if its chunks were concatenated.  One record is held at a
 * time.
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

struct seen {		/* rows of each name seen so far */
	char name[RQ_NAME_MAX + 1];
	uint64_t rows;
};

static struct seen *seen;
static size_t nseen;

static void
usage(void)
{
	fprintf(stderr, "usage: rq-split [-n count | -g name] [-p prefix] "
	    "[-r start:end] [file ...]\n");
	exit(2);
}

static uint64_t *
rows_of(const char *name)
{
	for (size_t i = 0; i < nseen; i++)
		if (strcmp(seen[i].name, name) == 0)
			return &seen[i].rows;
	if ((seen = reallocarray(seen, nseen + 1, sizeof *seen)) == NULL)
		err(1, NULL);
	strcpy(seen[nseen].name, name);
	seen[nseen].rows = 0;
	return &seen[nseen++].rows;
}

/* "start:end", "start:", ":end"; end exclusive */
static void
parse_range(const char *arg, uint64_t *lo, uint64_t *hi)
{
	char *dup = strdup(arg), *colon;

	if (dup == NULL)
		err(1, NULL);
	if ((colon = strchr(dup, ':')) == NULL)
		errx(2, "-r %s: want start:end", arg);
	*colon = '\0';
	*lo = 0;
	*hi = UINT64_MAX;
	if (*dup && rq_parse_u64(dup, lo) != 0)
		errx(2, "-r %s: bad start '%s'", arg, dup);
	if (colon[1] && rq_parse_u64(colon + 1, hi) != 0)
		errx(2, "-r %s: bad end '%s'", arg, colon + 1);
	if (*hi < *lo)
		errx(2, "-r %s: end before start", arg);
	free(dup);
}

int
main(int argc, char **argv)
{
	static char *stdin_only[] = {"-", NULL};
	const char *prefix = "split-", *group = NULL;
	char path[PATH_MAX];
	rq_stream *out = NULL;
	rq_tensor t;
	uint64_t lo = 0, hi = UINT64_MAX;
	long every = 0, nfile = 0, inpart = 0;
	int c, rc, slice = 0, tofiles;

	rq_progname_init(argc, argv);
	while ((c = getopt(argc, argv, "g:n:p:r:")) != -1) {
		switch (c) {
		case 'g':
			group = optarg;
			break;
		case 'n':
			if (rq_parse_long(optarg, 1, LONG_MAX, &every) != 0)
				errx(2, "-n %s: want a positive count", optarg);
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'r':
			parse_range(optarg, &lo, &hi);
			slice = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((every && group) || (!every && !group && !slice))
		usage();
	tofiles = every || group;
	if (argc == 0)
		argv = stdin_only;
	if (!tofiles && (out = rq_stream_open("-", "w")) == NULL)
		err(1, "stdout");

	rq_tensor_init(&t);
	for (; *argv; argv++) {
		rq_stream *in = rq_stream_open(*argv, "r");

		if (in == NULL) {
			warn("%s", *argv);
			goto fail;
		}
		while ((rc = rq_tensor_read(in, &t)) == RQ_OK) {
			rq_tensor v = t;	/* a view: shares t's data */

			if (slice && t.ndim > 0) {
				uint64_t *seen_rows = rows_of(t.name);
				uint64_t off = *seen_rows, n = t.dims[0];
				uint64_t a = RQ_MAX(lo, off), b;
				size_t row = n ? t.nbytes / n : 0;

				*seen_rows += n;
				if (hi <= off)
					continue;	/* past the range */
				b = hi - off < n ? hi : off + n;
				if (a >= b)
					continue;	/* outside the range */
				v.dims[0] = b - a;
				v.data = (char *)t.data + (a - off) * row;
				v.nbytes = (size_t)(b - a) * row;
			}
			if (tofiles && (out == NULL || (every && inpart ==
			    every) || (group && strcmp(t.name, group) == 0 &&
			    inpart > 0))) {
				if (out != NULL && rq_stream_close(out) != 0) {
					out = NULL;
					warn("%s", path);
					rq_stream_abort(in);
					goto fail;
				}
				if ((size_t)snprintf(path, sizeof path,
				    "%s%04ld.rqt", prefix, nfile++) >=
				    sizeof path)
					errx(1, "-p %s: path too long", prefix);
				if ((out = rq_stream_open(path, "w")) == NULL) {
					warn("%s", path);
					rq_stream_abort(in);
					goto fail;
				}
				inpart = 0;
			}
			if (rq_tensor_write(out, &v) != RQ_OK) {
				warnx("%s", rq_stream_error(out));
				rq_stream_abort(in);
				goto fail;
			}
			inpart++;
		}
		if (rc != RQ_EOF) {
			warnx("%s", rq_stream_error(in));
			rq_stream_abort(in);
			goto fail;
		}
		rq_stream_close(in);
	}
	rq_tensor_free(&t);
	free(seen);
	if (out != NULL && rq_stream_close(out) != RQ_OK)
		err(1, "%s", tofiles ? path : "stdout");
	if (!tofiles && rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
fail:
	rq_stream_abort(out);
	rq_tensor_free(&t);
	free(seen);
	return 1;
}
