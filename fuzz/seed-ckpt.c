/*
 * seed-ckpt.c: writes the checkpoint seeds of testdata/fuzz/ckpt/ (tiny
 * models, one per method family).  Build and run from the repository root:
 *   cc -Ilib fuzz/seed-ckpt.c lib/librq.a $(pkg-config --libs gsl \
 *       libpng sndfile zlib openblas) -lm -o /tmp/seed-ckpt && /tmp/seed-ckpt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

static void
save(int method, const char *path, int midepoch)
{
	rq_model_cfg c;
	rq_model *m;
	rq_train_state st;
	int64_t perm[16];
	char err[256];
	rq_rng r;

	rq_model_cfg_defaults(&c);
	c.method = method;
	c.d = 4;
	c.depth = 1;
	c.heads = 2;
	c.mlp = 1;
	c.F = c.T = 4;
	c.pf = c.pt = 2;
	c.C = 1;
	c.vc = 1;
	c.H = c.W = 4;
	c.ph = c.pw = 2;
	c.classes = 3;
	c.batch = 2;
	c.opt_slots = 1;
	if (rq_model_plan(&m, &c) != RQ_OK || rq_model_alloc(m) != RQ_OK)
		exit(1);
	rq_rng_seed(&r, 1);
	rq_model_init_params(m, &r);
	memset(&st, 0, sizeof st);
	st.epoch = 2;
	st.step = 10;
	st.rng = r;
	rq_train_cfg_defaults(&st.train);
	st.train.lr = 0.01;
	st.train.epochs = 5;
	st.train.batch = 4;	/* 16 samples: 4 batches, position 3 valid */
	if (midepoch) {
		for (int i = 0; i < 16; i++)
			perm[i] = 15 - i;
		st.perm = perm;
		st.nperm = 16;
		st.batch = 3;
	}
	if (rq_ckpt_save(path, m, &st, err, sizeof err) != RQ_OK) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	rq_model_free(m);
}

int
main(void)
{
	save(RQ_METHOD_MT, "testdata/fuzz/ckpt/mt-midepoch", 1);
	save(RQ_METHOD_CONCAT, "testdata/fuzz/ckpt/concat", 0);
	save(RQ_METHOD_AUDIO, "testdata/fuzz/ckpt/audio", 0);
	return 0;
}
