/*
 * test_mut.c: MuT (rq-train -m mut, mut-rq).  The crossmodal layer
 * (mut.c) against a double reference written here and finite
 * differences (layercheck.h); the whole model's gradient, every tensor,
 * with R rotated; a falling loss and a held-out accuracy on an easy
 * set; the RollingQ site (query, shares, key means); the parameter and
 * attention counts; the sizes travelling in a checkpoint.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layercheck.h"
#include "tinymodel.h"

/* ---- the crossmodal layer ---- */

/* the parameter groups in the order mut.c documents, sizes in d, hd */
static void
xoffs(size_t o[17], size_t d, size_t hd)
{
	size_t n[16] = { d, d, d * d, d, d * d, d, d * d, d, d * d, d, d, d,
	    hd * d, hd, d * hd, d };

	o[0] = 0;
	for (int i = 0; i < 16; i++)
		o[i + 1] = o[i] + n[i];
}

static void
ln_d(double *y, const double *x, const double *g, const double *b, size_t n,
    size_t c, double eps)
{
	for (size_t i = 0; i < n; i++) {
		const double *r = x + i * c;
		double mu = 0, var = 0;
		for (size_t j = 0; j < c; j++)
			mu += r[j];
		mu /= (double)c;
		for (size_t j = 0; j < c; j++)
			var += (r[j] - mu) * (r[j] - mu);
		var /= (double)c;
		for (size_t j = 0; j < c; j++)
			y[i * c + j] = (r[j] - mu) / sqrt(var + eps) * g[j] + b[j];
	}
}

/* y[n,out] = x W^T + b */
static void
lin_d(double *y, const double *x, const double *w, const double *b, size_t n,
    size_t in, size_t out)
{
	for (size_t i = 0; i < n; i++)
		for (size_t o = 0; o < out; o++) {
			double s = b[o];
			for (size_t j = 0; j < in; j++)
				s += x[i * in + j] * w[o * in + j];
			y[i * out + o] = s;
		}
}

static void
mha_d(double *out, const double *q, const double *k, const double *v,
    size_t B, size_t Nq, size_t Nk, size_t C, size_t H)
{
	size_t D = C / H;
	double *a = dalloc(Nk);

	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < H; h++)
			for (size_t i = 0; i < Nq; i++) {
				double mx = -INFINITY, s = 0;
				const double *qi = q + (b * Nq + i) * C + h * D;
				for (size_t j = 0; j < Nk; j++) {
					const double *kj = k + (b * Nk + j) * C + h * D;
					double t = 0;
					for (size_t u = 0; u < D; u++)
						t += qi[u] * kj[u];
					a[j] = t / sqrt((double)D);
					mx = fmax(mx, a[j]);
				}
				for (size_t j = 0; j < Nk; j++)
					s += a[j] = exp(a[j] - mx);
				for (size_t u = 0; u < D; u++) {
					double t = 0;
					for (size_t j = 0; j < Nk; j++)
						t += a[j] / s * v[(b * Nk + j) * C + h * D + u];
					out[(b * Nq + i) * C + h * D + u] = t;
				}
			}
	free(a);
}

struct xl {
	int B, Nx, Ny, d, H, hd;
	size_t nx, ny, np;
	float *x, *s, *p, *out, *buf;
	double *xd, *sd, *pd, *outd, *dy;
	rq_xmod a;
};

