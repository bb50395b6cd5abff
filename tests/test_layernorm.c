/*
 * test_layernorm.c: LayerNorm; its output has mean 0 and variance 1
 * (checks as in layercheck.h).
 */
#include "layercheck.h"


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

Test(layernorm, layernorm_forward_backward)
{
	ln_check(4, 9, 3);
}

Test(layernorm, layernorm_forward_backward_wide)
{
	ln_check(3, 20, 31);	/* two blocks and a tail of 4 */
	ln_check(2, 64, 32);	/* the default model's width */
}

Test(layernorm, layernorm_normalises)
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
