/*
 * test_stats.c: lib/stats.c against SciPy golden values
 * (testdata/pearson-golden.tsv, made by testdata/gen-pearson.py), and the
 * programs rq-pearson and rq-noise run on streams written here.  The CLI
 * cases run bin/rq-* from the repository root (make builds them first).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rq.h"

#define GOLDEN "testdata/pearson-golden.tsv"

static void
close_rel(double got, double want, double tol, const char *what)
{
	double d = fabs(got - want), s = fabs(want);

	cr_assert(d <= tol * s || d <= 1e-300 || (s < 1e-12 && d < 1e-15),
	    "%s: got %.17g want %.17g", what, got, want);
}

/* load testdata/pearson-golden.<set>.tsv (header line, then x<TAB>y) */
static size_t
load_set(const char *set, double **x, double **y)
{
	char path[256], line[256];
	size_t n = 0, cap = 256;
	FILE *fp;

	snprintf(path, sizeof path, "testdata/pearson-golden.%s.tsv", set);
	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	*x = malloc(cap * sizeof **x);
	*y = malloc(cap * sizeof **y);
	cr_assert(fgets(line, sizeof line, fp) != NULL);
	while (fgets(line, sizeof line, fp)) {
		cr_assert(n < cap);
		cr_assert_eq(sscanf(line, "%lf\t%lf", *x + n, *y + n), 2);
		n++;
	}
	fclose(fp);
	return n;
}

struct golden {
	char set[64], method[16];
	double level, r, p, lo, hi;
	size_t n;
};

static size_t
load_golden(struct golden *g, size_t max)
{
	char line[512];
	size_t k = 0;
	FILE *fp;

	cr_assert_not_null(fp = fopen(GOLDEN, "r"), GOLDEN);
	while (fgets(line, sizeof line, fp)) {
		if (line[0] == '#' || strncmp(line, "set\t", 4) == 0)
			continue;
		cr_assert(k < max);
		cr_assert_eq(sscanf(line, "%63s %15s %lf %zu %lf %lf %lf %lf",
		    g[k].set, g[k].method, &g[k].level, &g[k].n, &g[k].r,
		    &g[k].p, &g[k].lo, &g[k].hi), 8, "%s", line);
		k++;
	}
	fclose(fp);
	return k;
}

Test(stats, golden_scipy)
{
	struct golden g[64];
	size_t k = load_golden(g, 64);

	cr_assert_geq(k, 20);
	for (size_t i = 0; i < k; i++) {
		double *x, *y;
		size_t n = load_set(g[i].set, &x, &y);
		rq_corr c;
		char what[128];
		int sp = strcmp(g[i].method, "spearman") == 0;

		cr_assert_eq(n, g[i].n);
		cr_assert_eq((sp ? rq_spearman : rq_pearson)(x, y, n,
		    g[i].level, &c), RQ_OK, "%s", g[i].set);
		cr_assert_eq(c.n, n);
		snprintf(what, sizeof what, "%.40s %.15s %g r", g[i].set,
		    g[i].method, g[i].level);
		close_rel(c.r, g[i].r, 1e-6, what);
		what[strlen(what) - 1] = 'p';
		close_rel(c.p, g[i].p, 1e-6, what);
		strcat(what, " ci_lo");
		close_rel(c.ci_lo, g[i].lo, 1e-6, what);
		close_rel(c.ci_hi, g[i].hi, 1e-6, what);
		free(x);
		free(y);
	}
}

/* Fisher interval by hand: z quantiles 1.959963984540054 (0.975) and
 * 1.6448536269514722 (0.95) from tables, not from GSL */
Test(stats, fisher_by_hand)
{
	double *x, *y;
	size_t n = load_set("biserial40", &x, &y);
	rq_corr c;
	double q[2] = {1.959963984540054, 1.6448536269514722}, lv[2] = {0.95,
	    0.9};

	for (int k = 0; k < 2; k++) {
		cr_assert_eq(rq_pearson(x, y, n, lv[k], &c), RQ_OK);
		double h = q[k] / sqrt((double)n - 3);
		close_rel(c.ci_lo, tanh(atanh(c.r) - h), 1e-12, "lo");
		close_rel(c.ci_hi, tanh(atanh(c.r) + h), 1e-12, "hi");
		close_rel(c.t, c.r * sqrt((n - 2) / (1 - c.r * c.r)), 1e-12,
		    "t");
	}
	free(x);
	free(y);
}

