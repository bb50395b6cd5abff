/*
 * optim.c: SGD with momentum and weight decay, AdamW, and the cosine
 * learning-rate schedule with linear warm-up.  Vectors p, g, m, v [n].
 *
 * SGD (torch.optim.SGD, dampening 0, buffer starting at 0):
 *   g' = g + wd p;  m = mom m + g';  p = p - lr m
 * AdamW (Loshchilov & Hutter, torch.optim.AdamW):
 *   p = p (1 - lr wd);  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p = p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * Schedule at optimizer step s (0-based) of total, warm-up w steps:
 *   s < w: lr s/w;  else lr (1 + cos(pi (s-w)/(total-w))) / 2
 * (transformers' get_cosine_schedule_with_warmup, as the authors use:
 * the very first step has lr 0)
 */
#include <math.h>

#include "rq.h"

void
rq_sgd_step(float *p, const float *g, float *mbuf, size_t n, double lr,
    double mom, double wd)
{
	float l = (float)lr, mo = (float)mom, w = (float)wd;

	for (size_t i = 0; i < n; i++) {
		float gi = g[i] + w * p[i];
		mbuf[i] = mo * mbuf[i] + gi;
		p[i] -= l * mbuf[i];
	}
}

void
rq_adamw_step(float *p, const float *g, float *m, float *v, size_t n,
    double lr, double b1, double b2, double eps, double wd, long t)
{
	double c1 = 1 - pow(b1, (double)t), c2 = 1 - pow(b2, (double)t);
	float decay = (float)(1 - lr * wd), fb1 = (float)b1, fb2 = (float)b2;

	for (size_t i = 0; i < n; i++) {
		double mh, vh;
		p[i] *= decay;
		m[i] = fb1 * m[i] + (1 - fb1) * g[i];
		v[i] = fb2 * v[i] + (1 - fb2) * g[i] * g[i];
		mh = m[i] / c1;
		vh = v[i] / c2;
		p[i] -= (float)(lr * mh / (sqrt(vh) + eps));
	}
}

double
rq_lr_cosine(double base, long step, long warm, long total)
{
	if (step < warm)
		return base * (double)step / (double)warm;
	if (total <= warm)
		return base;
	if (step >= total)
		step = total - 1;
	return base * 0.5 * (1 + cos(M_PI * (double)(step - warm) /
	    (double)(total - warm)));
}
