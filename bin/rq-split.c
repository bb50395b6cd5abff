/*
 * rq-split: split a tensor stream into files of N records or into one file
 * per group, and/or keep rows start..end-1 along axis 0.  Rows are counted
 * per record name across the whole input, so a data set stored in chunks
 * is sliced as if its chunks were concatenated.  One record is held at a
 * time, except that with --range the sliced rows of the per-sample records of
 * a data set (audio, visual, label, id, quality.*, clean.*, and any
 * modality of another name: an f32 record of rank 3 or more, or one marked
 * layout=seq) are held until their sample counts agree, one chunk at a
 * time, so that a data set whose modalities have different sample counts
 * fails with nothing written.
 */
#include <err.h>
#include <getopt.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

struct seen {		/* rows of each name seen so far */
	char name[RQ_NAME_MAX + 1];
	uint64_t rows;
	int ps;		/* a per-sample record (per_sample_t) */
};

static struct seen *seen;
static size_t nseen;

/* --range: per-sample records held until the counts agree (see above) */
static rq_tensor *held;
static size_t nheld, heldcap;
static char (*inchunk)[RQ_NAME_MAX + 1];	/* names read since a flush */
static size_t ninchunk, chunkcap;
static int known;	/* the first chunk is complete: all names seen */

static int
per_sample(const char *name)
{
	return strcmp(name, "audio") == 0 || strcmp(name, "visual") == 0 ||
	    strcmp(name, "label") == 0 || strcmp(name, "id") == 0 ||
	    strncmp(name, "quality.", 8) == 0 ||
	    strncmp(name, "clean.", 6) == 0;
}

/* per_sample by name, or a modality of any name: f32 [N,...] of rank
 * 3 or more, or marked layout=seq */
static int
per_sample_t(const rq_tensor *t)
{
	char buf[16];

	return per_sample(t->name) || (t->dtype == RQ_F32 && t->ndim >= 3) ||
	    (rq_meta_get(t, "layout", buf, sizeof buf) != NULL &&
	    strcmp(buf, "seq") == 0);
}

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: rq-split [-n count | -g name] [-p prefix] "
	    "[--range start:end] [file ...]\n");
	if (status == 0)
		fprintf(f,
		    "  -n count              a new file every count records\n"
		    "  -g name               a new file at each record so "
		    "named\n"
		    "  -p prefix             name the files prefix0000.rqt, "
		    "... (split-)\n"
		    "  --range start:end     keep rows start to end-1 along "
		    "axis 0\n"
		    "  -h, --help            print this help\n"
		    "  --version             print the version\n");
	exit(status);
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
	seen[nseen].ps = per_sample(name);
	return &seen[nseen++].rows;
}

/* name is a per-sample record (its rows_of entry exists) */
static void
ps_mark(const char *name)
{
	for (size_t i = 0; i < nseen; i++)
		if (strcmp(seen[i].name, name) == 0)
			seen[i].ps = 1;
}

/* do the per-sample records seen so far all have the same row count? */
static int
counts_agree(void)
{
	uint64_t n = 0;
	int first = 1;

	for (size_t i = 0; i < nseen; i++) {
		if (!seen[i].ps)
			continue;
		if (!first && seen[i].rows != n)
			return 0;
		n = seen[i].rows;
		first = 0;
	}
	return 1;
}

/* "name N, name N, ..." of the per-sample records, for an error */
static const char *
counts_str(void)
{
	static char buf[512];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nseen && len < sizeof buf; i++)
		if (seen[i].ps)
			len += (size_t)snprintf(buf + len, sizeof buf - len,
			    "%s%s %llu", len ? ", " : "", seen[i].name,
			    (unsigned long long)seen[i].rows);
	return buf;
}

static int
in_chunk(const char *name)
{
	for (size_t i = 0; i < ninchunk; i++)
		if (strcmp(inchunk[i], name) == 0)
			return 1;
	return 0;
}

