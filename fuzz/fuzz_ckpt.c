/*
 * fuzz_ckpt.c: libFuzzer target for checkpoint loading (rq_ckpt_open
 * with the training settings, then rq_ckpt_read into a model planned from that config).  Configs whose
 * arena exceeds 64 MiB are planned but not allocated.
 */
#include "memfile.h"

#include <string.h>

#include "rq.h"

static int
one_line(const char *err)
{
	return err[0] != '\0' && strchr(err, '\n') == NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = memfile(data, size);
	char err[256] = "";
	rq_model_cfg cfg;
	rq_train_cfg tc;
	rq_ckpt *ck;
	rq_train_state st;
	rq_model *m = NULL;
	int64_t perm[16];

	rq_model_cfg_defaults(&cfg);
	if (rq_ckpt_open(&ck, path, &cfg, &tc, err, sizeof err) != RQ_OK) {
		if (!one_line(err))
			abort();
		return 0;
	}
	if (rq_model_plan(&m, &cfg) != RQ_OK) {
		rq_ckpt_close(ck);
		return 0;
	}
	if (rq_model_arena_bytes(m) <= (size_t)64 << 20 &&
	    rq_model_alloc(m) == RQ_OK) {
		memset(&st, 0, sizeof st);
		st.perm = perm;
		st.nperm = 16;
		err[0] = '\0';
		if (rq_ckpt_read(ck, m, &st, err, sizeof err) != RQ_OK &&
		    !one_line(err))
			abort();
	}
	rq_ckpt_close(ck);
	rq_model_free(m);
	return 0;
}
