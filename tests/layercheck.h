/*
 * layercheck.h: what the layer tests (tests/test_<layer>.c) share.
 *
 * For every layer, with L = sum(dy_fixed * y) accumulated in double:
 *  1. the float forward matches a double-precision reference forward
 *     written in the test (independently of lib/);
 *  2. the float analytic backward matches central finite differences of
 *     that double reference (h = 1e-6): tight tolerance;
 *  3. the float analytic backward matches central finite differences of
 *     the float forward itself (h = 1e-2): loose tolerance (float noise);
 *  4. gradient buffers are pre-filled with random values and the check
 *     subtracts them, so "backward accumulates" is tested every time.
 * The error measure is max_i |g_i - g_ref_i| / max_i |g_ref_i|.
 */
#ifndef LAYERCHECK_H
#define LAYERCHECK_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rq.h"


#define TOL_REF 1e-5   /* float analytic vs FD of the double reference */
#define TOL_FLT 1e-3   /* float analytic vs FD of the float forward */
#define H_REF 1e-6
#define H_FLT 1e-2

typedef double (*lossf)(void *ctx);

static inline void
fill_normal(float *x, size_t n, rq_rng *r, double sd)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(sd * rq_rng_normal(r));
}

static inline double *
to_d(const float *x, size_t n)
{
	double *d = calloc(n ? n : 1, sizeof(*d));

	cr_assert(d != NULL);
	for (size_t i = 0; i < n; i++)
		d[i] = x[i];
	return d;
}

static inline float *
falloc(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(*p));

	cr_assert(p != NULL);
	return p;
}

static inline double *
dalloc(size_t n)
{
	double *p = calloc(n ? n : 1, sizeof(*p));

	cr_assert(p != NULL);
	return p;
}

/* central differences of L with respect to p[0..n) (float parameters) */
static inline void
fd_float(float *p, size_t n, lossf L, void *ctx, double h, double *g)
{
	for (size_t i = 0; i < n; i++) {
		float s = p[i];
		double lp, lm;

		p[i] = (float)(s + h);
		lp = L(ctx);
		p[i] = (float)(s - h);
		lm = L(ctx);
		p[i] = s;
		g[i] = (lp - lm) / (2 * h);
	}
}

/* central differences of L with respect to p[0..n) (double parameters) */
static inline void
fd_double(double *p, size_t n, lossf L, void *ctx, double h, double *g)
{
	for (size_t i = 0; i < n; i++) {
		double s = p[i], lp, lm;

		p[i] = s + h;
		lp = L(ctx);
		p[i] = s - h;
		lm = L(ctx);
		p[i] = s;
		g[i] = (lp - lm) / (2 * h);
	}
}

/* max |ga - pre - g| / max |g|; ga was pre-filled with pre */
static inline double
grad_err(const float *ga, const float *pre, const double *g, size_t n)
{
	double e = 0, m = 0;

	for (size_t i = 0; i < n; i++) {
		double a = (double)ga[i] - (pre ? pre[i] : 0);
		e = fmax(e, fabs(a - g[i]));
		m = fmax(m, fabs(g[i]));
	}
	return m > 0 ? e / m : e;
}

static inline void
check_grad(const char *what, const float *ga, const float *pre,
    const double *g, size_t n, double tol)
{
	double e = grad_err(ga, pre, g, n);

	cr_log_info("%s: rel err %.3g (tol %.0e)", what, e, tol);
	cr_expect(e <= tol, "%s: relative gradient error %g > %g", what, e,
	    tol);
}

/* max |y - yd| / max(|yd|, 1) */
static inline void
check_fwd(const char *what, const float *y, const double *yd, size_t n,
    double tol)
{
	double e = 0, m = 1;

	for (size_t i = 0; i < n; i++) {
		e = fmax(e, fabs((double)y[i] - yd[i]));
		m = fmax(m, fabs(yd[i]));
	}
	cr_expect(e / m <= tol, "%s: forward error %g > %g", what, e / m, tol);
}

static inline double
dotd(const double *dy, const double *y, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += dy[i] * y[i];
	return s;
}

static inline double
dotf(const double *dy, const float *y, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += dy[i] * y[i];
	return s;
}

/* prefill a gradient buffer with random values, keep a copy */
static inline float *
prefill(float *g, size_t n, rq_rng *r)
{
	float *pre = falloc(n);

	fill_normal(g, n, r, 1.0);
	memcpy(pre, g, n * sizeof(*g));
	return pre;
}

#endif /* LAYERCHECK_H */
