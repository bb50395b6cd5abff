/*
 * rq-air: the Attention Imbalance Rate of RollingQ from a stream of
 * fusion queries and per-sample key means.
 *
 * A group starts at each `fusion.q` f32 [d] record; the
 * `fusion.kmean.audio` and `fusion.kmean.visual` f32 [N,d] records that
 * follow it (until the next fusion.q) are concatenated along axis 0.
 * Per group: AIR = mean_i [cos(q, ka_i) - cos(q, kv_i)], one line
 * "group=G [epoch=E] air=... cos_a=... cos_v=... n=N d=D".
 */
#include <err.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

static void
usage(void)
{
	fprintf(stderr, "usage: rq-air [-p] [-o file] [file]\n");
	exit(2);
}

struct group {
	float *q, *ka, *kv;
	size_t d, na, nv, cap_a, cap_v;
	long qrec;		/* record index of its fusion.q */
	char epoch[64];
};

/* per-group results kept for -o, written once all input has been read */
struct result {
	double *sa, *sv, air, ca, cv;
	size_t n;
	long group;
	char epoch[64];
};

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

		if ((rc = rq_tensor_alloc(&t, RQ_F64, 1, &dn)) != RQ_OK ||
		    (rc = rq_meta_clear(&t)) != RQ_OK ||
		    (rc = rq_tensor_set_name(&t, "air.cos.audio")) != RQ_OK)
			break;
		memcpy(t.data, r->sa, r->n * sizeof *r->sa);
		if ((rc = rq_tensor_write(os, &t)) != RQ_OK ||
		    (rc = rq_tensor_set_name(&t, "air.cos.visual")) != RQ_OK)
			break;
		memcpy(t.data, r->sv, r->n * sizeof *r->sv);
		if ((rc = rq_tensor_write(os, &t)) != RQ_OK ||
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
		*(double *)t.data = r->air;
		rc = rq_tensor_write(os, &t);
	}
	rq_tensor_free(&t);
	return rc;
}

static void
append(float **buf, size_t *n, size_t *cap, const rq_tensor *t, size_t d)
{
	size_t rows = (size_t)t->dims[0];

	if (*n + rows > *cap) {
		size_t nc = RQ_MAX(*cap * 2, *n + rows);

		if (nc > SIZE_MAX / sizeof(float) / d)
			errx(1, "%s: too many samples", fname);
		if ((*buf = realloc(*buf, nc * d * sizeof(float))) == NULL)
			err(1, NULL);
		*cap = nc;
	}
	memcpy(*buf + *n * d, t->data, rows * d * sizeof(float));
	*n += rows;
}

/* one group: its line (or TSV rows) to out, its tensors to os */
static void
finish(struct group *g, long gi, int per_sample, FILE *out, int keep)
{
	double ca, cv, air, *sa, *sv;

	if (g->na == 0 && g->nv == 0)
		errx(1, "%s: record %ld: fusion.q has no fusion.kmean.audio "
		    "or fusion.kmean.visual records after it", fname, g->qrec);
	if (g->na == 0 || g->nv == 0)
		errx(1, "%s: record %ld: fusion.q has no %s record after it",
		    fname, g->qrec, g->na == 0 ? "fusion.kmean.audio" :
		    "fusion.kmean.visual");
	if (g->na != g->nv)
		errx(1, "%s: record %ld: group has %zu audio and %zu visual "
		    "key means", fname, g->qrec, g->na, g->nv);
	if ((sa = calloc(g->na, sizeof *sa)) == NULL ||
	    (sv = calloc(g->na, sizeof *sv)) == NULL)
		err(1, NULL);
	rq_air_samples(sa, sv, g->q, g->ka, g->kv, g->na, g->d);
	air = rq_air(g->q, g->ka, g->kv, g->na, g->d, &ca, &cv);
	if (per_sample) {
		for (size_t i = 0; i < g->na; i++)
			fprintf(out, "%ld\t%zu\t%.9g\t%.9g\t%.9g\n", gi, i,
			    sa[i], sv[i], sa[i] - sv[i]);
	} else {
		fprintf(out, "group=%ld", gi);
		if (g->epoch[0])
			fprintf(out, " epoch=%s", g->epoch);
		fprintf(out, " air=%.9g cos_a=%.9g cos_v=%.9g n=%zu d=%zu\n",
		    air, ca, cv, g->na, g->d);
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
	struct group g;
	rq_stream *s, *os;
	rq_tensor t;
	FILE *out;
	char *buf = NULL, *opath = NULL;
	size_t buflen = 0;
	long rec = 0, ngroups = 0;
	int c, rc, per_sample = 0, have_q = 0;

	rq_progname_init(argc, argv);
	while ((c = getopt(argc, argv, "po:")) != -1) {
		switch (c) {
		case 'p':
			per_sample = 1;
			break;
		case 'o':
			opath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	fname = argc == 1 ? argv[0] : "-";
	if ((s = rq_stream_open(fname, "r")) == NULL)
		err(1, "%s", fname);
	fname = rq_stream_name(s);
	/* text is held back until every record has been read */
	if ((out = open_memstream(&buf, &buflen)) == NULL)
		err(1, "open_memstream");
	if (per_sample)
		fprintf(out, "group\tsample\tcos_a\tcos_v\tair\n");
	memset(&g, 0, sizeof g);
	rq_tensor_init(&t);
	for (; (rc = rq_tensor_read(s, &t)) == RQ_OK; rec++) {
		int isq = strcmp(t.name, "fusion.q") == 0;
		int isa = strcmp(t.name, "fusion.kmean.audio") == 0;
		int isv = strcmp(t.name, "fusion.kmean.visual") == 0;

		if (!isq && !isa && !isv)
			continue;	/* other records ride along */
		if (t.dtype != RQ_F32)
			errx(1, "%s: record %ld: %s: dtype %s, want f32", fname,
			    rec, t.name, rq_dtype_name(t.dtype));
		if (isq) {
			if (t.ndim != 1 || t.dims[0] == 0)
				errx(1, "%s: record %ld: fusion.q: want shape "
				    "[d], d >= 1", fname, rec);
			if (have_q)
				finish(&g, ngroups++, per_sample, out, opath != NULL);
			have_q = 1;
			g.d = (size_t)t.dims[0];
			g.qrec = rec;
			if ((g.q = realloc(g.q, t.nbytes)) == NULL)
				err(1, NULL);
			memcpy(g.q, t.data, t.nbytes);
			g.epoch[0] = '\0';
			rq_meta_get(&t, "epoch", g.epoch, sizeof g.epoch);
			continue;
		}
		if (!have_q)
			errx(1, "%s: record %ld: %s before any fusion.q", fname,
			    rec, t.name);
		if (t.ndim != 2 || t.dims[1] != g.d)
			errx(1, "%s: record %ld: %s: want shape [N,%zu] (d of "
			    "fusion.q in record %ld)", fname, rec, t.name, g.d,
			    g.qrec);
		if (isa)
			append(&g.ka, &g.na, &g.cap_a, &t, g.d);
		else
			append(&g.kv, &g.nv, &g.cap_v, &t, g.d);
	}
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(s));
	if (!have_q)
		errx(1, "%s: no fusion.q record", fname);
	finish(&g, ngroups++, per_sample, out, opath != NULL);
	rq_stream_close(s);
	rq_tensor_free(&t);
	free(g.q);
	free(g.ka);
	free(g.kv);
	if (opath) {
		if ((os = rq_stream_open(opath, "w")) == NULL)
			err(1, "%s", opath);
		if (write_results(os) != RQ_OK) {
			char msg[512];

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
