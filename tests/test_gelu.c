/*
 * test_gelu.c: GELU; golden values from the standard normal table (checks
 * as in layercheck.h).
 */
#include "layercheck.h"


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

Test(gelu, gelu_forward_backward)
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

Test(gelu, gelu_golden)
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
Test(gelu, gelu_sweep_accuracy)
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
Test(gelu, gelu_backward_y_accuracy)
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