Test(stats, rank_ties_averaged)
{
	double x[7] = {3, 1, 3, 2, 3, -5, 1}, r[7];
	double want[7] = {6, 2.5, 6, 4, 6, 1, 2.5};

	cr_assert_eq(rq_rank(r, x, 7), RQ_OK);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(r[i], want[i], "rank %d: %g", i, r[i]);
}

Test(stats, edge_cases)
{
	double x[5] = {1, 2, 3, 4, 5}, y[5] = {2, 4, 6, 8, 10};
	double k[5] = {0.1, 0.1, 0.1, 0.1, 0.1}, bad[5] = {1, 2, NAN, 4, 5};
	rq_corr c;

	cr_assert_eq(rq_pearson(x, y, 5, 0.95, &c), RQ_OK);
	cr_assert_eq(c.r, 1);
	cr_assert_eq(c.p, 0);
	cr_assert_eq(rq_pearson(x, y, 2, 0.95, &c), RQ_ERANGE);
	cr_assert_eq(rq_pearson(x, k, 5, 0.95, &c), RQ_EINVAL);
	cr_assert_eq(rq_spearman(k, x, 5, 0.95, &c), RQ_EINVAL);
	cr_assert_eq(rq_pearson(x, y, 5, 1.0, &c), RQ_EINVAL);
	cr_assert_eq(rq_pearson(x, bad, 5, 0.95, &c), RQ_ENUM);
	cr_assert_eq(c.bad, 2);
	cr_assert(c.bad_y);
	/* monotone but not linear: Spearman 1, Pearson below 1 */
	for (int i = 0; i < 5; i++)
		y[i] = exp(x[i]);
	cr_assert_eq(rq_spearman(x, y, 5, 0.95, &c), RQ_OK);
	cr_assert_eq(c.r, 1);
	cr_assert_eq(rq_pearson(x, y, 5, 0.95, &c), RQ_OK);
	cr_assert_lt(c.r, 0.95);
}

/* ---- CLI helpers ---- */

static char tmpdir[128];

static void
rmtmp(void)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return;
}

/* a directory of this test process, removed when it exits */
static void
mktmp(void)
{
	mkdir("tests/tmp", 0777);
	snprintf(tmpdir, sizeof tmpdir, "tests/tmp/stats.%ld", (long)getpid());
	mkdir(tmpdir, 0777);
	atexit(rmtmp);
}

static const char *
tp(const char *name)
{
	static char buf[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
	return buf[k];
}

/* exit status of sh -c cmd */
static int
run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	st = system(cmd);
	cr_assert(st != -1 && WIFEXITED(st), "%s", cmd);
	return WEXITSTATUS(st);
}

static size_t
fsize(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (size_t)sb.st_size : (size_t)-1;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 65536);

	cr_assert_not_null(fp, "%s", path);
	fread(buf, 1, 65535, fp);
	fclose(fp);
	return buf;
}

/* stderr holds one line mentioning every given word */
static void
one_line_error(const char *path, const char *w1, const char *w2)
{
	char *e = slurp(path);
	char *nl = strchr(e, '\n');

	cr_assert(nl != NULL && nl[1] == '\0', "not one line: '%s'", e);
	cr_assert(strstr(e, w1) != NULL, "'%s' lacks '%s'", e, w1);
	cr_assert(w2 == NULL || strstr(e, w2) != NULL, "'%s' lacks '%s'", e,
	    w2);
	free(e);
}

static void
put(rq_stream *s, const char *name, int dtype, int ndim,
    const uint64_t *dims, const void *data)
{
	rq_tensor t;

	rq_tensor_init(&t);
	cr_assert_eq(rq_tensor_alloc(&t, dtype, ndim, dims), RQ_OK);
	cr_assert_eq(rq_tensor_set_name(&t, name), RQ_OK);
	memcpy(t.data, data, t.nbytes);
	cr_assert_eq(rq_tensor_write(s, &t), RQ_OK, "%s",
	    rq_stream_error(s));
	rq_tensor_free(&t);
}

/* every record of a stream; returns the count */
static size_t
load(const char *path, rq_tensor *t, size_t max)
{
	rq_stream *s = rq_stream_open(path, "r");
	size_t n = 0;
	int rc;

	cr_assert_not_null(s, "%s", path);
	for (;;) {
		cr_assert(n < max);
		rq_tensor_init(&t[n]);
		if ((rc = rq_tensor_read(s, &t[n])) != RQ_OK)
			break;
		n++;
	}
	cr_assert_eq(rc, RQ_EOF, "%s", rq_stream_error(s));
	rq_tensor_free(&t[n]);
	rq_stream_close(s);
	return n;
}

