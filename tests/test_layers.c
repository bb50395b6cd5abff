/*
 * test_layers.c: the nn layers of lib/ (linear, layernorm, gelu, mhsa,
 * fusion attention, softmax cross-entropy, dropout).
 *
 * For every layer, with L = sum(dy_fixed * y) accumulated in double:
 *  1. the float forward matches a double-precision reference forward
 *     written here (independently of lib/);
 *  2. the float analytic backward matches central finite differences of
 *     that double reference (h = 1e-6): tight tolerance;
 *  3. the float analytic backward matches central finite differences of
 *     the float forward itself (h = 1e-2): loose tolerance (float noise);
 *  4. gradient buffers are pre-filled with random values and the check
 *     subtracts them, so "backward accumulates" is tested every time.
 * The error measure is max_i |g_i - g_ref_i| / max_i |g_ref_i|.
 * Plus known outputs: golden GELU values (standard normal table), xent of
 * uniform logits = log k, softmax rows sum to 1, LayerNorm output has mean
 * 0 and variance 1, dropout statistics.  Fixed seeds throughout.
 */
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

static void
fill_normal(float *x, size_t n, rq_rng *r, double sd)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(sd * rq_rng_normal(r));
}

static double *
to_d(const float *x, size_t n)
{
	double *d = calloc(n ? n : 1, sizeof(*d));

	cr_assert(d != NULL);
	for (size_t i = 0; i < n; i++)
		d[i] = x[i];
	return d;
}

static float *
falloc(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(*p));

	cr_assert(p != NULL);
	return p;
}

static double *
dalloc(size_t n)
{
	double *p = calloc(n ? n : 1, sizeof(*p));

	cr_assert(p != NULL);
	return p;
}

/* central differences of L with respect to p[0..n) (float parameters) */
static void
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
static void
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
static double
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

static void
check_grad(const char *what, const float *ga, const float *pre,
    const double *g, size_t n, double tol)
{
	double e = grad_err(ga, pre, g, n);

	cr_log_info("%s: rel err %.3g (tol %.0e)", what, e, tol);
	cr_expect(e <= tol, "%s: relative gradient error %g > %g", what, e,
	    tol);
}

/* max |y - yd| / max(|yd|, 1) */
static void
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

static double
dotd(const double *dy, const double *y, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += dy[i] * y[i];
	return s;
}

static double
dotf(const double *dy, const float *y, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += dy[i] * y[i];
	return s;
}

/* prefill a gradient buffer with random values, keep a copy */
static float *
prefill(float *g, size_t n, rq_rng *r)
{
	float *pre = falloc(n);

	fill_normal(g, n, r, 1.0);
	memcpy(pre, g, n * sizeof(*g));
	return pre;
}

/* ---------------------------------------------------------------- linear */

struct lin {
	int n, in, out;
	float *x, *w, *b, *y;
	double *xd, *wd, *bd, *yd, *dy;
};

static void
linear_ref(double *y, const double *x, const double *w, const double *b,
    int n, int in, int out)
{
	for (int i = 0; i < n; i++)
		for (int o = 0; o < out; o++) {
			double s = b ? b[o] : 0;
			for (int j = 0; j < in; j++)
				s += x[i * in + j] * w[o * in + j];
			y[i * out + o] = s;
		}
}

static double
lin_lf(void *c)
{
	struct lin *l = c;

	rq_linear_forward(l->y, l->x, l->w, l->b, l->n, l->in, l->out);
	return dotf(l->dy, l->y, (size_t)l->n * l->out);
}

static double
lin_ld(void *c)
{
	struct lin *l = c;

	linear_ref(l->yd, l->xd, l->wd, l->bd, l->n, l->in, l->out);
	return dotd(l->dy, l->yd, (size_t)l->n * l->out);
}

Test(layers, linear_forward_backward)
{
	struct lin l = { .n = 5, .in = 7, .out = 6 };
	size_t nx = 35, nw = 42, nb = 6, ny = 30;
	float *dx = falloc(nx), *dw = falloc(nw), *db = falloc(nb), *dyf;
	float *px, *pw, *pb;
	double *g = dalloc(nw);
	rq_rng r;

	rq_rng_seed(&r, 1);
	l.x = falloc(nx); l.w = falloc(nw); l.b = falloc(nb); l.y = falloc(ny);
	fill_normal(l.x, nx, &r, 1); fill_normal(l.w, nw, &r, 0.5);
	fill_normal(l.b, nb, &r, 1);
	dyf = falloc(ny); fill_normal(dyf, ny, &r, 1);
	l.dy = to_d(dyf, ny);
	l.xd = to_d(l.x, nx); l.wd = to_d(l.w, nw); l.bd = to_d(l.b, nb);
	l.yd = dalloc(ny);

	/* forward vs the naive double loop, with and without bias */
	lin_lf(&l); lin_ld(&l);
	check_fwd("linear", l.y, l.yd, ny, 1e-6);
	rq_linear_forward(l.y, l.x, l.w, NULL, l.n, l.in, l.out);
	linear_ref(l.yd, l.xd, l.wd, NULL, l.n, l.in, l.out);
	check_fwd("linear nobias", l.y, l.yd, ny, 1e-6);

	px = prefill(dx, nx, &r); pw = prefill(dw, nw, &r);
	pb = prefill(db, nb, &r);
	rq_linear_backward(dx, dw, db, dyf, l.x, l.w, l.n, l.in, l.out);

	fd_double(l.xd, nx, lin_ld, &l, H_REF, g);
	check_grad("linear dx ref", dx, px, g, nx, TOL_REF);
	fd_double(l.wd, nw, lin_ld, &l, H_REF, g);
	check_grad("linear dw ref", dw, pw, g, nw, TOL_REF);
	fd_double(l.bd, nb, lin_ld, &l, H_REF, g);
	check_grad("linear db ref", db, pb, g, nb, TOL_REF);
	fd_float(l.x, nx, lin_lf, &l, H_FLT, g);
	check_grad("linear dx flt", dx, px, g, nx, TOL_FLT);
	fd_float(l.w, nw, lin_lf, &l, H_FLT, g);
	check_grad("linear dw flt", dw, pw, g, nw, TOL_FLT);
	fd_float(l.b, nb, lin_lf, &l, H_FLT, g);
	check_grad("linear db flt", db, pb, g, nb, TOL_FLT);
}

