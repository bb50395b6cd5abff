/*
 * rq-rotate: the RollingQ anchor and rotation, composition of rotations,
 * and application of a rotation to vectors (DESIGN.md section 3).
 *
 * Default: E[Q], E[K_a], E[K_v] (records eq, eka, ekv [d], or the
 * fusion.q / fusion.kmean.audio / fusion.kmean.visual stream of rq-air,
 * last group) and rho give alpha, q_b and R; written as rq.qb f64 [d],
 * rq.alpha f64 [] and rq.R f64 [d,d].
 * --compose: R_total <- R_new R_total over the rq.R records in stream order.
 * --apply: every record v [..,d] becomes v R^T.
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

	fprintf(f,
	    "usage: rq-rotate [--svd] [--air air] [--rho rho] [-o file] [file]\n"
	    "       rq-rotate --compose [-o file] [file ...]\n"
	    "       rq-rotate --apply rfile [-o file] [file]\n");
	if (status == 0)
		fprintf(f,
		    "  --svd           the authors' SVD rotation instead of the "
		    "plane one\n"
		    "  --air air       the AIR for alpha (else from the input)\n"
		    "  --rho rho       the rate rho (0)\n"
		    "  --compose       compose the rq.R records, first acting "
		    "first\n"
		    "  --apply rfile   rotate every record by the rq.R of rfile\n"
		    "  -o file         write to file, atomically (stdout)\n"
		    "  -h, --help      print this help\n"
		    "  --version       print the version\n");
	exit(status);
}

/* the spelling of the last release, kept for one more */
static void
old(int c, const char *now)
{
	warnx("-%c is deprecated; use %s", c, now);
}

enum { OPT_VERSION = 256, OPT_SVD, OPT_AIR, OPT_RHO, OPT_COMPOSE,
    OPT_APPLY };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"svd", no_argument, NULL, OPT_SVD},
	{"air", required_argument, NULL, OPT_AIR},
	{"rho", required_argument, NULL, OPT_RHO},
	{"compose", no_argument, NULL, OPT_COMPOSE},
	{"apply", required_argument, NULL, OPT_APPLY},
	{NULL, 0, NULL, 0}
};

/* output records, written only once every input has been read */
static rq_tensor **outv;
static size_t nout;

static rq_tensor *
new_out(const char *name, int dtype, int ndim, const uint64_t *dims)
{
	rq_tensor *t;

	if ((outv = reallocarray(outv, nout + 1, sizeof *outv)) == NULL ||
	    (t = malloc(sizeof *t)) == NULL)
		err(1, NULL);
	outv[nout++] = t;
	rq_tensor_init(t);
	if (rq_tensor_alloc(t, dtype, ndim, dims) != RQ_OK ||
	    rq_tensor_set_name(t, name) != RQ_OK)
		err(1, NULL);
	return t;
}

static void
meta(rq_tensor *t, const char *key, double v)
{
	if (rq_meta_set(t, key, "%.17g", v) != RQ_OK)
		errx(1, "%s: cannot set metadata %s", t->name, key);
}

static void
write_outputs(const char *opath)
{
	rq_stream *os;

	if ((os = rq_stream_open(opath ? opath : "-", "w")) == NULL)
		err(1, "%s", opath ? opath : "stdout");
	for (size_t i = 0; i < nout; i++)
		if (rq_tensor_write(os, outv[i]) != RQ_OK) {
			char msg[512];

			snprintf(msg, sizeof msg, "%s", rq_stream_error(os));
			rq_stream_abort(os);
			errx(1, "%s", msg);
		}
	if (rq_stream_close(os) != RQ_OK)
		err(1, "%s", opath ? opath : "stdout");
	for (size_t i = 0; i < nout; i++) {
		rq_tensor_free(outv[i]);
		free(outv[i]);
	}
	free(outv);
}

static int
is_float(const rq_tensor *t)
{
	return t->dtype == RQ_F32 || t->dtype == RQ_F64;
}

