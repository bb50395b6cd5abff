/*
 * fuzz_ckpt_fields.c: libFuzzer target for checkpoints whose checksums are
 * valid.  fuzz_ckpt mutates bytes, so nearly every input dies at a CRC;
 * this target mutates fields instead and lets the writer recompute the
 * checksums, so what is tested is the trust placed in a well-formed file.
 *
 * At start-up five seed checkpoints are made in memory (tiny models: MT
 * and MT* mid-epoch with train.perm, Concat and audio-only at an epoch
 * boundary, and MuT mid-epoch on two sequence modalities named vision and
 * text).  An input is a script: byte 0 picks the seed (0xf0 and above:
 * MuT; below, byte 0 mod 4 as before the fifth), then 12-byte
 * operations, each (record, kind, index u16, value u64):
 *   kind 0  set a metadata value (epoch, batch, d, classes, rotations...)
 *   kind 1  set a data element (train.perm, rng.state, R, weights)
 *   kind 2  set a dimension (the data is resized, zero-filled)
 *   kind 3  drop the record
 *   kind 4  convert the dtype (rq_tensor_convert: out of an integer
 *           type's range saturates)
 *   kind 5  delete a metadata key
 *   kind 6  rename the record after another record
 *   kind 7  zero the whole data (train.perm, rng.state, R)
 * Values come from a table of edge cases (0, -1, n, n+1, INT_MAX, 1e300,
 * NaN...) or are the raw 8 bytes.  The records are written back as a
 * stream and then used as rq-train -r uses a checkpoint, through the
 * library only: rq_ckpt_open (the model config and the train.* settings),
 * a data set's shapes checked against it, rq_model_plan and
 * rq_model_alloc, rq_ckpt_read with train.perm sized to the data, then
 * the resume: the epoch's order (shuffled by the loaded rng.state at a
 * boundary, else train.perm from the loaded batch position), each
 * remaining batch of train.batch samples gathered by rq_dataset_batch and
 * run forward.  Whatever rq_ckpt_read accepts must be safe to use that way;
 * where misuse would be silent rather than a crash, the target aborts
 * with a message naming the field (rng.state all zero, a negative epoch
 * or step, a warm-up out of range, a batch position outside the epoch, a
 * train.perm that is not a permutation of the data, an R that is not
 * finite and orthogonal).  A refusal must be one line of text.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

#define NSEED 5
#define MAXREC 512
#define NDATA 16        /* samples in the data set the resume uses */
#define BATCH 4         /* rq-train's -b (not read from the checkpoint) */
#define MAXBYTES ((size_t)1 << 20)

static rq_tensor seeds[NSEED][MAXREC];
static int nrec[NSEED];
static rq_dataset ds;
static int outfd = -1;
/* the last input: 1 refused (with a one-line message), 0 resumed, -1
 * not a checkpoint or too large to try (tests/test_fuzzregress.c) */
int fuzz_ckpt_fields_refused = -1;
char fuzz_ckpt_fields_err[512];
static char outpath[64];

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "fuzz_ckpt_fields: %s\n", what);
	abort();
}