static void
xmod_ref(struct xl *l)
{
	size_t o[17], d = (size_t)l->d, hd = (size_t)l->hd;
	size_t X = (size_t)l->B * l->Nx, Y = (size_t)l->B * l->Ny;
	const double *p = l->pd;
	double *xn = dalloc(X * d), *sn = dalloc(Y * d), *q = dalloc(X * d);
	double *k = dalloc(Y * d), *v = dalloc(Y * d), *c = dalloc(X * d);
	double *x1 = dalloc(X * d), *x2 = dalloc(X * d), *h = dalloc(X * hd);

	xoffs(o, d, hd);
	ln_d(xn, l->xd, p + o[0], p + o[1], X, d, 1e-5);
	ln_d(sn, l->sd, p + o[0], p + o[1], Y, d, 1e-5);
	lin_d(q, xn, p + o[2], p + o[3], X, d, d);
	lin_d(k, sn, p + o[4], p + o[5], Y, d, d);
	lin_d(v, sn, p + o[6], p + o[7], Y, d, d);
	mha_d(c, q, k, v, (size_t)l->B, (size_t)l->Nx, (size_t)l->Ny, d,
	    (size_t)l->H);
	lin_d(x1, c, p + o[8], p + o[9], X, d, d);
	for (size_t i = 0; i < X * d; i++)
		x1[i] += l->xd[i];
	ln_d(x2, x1, p + o[10], p + o[11], X, d, 1e-5);
	lin_d(h, x2, p + o[12], p + o[13], X, d, hd);
	for (size_t i = 0; i < X * hd; i++)
		h[i] = h[i] > 0 ? h[i] : 0;
	lin_d(l->outd, h, p + o[14], p + o[15], X, hd, d);
	for (size_t i = 0; i < X * d; i++)
		l->outd[i] += x1[i];
	free(xn), free(sn), free(q), free(k), free(v), free(c), free(x1);
	free(x2), free(h);
}

static double
xl_ld(void *ctx)
{
	struct xl *l = ctx;

	xmod_ref(l);
	return dotd(l->dy, l->outd, l->nx);
}

static double
xl_lf(void *ctx)
{
	struct xl *l = ctx;

	rq_xmod_forward(&l->a, l->out, l->x, l->s, l->p);
	return dotf(l->dy, l->out, l->nx);
}

Test(mut, xmod_forward_backward)
{
	struct xl l = { .B = 2, .Nx = 3, .Ny = 5, .d = 8, .H = 2, .hd = 12 };
	float *dx, *ds, *g, *px, *ps, *pg, *dout, *scr;
	double *fd;
	size_t nb;
	rq_rng r;

	rq_rng_seed(&r, 71);
	l.nx = (size_t)l.B * l.Nx * l.d;
	l.ny = (size_t)l.B * l.Ny * l.d;
	l.np = rq_xmod_nparams(l.d, l.hd);
	{
		size_t o[17];
		xoffs(o, (size_t)l.d, (size_t)l.hd);
		cr_assert_eq(l.np, o[16]);
	}
	nb = rq_xmod_layout(&l.a, NULL, l.B, l.Nx, l.Ny, l.d, l.H, l.hd);
	l.buf = falloc(nb);
	rq_xmod_layout(&l.a, l.buf, l.B, l.Nx, l.Ny, l.d, l.H, l.hd);
	l.x = falloc(l.nx);
	l.s = falloc(l.ny);
	l.p = falloc(l.np);
	l.out = falloc(l.nx);
	fill_normal(l.x, l.nx, &r, 1);
	fill_normal(l.s, l.ny, &r, 1);
	fill_normal(l.p, l.np, &r, 0.4);
	/* LN gains near 1, so no path is starved */
	{
		size_t o[17];
		xoffs(o, (size_t)l.d, (size_t)l.hd);
		for (int j = 0; j < l.d; j++) {
			l.p[o[0] + j] += 1;
			l.p[o[10] + j] += 1;
		}
	}
	l.xd = to_d(l.x, l.nx);
	l.sd = to_d(l.s, l.ny);
	l.pd = to_d(l.p, l.np);
	l.outd = dalloc(l.nx);
	l.dy = dalloc(l.nx);
	for (size_t i = 0; i < l.nx; i++)
		l.dy[i] = rq_rng_normal(&r);
	xl_lf(&l);
	xl_ld(&l);
	check_fwd("xmod", l.out, l.outd, l.nx, 1e-5);
	dout = falloc(l.nx);
	for (size_t i = 0; i < l.nx; i++)
		dout[i] = (float)l.dy[i];
	dx = falloc(l.nx);
	ds = falloc(l.ny);
	g = falloc(l.np);
	px = prefill(dx, l.nx, &r);
	ps = prefill(ds, l.ny, &r);
	pg = prefill(g, l.np, &r);
	scr = falloc(rq_xmod_scratch_floats(l.B, l.Nx, l.Ny, l.d, l.hd));
	rq_xmod_backward(&l.a, dx, ds, g, dout, l.x, l.s, l.p, scr);
	fd = dalloc(l.np);
	fd_double(l.xd, l.nx, xl_ld, &l, H_REF, fd);
	check_grad("xmod dx (ref)", dx, px, fd, l.nx, 1e-4);
	fd_double(l.sd, l.ny, xl_ld, &l, H_REF, fd);
	check_grad("xmod ds (ref)", ds, ps, fd, l.ny, 1e-4);
	fd_double(l.pd, l.np, xl_ld, &l, H_REF, fd);
	check_grad("xmod dparams (ref)", g, pg, fd, l.np, 1e-4);
	/* the shared LN's gain gets both the target's and the source's part:
	 * without the source rows it would be off */
	{
		size_t o[17];
		double e = 0;
		xoffs(o, (size_t)l.d, (size_t)l.hd);
		for (int j = 0; j < l.d; j++)
			e = fmax(e, fabs(fd[o[0] + j]));
		cr_assert_gt(e, 1e-3);
	}
	fd_float(l.s, l.ny, xl_lf, &l, H_FLT, fd);
	check_grad("xmod ds (float)", ds, ps, fd, l.ny, 2e-2);
	free(fd), free(dx), free(ds), free(g), free(px), free(ps), free(pg);
	free(scr), free(dout), free(l.buf), free(l.x), free(l.s), free(l.p);
	free(l.out), free(l.xd), free(l.sd), free(l.pd), free(l.outd);
	free(l.dy);
}