/* a square rq.R record as a new double array */
static double *
read_R(const char *file, long rec, const rq_tensor *t, size_t *d)
{
	double *R;
	size_t n;

	if (!is_float(t))
		errx(1, "%s: record %ld: rq.R: dtype %s, want f64 or f32",
		    file, rec, rq_dtype_name(t->dtype));
	if (t->ndim != 2 || t->dims[0] != t->dims[1] || t->dims[0] < 2)
		errx(1, "%s: record %ld: rq.R: want shape [d,d], d >= 2", file,
		    rec);
	if (*d && t->dims[0] != *d)
		errx(1, "%s: record %ld: rq.R: d = %llu, earlier ones %zu",
		    file, rec, (unsigned long long)t->dims[0], *d);
	*d = (size_t)t->dims[0];
	n = rq_tensor_numel(t);
	if ((R = malloc(n * sizeof *R)) == NULL)
		err(1, NULL);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(R[i] = rq_tensor_get(t, i)))
			errx(1, "%s: record %ld: rq.R: not finite", file, rec);
	return R;
}

/* -c: compose the rq.R records of the inputs, first acting first */
static void
compose(char **files, int nfiles)
{
	static char *stdin_only[] = {"-", NULL};
	double *Rt = NULL;
	size_t d = 0;
	long nrot = 0;
	rq_tensor t, *o;

	if (nfiles == 0)
		files = stdin_only;
	rq_tensor_init(&t);
	for (; *files; files++) {
		rq_stream *s;
		long rec = 0;
		int rc;

		if ((s = rq_stream_open(*files, "r")) == NULL)
			err(1, "%s", *files);
		for (; (rc = rq_tensor_read(s, &t)) == RQ_OK; rec++) {
			double *R, v;

			if (strcmp(t.name, "rq.R") != 0)
				continue;
			R = read_R(rq_stream_name(s), rec, &t, &d);
			if (Rt == NULL) {
				Rt = R;
			} else {
				if (rq_rotation_compose(Rt, R, d) != RQ_OK)
					err(1, NULL);
				free(R);
			}
			nrot += rq_meta_getd(&t, "rotations", &v) == 0 &&
			    v >= 0 ? (long)v : 1;
		}
		if (rc != RQ_EOF)
			errx(1, "%s", rq_stream_error(s));
		rq_stream_close(s);
	}
	rq_tensor_free(&t);
	if (Rt == NULL)
		errx(1, "%s: no rq.R record", nfiles == 1 ? files[-1] :
		    nfiles == 0 ? "<stdin>" : "input");
	o = new_out("rq.R", RQ_F64, 2, (uint64_t[]){d, d});
	memcpy(o->data, Rt, d * d * sizeof *Rt);
	if (rq_meta_set(o, "form", "composed") != RQ_OK ||
	    rq_meta_set(o, "rotations", "%ld", nrot) != RQ_OK)
		errx(1, "rq.R: cannot set metadata");
	free(Rt);
}

/* -a: rotate every record v [..,d] of file by the rq.R in rfile */
static void
apply(const char *rfile, const char *file)
{
	rq_stream *s;
	rq_tensor t;
	double *R = NULL;
	size_t d = 0;
	long rec = 0;
	int rc;

	rq_tensor_init(&t);
	if ((s = rq_stream_open(rfile, "r")) == NULL)
		err(1, "%s", rfile);
	for (; (rc = rq_tensor_read(s, &t)) == RQ_OK; rec++) {
		if (strcmp(t.name, "rq.R") != 0)
			continue;
		if (R != NULL)
			errx(1, "%s: record %ld: a second rq.R; compose them "
			    "first with rq-rotate --compose", rq_stream_name(s), rec);
		R = read_R(rq_stream_name(s), rec, &t, &d);
	}
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(s));
	if (R == NULL)
		errx(1, "%s: no rq.R record", rq_stream_name(s));
	rq_stream_close(s);

	if ((s = rq_stream_open(file, "r")) == NULL)
		err(1, "%s", file);
	for (rec = 0; (rc = rq_tensor_read(s, &t)) == RQ_OK; rec++) {
		size_t n;
		rq_tensor *o;

		if (!is_float(&t))
			errx(1, "%s: record %ld: %s: dtype %s, want f32 or f64",
			    rq_stream_name(s), rec, t.name[0] ? t.name : "-",
			    rq_dtype_name(t.dtype));
		if (t.ndim < 1 || t.dims[t.ndim - 1] != d)
			errx(1, "%s: record %ld: %s: last dimension must be %zu "
			    "(the d of %s)", rq_stream_name(s), rec,
			    t.name[0] ? t.name : "-", d, rfile);
		n = rq_tensor_numel(&t) / d;
		o = new_out("", t.dtype, t.ndim, t.dims);
		if (rq_tensor_copy(o, &t) != RQ_OK)
			err(1, NULL);
		if (t.dtype == RQ_F32)
			rq_rotation_apply_f32(o->data, R, t.data, n, d);
		else
			rq_rotation_apply(o->data, R, t.data, n, d);
	}
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(s));
	rq_stream_close(s);
	rq_tensor_free(&t);
	free(R);
}