static void
make_seed(int k, int method, int midepoch, const char *dir)
{
	rq_model_cfg c;
	rq_model *m;
	rq_train_state st;
	int64_t perm[NDATA];
	char err[256], path[256];
	rq_stream *s;
	rq_rng r;
	int rc;

	rq_model_cfg_defaults(&c);
	c.method = method;
	c.d = 4;
	c.depth = 2;
	c.heads = 2;
	c.mlp = 1;
	c.F = c.T = 4;
	c.pf = c.pt = 2;
	c.C = 1;
	c.vc = 1;
	c.H = c.W = 4;
	c.ph = c.pw = 2;
	if (method == RQ_METHOD_MUT) {
		/* sequences of 4 steps of 4 features: one token per step */
		snprintf(c.mod[0], sizeof c.mod[0], "vision");
		snprintf(c.mod[1], sizeof c.mod[1], "text");
		c.layout[0] = c.layout[1] = RQ_LAYOUT_SEQ;
		c.pf = 1;
		c.pt = 4;
		c.ph = 1;
		c.pw = 4;
		c.mdepth = 1;
	}
	c.classes = 3;
	c.batch = BATCH;
	c.opt_slots = 1;
	if (rq_model_plan(&m, &c) != RQ_OK || rq_model_alloc(m) != RQ_OK)
		die("seed model");
	rq_rng_seed(&r, 7 + (uint64_t)k);
	rq_model_init_params(m, &r);
	for (int l = 0; l < rq_model_fusion_layers(m); l++)
		*rq_model_rotations(m, l) = 1 + l;
	memset(&st, 0, sizeof st);
	st.epoch = 2;
	st.step = 10;
	st.best_val = 0.5;
	st.best_epoch = 1;
	st.rng = r;
	rq_train_cfg_defaults(&st.train);
	st.train.epochs = 5;
	st.train.batch = BATCH;
	st.train.lr = 0x1p-7;
	if (midepoch) {
		for (int i = 0; i < NDATA; i++)
			perm[i] = (i * 5 + 3) % NDATA;
		st.perm = perm;
		st.nperm = NDATA;
		st.batch = 2;
	}
	snprintf(path, sizeof path, "%s/seed%d", dir, k);
	if (rq_ckpt_save(path, m, &st, err, sizeof err) != RQ_OK)
		die(err);
	rq_model_free(m);
	if ((s = rq_stream_open(path, "r")) == NULL)
		die("seed reopen");
	for (nrec[k] = 0; nrec[k] < MAXREC; nrec[k]++) {
		rq_tensor_init(&seeds[k][nrec[k]]);
		if ((rc = rq_tensor_read(s, &seeds[k][nrec[k]])) != RQ_OK)
			break;
	}
	if (rc != RQ_EOF)
		die("seed read back");
	rq_stream_close(s);
	unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/fuzz-ckpt-fields.XXXXXX";
	uint64_t da[3] = {NDATA, 4, 4}, dv[4] = {NDATA, 1, 4, 4};

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	make_seed(0, RQ_METHOD_MT, 1, dir);
	make_seed(1, RQ_METHOD_MTSTAR, 1, dir);
	make_seed(2, RQ_METHOD_CONCAT, 0, dir);
	make_seed(3, RQ_METHOD_AUDIO, 0, dir);
	make_seed(4, RQ_METHOD_MUT, 1, dir);
	rmdir(dir);
	/* the data set of the resume: shapes of the seeds, labels 0..2 */
	memset(&ds, 0, sizeof ds);
	ds.n = NDATA;
	ds.F = (int)da[1];
	ds.T = (int)da[2];
	ds.C = (int)dv[1];
	ds.H = (int)dv[2];
	ds.W = (int)dv[3];
	ds.classes = 3;
	ds.audio = calloc(NDATA * 16, sizeof(float));
	ds.visual = calloc(NDATA * 16, sizeof(float));
	ds.label = calloc(NDATA, sizeof(int32_t));
	if (ds.audio == NULL || ds.visual == NULL || ds.label == NULL)
		die("data set");
	for (int i = 0; i < NDATA * 16; i++) {
		ds.audio[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
		ds.visual[i] = (float)((i * 13) % 7) / 7.0f;
	}
	for (int i = 0; i < NDATA; i++)
		ds.label[i] = i % 3;
	if ((outfd = memfd_create("ckpt", 0)) < 0)
		die("memfd");
	snprintf(outpath, sizeof outpath, "/proc/self/fd/%d", outfd);
	return 0;
}

static int64_t
special(uint64_t raw, int *israw)
{
	static const int64_t tab[] = {0, 1, -1, 2, NDATA - 1, NDATA,
	    NDATA + 1, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, 1000000000,
	    3, -99};
	unsigned sel = raw & 0xff;

	*israw = sel >= 2 * (sizeof tab / sizeof tab[0]);
	return *israw ? (int64_t)raw : tab[(sel >> 1) % (sizeof tab /
	    sizeof tab[0])];
}

static void
meta_value(uint64_t raw, char *buf, size_t n)
{
	static const char *words[] = {"nan", "inf", "-inf", "1e300", "-1e300",
	    "", "0x10", "abc", "1.5", "0x1p-1074", "2147483648", "-0"};
	int israw;
	int64_t v = special(raw, &israw);

	if (israw && (raw >> 8 & 3) == 0)
		snprintf(buf, n, "%s", words[(raw >> 16) % (sizeof words /
		    sizeof words[0])]);
	else if (israw && (raw >> 8 & 3) == 1)
		snprintf(buf, n, "%.17g", (double)(int64_t)raw / 65536.0);
	else
		snprintf(buf, n, "%lld", (long long)v);
}

/* the key'th metadata key of t into key; 0 if there is none */
static int
meta_key(const rq_tensor *t, unsigned k, char *key, size_t n)
{
	const char *p = t->meta, *eq, *nl;
	unsigned cnt = 0;

	if (p == NULL || t->meta_len == 0)
		return 0;
	for (const char *q = p; q < p + t->meta_len; q++)
		cnt += *q == '\n';
	if (cnt == 0)
		return 0;
	k %= cnt;
	while (k-- > 0)
		p = strchr(p, '\n') + 1;
	eq = strchr(p, '=');
	nl = strchr(p, '\n');
	if (eq == NULL || eq > nl || (size_t)(eq - p) >= n)
		return 0;
	memcpy(key, p, (size_t)(eq - p));
	key[eq - p] = '\0';
	return 1;
}

static void
set_dim(rq_tensor *t, unsigned i, uint64_t v)
{
	uint64_t dims[RQ_MAX_NDIM];
	size_t nb, old = t->nbytes, es = rq_dtype_size(t->dtype);
	void *keep;

	if (t->ndim == 0)
		return;
	memcpy(dims, t->dims, sizeof dims);
	dims[i % (unsigned)t->ndim] = v;
	if (rq_numel_of(t->ndim, dims, es, &nb) != RQ_OK || nb > MAXBYTES)
		return;
	if ((keep = malloc(old ? old : 1)) == NULL)
		die("oom");
	memcpy(keep, t->data, old);
	if (rq_tensor_alloc(t, t->dtype, t->ndim, dims) != RQ_OK)
		die("oom");
	memset(t->data, 0, t->nbytes);
	memcpy(t->data, keep, RQ_MIN(old, t->nbytes));
	free(keep);
}

static void
mutate(rq_tensor *rec, int *n, const uint8_t *op)
{
	unsigned r = op[0] % (unsigned)*n, kind = op[1] % 8;
	unsigned idx = (unsigned)op[2] | (unsigned)op[3] << 8;
	uint64_t raw = 0;
	rq_tensor *t = &rec[r];
	char key[128], val[64];
	int israw;
	int64_t v;

	for (int i = 0; i < 8; i++)
		raw |= (uint64_t)op[4 + i] << (8 * i);
	v = special(raw, &israw);
	switch (kind) {
	case 0:
		if (meta_key(t, idx, key, sizeof key)) {
			meta_value(raw, val, sizeof val);
			(void)rq_meta_set(t, key, "%s", val);
		}
		break;
	case 1: {
		size_t ne = rq_tensor_numel(t), i;
		if (ne == 0)
			break;
		i = idx % ne;
		if (t->dtype == RQ_F32 || t->dtype == RQ_F64) {
			rq_tensor_put(t, i, israw ? (raw >> 8 & 1 ? NAN :
			    (double)(int64_t)raw / 4294967296.0) : (double)v);
		} else {	/* the low bytes: no out-of-range conversion */
			uint64_t u = israw ? raw : (uint64_t)v;
			size_t es = rq_dtype_size(t->dtype);
			for (size_t b = 0; b < es; b++)
				((unsigned char *)t->data)[i * es + b] =
				    (unsigned char)(u >> (8 * b));
		}
		break;
	}
	case 2:
		set_dim(t, idx, israw ? raw % 4096 : (uint64_t)v);
		break;
	case 3:
		if (*n > 1) {
			rq_tensor_free(t);
			memmove(t, t + 1, (size_t)(*n - 1 - (int)r) * sizeof *t);
			(*n)--;
		}
		break;
	case 4:	/* any dtype to any: rq_tensor_convert saturates */
		if (rq_tensor_numel(t) * 8 <= MAXBYTES)
			(void)rq_tensor_convert(t, 1 + (int)(raw % 10));
		break;
	case 5:
		if (meta_key(t, idx, key, sizeof key))
			(void)rq_meta_del(t, key);
		break;
	case 6:
		(void)rq_tensor_set_name(t, rec[raw % (unsigned)*n].name);
		break;
	case 7:
		memset(t->data, 0, t->nbytes);
		break;
	}
}

static int
msg_one_line(const char *err)
{
	return err[0] != '\0' && strchr(err, '\n') == NULL;
}

/* write the records as a stream to the memfd; 0 on success */
static int
write_stream(rq_tensor *rec, int n)
{
	rq_stream *s;
	int fd;

	if (ftruncate(outfd, 0) != 0 || lseek(outfd, 0, SEEK_SET) != 0 ||
	    (fd = dup(outfd)) < 0)
		die("memfd reset");
	if ((s = rq_stream_fdopen(fd, "ckpt", "w")) == NULL)
		die("fdopen");
	for (int i = 0; i < n; i++)
		if (rq_tensor_write(s, &rec[i]) != RQ_OK) {
			rq_stream_abort(s);
			return -1;      /* not writable: not a checkpoint */
		}
	if (rq_stream_close(s) != RQ_OK)
		die("write");
	return 0;
}

/*
 * the resume, as rq-train -r runs it, for one epoch: batches of the
 * checkpoint's train.batch, each run forward in parts of at most BATCH
 * samples (rq-train's micro-batches)
 */
static void
resume(rq_model *m, rq_train_state *st)
{
	long Bt = st->train.batch, nb;
	float a[BATCH * 16], v[BATCH * 16];
	int32_t y[BATCH];
	int seen[NDATA];

	if (Bt < 1)
		die("rq_ckpt_open accepted a batch size below 1");
	nb = (NDATA + Bt - 1) / Bt;
	if (rq_rng_check(&st->rng) != RQ_OK)
		die("rq_ckpt_read accepted an rng.state rq_rng_set refuses (all "
		    "zero: the generator is stuck)");
	if (st->epoch < 0 || st->step < 0)
		die("rq_ckpt_read accepted a negative epoch or step");
	/* rq-train: warm-up steps = (long)floor(warmup x batches) */
	if (!(st->train.warmup >= 0 && st->train.warmup * (double)nb < 0x1p62))
		die("rq_ckpt_open accepted a warm-up out of long range");
	for (int l = 0; l < rq_model_fusion_layers(m); l++) {
		const double *R = rq_model_rotation(m, l);
		int d = rq_model_config(m)->d;
		for (int i = 0; i < d; i++)
			for (int j = 0; j < d; j++) {
				double dot = 0;
				for (int k = 0; k < d; k++)
					dot += R[i * d + k] * R[j * d + k];
				if (!(fabs(dot - (i == j)) < 1e-3))
					die("rq_ckpt_read accepted an R that is not "
					    "finite and orthogonal");
			}
	}
	if (st->batch < 0 || st->batch >= nb)
		die("rq_ckpt_read accepted a batch position outside the epoch");
	if (st->batch > 0) {
		memset(seen, 0, sizeof seen);
		for (size_t i = 0; i < st->nperm; i++) {
			if (st->perm[i] < 0 || st->perm[i] >= NDATA ||
			    seen[st->perm[i]]++)
				die("rq_ckpt_read accepted a train.perm that is not "
				    "a permutation of the data");
		}
	} else {
		for (size_t i = 0; i < NDATA; i++)
			st->perm[i] = (int64_t)i;
		rq_rng_shuffle(&st->rng, st->perm, NDATA);
	}
	for (long bi = st->batch; bi < nb; bi++) {
		size_t i0 = (size_t)bi * (size_t)Bt;
		size_t n = RQ_MIN((size_t)Bt, NDATA - i0);
		for (size_t o = 0; o < n; o += BATCH) {
			int nc = (int)RQ_MIN((size_t)BATCH, n - o);
			if (rq_dataset_batch(&ds, st->perm + i0 + o, nc, a, v,
			    y) != RQ_OK)
				die("a batch index outside the data set");
			(void)rq_model_forward(m, a, v, y, nc, 1, &st->rng);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rq_tensor rec[MAXREC];
	rq_model_cfg cfg;
	rq_train_cfg tc;
	rq_train_state st;
	rq_model *m = NULL;
	rq_ckpt *ck = NULL;
	int64_t perm[NDATA];
	char err[512] = "";
	int k, n, refused = -1;

	if (size < 1)
		return 0;
	k = data[0] >= 0xf0 ? 4 : data[0] % 4;
	n = nrec[k];
	for (int i = 0; i < n; i++) {
		rq_tensor_init(&rec[i]);
		if (rq_tensor_copy(&rec[i], &seeds[k][i]) != RQ_OK)
			die("copy");
	}
	for (size_t o = 1; o + 12 <= size && o < 1 + 12 * 16; o += 12)
		mutate(rec, &n, data + o);
	if (write_stream(rec, n) != 0)
		goto out;

	rq_model_cfg_defaults(&cfg);
	if (rq_ckpt_open(&ck, outpath, &cfg, &tc, err, sizeof err) !=
	    RQ_OK) {
		if (!msg_one_line(err))
			die("rq_ckpt_open: refusal without a one-line message");
		refused = 1;
		goto out;
	}
	/* rq-train: the data's shapes must be the checkpoint's */
	if (cfg.F != ds.F || cfg.T != ds.T || cfg.C != ds.C || cfg.H != ds.H ||
	    cfg.W != ds.W || ds.classes > cfg.classes) {
		refused = 1;
		goto out;
	}
	cfg.batch = BATCH;
	cfg.opt_slots = 1;
	if (rq_model_plan(&m, &cfg) != RQ_OK) {
		refused = 1;
		goto out;
	}
	if (rq_model_arena_bytes(m) > (size_t)64 << 20 ||
	    rq_model_alloc(m) != RQ_OK)
		goto out;
	memset(&st, 0, sizeof st);
	st.perm = perm;
	st.nperm = NDATA;
	err[0] = '\0';
	if (rq_ckpt_read(ck, m, &st, err, sizeof err) != RQ_OK) {
		if (!msg_one_line(err))
			die("rq_ckpt_read: refusal without a one-line message");
		refused = 1;
		goto out;
	}
	resume(m, &st);
	refused = 0;
out:
	fuzz_ckpt_fields_refused = refused;
	snprintf(fuzz_ckpt_fields_err, sizeof fuzz_ckpt_fields_err, "%s",
	    refused == 1 ? err : "");
	rq_ckpt_close(ck);
	rq_model_free(m);
	for (int i = 0; i < n; i++)
		rq_tensor_free(&rec[i]);
	return 0;
}