static void
free_all(rq_tensor *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rq_tensor_free(&t[i]);
}

/* ---- rq-pearson ---- */

static double
field(const char *line, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof pat, "%s=", key);
	cr_assert_not_null(p = strstr(line, pat), "%s in '%s'", key, line);
	return strtod(p + strlen(pat), NULL);
}

/* the gauss50 set as two chunks of f64 records, x and y interleaved with
 * other records; also as one [n,2] tensor read through name:col */
Test(pearson_cli, stream_chunks_and_columns)
{
	struct golden g[64];
	size_t k = load_golden(g, 64), n, gi;
	double *x, *y, *xy;
	uint64_t d1, d2[2];
	rq_stream *s;
	char *out;

	mktmp();
	n = load_set("gauss50", &x, &y);
	xy = malloc(2 * n * sizeof *xy);
	for (size_t i = 0; i < n; i++) {
		xy[2 * i] = y[i];
		xy[2 * i + 1] = x[i];
	}
	cr_assert_not_null(s = rq_stream_open(tp("p.rqt"), "w"));
	d1 = 20;
	put(s, "x", RQ_F64, 1, &d1, x);
	put(s, "other", RQ_F64, 1, &d1, y);
	put(s, "y", RQ_F64, 1, &d1, y);
	d1 = n - 20;
	put(s, "y", RQ_F64, 1, &d1, y + 20);
	put(s, "x", RQ_F64, 1, &d1, x + 20);
	d2[0] = n;
	d2[1] = 2;
	put(s, "yx", RQ_F64, 2, d2, xy);
	cr_assert_eq(rq_stream_close(s), RQ_OK);
	for (gi = 0; gi < k; gi++)
		if (strcmp(g[gi].set, "gauss50") == 0 && g[gi].level == 0.95 &&
		    strcmp(g[gi].method, "spearman") == 0)
			break;
	cr_assert(gi < k);

	cr_assert_eq(run("bin/rq-pearson --spearman -x x -y y %s >%s 2>%s",
	    tp("p.rqt"), tp("out"), tp("err")), 0);
	out = slurp(tp("out"));
	close_rel(field(out, "r"), g[gi].r, 1e-6, "r");
	close_rel(field(out, "p"), g[gi].p, 1e-6, "p");
	close_rel(field(out, "ci_lo"), g[gi].lo, 1e-6, "ci_lo");
	close_rel(field(out, "ci_hi"), g[gi].hi, 1e-6, "ci_hi");
	cr_assert_eq(field(out, "n"), 50);
	free(out);
	cr_assert_eq(run("bin/rq-pearson --spearman -x yx:1 -y yx:0 <%s >%s 2>%s",
	    tp("p.rqt"), tp("out"), tp("err")), 0);
	out = slurp(tp("out"));
	close_rel(field(out, "r"), g[gi].r, 1e-6, "r col");
	free(out);
	free(x);
	free(y);
	free(xy);
}

Test(pearson_cli, bad_input)
{
	double v[5] = {1, 2, 3, 4, 5}, w[5] = {1, 3, NAN, 2, 5};
	double k[5] = {2, 2, 2, 2, 2};
	uint64_t d = 5, d2 = 2;
	rq_stream *s;

	mktmp();
	cr_assert_not_null(s = rq_stream_open(tp("nan.rqt"), "w"));
	put(s, "a", RQ_F64, 1, &d, v);
	put(s, "b", RQ_F64, 1, &d, w);
	put(s, "k", RQ_F64, 1, &d, k);
	put(s, "short", RQ_F64, 1, &d2, v);
	put(s, "short2", RQ_F64, 1, &d2, w);
	cr_assert_eq(rq_stream_close(s), RQ_OK);
	cr_assert_eq(run("bin/rq-pearson -x a -y b %s >%s 2>%s",
	    tp("nan.rqt"), tp("out"), tp("err")), 1);
	cr_assert_eq(fsize(tp("out")), 0);
	one_line_error(tp("err"), tp("nan.rqt"), "record 1");
	cr_assert_eq(run("bin/rq-pearson -x a -y k %s >%s 2>%s",
	    tp("nan.rqt"), tp("out"), tp("err")), 1);
	cr_assert_eq(fsize(tp("out")), 0);
	one_line_error(tp("err"), tp("nan.rqt"), "constant");
	cr_assert_eq(run("bin/rq-pearson -x short -y short2 %s >%s 2>%s",
	    tp("nan.rqt"), tp("out"), tp("err")), 1);
	cr_assert_eq(fsize(tp("out")), 0);
	one_line_error(tp("err"), tp("nan.rqt"), "at least 3");
	cr_assert_eq(run("bin/rq-pearson -x a -y nosuch %s >%s 2>%s",
	    tp("nan.rqt"), tp("out"), tp("err")), 1);
	cr_assert_eq(fsize(tp("out")), 0);
	one_line_error(tp("err"), tp("nan.rqt"), "nosuch");
	cr_assert_eq(run("bin/rq-pearson -x a -y short %s >%s 2>%s",
	    tp("nan.rqt"), tp("out"), tp("err")), 1);
	cr_assert_eq(fsize(tp("out")), 0);
}

