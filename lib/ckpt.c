/*
 * ckpt.c: checkpoints as tensor streams.  Records, in order:
 *   checkpoint  u8 [1]   metadata: the model config (method, d, depth,
 *                        heads, mlp, F T pf pt, C H W vc ph pw, classes,
 *                        drop, modality.0/1 and modality.0/1.layout:
 *                        the slots' names and kinds, absent for audio,
 *                        visual as spectrogram, frames), the training
 *                        position (epoch, step,
 *                        batch, best.*, acc.0..7) and the training
 *                        settings (rq_train_cfg) as train.* keys
 *   <param>     f32      one record per parameter, rq_model_table order
 *   optim.0, optim.1  f32 [P]  optimizer state (as many as it keeps)
 *   rng.state   u64 [4]  meta has_spare, spare (hex float)
 *   fusion.R    f64 [d,d] R_total, meta rotations=
 *   fusion.1.R  f64 [d,d] MT* layer 2's R_total, meta rotations=
 *   train.perm  i64 [n]  the current epoch's order (only mid-epoch)
 *   pmr.proto   f64 [2,K,d] PMR's prototypes (once estimated)
 * Doubles in metadata are written with %a so they read back exactly.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
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
	/* written unless audio, visual as spectrogram, frames: a checkpoint
	 * of the default pair keeps the bytes it had before the names */
	for (int i = 0; i < 2 && (strcmp(c->mod[0], "audio") != 0 ||
	    strcmp(c->mod[1], "visual") != 0 || c->layout[0] !=
	    RQ_LAYOUT_SPEC || c->layout[1] != RQ_LAYOUT_FRAMES); i++) {
		char k[32];
		snprintf(k, sizeof k, "modality.%d", i);
		rc |= rq_meta_set(t, k, "%s", c->mod[i]);
		snprintf(k, sizeof k, "modality.%d.layout", i);
		rc |= rq_meta_set(t, k, "%s", rq_layout_name(c->layout[i]));
	}
	if (c->method == RQ_METHOD_MBT || c->method == RQ_METHOD_MMML ||
	    c->method == RQ_METHOD_MUT)
		rc |= rq_meta_set(t, "fusion.layers", "%d", c->fdepth);
	if (c->method == RQ_METHOD_MUT)
		rc |= rq_meta_set(t, "fusion.memory", "%d", c->mdepth);
	if (c->method == RQ_METHOD_MBT)
		rc |= rq_meta_set(t, "fusion.tokens", "%d", c->ftok);
	return rc ? RQ_EINVAL : RQ_OK;
}

void
rq_train_cfg_defaults(rq_train_cfg *h)
{
	memset(h, 0, sizeof *h);
	h->epochs = 30;
	h->batch = 64;
	h->opt = RQ_OPT_SGD;
	h->lr = 1e-3;
	h->warmup = 2.5;
	h->wd = 1e-4;
	h->mom = 0.9;
	h->rq.rmax = 1;
	h->rq.air_full = 1;
	h->ogm_alpha = 0.5;
	h->pmr_alpha = 0.6;
	h->pmr_mom = 0.5;
	h->pmr_start = 1;
	h->pmr_end = 80;
}

/* the settings as train.* keys, in this order (doubles exact, %a) */
static int
train_meta(rq_tensor *t, const rq_train_cfg *h)
{
	int rc = 0;

	rc |= rq_meta_set(t, "train.epochs", "%d", h->epochs);
	rc |= rq_meta_set(t, "train.batch", "%d", h->batch);
	rc |= rq_meta_set(t, "train.opt", "%s", h->opt == RQ_OPT_SGD ? "sgd" :
	    "adamw");
	rc |= rq_meta_set(t, "train.lr", "%a", h->lr);
	rc |= rq_meta_set(t, "train.warmup", "%a", h->warmup);
	rc |= rq_meta_set(t, "train.wd", "%a", h->wd);
	rc |= rq_meta_set(t, "train.mom", "%a", h->mom);
	rc |= rq_meta_set(t, "train.seed", "%llu", (unsigned long long)h->seed);
	rc |= rq_meta_set(t, "train.rollingq", "%d", h->rq.on);
	rc |= rq_meta_set(t, "train.rho", "%a", h->rq.rho);
	rc |= rq_meta_set(t, "train.beta", "%a", h->rq.beta);
	rc |= rq_meta_set(t, "train.rmax", "%d", h->rq.rmax);
	rc |= rq_meta_set(t, "train.air_est", "%s", h->rq.air_full ? "full" :
	    "last");
	rc |= rq_meta_set(t, "train.rot", "%s", h->rq.rot_svd ? "svd" :
	    "plane");
	rc |= rq_meta_set(t, "train.ogm", "%d", h->ogm);
	rc |= rq_meta_set(t, "train.ogm_ge", "%d", h->ogm_ge);
	rc |= rq_meta_set(t, "train.ogm_alpha", "%a", h->ogm_alpha);
	rc |= rq_meta_set(t, "train.micro", "%d", h->micro);
	if (h->pmr) {
		rc |= rq_meta_set(t, "train.pmr", "%d", h->pmr);
		rc |= rq_meta_set(t, "train.pmr_alpha", "%a", h->pmr_alpha);
		rc |= rq_meta_set(t, "train.pmr_mom", "%a", h->pmr_mom);
		rc |= rq_meta_set(t, "train.pmr_start", "%d", h->pmr_start);
		rc |= rq_meta_set(t, "train.pmr_end", "%d", h->pmr_end);
	}
	return rc ? RQ_EINVAL : RQ_OK;
}