Test(layers, linear_accumulates_and_skips_null)
{
	int n = 4, in = 3, out = 5;
	float x[12], w[15], dy[20], dw1[15] = { 0 }, dw2[15] = { 0 };
	float dx1[12] = { 0 }, dx2[12] = { 0 };
	rq_rng r;

	rq_rng_seed(&r, 2);
	fill_normal(x, 12, &r, 1); fill_normal(w, 15, &r, 1);
	fill_normal(dy, 20, &r, 1);
	rq_linear_backward(dx1, dw1, NULL, dy, x, w, n, in, out);
	rq_linear_backward(dx2, dw2, NULL, dy, x, w, n, in, out);
	rq_linear_backward(NULL, dw2, NULL, dy, x, w, n, in, out);
	rq_linear_backward(dx2, NULL, NULL, dy, x, w, n, in, out);
	for (int i = 0; i < 15; i++)
		cr_expect(fabsf(dw2[i] - 2 * dw1[i]) <= 1e-5f * (1 +
		    fabsf(dw1[i])), "dw[%d] %g != 2 * %g", i, dw2[i], dw1[i]);
	for (int i = 0; i < 12; i++)
		cr_expect(fabsf(dx2[i] - 2 * dx1[i]) <= 1e-5f * (1 +
		    fabsf(dx1[i])), "dx[%d] %g != 2 * %g", i, dx2[i], dx1[i]);
}

/* _set writes dx over whatever it held (NaN here), and still adds to dw */
Test(layers, linear_backward_set_overwrites_dx)
{
	int n = 4, in = 3, out = 5;
	float x[12], w[15], dy[20], dw1[15] = { 0 }, dw2[15] = { 0 };
	float dx1[12] = { 0 }, dx2[12];
	rq_rng r;

	rq_rng_seed(&r, 3);
	fill_normal(x, 12, &r, 1); fill_normal(w, 15, &r, 1);
	fill_normal(dy, 20, &r, 1);
	for (int i = 0; i < 12; i++)
		dx2[i] = NAN;
	rq_linear_backward(dx1, dw1, NULL, dy, x, w, n, in, out);
	rq_linear_backward(NULL, dw2, NULL, dy, x, w, n, in, out);
	rq_linear_backward_set(dx2, dw2, NULL, dy, x, w, n, in, out);
	for (int i = 0; i < 12; i++)
		cr_expect(fabsf(dx2[i] - dx1[i]) <= 1e-6f * (1 + fabsf(dx1[i])),
		    "dx[%d] %g != %g", i, dx2[i], dx1[i]);
	for (int i = 0; i < 15; i++)
		cr_expect(fabsf(dw2[i] - 2 * dw1[i]) <= 1e-5f * (1 +
		    fabsf(dw1[i])), "dw[%d] %g != 2 * %g", i, dw2[i], dw1[i]);
}

/* ------------------------------------------------------------- layernorm */

struct ln {
	int n, c;
	float eps;
	float *x, *g, *b, *y, *mean, *rstd;
	double *xd, *gd, *bd, *yd, *dy;
};

static void
ln_ref(double *y, const double *x, const double *g, const double *b, int n,
    int c, double eps)
{
	for (int i = 0; i < n; i++) {
		double m = 0, v = 0;
		for (int j = 0; j < c; j++)
			m += x[i * c + j];
		m /= c;
		for (int j = 0; j < c; j++)
			v += (x[i * c + j] - m) * (x[i * c + j] - m);
		v /= c;
		for (int j = 0; j < c; j++)
			y[i * c + j] = (x[i * c + j] - m) / sqrt(v + eps) *
			    g[j] + b[j];
	}
}

static double
ln_lf(void *c)
{
	struct ln *l = c;

	rq_layernorm_forward(l->y, l->mean, l->rstd, l->x, l->g, l->b, l->n,
	    l->c, l->eps);
	return dotf(l->dy, l->y, (size_t)l->n * l->c);
}

static double
ln_ld(void *c)
{
	struct ln *l = c;

	ln_ref(l->yd, l->xd, l->gd, l->bd, l->n, l->c, l->eps);
	return dotd(l->dy, l->yd, (size_t)l->n * l->c);
}

