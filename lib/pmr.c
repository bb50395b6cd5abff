/*
 * pmr.c: PMR, prototypical modal rebalance (Fan et al., CVPR 2023), on
 * the Concat model's CLS features z_a, z_v [B,d].
 *
 * Prototypes c[m][k] [2,K,d] (double): at the start of every epoch, the
 * class means of the features over a tenth of the training set (eval
 * mode, no gradient); the first time the raw means, later
 * c <- (1 - mu) mean + mu c.  A class without samples in the pass keeps
 * its prototype (zero before the first estimate) [our choice: the
 * authors' code divides by a zero count].
 *
 * Loss, per sample i of modality m with label y_i:
 *   s_ik = -|z_i - c_k|_2                  (Euclidean, not squared)
 *   p_i  = softmax_k(s_ik);  PCE_i = -log p_iy
 *   dPCE_i/ds_ik = p_ik - [k = y_i]
 *   ds_ik/dz_i  = -(z_i - c_k) / |z_i - c_k|   (0 where z_i = c_k)
 * Prototypes are constants: the gradient flows into z only.
 * rho = sum_i p^a_iy / sum_i p^v_iy over the batch; the slower modality
 * (the smaller sum) gets the weight alpha, the other 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

int
rq_pmr_init(rq_pmr *p, int K, int d)
{
	size_t n = (size_t)2 * K * d;

	memset(p, 0, sizeof *p);
	p->K = K;
	p->d = d;
	p->proto = calloc(n, sizeof(double));
	/* the sums, the counts [K], then the loss's scratch [2K] */
	p->sum = calloc(n + 3 * (size_t)K, sizeof(double));
	if (p->proto == NULL || p->sum == NULL) {
		rq_pmr_free(p);
		return RQ_ENOMEM;
	}
	return RQ_OK;
}

void
rq_pmr_free(rq_pmr *p)
{
	free(p->proto);
	free(p->sum);
	p->proto = p->sum = NULL;
}

void
rq_pmr_clear(rq_pmr *p)
{
	memset(p->sum, 0, ((size_t)2 * p->K * p->d + p->K) * sizeof(double));
}

void
rq_pmr_add(rq_pmr *p, const float *za, const float *zv, const int32_t *y,
    int B)
{
	size_t Kd = (size_t)p->K * p->d;
	double *cnt = p->sum + 2 * Kd;

	for (int b = 0; b < B; b++) {
		double *sa, *sv;
		if (y[b] < 0 || y[b] >= p->K)
			continue;
		sa = p->sum + (size_t)y[b] * p->d;
		sv = sa + Kd;
		for (int i = 0; i < p->d; i++) {
			sa[i] += za[(size_t)b * p->d + i];
			sv[i] += zv[(size_t)b * p->d + i];
		}
		cnt[y[b]] += 1;
	}
}

int
rq_pmr_update(rq_pmr *p, double mu)
{
	size_t Kd = (size_t)p->K * p->d;
	const double *cnt = p->sum + 2 * Kd;

	if (rq_dist_sum_f64(p->sum, 2 * Kd + (size_t)p->K) != RQ_OK)
		return RQ_EIO;
	for (int m = 0; m < 2; m++)
		for (int k = 0; k < p->K; k++) {
			double *c = p->proto + m * Kd + (size_t)k * p->d;
			const double *s = p->sum + m * Kd + (size_t)k * p->d;
			if (cnt[k] == 0)
				continue;
			for (int i = 0; i < p->d; i++) {
				double x = s[i] / cnt[k];
				c[i] = p->have ? (1 - mu) * x + mu * c[i] : x;
			}
		}
	p->have = 1;
	return RQ_OK;
}

double
rq_pmr_pce(rq_pmr *p, int md, const float *z, const int32_t *y, int B,
    float *dz, double scale, double *pt)
{
	int K = p->K, d = p->d;
	const double *C = p->proto + (size_t)md * K * d;
	double loss = 0, *s = p->sum + (size_t)2 * K * d + K, *nrm = s + K;

	for (int b = 0; b < B; b++) {
		const float *zb = z + (size_t)b * d;
		double mx = 0, sum = 0;
		for (int k = 0; k < K; k++) {
			double q = 0;
			for (int i = 0; i < d; i++) {
				double t = zb[i] - C[(size_t)k * d + i];
				q += t * t;
			}
			nrm[k] = sqrt(q);
			s[k] = -nrm[k];
			mx = k == 0 || s[k] > mx ? s[k] : mx;
		}
		for (int k = 0; k < K; k++)
			sum += s[k] = exp(s[k] - mx);
		for (int k = 0; k < K; k++)
			s[k] /= sum;
		loss -= log(s[y[b]] > 0 ? s[y[b]] : 1e-300);
		if (pt != NULL)
			*pt += s[y[b]];
		if (dz == NULL)
			continue;
		for (int k = 0; k < K; k++) {
			/* dL/ds_k times ds_k/dz = -(z - c_k)/|z - c_k| */
			double g = scale * (s[k] - (k == y[b]));
			if (nrm[k] == 0 || g == 0)
				continue;
			g = -g / nrm[k];
			for (int i = 0; i < d; i++)
				dz[(size_t)b * d + i] += (float)(g * (zb[i] -
				    C[(size_t)k * d + i]));
		}
	}
	return loss;
}

void
rq_pmr_beta(double pta, double ptv, double alpha, double beta[2])
{
	beta[0] = beta[1] = 0;
	if (pta > ptv)
		beta[1] = alpha;	/* audio ahead: pull the visual features */
	else if (pta < ptv)
		beta[0] = alpha;
}