/* ---- the model ---- */

static void
tiny(rq_model_cfg *c, int layers, int memory)
{
	tiny_cfg(c, RQ_METHOD_MUT);
	c->fdepth = layers;
	c->mdepth = memory;
}

/* the loss p belongs to with entry j moved by t */
static double
loss_at(rq_model *m, const rq_param *p, size_t j, double t, const float *a,
    const float *v, const int32_t *y, int B)
{
	float *w = rq_model_params(m), save = w[j];
	double l;

	w[j] = (float)(save + t);
	l = tiny_lossof(m, p, a, v, y, B);
	w[j] = save;
	return l;
}

static int
near(double g, double num)
{
	return fabs(num - g) <= 2e-3 + 3e-2 * fabs(num);
}

/*
 * Every tensor (three entries each: first, middle, last) against finite
 * differences of the loss it belongs to, R rotated, and every live
 * tensor gets some gradient (no path cut).  The model is deep in ReLUs:
 * where one turns within the step, the central difference averages two
 * slopes, but the analytic gradient still equals the one-sided
 * difference (second order) on the side without the kink.  An entry
 * passes on the central difference, or on a one-sided one; at most a
 * quarter may need the latter.
 */
static void
gradcheck(int layers, int memory, uint64_t seed)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32], *g;
	int32_t y[3];
	int B = 3, checked = 0, bad = 0, kinked = 0;
	double h = 1e-3;

	tiny(&c, layers, memory);
	m = tiny_make(&c, seed);
	tiny_rotation(m, 0, 93);
	tiny_data(&c, B, a, v, y, 14);
	g = tiny_grads(m, a, v, y, B);
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		size_t pick[3] = {0, p->n / 2, p->n - 1};
		double gmax = 0;
		for (size_t j = 0; j < p->n; j++)
			gmax = fmax(gmax, fabs(g[p->off + j]));
		cr_expect_gt(gmax, 0, "%s: no gradient", p->name);
		for (int k = 0; k < 3; k++) {
			size_t j = p->off + pick[k];
			double f0 = loss_at(m, p, j, 0, a, v, y, B);
			double fp = loss_at(m, p, j, h, a, v, y, B);
			double fm = loss_at(m, p, j, -h, a, v, y, B);
			double fp2 = loss_at(m, p, j, 2 * h, a, v, y, B);
			double fm2 = loss_at(m, p, j, -2 * h, a, v, y, B);
			double cen = (fp - fm) / (2 * h);
			double rgt = (-3 * f0 + 4 * fp - fp2) / (2 * h);
			double lft = (3 * f0 - 4 * fm + fm2) / (2 * h);
			checked++;
			if (near(g[j], cen))
				continue;
			if (near(g[j], rgt) || near(g[j], lft)) {
				kinked++;
				continue;
			}
			bad++;
			cr_log_error("mut %s[%zu]: analytic %.6g numeric %.6g "
			    "(left %.6g right %.6g)", p->name, pick[k], g[j], cen,
			    lft, rgt);
		}
	}
	cr_log_info("mut %d+%d: %d entries, %d by a one-sided difference",
	    layers, memory, checked, kinked);
	cr_assert_eq(bad, 0, "%d of %d gradient entries differ", bad, checked);
	cr_assert_leq(kinked * 4, checked, "%d of %d entries one-sided",
	    kinked, checked);
	free(g);
	rq_model_free(m);
}

