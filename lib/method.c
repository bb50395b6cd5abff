/*
 * method.c: the methods of rq-train -m, as data.  A row names what
 * rq_model_plan builds (model.c: the encoders, the fusion, the heads and
 * their losses) and what training may add on top of it: RollingQ at a
 * fusion query, OGM-GE on a fused head that splits per modality, PMR's
 * prototype loss on the CLS features (pmr.c).
 * Adding a method: its model (an RQ_METHOD_* and its layers in model.c
 * or its own file), one row here, tests, and rq-train(1).
 */
#include <string.h>

#include "rq.h"

static const rq_method methods[] = {
	/* name        model              encoders       fusion  q  og rq ogm pmr */
	{ "audio",     RQ_METHOD_AUDIO,   RQ_ENC_AUDIO,  "none",   0, 0, 0, 0, 0 },
	{ "visual",    RQ_METHOD_VISUAL,  RQ_ENC_VISUAL, "none",   0, 0, 0, 0, 0 },
	{ "concat",    RQ_METHOD_CONCAT,  RQ_ENC_BOTH,   "concat", 0, 1, 0, 0, 0 },
	{ "sum",       RQ_METHOD_SUM,     RQ_ENC_BOTH,   "sum",    0, 1, 0, 0, 0 },
	{ "mt",        RQ_METHOD_MT,      RQ_ENC_BOTH,   "attention", 1, 0, 0, 0, 0 },
	{ "mtstar",    RQ_METHOD_MTSTAR,  RQ_ENC_BOTH,   "attention", 2, 0, 0, 0, 0 },
	{ "mt-rq",     RQ_METHOD_MT,      RQ_ENC_BOTH,   "attention", 1, 0, 1, 0, 0 },
	{ "mtstar-rq", RQ_METHOD_MTSTAR,  RQ_ENC_BOTH,   "attention", 2, 0, 1, 0, 0 },
	{ "ogm",       RQ_METHOD_CONCAT,  RQ_ENC_BOTH,   "concat", 0, 1, 0, 1, 0 },
	{ "concat-ogm", RQ_METHOD_CONCAT, RQ_ENC_BOTH,   "concat", 0, 1, 0, 1, 0 },
	{ "jmt",       RQ_METHOD_JMT,     RQ_ENC_BOTH,   "attention", 1, 0, 0, 0, 0 },
	{ "pmr",       RQ_METHOD_CONCAT,  RQ_ENC_BOTH,   "concat", 0, 1, 0, 0, 1 },
	/* MBT: no query sees both modalities, so no RollingQ (no mbt-rq) */
	{ "mbt",       RQ_METHOD_MBT,     RQ_ENC_BOTH,   "bottleneck", 0, 0, 0, 0, 0 },
	/* MMML: RollingQ per stream at its self-attention's row-0 query */
	{ "mmml",      RQ_METHOD_MMML,    RQ_ENC_BOTH,   "cme",    2, 0, 0, 0, 0 },
	{ "mmml-rq",   RQ_METHOD_MMML,    RQ_ENC_BOTH,   "cme",    2, 0, 1, 0, 0 },
	/* MuT (MulT): RollingQ at MT's fusion query over both memories */
	{ "mut",       RQ_METHOD_MUT,     RQ_ENC_BOTH,   "crossmodal", 1, 0, 0, 0, 0 },
	{ "mut-rq",    RQ_METHOD_MUT,     RQ_ENC_BOTH,   "crossmodal", 1, 0, 1, 0, 0 },
};

int
rq_method_count(void)
{
	return (int)(sizeof methods / sizeof methods[0]);
}

const rq_method *
rq_method_at(int i)
{
	return i >= 0 && i < rq_method_count() ? &methods[i] : NULL;
}

const rq_method *
rq_method_find(const char *name)
{
	for (int i = 0; i < rq_method_count(); i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

/* the plain row of a model: the first that builds it */
const rq_method *
rq_method_of(int model)
{
	for (int i = 0; i < rq_method_count(); i++)
		if (methods[i].model == model)
			return &methods[i];
	return NULL;
}
