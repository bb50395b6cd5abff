/*
 * loss.c: softmax cross-entropy, row-major float32.
 *
 * Shapes: logits, probs, dlogits [n,k]; y [n] with 0 <= y[i] < k.
 *
 * Forward, per row: m = max_j z_j, lse = m + log sum_j exp(z_j - m)
 * (stable: every exponent is <= 0), p_j = exp(z_j - lse),
 * loss_i = lse - z_y.  Returns (1/n) sum_i loss_i in double; NaN if a
 * label is out of range.
 * Backward: dloss_i/dz_j = p_j - [j == y_i]; dlogits += scale (p - onehot)
 * (scale = 1/n for the mean loss).  The gradient accumulates (+=).
 */
#include <math.h>

#include "rq.h"

double
rq_xent_forward(float *probs, const float *logits, const int32_t *y, int n,
    int k)
{
	double total = 0;

	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const float *z = logits + (size_t)i * k;
		float *p = probs + (size_t)i * k;
		double s = 0, lse;
		float m = z[0];

		for (int j = 1; j < k; j++)
			if (z[j] > m)
				m = z[j];
		for (int j = 0; j < k; j++)
			s += exp((double)z[j] - m);
		lse = m + log(s);
		for (int j = 0; j < k; j++)
			p[j] = (float)exp((double)z[j] - lse);
		if (y[i] < 0 || y[i] >= k)
			total = NAN;
		else
			total += lse - z[y[i]];
	}
	return total / n;
}

void
rq_xent_backward(float *dlogits, const float *probs, const int32_t *y, int n,
    int k, float scale)
{
	if (dlogits == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const float *p = probs + (size_t)i * k;
		float *d = dlogits + (size_t)i * k;

		for (int j = 0; j < k; j++)
			d[j] += scale * p[j];
		if (y[i] >= 0 && y[i] < k)
			d[y[i]] -= scale;
	}
}
