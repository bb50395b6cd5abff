/*
 * test_count.c: count.c on the paper's size (d 768, 4 blocks, 12 heads,
 * 16x16 patches, audio 257x188, 6 classes): the thop convention gives the
 * paper's Table 4 figures to the unit (METHODS: Vanilla MT 59,870,226
 * parameters and 11,633,819,136 MACs per sample at one frame, so 1489.13
 * GFLOPs for 128 samples), the complete count at three frames adds the
 * raw tensors and the attention products; every method is annotated.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "rq.h"

static rq_model *
paper(int method, int C)
{
	rq_model_cfg c;
	rq_model *m;

	rq_model_cfg_defaults(&c);
	c.method = method;
	c.d = 768;
	c.depth = 4;
	c.heads = 12;
	c.mlp = 4;
	c.F = 257;
	c.T = 188;
	c.pf = c.pt = 16;
	c.C = C;
	c.H = c.W = 224;
	c.vc = 3;
	c.ph = c.pw = 16;
	c.classes = 6;
	c.batch = 1;
	cr_assert_eq(rq_model_plan(&m, &c), RQ_OK);
	return m;
}

static rq_count
count(const rq_model *m, int conv, int rollingq)
{
	rq_count c;

	cr_assert_eq(rq_count_model(m, conv, rollingq, &c), RQ_OK);
	return c;
}

Test(count, table4_vanilla_mt)
{
	rq_model *m = paper(RQ_METHOD_MT, 3);
	rq_count c = count(m, RQ_COUNT_THOP, 0);

	cr_assert_eq(c.params, 59870226.0);
	cr_assert_eq(c.macs, 11633819136.0);
	cr_assert_eq(c.attn_macs, 0);
	cr_assert_eq(round(c.macs * 128 / 1e7), 148913);  /* 1489.13 G */
	c = count(m, RQ_COUNT_THOP, 1);
	cr_assert_eq(c.params, 60460050.0);
	cr_assert_eq(c.macs, 11633819136.0 + 768 * 768);
	rq_model_free(m);
}

Test(count, table4_jmt)
{
	rq_model *m = paper(RQ_METHOD_JMT, 3);
	rq_count c = count(m, RQ_COUNT_THOP, 0);

	cr_assert_eq(c.params, 62232594.0);
	/* MT + layer 2's four maps over 3 tokens (the paper: 76 d^2) */
	cr_assert_eq(c.macs, 11633819136.0 + 12.0 * 768 * 768);
	rq_model_free(m);
}

/* MBT 6 + 2 with 4 bottleneck tokens: 16 ViT blocks, the blocks after
 * the sixth over 4 more rows, the concat head; the paper's 114.21 M
 * leaves the probes out.  Their 2 x 4,608 multiply-adds are left out of
 * the MACs as well, 9,216 under the hand sum of METHODS section 2 (both
 * print as 2746.90 G for 128 samples). */
Test(count, table4_mbt)
{
	rq_model *m = paper(RQ_METHOD_MBT, 3);
	rq_model_cfg c = *rq_model_config(m);
	rq_count n;

	rq_model_free(m);
	c.depth = 6;
	c.fdepth = 2;
	c.ftok = 4;
	cr_assert_eq(rq_model_plan(&m, &c), RQ_OK);
	n = count(m, RQ_COUNT_THOP, 0);
	cr_assert_eq(n.params, 114206214.0);
	cr_assert_eq(n.macs, 21460144128.0 - 9216);
	cr_assert_eq(round(n.macs * 128 / 1e7), 274690);  /* 2746.90 G */
	rq_model_free(m);
}

/* MMML: the encoders, one CME layer, the MLP head 2d -> d -> d/2 -> K
 * and the probes: METHODS section 3's 77,884,818 and 14,283,508,992 */
Test(count, table4_mmml)
{
	rq_model *m = paper(RQ_METHOD_MMML, 3);
	rq_count c = count(m, RQ_COUNT_THOP, 0);

	cr_assert_eq(c.params, 77884818.0);
	cr_assert_eq(c.macs, 14283508992.0);
	cr_assert_eq(round(c.macs * 128 / 1e7), 182829);  /* 1828.29 G */
	rq_model_free(m);
}

/* three frames: the thop MACs of METHODS section 7; the complete count
 * adds cls, pos, the fusion cls, bias adds and the attention products */
Test(count, three_frames_complete)
{
	rq_model *m = paper(RQ_METHOD_MT, 9);
	rq_count t = count(m, RQ_COUNT_THOP, 0), a = count(m, RQ_COUNT_ALL, 0);
	double d = 768, Na = 177, Nv = 589, S = 1 + Na + Nv;

	cr_assert_eq(t.macs, 23898840576.0);
	cr_assert_eq(t.params, 59870226.0);
	/* enc.a.cls, enc.v.cls, fusion.cls; the position embeddings */
	cr_assert_eq(a.params, 59870226.0 + 3 * d + (Na + Nv) * d);
	cr_assert_eq(a.attn_macs, 4 * 2 * (Na * Na + Nv * Nv) * d + 2 * S * d);
	/* rq projects the fusion query and output on the CLS row alone
	 * (thop: all S rows), and adds the biases: 9 d per token and block
	 * (qkv 3d, proj d, fc1 4d, fc2 d), d per patch, the fusion maps
	 * (q, o: d; k, v: S d), the head (6) and the probes (12) */
	cr_assert_eq(a.macs, t.macs - 2 * (S - 1) * d * d + a.attn_macs +
	    4 * 9 * d * (Na + Nv) + (Na - 1 + Nv - 1) * d + 2 * d + 2 * S * d +
	    6 + 12);
	cr_assert_eq((double)rq_model_nparams(m), a.params);
	rq_model_free(m);
}

/* every table entry of every method is annotated; a fresh entry is not */
Test(count, every_method_annotated)
{
	for (int meth = 0; meth < RQ_METHOD_COUNT; meth++) {
		rq_model *m = paper(meth, 3);
		rq_count c;
		cr_assert_eq(rq_count_model(m, RQ_COUNT_ALL, 0, &c), RQ_OK,
		    "%s: %s", rq_method_name(meth), c.bad ? c.bad : "");
		cr_assert_eq(c.params, (double)rq_model_nparams(m));
		for (int i = 0; i < rq_model_ntable(m); i++) {
			const rq_param *p = rq_model_table(m, i);
			cr_assert(p->rows >= 0 && p->rows_ref >= 0, "%s", p->name);
		}
		rq_model_free(m);
	}
}