static int
bad(char *err, size_t errn, const char *field, const char *msg)
{
	snprintf(err, errn, "%s: %s", field, msg);
	return RQ_ERANGE;
}

/*
 * The settings and the training position, each against its type and
 * range (those rq-train's options accept), before anything uses them:
 * "field: message" in err.  The position against the data and the model
 * (batch within the epoch, train.perm a permutation, rng.state, R) is
 * checked by rq_ckpt_read, which knows them.
 */
int
rq_train_check(const rq_train_cfg *h, const rq_train_state *st, char *err,
    size_t errn)
{
	if (h->epochs < 1 || h->epochs > 1000000)
		return bad(err, errn, "train.epochs", "need 1 <= epochs <= "
		    "1000000");
	if (h->batch < 1 || h->batch > 1 << 20)
		return bad(err, errn, "train.batch", "need 1 <= batch <= 1048576");
	if (h->micro < 0 || h->micro > 1 << 20)
		return bad(err, errn, "train.micro", "need 0 <= micro <= 1048576");
	if (h->opt != RQ_OPT_SGD && h->opt != RQ_OPT_ADAMW)
		return bad(err, errn, "train.opt", "need sgd or adamw");
	if (!(h->lr > 0) || !isfinite(h->lr))
		return bad(err, errn, "train.lr", "need 0 < lr < inf");
	/* warm-up steps are warmup x batches per epoch, a long */
	if (!(h->warmup >= 0 && h->warmup <= 1000000))
		return bad(err, errn, "train.warmup", "need 0 <= warmup <= "
		    "1000000");
	if (!(h->wd >= 0) || !isfinite(h->wd))
		return bad(err, errn, "train.wd", "need 0 <= wd < inf");
	if (!isfinite(h->mom))
		return bad(err, errn, "train.mom", "not finite");
	if (h->rq.on != 0 && h->rq.on != 1)
		return bad(err, errn, "train.rollingq", "need 0 or 1");
	if (!isfinite(h->rq.rho))
		return bad(err, errn, "train.rho", "not finite");
	if (isnan(h->rq.beta))
		return bad(err, errn, "train.beta", "not a number");
	if (h->rq.rmax < 0 || h->rq.rmax > 1000000)
		return bad(err, errn, "train.rmax", "need 0 <= rmax <= 1000000");
	if (h->ogm != 0 && h->ogm != 1)
		return bad(err, errn, "train.ogm", "need 0 or 1");
	if (h->ogm_ge != 0 && h->ogm_ge != 1)
		return bad(err, errn, "train.ogm_ge", "need 0 or 1");
	if (!isfinite(h->ogm_alpha))
		return bad(err, errn, "train.ogm_alpha", "not finite");
	if (h->pmr != 0 && h->pmr != 1)
		return bad(err, errn, "train.pmr", "need 0 or 1");
	if (!isfinite(h->pmr_alpha))
		return bad(err, errn, "train.pmr_alpha", "not finite");
	if (!(h->pmr_mom >= 0 && h->pmr_mom <= 1))
		return bad(err, errn, "train.pmr_mom", "need 0 <= mom <= 1");
	if (st == NULL)
		return RQ_OK;
	if (st->epoch < 0 || st->epoch > 1000000)
		return bad(err, errn, "epoch", "need 0 <= epoch <= 1000000");
	/* steps: at most epoch + 1 epochs of batches of one sample */
	if (st->step < 0 || st->step > 0x1p53)
		return bad(err, errn, "step", "need 0 <= step < 2^53");
	if (st->batch < 0)
		return bad(err, errn, "batch", "need batch >= 0");
	if (st->best_epoch < -1 || st->best_epoch > st->epoch)
		return bad(err, errn, "best.epoch", "need -1 <= best.epoch <= "
		    "epoch");
	if (!(st->best_val >= -1 && st->best_val <= 1))
		return bad(err, errn, "best.val", "need -1 <= best.val <= 1");
	if (!isnan(st->best_test) && !(st->best_test >= 0 &&
	    st->best_test <= 1))
		return bad(err, errn, "best.test", "need nan or 0 <= best.test "
		    "<= 1");
	for (int i = 0; i < 8; i++)
		if (!(st->acc[i] >= 0) || !isfinite(st->acc[i])) {
			static const char *k[8] = {"acc.0", "acc.1", "acc.2",
			    "acc.3", "acc.4", "acc.5", "acc.6", "acc.7"};
			return bad(err, errn, k[i], "need 0 <= acc < inf");
		}
	return RQ_OK;
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
	rc |= train_meta(&t, &st->train);
	if (st->init_file != NULL) {	/* rq-train --init */
		rc |= rq_meta_set(&t, "init.file", "%s", st->init_file);
		rc |= rq_meta_set(&t, "init.names", "%s", st->init_names ?
		    st->init_names : "");
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
	if (st->pmr != NULL && st->pmr->have) {
		uint64_t pd[3] = {2, (uint64_t)st->pmr->K, (uint64_t)st->pmr->d};
		if ((rc = put(s, &t, "pmr.proto", RQ_F64, 3, pd,
		    st->pmr->proto)) != RQ_OK ||
		    (rc = rq_tensor_write(s, &t)) != RQ_OK)
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

	/* in range before the conversion: out of range it is undefined */
	if (rq_meta_getd(t, k, &x) != RQ_OK || !(x >= INT_MIN &&
	    x <= INT_MAX) || x != floor(x))
		return RQ_EFORMAT;
	*v = (int)x;
	return RQ_OK;
}

static int
getl(const rq_tensor *t, const char *k, long *v)
{
	double x;

	/* |x| < 2^53: exact in a double, and in a long */
	if (rq_meta_getd(t, k, &x) != RQ_OK || !(fabs(x) <= 0x1p53) ||
	    x != floor(x))
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

/* the model config's ranges: those rq-train accepts on its command line */
static int
cfg_check(const rq_model_cfg *c, char *err, size_t errn)
{
	if (c->d < 1 || c->d > 65536)
		return bad(err, errn, "d", "need 1 <= d <= 65536");
	if (c->heads < 1 || c->heads > 4096 || c->d % c->heads != 0)
		return bad(err, errn, "heads", "need 1 <= heads <= 4096, "
		    "dividing d");
	if (c->depth < 0 || c->depth > 32)
		return bad(err, errn, "depth", "need 0 <= depth <= 32");
	if (c->mlp < 1 || c->mlp > 64)
		return bad(err, errn, "mlp", "need 1 <= mlp <= 64");
	if (c->classes < 2 || c->classes > 1000000)
		return bad(err, errn, "classes", "need 2 <= classes <= 1000000");
	if (!(c->drop >= 0 && c->drop < 1))
		return bad(err, errn, "drop", "need 0 <= drop < 1");
	if (c->F < 1 || c->T < 1 || c->C < 1 || c->H < 1 || c->W < 1)
		return bad(err, errn, c->F < 1 ? "audio.F" : c->T < 1 ?
		    "audio.T" : c->C < 1 ? "visual.C" : c->H < 1 ? "visual.H" :
		    "visual.W", "need a size >= 1");
	if (c->pf < 1 || c->pf > c->F)
		return bad(err, errn, "audio.pf", "need 1 <= pf <= F");
	if (c->pt < 1 || c->pt > c->T)
		return bad(err, errn, "audio.pt", "need 1 <= pt <= T");
	if (c->vc < 1 || c->vc > c->C || c->C % c->vc != 0)
		return bad(err, errn, "visual.vc", "need 1 <= vc <= C, dividing C");
	if (c->ph < 1 || c->ph > c->H)
		return bad(err, errn, "visual.ph", "need 1 <= ph <= H");
	if (c->pw < 1 || c->pw > c->W)
		return bad(err, errn, "visual.pw", "need 1 <= pw <= W");
	if (c->layout[0] == RQ_LAYOUT_SEQ && (c->pf != 1 || c->pt != c->T))
		return bad(err, errn, "audio.pf", "a sequence needs pf = 1, "
		    "pt = T");
	if (c->layout[1] == RQ_LAYOUT_SEQ && (c->C != 1 || c->vc != 1 ||
	    c->ph != 1 || c->pw != c->W))
		return bad(err, errn, "visual.ph", "a sequence needs C = vc = "
		    "1, ph = 1, pw = W");
	return RQ_OK;
}

/* modality.0, modality.1 and their layouts; absent: audio, visual */
static int
read_modalities(const rq_tensor *t, rq_model_cfg *c, const char *path,
    char *err, size_t errn)
{
	static const int want[2][2] = {
		{RQ_LAYOUT_SPEC, RQ_LAYOUT_SEQ},
		{RQ_LAYOUT_FRAMES, RQ_LAYOUT_SEQ}
	};
	char k[32], buf[64];

	if (rq_meta_get(t, "modality.0", buf, sizeof buf) == NULL &&
	    rq_meta_get(t, "modality.1", buf, sizeof buf) == NULL)
		return RQ_OK;	/* an older checkpoint: the defaults */
	for (int i = 0; i < 2; i++) {
		int l;
		snprintf(k, sizeof k, "modality.%d", i);
		if (rq_meta_get(t, k, buf, sizeof buf) == NULL ||
		    !rq_modality_name_ok(buf)) {
			snprintf(err, errn, "%s: record 0: %s: missing or not a "
			    "modality name", path, k);
			return RQ_EFORMAT;
		}
		snprintf(c->mod[i], sizeof c->mod[i], "%.31s", buf);
		snprintf(k, sizeof k, "modality.%d.layout", i);
		if (rq_meta_get(t, k, buf, sizeof buf) == NULL ||
		    ((l = rq_layout_parse(buf)) != want[i][0] &&
		    l != want[i][1])) {
			snprintf(err, errn, "%s: record 0: %s: missing or not %s "
			    "or seq", path, k, rq_layout_name(want[i][0]));
			return RQ_EFORMAT;
		}
		c->layout[i] = l;
	}
	if (strcmp(c->mod[0], c->mod[1]) == 0) {
		snprintf(err, errn, "%s: record 0: modality.1: the same name as "
		    "modality.0: %s", path, c->mod[0]);
		return RQ_EFORMAT;
	}
	return RQ_OK;
}

static int
read_head(rq_stream *s, rq_tensor *t, rq_model_cfg *c, const char *path,
    char *err, size_t errn)
{
	static const struct {
		const char *key;
		size_t off;
	} ik[] = {
		{"d", offsetof(rq_model_cfg, d)},
		{"depth", offsetof(rq_model_cfg, depth)},
		{"heads", offsetof(rq_model_cfg, heads)},
		{"mlp", offsetof(rq_model_cfg, mlp)},
		{"audio.F", offsetof(rq_model_cfg, F)},
		{"audio.T", offsetof(rq_model_cfg, T)},
		{"audio.pf", offsetof(rq_model_cfg, pf)},
		{"audio.pt", offsetof(rq_model_cfg, pt)},
		{"visual.C", offsetof(rq_model_cfg, C)},
		{"visual.H", offsetof(rq_model_cfg, H)},
		{"visual.W", offsetof(rq_model_cfg, W)},
		{"visual.vc", offsetof(rq_model_cfg, vc)},
		{"visual.ph", offsetof(rq_model_cfg, ph)},
		{"visual.pw", offsetof(rq_model_cfg, pw)},
		{"classes", offsetof(rq_model_cfg, classes)},
	};
	char buf[32], e[160];
	double drop = 0;
	int rc = 0;

	if ((rc = rq_tensor_read(s, t)) != RQ_OK) {
		if (rc == RQ_EOF)
			snprintf(err, errn, "%s: empty checkpoint", path);
		else
			snprintf(err, errn, "%s", rq_stream_error(s));
		return rc == RQ_EOF ? RQ_EFORMAT : rc;
	}
	if (strcmp(t->name, "checkpoint") != 0 ||
	    rq_meta_get(t, "method", buf, sizeof buf) == NULL) {
		snprintf(err, errn, "%s: record 0: not an rq checkpoint", path);
		return RQ_EFORMAT;
	}
	rq_model_cfg_defaults(c);
	if ((c->method = rq_method_parse(buf)) < 0) {
		snprintf(err, errn, "%s: record 0: method: unknown: %s", path, buf);
		return RQ_EFORMAT;
	}
	for (size_t i = 0; i < sizeof ik / sizeof ik[0]; i++)
		if (geti(t, ik[i].key, (int *)(void *)((char *)c +
		    ik[i].off)) != RQ_OK) {
			snprintf(err, errn, "%s: record 0: %s: missing or not an "
			    "integer in int range", path, ik[i].key);
			return RQ_EFORMAT;
		}
	if (getd(t, "drop", &drop) != RQ_OK) {
		snprintf(err, errn, "%s: record 0: drop: missing or not a number",
		    path);
		return RQ_EFORMAT;
	}
	if ((c->method == RQ_METHOD_MBT || c->method == RQ_METHOD_MMML ||
	    c->method == RQ_METHOD_MUT) &&
	    geti(t, "fusion.layers", &c->fdepth) != RQ_OK) {
		snprintf(err, errn, "%s: record 0: fusion.layers: missing or not "
		    "an integer in int range", path);
		return RQ_EFORMAT;
	}
	if (c->method == RQ_METHOD_MUT &&
	    geti(t, "fusion.memory", &c->mdepth) != RQ_OK) {
		snprintf(err, errn, "%s: record 0: fusion.memory: missing or not "
		    "an integer in int range", path);
		return RQ_EFORMAT;
	}
	if (c->method == RQ_METHOD_MBT &&
	    geti(t, "fusion.tokens", &c->ftok) != RQ_OK) {
		snprintf(err, errn, "%s: record 0: fusion.tokens: missing or not "
		    "an integer in int range", path);
		return RQ_EFORMAT;
	}
	if ((rc = read_modalities(t, c, path, err, errn)) != RQ_OK)
		return rc;
	c->drop = (float)drop;
	if (!(drop >= 0 && drop < 1))
		c->drop = -1;	/* refused by cfg_check */
	if (cfg_check(c, e, sizeof e) != RQ_OK) {
		snprintf(err, errn, "%s: record 0: %s", path, e);
		return RQ_EFORMAT;
	}
	return RQ_OK;
}

/* train.<key> of the head record: RQ_OK, RQ_EOF when absent, or
 * RQ_EFORMAT with "train.<key>: message" in err */
static int
train_get(const rq_tensor *t, const char *key, char *buf, size_t n,
    char *err, size_t errn)
{
	char full[64];

	snprintf(full, sizeof full, "train.%s", key);
	if (rq_meta_get(t, full, buf, n) != NULL)
		return RQ_OK;
	snprintf(err, errn, "%s: missing", full);
	return RQ_EOF;
}

static int
train_int(const rq_tensor *t, const char *key, int *v, char *err, size_t errn)
{
	char buf[64];
	long x;
	int rc;

	if ((rc = train_get(t, key, buf, sizeof buf, err, errn)) != RQ_OK)
		return rc;
	if (rq_parse_long(buf, INT_MIN, INT_MAX, &x) != 0) {
		snprintf(err, errn, "train.%s: bad integer: %s", key, buf);
		return RQ_EFORMAT;
	}
	*v = (int)x;
	return RQ_OK;
}

static int
train_dbl(const rq_tensor *t, const char *key, double *v, char *err,
    size_t errn)
{
	char buf[64];
	int rc;

	if ((rc = train_get(t, key, buf, sizeof buf, err, errn)) != RQ_OK)
		return rc;
	if (rq_parse_double(buf, v) != 0) {
		snprintf(err, errn, "train.%s: bad number: %s", key, buf);
		return RQ_EFORMAT;
	}
	return RQ_OK;
}

/* one of two words: *v = 0 for w0, 1 for w1 */
static int
train_word(const rq_tensor *t, const char *key, const char *w0,
    const char *w1, int *v, char *err, size_t errn)
{
	char buf[64];
	int rc;

	if ((rc = train_get(t, key, buf, sizeof buf, err, errn)) != RQ_OK)
		return rc;
	if (strcmp(buf, w0) != 0 && strcmp(buf, w1) != 0) {
		snprintf(err, errn, "train.%s: need %s or %s: %s", key, w0, w1,
		    buf);
		return RQ_EFORMAT;
	}
	*v = strcmp(buf, w1) == 0;
	return RQ_OK;
}

/* the settings, field by field; air_est, rot and micro came later (a
 * checkpoint without them: full, plane, whole batches) */
static int
train_read(const rq_tensor *t, rq_train_cfg *h, char *err, size_t errn)
{
	char buf[64];
	int rc = RQ_OK, adamw = 0;

	rq_train_cfg_defaults(h);
	if ((rc = train_int(t, "epochs", &h->epochs, err, errn)) ||
	    (rc = train_int(t, "batch", &h->batch, err, errn)) ||
	    (rc = train_word(t, "opt", "sgd", "adamw", &adamw, err, errn)) ||
	    (rc = train_dbl(t, "lr", &h->lr, err, errn)) ||
	    (rc = train_dbl(t, "warmup", &h->warmup, err, errn)) ||
	    (rc = train_dbl(t, "wd", &h->wd, err, errn)) ||
	    (rc = train_dbl(t, "mom", &h->mom, err, errn)) ||
	    (rc = train_get(t, "seed", buf, sizeof buf, err, errn)))
		return RQ_EFORMAT;
	if (rq_parse_u64(buf, &h->seed) != 0) {
		snprintf(err, errn, "train.seed: bad seed: %s", buf);
		return RQ_EFORMAT;
	}
	h->opt = adamw ? RQ_OPT_ADAMW : RQ_OPT_SGD;
	if ((rc = train_int(t, "rollingq", &h->rq.on, err, errn)) ||
	    (rc = train_dbl(t, "rho", &h->rq.rho, err, errn)) ||
	    (rc = train_dbl(t, "beta", &h->rq.beta, err, errn)) ||
	    (rc = train_int(t, "rmax", &h->rq.rmax, err, errn)) ||
	    (rc = train_int(t, "ogm", &h->ogm, err, errn)) ||
	    (rc = train_int(t, "ogm_ge", &h->ogm_ge, err, errn)) ||
	    (rc = train_dbl(t, "ogm_alpha", &h->ogm_alpha, err, errn)))
		return RQ_EFORMAT;
	if ((rc = train_word(t, "air_est", "last", "full", &h->rq.air_full,
	    err, errn)) == RQ_EFORMAT ||
	    (rc = train_word(t, "rot", "plane", "svd", &h->rq.rot_svd, err,
	    errn)) == RQ_EFORMAT ||
	    (rc = train_int(t, "micro", &h->micro, err, errn)) == RQ_EFORMAT)
		return RQ_EFORMAT;
	/* PMR's keys: only in a PMR run's checkpoint */
	if ((rc = train_int(t, "pmr", &h->pmr, err, errn)) == RQ_EFORMAT ||
	    (rc = train_dbl(t, "pmr_alpha", &h->pmr_alpha, err, errn)) ==
	    RQ_EFORMAT ||
	    (rc = train_dbl(t, "pmr_mom", &h->pmr_mom, err, errn)) ==
	    RQ_EFORMAT ||
	    (rc = train_int(t, "pmr_start", &h->pmr_start, err, errn)) ==
	    RQ_EFORMAT ||
	    (rc = train_int(t, "pmr_end", &h->pmr_end, err, errn)) ==
	    RQ_EFORMAT)
		return RQ_EFORMAT;
	if (rq_train_check(h, NULL, err, errn) != RQ_OK)
		return RQ_EFORMAT;
	return RQ_OK;
}

struct rq_ckpt {
	rq_stream *s;
	rq_tensor head;
	rq_model_cfg cfg;
	char path[4096];
};

void
rq_ckpt_close(rq_ckpt *ck)
{
	if (ck == NULL)
		return;
	rq_tensor_free(&ck->head);
	rq_stream_close(ck->s);
	free(ck);
}

int
rq_ckpt_open(rq_ckpt **cp, const char *path, rq_model_cfg *cfg,
    rq_train_cfg *h, char *err, size_t errn)
{
	rq_ckpt *ck;
	char e[256];
	int rc;

	*cp = NULL;
	if ((ck = calloc(1, sizeof *ck)) == NULL) {
		snprintf(err, errn, "%s: out of memory", path);
		return RQ_ENOMEM;
	}
	snprintf(ck->path, sizeof ck->path, "%s", path);
	rq_tensor_init(&ck->head);
	if ((ck->s = rq_stream_open(path, "r")) == NULL) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		free(ck);
		return RQ_EIO;
	}
	if ((rc = read_head(ck->s, &ck->head, &ck->cfg, path, err, errn)) !=
	    RQ_OK)
		goto fail;
	if (h != NULL && train_read(&ck->head, h, e, sizeof e) != RQ_OK) {
		snprintf(err, errn, "%s: record 0: %s", path, e);
		rc = RQ_EFORMAT;
		goto fail;
	}
	*cfg = ck->cfg;
	*cp = ck;
	return RQ_OK;
fail:
	rq_ckpt_close(ck);
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

/* rq-train --init's record, carried into the state (NULL when none) */
static int
init_read(const rq_tensor *head, rq_train_state *st)
{
	size_t n = RQ_META_MAX + 1;
	char *buf;

	st->init_file = st->init_names = NULL;
	if ((buf = malloc(n)) == NULL)
		return RQ_ENOMEM;
	if (rq_meta_get(head, "init.file", buf, n) != NULL) {
		st->init_file = strdup(buf);
		if (rq_meta_get(head, "init.names", buf, n) == NULL)
			buf[0] = '\0';
		st->init_names = strdup(buf);
	}
	free(buf);
	if ((st->init_file == NULL) != (st->init_names == NULL)) {
		free(st->init_file);
		free(st->init_names);
		st->init_file = st->init_names = NULL;
		return RQ_ENOMEM;
	}
	return RQ_OK;
}

/* the head record's settings and training position, each checked */
static int
state_read(const rq_tensor *head, rq_train_state *st, const char *path,
    char *err, size_t errn)
{
	static const char *lk[] = {"epoch", "step", "batch", "best.epoch"};
	static const char *dk[] = {"best.val", "best.test", "best.train",
	    "acc.0", "acc.1", "acc.2", "acc.3", "acc.4", "acc.5", "acc.6",
	    "acc.7"};
	long *lv[] = {&st->epoch, &st->step, &st->batch, &st->best_epoch};
	double *dv[] = {&st->best_val, &st->best_test, &st->best_train,
	    &st->acc[0], &st->acc[1], &st->acc[2], &st->acc[3], &st->acc[4],
	    &st->acc[5], &st->acc[6], &st->acc[7]};
	char e[256];

	if (train_read(head, &st->train, e, sizeof e) != RQ_OK) {
		snprintf(err, errn, "%s: record 0: %s", path, e);
		return RQ_EFORMAT;
	}
	for (size_t i = 0; i < sizeof lk / sizeof lk[0]; i++)
		if (getl(head, lk[i], lv[i]) != RQ_OK) {
			snprintf(err, errn, "%s: record 0: %s: missing or not an "
			    "integer below 2^53", path, lk[i]);
			return RQ_EFORMAT;
		}
	for (size_t i = 0; i < sizeof dk / sizeof dk[0]; i++)
		if (getd(head, dk[i], dv[i]) != RQ_OK) {
			snprintf(err, errn, "%s: record 0: %s: missing or not a "
			    "number", path, dk[i]);
			return RQ_EFORMAT;
		}
	if (rq_train_check(&st->train, st, e, sizeof e) != RQ_OK) {
		snprintf(err, errn, "%s: record 0: %s", path, e);
		return RQ_EFORMAT;
	}
	return RQ_OK;
}

static int
rec_bad(char *err, size_t errn, const char *path, long rec, const char *name,
    const char *msg)
{
	snprintf(err, errn, "%s: record %ld: %s: %s", path, rec, name, msg);
	return RQ_EFORMAT;
}

/* RQ_OK when the n values of p are a permutation of 0..n-1 */
static int
is_perm(const int64_t *p, size_t n)
{
	unsigned char *seen = calloc(n ? n : 1, 1);
	int rc = RQ_OK;

	if (seen == NULL)
		return RQ_ENOMEM;
	for (size_t i = 0; i < n && rc == RQ_OK; i++) {
		if (p[i] < 0 || (uint64_t)p[i] >= n || seen[p[i]])
			rc = RQ_ERANGE;
		else
			seen[p[i]] = 1;
	}
	free(seen);
	return rc;
}

/* RQ_OK when every value of t (f32) is finite */
static int
all_finite(const rq_tensor *t)
{
	const float *x = t->data;
	size_t n = rq_tensor_numel(t);

	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return RQ_ERANGE;
	return RQ_OK;
}

int
rq_ckpt_read(rq_ckpt *ck, rq_model *m, rq_train_state *st, char *err,
    size_t errn)
{
	const rq_model_cfg *mc = rq_model_config(m);
	const rq_model_cfg c = ck->cfg;
	const char *path = ck->path;
	rq_stream *s = ck->s;
	rq_tensor t, *head = &ck->head;
	int rc, seen_rng = 0, seen_perm = 0, nseen = 0, l;
	unsigned char *pseen = NULL;
	long rec;

	rq_tensor_init(&t);
	if (c.method != mc->method || c.d != mc->d || c.depth != mc->depth ||
	    c.heads != mc->heads || c.mlp != mc->mlp ||
	    c.classes != mc->classes) {
		snprintf(err, errn, "%s: record 0: model configuration differs "
		    "from the one requested", path);
		rc = RQ_EFORMAT;
		goto out;
	}
	if (st != NULL && (rc = state_read(head, st, path, err, errn)) !=
	    RQ_OK)
		goto out;
	if (st != NULL && (rc = init_read(head, st)) != RQ_OK) {
		snprintf(err, errn, "%s: record 0: init.names: out of memory",
		    path);
		goto out;
	}
	if ((pseen = calloc((size_t)rq_model_ntable(m) + 1, 1)) == NULL) {
		snprintf(err, errn, "%s: out of memory", path);
		rc = RQ_ENOMEM;
		goto out;
	}
	while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
		const rq_param *p = rq_model_find(m, t.name);
		rec = rq_stream_record(s) - 1;	/* the record just read */
		if (p != NULL) {
			if (t.dtype != RQ_F32 || t.ndim != p->ndim ||
			    t.dims[0] != p->dims[0] ||
			    (p->ndim > 1 && t.dims[1] != p->dims[1])) {
				rc = rec_bad(err, errn, path, rec, t.name,
				    "shape or dtype differs from the model");
				goto out;
			}
			if (all_finite(&t) != RQ_OK) {
				rc = rec_bad(err, errn, path, rec, t.name,
				    "not finite (NaN or Inf)");
				goto out;
			}
			memcpy(rq_model_params(m) + p->off, t.data, t.nbytes);
			nseen += !pseen[p - rq_model_table(m, 0)];
			pseen[p - rq_model_table(m, 0)] = 1;
		} else if (strncmp(t.name, "optim.", 6) == 0) {
			long k;
			float *dst;
			if (rq_parse_long(t.name + 6, 0, 1, &k) != 0 ||
			    (dst = rq_model_state(m, (int)k)) == NULL)
				continue;
			if (t.dtype != RQ_F32 || t.ndim != 1 ||
			    t.dims[0] != rq_model_nparams(m)) {
				rc = rec_bad(err, errn, path, rec, t.name,
				    "bad shape");
				goto out;
			}
			if (all_finite(&t) != RQ_OK) {
				rc = rec_bad(err, errn, path, rec, t.name,
				    "not finite (NaN or Inf)");
				goto out;
			}
			memcpy(dst, t.data, t.nbytes);
		} else if (strcmp(t.name, "rng.state") == 0 && st != NULL) {
			int hs;
			double sp;
			if (t.dtype != RQ_U64 || t.ndim != 1 || t.dims[0] != 4 ||
			    geti(&t, "has_spare", &hs) != RQ_OK ||
			    getd(&t, "spare", &sp) != RQ_OK) {
				rc = rec_bad(err, errn, path, rec, t.name,
				    "need u64 [4] with has_spare and spare");
				goto out;
			}
			/* rq_rng_set refuses the all-zero state (stuck) */
			if (rq_rng_set(&st->rng, t.data, hs, sp) != RQ_OK) {
				rc = rec_bad(err, errn, path, rec, t.name,
				    "not a valid generator state (all zero, or "
				    "spare not finite)");
				goto out;
			}
			st->rng.spare = sp;	/* as saved, for a bit-identical save */
			seen_rng = 1;
		} else if ((l = rot_layer(t.name)) >= 0 &&
		    l < rq_model_fusion_layers(m)) {
			long r;
			char e[128];
			if (t.dtype != RQ_F64 || t.ndim != 2 ||
			    t.dims[0] != (uint64_t)mc->d ||
			    t.dims[1] != (uint64_t)mc->d ||
			    getl(&t, "rotations", &r) != RQ_OK || r < 0) {
				rc = rec_bad(err, errn, path, rec, t.name,
				    "need f64 [d,d] with rotations >= 0");
				goto out;
			}
			if (rq_rollingq_check_R(t.data, mc->d, e, sizeof e) !=
			    RQ_OK) {
				rc = rec_bad(err, errn, path, rec, t.name, e);
				goto out;
			}
			memcpy(rq_model_rotation(m, l), t.data, t.nbytes);
			*rq_model_rotations(m, l) = r;
		} else if (strcmp(t.name, "train.perm") == 0 && st != NULL) {
			if (t.dtype != RQ_I64 || t.ndim != 1 ||
			    t.dims[0] != st->nperm || st->perm == NULL) {
				rc = rec_bad(err, errn, path, rec, t.name,
				    "does not match the training set");
				goto out;
			}
			if ((rc = is_perm(t.data, st->nperm)) != RQ_OK) {
				rc = rec_bad(err, errn, path, rec, t.name,
				    "not a permutation of the training set");
				goto out;
			}
			memcpy(st->perm, t.data, t.nbytes);
			seen_perm = 1;
		} else if (strcmp(t.name, "pmr.proto") == 0 && st != NULL &&
		    st->pmr != NULL) {
			if (t.dtype != RQ_F64 || t.ndim != 3 || t.dims[0] != 2 ||
			    t.dims[1] != (uint64_t)st->pmr->K ||
			    t.dims[2] != (uint64_t)st->pmr->d) {
				snprintf(err, errn, "%s: record %ld: bad pmr.proto",
				    path, rec);
				rc = RQ_EFORMAT;
				goto out;
			}
			memcpy(st->pmr->proto, t.data, t.nbytes);
			st->pmr->have = 1;
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
	} else if (st != NULL && st->batch > 0) {
		/* a mid-epoch position: batch bi of ceil(nperm / batch) */
		size_t B = (size_t)st->train.batch;
		size_t nb = (st->nperm + B - 1) / B;
		if ((size_t)st->batch >= nb) {
			snprintf(err, errn, "%s: record 0: batch: %ld is past the "
			    "epoch (%zu batches of %zu)", path, st->batch, nb, B);
			rc = RQ_EFORMAT;
		} else if (!seen_perm) {
			snprintf(err, errn, "%s: record 0: batch: mid-epoch "
			    "position without train.perm", path);
			rc = RQ_EFORMAT;
		}
	}
out:
	free(pseen);
	rq_tensor_free(&t);
	return rc;
}

int
rq_ckpt_load(const char *path, rq_model *m, rq_train_state *st, char *err,
    size_t errn)
{
	rq_model_cfg c;
	rq_ckpt *ck;
	int rc;

	if ((rc = rq_ckpt_open(&ck, path, &c, NULL, err, errn)) != RQ_OK)
		return rc;
	rc = rq_ckpt_read(ck, m, st, err, errn);
	rq_ckpt_close(ck);
	return rc;
}
