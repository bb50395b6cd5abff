/*
 * tinymodel.h: the tiny two-modality model the fusion tests share (d 8,
 * one block of 2 heads, audio 4x6 in 2x3 patches, a 2x4x4 image in 2x2
 * patches, 3 classes, batch 3, no dropout), built with parameters pushed
 * away from their init so every path carries gradient; its data; and the
 * loss a parameter's gradient belongs to.
 */
#ifndef RQ_TINYMODEL_H
#define RQ_TINYMODEL_H

#include <criterion/criterion.h>

#include "rq.h"

static inline void
tiny_cfg(rq_model_cfg *c, int method)
{
	rq_model_cfg_defaults(c);
	c->method = method;
	c->d = 8;
	c->depth = 1;
	c->heads = 2;
	c->mlp = 2;
	c->F = 4;
	c->T = 6;
	c->pf = 2;
	c->pt = 3;
	c->C = 2;
	c->H = 4;
	c->W = 4;
	c->vc = 1;
	c->ph = c->pw = 2;
	c->classes = 3;
	c->batch = 3;
	c->drop = 0;
	c->opt_slots = 1;
}

static inline rq_model *
tiny_make(const rq_model_cfg *c, uint64_t seed)
{
	rq_model *m;
	rq_rng r;

	cr_assert_eq(rq_model_plan(&m, c), RQ_OK);
	cr_assert_eq(rq_model_alloc(m), RQ_OK);
	rq_rng_seed(&r, seed);
	rq_model_init_params(m, &r);
	/* larger tokens, biases and LN parameters than the init, so every
	 * path carries gradient */
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		float *w = rq_model_params(m) + p->off;
		double s = p->init == RQ_INIT_ONE ? 0.2 : p->init ==
		    RQ_INIT_XAVIER ? 0 : 0.3;
		for (size_t j = 0; j < p->n; j++)
			w[j] += (float)(s * rq_rng_normal(&r));
	}
	return m;
}

static inline void
tiny_data(const rq_model_cfg *c, int B, float *a, float *v, int32_t *y,
    uint64_t seed)
{
	rq_rng r;

	rq_rng_seed(&r, seed);
	for (int i = 0; i < B * c->F * c->T; i++)
		a[i] = (float)rq_rng_normal(&r);
	for (int i = 0; i < B * c->C * c->H * c->W; i++)
		v[i] = (float)rq_rng_normal(&r);
	for (int b = 0; b < B; b++)
		y[b] = (int32_t)rq_rng_below(&r, (uint64_t)c->classes);
}

/* the loss a parameter's gradient belongs to: the probes are detached */
static inline double
tiny_lossof(rq_model *m, const rq_param *p, const float *a, const float *v,
    const int32_t *y, int B)
{
	rq_model_forward(m, a, v, y, B, 0, NULL);
	if (p->group == 1)
		return rq_model_head_loss(m, 1) + rq_model_head_loss(m, 2);
	return rq_model_head_loss(m, 0);
}

#endif
