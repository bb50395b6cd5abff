/*
 * cme.c: the layer pieces of MMML's CME layer that rq did not have:
 * multi-head attention with queries and keys from different sequences
 * (cross-attention; self-attention is the case q, k, v from one), and ReLU.
 *
 * Shapes: q [B,Nq,C], k and v [B,Nk,C]; head h uses columns h*D..(h+1)*D,
 * D = C/H; att [B,H,Nq,Nk] = softmax_row(q_h k_h^T / sqrt D);
 * out [B,Nq,C] = att v (heads concatenated).
 * Backward, per sample and head (G = dout_h v_h^T [Nq,Nk]):
 *   dv_h += att^T dout_h;  dZ = att.(G - rowsum(att.G));
 *   dq_h += dZ k_h / sqrt D;  dk_h += dZ^T q_h / sqrt D.
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "rq.h"

void
rq_xattn_forward(float *out, float *att, const float *q, const float *k,
    const float *v, int B, int Nq, int Nk, int C, int H)
{
	int D = C / H;
	float sc = 1.0f / sqrtf((float)D);

	for (int b = 0; b < B; b++)
		for (int h = 0; h < H; h++) {
			const float *qb = q + (size_t)b * Nq * C + h * D;
			const float *kb = k + (size_t)b * Nk * C + h * D;
			const float *vb = v + (size_t)b * Nk * C + h * D;
			float *A = att + ((size_t)b * H + h) * Nq * Nk;
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Nq, Nk,
			    D, sc, qb, C, kb, C, 0.0f, A, Nk);
			for (int i = 0; i < Nq; i++) {
				float *r = A + (size_t)i * Nk, mx = r[0], s = 0, inv;
				for (int j = 1; j < Nk; j++)
					mx = r[j] > mx ? r[j] : mx;
				for (int j = 0; j < Nk; j++)
					s += r[j] = expf(r[j] - mx);
				inv = 1.0f / s;
				for (int j = 0; j < Nk; j++)
					r[j] *= inv;
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Nq, D,
			    Nk, 1.0f, A, Nk, vb, C, 0.0f,
			    out + (size_t)b * Nq * C + h * D, C);
		}
}

/* scratch [Nq*Nk]; dq, dk, dv accumulate (none may be NULL) */
void
rq_xattn_backward(float *dq, float *dk, float *dv, float *scratch,
    const float *dout, const float *q, const float *k, const float *v,
    const float *att, int B, int Nq, int Nk, int C, int H)
{
	int D = C / H;
	float sc = 1.0f / sqrtf((float)D);

	for (int b = 0; b < B; b++)
		for (int h = 0; h < H; h++) {
			size_t oq = (size_t)b * Nq * C + h * D;
			size_t ok = (size_t)b * Nk * C + h * D;
			const float *A = att + ((size_t)b * H + h) * Nq * Nk;
			float *G = scratch;
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Nk, D,
			    Nq, 1.0f, A, Nk, dout + oq, C, 1.0f, dv + ok, C);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Nq, Nk,
			    D, 1.0f, dout + oq, C, v + ok, C, 0.0f, G, Nk);
			for (int i = 0; i < Nq; i++) {
				float *g = G + (size_t)i * Nk;
				const float *a = A + (size_t)i * Nk;
				double t = 0;
				for (int j = 0; j < Nk; j++)
					t += (double)a[j] * g[j];
				for (int j = 0; j < Nk; j++)
					g[j] = sc * a[j] * (g[j] - (float)t);
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Nq, D,
			    Nk, 1.0f, G, Nk, k + ok, C, 1.0f, dq + oq, C);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Nk, D,
			    Nq, 1.0f, G, Nk, q + oq, C, 1.0f, dk + ok, C);
		}
}

void
rq_relu_forward(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0 ? x[i] : 0.0f;
}

/* dx += dy where y > 0 */
void
rq_relu_backward(float *dx, const float *dy, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (y[i] > 0)
			dx[i] += dy[i];
}
