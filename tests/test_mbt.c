/*
 * test_mbt.c: MBT (rq-train -m mbt).  The gradient of every parameter
 * (the 1-head bottleneck blocks, the bottleneck tokens and their
 * averaging across streams, the final LNs, the Concat head, the probes)
 * against central finite differences; the bottleneck as the only path
 * between the streams; the parameter table against its formula; a
 * checkpoint round trip that keeps the bottleneck settings.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"
#include "tinymodel.h"

static void
tiny(rq_model_cfg *c, int layers, int tokens)
{
	tiny_cfg(c, RQ_METHOD_MBT);
	c->fdepth = layers;
	c->ftok = tokens;
}

static void
gradcheck(int layers, int tokens)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32], *g;
	int32_t y[3];
	int B = 3;

	tiny(&c, layers, tokens);
	m = tiny_make(&c, 21 + (uint64_t)layers);
	tiny_data(&c, B, a, v, y, 12);
	g = tiny_grads(m, a, v, y, B);
	tiny_fd_check(m, g, a, v, y, B, "mbt", NULL);
	/* the bottleneck tokens receive gradient through the averaging */
	{
		const rq_param *p = rq_model_find(m, "mbt.bot");
		double s = 0;
		cr_assert_not_null(p);
		for (size_t j = 0; j < p->n; j++)
			s += fabs(g[p->off + j]);
		cr_assert_gt(s, 1e-6, "mbt.bot has no gradient");
	}
	free(g);
	rq_model_free(m);
}

Test(mbt, gradcheck_one_layer) { gradcheck(1, 4); }
Test(mbt, gradcheck_two_layers) { gradcheck(2, 2); }
Test(mbt, gradcheck_three_layers_one_token) { gradcheck(3, 1); }

/*
 * The streams meet only through the averaged bottleneck tokens, which
 * the next layer reads: with one bottleneck layer the audio probe (on the
 * audio CLS) cannot see the visual input; with two it does.
 */
static double
probe_change(int layers)
{
	rq_model_cfg c;
	rq_model *m;
	float a[3 * 24], v[3 * 32], p0[9];
	int32_t y[3];
	double diff = 0;

	tiny(&c, layers, 4);
	m = tiny_make(&c, 5);
	tiny_data(&c, 3, a, v, y, 6);
	rq_model_forward(m, a, v, y, 3, 0, NULL);
	memcpy(p0, rq_model_logits(m, 1), sizeof p0);
	for (int i = 0; i < 3 * 32; i++)
		v[i] = -2 * v[i] + 0.5f;
	rq_model_forward(m, a, v, y, 3, 0, NULL);
	for (int i = 0; i < 9; i++)
		diff = fmax(diff, fabs(rq_model_logits(m, 1)[i] - p0[i]));
	rq_model_free(m);
	return diff;
}

Test(mbt, streams_meet_only_through_the_bottleneck)
{
	cr_assert_eq(probe_change(1), 0.0);
	cr_assert_gt(probe_change(2), 1e-4);
}

/*
 * The table: MBT = Concat + mbt.bot [B,d] + 2 blocks per bottleneck
 * layer; each block holds 2 LNs (4d), qkv (3d^2 + 3d), proj (d^2 + d),
 * fc1 (h d + h), fc2 (d h + d), h = mlp d.
 */
Test(mbt, parameter_count)
{
	rq_model_cfg c;
	rq_model *cm, *mm;
	size_t d = 8, h = 16, blk = 4 * d + 3 * d * d + 3 * d + d * d + d +
	    2 * h * d + h + d;

	tiny(&c, 3, 5);
	cr_assert_eq(rq_model_plan(&mm, &c), RQ_OK);
	c.method = RQ_METHOD_CONCAT;
	cr_assert_eq(rq_model_plan(&cm, &c), RQ_OK);
	cr_assert_eq(rq_model_nparams(mm), rq_model_nparams(cm) + 5 * d +
	    3 * 2 * blk);
	cr_assert_not_null(rq_model_find(mm, "mbt.v.blk.2.attn.qkv.w"));
	cr_assert_not_null(rq_model_find(mm, "mbt.a.blk.0.mlp.fc2.b"));
	cr_assert_null(rq_model_find(mm, "mbt.a.blk.3.ln1.g"));
	cr_assert_eq(rq_model_find(mm, "mbt.bot")->dims[0], 5);
	cr_assert_gt(rq_model_flops(mm), rq_model_flops(cm));
	rq_model_free(mm);
	rq_model_free(cm);
	c.method = RQ_METHOD_MBT;
	c.fdepth = 0;
	cr_assert_eq(rq_model_plan(&mm, &c), RQ_EINVAL);
	c.fdepth = 1;
	c.ftok = 0;
	cr_assert_eq(rq_model_plan(&mm, &c), RQ_EINVAL);
}

/* save and reopen: the bottleneck settings travel in the checkpoint */
Test(mbt, checkpoint_keeps_the_bottleneck)
{
	rq_model_cfg c, back;
	rq_model *m, *m2;

	tiny(&c, 2, 3);
	m = tiny_make(&c, 8);
	m2 = tiny_reopen(m, &back);
	cr_assert_eq(back.method, RQ_METHOD_MBT);
	cr_assert_eq(back.fdepth, 2);
	cr_assert_eq(back.ftok, 3);
	rq_model_free(m);
	rq_model_free(m2);
}