/* means of the estimate stream */
struct est {
	double *eq, *eka, *ekv;	/* [d] */
	double air_sum;		/* sum_i cos(q, ka_i) - cos(q, kv_i) */
	size_t d, na, nv;
	int have_eq, have_eka, have_ekv, fusion;
	long qrec;
	double eq_air;		/* air= on the eq record, else NAN */
};

static void
vec_of(double **dst, const char *file, long rec, const rq_tensor *t,
    size_t *d)
{
	if (!is_float(t))
		errx(1, "%s: record %ld: %s: dtype %s, want f32 or f64", file,
		    rec, t->name, rq_dtype_name(t->dtype));
	if (t->ndim != 1 || t->dims[0] < 2)
		errx(1, "%s: record %ld: %s: want shape [d], d >= 2", file, rec,
		    t->name);
	if (*d && t->dims[0] != *d)
		errx(1, "%s: record %ld: %s: d = %llu, earlier records %zu",
		    file, rec, t->name, (unsigned long long)t->dims[0], *d);
	*d = (size_t)t->dims[0];
	if ((*dst = realloc(*dst, *d * sizeof **dst)) == NULL)
		err(1, NULL);
	for (size_t i = 0; i < *d; i++)
		(*dst)[i] = rq_tensor_get(t, i);
}

