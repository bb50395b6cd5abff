/*
 * mut.c: the crossmodal layer of MulT (Tsai et al. 2019), as rq-train -m
 * mut uses it: target x [B,Nx,d] attends to source s [B,Ny,d].
 *
 *   xn = LN(x), sn = LN(s)             the SAME LayerNorm (g, b) on both
 *   q = xn Wq^T + bq  [B,Nx,d];  k = sn Wk^T + bk, v = sn Wv^T + bv [B,Ny,d]
 *   c = MHA(q, k, v) with H heads (cme.c)            [B,Nx,d]
 *   x1 = x + c Wo^T + bo
 *   h = LN2(x1) W1^T + b1 [B,Nx,hd];  r = ReLU(h)
 *   out = x1 + r W2^T + b2                           [B,Nx,d]
 *
 * No mask, no dropout.  The parameters are one vector in the order of
 * RQ_XMOD_* (rq_xmod_nparams floats): ln.g [d], ln.b [d], q.w [d,d],
 * q.b [d], k.w, k.b, v.w, v.b, o.w, o.b, ln2.g, ln2.b, fc1.w [hd,d],
 * fc1.b [hd], fc2.w [d,hd], fc2.b [d].
 * Backward (dout): dx1 = dout + LN2'(W1^T ReLU'(W2^T dout)) + ...; the
 * attention's dq goes to xn, its dk and dv to sn; LN's backward runs
 * once over the target rows and once over the source rows, both adding
 * to the one (g, b) gradient.
 */
#include <string.h>

#include "rq.h"

#define XMOD_EPS 1e-5f	/* torch.nn.LayerNorm's default, as MulT */

/* offsets of the parameter groups in the vector */
static void
offs(size_t o[RQ_XMOD_NGROUP + 1], int d, int hd)
{
	size_t D = (size_t)d, Hd = (size_t)hd;
	size_t n[RQ_XMOD_NGROUP] = { D, D, D * D, D, D * D, D, D * D, D,
	    D * D, D, D, D, Hd * D, Hd, D * Hd, D };

	o[0] = 0;
	for (int i = 0; i < RQ_XMOD_NGROUP; i++)
		o[i + 1] = o[i] + n[i];
}

size_t
rq_xmod_nparams(int d, int hd)
{
	size_t o[RQ_XMOD_NGROUP + 1];

	offs(o, d, hd);
	return o[RQ_XMOD_NGROUP];
}

/* n floats from *cur of buf (NULL: count only) */
static float *
carve(float *buf, size_t *cur, size_t n)
{
	float *p = buf != NULL ? buf + *cur : NULL;

	*cur += (n + 15) & ~(size_t)15;
	return p;
}

size_t
rq_xmod_layout(rq_xmod *a, float *buf, int B, int Nx, int Ny, int d, int H,
    int hd)
{
	size_t cur = 0, X = (size_t)B * Nx, Y = (size_t)B * Ny;

	a->B = B;
	a->Nx = Nx;
	a->Ny = Ny;
	a->d = d;
	a->H = H;
	a->hd = hd;
	a->xn = carve(buf, &cur, X * d);
	a->mux = carve(buf, &cur, X);
	a->rsx = carve(buf, &cur, X);
	a->sn = carve(buf, &cur, Y * d);
	a->mus = carve(buf, &cur, Y);
	a->rss = carve(buf, &cur, Y);
	a->q = carve(buf, &cur, X * d);
	a->k = carve(buf, &cur, Y * d);
	a->v = carve(buf, &cur, Y * d);
	a->att = carve(buf, &cur, (size_t)B * H * Nx * Ny);
	a->ctx = carve(buf, &cur, X * d);
	a->x1 = carve(buf, &cur, X * d);
	a->x2n = carve(buf, &cur, X * d);
	a->mu2 = carve(buf, &cur, X);
	a->rs2 = carve(buf, &cur, X);
	a->h = carve(buf, &cur, X * hd);
	a->r = carve(buf, &cur, X * hd);
	return cur;
}

/* backward scratch: dq, dctx, dx1n [B Nx d]; dk, dv, dsn [B Ny d];
 * dr, dh [B Nx hd]; the attention's [Nx Ny] */
size_t
rq_xmod_scratch_floats(int B, int Nx, int Ny, int d, int hd)
{
	size_t X = (size_t)B * Nx, Y = (size_t)B * Ny;

	return 3 * X * d + 3 * Y * d + 2 * X * hd + (size_t)Nx * Ny;
}