/* "start:end", "start:", ":end"; end exclusive */
static void
parse_range(const char *arg, uint64_t *lo, uint64_t *hi)
{
	char *dup = strdup(arg), *colon;

	if (dup == NULL)
		err(1, NULL);
	if ((colon = strchr(dup, ':')) == NULL)
		errx(2, "--range: %s: want start:end", arg);
	*colon = '\0';
	*lo = 0;
	*hi = UINT64_MAX;
	if (*dup && rq_parse_u64(dup, lo) != 0)
		errx(2, "--range: %s: bad start '%s'", arg, dup);
	if (colon[1] && rq_parse_u64(colon + 1, hi) != 0)
		errx(2, "--range: %s: bad end '%s'", arg, colon + 1);
	if (*hi < *lo)
		errx(2, "--range: %s: end before start", arg);
	free(dup);
}

static const char *prefix = "split-", *group;
static char path[PATH_MAX];
static rq_stream *out;
static long every, nfile, inpart;
static int tofiles;

/* write v (to the next file with -n or -g); warn and -1 on error */
static int
put(const rq_tensor *v)
{
	if (tofiles && (out == NULL || (every && inpart == every) ||
	    (group && strcmp(v->name, group) == 0 && inpart > 0))) {
		if (out != NULL && rq_stream_close(out) != 0) {
			out = NULL;
			warn("%s", path);
			return -1;
		}
		out = NULL;
		if ((size_t)snprintf(path, sizeof path, "%s%04ld.rqt", prefix,
		    nfile++) >= sizeof path)
			errx(1, "-p %s: path too long", prefix);
		if ((out = rq_stream_open(path, "w")) == NULL) {
			warn("%s", path);
			return -1;
		}
		inpart = 0;
	}
	if (rq_tensor_write(out, v) != RQ_OK) {
		warnx("%s", rq_stream_error(out));
		return -1;
	}
	inpart++;
	return 0;
}

/* write the held records; -1 on error */
static int
flush(void)
{
	int rc = 0;

	for (size_t i = 0; i < nheld; i++) {
		if (rc == 0)
			rc = put(&held[i]);
		rq_tensor_free(&held[i]);
	}
	nheld = ninchunk = 0;
	return rc;
}

/* hold a copy of v (the kept rows); -1 on error */
static int
hold(const rq_tensor *v)
{
	if (nheld == heldcap) {
		size_t cap = heldcap ? 2 * heldcap : 8;
		rq_tensor *p = reallocarray(held, cap, sizeof *p);

		if (p == NULL) {
			warn(NULL);
			return -1;
		}
		held = p;
		heldcap = cap;
	}
	rq_tensor_init(&held[nheld]);
	if (rq_tensor_copy(&held[nheld], v) != RQ_OK) {
		rq_tensor_free(&held[nheld]);
		warnx("out of memory");
		return -1;
	}
	nheld++;
	return 0;
}

/* note that the current chunk has a per-sample record of this name */
static void
mark(const char *name)
{
	if (in_chunk(name))
		return;
	if (ninchunk == chunkcap) {
		size_t cap = chunkcap ? 2 * chunkcap : 8;
		char (*q)[RQ_NAME_MAX + 1] = reallocarray(inchunk, cap,
		    sizeof *q);

		if (q == NULL)
			err(1, NULL);
		inchunk = q;
		chunkcap = cap;
	}
	strcpy(inchunk[ninchunk++], name);
}

enum { OPT_VERSION = 256, OPT_RANGE };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"range", required_argument, NULL, OPT_RANGE},
	{NULL, 0, NULL, 0}
};