static void
estimate(struct est *e, const char *file)
{
	rq_stream *s;
	rq_tensor t;
	rq_airdump g;
	char msg[512];
	double *ca = NULL, *cv = NULL;
	long rec = 0;
	int rc, plain = 0;
	const char *fn;

	memset(e, 0, sizeof *e);
	e->eq_air = NAN;
	rq_tensor_init(&t);
	if ((s = rq_stream_open(file, "r")) == NULL)
		err(1, "%s", file);
	fn = rq_stream_name(s);
	rq_airdump_init(&g, fn);
	for (; (rc = rq_tensor_read(s, &t)) == RQ_OK; rec++) {
		int kind = rq_airdump_kind(&t);

		if (strcmp(t.name, "eq") == 0 || strcmp(t.name, "eka") == 0 ||
		    strcmp(t.name, "ekv") == 0) {
			int *have = t.name[1] == 'q' ? &e->have_eq :
			    t.name[2] == 'a' ? &e->have_eka : &e->have_ekv;
			double **dst = t.name[1] == 'q' ? &e->eq :
			    t.name[2] == 'a' ? &e->eka : &e->ekv;

			if (e->fusion)
				errx(1, "%s: record %ld: %s mixed with fusion.* "
				    "records", fn, rec, t.name);
			if (*have)
				errx(1, "%s: record %ld: a second %s record",
				    fn, rec, t.name);
			*have = plain = 1;
			vec_of(dst, fn, rec, &t, &e->d);
			if (t.name[1] == 'q')
				rq_meta_getd(&t, "air", &e->eq_air);
			continue;
		}
		if (kind == RQ_AIRDUMP_Q) {
			size_t pna = g.na, pnv = g.nv;
			if (plain)
				errx(1, "%s: record %ld: fusion.q mixed with "
				    "eq/eka/ekv records", fn, rec);
			/* a valid fusion.q: the group before it must be whole
			 * (only the last group counts) */
			if (t.dtype == RQ_F32 && t.ndim == 1 && t.dims[0] >= 2 &&
			    g.qrec >= 0 && (pna == 0 || pnv == 0) &&
			    rq_airdump_check(&g, msg, sizeof msg) != RQ_OK)
				errx(1, "%s", msg);
			if (rq_airdump_begin(&g, &t, rec, 2, msg, sizeof msg) !=
			    RQ_OK)
				errx(1, "%s", msg);
			e->fusion = 1;
			e->d = g.d;
			e->qrec = rec;
			e->air_sum = 0;
			if ((e->eq = realloc(e->eq, e->d * sizeof *e->eq)) == NULL ||
			    (e->eka = realloc(e->eka, e->d * sizeof *e->eka)) ==
			    NULL ||
			    (e->ekv = realloc(e->ekv, e->d * sizeof *e->ekv)) ==
			    NULL)
				err(1, NULL);
			for (size_t i = 0; i < e->d; i++) {
				e->eq[i] = g.q[i];
				e->eka[i] = e->ekv[i] = 0;
			}
			continue;
		}
		if (kind == RQ_AIRDUMP_OTHER)
			continue;
		{
			int isa = kind == RQ_AIRDUMP_KA;
			size_t n0 = isa ? g.na : g.nv, n, d;
			const float *k;
			double *sum, *c;

			if (rq_airdump_add(&g, &t, rec, msg, sizeof msg) != RQ_OK)
				errx(1, "%s", msg);
			/* the rows just added, in record order */
			n = (isa ? g.na : g.nv) - n0;
			d = g.d;
			k = (isa ? g.ka : g.kv) + n0 * d;
			sum = isa ? e->eka : e->ekv;
			if ((c = reallocarray(isa ? ca : cv, RQ_MAX(n, 1),
			    sizeof *c)) == NULL)
				err(1, NULL);
			if (isa)
				ca = c;
			else
				cv = c;
			rq_air_samples(isa ? c : NULL, isa ? NULL : c, g.q, k, k,
			    n, d);
			for (size_t i = 0; i < n; i++) {
				e->air_sum += isa ? c[i] : -c[i];
				for (size_t j = 0; j < d; j++)
					sum[j] += k[i * d + j];
			}
		}
	}
	if (rc != RQ_EOF)
		errx(1, "%s", rq_stream_error(s));
	if (e->fusion) {
		if (rq_airdump_check(&g, msg, sizeof msg) != RQ_OK)
			errx(1, "%s", msg);
		e->na = g.na;
		e->nv = g.nv;
		for (size_t j = 0; j < e->d; j++) {
			e->eka[j] /= (double)e->na;
			e->ekv[j] /= (double)e->nv;
		}
	} else if (!plain) {
		errx(1, "%s: no eq, eka, ekv or fusion.q records", fn);
	} else if (!e->have_eq || !e->have_eka || !e->have_ekv) {
		errx(1, "%s: no %s record", fn, !e->have_eq ? "eq" :
		    !e->have_eka ? "eka" : "ekv");
	}
	rq_stream_close(s);
	rq_tensor_free(&t);
	rq_airdump_free(&g);
	free(ca);
	free(cv);
}

