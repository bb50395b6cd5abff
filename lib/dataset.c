/*
 * dataset.c: a data set stream in memory.  Records: two modalities by
 * name (audio f32 [N,F,T] and visual f32 [N,C,H,W] unless the caller
 * names others), label i32 [N], optional id i64 [N]; a stream may hold
 * several such groups (chunks), concatenated along axis 0.  Other
 * records are skipped.  Slot 0 takes [N,F,T], slot 1 [N,C,H,W]; either
 * takes a sequence [N,T,F] (metadata layout=seq, or the caller's seq
 * bit), kept as slot 0's [F,T] = [T,F] or slot 1's [1,H,W] = [1,T,F],
 * so that each step is one row.  classes= from the metadata, else max
 * label + 1.  Everything read is checked before use: no zero or
 * int-overflowing sample dimension, one layout and one sample shape
 * over the chunks, labels in [0, classes) (and below RQ_MAX_CLASSES
 * without classes=), every modality value finite (the loss of a single
 * NaN input is NaN, and so is every weight one step later).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

static int
grow(void **buf, size_t *cap, size_t need)
{
	void *p;
	size_t nc;

	if (need <= *cap)
		return RQ_OK;
	nc = *cap ? *cap : 4096;
	while (nc < need)
		nc *= 2;
	if ((p = realloc(*buf, nc)) == NULL)
		return RQ_ENOMEM;
	*buf = p;
	*cap = nc;
	return RQ_OK;
}

/* sample dims d[1..ndim) nonzero, each and their product at most INT_MAX */
static int
sample_dims_ok(const rq_tensor *t)
{
	uint64_t p = 1;

	for (int i = 1; i < t->ndim; i++) {
		if (t->dims[i] == 0 || t->dims[i] > INT_MAX)
			return 0;
		p *= t->dims[i];
		if (p > INT_MAX)
			return 0;
	}
	return 1;
}

/* index of the first non-finite float of t, or (size_t)-1 */
static size_t
first_nonfinite(const rq_tensor *t)
{
	const float *x = t->data;
	size_t n = t->nbytes / sizeof *x;

	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return i;
	return (size_t)-1;
}

/* classes= of t: 0 absent, 1 set in *k, -1 present but not in [2, max] */
static int
classes_meta(const rq_tensor *t, int *k)
{
	char buf[64];
	double kd;

	if (rq_meta_get(t, "classes", buf, sizeof buf) == NULL)
		return 0;
	if (rq_meta_getd(t, "classes", &kd) != RQ_OK || kd != floor(kd) ||
	    kd < 2 || kd > RQ_MAX_CLASSES)
		return -1;
	*k = (int)kd;
	return 1;
}

void
rq_dataset_free(rq_dataset *ds)
{
	free(ds->audio);
	free(ds->visual);
	free(ds->label);
	free(ds->id);
	memset(ds, 0, sizeof *ds);
}

static const char *const layout_names[] = {"spectrogram", "frames", "seq"};

const char *
rq_layout_name(int layout)
{
	return layout >= 0 && layout <= RQ_LAYOUT_SEQ ? layout_names[layout] :
	    "?";
}

int
rq_layout_parse(const char *s)
{
	for (int i = 0; i <= RQ_LAYOUT_SEQ; i++)
		if (strcmp(s, layout_names[i]) == 0)
			return i;
	return -1;
}

int
rq_modality_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= RQ_MODNAME_MAX || strcmp(s, "label") == 0 ||
	    strcmp(s, "id") == 0)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-") == n;
}

int
rq_dataset_load(rq_dataset *ds, const char *path, char *err, size_t errn)
{
	return rq_dataset_load_named(ds, path, "audio", "visual", 0, err, errn);
}

