/*
 * ckpt.c: checkpoints as tensor streams.  Records, in order:
 *   checkpoint  u8 [1]   metadata: the model config (method, d, depth,
 *                        heads, mlp, F T pf pt, C H W vc ph pw, classes,
 *                        drop), the training position (epoch, step,
 *                        batch, best.*, acc.0..7) and train.* hyper-
 *                        parameters
 *   <param>     f32      one record per parameter, rq_model_table order
 *   optim.0, optim.1  f32 [P]  optimizer state (as many as it keeps)
 *   rng.state   u64 [4]  meta has_spare, spare (hex float)
 *   fusion.R    f64 [d,d] R_total, meta rotations=
 *   fusion.1.R  f64 [d,d] MT* layer 2's R_total, meta rotations=
 *   train.perm  i64 [n]  the current epoch's order (only mid-epoch)
 * Doubles in metadata are written with %a so they read back exactly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

static int
put(rq_stream *s, rq_tensor *t, const char *name, int dtype, int ndim,
    const uint64_t *dims, const void *data)
{
	int rc;

	rq_meta_clear(t);
	if ((rc = rq_tensor_alloc(t, dtype, ndim, dims)) != RQ_OK ||
	    (rc = rq_tensor_set_name(t, name)) != RQ_OK)
		return rc;
	if (data != NULL)
		memcpy(t->data, data, t->nbytes);
	return RQ_OK;
}

static int
cfg_meta(rq_tensor *t, const rq_model_cfg *c)
{
	int rc = 0;

	rc |= rq_meta_set(t, "format", "rq-checkpoint");
	rc |= rq_meta_set(t, "method", "%s", rq_method_name(c->method));
	rc |= rq_meta_set(t, "d", "%d", c->d);
	rc |= rq_meta_set(t, "depth", "%d", c->depth);
	rc |= rq_meta_set(t, "heads", "%d", c->heads);
	rc |= rq_meta_set(t, "mlp", "%d", c->mlp);
	rc |= rq_meta_set(t, "audio.F", "%d", c->F);
	rc |= rq_meta_set(t, "audio.T", "%d", c->T);
	rc |= rq_meta_set(t, "audio.pf", "%d", c->pf);
	rc |= rq_meta_set(t, "audio.pt", "%d", c->pt);
	rc |= rq_meta_set(t, "visual.C", "%d", c->C);
	rc |= rq_meta_set(t, "visual.H", "%d", c->H);
	rc |= rq_meta_set(t, "visual.W", "%d", c->W);
	rc |= rq_meta_set(t, "visual.vc", "%d", c->vc);
	rc |= rq_meta_set(t, "visual.ph", "%d", c->ph);
	rc |= rq_meta_set(t, "visual.pw", "%d", c->pw);
	rc |= rq_meta_set(t, "classes", "%d", c->classes);
	rc |= rq_meta_set(t, "drop", "%a", (double)c->drop);
	return rc ? RQ_EINVAL : RQ_OK;
}

int
rq_ckpt_save(const char *path, rq_model *m, const rq_train_state *st,
    char *err, size_t errn)
{
	const rq_model_cfg *c = rq_model_config(m);
	rq_stream *s;
	rq_tensor t;
	uint64_t dims[2];
	int rc = RQ_OK;
	const char *h, *nl;

	if ((s = rq_stream_open(path, "w")) == NULL) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return RQ_EIO;
	}
	rq_tensor_init(&t);
	dims[0] = 1;
	if ((rc = put(s, &t, "checkpoint", RQ_U8, 1, dims, NULL)) != RQ_OK)
		goto fail;
	((uint8_t *)t.data)[0] = 1;
	rc = cfg_meta(&t, c);
	rc |= rq_meta_set(&t, "epoch", "%ld", st->epoch);
	rc |= rq_meta_set(&t, "step", "%ld", st->step);
	rc |= rq_meta_set(&t, "batch", "%ld", st->batch);
	rc |= rq_meta_set(&t, "best.val", "%a", st->best_val);
	rc |= rq_meta_set(&t, "best.test", "%a", st->best_test);
	rc |= rq_meta_set(&t, "best.train", "%a", st->best_train);
	rc |= rq_meta_set(&t, "best.epoch", "%ld", st->best_epoch);
	for (int i = 0; i < 8; i++) {
		char k[16];
		snprintf(k, sizeof k, "acc.%d", i);
		rc |= rq_meta_set(&t, k, "%a", st->acc[i]);
	}
	for (h = st->hyper; *h != '\0'; h = *nl ? nl + 1 : nl) {
		char key[128], *eq, full[300];
		const char *val;
		nl = strchr(h, '\n');
		if (nl == NULL)
			nl = h + strlen(h);
		if ((size_t)(nl - h) >= sizeof key)
			continue;
		memcpy(key, h, (size_t)(nl - h));
		key[nl - h] = '\0';
		if ((eq = strchr(key, '=')) == NULL)
			continue;
		*eq = '\0';
		val = eq + 1;
		snprintf(full, sizeof full, "train.%s", key);
		rc |= rq_meta_set(&t, full, "%s", val);
	}
	if (rc != RQ_OK) {
		snprintf(err, errn, "%s: bad checkpoint metadata", path);
		rc = RQ_EINVAL;
		goto fail2;
	}
	if ((rc = rq_tensor_write(s, &t)) != RQ_OK)
		goto fail;
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		if ((rc = put(s, &t, p->name, RQ_F32, p->ndim, p->dims,
		    rq_model_params(m) + p->off)) != RQ_OK ||
		    (rc = rq_tensor_write(s, &t)) != RQ_OK)
			goto fail;
	}
	for (int k = 0; k < c->opt_slots; k++) {
		char nm[24];
		snprintf(nm, sizeof nm, "optim.%d", k);
		dims[0] = rq_model_nparams(m);
		if ((rc = put(s, &t, nm, RQ_F32, 1, dims,
		    rq_model_state(m, k))) != RQ_OK ||
		    (rc = rq_tensor_write(s, &t)) != RQ_OK)
			goto fail;
	}
	dims[0] = 4;
	if ((rc = put(s, &t, "rng.state", RQ_U64, 1, dims, st->rng.s)) !=
	    RQ_OK)
		goto fail;
	rq_meta_set(&t, "has_spare", "%d", st->rng.has_spare);
	rq_meta_set(&t, "spare", "%a", st->rng.spare);
	if ((rc = rq_tensor_write(s, &t)) != RQ_OK)
		goto fail;
	for (int l = 0; l < rq_model_fusion_layers(m); l++) {
		char nm[32];
		snprintf(nm, sizeof nm, l == 0 ? "fusion.R" : "fusion.%d.R", l);
		dims[0] = dims[1] = (uint64_t)c->d;
		if ((rc = put(s, &t, nm, RQ_F64, 2, dims,
		    rq_model_rotation(m, l))) != RQ_OK)
			goto fail;
		rq_meta_set(&t, "rotations", "%ld", *rq_model_rotations(m, l));
		if ((rc = rq_tensor_write(s, &t)) != RQ_OK)
			goto fail;
	}
	if (st->batch > 0 && st->perm != NULL) {
		dims[0] = st->nperm;
		if ((rc = put(s, &t, "train.perm", RQ_I64, 1, dims, st->perm)) !=
		    RQ_OK || (rc = rq_tensor_write(s, &t)) != RQ_OK)
			goto fail;
	}
	rq_tensor_free(&t);
	if (rq_stream_close(s) != RQ_OK) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return RQ_EIO;
	}
	return RQ_OK;
fail:
	snprintf(err, errn, "%s", rq_stream_error(s));
fail2:
	rq_tensor_free(&t);
	rq_stream_abort(s);
	return rc == RQ_OK ? RQ_EIO : rc;
}

static int
geti(const rq_tensor *t, const char *k, int *v)
{
	double x;

	if (rq_meta_getd(t, k, &x) != RQ_OK || x != (int)x)
		return RQ_EFORMAT;
	*v = (int)x;
	return RQ_OK;
}

static int
getl(const rq_tensor *t, const char *k, long *v)
{
	double x;

	if (rq_meta_getd(t, k, &x) != RQ_OK || x != (long)x)
		return RQ_EFORMAT;
	*v = (long)x;
	return RQ_OK;
}

static int
getd(const rq_tensor *t, const char *k, double *v)
{
	char buf[64], *end;

	if (rq_meta_get(t, k, buf, sizeof buf) == NULL)
		return RQ_EFORMAT;
	*v = strtod(buf, &end);
	return *end == '\0' && end != buf ? RQ_OK : RQ_EFORMAT;
}

static int
read_head(rq_stream *s, rq_tensor *t, rq_model_cfg *c, const char *path,
    char *err, size_t errn)
{
	char buf[32];
	double drop = 0;
	int rc = 0;

	if ((rc = rq_tensor_read(s, t)) != RQ_OK) {
		snprintf(err, errn, "%s", rc == RQ_EOF ? "empty checkpoint" :
		    rq_stream_error(s));
		return rc == RQ_EOF ? RQ_EFORMAT : rc;
	}
	if (strcmp(t->name, "checkpoint") != 0 ||
	    rq_meta_get(t, "method", buf, sizeof buf) == NULL) {
		snprintf(err, errn, "%s: record 0: not an rq checkpoint", path);
		return RQ_EFORMAT;
	}
	rq_model_cfg_defaults(c);
	c->method = rq_method_parse(buf);
	rc |= geti(t, "d", &c->d);
	rc |= geti(t, "depth", &c->depth);
	rc |= geti(t, "heads", &c->heads);
	rc |= geti(t, "mlp", &c->mlp);
	rc |= geti(t, "audio.F", &c->F);
	rc |= geti(t, "audio.T", &c->T);
	rc |= geti(t, "audio.pf", &c->pf);
	rc |= geti(t, "audio.pt", &c->pt);
	rc |= geti(t, "visual.C", &c->C);
	rc |= geti(t, "visual.H", &c->H);
	rc |= geti(t, "visual.W", &c->W);
	rc |= geti(t, "visual.vc", &c->vc);
	rc |= geti(t, "visual.ph", &c->ph);
	rc |= geti(t, "visual.pw", &c->pw);
	rc |= geti(t, "classes", &c->classes);
	rc |= getd(t, "drop", &drop);
	c->drop = (float)drop;
	if (rc != 0 || c->method < 0) {
		snprintf(err, errn, "%s: record 0: bad or missing model "
		    "configuration", path);
		return RQ_EFORMAT;
	}
	return RQ_OK;
}

int
rq_ckpt_config(const char *path, rq_model_cfg *cfg, char *hyper,
    size_t hypern, char *err, size_t errn)
{
	rq_stream *s;
	rq_tensor t;
	int rc;

	if ((s = rq_stream_open(path, "r")) == NULL) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return RQ_EIO;
	}
	rq_tensor_init(&t);
	rc = read_head(s, &t, cfg, path, err, errn);
	if (rc == RQ_OK && hyper != NULL && hypern > 0) {
		/* copy train.* lines without the prefix */
		size_t o = 0;
		const char *p = t.meta;
		hyper[0] = '\0';
		while (p != NULL && *p) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			if (len > 6 && strncmp(p, "train.", 6) == 0 &&
			    o + len - 6 + 2 < hypern) {
				memcpy(hyper + o, p + 6, len - 6);
				o += len - 6;
				hyper[o++] = '\n';
				hyper[o] = '\0';
			}
			p = nl ? nl + 1 : NULL;
		}
	}
	rq_tensor_free(&t);
	rq_stream_close(s);
	return rc;
}

