/*
 * test_cme.c: MMML (rq-train -m mmml).  The new layers (cross-attention,
 * ReLU) against a double reference and central finite differences (as
 * layercheck.h), cross-attention of a sequence over itself equal to the
 * self-attention rq had; then the whole model: every parameter's
 * gradient (CME post-LN sub-layers, FFN with ReLU, the MLP head with
 * ReLU) against finite differences, with 1 and 2 CME layers; the table.
 */
#include "layercheck.h"
#include "tinymodel.h"

#include <unistd.h>

struct xa {
	int B, Nq, Nk, C, H;
	float *q, *k, *v, *out, *att;
	double *qd, *kd, *vd, *outd, *dy;
};

static void
xattn_ref(double *out, const double *q, const double *k, const double *v,
    int B, int Nq, int Nk, int C, int H)
{
	int D = C / H;
	double s = 1 / sqrt((double)D), a[64];

	for (int b = 0; b < B; b++)
		for (int h = 0; h < H; h++)
			for (int i = 0; i < Nq; i++) {
				const double *qi = q + ((size_t)b * Nq + i) * C + h * D;
				double m = -INFINITY, z = 0;
				for (int j = 0; j < Nk; j++) {
					const double *kj = k + ((size_t)b * Nk + j) * C +
					    h * D;
					double t = 0;
					for (int e = 0; e < D; e++)
						t += qi[e] * kj[e];
					a[j] = t * s;
					m = fmax(m, a[j]);
				}
				for (int j = 0; j < Nk; j++)
					z += a[j] = exp(a[j] - m);
				for (int e = 0; e < D; e++) {
					double o = 0;
					for (int j = 0; j < Nk; j++)
						o += a[j] / z * v[((size_t)b * Nk + j) * C +
						    h * D + e];
					out[((size_t)b * Nq + i) * C + h * D + e] = o;
				}
			}
}

static double
xa_lf(void *c)
{
	struct xa *l = c;

	rq_xattn_forward(l->out, l->att, l->q, l->k, l->v, l->B, l->Nq, l->Nk,
	    l->C, l->H);
	return dotf(l->dy, l->out, (size_t)l->B * l->Nq * l->C);
}

static double
xa_ld(void *c)
{
	struct xa *l = c;

	xattn_ref(l->outd, l->qd, l->kd, l->vd, l->B, l->Nq, l->Nk, l->C, l->H);
	return dotd(l->dy, l->outd, (size_t)l->B * l->Nq * l->C);
}

Test(cme, xattn_forward_backward)
{
	struct xa l = { 2, 3, 5, 8, 2 };
	size_t nq = (size_t)l.B * l.Nq * l.C, nk = (size_t)l.B * l.Nk * l.C;
	float *dq = falloc(nq), *dk = falloc(nk), *dv = falloc(nk), *dout;
	float *scr = falloc((size_t)l.Nq * l.Nk), *pq, *pk, *pv;
	double *g;
	rq_rng r;

	rq_rng_seed(&r, 17);
	l.q = falloc(nq);
	l.k = falloc(nk);
	l.v = falloc(nk);
	l.out = falloc(nq);
	l.att = falloc((size_t)l.B * l.H * l.Nq * l.Nk);
	fill_normal(l.q, nq, &r, 1);
	fill_normal(l.k, nk, &r, 1);
	fill_normal(l.v, nk, &r, 1);
	l.qd = to_d(l.q, nq);
	l.kd = to_d(l.k, nk);
	l.vd = to_d(l.v, nk);
	l.outd = dalloc(nq);
	l.dy = dalloc(nq);
	for (size_t i = 0; i < nq; i++)
		l.dy[i] = rq_rng_normal(&r);
	xa_lf(&l);
	xa_ld(&l);
	check_fwd("xattn", l.out, l.outd, nq, 1e-5);
	dout = falloc(nq);
	for (size_t i = 0; i < nq; i++)
		dout[i] = (float)l.dy[i];
	pq = prefill(dq, nq, &r);
	pk = prefill(dk, nk, &r);
	pv = prefill(dv, nk, &r);
	rq_xattn_backward(dq, dk, dv, scr, dout, l.q, l.k, l.v, l.att, l.B,
	    l.Nq, l.Nk, l.C, l.H);
	g = dalloc(nk);
	fd_double(l.qd, nq, xa_ld, &l, H_REF, g);
	check_grad("xattn dq (ref)", dq, pq, g, nq, TOL_REF);
	fd_double(l.kd, nk, xa_ld, &l, H_REF, g);
	check_grad("xattn dk (ref)", dk, pk, g, nk, TOL_REF);
	fd_double(l.vd, nk, xa_ld, &l, H_REF, g);
	check_grad("xattn dv (ref)", dv, pv, g, nk, TOL_REF);
	fd_float(l.k, nk, xa_lf, &l, H_FLT, g);
	check_grad("xattn dk (float)", dk, pk, g, nk, TOL_FLT);
	free(g);
}

/* over one sequence it is the self-attention rq already had */
Test(cme, xattn_over_itself_is_mhsa)
{
	int B = 2, T = 4, C = 8, H = 4;
	size_t n = (size_t)B * T * C;
	float *qkv = falloc(3 * n), *q = falloc(n), *k = falloc(n);
	float *v = falloc(n), *o1 = falloc(n), *o2 = falloc(n);
	float *a1 = falloc((size_t)B * H * T * T), *a2 = falloc((size_t)B *
	    H * T * T);
	rq_rng r;

	rq_rng_seed(&r, 3);
	fill_normal(qkv, 3 * n, &r, 1);
	for (int t = 0; t < B * T; t++) {
		memcpy(q + (size_t)t * C, qkv + (size_t)t * 3 * C, C * sizeof *q);
		memcpy(k + (size_t)t * C, qkv + (size_t)t * 3 * C + C,
		    C * sizeof *q);
		memcpy(v + (size_t)t * C, qkv + (size_t)t * 3 * C + 2 * C,
		    C * sizeof *q);
	}
	rq_mhsa_forward(o1, a1, qkv, B, T, C, H);
	rq_xattn_forward(o2, a2, q, k, v, B, T, T, C, H);
	for (size_t i = 0; i < n; i++)
		cr_assert_float_eq(o1[i], o2[i], 1e-6);
}

