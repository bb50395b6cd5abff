/*
 * rq-cat: concatenate tensor streams, selecting, renaming and editing the
 * metadata of records on the way.  One record is held at a time.
 */
#include <err.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

#define MAXPAT 64

struct range {
	long lo, hi;	/* inclusive */
};

static const char *inc[MAXPAT], *exc[MAXPAT], *setkv[MAXPAT], *delk[MAXPAT];
static int ninc, nexc, nset, ndel;
static struct range *ranges;
static size_t nranges;

static void
usage(void)
{
	fprintf(stderr, "usage: rq-cat [-n glob] [-x glob] [-i list] "
	    "[-N name] [-d key] [-m key=value]\n"
	    "              [-o file] [file ...]\n");
	exit(2);
}

static void
push(const char **v, int *n, const char *s, int opt)
{
	if (*n == MAXPAT)
		errx(2, "too many -%c options (at most %d)", opt, MAXPAT);
	v[(*n)++] = s;
}

/* "0,2-4,7-" : indices and inclusive ranges; "7-" runs to the end */
static void
parse_list(const char *arg)
{
	char *dup = strdup(arg), *tok, *save = NULL;

	if (dup == NULL)
		err(1, NULL);
	for (tok = strtok_r(dup, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		struct range r;

		if (dash != NULL)
			*dash = '\0';
		if (rq_parse_long(tok, 0, LONG_MAX, &r.lo) != 0)
			errx(2, "-i %s: bad index '%s'", arg, tok);
		r.hi = r.lo;
		if (dash != NULL) {
			if (dash[1] == '\0')
				r.hi = LONG_MAX;
			else if (rq_parse_long(dash + 1, 0, LONG_MAX,
			    &r.hi) != 0 || r.hi < r.lo)
				errx(2, "-i %s: bad range '%s-%s'", arg, tok,
				    dash + 1);
		}
		ranges = reallocarray(ranges, nranges + 1, sizeof *ranges);
		if (ranges == NULL)
			err(1, NULL);
		ranges[nranges++] = r;
	}
	if (nranges == 0)
		errx(2, "-i %s: empty list", arg);
	free(dup);
}

static int
selected(const rq_tensor *t, long idx)
{
	int i, ok;

	if (nranges) {
		size_t k;

		for (k = 0; k < nranges; k++)
			if (idx >= ranges[k].lo && idx <= ranges[k].hi)
				break;
		if (k == nranges)
			return 0;
	}
	for (i = 0, ok = ninc == 0; i < ninc && !ok; i++)
		ok = fnmatch(inc[i], t->name, 0) == 0;
	for (i = 0; i < nexc && ok; i++)
		ok = fnmatch(exc[i], t->name, 0) != 0;
	return ok;
}

/* -d then -m; the first failure is returned with the key in *what */
static int
edit_meta(rq_tensor *t, const char **what)
{
	char key[256];
	int i, rc;

	for (i = 0; i < ndel; i++)
		rq_meta_del(t, delk[i]);
	for (i = 0; i < nset; i++) {
		const char *eq = strchr(setkv[i], '=');
		size_t kl = (size_t)(eq - setkv[i]);

		memcpy(key, setkv[i], kl);
		key[kl] = '\0';
		if ((rc = rq_meta_set(t, key, "%s", eq + 1)) != RQ_OK) {
			*what = setkv[i];
			return rc;
		}
	}
	return RQ_OK;
}

int
main(int argc, char **argv)
{
	static char *stdin_only[] = {"-", NULL};
	const char *outpath = NULL, *newname = NULL, *what;
	rq_stream *out;
	rq_tensor t;
	long idx = 0, nsel = 0;
	int c, rc;

	rq_progname_init(argc, argv);
	while ((c = getopt(argc, argv, "d:i:m:N:n:o:x:")) != -1) {
		switch (c) {
		case 'd':
			push(delk, &ndel, optarg, c);
			break;
		case 'i':
			parse_list(optarg);
			break;
		case 'm': {
			const char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg ||
			    (size_t)(eq - optarg) > 255)
				errx(2, "-m %s: want key=value", optarg);
			push(setkv, &nset, optarg, c);
			break;
		}
		case 'N':
			newname = optarg;
			if (strlen(newname) > RQ_NAME_MAX ||
			    strchr(newname, '\n'))
				errx(2, "-N: name longer than %d bytes or with "
				    "a newline", RQ_NAME_MAX);
			break;
		case 'n':
			push(inc, &ninc, optarg, c);
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'x':
			push(exc, &nexc, optarg, c);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		argv = stdin_only;

	if ((out = rq_stream_open(outpath ? outpath : "-", "w")) == NULL)
		err(1, "%s", outpath);
	rq_tensor_init(&t);
	for (; *argv; argv++) {
		rq_stream *in = rq_stream_open(*argv, "r");

		if (in == NULL) {
			warn("%s", *argv);
			goto fail;
		}
		while ((rc = rq_tensor_read(in, &t)) == RQ_OK) {
			if (!selected(&t, idx++))
				continue;
			if (newname != NULL && nsel > 0) {
				warnx("%s: record %ld: -N %s needs exactly one "
				    "selected record", rq_stream_name(in),
				    rq_stream_record(in) - 1, newname);
				rq_stream_abort(in);
				goto fail;
			}
			nsel++;
			if (newname != NULL)
				rq_tensor_set_name(&t, newname);
			if ((rc = edit_meta(&t, &what)) != RQ_OK) {
				warnx("%s: record %ld: -m %s: %s",
				    rq_stream_name(in), rq_stream_record(in) - 1,
				    what, rc == RQ_ERANGE ? "metadata too long" :
				    "bad key or value");
				rq_stream_abort(in);
				goto fail;
			}
			if (rq_tensor_write(out, &t) != RQ_OK) {
				warnx("%s", rq_stream_error(out));
				rq_stream_abort(in);
				goto fail;
			}
		}
		if (rc != RQ_EOF) {
			warnx("%s", rq_stream_error(in));
			rq_stream_abort(in);
			goto fail;
		}
		rq_stream_close(in);
	}
	if (newname != NULL && nsel != 1) {
		warnx("-N %s needs exactly one selected record, not %ld",
		    newname, nsel);
		goto fail;
	}
	rq_tensor_free(&t);
	free(ranges);
	if (rq_stream_close(out) != RQ_OK)
		err(1, "%s", outpath ? outpath : "stdout");
	if (outpath == NULL && rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
fail:
	rq_stream_abort(out);
	rq_tensor_free(&t);
	free(ranges);
	return 1;
}
