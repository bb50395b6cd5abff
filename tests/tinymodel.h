/*
 * tinymodel.h: the tiny two-modality model the fusion tests share (d 8,
 * one block of 2 heads, audio 4x6 in 2x3 patches, a 2x4x4 image in 2x2
 * patches, 3 classes, batch 3, no dropout), built with parameters pushed
 * away from their init so every path carries gradient; its data; the
 * loss a parameter's gradient belongs to; the analytic gradient and its
 * check by finite differences; a random rotation R; a batch in parts
 * against the whole; a checkpoint saved and opened again.
 */
#ifndef RQ_TINYMODEL_H
#define RQ_TINYMODEL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* the dropout seed of tiny_lossof: 0, eval mode; else train mode with
 * the same dropout masks every call (the draws do not depend on the
 * parameters) */
static uint64_t tiny_drop_seed;

/* the loss a parameter's gradient belongs to: the probes are detached */
static inline double
tiny_lossof(rq_model *m, const rq_param *p, const float *a, const float *v,
    const int32_t *y, int B)
{
	rq_rng r;

	rq_rng_seed(&r, tiny_drop_seed);
	rq_model_forward(m, a, v, y, B, tiny_drop_seed != 0, &r);
	if (p->group == 1)
		return rq_model_head_loss(m, 1) + rq_model_head_loss(m, 2);
	return rq_model_head_loss(m, 0);
}

/* the gradient of the whole loss on the batch, a copy (free it) */
static inline float *
tiny_grads(rq_model *m, const float *a, const float *v, const int32_t *y,
    int B)
{
	float *g;

	rq_model_zero_grad(m);
	tiny_lossof(m, rq_model_table(m, 0), a, v, y, B);
	rq_model_backward(m, y, B);
	g = malloc(rq_model_nparams(m) * sizeof *g);
	cr_assert_not_null(g);
	memcpy(g, rq_model_grads(m), rq_model_nparams(m) * sizeof *g);
	return g;
}

/*
 * The analytic gradient g against central differences (h 1e-2) of the
 * loss each parameter belongs to, at three entries of every tensor
 * (first, middle, last): an entry passes within 2e-3 + 3e-2 |numeric|;
 * asserts that all pass, and logs those that do not under what.  num,
 * unless NULL, receives the numeric gradients, three a tensor in table
 * order.
 */
static inline void
tiny_fd_check(rq_model *m, const float *g, const float *a, const float *v,
    const int32_t *y, int B, const char *what, double *num)
{
	float *w = rq_model_params(m);
	int checked = 0, bad = 0;

	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		size_t pick[3] = {0, p->n / 2, p->n - 1};
		for (int k = 0; k < 3; k++) {
			size_t j = p->off + pick[k];
			float save = w[j], h = 1e-2f;
			double lp, lm, nj;
			w[j] = save + h;
			lp = tiny_lossof(m, p, a, v, y, B);
			w[j] = save - h;
			lm = tiny_lossof(m, p, a, v, y, B);
			w[j] = save;
			nj = (lp - lm) / (2.0 * h);
			if (num != NULL)
				num[3 * i + k] = nj;
			checked++;
			if (fabs(nj - g[j]) > 2e-3 + 3e-2 * fabs(nj)) {
				bad++;
				cr_log_error("%s %s[%zu]: analytic %.6g numeric %.6g",
				    what, p->name, pick[k], g[j], nj);
			}
		}
	}
	cr_assert_eq(bad, 0, "%d of %d gradient entries differ", bad, checked);
}

/* rotation e of the model: the plane rotation taking one random vector
 * to another */
static inline void
tiny_rotation(rq_model *m, int e, uint64_t seed)
{
	int d = rq_model_config(m)->d;
	double x[64], yv[64];
	rq_rng r;

	rq_rng_seed(&r, seed);
	for (int i = 0; i < d; i++) {
		x[i] = rq_rng_normal(&r);
		yv[i] = rq_rng_normal(&r);
	}
	cr_assert_eq(rq_rotation_plane(rq_model_rotation(m, e), x, yv,
	    (size_t)d), RQ_OK);
}

/*
 * A batch of 3 in one pass through m, and as parts of 2 and 1 through m2
 * (planned for batch 2: rq-train -u; it takes m's parameters): the
 * relative error between the two gradients.
 */
static inline double
tiny_parts_error(rq_model *m, rq_model *m2, const float *a, const float *v,
    const int32_t *y)
{
	const rq_model_cfg *c = rq_model_config(m);
	size_t P = rq_model_nparams(m), fa = (size_t)c->F * c->T,
	    fv = (size_t)c->C * c->H * c->W;
	double num = 0, den = 0;

	cr_assert_eq(P, rq_model_nparams(m2));
	memcpy(rq_model_params(m2), rq_model_params(m), P * sizeof(float));
	rq_model_zero_grad(m);
	rq_model_forward(m, a, v, y, 3, 0, NULL);
	rq_model_backward(m, y, 3);
	rq_model_zero_grad(m2);
	rq_model_forward(m2, a, v, y, 2, 0, NULL);
	rq_model_backward_part(m2, y, 2, 3);
	rq_model_forward(m2, a + 2 * fa, v + 2 * fv, y + 2, 1, 0, NULL);
	rq_model_backward_part(m2, y + 2, 1, 3);
	for (size_t i = 0; i < P; i++) {
		double g = rq_model_grads(m)[i], h = rq_model_grads(m2)[i];
		num += (g - h) * (g - h);
		den += g * g;
	}
	cr_assert_gt(den, 0);
	return sqrt(num / den);
}

/* m and st saved to a new file /tmp/rq-test-tiny.XXXXXX, whose name is
 * left in path (the caller unlinks it) */
static inline void
tiny_save(rq_model *m, const rq_train_state *st, char path[32])
{
	char err[256];
	int fd;

	snprintf(path, 32, "/tmp/rq-test-tiny.XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(rq_ckpt_save(path, m, st, err, sizeof err), RQ_OK, "%s",
	    err);
}

/*
 * Save m and open the checkpoint again: *back is the configuration it
 * holds; the model planned from it (m's batch and optimizer slots) reads
 * parameters equal to m's.  The caller frees that model.
 */
static inline rq_model *
tiny_reopen(rq_model *m, rq_model_cfg *back)
{
	const rq_model_cfg *c = rq_model_config(m);
	rq_model *m2;
	rq_ckpt *ck;
	rq_train_cfg h;
	rq_train_state st;
	char path[32], err[256];

	memset(&st, 0, sizeof st);
	rq_train_cfg_defaults(&st.train);
	tiny_save(m, &st, path);
	cr_assert_eq(rq_ckpt_open(&ck, path, back, &h, err, sizeof err),
	    RQ_OK, "%s", err);
	back->batch = c->batch;
	back->opt_slots = c->opt_slots;
	cr_assert_eq(rq_model_plan(&m2, back), RQ_OK);
	cr_assert_eq(rq_model_alloc(m2), RQ_OK);
	cr_assert_eq(rq_ckpt_read(ck, m2, NULL, err, sizeof err), RQ_OK, "%s",
	    err);
	cr_assert_eq(memcmp(rq_model_params(m), rq_model_params(m2),
	    rq_model_nparams(m) * sizeof(float)), 0);
	rq_ckpt_close(ck);
	unlink(path);
	return m2;
}

#endif
