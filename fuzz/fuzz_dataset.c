/*
 * fuzz_dataset.c: libFuzzer target for the data set reader every training
 * program shares: chunks, modality shapes, sample counts, label ranges.
 * Each input is loaded twice: as audio and visual (rq_dataset_load), and
 * with both slots read as sequences [N,T,F] (rq_dataset_load_named, the
 * path of --seq and of layout=seq records).  A loaded set must yield a
 * batch of its first and last samples; a refusal must say why in one line.
 */
#include "memfile.h"

#include <string.h>

#include "rq.h"

static void
check(int rc, rq_dataset *ds, const char *err)
{
	if (rc == RQ_OK) {
		size_t fa = (size_t)ds->F * ds->T;
		size_t fv = (size_t)ds->C * ds->H * ds->W;
		int64_t idx[2] = {0, (int64_t)ds->n - 1};
		float *a = malloc(2 * (fa ? fa : 1) * sizeof *a);
		float *v = malloc(2 * (fv ? fv : 1) * sizeof *v);
		int32_t y[2];

		if (ds->n < 1 || a == NULL || v == NULL)
			abort();
		if (rq_dataset_batch(ds, idx, 2, a, v, y) != RQ_OK)
			abort();	/* its own first and last sample refused */
		for (int i = 0; i < 2; i++)
			if (ds->classes > 0 && (y[i] < 0 || y[i] >= ds->classes))
				abort();	/* label out of range passed */
		free(a);
		free(v);
		rq_dataset_free(ds);
	} else if (err[0] == '\0' || strchr(err, '\n')) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	rq_dataset ds;
	int rc;

	memset(&ds, 0, sizeof ds);
	rc = rq_dataset_load(&ds, memfile(data, size), err, sizeof err);
	check(rc, &ds, err);
	err[0] = '\0';
	memset(&ds, 0, sizeof ds);
	rc = rq_dataset_load_named(&ds, memfile(data, size), "audio", "visual",
	    3, err, sizeof err);
	check(rc, &ds, err);
	return 0;
}