/* n rows of c: c = 9 runs one 8-wide block and the scalar tail */
static void
ln_check(int n, int c, uint64_t seed)
{
	struct ln l = { .n = n, .c = c, .eps = 1e-6f };
	size_t nx = (size_t)n * c, nc = (size_t)c;
	float *dx = falloc(nx), *dg = falloc(nc), *db = falloc(nc), *dyf;
	float *px, *pg, *pb;
	double *g = dalloc(nx);
	rq_rng r;

	rq_rng_seed(&r, seed);
	l.x = falloc(nx); l.g = falloc(nc); l.b = falloc(nc);
	l.y = falloc(nx); l.mean = falloc(l.n); l.rstd = falloc(l.n);
	fill_normal(l.x, nx, &r, 2);
	for (int i = 0; i < l.n; i++)  /* an offset row mean */
		for (int j = 0; j < l.c; j++)
			l.x[i * l.c + j] += (float)i;
	fill_normal(l.g, nc, &r, 1); fill_normal(l.b, nc, &r, 1);
	dyf = falloc(nx); fill_normal(dyf, nx, &r, 1);
	l.dy = to_d(dyf, nx);
	l.xd = to_d(l.x, nx); l.gd = to_d(l.g, nc); l.bd = to_d(l.b, nc);
	l.yd = dalloc(nx);

	ln_lf(&l); ln_ld(&l);
	check_fwd("layernorm", l.y, l.yd, nx, 1e-5);

	px = prefill(dx, nx, &r); pg = prefill(dg, nc, &r);
	pb = prefill(db, nc, &r);
	rq_layernorm_backward(dx, dg, db, dyf, l.x, l.g, l.mean, l.rstd, l.n,
	    l.c);

	fd_double(l.xd, nx, ln_ld, &l, H_REF, g);
	check_grad("layernorm dx ref", dx, px, g, nx, TOL_REF);
	fd_double(l.gd, nc, ln_ld, &l, H_REF, g);
	check_grad("layernorm dg ref", dg, pg, g, nc, TOL_REF);
	fd_double(l.bd, nc, ln_ld, &l, H_REF, g);
	check_grad("layernorm db ref", db, pb, g, nc, TOL_REF);
	fd_float(l.x, nx, ln_lf, &l, H_FLT, g);
	check_grad("layernorm dx flt", dx, px, g, nx, TOL_FLT);
	fd_float(l.g, nc, ln_lf, &l, H_FLT, g);
	check_grad("layernorm dg flt", dg, pg, g, nc, TOL_FLT);
	fd_float(l.b, nc, ln_lf, &l, H_FLT, g);
	check_grad("layernorm db flt", db, pb, g, nc, TOL_FLT);
}

Test(layers, layernorm_forward_backward)
{
	ln_check(4, 9, 3);
}

Test(layers, layernorm_forward_backward_wide)
{
	ln_check(3, 20, 31);	/* two blocks and a tail of 4 */
	ln_check(2, 64, 32);	/* the default model's width */
}

Test(layers, layernorm_normalises)
{
	enum { N = 3, C = 64 };
	float x[N * C], y[N * C], g[C], b[C], mean[N], rstd[N];
	rq_rng r;

	rq_rng_seed(&r, 4);
	fill_normal(x, N * C, &r, 3);
	for (int j = 0; j < C; j++) {
		g[j] = 1;
		b[j] = 0;
		x[C + j] += 100;  /* large offset in row 1 */
	}
	rq_layernorm_forward(y, mean, rstd, x, g, b, N, C, 1e-6f);
	for (int i = 0; i < N; i++) {
		double m = 0, v = 0, mx = 0;
		for (int j = 0; j < C; j++) {
			m += y[i * C + j];
			mx += x[i * C + j];
		}
		m /= C;
		mx /= C;
		for (int j = 0; j < C; j++)
			v += (y[i * C + j] - m) * (y[i * C + j] - m);
		v /= C;
		cr_expect(fabs(m) < 1e-5, "row %d mean %g", i, m);
		cr_expect(fabs(v - 1) < 1e-4, "row %d var %g", i, v);
		cr_expect(fabs(mean[i] - mx) < 1e-4 * (1 + fabs(mx)),
		    "row %d mean[] %g vs %g", i, mean[i], mx);
	}
}

/* ------------------------------------------------------------------ gelu */

struct gl {
	size_t n;
	float *x, *y;
	double *xd, *dy;
};

static double
gelu_d(double x)
{
	return 0.5 * x * (1 + erf(x / sqrt(2.0)));
}

static double
gl_lf(void *c)
{
	struct gl *l = c;

	rq_gelu_forward(l->y, l->x, l->n);
	return dotf(l->dy, l->y, l->n);
}

static double
gl_ld(void *c)
{
	struct gl *l = c;
	double s = 0;

	for (size_t i = 0; i < l->n; i++)
		s += l->dy[i] * gelu_d(l->xd[i]);
	return s;
}