Test(mut, gradcheck_one_layer) { gradcheck(1, 1, 52); }
Test(mut, gradcheck_two_layers_two_blocks) { gradcheck(2, 2, 53); }
Test(mut, gradcheck_no_memory) { gradcheck(1, 0, 54); }
Test(mut, gradcheck_other_draws)
{
	for (uint64_t s = 0; s < 4; s++)
		gradcheck(1 + (int)(s % 2), (int)s, 100 + s);
}

/*
 * A batch of 3 in one pass and as parts of 2 and 1 in a model planned for
 * 2 (rq-train -u): the same gradient (the crossmodal layers' activations
 * are laid out for the planned batch and used for the part's).
 */
Test(mut, parts_match_whole)
{
	rq_model_cfg c, c2;
	rq_model *m, *m2;
	float a[72], v[96];
	int32_t y[3];
	double e;

	tiny(&c, 2, 1);
	m = tiny_make(&c, 11);
	c2 = c;
	c2.batch = 2;
	m2 = tiny_make(&c2, 11);
	memcpy(rq_model_params(m2), rq_model_params(m),
	    rq_model_nparams(m) * sizeof(float));
	tiny_rotation(m, 0, 12);
	tiny_rotation(m2, 0, 12);
	tiny_data(&c, 3, a, v, y, 12);
	e = tiny_parts_error(m, m2, a, v, y);
	cr_assert_lt(e, 1e-5, "relative error %g", e);
	rq_model_free(m);
	rq_model_free(m2);
}

/*
 * An easy set: the class shifts every audio value by (k - 1) and every
 * image value by (1 - k) / 2, over unit noise.  Trained on one draw, the
 * loss falls and a second draw is mostly right.
 */
static void
easy(const rq_model_cfg *c, int n, float *a, float *v, int32_t *y,
    uint64_t seed)
{
	rq_rng r;
	int na = c->F * c->T, nv = c->C * c->H * c->W;

	rq_rng_seed(&r, seed);
	for (int b = 0; b < n; b++) {
		y[b] = (int32_t)rq_rng_below(&r, (uint64_t)c->classes);
		for (int i = 0; i < na; i++)
			a[b * na + i] = (float)(rq_rng_normal(&r) + (y[b] - 1));
		for (int i = 0; i < nv; i++)
			v[b * nv + i] = (float)(rq_rng_normal(&r) +
			    0.5 * (1 - y[b]));
	}
}

Test(mut, loss_falls_and_generalises)
{
	rq_model_cfg c;
	rq_model *m;
	enum { N = 24 };
	float a[N * 24], v[N * 32];
	int32_t y[N];
	double l0, l1;
	int right = 0;
	rq_rng r;

	tiny(&c, 1, 1);
	c.batch = N;
	cr_assert_eq(rq_model_plan(&m, &c), RQ_OK);
	cr_assert_eq(rq_model_alloc(m), RQ_OK);
	rq_rng_seed(&r, 5);
	rq_model_init_params(m, &r);
	easy(&c, N, a, v, y, 6);
	l0 = rq_model_forward(m, a, v, y, N, 0, NULL);
	for (int s = 0; s < 80; s++) {
		rq_model_zero_grad(m);
		rq_model_forward(m, a, v, y, N, 0, NULL);
		rq_model_backward(m, y, N);
		rq_sgd_step(rq_model_params(m), rq_model_grads(m),
		    rq_model_state(m, 0), rq_model_nparams(m), 0.05, 0.9, 1e-4);
	}
	l1 = rq_model_forward(m, a, v, y, N, 0, NULL);
	cr_assert_lt(l1, 0.3 * l0, "loss %g -> %g", l0, l1);
	easy(&c, N, a, v, y, 7);
	rq_model_forward(m, a, v, NULL, N, 0, NULL);
	for (int b = 0; b < N; b++) {
		const float *p = rq_model_probs(m, 0) + b * 3;
		int k = p[1] > p[0] ? 1 : 0;
		k = p[2] > p[k] ? 2 : k;
		right += k == y[b];
	}
	cr_assert_geq(right, 18, "held-out: %d of %d right", right, N);
	rq_model_free(m);
}