/* ---- rq-noise ---- */

/* a data set of n samples in chunks of size `chunk`: audio [n,F,T],
 * visual [n,C,H,W] f32, label i32 [n], id i64 [n]; values depend only on
 * the sample index, so any chunking gives the same concatenation */
enum { F = 8, T = 12, C = 2, H = 5, W = 5 };

static void
dataset(const char *path, size_t n, size_t chunk, int audio_dtype)
{
	rq_stream *s = rq_stream_open(path, "w");

	cr_assert_not_null(s);
	for (size_t o = 0; o < n; o += chunk) {
		size_t m = RQ_MIN(chunk, n - o);
		uint64_t da[3] = {m, F, T}, dv[4] = {m, C, H, W}, dl = m;
		float *a = malloc(m * F * T * sizeof *a);
		float *v = malloc(m * C * H * W * sizeof *v);
		double *a64 = malloc(m * F * T * sizeof *a64);
		int32_t *l = malloc(m * sizeof *l);
		int64_t *id = malloc(m * sizeof *id);

		for (size_t i = 0; i < m * F * T; i++)
			a64[i] = a[i] = (float)sin(0.37 * (double)(o * F * T +
			    i));
		for (size_t i = 0; i < m * C * H * W; i++)
			v[i] = (float)cos(0.11 * (double)(o * C * H * W + i));
		for (size_t i = 0; i < m; i++) {
			l[i] = (int32_t)((o + i) % 7);
			id[i] = (int64_t)(o + i);
		}
		if (audio_dtype == RQ_F32)
			put(s, "audio", RQ_F32, 3, da, a);
		else if (audio_dtype == RQ_F64)
			put(s, "audio", RQ_F64, 3, da, a64);
		put(s, "visual", RQ_F32, 4, dv, v);
		put(s, "label", RQ_I32, 1, &dl, l);
		put(s, "id", RQ_I64, 1, &dl, id);
		free(a);
		free(v);
		free(a64);
		free(l);
		free(id);
	}
	cr_assert_eq(rq_stream_close(s), RQ_OK);
}

/* the concatenation of the data of every record named name, as double */
static double *
gather(const char *path, const char *name, size_t *n)
{
	rq_tensor t[64];
	size_t k = load(path, t, 64), cap = 0;
	double *v = NULL;

	*n = 0;
	for (size_t i = 0; i < k; i++) {
		if (strcmp(t[i].name, name) != 0)
			continue;
		size_t m = rq_tensor_numel(&t[i]);
		v = realloc(v, (cap += m) * sizeof *v);
		for (size_t j = 0; j < m; j++)
			v[(*n)++] = rq_tensor_get(&t[i], j);
	}
	free_all(t, k);
	return v;
}

static int
same_file(const char *a, const char *b)
{
	return run("cmp -s %s %s", a, b) == 0;
}

