/*
 * rq-cat: concatenate tensor streams, selecting, renaming and editing the
 * metadata of records on the way.  One record is held at a time.
 */
#include <err.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
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
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: rq-cat [-i list] [-o file] [--name glob] "
	    "[--exclude glob] [--rename name]\n"
	    "              [--unset key] [--meta key=value] [file ...]\n");
	if (status == 0)
		fprintf(f,
		    "  -i list            keep records at these indices "
		    "(0,2-4,9-)\n"
		    "  -o file            write to file, atomically (stdout)\n"
		    "  --name glob        keep records whose name matches "
		    "(repeatable)\n"
		    "  --exclude glob     drop records whose name matches "
		    "(repeatable)\n"
		    "  --rename name      rename the one selected record\n"
		    "  --unset key        delete a metadata key (repeatable)\n"
		    "  --meta key=value   set a metadata key (repeatable)\n"
		    "  -h, --help         print this help\n"
		    "  --version          print the version\n");
	exit(status);
}

/* the spelling of the last release, kept for one more */
static void
old(int c, const char *now)
{
	warnx("-%c is deprecated; use %s", c, now);
}

static void
push(const char **v, int *n, const char *s, const char *opt)
{
	if (*n == MAXPAT)
		errx(2, "too many %s options (at most %d)", opt, MAXPAT);
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
			errx(2, "-i: %s: bad index '%s'", arg, tok);
		r.hi = r.lo;
		if (dash != NULL) {
			if (dash[1] == '\0')
				r.hi = LONG_MAX;
			else if (rq_parse_long(dash + 1, 0, LONG_MAX,
			    &r.hi) != 0 || r.hi < r.lo)
				errx(2, "-i: %s: bad range '%s-%s'", arg, tok,
				    dash + 1);
		}
		ranges = reallocarray(ranges, nranges + 1, sizeof *ranges);
		if (ranges == NULL)
			err(1, NULL);
		ranges[nranges++] = r;
	}
	if (nranges == 0)
		errx(2, "-i: %s: empty list", arg);
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

/* --unset then --meta; the first failure is returned with the key in *what */
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

enum { OPT_VERSION = 256, OPT_NAME, OPT_EXCLUDE, OPT_RENAME, OPT_UNSET,
    OPT_META };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"name", required_argument, NULL, OPT_NAME},
	{"exclude", required_argument, NULL, OPT_EXCLUDE},
	{"rename", required_argument, NULL, OPT_RENAME},
	{"unset", required_argument, NULL, OPT_UNSET},
	{"meta", required_argument, NULL, OPT_META},
	{NULL, 0, NULL, 0}
};

int
main(int argc, char **argv)
{
	static char *stdin_only[] = {"-", NULL};
	const char *outpath = NULL, *newname = NULL, *what;
	rq_stream *out;
	rq_tensor t;
	long idx = 0, nsel = 0;
	int c, rc;

	rq_cli_init(argc, argv);
	while ((c = getopt_long(argc, argv, "hi:o:d:m:N:n:x:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-cat %s\n", rq_cli_version());
			exit(0);
		case 'd':
			old(c, "--unset");
			/* FALLTHROUGH */
		case OPT_UNSET:
			push(delk, &ndel, optarg, "--unset");
			break;
		case 'i':
			parse_list(optarg);
			break;
		case 'm':
			old(c, "--meta");
			/* FALLTHROUGH */
		case OPT_META: {
			const char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg ||
			    (size_t)(eq - optarg) > 255)
				errx(2, "--meta: %s: want key=value", optarg);
			push(setkv, &nset, optarg, "--meta");
			break;
		}
		case 'N':
			old(c, "--rename");
			/* FALLTHROUGH */
		case OPT_RENAME:
			newname = optarg;
			if (strlen(newname) > RQ_NAME_MAX ||
			    strchr(newname, '\n'))
				errx(2, "--rename: name longer than %d bytes or "
				    "with a newline", RQ_NAME_MAX);
			break;
		case 'n':
			old(c, "--name");
			/* FALLTHROUGH */
		case OPT_NAME:
			push(inc, &ninc, optarg, "--name");
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'x':
			old(c, "--exclude");
			/* FALLTHROUGH */
		case OPT_EXCLUDE:
			push(exc, &nexc, optarg, "--exclude");
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		argv = stdin_only;
	if (rq_cli_stream_to_tty(outpath))
		errx(1, "%s", RQ_CLI_TTY_MSG);

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
				warnx("%s: record %ld: --rename %s needs exactly one "
				    "selected record", rq_stream_name(in),
				    rq_stream_record(in) - 1, newname);
				rq_stream_abort(in);
				goto fail;
			}
			nsel++;
			if (newname != NULL)
				rq_tensor_set_name(&t, newname);
			if ((rc = edit_meta(&t, &what)) != RQ_OK) {
				warnx("%s: record %ld: --meta %s: %s",
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
		warnx("--rename %s needs exactly one selected record, not %ld",
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