/* the record's layout in slot sl: RQ_LAYOUT_*, or -1 with err set */
static int
record_layout(const rq_tensor *t, int sl, unsigned seq, const char *path,
    long rec, char *err, size_t errn)
{
	char buf[32];
	int ls = rq_meta_get(t, "layout", buf, sizeof buf) != NULL;

	if (ls && strcmp(buf, "seq") != 0) {
		snprintf(err, errn, "%s: record %ld: %s: layout=%s: the only "
		    "layout is seq", path, rec, t->name, buf);
		return -1;
	}
	if (t->dtype != RQ_F32) {
		snprintf(err, errn, "%s: record %ld: %s: unexpected dtype %s or "
		    "rank %d", path, rec, t->name, rq_dtype_name(t->dtype),
		    t->ndim);
		return -1;
	}
	if (ls || (seq >> sl & 1)) {
		if (t->ndim != 3) {
			snprintf(err, errn, "%s: record %ld: %s: a sequence is "
			    "[N,T,F], got rank %d", path, rec, t->name, t->ndim);
			return -1;
		}
		return RQ_LAYOUT_SEQ;
	}
	if (sl == 0 && t->ndim == 3)
		return RQ_LAYOUT_SPEC;
	if (sl == 1 && t->ndim == 4)
		return RQ_LAYOUT_FRAMES;
	if (sl == 1 && t->ndim == 3)
		snprintf(err, errn, "%s: record %ld: %s: rank 3 in the second "
		    "slot is a sequence [N,T,F]: mark it layout=seq (or "
		    "--seq %s)", path, rec, t->name, t->name);
	else
		snprintf(err, errn, "%s: record %ld: %s: unexpected dtype %s or "
		    "rank %d (the %s slot takes %s or a sequence [N,T,F])",
		    path, rec, t->name, rq_dtype_name(t->dtype), t->ndim,
		    sl ? "second" : "first", sl ? "[N,C,H,W]" : "[N,F,T]");
	return -1;
}