Test(layers, gelu_forward_backward)
{
	struct gl l = { .n = 40 };
	float *dx = falloc(l.n), *dyf = falloc(l.n), *px;
	double *g = dalloc(l.n), *yd = dalloc(l.n);
	rq_rng r;

	rq_rng_seed(&r, 5);
	l.x = falloc(l.n); l.y = falloc(l.n);
	fill_normal(l.x, l.n, &r, 2);
	l.x[0] = 0; l.x[1] = -6; l.x[2] = 6;
	fill_normal(dyf, l.n, &r, 1);
	l.dy = to_d(dyf, l.n);
	l.xd = to_d(l.x, l.n);
	gl_lf(&l);
	for (size_t i = 0; i < l.n; i++)
		yd[i] = gelu_d(l.xd[i]);
	check_fwd("gelu", l.y, yd, l.n, 1e-6);

	px = prefill(dx, l.n, &r);
	rq_gelu_backward(dx, dyf, l.x, l.n);
	fd_double(l.xd, l.n, gl_ld, &l, H_REF, g);
	check_grad("gelu dx ref", dx, px, g, l.n, TOL_REF);
	fd_float(l.x, l.n, gl_lf, &l, 1e-3, g);
	check_grad("gelu dx flt", dx, px, g, l.n, TOL_FLT);
}

Test(layers, gelu_golden)
{
	/* x Phi(x) with Phi from the standard normal table */
	static const float x[] = { 0, 1, -1, 2, -2, 3 };
	static const double want[] = { 0, 0.841344746068543,
	    -0.158655253931457, 1.954499736103642, -0.045500263896358,
	    2.995950303866933 };
	float y[6];

	rq_gelu_forward(y, x, 6);
	for (int i = 0; i < 6; i++)
		cr_expect(fabs(y[i] - want[i]) < 1e-6, "gelu(%g) = %.9g, "
		    "want %.9g", x[i], y[i], want[i]);
}

/*
 * The vectorised erf/erfc of gelu.c, swept: 200001 points over [-12.4,
 * 12.4] plus the branch edges, against libm's double erfc: Phi = y/x to
 * 1e-6 relative (gelu.c documents 6e-7), GELU to 1e-6 max(1, |x|)
 * absolute, the derivative to 1e-6 max(1, |d|).  Lengths 1..19 check the
 * padded tail gives the same values as the 8-wide body.
 */
Test(layers, gelu_sweep_accuracy)
{
	size_t n = 200001 + 8, k;
	float *x = falloc(n), *y = falloc(n), *dx = falloc(n), *one = falloc(n);
	float edge[8] = { -0.5f, -0.49999997f, -0.50000006f, 1.4142135f,
	    1.4142137f, -12.4f, 12.4f, 1e-20f };
	double ephi = 0, ey = 0, ed = 0;

	for (k = 0; k < 200001; k++)
		x[k] = (float)(-12.4 + 24.8 * k / 200000.0);
	memcpy(x + 200001, edge, sizeof edge);
	for (k = 0; k < n; k++)
		one[k] = 1;
	rq_gelu_forward(y, x, n);
	rq_gelu_backward(dx, one, x, n);
	for (k = 0; k < n; k++) {
		double X = x[k], ph = 0.5 * erfc(-X / sqrt(2.0));
		double d = ph + X * exp(-X * X / 2) / sqrt(2 * M_PI);

		if (X != 0)
			ephi = fmax(ephi, fabs(y[k] / X / ph - 1));
		ey = fmax(ey, fabs(y[k] - X * ph) / fmax(1, fabs(X)));
		ed = fmax(ed, fabs(dx[k] - d) / fmax(1, fabs(d)));
	}
	cr_log_info("gelu sweep: Phi rel %.3g, y abs %.3g, dy/dx %.3g", ephi,
	    ey, ed);
	cr_expect(ephi <= 1e-6, "gelu: Phi relative error %g", ephi);
	cr_expect(ey <= 1e-6, "gelu: absolute error %g", ey);
	cr_expect(ed <= 1e-6, "gelu: derivative error %g", ed);
	for (size_t len = 1; len < 20; len++) {
		float yy[19], dd[19];

		rq_gelu_forward(yy, x + 1000, len);
		memset(dd, 0, sizeof dd);
		rq_gelu_backward(dd, one, x + 1000, len);
		for (k = 0; k < len; k++) {
			cr_expect(yy[k] == y[1000 + k], "gelu tail %zu", len);
			cr_expect(dd[k] == dx[1000 + k], "gelu' tail %zu", len);
		}
	}
	/* far tails: no NaN from finite input */
	x[0] = -1e30f; x[1] = 1e30f; x[2] = -20; x[3] = 20;
	rq_gelu_forward(y, x, 4);
	cr_expect(y[0] == 0 && y[1] == 1e30f && y[2] == 0 && y[3] == 20,
	    "gelu tails: %g %g %g %g", y[0], y[1], y[2], y[3]);
	free(x); free(y); free(dx); free(one);
}

/*
 * rq_gelu_backward_y (the model's backward, Phi recovered as y / x) over
 * the same sweep plus 0, subnormal-range and far-tail inputs, against
 * libm's double derivative: within 5e-7 max(1, |d|) (gelu.c); it writes
 * dx (a NaN prefill is gone) and every length 1..19 matches the body.
 */