Test(noise_cli, seeded_and_chunk_independent)
{
	size_t na, nb, nv, nv0;
	double *a, *b, *v, *v0;
	int differ = 0;

	mktmp();
	dataset(tp("one.rqt"), 30, 30, RQ_F32);
	dataset(tp("three.rqt"), 30, 13, RQ_F32);
	cr_assert_eq(run("bin/rq-noise --modality audio --std 0.5 -s 3 %s >%s",
	    tp("one.rqt"), tp("n1")), 0);
	cr_assert_eq(run("bin/rq-noise --modality audio --std 0.5 -s 3 <%s >%s",
	    tp("one.rqt"), tp("n2")), 0);
	cr_assert_eq(run("bin/rq-noise --modality audio --std 0.5 -s 4 %s >%s",
	    tp("one.rqt"), tp("n3")), 0);
	cr_assert(same_file(tp("n1"), tp("n2")), "same seed, other bytes");
	cr_assert(!same_file(tp("n1"), tp("n3")), "other seed, same bytes");
	cr_assert_eq(run("bin/rq-noise --modality audio --std 0.5 -s 3 %s >%s",
	    tp("three.rqt"), tp("n4")), 0);
	a = gather(tp("n1"), "audio", &na);
	b = gather(tp("n4"), "audio", &nb);
	cr_assert_eq(na, 30 * F * T);
	cr_assert_eq(nb, na);
	for (size_t i = 0; i < na; i++)
		cr_assert_eq(a[i], b[i], "chunking changed the noise at %zu", i);
	free(b);
	b = gather(tp("one.rqt"), "audio", &nb);
	for (size_t i = 0; i < na; i++)
		differ += a[i] != b[i];
	cr_assert_gt(differ, (int)na - 5);
	/* the other modality passes through unchanged */
	v = gather(tp("n4"), "visual", &nv);
	v0 = gather(tp("three.rqt"), "visual", &nv0);
	cr_assert_eq(nv, nv0);
	cr_assert_eq(memcmp(v, v0, nv * sizeof *v), 0);
	free(a);
	free(b);
	free(v);
	free(v0);
}

Test(noise_cli, std_zero_and_empirical_std)
{
	size_t n0, n1, n;
	double *a0, *a1, mean = 0, var = 0;
	const double S = 0.75;
	rq_tensor t[64];
	size_t k;
	char buf[64];

	mktmp();
	dataset(tp("big.rqt"), 1000, 400, RQ_F32);  /* 96000 audio values */
	cr_assert_eq(run("bin/rq-noise --modality visual --std 0 %s >%s",
	    tp("big.rqt"), tp("z")), 0);
	a0 = gather(tp("big.rqt"), "visual", &n0);
	a1 = gather(tp("z"), "visual", &n1);
	cr_assert_eq(n0, n1);
	cr_assert_eq(memcmp(a0, a1, n0 * sizeof *a0), 0);
	free(a0);
	free(a1);
	cr_assert_eq(run("bin/rq-noise --modality audio --std %g -s 9 %s >%s", S,
	    tp("big.rqt"), tp("b")), 0);
	a0 = gather(tp("big.rqt"), "audio", &n0);
	a1 = gather(tp("b"), "audio", &n);
	cr_assert_eq(n0, n);
	for (size_t i = 0; i < n; i++)
		mean += a1[i] - a0[i];
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		var += (a1[i] - a0[i] - mean) * (a1[i] - a0[i] - mean);
	var /= (double)(n - 1);
	/* sd of the sample std is about S / sqrt(2n) = 0.0017 */
	cr_assert_lt(fabs(sqrt(var) - S), 0.01, "std %g", sqrt(var));
	cr_assert_lt(fabs(mean), 0.01, "mean %g", mean);
	free(a0);
	free(a1);
	/* metadata records the knob */
	k = load(tp("b"), t, 64);
	cr_assert_eq(k, 12);
	cr_assert_str_eq(t[0].name, "audio");
	cr_assert_not_null(rq_meta_get(&t[0], "noise.std", buf, sizeof buf));
	cr_assert_eq(strtod(buf, NULL), S);
	cr_assert_null(rq_meta_get(&t[1], "noise.std", buf, sizeof buf));
	free_all(t, k);
}

/* -f: corrupted samples and the indicators agree, and only one modality
 * of a sample is ever touched */
