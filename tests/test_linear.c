/*
 * test_linear.c: the linear layer (y = x W^T + b) (checks as in
 * layercheck.h).
 */
#include "layercheck.h"


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

Test(linear, linear_forward_backward)
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

Test(linear, linear_accumulates_and_skips_null)
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
Test(linear, linear_backward_set_overwrites_dx)
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

/*
 * The fused forms against the unfused calls they replace in the model's
 * block (same kernels, same elementwise code: equal bit for bit), at the
 * default model's MLP shape and at odd ones (edge tiles, K in two blocks).
 */
Test(linear, fused_forms_match_unfused)
{
	static const int sh[][3] = { { 1088, 64, 256 }, { 37, 29, 53 },
	    { 50, 300, 70 } };
	rq_rng r;

	rq_rng_seed(&r, 5);
	for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++) {
		int n = sh[s][0], in = sh[s][1], out = sh[s][2];
		size_t ni = (size_t)n * in, no = (size_t)n * out;
		size_t nw = (size_t)in * out;
		float *x = malloc(sizeof(float) * ni);
		float *w = malloc(sizeof(float) * nw);
		float *b = malloc(sizeof(float) * out);
		float *res = malloc(sizeof(float) * no);
		float *y1 = malloc(sizeof(float) * no);
		float *y2 = malloc(sizeof(float) * no);
		float *g1 = malloc(sizeof(float) * no);
		float *g2 = malloc(sizeof(float) * no);
		float *xp = malloc(sizeof(float) * ni);
		float *xg = malloc(sizeof(float) * ni);
		float *dy = malloc(sizeof(float) * no);
		float *dt = malloc(sizeof(float) * ni);
		float *dx1 = malloc(sizeof(float) * ni);
		float *dx2 = malloc(sizeof(float) * ni);
		float *dw1 = calloc(nw, sizeof(float));
		float *dw2 = calloc(nw, sizeof(float));
		float *db1 = calloc((size_t)out, sizeof(float));
		float *db2 = calloc((size_t)out, sizeof(float));

		cr_assert(x && w && b && res && y1 && y2 && g1 && g2 && xp &&
		    xg && dy && dt && dx1 && dx2 && dw1 && dw2 && db1 && db2);
		fill_normal(x, ni, &r, 1);
		fill_normal(w, nw, &r, 0.2);
		fill_normal(b, (size_t)out, &r, 1);
		fill_normal(res, no, &r, 1);
		fill_normal(dy, no, &r, 1);
		fill_normal(xp, ni, &r, 2);
		rq_gelu_forward(xg, xp, ni);
		/* y = x W^T + b + res */
		rq_linear_forward(y1, x, w, b, n, in, out);
		for (size_t i = 0; i < no; i++)
			y1[i] += res[i];
		rq_linear_forward_add(y2, x, w, b, res, n, in, out);
		cr_assert(memcmp(y1, y2, sizeof(float) * no) == 0,
		    "forward_add %dx%dx%d", n, in, out);
		/* h = x W^T + b, g = GELU(h) */
		rq_linear_forward(y1, x, w, b, n, in, out);
		rq_gelu_forward(g1, y1, no);
		rq_linear_forward_gelu(y2, g2, x, w, b, n, in, out);
		cr_assert(memcmp(y1, y2, sizeof(float) * no) == 0 &&
		    memcmp(g1, g2, sizeof(float) * no) == 0,
		    "forward_gelu %dx%dx%d", n, in, out);
		/* backward through the linear layer and the GELU before it */
		rq_linear_backward_set(dt, dw1, db1, dy, xg, w, n, in, out);
		rq_gelu_backward_y(dx1, dt, xp, xg, ni);
		for (size_t i = 0; i < ni; i++)
			dx2[i] = NAN;
		rq_linear_backward_gelu(dx2, dw2, db2, dy, xg, xp, w, n, in,
		    out);
		cr_assert(memcmp(dx1, dx2, sizeof(float) * ni) == 0,
		    "backward_gelu dx %dx%dx%d", n, in, out);
		cr_assert(memcmp(dw1, dw2, sizeof(float) * nw) == 0 &&
		    memcmp(db1, db2, sizeof(float) * out) == 0,
		    "backward_gelu dw, db %dx%dx%d", n, in, out);
		/* and dx is GELU' times dy W, not dy W */
		cr_assert(memcmp(dx1, dt, sizeof(float) * ni) != 0);
		free(x); free(w); free(b); free(res); free(y1); free(y2);
		free(g1); free(g2); free(xp); free(xg); free(dy); free(dt);
		free(dx1); free(dx2); free(dw1); free(dw2); free(db1); free(db2);
	}
}