Test(layers, gelu_backward_y_accuracy)
{
	size_t n = 200001 + 8, k;
	float *x = falloc(n), *y = falloc(n), *dx = falloc(n), *one = falloc(n);
	float edge[8] = { 0, 1e-20f, -1e-20f, 1e-38f, -1e30f, 1e30f, -20, 20 };
	double ed = 0;

	for (k = 0; k < 200001; k++)
		x[k] = (float)(-12.4 + 24.8 * k / 200000.0);
	memcpy(x + 200001, edge, sizeof edge);
	for (k = 0; k < n; k++) {
		one[k] = 1;
		dx[k] = NAN;
	}
	rq_gelu_forward(y, x, n);
	rq_gelu_backward_y(dx, one, x, y, n);
	for (k = 0; k < n; k++) {
		double X = x[k], ph = 0.5 * erfc(-X / sqrt(2.0));
		double d = ph + X * exp(-X * X / 2) / sqrt(2 * M_PI);

		if (fabs(X) > 1e29)	/* x phi(x) underflows: d = Phi */
			d = ph;
		cr_assert(isfinite(dx[k]), "gelu'(%g) = %g", X, dx[k]);
		ed = fmax(ed, fabs(dx[k] - d) / fmax(1, fabs(d)));
	}
	cr_log_info("gelu backward_y sweep: dy/dx %.3g", ed);
	cr_expect(ed <= 5e-7, "gelu backward_y: derivative error %g", ed);
	for (size_t len = 1; len < 20; len++) {
		float dd[19];

		rq_gelu_backward_y(dd, one, x + 1000, y + 1000, len);
		for (k = 0; k < len; k++)
			cr_expect(dd[k] == dx[1000 + k], "gelu' tail %zu", len);
	}
	free(x); free(y); free(dx); free(one);
}

/* ------------------------------------------------------------------ mhsa */

struct att {
	int B, T, C, H;
	float *qkv, *out, *att;
	double *qkvd, *outd, *dy;
};

static void
mhsa_ref(double *out, const double *qkv, int B, int T, int C, int H)
{
	int hs = C / H;
	double s = 1 / sqrt((double)hs), a[64];

	for (int b = 0; b < B; b++)
		for (int h = 0; h < H; h++)
			for (int i = 0; i < T; i++) {
				const double *q = qkv + ((size_t)b * T + i) *
				    3 * C + h * hs;
				double m = -INFINITY, z = 0;
				for (int j = 0; j < T; j++) {
					const double *k = qkv + ((size_t)b *
					    T + j) * 3 * C + C + h * hs;
					double d = 0;
					for (int e = 0; e < hs; e++)
						d += q[e] * k[e];
					a[j] = d * s;
					m = fmax(m, a[j]);
				}
				for (int j = 0; j < T; j++)
					z += a[j] = exp(a[j] - m);
				for (int e = 0; e < hs; e++) {
					double o = 0;
					for (int j = 0; j < T; j++)
						o += a[j] / z * qkv[((size_t)b *
						    T + j) * 3 * C + 2 * C +
						    h * hs + e];
					out[((size_t)b * T + i) * C + h * hs +
					    e] = o;
				}
			}
}

static double
att_lf(void *c)
{
	struct att *l = c;

	rq_mhsa_forward(l->out, l->att, l->qkv, l->B, l->T, l->C, l->H);
	return dotf(l->dy, l->out, (size_t)l->B * l->T * l->C);
}

static double
att_ld(void *c)
{
	struct att *l = c;

	mhsa_ref(l->outd, l->qkvd, l->B, l->T, l->C, l->H);
	return dotd(l->dy, l->outd, (size_t)l->B * l->T * l->C);
}

static void
mhsa_case(int B, int T, int C, int H, uint64_t seed)
{
	struct att l = { .B = B, .T = T, .C = C, .H = H };
	size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
	size_t na = (size_t)B * H * T * T;
	float *dq = falloc(nq), *scr = falloc(na), *dyf = falloc(no), *pq;
	double *g = dalloc(nq);
	rq_rng r;

	rq_rng_seed(&r, seed);
	l.qkv = falloc(nq); l.out = falloc(no); l.att = falloc(na);
	/* outputs and scratch start as NaN: beta = 0 must overwrite them */
	for (size_t i = 0; i < na; i++)
		l.att[i] = scr[i] = NAN;
	for (size_t i = 0; i < no; i++)
		l.out[i] = NAN;
	fill_normal(l.qkv, nq, &r, 1.5);
	fill_normal(dyf, no, &r, 1);
	l.dy = to_d(dyf, no);
	l.qkvd = to_d(l.qkv, nq);
	l.outd = dalloc(no);
	att_lf(&l); att_ld(&l);
	check_fwd("mhsa", l.out, l.outd, no, 1e-5);
	for (size_t i = 0; i < (size_t)B * H * T; i++) {
		double s = 0;
		for (int j = 0; j < T; j++)
			s += l.att[i * T + j];
		cr_expect(fabs(s - 1) < 1e-5, "att row %zu sums to %g", i, s);
	}

	pq = prefill(dq, nq, &r);
	rq_mhsa_backward(dq, scr, dyf, l.qkv, l.att, B, T, C, H);
	fd_double(l.qkvd, nq, att_ld, &l, H_REF, g);
	check_grad("mhsa dqkv ref", dq, pq, g, nq, TOL_REF);
	fd_float(l.qkv, nq, att_lf, &l, H_FLT, g);
	check_grad("mhsa dqkv flt", dq, pq, g, nq, TOL_FLT);
	free(dq); free(scr); free(dyf); free(pq); free(g);
	free(l.qkv); free(l.out); free(l.att); free(l.dy); free(l.qkvd);
	free(l.outd);
}

Test(layers, mhsa_forward_backward)
{
	mhsa_case(2, 5, 8, 2, 6);
	mhsa_case(1, 7, 12, 3, 7);
	mhsa_case(2, 1, 4, 1, 8);
	mhsa_case(1, 19, 8, 2, 18);  /* T >= 8: the vector softmax path */
}

