/*
 * count.c: parameters and multiply-accumulates of a planned model, summed
 * over its parameter table, so a model is counted by annotating its
 * tensors (model.c: kind, and the token rows per sample each is applied
 * to) and its attention products (rq_model_attn_macs).
 *
 * Per tensor p of n elements applied to r rows per sample:
 *   Linear weight [out,in]: r in out MACs;  bias [out]: r out adds (ALL)
 *   LayerNorm gain [d]: r 4 d (thop's 2 numel, doubled for the affine
 *   map; counted once per LayerNorm, on the gain); its shift: nothing
 *   raw tensors (tokens, embeddings): parameters only (ALL)
 * RQ_COUNT_THOP (the paper's Table 4, thop 0.1 hooks): r = rows_ref, the
 * rows of the authors' PyTorch module; tensors that do not run (r = 0)
 * and raw tensors left out; no bias, no attention products.
 * RQ_COUNT_ALL: r = rows, the rows rq computes; every tensor; bias adds
 * and attention products (QK^T, AV) included.
 * rollingq: R [d,d] per fusion query, d*d parameters and d*d MACs (R q).
 */
#include "rq.h"

int
rq_count_model(const rq_model *m, int conv, int rollingq, rq_count *out)
{
	double d = rq_model_config(m)->d;

	out->params = out->macs = out->attn_macs = 0;
	out->bad = NULL;
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		double r = conv == RQ_COUNT_THOP ? p->rows_ref : p->rows;
		double n = (double)p->n;
		if (r < 0) {
			out->bad = p->name;
			return RQ_EINVAL;
		}
		if (conv == RQ_COUNT_THOP && (p->kind == RQ_KIND_RAW || r == 0))
			continue;
		out->params += n;
		switch (p->kind) {
		case RQ_KIND_LINW:
			out->macs += r * n;
			break;
		case RQ_KIND_LINB:
			if (conv == RQ_COUNT_ALL)
				out->macs += r * n;
			break;
		case RQ_KIND_LNG:
			out->macs += r * 4 * n;
			break;
		default:
			break;
		}
	}
	if (conv == RQ_COUNT_ALL) {
		out->attn_macs = rq_model_attn_macs(m);
		out->macs += out->attn_macs;
	}
	if (rollingq) {
		double nq = rq_model_fusion_layers(m);
		out->params += nq * d * d;
		out->macs += nq * d * d;
	}
	return RQ_OK;
}