/* fusion layer of an R_total record: "fusion.R" 0, "fusion.<l>.R" l */
static int
rot_layer(const char *name)
{
	char *end;
	long l;

	if (strcmp(name, "fusion.R") == 0)
		return 0;
	if (strncmp(name, "fusion.", 7) != 0 || name[7] < '1' || name[7] > '9')
		return -1;
	l = strtol(name + 7, &end, 10);
	return strcmp(end, ".R") == 0 && l < 64 ? (int)l : -1;
}

int
rq_ckpt_load(const char *path, rq_model *m, rq_train_state *st, char *err,
    size_t errn)
{
	const rq_model_cfg *mc = rq_model_config(m);
	rq_model_cfg c;
	rq_stream *s;
	rq_tensor t;
	int rc, seen_rng = 0, nseen = 0, l;
	long rec;

	if ((s = rq_stream_open(path, "r")) == NULL) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return RQ_EIO;
	}
	rq_tensor_init(&t);
	if ((rc = read_head(s, &t, &c, path, err, errn)) != RQ_OK)
		goto out;
	if (c.method != mc->method || c.d != mc->d || c.depth != mc->depth ||
	    c.heads != mc->heads || c.mlp != mc->mlp ||
	    c.classes != mc->classes) {
		snprintf(err, errn, "%s: record 0: model configuration differs "
		    "from the one requested", path);
		rc = RQ_EFORMAT;
		goto out;
	}
	if (st != NULL) {
		int r = 0;
		r |= getl(&t, "epoch", &st->epoch);
		r |= getl(&t, "step", &st->step);
		r |= getl(&t, "batch", &st->batch);
		r |= getd(&t, "best.val", &st->best_val);
		r |= getd(&t, "best.test", &st->best_test);
		r |= getd(&t, "best.train", &st->best_train);
		r |= getl(&t, "best.epoch", &st->best_epoch);
		for (int i = 0; i < 8; i++) {
			char k[16];
			snprintf(k, sizeof k, "acc.%d", i);
			r |= getd(&t, k, &st->acc[i]);
		}
		if (r != 0) {
			snprintf(err, errn, "%s: record 0: bad training state",
			    path);
			rc = RQ_EFORMAT;
			goto out;
		}
	}
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
		const rq_param *p = rq_model_find(m, t.name);
		rec = rq_stream_record(s) - 1;	/* the record just read */
		if (p != NULL) {
			if (t.dtype != RQ_F32 || t.ndim != p->ndim ||
			    t.dims[0] != p->dims[0] ||
			    (p->ndim > 1 && t.dims[1] != p->dims[1])) {
				snprintf(err, errn, "%s: record %ld: %s: shape or "
				    "dtype differs from the model", path, rec, t.name);
				rc = RQ_EFORMAT;
				goto out;
			}
			memcpy(rq_model_params(m) + p->off, t.data, t.nbytes);
			nseen++;
		} else if (strncmp(t.name, "optim.", 6) == 0) {
			int k = atoi(t.name + 6);
			float *dst = rq_model_state(m, k);
			if (dst == NULL)
				continue;
			if (t.dtype != RQ_F32 || t.ndim != 1 ||
			    t.dims[0] != rq_model_nparams(m)) {
				snprintf(err, errn, "%s: record %ld: %s: bad shape",
				    path, rec, t.name);
				rc = RQ_EFORMAT;
				goto out;
			}
			memcpy(dst, t.data, t.nbytes);
		} else if (strcmp(t.name, "rng.state") == 0 && st != NULL) {
			int hs;
			if (t.dtype != RQ_U64 || t.ndim != 1 || t.dims[0] != 4 ||
			    geti(&t, "has_spare", &hs) != RQ_OK ||
			    getd(&t, "spare", &st->rng.spare) != RQ_OK) {
				snprintf(err, errn, "%s: record %ld: bad rng.state",
				    path, rec);
				rc = RQ_EFORMAT;
				goto out;
			}
			memcpy(st->rng.s, t.data, 32);
			st->rng.has_spare = hs;
			seen_rng = 1;
		} else if ((l = rot_layer(t.name)) >= 0 &&
		    l < rq_model_fusion_layers(m)) {
			long r;
			if (t.dtype != RQ_F64 || t.ndim != 2 ||
			    t.dims[0] != (uint64_t)mc->d ||
			    t.dims[1] != (uint64_t)mc->d ||
			    getl(&t, "rotations", &r) != RQ_OK || r < 0) {
				snprintf(err, errn, "%s: record %ld: bad %s",
				    path, rec, t.name);
				rc = RQ_EFORMAT;
				goto out;
			}
			memcpy(rq_model_rotation(m, l), t.data, t.nbytes);
			*rq_model_rotations(m, l) = r;
		} else if (strcmp(t.name, "train.perm") == 0 && st != NULL) {
			if (t.dtype != RQ_I64 || t.ndim != 1 ||
			    t.dims[0] != st->nperm || st->perm == NULL) {
				snprintf(err, errn, "%s: record %ld: train.perm does "
				    "not match the training set", path, rec);
				rc = RQ_EFORMAT;
				goto out;
			}
			memcpy(st->perm, t.data, t.nbytes);
		}
	}
	if (rc != RQ_EOF) {
		snprintf(err, errn, "%s", rq_stream_error(s));
		goto out;
	}
	rc = RQ_OK;
	if (nseen != rq_model_ntable(m)) {
		snprintf(err, errn, "%s: %d of %d parameters missing", path,
		    rq_model_ntable(m) - nseen, rq_model_ntable(m));
		rc = RQ_EFORMAT;
	} else if (st != NULL && !seen_rng) {
		snprintf(err, errn, "%s: rng.state missing", path);
		rc = RQ_EFORMAT;
	}
out:
	rq_tensor_free(&t);
	rq_stream_close(s);
	return rc;
}