/* head sizes that are multiples of 8: attention.c's direct AVX2 path */
Test(layers, mhsa_forward_backward_direct)
{
	mhsa_case(2, 17, 32, 2, 19);	/* the default model's T and hs */
	mhsa_case(1, 3, 8, 1, 20);	/* T < 8: all padding */
	mhsa_case(1, 9, 24, 1, 21);	/* hs 24, T one past a block */
	mhsa_case(1, 24, 16, 2, 22);	/* T a whole number of blocks */
	mhsa_case(1, 41, 16, 2, 23);	/* direct forward, BLAS backward */
}

Test(layers, mhsa_large_scores_stable_direct)
{
	enum { T = 11, C = 16 };
	float qkv[T * 3 * C], out[T * C], att[T * T];

	for (int i = 0; i < T * 3 * C; i++)
		qkv[i] = 300;  /* scores 3.6e5: exp would overflow */
	rq_mhsa_forward(out, att, qkv, 1, T, C, 1);
	for (int i = 0; i < T * C; i++)
		cr_expect(isfinite(out[i]) && fabsf(out[i] - 300) < 1e-3f);
	for (int i = 0; i < T * T; i++)
		cr_expect(fabsf(att[i] - 1.0f / T) < 1e-6f);
}

Test(layers, mhsa_known_outputs)
{
	/* q = 0: uniform attention, out = mean over t of v */
	enum { B = 2, T = 4, C = 6, H = 2 };
	float qkv[B * T * 3 * C], out[B * T * C], att[B * H * T * T];
	rq_rng r;

	rq_rng_seed(&r, 9);
	fill_normal(qkv, B * T * 3 * C, &r, 1);
	for (int i = 0; i < B * T; i++)
		for (int e = 0; e < C; e++)
			qkv[i * 3 * C + e] = 0;
	rq_mhsa_forward(out, att, qkv, B, T, C, H);
	for (int b = 0; b < B; b++)
		for (int e = 0; e < C; e++) {
			double m = 0;
			for (int t = 0; t < T; t++)
				m += qkv[(b * T + t) * 3 * C + 2 * C + e];
			m /= T;
			for (int t = 0; t < T; t++)
				cr_expect(fabs(out[(b * T + t) * C + e] - m) <
				    1e-6, "b %d t %d e %d", b, t, e);
		}
	for (int i = 0; i < B * H * T * T; i++)
		cr_expect(fabsf(att[i] - 0.25f) < 1e-7f);
}

Test(layers, mhsa_large_scores_stable)
{
	enum { T = 3, C = 2 };
	float qkv[T * 3 * C], out[T * C], att[T * T];

	for (int i = 0; i < T * 3 * C; i++)
		qkv[i] = 300;  /* scores ~ 1.3e5: exp would overflow */
	rq_mhsa_forward(out, att, qkv, 1, T, C, 1);
	for (int i = 0; i < T * C; i++)
		cr_expect(isfinite(out[i]) && fabsf(out[i] - 300) < 1e-3f);
}

/* ---------------------------------------------------------------- fusion */

struct fus {
	int B, T, C;
	float p;
	uint8_t *mask;
	float *q, *k, *v, *o, *a, *ad;
	double *qd, *kd, *vd, *od, *dy;
};

static void
fusion_ref(double *o, const double *q, const double *k, const double *v,
    const uint8_t *mask, double p, int B, int T, int C)
{
	double *a = dalloc(T), s = 1 / sqrt((double)C);

	for (int b = 0; b < B; b++) {
		double m = -INFINITY, z = 0;
		for (int t = 0; t < T; t++) {
			double d = 0;
			for (int e = 0; e < C; e++)
				d += q[e] * k[((size_t)b * T + t) * C + e];
			a[t] = d * s;
			m = fmax(m, a[t]);
		}
		for (int t = 0; t < T; t++)
			z += a[t] = exp(a[t] - m);
		for (int t = 0; t < T; t++)
			a[t] = a[t] / z * (mask ? mask[b * T + t] / (1 - p) :
			    1);
		for (int e = 0; e < C; e++) {
			double x = 0;
			for (int t = 0; t < T; t++)
				x += a[t] * v[((size_t)b * T + t) * C + e];
			o[(size_t)b * C + e] = x;
		}
	}
	free(a);
}

static double
fus_lf(void *c)
{
	struct fus *l = c;

	rq_fusion_attn_forward(l->o, l->a, l->ad, l->q, l->k, l->v, l->mask,
	    l->p, l->B, l->T, l->C);
	return dotf(l->dy, l->o, (size_t)l->B * l->C);
}

static double
fus_ld(void *c)
{
	struct fus *l = c;

	fusion_ref(l->od, l->qd, l->kd, l->vd, l->mask, l->p, l->B, l->T,
	    l->C);
	return dotd(l->dy, l->od, (size_t)l->B * l->C);
}