int
main(int argc, char **argv)
{
	static char *stdin_only[] = {"-", NULL};
	rq_tensor t;
	uint64_t lo = 0, hi = UINT64_MAX;
	int c, rc, slice = 0;

	rq_cli_init(argc, argv);
	while ((c = getopt_long(argc, argv, "hg:n:p:r:", longopts, NULL))
	    != -1) {
		switch (c) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-split %s\n", rq_cli_version());
			exit(0);
		case 'g':
			group = optarg;
			break;
		case 'n':
			if (rq_parse_long(optarg, 1, LONG_MAX, &every) != 0)
				errx(2, "-n: %s: want a positive count", optarg);
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'r':
			warnx("-r is deprecated; use --range");
			/* FALLTHROUGH */
		case OPT_RANGE:
			parse_range(optarg, &lo, &hi);
			slice = 1;
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (every && group) {
		warnx("-n and -g exclude each other");
		usage(2);
	}
	if (!every && !group && !slice) {
		warnx("missing -n, -g or --range");
		usage(2);
	}
	tofiles = every || group != NULL;
	if (argc == 0)
		argv = stdin_only;
	if (!tofiles && rq_cli_stream_to_tty("-"))
		errx(1, "%s", RQ_CLI_TTY_MSG);
	if (!tofiles && (out = rq_stream_open("-", "w")) == NULL)
		err(1, "stdout");

	rq_tensor_init(&t);
	for (; *argv; argv++) {
		rq_stream *in = rq_stream_open(*argv, "r");
		long rec = -1;

		if (in == NULL) {
			warn("%s", *argv);
			goto fail;
		}
		while ((rc = rq_tensor_read(in, &t)) == RQ_OK) {
			rq_tensor v = t;	/* a view: shares t's data */
			int ps = slice && t.ndim > 0 && per_sample_t(&t);
			int keep = 1;

			rec++;
			/* a per-sample name again: a new chunk begins */
			if (ps && in_chunk(t.name)) {
				if (!counts_agree()) {
					warnx("%s: record %ld: '%s' starts a new "
					    "chunk but the sample counts differ: %s",
					    rq_stream_name(in), rec, t.name,
					    counts_str());
					rq_stream_abort(in);
					goto fail;
				}
				known = 1;
				if (flush() != 0) {
					rq_stream_abort(in);
					goto fail;
				}
			}
			if (slice && t.ndim > 0) {
				uint64_t *seen_rows = rows_of(t.name);
				uint64_t off = *seen_rows, n = t.dims[0];
				uint64_t a = RQ_MAX(lo, off), b;
				size_t row = n ? t.nbytes / n : 0;

				*seen_rows += n;
				if (ps)
					ps_mark(t.name);
				b = hi <= off ? off : hi - off < n ? hi : off + n;
				if (a >= b)
					keep = 0;	/* outside the range */
				else {
					v.dims[0] = b - a;
					v.data = (char *)t.data + (a - off) * row;
					v.nbytes = (size_t)(b - a) * row;
				}
			}
			if (ps)
				mark(t.name);
			if (keep && (ps || nheld > 0)) {
				if (hold(&v) != 0) {
					rq_stream_abort(in);
					goto fail;
				}
			} else if (keep && put(&v) != 0) {
				rq_stream_abort(in);
				goto fail;
			}
			if (ps && known && counts_agree() && flush() != 0) {
				rq_stream_abort(in);
				goto fail;
			}
		}
		if (rc != RQ_EOF) {
			warnx("%s", rq_stream_error(in));
			rq_stream_abort(in);
			goto fail;
		}
		if (argv[1] == NULL && !counts_agree()) {
			warnx("%s: record %ld: sample counts differ: %s",
			    rq_stream_name(in), rec < 0 ? 0 : rec, counts_str());
			rq_stream_abort(in);
			goto fail;
		}
		rq_stream_close(in);
	}
	if (flush() != 0)
		goto fail;
	rq_tensor_free(&t);
	free(seen);
	free(held);
	free(inchunk);
	if (out != NULL && rq_stream_close(out) != RQ_OK)
		err(1, "%s", tofiles ? path : "stdout");
	if (!tofiles && rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
fail:
	rq_stream_abort(out);
	for (size_t i = 0; i < nheld; i++)
		rq_tensor_free(&held[i]);
	rq_tensor_free(&t);
	free(seen);
	free(held);
	free(inchunk);
	return 1;
}