/*
 * The RollingQ site: MT's query over [cls_f ; mem_a ; mem_v].  Rotating
 * R turns the query by R; the shares over cls_f, the audio rows and the
 * visual rows sum to 1 and move with R; the key means are finite and
 * differ between the modalities.
 */
Test(mut, rollingq_site)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32], q0[8], ka[24], kv[24], sh[9], sh0[9];
	double *R, moved = 0;
	int32_t y[3];

	tiny(&c, 1, 1);
	m = tiny_make(&c, 61);
	cr_assert_eq(rq_model_fusion_layers(m), 1);
	tiny_data(&c, 3, a, v, y, 62);
	rq_model_forward(m, a, v, NULL, 3, 0, NULL);
	memcpy(q0, rq_model_query(m, 0), sizeof q0);
	rq_model_shares(m, 3, sh0, sh0 + 3, sh0 + 6);
	tiny_rotation(m, 0, 63);
	R = rq_model_rotation(m, 0);
	rq_model_forward(m, a, v, NULL, 3, 0, NULL);
	for (int i = 0; i < 8; i++) {
		double t = 0;
		for (int j = 0; j < 8; j++)
			t += R[i * 8 + j] * q0[j];
		cr_assert_float_eq(rq_model_query(m, 0)[i], t, 1e-5);
	}
	rq_model_shares(m, 3, sh, sh + 3, sh + 6);
	for (int b = 0; b < 3; b++) {
		cr_assert_float_eq(sh[b] + sh[3 + b] + sh[6 + b], 1, 1e-5);
		cr_assert(sh[b] > 0 && sh[3 + b] > 0);
		moved = fmax(moved, fabs(sh[b] - sh0[b]));
	}
	cr_assert_gt(moved, 1e-5);
	rq_model_kmeans(m, 0, 3, ka, kv);
	for (int i = 0; i < 24; i++) {
		cr_assert(isfinite(ka[i]) && isfinite(kv[i]));
		cr_assert(ka[i] != kv[i]);
	}
	rq_model_free(m);
}

/* per direction L crossmodal layers, a LN, M blocks, a LN; MT's fusion;
 * the read-out; the probes and encoders as Concat */
Test(mut, parameter_count)
{
	rq_model_cfg c;
	rq_model *mm, *cm;
	size_t d = 8, h = 16, K = 3, ln = 2 * d;
	size_t xm = 2 * ln + 4 * (d * d + d) + h * d + h + d * h + d;
	size_t blk = 2 * ln + 3 * d * d + 3 * d + d * d + d + 2 * h * d + h + d;
	size_t fus = d + 4 * (d * d + d);
	size_t head = 2 * (9 * d * d + 3 * d) + 3 * d * K + K;

	tiny(&c, 2, 3);
	cr_assert_eq(rq_xmod_nparams((int)d, (int)h), xm);
	cr_assert_eq(rq_model_plan(&mm, &c), RQ_OK);
	c.method = RQ_METHOD_CONCAT;
	cr_assert_eq(rq_model_plan(&cm, &c), RQ_OK);
	cr_assert_eq(rq_model_nparams(mm), rq_model_nparams(cm) -
	    (2 * d * K + K) + 2 * (2 * xm + ln + 3 * blk + ln) + fus + head);
	cr_assert_not_null(rq_model_find(mm, "mut.v.cross.1.fc2.b"));
	cr_assert_not_null(rq_model_find(mm, "mut.a.cross.0.ln.g"));
	cr_assert_not_null(rq_model_find(mm, "mut.a.mem.2.attn.qkv.w"));
	cr_assert_not_null(rq_model_find(mm, "mut.v.mem.ln.b"));
	cr_assert_not_null(rq_model_find(mm, "fusion.q.w"));
	cr_assert_eq(rq_model_find(mm, "head.out.w")->dims[1], 3 * d);
	cr_assert_null(rq_model_find(mm, "mut.a.cross.2.q.w"));
	cr_assert_null(rq_model_find(mm, "mut.a.mem.3.ln1.g"));
	cr_assert_gt(rq_model_flops(mm), rq_model_flops(cm));
	rq_model_free(mm);
	rq_model_free(cm);
	c.method = RQ_METHOD_MUT;
	c.fdepth = 0;
	cr_assert_eq(rq_model_plan(&mm, &c), RQ_EINVAL);
	c.fdepth = 33;
	cr_assert_eq(rq_model_plan(&mm, &c), RQ_EINVAL);
	c.fdepth = 1;
	c.mdepth = -1;
	cr_assert_eq(rq_model_plan(&mm, &c), RQ_EINVAL);
	c.mdepth = 0;
	cr_assert_eq(rq_model_plan(&mm, &c), RQ_OK);
	rq_model_free(mm);
}