static void
fusion_case(int B, int T, int C, int masked, uint64_t seed)
{
	struct fus l = { .B = B, .T = T, .C = C, .p = masked ? 0.25f : 0 };
	size_t nk = (size_t)B * T * C, no = (size_t)B * C, na = (size_t)B * T;
	float *dq = falloc(C), *dk = falloc(nk), *dv = falloc(nk);
	float *dyf = falloc(no), *pq, *pk, *pv;
	double *g = dalloc(nk);
	rq_rng r;

	rq_rng_seed(&r, seed);
	l.q = falloc(C); l.k = falloc(nk); l.v = falloc(nk);
	l.o = falloc(no); l.a = falloc(na);
	l.ad = masked ? falloc(na) : l.a;
	for (size_t i = 0; i < na; i++)  /* outputs must be overwritten */
		l.a[i] = l.ad[i] = NAN;
	for (size_t i = 0; i < no; i++)
		l.o[i] = NAN;
	fill_normal(l.q, C, &r, 2); fill_normal(l.k, nk, &r, 1);
	fill_normal(l.v, nk, &r, 1);
	if (masked) {
		l.mask = calloc(na, 1);
		for (size_t i = 0; i < na; i++)
			l.mask[i] = i % 3 != 1;
	}
	fill_normal(dyf, no, &r, 1);
	l.dy = to_d(dyf, no);
	l.qd = to_d(l.q, C); l.kd = to_d(l.k, nk); l.vd = to_d(l.v, nk);
	l.od = dalloc(no);
	fus_lf(&l); fus_ld(&l);
	check_fwd("fusion", l.o, l.od, no, 1e-5);
	for (int b = 0; b < B; b++) {
		double s = 0;
		for (int t = 0; t < T; t++)
			s += l.a[b * T + t];
		cr_expect(fabs(s - 1) < 1e-5, "fusion a row %d sums to %g", b,
		    s);
	}

	pq = prefill(dq, C, &r); pk = prefill(dk, nk, &r);
	pv = prefill(dv, nk, &r);
	rq_fusion_attn_backward(dq, dk, dv, dyf, l.a, l.ad, l.q, l.k, l.v,
	    l.mask, l.p, B, T, C);
	fd_double(l.qd, C, fus_ld, &l, H_REF, g);
	check_grad("fusion dq ref", dq, pq, g, C, TOL_REF);
	fd_double(l.kd, nk, fus_ld, &l, H_REF, g);
	check_grad("fusion dk ref", dk, pk, g, nk, TOL_REF);
	fd_double(l.vd, nk, fus_ld, &l, H_REF, g);
	check_grad("fusion dv ref", dv, pv, g, nk, TOL_REF);
	fd_float(l.q, C, fus_lf, &l, H_FLT, g);
	check_grad("fusion dq flt", dq, pq, g, C, TOL_FLT);
	fd_float(l.k, nk, fus_lf, &l, H_FLT, g);
	check_grad("fusion dk flt", dk, pk, g, nk, TOL_FLT);
	fd_float(l.v, nk, fus_lf, &l, H_FLT, g);
	check_grad("fusion dv flt", dv, pv, g, nk, TOL_FLT);

	/* NULL gradients are skipped and do not change the others */
	memcpy(pk, dk, nk * sizeof(*dk));
	rq_fusion_attn_backward(NULL, NULL, dv, dyf, l.a, l.ad, l.q, l.k,
	    l.v, l.mask, l.p, B, T, C);
	cr_expect(memcmp(pk, dk, nk * sizeof(*dk)) == 0);
}

Test(layers, fusion_forward_backward)
{
	fusion_case(3, 6, 8, 0, 10);
	fusion_case(2, 9, 5, 1, 11);
	fusion_case(1, 600, 3, 1, 19);  /* T above fusion.c's chunk of 512 */
}

Test(layers, fusion_zero_query_uniform)
{
	enum { B = 2, T = 5, C = 4 };
	float q[C] = { 0 }, k[B * T * C], v[B * T * C], o[B * C], a[B * T];
	rq_rng r;

	rq_rng_seed(&r, 12);
	fill_normal(k, B * T * C, &r, 1);
	fill_normal(v, B * T * C, &r, 1);
	rq_fusion_attn_forward(o, a, a, q, k, v, NULL, 0, B, T, C);
	for (int b = 0; b < B; b++)
		for (int e = 0; e < C; e++) {
			double m = 0;
			for (int t = 0; t < T; t++)
				m += v[(b * T + t) * C + e];
			cr_expect(fabs(o[b * C + e] - m / T) < 1e-6);
		}
}

/* ------------------------------------------------------------------ xent */

struct xe {
	int n, k;
	int32_t *y;
	float *z, *p;
	double *zd;
};

static double
xe_lf(void *c)
{
	struct xe *l = c;

	return rq_xent_forward(l->p, l->z, l->y, l->n, l->k);
}

static double
xe_ld(void *c)
{
	struct xe *l = c;
	double s = 0;

	for (int i = 0; i < l->n; i++) {
		double z = 0;
		for (int j = 0; j < l->k; j++)
			z += exp(l->zd[i * l->k + j]);
		s += log(z) - l->zd[i * l->k + l->y[i]];
	}
	return s / l->n;
}