int
rq_dataset_load_named(rq_dataset *ds, const char *path, const char *ma,
    const char *mv, unsigned seq, char *err, size_t errn)
{
	rq_stream *s;
	rq_tensor t;
	size_t nm[2] = {0, 0}, cap[2] = {0, 0}, nl = 0, ni = 0, capl = 0;
	size_t capi = 0, bad;
	size_t lsample = 0;		/* the largest label's sample */
	char buf[64];
	int rc, k, sl = 0;
	int32_t maxl = -1;		/* largest label */
	long rec = 0, lrec = 0, last = 0;

	memset(ds, 0, sizeof *ds);
	if (!rq_modality_name_ok(ma) || !rq_modality_name_ok(mv) ||
	    strcmp(ma, mv) == 0) {
		snprintf(err, errn, "%s: bad modality names: %s, %s", path, ma,
		    mv);
		return RQ_EINVAL;
	}
	snprintf(ds->mod[0], sizeof ds->mod[0], "%s", ma);
	snprintf(ds->mod[1], sizeof ds->mod[1], "%s", mv);
	ds->layout[0] = ds->layout[1] = -1;
	if ((s = rq_stream_open(path, "r")) == NULL) {
		snprintf(err, errn, "%s: cannot open", path);
		return RQ_EIO;
	}
	rq_tensor_init(&t);
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
		const char *nm0 = t.name;
		size_t n0 = t.ndim > 0 ? (size_t)t.dims[0] : 0;
		rec = rq_stream_record(s) - 1;	/* the record just read */
		if (strcmp(nm0, ma) == 0 || strcmp(nm0, mv) == 0) {
			int lay, d1, d2, d3;
			float **dst;
			sl = strcmp(nm0, ma) == 0 ? 0 : 1;
			if ((lay = record_layout(&t, sl, seq, path, rec, err,
			    errn)) < 0) {
				rc = RQ_EFORMAT;
				goto fail;
			}
			if (!sample_dims_ok(&t))
				goto dims;
			if (ds->layout[sl] >= 0 && ds->layout[sl] != lay) {
				snprintf(err, errn, "%s: record %ld: %s: layout %s "
				    "differs from the first chunk's %s", path, rec,
				    t.name, rq_layout_name(lay),
				    rq_layout_name(ds->layout[sl]));
				rc = RQ_EFORMAT;
				goto fail;
			}
			/* the slot's view: slot 0 [F,T], slot 1 [C,H,W] */
			d1 = (int)t.dims[1];
			d2 = (int)t.dims[2];
			d3 = t.ndim > 3 ? (int)t.dims[3] : 0;
			if (sl == 1 && lay == RQ_LAYOUT_SEQ) {
				d3 = d2;
				d2 = d1;
				d1 = 1;
			}
			if (nm[sl] > 0 && (sl == 0 ? ds->F != d1 || ds->T != d2 :
			    ds->C != d1 || ds->H != d2 || ds->W != d3))
				goto shape;
			if ((bad = first_nonfinite(&t)) != (size_t)-1)
				goto nonfinite;
			ds->layout[sl] = lay;
			if (sl == 0) {
				ds->F = d1;
				ds->T = d2;
			} else {
				ds->C = d1;
				ds->H = d2;
				ds->W = d3;
			}
			dst = sl == 0 ? &ds->audio : &ds->visual;
			if ((rc = grow((void **)dst, &cap[sl], nm[sl] * 4 +
			    t.nbytes)) != RQ_OK)
				goto fail;
			if (t.nbytes > 0)
				memcpy((char *)*dst + nm[sl] * 4, t.data,
				    t.nbytes);
			nm[sl] += t.nbytes / 4;
		} else if (strcmp(nm0, "label") == 0) {
			if (t.dtype != RQ_I32 || t.ndim != 1)
				goto bad;
			if ((rc = grow((void **)&ds->label, &capl, (nl + n0) * 4))
			    != RQ_OK)
				goto fail;
			if (t.nbytes > 0)
				memcpy(ds->label + nl, t.data, t.nbytes);
			for (size_t i = 0; i < n0; i++)
				if (ds->label[nl + i] < 0) {
					snprintf(err, errn, "%s: record %ld: negative "
					    "label %d (sample %zu)", path, rec,
					    (int)ds->label[nl + i], nl + i);
					rc = RQ_EFORMAT;
					goto fail;
				} else if (ds->label[nl + i] > maxl) {
					maxl = ds->label[nl + i];
					lrec = rec;
					lsample = nl + i;
				}
			nl += n0;
		} else if (strcmp(nm0, "id") == 0) {
			if (t.dtype != RQ_I64 || t.ndim != 1)
				goto bad;
			if ((rc = grow((void **)&ds->id, &capi, (ni + n0) * 8))
			    != RQ_OK)
				goto fail;
			if (t.nbytes > 0)
				memcpy(ds->id + ni, t.data, t.nbytes);
			ni += n0;
		} else
			continue;
		last = rec;
		if (rq_meta_get(&t, "dataset", buf, sizeof buf) != NULL)
			snprintf(ds->name, sizeof ds->name, "%s", buf);
		if (rq_meta_get(&t, "split", buf, sizeof buf) != NULL)
			snprintf(ds->split, sizeof ds->split, "%.15s", buf);
		switch (classes_meta(&t, &k)) {
		case -1:
			snprintf(err, errn, "%s: record %ld: %s: classes= must be "
			    "an integer in [2, %d]", path, rec, t.name,
			    RQ_MAX_CLASSES);
			rc = RQ_EFORMAT;
			goto fail;
		case 1:
			ds->classes = k;
			break;
		}
	}
	if (rc != RQ_EOF) {
		snprintf(err, errn, "%s", rq_stream_error(s));
		goto fail;
	}
	rq_stream_close(s);
	rq_tensor_free(&t);
	ds->n = nl;
	if (nl == 0 || ds->F == 0 || ds->C == 0) {
		snprintf(err, errn, "%s: need %s [N,F,T], %s [N,C,H,W] and "
		    "label [N] with one N (got %zu labels)", path, ma, mv, nl);
		rq_dataset_free(ds);
		return RQ_EFORMAT;
	}
	if (nm[0] != nl * (size_t)ds->F * ds->T ||
	    nm[1] != nl * (size_t)ds->C * ds->H * ds->W ||
	    (ni != 0 && ni != nl)) {
		size_t sa = (size_t)ds->F * ds->T;
		size_t sv = (size_t)ds->C * ds->H * ds->W;

		snprintf(err, errn, "%s: record %ld: sample counts differ: %s "
		    "%zu, %s %zu, label %zu%s", path, last, ma, sa ? nm[0] / sa :
		    0, mv, sv ? nm[1] / sv : 0, nl, ni != 0 && ni != nl ?
		    ", id differs" : "");
		rq_dataset_free(ds);
		return RQ_EFORMAT;
	}
	/* compared as labels, never as label + 1: INT32_MAX must not wrap */
	if (ds->classes >= 2 && maxl >= ds->classes) {
		snprintf(err, errn, "%s: record %ld: label %d out of range "
		    "(classes=%d) (sample %zu)", path, lrec, (int)maxl,
		    ds->classes, lsample);
		rq_dataset_free(ds);
		return RQ_EFORMAT;
	}
	if (ds->classes < 2 && maxl >= RQ_MAX_CLASSES) {
		snprintf(err, errn, "%s: record %ld: label %d out of range "
		    "(no classes= metadata: at most %d classes) (sample %zu)",
		    path, lrec, (int)maxl, RQ_MAX_CLASSES, lsample);
		rq_dataset_free(ds);
		return RQ_EFORMAT;
	}
	if (ds->classes < 2)
		ds->classes = maxl < 1 ? 2 : (int)maxl + 1;
	return RQ_OK;
