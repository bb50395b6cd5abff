/*
 * layernorm.c: LayerNorm over the last dimension, row-major float32.
 *
 * Shapes: x, y, dx, dy [n,c]; g, b, dg, db [c]; mean, rstd [n].
 *
 * Forward, per row i:  mu = (1/c) sum_j x_j,  var = (1/c) sum_j (x_j-mu)^2
 * (biased, as PyTorch), r = 1/sqrt(var + eps), xh_j = (x_j - mu) r,
 * y_j = xh_j g_j + b_j.  mean[i] = mu and rstd[i] = r are kept for the
 * backward.
 *
 * Backward: with u_j = dy_j g_j (the gradient w.r.t. xh),
 *   dxh_j/dx_k = r (delta_jk - 1/c - xh_j xh_k / c)
 * so dx_k = r (u_k - mean_j(u_j) - xh_k mean_j(u_j xh_j));
 *   dg_j += sum_i dy_ij xh_ij,  db_j += sum_i dy_ij.
 * Row statistics are accumulated in double.  g or b NULL means 1 or 0.
 * Every gradient accumulates (+=); a NULL gradient pointer is skipped.
 */
#include <math.h>

#include "rq.h"

void
rq_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, int n, int c, float eps)
{
	for (int i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * c;
		float *yi = y + (size_t)i * c;
		double m = 0, v = 0;
		float mf, r;

		for (int j = 0; j < c; j++)
			m += xi[j];
		m /= c;
		for (int j = 0; j < c; j++) {
			double d = xi[j] - m;
			v += d * d;
		}
		v /= c;
		mf = (float)m;
		r = (float)(1.0 / sqrt(v + eps));
		for (int j = 0; j < c; j++) {
			float h = (xi[j] - mf) * r;
			yi[j] = h * (g != NULL ? g[j] : 1.0f) +
			    (b != NULL ? b[j] : 0.0f);
		}
		if (mean != NULL)
			mean[i] = mf;
		if (rstd != NULL)
			rstd[i] = r;
	}
}

void
rq_layernorm_backward(float *dx, float *dg, float *db, const float *dy,
    const float *x, const float *g, const float *mean, const float *rstd,
    int n, int c)
{
	for (int i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * c, *dyi = dy + (size_t)i * c;
		float m = mean[i], r = rstd[i];
		double su = 0, suh = 0;
		float mu, muh;

		for (int j = 0; j < c; j++) {
			float h = (xi[j] - m) * r;
			float u = dyi[j] * (g != NULL ? g[j] : 1.0f);
			su += u;
			suh += (double)u * h;
			if (dg != NULL)
				dg[j] += dyi[j] * h;
			if (db != NULL)
				db[j] += dyi[j];
		}
		if (dx == NULL)
			continue;
		mu = (float)(su / c);
		muh = (float)(suh / c);
		for (int j = 0; j < c; j++) {
			float h = (xi[j] - m) * r;
			float u = dyi[j] * (g != NULL ? g[j] : 1.0f);
			dx[(size_t)i * c + j] += r * (u - mu - h * muh);
		}
	}
}