Test(cme, relu)
{
	float x[6] = { -2, -0.5f, 0.25f, 1, 3, -1 }, y[6], dx[6] = { 1, 1, 1,
	    1, 1, 1 }, dy[6] = { 1, 2, 3, 4, 5, 6 };
	float want[6] = { 1, 1, 4, 5, 6, 1 };

	rq_relu_forward(y, x, 6);
	rq_relu_backward(dx, dy, y, 6);
	for (int i = 0; i < 6; i++) {
		cr_assert_float_eq(y[i], x[i] > 0 ? x[i] : 0, 0);
		cr_assert_float_eq(dx[i], want[i], 0);
	}
}

static void
tiny(rq_model_cfg *c, int layers)
{
	tiny_cfg(c, RQ_METHOD_MMML);
	c->fdepth = layers;
}

static void
gradcheck_rot(int layers, int rot)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32], *g;
	int32_t y[3];
	int B = 3;

	tiny(&c, layers);
	m = tiny_make(&c, 31 + (uint64_t)layers);
	if (rot) {
		tiny_rotation(m, 0, 91);
		tiny_rotation(m, 1, 92);
	}
	tiny_data(&c, B, a, v, y, 13);
	g = tiny_grads(m, a, v, y, B);
	tiny_fd_check(m, g, a, v, y, B, "mmml", NULL);
	free(g);
	rq_model_free(m);
}

Test(cme, gradcheck_one_layer) { gradcheck_rot(1, 0); }
Test(cme, gradcheck_two_layers) { gradcheck_rot(2, 0); }
Test(cme, gradcheck_rotated) { gradcheck_rot(2, 1); }

/*
 * mmml-rq's sites: the two streams' self-attention (last layer).  The
 * query is the batch mean of row 0 of Q after R, so rotating R turns it
 * by R; the key means are that attention's key map applied to the mean
 * of each stream's cross-attention output, and no shares exist.
 */
Test(cme, rollingq_sites)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32], q0[8], ka[3 * 8], kv[3 * 8], sh[9];
	double *R;
	int32_t y[3];

	tiny(&c, 1);
	m = tiny_make(&c, 44);
	cr_assert_eq(rq_model_fusion_layers(m), 2);
	tiny_data(&c, 3, a, v, y, 45);
	rq_model_forward(m, a, v, NULL, 3, 0, NULL);
	memcpy(q0, rq_model_query(m, 1), sizeof q0);
	tiny_rotation(m, 1, 46);
	R = rq_model_rotation(m, 1);
	rq_model_forward(m, a, v, NULL, 3, 0, NULL);
	for (int i = 0; i < 8; i++) {
		double t = 0;
		for (int j = 0; j < 8; j++)
			t += R[i * 8 + j] * q0[j];
		cr_assert_float_eq(rq_model_query(m, 1)[i], t, 1e-5);
	}
	/* each site sees both streams through its own key map */
	{
		float ka1[24], kv1[24];
		double dd = 0;
		rq_model_kmeans(m, 1, 3, ka1, kv1);
		rq_model_kmeans(m, 0, 3, ka, kv);
		for (int i = 0; i < 24; i++) {
			cr_assert(isfinite(ka[i]) && isfinite(kv[i]));
			dd = fmax(dd, fabs(ka[i] - ka1[i]));
			cr_assert(ka[i] != kv[i]);
		}
		cr_assert_gt(dd, 1e-4);
	}
	rq_model_shares(m, 3, sh, sh + 3, sh + 6);
	for (int i = 0; i < 9; i++)
		cr_assert(isnan(sh[i]));
	rq_model_free(m);
}

/* per layer and stream: 2 attention sub-layers (4 d x d maps + LN), the
 * FFN (2 maps of d x hd + LN); the head 2d -> d -> d/2 -> K */
Test(cme, parameter_count)
{
	rq_model_cfg c;
	rq_model *mm, *cm;
	size_t d = 8, h = 16, K = 3, att = 4 * (d * d + d) + 2 * d;
	size_t ffn = 2 * h * d + h + d + 2 * d;
	size_t head = 2 * d * d + d + d * (d / 2) + d / 2 + (d / 2) * K + K;

	tiny(&c, 2);
	cr_assert_eq(rq_model_plan(&mm, &c), RQ_OK);
	c.method = RQ_METHOD_CONCAT;
	cr_assert_eq(rq_model_plan(&cm, &c), RQ_OK);
	/* Concat's head is Linear(2d, K) */
	cr_assert_eq(rq_model_nparams(mm), rq_model_nparams(cm) -
	    (2 * d * K + K) + 2 * 2 * (2 * att + ffn) + head);
	cr_assert_not_null(rq_model_find(mm, "cme.1.v.cross.q.w"));
	cr_assert_not_null(rq_model_find(mm, "cme.0.a.self.ln.g"));
	cr_assert_not_null(rq_model_find(mm, "cme.0.a.ffn.fc2.b"));
	cr_assert_eq(rq_model_find(mm, "head.fc3.w")->dims[1], d / 2);
	cr_assert_null(rq_model_find(mm, "cme.2.a.cross.q.w"));
	rq_model_free(mm);
	rq_model_free(cm);
}
