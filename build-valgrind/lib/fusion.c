/*
 * fusion.c: single-head fusion attention with ONE query shared by the
 * batch (the learned cls_f token's query), row-major float32.
 *
 * Shapes: q, dq [C]; k, v, dk, dv [B,T,C]; a, ad [B,T]; mask [B,T] of 0/1
 * or NULL; o, dout [B,C].  s = 1/sqrt(C) (full width, one head).
 *
 * Forward, per sample b:
 *   z_t  = s q . k_t                     (one sgemv over all B*T keys)
 *   a_t  = softmax_t(z_t)                 stable: exp(z - max)
 *   ad_t = a_t m_t / (1 - p)              dropout on the weights
 *                                         (mask NULL: ad = a; ad may be a)
 *   o    = sum_t ad_t v_t                 (one sgemv with V^T)
 *
 * Backward, per sample b, with g_t = dout . v_t:
 *   dv_t += ad_t dout
 *   dL/da_t = g_t m_t / (1 - p), so a_t dL/da_t = ad_t g_t and the softmax
 *   Jacobian gives dz_t = ad_t g_t - a_t S,  S = sum_u ad_u g_u
 *   dk_t += s dz_t q,  dq += s sum_{b,t} dz_t k_t  (summed over the batch)
 * The mask enters only through ad, so mask and p are not read here.
 * There is no scratch argument: g and dz live in a stack buffer of CHUNK
 * floats, so each product is one BLAS-2 call per chunk of CHUNK tokens;
 * for T > CHUNK, g is computed twice (once for S, once for dz).
 * Gradients accumulate (+=); NULL gradient pointers are skipped.
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "rq.h"

#define CHUNK 512  /* tokens per stack buffer in the backward */

void
rq_fusion_attn_forward(float *o, float *a, float *ad, const float *q,
    const float *k, const float *v, const uint8_t *mask, float p, int B,
    int T, int C)
{
	float sc = 1.0f / sqrtf((float)C), keep;

	if (B <= 0 || T <= 0)
		return;
	cblas_sgemv(CblasRowMajor, CblasNoTrans, B * T, C, sc, k, C, q, 1,
	    0.0f, a, 1);
	for (int b = 0; b < B; b++) {
		float *r = a + (size_t)b * T, m = r[0], sum = 0, inv;

		for (int t = 1; t < T; t++)
			if (r[t] > m)
				m = r[t];
		for (int t = 0; t < T; t++) {
			r[t] = expf(r[t] - m);
			sum += r[t];
		}
		inv = 1.0f / sum;
		for (int t = 0; t < T; t++)
			r[t] *= inv;
	}
	if (mask != NULL) {
		keep = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
		for (size_t i = 0; i < (size_t)B * T; i++)
			ad[i] = mask[i] ? a[i] * keep : 0.0f;
	} else if (ad != a)
		memcpy(ad, a, (size_t)B * T * sizeof(*ad));
	for (int b = 0; b < B; b++)
		cblas_sgemv(CblasRowMajor, CblasTrans, T, C, 1.0f,
		    v + (size_t)b * T * C, C, ad + (size_t)b * T, 1, 0.0f,
		    o + (size_t)b * C, 1);
}

void
rq_fusion_attn_backward(float *dq, float *dk, float *dv, const float *dout,
    const float *a, const float *ad, const float *q, const float *k,
    const float *v, const uint8_t *mask, float p, int B, int T, int C)
{
	float sc = 1.0f / sqrtf((float)C), g[CHUNK];

	(void)mask;  /* the mask and p enter through ad */
	(void)p;
	for (int b = 0; b < B; b++) {
		const float *d = dout + (size_t)b * C;
		const float *ab = a + (size_t)b * T, *adb = ad + (size_t)b * T;
		size_t off = (size_t)b * T * C;
		float S = 0;

		if (dv != NULL)
			cblas_sger(CblasRowMajor, T, C, 1.0f, adb, 1, d, 1,
			    dv + off, C);
		if (dq == NULL && dk == NULL)
			continue;
		/* S = sum_t ad_t g_t, g = V dout chunk by chunk */
		for (int t0 = 0; t0 < T; t0 += CHUNK) {
			int n = RQ_MIN(CHUNK, T - t0);

			cblas_sgemv(CblasRowMajor, CblasNoTrans, n, C, 1.0f,
			    v + off + (size_t)t0 * C, C, d, 1, 0.0f, g, 1);
			S += cblas_sdot(n, adb + t0, 1, g, 1);
		}
		for (int t0 = 0; t0 < T; t0 += CHUNK) {
			int n = RQ_MIN(CHUNK, T - t0);

			if (T > CHUNK)  /* else g still holds the only chunk */
				cblas_sgemv(CblasRowMajor, CblasNoTrans, n, C,
				    1.0f, v + off + (size_t)t0 * C, C, d, 1,
				    0.0f, g, 1);
			for (int i = 0; i < n; i++)  /* g <- s dz */
				g[i] = sc * (adb[t0 + i] * g[i] -
				    ab[t0 + i] * S);
			if (dk != NULL)
				cblas_sger(CblasRowMajor, n, C, 1.0f, g, 1, q,
				    1, dk + off + (size_t)t0 * C, C);
			if (dq != NULL)
				cblas_sgemv(CblasRowMajor, CblasTrans, n, C,
				    1.0f, k + off + (size_t)t0 * C, C, g, 1,
				    1.0f, dq, 1);
		}
	}
}