Test(layers, xent_forward_backward)
{
	struct xe l = { .n = 5, .k = 7 };
	size_t nz = 35;
	int32_t y[5] = { 0, 6, 3, 3, 1 };
	float *dz = falloc(nz), *pz;
	double *g = dalloc(nz), L, Ld;
	rq_rng r;

	rq_rng_seed(&r, 13);
	l.y = y;
	l.z = falloc(nz); l.p = falloc(nz);
	fill_normal(l.z, nz, &r, 2);
	l.zd = to_d(l.z, nz);
	L = xe_lf(&l);
	Ld = xe_ld(&l);
	cr_expect(fabs(L - Ld) < 1e-6 * (1 + Ld), "xent %g vs %g", L, Ld);
	for (int i = 0; i < l.n; i++) {
		double s = 0;
		for (int j = 0; j < l.k; j++)
			s += l.p[i * l.k + j];
		cr_expect(fabs(s - 1) < 1e-6, "probs row %d sums to %g", i, s);
	}
	pz = prefill(dz, nz, &r);
	rq_xent_backward(dz, l.p, l.y, l.n, l.k, 1.0f / l.n);
	fd_double(l.zd, nz, xe_ld, &l, H_REF, g);
	check_grad("xent dlogits ref", dz, pz, g, nz, TOL_REF);
	fd_float(l.z, nz, xe_lf, &l, H_FLT, g);
	check_grad("xent dlogits flt", dz, pz, g, nz, TOL_FLT);
}

Test(layers, xent_known_values)
{
	float z[2 * 10], p[2 * 10];
	int32_t y[2] = { 3, 9 };
	float big[2] = { 1000, 0 }, pb[2];
	int32_t y0 = 0, y1 = 1;
	double L;

	for (int i = 0; i < 20; i++)
		z[i] = i < 10 ? 0.0f : 5.0f;  /* two uniform rows */
	L = rq_xent_forward(p, z, y, 2, 10);
	cr_expect(fabs(L - log(10.0)) < 1e-6, "uniform xent %g != log 10", L);
	for (int i = 0; i < 20; i++)
		cr_expect(fabsf(p[i] - 0.1f) < 1e-7f);
	/* stability: exp(1000) overflows in float and double */
	L = rq_xent_forward(pb, big, &y0, 1, 2);
	cr_expect(isfinite(L) && fabs(L) < 1e-12, "xent big right %g", L);
	L = rq_xent_forward(pb, big, &y1, 1, 2);
	cr_expect(fabs(L - 1000) < 1e-9, "xent big wrong %g", L);
}

/* --------------------------------------------------------------- dropout */

Test(layers, dropout_identity_at_zero)
{
	float x[100], y[100], dx[100] = { 0 };
	uint8_t m[100];
	rq_rng r, r0;

	rq_rng_seed(&r, 14);
	fill_normal(x, 100, &r, 1);
	r0 = r;
	memset(m, 7, sizeof(m));
	rq_dropout_forward(y, m, x, 100, 0, &r);
	cr_expect(memcmp(x, y, sizeof(x)) == 0);
	for (int i = 0; i < 100; i++)
		cr_expect(m[i] == 1);
	cr_expect(memcmp(&r, &r0, sizeof(r)) == 0, "p = 0 drew numbers");
	rq_dropout_backward(dx, x, m, 100, 0);
	rq_dropout_backward(dx, x, m, 100, 0);
	for (int i = 0; i < 100; i++)
		cr_expect(dx[i] == 2 * x[i]);
}

Test(layers, dropout_statistics_and_backward)
{
	enum { N = 100000 };
	float *x = falloc(N), *y = falloc(N), *y2 = falloc(N), *dx = falloc(N);
	float *dy = falloc(N);
	uint8_t *m = malloc(N), *m2 = malloc(N);
	double kept = 0, mean = 0, p = 0.3, sd = sqrt(p * (1 - p) / N);
	rq_rng r;

	for (int i = 0; i < N; i++)
		x[i] = 1;
	rq_rng_seed(&r, 15);
	rq_dropout_forward(y, m, x, N, (float)p, &r);
	for (int i = 0; i < N; i++) {
		kept += m[i];
		mean += y[i];
		cr_assert(m[i] <= 1);
		cr_assert(y[i] == (m[i] ? x[i] / (1 - (float)p) : 0));
	}
	kept /= N;
	mean /= N;
	cr_expect(fabs(kept - (1 - p)) < 5 * sd, "kept %g", kept);
	cr_expect(fabs(mean - 1) < 5 * sd / (1 - p), "mean %g", mean);
	/* same seed, same mask; another seed, another mask */
	rq_rng_seed(&r, 15);
	rq_dropout_forward(y2, m2, x, N, (float)p, &r);
	cr_expect(memcmp(m, m2, N) == 0);
	rq_rng_seed(&r, 16);
	rq_dropout_forward(y2, m2, x, N, (float)p, &r);
	cr_expect(memcmp(m, m2, N) != 0);
	/* backward: dx += dy mask / (1 - p); L = sum dy y is linear in x */
	rq_rng_seed(&r, 17);
	fill_normal(dy, N, &r, 1);
	for (int i = 0; i < N; i++)
		dx[i] = 0.5f;
	rq_dropout_backward(dx, dy, m, N, (float)p);
	for (int i = 0; i < N; i++)
		cr_assert(fabsf(dx[i] - 0.5f - (m[i] ? dy[i] / 0.7f : 0)) <
		    1e-6f * (1 + fabsf(dy[i])), "dx[%d]", i);
	/* in place */
	rq_rng_seed(&r, 15);
	rq_dropout_forward(x, m2, x, N, (float)p, &r);
	cr_expect(memcmp(x, y, N * sizeof(*x)) == 0);
	free(x); free(y); free(y2); free(dx); free(dy); free(m); free(m2);
}
