/*
 * jmt.c: single-head attention with ONE query PER SAMPLE, the second
 * fusion layer of JMT (model.c), row-major float32.
 *
 * Shapes: q, dq [B,C]; k, v, dk, dv [B,T,C]; a, ad [B,T]; mask [B,T] of
 * 0/1 or NULL; o, dout [B,C].  s = 1/sqrt(C) (full width, one head).
 *
 * Forward, per sample b:
 *   z_t  = s q_b . k_bt;  a_t = softmax_t(z_t)  (stable: exp(z - max))
 *   ad_t = a_t m_t / (1 - p)                     (mask NULL: ad = a)
 *   o_b  = sum_t ad_t v_bt
 * Backward, per sample b, with g_t = dout_b . v_bt:
 *   dv_bt += ad_t dout_b
 *   dz_t  = ad_t g_t - a_t S,  S = sum_u ad_u g_u   (as in fusion.c)
 *   dk_bt += s dz_t q_b;  dq_b += s sum_t dz_t k_bt
 * T is small (3 in JMT): plain loops, no BLAS, no scratch.
 */
#include <math.h>
#include <string.h>

#include "rq.h"

void
rq_jmt_attn_forward(float *o, float *a, float *ad, const float *q,
    const float *k, const float *v, const uint8_t *mask, float p, int B,
    int T, int C)
{
	float sc = 1.0f / sqrtf((float)C), keep = p > 0 ? 1.0f / (1 - p) : 1;

	for (int b = 0; b < B; b++) {
		const float *qb = q + (size_t)b * C;
		const float *kb = k + (size_t)b * T * C, *vb = v + (size_t)b * T * C;
		float *ab = a + (size_t)b * T, *adb = ad + (size_t)b * T;
		float *ob = o + (size_t)b * C, mx = 0, sum = 0, inv;
		for (int t = 0; t < T; t++) {
			double z = 0;
			for (int i = 0; i < C; i++)
				z += (double)qb[i] * kb[(size_t)t * C + i];
			ab[t] = sc * (float)z;
			mx = t == 0 || ab[t] > mx ? ab[t] : mx;
		}
		for (int t = 0; t < T; t++)
			sum += ab[t] = expf(ab[t] - mx);
		inv = 1.0f / sum;
		for (int t = 0; t < T; t++) {
			ab[t] *= inv;
			adb[t] = mask == NULL ? ab[t] :
			    mask[(size_t)b * T + t] ? ab[t] * keep : 0.0f;
		}
		memset(ob, 0, (size_t)C * sizeof(float));
		for (int t = 0; t < T; t++)
			for (int i = 0; i < C; i++)
				ob[i] += adb[t] * vb[(size_t)t * C + i];
	}
}

void
rq_jmt_attn_backward(float *dq, float *dk, float *dv, const float *dout,
    const float *a, const float *ad, const float *q, const float *k,
    const float *v, int B, int T, int C)
{
	float sc = 1.0f / sqrtf((float)C);

	for (int b = 0; b < B; b++) {
		const float *qb = q + (size_t)b * C, *db = dout + (size_t)b * C;
		const float *kb = k + (size_t)b * T * C, *vb = v + (size_t)b * T * C;
		const float *ab = a + (size_t)b * T, *adb = ad + (size_t)b * T;
		double S = 0;
		float dz;
		/* g_t is computed twice (S first), as T is small */
		for (int t = 0; t < T; t++) {
			double x = 0;
			for (int i = 0; i < C; i++)
				x += (double)db[i] * vb[(size_t)t * C + i];
			S += (double)adb[t] * (float)x;
		}
		for (int t = 0; t < T; t++) {
			const float *kt = kb + (size_t)t * C, *vt = vb + (size_t)t * C;
			double x = 0;
			for (int i = 0; i < C; i++)
				x += (double)db[i] * vt[i];
			dz = sc * (adb[t] * (float)x - ab[t] * (float)S);
			if (dv != NULL)
				for (int i = 0; i < C; i++)
					dv[((size_t)b * T + t) * C + i] += adb[t] * db[i];
			if (dk != NULL)
				for (int i = 0; i < C; i++)
					dk[((size_t)b * T + t) * C + i] += dz * qb[i];
			if (dq != NULL)
				for (int i = 0; i < C; i++)
					dq[(size_t)b * C + i] += dz * kt[i];
		}
	}
}