Test(noise_cli, fraction_and_indicators)
{
	const size_t N = 600;
	size_t n, k, per[2] = {F * T, C * H * W}, ncor[2] = {0, 0};
	double *clean[2], *noisy[2], *ind[2];
	const char *mod[2] = {"audio", "visual"};
	const char *cl[2] = {"clean.audio", "clean.visual"};
	rq_tensor t[64];

	mktmp();
	dataset(tp("f.rqt"), N, 250, RQ_F32);
	cr_assert_eq(run("bin/rq-noise -f 0.4 --std 1 -s 5 %s >%s", tp("f.rqt"),
	    tp("fo")), 0);
	for (int m = 0; m < 2; m++) {
		clean[m] = gather(tp("f.rqt"), mod[m], &n);
		noisy[m] = gather(tp("fo"), mod[m], &n);
		ind[m] = gather(tp("fo"), cl[m], &n);
		cr_assert_eq(n, N);
	}
	for (size_t i = 0; i < N; i++) {
		cr_assert(ind[0][i] == 1 || ind[1][i] == 1, "sample %zu", i);
		for (int m = 0; m < 2; m++) {
			int same = memcmp(clean[m] + i * per[m], noisy[m] +
			    i * per[m], per[m] * sizeof(double)) == 0;

			cr_assert_eq(same, ind[m][i] == 1, "%s sample %zu",
			    mod[m], i);
			ncor[m] += !same;
		}
	}
	/* 240 expected corrupted, sd 12; modality split 50/50, sd 7.7 */
	cr_assert(fabs((double)(ncor[0] + ncor[1]) - 240) < 50, "%zu %zu",
	    ncor[0], ncor[1]);
	cr_assert(fabs((double)ncor[0] - (ncor[0] + ncor[1]) / 2.0) < 35,
	    "%zu %zu", ncor[0], ncor[1]);
	/* layout: each label record is followed by the two indicators */
	k = load(tp("fo"), t, 64);
	cr_assert_eq(k, 3 * 6);
	for (size_t i = 0; i < k; i += 6) {
		cr_assert_str_eq(t[i + 2].name, "label");
		cr_assert_str_eq(t[i + 3].name, "clean.audio");
		cr_assert_str_eq(t[i + 4].name, "clean.visual");
		cr_assert_eq(t[i + 3].dtype, RQ_U8);
		cr_assert_eq(t[i + 3].dims[0], t[i + 2].dims[0]);
		cr_assert_str_eq(t[i + 5].name, "id");
	}
	free_all(t, k);
	/* fraction 0 leaves everything, fraction 1 corrupts every sample */
	cr_assert_eq(run("bin/rq-noise -f 1 --std 1 -s 5 %s | "
	    "bin/rq-pearson -x clean.audio -y clean.visual >%s", tp("f.rqt"),
	    tp("r1")), 0);
	{
		char *o = slurp(tp("r1"));

		cr_assert_lt(field(o, "r"), -0.999999, "%s", o);
		free(o);
	}
	for (int m = 0; m < 2; m++) {
		free(clean[m]);
		free(noisy[m]);
		free(ind[m]);
	}
}

Test(noise_cli, bad_input)
{
	mktmp();
	dataset(tp("f64.rqt"), 10, 10, RQ_F64);
	cr_assert_eq(run("bin/rq-noise --modality audio --std 1 %s >%s 2>%s",
	    tp("f64.rqt"), tp("out"), tp("err")), 1);
	cr_assert_eq(fsize(tp("out")), 0);
	one_line_error(tp("err"), tp("f64.rqt"), "record 0");
	/* no audio record at all; visual is untouched, so stdout stays empty */
	dataset(tp("noa.rqt"), 10, 5, 0);
	cr_assert_eq(run("bin/rq-noise --modality audio --std 1 %s >%s 2>%s",
	    tp("noa.rqt"), tp("out"), tp("err")), 1);
	cr_assert_eq(fsize(tp("out")), 0);
	one_line_error(tp("err"), tp("noa.rqt"), "audio");
	cr_assert_eq(run("bin/rq-noise -f 0.5 --std 1 %s >%s 2>%s",
	    tp("noa.rqt"), tp("out"), tp("err")), 1);
	cr_assert_eq(fsize(tp("out")), 0);
	/* not a stream */
	cr_assert_eq(run("echo hello | bin/rq-noise --modality audio --std 1 >%s 2>%s",
	    tp("out"), tp("err")), 1);
	cr_assert_eq(fsize(tp("out")), 0);
	one_line_error(tp("err"), "<stdin>", "record 0");
	/* bad std and fraction are usage errors */
	dataset(tp("ok.rqt"), 4, 4, RQ_F32);
	cr_assert_eq(run("bin/rq-noise --modality audio --std -1 %s >%s 2>%s",
	    tp("ok.rqt"), tp("out"), tp("err")), 2);
	cr_assert_eq(fsize(tp("out")), 0);
	one_line_error(tp("err"), "-s", "-1");
	cr_assert_eq(run("bin/rq-noise --modality audio --std 1x %s >%s 2>%s",
	    tp("ok.rqt"), tp("out"), tp("err")), 2);
	cr_assert_eq(run("bin/rq-noise -f 1.5 --std 1 %s >%s 2>%s",
	    tp("ok.rqt"), tp("out"), tp("err")), 2);
	cr_assert_eq(run("bin/rq-noise --modality speech --std 1 %s >%s 2>%s",
	    tp("ok.rqt"), tp("out"), tp("err")), 2);
	cr_assert_eq(fsize(tp("out")), 0);
}
