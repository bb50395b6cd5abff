/*
 * rq-air: the Attention Imbalance Rate of RollingQ from a stream of
 * fusion queries and per-sample key means.
 *
 * A group starts at each `fusion.q` f32 [d] record; the
 * `fusion.kmean.audio` and `fusion.kmean.visual` f32 [N,d] records that
 * follow it (until the next fusion.q) are concatenated along axis 0.
 * Per group: AIR = mean_i [cos(q, ka_i) - cos(q, kv_i)], one line
 * "group=G [epoch=E] air=... cos_a=... cos_v=... n=N d=D".  Modalities
 * named otherwise (fusion.kmean.<name> with slot=0 or slot=1) keep
 * cos_a, cos_v for the first and the second slot and add
 * "modalities=A,B"; the per-sample columns and -o's records are then
 * cos.A, cos.B and air.cos.A, air.cos.B.
 */
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

	fprintf(f, "usage: rq-air [--per-sample] [-o file] [file]\n");
	if (status == 0)
		fprintf(f,
		    "  --per-sample    one TSV row per sample instead of a line "
		    "per group\n"
		    "  -o file         also write the results as a stream to "
		    "file (- stdout)\n"
		    "  -h, --help      print this help\n"
		    "  --version       print the version\n");
	exit(status);
}

enum { OPT_VERSION = 256, OPT_PER_SAMPLE };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"per-sample", no_argument, NULL, OPT_PER_SAMPLE},
	{NULL, 0, NULL, 0}
};

/* per-group results kept for -o, written once all input has been read */
struct result {
	double *sa, *sv, air, ca, cv;
	size_t n;
	long group;
	char epoch[64];
	char mod[2][RQ_MODNAME_MAX];
};

static int
default_names(const char (*mod)[RQ_MODNAME_MAX])
{
	return strcmp(mod[0], "audio") == 0 && strcmp(mod[1], "visual") == 0;
}

static const char *fname;
static struct result *res;
static size_t nres;

/* write the kept results as air.cos.audio, air.cos.visual, air records */
static int
write_results(rq_stream *os)
{
	rq_tensor t;
	int rc = RQ_OK;

	rq_tensor_init(&t);
	for (size_t k = 0; k < nres && rc == RQ_OK; k++) {
		struct result *r = &res[k];
		uint64_t dn = r->n;
		char nm[2][RQ_MODNAME_MAX + 16];
		int named = !default_names((const char (*)[RQ_MODNAME_MAX])r->mod);

		for (int i = 0; i < 2; i++)
			snprintf(nm[i], sizeof nm[i], "air.cos.%s", r->mod[i]);
		if ((rc = rq_tensor_alloc(&t, RQ_F64, 1, &dn)) != RQ_OK ||
		    (rc = rq_meta_clear(&t)) != RQ_OK ||
		    (named && (rc = rq_meta_set(&t, "slot", "0")) != RQ_OK) ||
		    (rc = rq_tensor_set_name(&t, nm[0])) != RQ_OK)
			break;
		memcpy(t.data, r->sa, r->n * sizeof *r->sa);
		if ((rc = rq_tensor_write(os, &t)) != RQ_OK ||
		    (named && (rc = rq_meta_set(&t, "slot", "1")) != RQ_OK) ||
		    (rc = rq_tensor_set_name(&t, nm[1])) != RQ_OK)
			break;
		memcpy(t.data, r->sv, r->n * sizeof *r->sv);
		if ((rc = rq_tensor_write(os, &t)) != RQ_OK ||
		    (rc = rq_meta_del(&t, "slot")) != RQ_OK ||
		    (rc = rq_tensor_alloc(&t, RQ_F64, 0, NULL)) != RQ_OK ||
		    (rc = rq_tensor_set_name(&t, "air")) != RQ_OK ||
		    (rc = rq_meta_set(&t, "group", "%ld", r->group)) != RQ_OK ||
		    (rc = rq_meta_set(&t, "cos_a", "%.17g", r->ca)) != RQ_OK ||
		    (rc = rq_meta_set(&t, "cos_v", "%.17g", r->cv)) != RQ_OK ||
		    (rc = rq_meta_set(&t, "n", "%zu", r->n)) != RQ_OK)
			break;
		if (r->epoch[0] &&
		    (rc = rq_meta_set(&t, "epoch", "%s", r->epoch)) != RQ_OK)
			break;
		if (named && (rc = rq_meta_set(&t, "modalities", "%s,%s",
		    r->mod[0], r->mod[1])) != RQ_OK)
			break;
		*(double *)t.data = r->air;
		rc = rq_tensor_write(os, &t);
	}
	rq_tensor_free(&t);
	return rc;
}