dims:
	{
		char sh[128];

		rq_tensor_shape_str(&t, sh, sizeof sh);
		snprintf(err, errn, "%s: record %ld: %s: sample shape %s has a "
		    "zero or too large dimension", path, rec, t.name, sh);
	}
	rc = RQ_EFORMAT;
	goto fail;
nonfinite:
	{
		size_t per = 1, before;

		for (int i = 1; i < t.ndim; i++)
			per *= (size_t)t.dims[i];
		before = nm[sl] / per;
		snprintf(err, errn, "%s: record %ld: %s: sample %zu: non-finite "
		    "value %g", path, rec, t.name, before + bad / per,
		    (double)((const float *)t.data)[bad]);
	}
	rc = RQ_ENUM;
	goto fail;
bad:
	snprintf(err, errn, "%s: record %ld: %s: unexpected dtype %s or rank "
	    "%d", path, rec, t.name, rq_dtype_name(t.dtype), t.ndim);
	rc = RQ_EFORMAT;
	goto fail;
shape:
	snprintf(err, errn, "%s: record %ld: %s: chunk shape differs from the "
	    "first chunk", path, rec, t.name);
	rc = RQ_EFORMAT;
fail:
	rq_stream_close(s);
	rq_tensor_free(&t);
	rq_dataset_free(ds);
	return rc == RQ_OK ? RQ_EFORMAT : rc;
}

/*
 * Indices are checked first: RQ_ERANGE and nothing copied if one is outside
 * [0, n) (a corrupt permutation must not read outside the set).
 */
int
rq_dataset_batch(const rq_dataset *ds, const int64_t *idx, int B, float *a,
    float *v, int32_t *y)
{
	size_t sa = (size_t)ds->F * ds->T, sv = (size_t)ds->C * ds->H * ds->W;

	if (B < 0)
		return RQ_ERANGE;
	for (int b = 0; b < B; b++)
		if (idx[b] < 0 || (uint64_t)idx[b] >= ds->n)
			return RQ_ERANGE;
	for (int b = 0; b < B; b++) {
		size_t i = (size_t)idx[b];
		if (a != NULL)
			memcpy(a + b * sa, ds->audio + i * sa, sa * sizeof(float));
		if (v != NULL)
			memcpy(v + b * sv, ds->visual + i * sv, sv * sizeof(float));
		if (y != NULL)
			y[b] = ds->label[i];
	}
	return RQ_OK;
}