int
main(int argc, char **argv)
{
	struct est e;
	const char *opath = NULL, *rfile = NULL, *file, *what;
	double rho = 0, air = NAN, alpha;
	int c, svd = 0, comp = 0, have_air = 0, rc;
	rq_tensor *o;

	rq_cli_init(argc, argv);
	while ((c = getopt_long(argc, argv, "hA:a:co:r:S", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-rotate %s\n", rq_cli_version());
			exit(0);
		case 'A':
			old(c, "--air");
			/* FALLTHROUGH */
		case OPT_AIR:
			if (rq_parse_double(optarg, &air) != 0)
				errx(2, "--air: bad AIR: %s", optarg);
			have_air = 1;
			break;
		case 'a':
			old(c, "--apply");
			/* FALLTHROUGH */
		case OPT_APPLY:
			rfile = optarg;
			break;
		case 'c':
			old(c, "--compose");
			/* FALLTHROUGH */
		case OPT_COMPOSE:
			comp = 1;
			break;
		case 'o':
			opath = optarg;
			break;
		case 'r':
			old(c, "--rho");
			/* FALLTHROUGH */
		case OPT_RHO:
			if (rq_parse_double(optarg, &rho) != 0)
				errx(2, "--rho: bad rho: %s", optarg);
			break;
		case 'S':
			old(c, "--svd");
			/* FALLTHROUGH */
		case OPT_SVD:
			svd = 1;
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (rq_cli_stream_to_tty(opath))
		errx(1, "%s", RQ_CLI_TTY_MSG);
	if (comp) {
		if (rfile || svd || have_air || rho != 0) {
			warnx("--compose: not with --apply, --svd, --air or --rho");
			usage(2);
		}
		compose(argv, argc);
		write_outputs(opath);
		goto done;
	}
	if (argc > 1) {
		warnx("unexpected operand: %s", argv[1]);
		usage(2);
	}
	file = argc == 1 ? argv[0] : "-";
	if (rfile) {
		if (svd || have_air || rho != 0) {
			warnx("--apply: not with --svd, --air or --rho");
			usage(2);
		}
		apply(rfile, file);
		write_outputs(opath);
		goto done;
	}

	estimate(&e, file);
	what = "option";
	if (!have_air && e.fusion) {
		air = e.air_sum / (double)e.na;
		have_air = 1;
		what = "stream";
	} else if (!have_air && !isnan(e.eq_air)) {
		air = e.eq_air;
		have_air = 1;
		what = "eq";
	}
	if (!have_air) {
		if (rho != 0)
			errx(1, "%s: AIR unknown (no fusion.* records, no air= "
			    "on eq): give --air air", strcmp(file, "-") ? file :
			    "<stdin>");
		air = 0;	/* alpha = 1/2 whatever AIR is */
	}
	o = new_out("rq.qb", RQ_F64, 1, (uint64_t[]){e.d});
	if ((rc = rq_rollingq_anchor(o->data, &alpha, e.eq, e.eka, e.ekv, air,
	    rho, e.d)) != RQ_OK)
		errx(1, "%s: %s", strcmp(file, "-") ? file : "<stdin>",
		    rc == RQ_ENUM ? "non-finite E[Q], E[K_a] or E[K_v]" :
		    "E[Q], E[K_a], E[K_v] or the anchor direction is zero");
	meta(o, "rho", rho);
	meta(o, "alpha", alpha);
	if (have_air)
		meta(o, "air", air);
	{
		rq_tensor *a = new_out("rq.alpha", RQ_F64, 0, NULL);
		rq_tensor *R = new_out("rq.R", RQ_F64, 2,
		    (uint64_t[]){e.d, e.d});
		const double *qb = o->data;

		*(double *)a->data = alpha;
		meta(a, "rho", rho);
		if (have_air)
			meta(a, "air", air);
		rc = svd ? rq_rotation_svd(R->data, e.eq, qb, e.d) :
		    rq_rotation_plane(R->data, e.eq, qb, e.d);
		if (rc != RQ_OK)
			errx(1, "%s: rotation failed (%s)", strcmp(file, "-") ?
			    file : "<stdin>", rc == RQ_ENOMEM ? "out of memory" :
			    "degenerate input");
		if (rq_meta_set(R, "form", "%s", svd ? "svd" : "plane") !=
		    RQ_OK || rq_meta_set(R, "rotations", "1") != RQ_OK)
			errx(1, "rq.R: cannot set metadata");
		meta(R, "rho", rho);
		meta(R, "alpha", alpha);
		if (have_air) {
			meta(R, "air", air);
			if (rq_meta_set(R, "air_from", "%s", what) != RQ_OK)
				errx(1, "rq.R: cannot set metadata");
		}
		if (e.fusion && rq_meta_set(R, "n", "%zu", e.na) != RQ_OK)
			errx(1, "rq.R: cannot set metadata");
	}
	write_outputs(opath);
	free(e.eq);
	free(e.eka);
	free(e.ekv);
done:
	if (rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
}