void
rq_xmod_forward(rq_xmod *a, float *out, const float *x, const float *s,
    const float *p)
{
	size_t o[RQ_XMOD_NGROUP + 1];
	int B = a->B, d = a->d, hd = a->hd, X = B * a->Nx, Y = B * a->Ny;
	size_t n = (size_t)X * d;

	offs(o, d, hd);
	rq_layernorm_forward(a->xn, a->mux, a->rsx, x, p + o[RQ_XMOD_LNG],
	    p + o[RQ_XMOD_LNB], X, d, XMOD_EPS);
	rq_layernorm_forward(a->sn, a->mus, a->rss, s, p + o[RQ_XMOD_LNG],
	    p + o[RQ_XMOD_LNB], Y, d, XMOD_EPS);
	rq_linear_forward(a->q, a->xn, p + o[RQ_XMOD_QW], p + o[RQ_XMOD_QB], X,
	    d, d);
	rq_linear_forward(a->k, a->sn, p + o[RQ_XMOD_KW], p + o[RQ_XMOD_KB], Y,
	    d, d);
	rq_linear_forward(a->v, a->sn, p + o[RQ_XMOD_VW], p + o[RQ_XMOD_VB], Y,
	    d, d);
	rq_xattn_forward(a->ctx, a->att, a->q, a->k, a->v, B, a->Nx, a->Ny, d,
	    a->H);
	rq_linear_forward(a->x1, a->ctx, p + o[RQ_XMOD_OW], p + o[RQ_XMOD_OB],
	    X, d, d);
	for (size_t i = 0; i < n; i++)
		a->x1[i] += x[i];
	rq_layernorm_forward(a->x2n, a->mu2, a->rs2, a->x1, p + o[RQ_XMOD_LN2G],
	    p + o[RQ_XMOD_LN2B], X, d, XMOD_EPS);
	rq_linear_forward(a->h, a->x2n, p + o[RQ_XMOD_F1W], p + o[RQ_XMOD_F1B],
	    X, d, hd);
	rq_relu_forward(a->r, a->h, (size_t)X * hd);
	rq_linear_forward(out, a->r, p + o[RQ_XMOD_F2W], p + o[RQ_XMOD_F2B], X,
	    hd, d);
	for (size_t i = 0; i < n; i++)
		out[i] += a->x1[i];
}

void
rq_xmod_backward(const rq_xmod *a, float *dx, float *ds, float *g,
    const float *dout, const float *x, const float *s, const float *p,
    float *scr)
{
	size_t o[RQ_XMOD_NGROUP + 1];
	int B = a->B, d = a->d, hd = a->hd, X = B * a->Nx, Y = B * a->Ny;
	size_t nx = (size_t)X * d, ny = (size_t)Y * d, nh = (size_t)X * hd;
	float *dq = scr, *dctx = dq + nx, *dx1 = dctx + nx;
	float *dk = dx1 + nx, *dv = dk + ny, *dsn = dv + ny;
	float *dr = dsn + ny, *dh = dr + nh, *asc = dh + nh;

	offs(o, d, hd);
	/* out = x1 + fc2(ReLU(fc1(LN2 x1))) */
	memcpy(dx1, dout, nx * sizeof(float));
	rq_linear_backward_set(dr, g + o[RQ_XMOD_F2W], g + o[RQ_XMOD_F2B], dout,
	    a->r, p + o[RQ_XMOD_F2W], X, hd, d);
	memset(dh, 0, nh * sizeof(float));
	rq_relu_backward(dh, dr, a->r, nh);
	rq_linear_backward_set(dq, g + o[RQ_XMOD_F1W], g + o[RQ_XMOD_F1B], dh,
	    a->x2n, p + o[RQ_XMOD_F1W], X, d, hd);
	rq_layernorm_backward(dx1, g + o[RQ_XMOD_LN2G], g + o[RQ_XMOD_LN2B], dq,
	    a->x1, p + o[RQ_XMOD_LN2G], a->mu2, a->rs2, X, d);
	/* x1 = x + o(MHA(q(LN x), k(LN s), v(LN s))) */
	for (size_t i = 0; i < nx; i++)
		dx[i] += dx1[i];
	rq_linear_backward_set(dctx, g + o[RQ_XMOD_OW], g + o[RQ_XMOD_OB], dx1,
	    a->ctx, p + o[RQ_XMOD_OW], X, d, d);
	memset(dq, 0, nx * sizeof(float));
	memset(dk, 0, ny * sizeof(float));
	memset(dv, 0, ny * sizeof(float));
	rq_xattn_backward(dq, dk, dv, asc, dctx, a->q, a->k, a->v, a->att, B,
	    a->Nx, a->Ny, d, a->H);
	/* dctx is free again: dL/dxn */
	rq_linear_backward_set(dctx, g + o[RQ_XMOD_QW], g + o[RQ_XMOD_QB], dq,
	    a->xn, p + o[RQ_XMOD_QW], X, d, d);
	rq_linear_backward_set(dsn, g + o[RQ_XMOD_KW], g + o[RQ_XMOD_KB], dk,
	    a->sn, p + o[RQ_XMOD_KW], Y, d, d);
	rq_linear_backward(dsn, g + o[RQ_XMOD_VW], g + o[RQ_XMOD_VB], dv,
	    a->sn, p + o[RQ_XMOD_VW], Y, d, d);
	rq_layernorm_backward(dx, g + o[RQ_XMOD_LNG], g + o[RQ_XMOD_LNB], dctx,
	    x, p + o[RQ_XMOD_LNG], a->mux, a->rsx, X, d);
	rq_layernorm_backward(ds, g + o[RQ_XMOD_LNG], g + o[RQ_XMOD_LNB], dsn,
	    s, p + o[RQ_XMOD_LNG], a->mus, a->rss, Y, d);
}