/*
 * count.c: every tensor annotated; the attention products are the
 * encoders', the fusion query's (S per sample), each crossmodal layer's
 * Na Nv per direction and each memory block's N^2, QK^T and AV.
 */
Test(mut, counted)
{
	rq_model_cfg c;
	rq_model *m;
	rq_count all, thop;
	double d = 8, Na = 5, Nv = 9, S = 1 + Na + Nv, L = 2, M = 3, want;

	tiny(&c, 2, 3);
	cr_assert_eq(rq_model_plan(&m, &c), RQ_OK);
	cr_assert_eq(rq_model_tokens(m, &(int){0}, &(int){0}), RQ_OK);
	cr_assert_eq(rq_count_model(m, RQ_COUNT_ALL, 0, &all), RQ_OK);
	cr_assert_eq(rq_count_model(m, RQ_COUNT_THOP, 1, &thop), RQ_OK);
	cr_assert_eq(all.params, (double)rq_model_nparams(m));
	want = 2 * d * (Na * Na + Nv * Nv) + 2 * S * d +
	    L * 2 * 2 * Na * Nv * d + M * 2 * d * (Na * Na + Nv * Nv);
	cr_assert_float_eq(all.attn_macs, want, 1e-6, "%g vs %g",
	    all.attn_macs, want);
	/* the shared LN: 4 d per row over both streams' rows */
	cr_assert_eq(rq_model_find(m, "mut.a.cross.0.ln.g")->rows, Na + Nv);
	cr_assert_eq(rq_model_find(m, "mut.a.cross.0.k.w")->rows, Nv);
	cr_assert_eq(rq_model_find(m, "mut.v.cross.1.q.w")->rows, Nv);
	cr_assert_eq(rq_model_find(m, "mut.v.cross.1.v.b")->rows, Na);
	cr_assert_eq(rq_model_find(m, "mut.a.mem.0.mlp.fc1.w")->rows, Na);
	cr_assert_eq(rq_model_find(m, "fusion.q.w")->rows, 1);
	cr_assert_gt(thop.macs, 0);
	rq_model_free(m);
}

/* save and reopen: both sizes travel in the checkpoint, with R */
Test(mut, checkpoint_keeps_the_sizes)
{
	rq_model_cfg c, back;
	rq_model *m, *m2;
	int d = 8;

	tiny(&c, 2, 1);
	m = tiny_make(&c, 9);
	tiny_rotation(m, 0, 10);
	*rq_model_rotations(m, 0) = 1;
	m2 = tiny_reopen(m, &back);
	cr_assert_eq(back.method, RQ_METHOD_MUT);
	cr_assert_eq(back.fdepth, 2);
	cr_assert_eq(back.mdepth, 1);
	cr_assert_eq(memcmp(rq_model_rotation(m, 0), rq_model_rotation(m2, 0),
	    (size_t)d * d * sizeof(double)), 0);
	cr_assert_eq(*rq_model_rotations(m2, 0), 1);
	rq_model_free(m);
	rq_model_free(m2);
}