/* one group: its line (or TSV rows) to out, its tensors to os */
static void
finish(rq_airdump *g, long gi, int per_sample, FILE *out, int keep)
{
	double ca, cv, air, *sa, *sv;
	char msg[512];

	if (rq_airdump_check(g, msg, sizeof msg) != RQ_OK)
		errx(1, "%s", msg);
	if ((sa = calloc(g->na, sizeof *sa)) == NULL ||
	    (sv = calloc(g->na, sizeof *sv)) == NULL)
		err(1, NULL);
	rq_air_samples(sa, sv, g->q, g->ka, g->kv, g->na, g->d);
	air = rq_air(g->q, g->ka, g->kv, g->na, g->d, &ca, &cv);
	if (per_sample && gi == 0) {
		if (default_names((const char (*)[RQ_MODNAME_MAX])g->mod))
			fprintf(out, "group\tsample\tcos_a\tcos_v\tair\n");
		else
			fprintf(out, "group\tsample\tcos.%s\tcos.%s\tair\n",
			    g->mod[0], g->mod[1]);
	}
	if (per_sample) {
		for (size_t i = 0; i < g->na; i++)
			fprintf(out, "%ld\t%zu\t%.9g\t%.9g\t%.9g\n", gi, i,
			    sa[i], sv[i], sa[i] - sv[i]);
	} else {
		fprintf(out, "group=%ld", gi);
		if (g->epoch[0])
			fprintf(out, " epoch=%s", g->epoch);
		fprintf(out, " air=%.9g cos_a=%.9g cos_v=%.9g n=%zu d=%zu",
		    air, ca, cv, g->na, g->d);
		if (!default_names((const char (*)[RQ_MODNAME_MAX])g->mod))
			fprintf(out, " modalities=%s,%s", g->mod[0], g->mod[1]);
		fprintf(out, "\n");
	}
	if (keep) {
		struct result *r;

		if ((res = reallocarray(res, nres + 1, sizeof *res)) == NULL)
			err(1, NULL);
		r = &res[nres++];
		r->sa = sa;
		r->sv = sv;
		r->n = g->na;
		r->air = air;
		memcpy(r->mod, g->mod, sizeof r->mod);
		r->ca = ca;
		r->cv = cv;
		r->group = gi;
		memcpy(r->epoch, g->epoch, sizeof r->epoch);
		g->na = g->nv = 0;
		return;
	}
	free(sa);
	free(sv);
	g->na = g->nv = 0;
}

int
main(int argc, char **argv)
{
	rq_airdump g;
	rq_stream *s, *os;
	rq_tensor t;
	FILE *out;
	char *buf = NULL, *opath = NULL, msg[512];
	size_t buflen = 0;
	long rec = 0, ngroups = 0;
	int c, rc, per_sample = 0;

	rq_cli_init(argc, argv);
	while ((c = getopt_long(argc, argv, "hpo:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-air %s\n", rq_cli_version());
			exit(0);
		case 'p':
			/* the last release's spelling, kept for one more */
			warnx("-p is deprecated; use --per-sample");
			/* FALLTHROUGH */
		case OPT_PER_SAMPLE:
			per_sample = 1;
			break;
		case 'o':
			opath = optarg;
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
	if (opath != NULL && rq_cli_stream_to_tty(opath))
		errx(1, "%s", RQ_CLI_TTY_MSG);
	fname = argc == 1 ? argv[0] : "-";
	if ((s = rq_stream_open(fname, "r")) == NULL)
		err(1, "%s", fname);
	fname = rq_stream_name(s);
	/* text is held back until every record has been read */
	if ((out = open_memstream(&buf, &buflen)) == NULL)
		err(1, "open_memstream");
	rq_airdump_init(&g, fname);
	rq_tensor_init(&t);
	for (; (rc = rq_tensor_read(s, &t)) == RQ_OK; rec++) {
		int kind = rq_airdump_kind(&t);

		if (kind == RQ_AIRDUMP_OTHER)
			continue;	/* other records ride along */
		/* a valid fusion.q closes the group before it */
		if (kind == RQ_AIRDUMP_Q && t.dtype == RQ_F32 && t.ndim == 1 &&
		    t.dims[0] > 0 && g.qrec >= 0)
			finish(&g, ngroups++, per_sample, out, opath != NULL);
		if ((kind == RQ_AIRDUMP_Q ? rq_airdump_begin(&g, &t, rec, 1, msg,
		    sizeof msg) : rq_airdump_add(&g, &t, rec, msg, sizeof msg)) !=
		    RQ_OK)
			errx(1, "%s", msg);
	}
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(s));
	if (g.qrec < 0)
		errx(1, "%s: no fusion.q record", fname);
	finish(&g, ngroups++, per_sample, out, opath != NULL);
	rq_stream_close(s);
	rq_tensor_free(&t);
	rq_airdump_free(&g);
	if (opath) {
		if ((os = rq_stream_open(opath, "w")) == NULL)
			err(1, "%s", opath);
		if (write_results(os) != RQ_OK) {
			snprintf(msg, sizeof msg, "%s", rq_stream_error(os));
			rq_stream_abort(os);
			errx(1, "%s", msg);
		}
		if (rq_stream_close(os) != RQ_OK)
			err(1, "%s", opath);
	}
	if (fclose(out) != 0)
		err(1, "open_memstream");
	if (!(opath && strcmp(opath, "-") == 0) && buflen &&
	    fwrite(buf, 1, buflen, stdout) != buflen)
		err(1, "stdout");
	free(buf);
	if (rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
}
