/*
 * test_stats.c: lib/stats.c against SciPy golden values
 * (testdata/pearson-golden.tsv, made by testdata/gen-pearson.py).  The
 * programs rq-pearson and rq-noise are tested in tests/stats-cli.t.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
