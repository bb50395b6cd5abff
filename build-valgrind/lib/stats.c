/*
 * stats.c: Pearson and Spearman correlation with a two-sided p-value and
 * a Fisher-z confidence interval.
 *
 * For n pairs (x_i, y_i):
 *   r = sum (x - mx)(y - my) / sqrt(sum (x - mx)^2 sum (y - my)^2),
 *   computed in two passes (means first) in double;
 *   t = r sqrt((n - 2) / (1 - r^2)), p = 2 Q_t(|t|; n - 2) with Q_t the
 *   upper tail of Student's t (gsl_cdf_tdist_Q); |r| = 1 gives p = 0;
 *   z = atanh r, h = Phi^-1((1 + level) / 2) / sqrt(n - 3),
 *   ci = [tanh(z - h), tanh(z + h)]; n = 3 gives [-1, 1].
 * Spearman is Pearson on ranks, ties getting the mean of the ranks they
 * span; p and the interval use the same formulas (as scipy.stats does for
 * the p-value; the interval is the plain Fisher one).
 */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>

#include "rq.h"

/* index of the first non-finite element of x[0..n), or n */
static size_t
first_bad(const double *x, size_t n)
{
	size_t i;

	for (i = 0; i < n && isfinite(x[i]); i++)
		;
	return i;
}

static int
check(const double *x, const double *y, size_t n, double level,
    rq_corr *out)
{
	size_t bx, by;

	out->n = n;
	out->r = out->p = out->t = out->ci_lo = out->ci_hi = NAN;
	out->bad = 0;
	out->bad_y = 0;
	if (!(level > 0 && level < 1))
		return RQ_EINVAL;
	bx = first_bad(x, n);
	by = first_bad(y, n);
	if (bx < n || by < n) {
		out->bad_y = by < bx;
		out->bad = by < bx ? by : bx;
		return RQ_ENUM;
	}
	if (n < 3)
		return RQ_ERANGE;
	return RQ_OK;
}

/* r, t, p and the interval from r; x and y already checked */
static int
finish(double sxx, double syy, double sxy, double level, rq_corr *out)
{
	double r, df = (double)out->n - 2, h;

	if (sxx <= 0 || syy <= 0)
		return RQ_EINVAL;
	r = sxy / sqrt(sxx * syy);
	r = r > 1 ? 1 : r < -1 ? -1 : r;
	out->r = r;
	if (fabs(r) == 1) {
		out->t = copysign(INFINITY, r);
		out->p = 0;
	} else {
		out->t = r * sqrt(df / (1 - r * r));
		out->p = 2 * gsl_cdf_tdist_Q(fabs(out->t), df);
		if (out->p > 1)
			out->p = 1;
	}
	if (out->n <= 3) {
		out->ci_lo = -1;
		out->ci_hi = 1;
	} else if (fabs(r) == 1) {
		out->ci_lo = out->ci_hi = r;
	} else {
		h = gsl_cdf_ugaussian_Pinv((1 + level) / 2) /
		    sqrt((double)out->n - 3);
		out->ci_lo = tanh(atanh(r) - h);
		out->ci_hi = tanh(atanh(r) + h);
	}
	return RQ_OK;
}

int
rq_pearson(const double *x, const double *y, size_t n, double level,
    rq_corr *out)
{
	double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
	int rc;

	if ((rc = check(x, y, n, level, out)) != RQ_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double dx = x[i] - mx, dy = y[i] - my;

		sxx += dx * dx;
		syy += dy * dy;
		sxy += dx * dy;
	}
	/* a constant column can leave rounding dust: compare to the scale */
	if (sxx <= 1e-28 * n * (mx * mx) || syy <= 1e-28 * n * (my * my))
		return RQ_EINVAL;
	return finish(sxx, syy, sxy, level, out);
}

struct keyed {
	double v;
	size_t i;
};

static int
cmp_keyed(const void *a, const void *b)
{
	const struct keyed *u = a, *w = b;

	if (u->v != w->v)
		return u->v < w->v ? -1 : 1;
	return u->i < w->i ? -1 : u->i > w->i;
}

/* r[i] = 1-based rank of x[i], ties averaged; x finite */
int
rq_rank(double *r, const double *x, size_t n)
{
	struct keyed *k;

	if (n > SIZE_MAX / sizeof *k)
		return RQ_ENOMEM;
	if ((k = malloc((n ? n : 1) * sizeof *k)) == NULL)
		return RQ_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		k[i].v = x[i];
		k[i].i = i;
	}
	qsort(k, n, sizeof *k, cmp_keyed);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && k[j].v == k[i].v)
			j++;
		/* positions i..j-1 hold ranks i+1..j: mean (i + 1 + j) / 2 */
		for (size_t m = i; m < j; m++)
			r[k[m].i] = 0.5 * (double)(i + 1 + j);
		i = j;
	}
	free(k);
	return RQ_OK;
}

int
rq_spearman(const double *x, const double *y, size_t n, double level,
    rq_corr *out)
{
	double *rx, *ry;
	int rc;

	if ((rc = check(x, y, n, level, out)) != RQ_OK)
		return rc;
	if (n > SIZE_MAX / 2 / sizeof *rx ||
	    (rx = malloc(2 * n * sizeof *rx)) == NULL)
		return RQ_ENOMEM;
	ry = rx + n;
	if ((rc = rq_rank(rx, x, n)) == RQ_OK &&
	    (rc = rq_rank(ry, y, n)) == RQ_OK)
		rc = rq_pearson(rx, ry, n, level, out);
	free(rx);
	return rc;
}
