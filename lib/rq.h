/*
 * rq.h: the one header of librq.  Prototypes are grouped by the file that
 * defines them.  Library code never prints and never exits: it returns a
 * status (RQ_OK, RQ_E*) and leaves a message where the caller can read it.
 */
#ifndef RQ_H
#define RQ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* status codes */
enum {
	RQ_OK = 0,
	RQ_EOF = 1,      /* clean end of stream (between records) */
	RQ_EIO = -1,     /* a system call failed; errno is kept */
	RQ_EFORMAT = -2, /* input is not what the format says */
	RQ_ENOMEM = -3,
	RQ_EINVAL = -4,  /* caller passed something impossible */
	RQ_ERANGE = -5,  /* a size or value out of range */
	RQ_ENUM = -6     /* NaN or Inf where a finite number is needed */
};

/* tensor element types; the numbers are the on-disk codes */
enum {
	RQ_U8 = 1, RQ_I8 = 2, RQ_U16 = 3, RQ_I16 = 4, RQ_U32 = 5, RQ_I32 = 6,
	RQ_U64 = 7, RQ_I64 = 8, RQ_F32 = 9, RQ_F64 = 10
};

#define RQ_MAX_NDIM 8
#define RQ_NAME_MAX 255
#define RQ_META_MAX 65536
#define RQ_VERSION 1
#define RQ_MAX(a, b) ((a) > (b) ? (a) : (b))
#define RQ_MIN(a, b) ((a) < (b) ? (a) : (b))

/*
 * One record of a stream: header fields plus the data in host order.
 * `data` is owned by the tensor (rq_tensor_free); `cap` is its allocated
 * size, so a reader reuses one buffer across records.
 */
typedef struct rq_tensor {
	int dtype;
	int ndim;
	uint64_t dims[RQ_MAX_NDIM];
	char name[RQ_NAME_MAX + 1];
	char *meta;        /* "key=value\n" lines, NUL-terminated, or NULL */
	size_t meta_len;   /* bytes in meta, without the NUL */
	size_t meta_cap;
	void *data;
	size_t nbytes;     /* numel * dtype size */
	size_t cap;
} rq_tensor;

typedef struct rq_stream rq_stream;

/* tensor.c */
size_t rq_dtype_size(int dtype);             /* 0 if unknown */
const char *rq_dtype_name(int dtype);        /* "f32"...; "?" if unknown */
int rq_dtype_parse(const char *s);           /* -1 if unknown */
void rq_tensor_init(rq_tensor *t);
void rq_tensor_free(rq_tensor *t);
int rq_tensor_alloc(rq_tensor *t, int dtype, int ndim, const uint64_t *dims);
int rq_tensor_reserve(rq_tensor *t, size_t nbytes);
int rq_tensor_copy(rq_tensor *dst, const rq_tensor *src);
int rq_tensor_set_name(rq_tensor *t, const char *name);
size_t rq_tensor_numel(const rq_tensor *t);
int rq_numel_of(int ndim, const uint64_t *dims, size_t elsize, size_t *nbytes);
double rq_tensor_get(const rq_tensor *t, size_t i);
void rq_tensor_put(rq_tensor *t, size_t i, double v);
int rq_tensor_convert(rq_tensor *t, int dtype);
int rq_tensor_shape_str(const rq_tensor *t, char *buf, size_t n);
/* metadata: keys [A-Za-z0-9_.:/-]+, values without newline */
const char *rq_meta_get(const rq_tensor *t, const char *key, char *buf,
    size_t n);
int rq_meta_getd(const rq_tensor *t, const char *key, double *v);
int rq_meta_set(rq_tensor *t, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rq_meta_del(rq_tensor *t, const char *key);
int rq_meta_clear(rq_tensor *t);
int rq_meta_valid(const char *meta, size_t len);

/* tensor_io.c: the streamed record format of rq-tensor(5) */
rq_stream *rq_stream_open(const char *path, const char *mode); /* "r" "w" */
rq_stream *rq_stream_fdopen(int fd, const char *name, const char *mode);
int rq_tensor_read(rq_stream *s, rq_tensor *t);   /* RQ_OK, RQ_EOF, <0 */
int rq_tensor_write(rq_stream *s, const rq_tensor *t);
int rq_stream_close(rq_stream *s);  /* write: flush, fsync, rename */
void rq_stream_abort(rq_stream *s); /* write: drop the temporary file */
const char *rq_stream_error(const rq_stream *s); /* "file: record N: ..." */
const char *rq_stream_name(const rq_stream *s);
long rq_stream_record(const rq_stream *s);  /* records done; failing one */
void rq_stream_set_limit(rq_stream *s, uint64_t max_bytes);

/* atomic.c: files that appear whole or not at all */
typedef struct rq_afile {
	FILE *fp;
	char *path;
	char *tmp;
} rq_afile;
int rq_afile_open(rq_afile *a, const char *path);
int rq_afile_commit(rq_afile *a);  /* fflush, fsync, rename; RQ_EIO */
void rq_afile_abort(rq_afile *a);

/* util.c: strict parsing and small helpers for programs */
int rq_parse_long(const char *s, long lo, long hi, long *out);
int rq_parse_double(const char *s, double *out);
int rq_parse_u64(const char *s, uint64_t *out);
void rq_progname_init(int argc, char **argv); /* also disables GSL abort */
int rq_finish_stdout(void);  /* fclose(stdout) check; EPIPE is success */

/* npy.c: NumPy .npy export and import */
int rq_npy_write(FILE *fp, const rq_tensor *t);
int rq_npy_read(FILE *fp, rq_tensor *t, char *err, size_t errn);

/* rng.c: xoshiro256**; the state is saved in checkpoints */
typedef struct rq_rng {
	uint64_t s[4];
	int has_spare;
	double spare;
} rq_rng;
void rq_rng_seed(rq_rng *r, uint64_t seed);
uint64_t rq_rng_next(rq_rng *r);
double rq_rng_uniform(rq_rng *r);             /* [0, 1) */
uint64_t rq_rng_below(rq_rng *r, uint64_t n); /* [0, n) */
double rq_rng_normal(rq_rng *r);              /* N(0, 1) */
void rq_rng_shuffle(rq_rng *r, int64_t *idx, size_t n);

/* wav.c, png.c, idx.c, stft.c, mel.c, resample.c: feature extraction */
/*
 * Readers fill err (one line, naming the file and, where it applies, the
 * record) and return RQ_EIO / RQ_EFORMAT / RQ_ENOMEM.
 */
int rq_wav_read(const char *path, float **x, size_t *n, int *sr,
    char *err, size_t errn);                 /* any libsndfile format, mono */
int rq_wav_write(const char *path, const float *x, size_t n, int sr);
int rq_png_read(const char *path, float **px, int *w, int *h, int *ch,
    char *err, size_t errn);                 /* planar [ch][h][w] in [0, 1] */
int rq_png_write(const char *path, const float *px, int w, int h, int ch);
void rq_image_resize(const float *src, int sw, int sh, int ch, float *dst,
    int dw, int dh);                         /* bilinear, planar */
int rq_image_blur(float *p, int w, int h, double sigma); /* one plane */
void rq_image_downsample(float *p, int w, int h, int f); /* f x f boxes */
int rq_idx_read(const char *path, rq_tensor *t, char *err, size_t errn);
typedef struct rq_stft rq_stft;
rq_stft *rq_stft_alloc(int n_fft, int win_length);  /* periodic Hann */
void rq_stft_free(rq_stft *p);
size_t rq_stft_frames(size_t n, int n_fft, int hop, int center);
/* |X| into out[(n_fft/2+1) x nframes]; center pads n_fft/2 zeros each side */
int rq_stft_mag(rq_stft *p, const float *x, size_t n, int hop, int center,
    float *out, size_t nframes);
double rq_mel_hz2mel(double hz);             /* HTK: 2595 log10(1 + f/700) */
double rq_mel_mel2hz(double mel);
int rq_mel_filterbank(int n_mels, int n_fft, double sr, double fmin,
    double fmax, double *fb);                /* [n_mels x (n_fft/2+1)] */
typedef struct rq_logmel {
	double sr, fmin, fmax, eps;
	int n_fft, win, hop, n_mels, frames, center;
} rq_logmel;
void rq_logmel_defaults(rq_logmel *o);       /* 8 kHz, 25/10 ms, 40 x 32 */
/* log(mel power + eps) into out[n_mels x frames], centre pad/crop */
int rq_logmel_compute(const rq_logmel *o, const float *x, size_t n,
    float *out);
/* CREMA-D: tile to 3 s at 22,050 Hz, STFT 512/353, log(|S| + 1e-7) */
#define RQ_CREMAD_SR 22050
#define RQ_CREMAD_BINS 257
#define RQ_CREMAD_FRAMES 188
int rq_cremad_spec(const float *x, size_t n, float *out); /* x at 22050 */
/* polyphase windowed sinc (Kaiser beta 5), as scipy's resample_poly */
size_t rq_resample_len(size_t n, long up, long down);
int rq_resample(const float *x, size_t n, long up, long down, float *y);
int rq_resample_rate(const float *x, size_t n, long sr_in, long sr_out,
    float **y, size_t *ny);


/* synth.c: the synthetic audio-visual data set */
typedef struct rq_synth {
	long n;
	uint64_t seed;
	const char *split;        /* seeds a distinct stream per split */
	int F, T, H, W;           /* audio [F,T], visual [1,H,W] */
	double a_lo, a_hi;        /* audio noise std, log-uniform range */
	double v_lo, v_hi;        /* visual noise std, log-uniform range */
	double a_parity;          /* audio's weak parity cue (depth) */
	double v_group;           /* visual's weak group cue (blob height) */
} rq_synth;
void rq_synth_defaults(rq_synth *o);
uint64_t rq_synth_split_seed(uint64_t seed, const char *split);
int rq_synth_generate(const rq_synth *o, rq_tensor *audio, rq_tensor *visual,
    rq_tensor *label, rq_tensor *id, rq_tensor *qa, rq_tensor *qv);
int rq_synth_meta(const rq_synth *o, rq_tensor *t);


/*
 * nn layers (linear.c, layernorm.c, gelu.c, attention.c, fusion.c,
 * loss.c, dropout.c).  Row-major float32.  Every backward ACCUMULATES
 * (+=) into its gradient outputs; a NULL gradient pointer skips it.
 */
/*
 * gemm.c: C[M,N] = alpha op(A) op(B) + beta C, row-major (ta, tb: op is
 * the transpose); rq's blocked AVX2 / AVX-512 kernels where the CPU has
 * them, else cblas_sgemm.  beta 0 never reads C.
 */
enum { RQ_GEMM_AUTO = 0, RQ_GEMM_BLAS = 1, RQ_GEMM_AVX2 = 2,
    RQ_GEMM_AVX512 = 3 };
void rq_gemm(int ta, int tb, int M, int N, int K, float alpha,
    const float *A, int lda, const float *B, int ldb, float beta, float *C,
    int ldc);
/* C[M,N] = op(A) op(B) + bias[N] on every row (C not read) */
void rq_gemm_bias(int ta, int tb, int M, int N, int K, const float *A,
    int lda, const float *B, int ldb, const float *bias, float *C, int ldc);
/* the path calls take now (RQ_GEMM in the environment, read once, or
 * rq_gemm_force; else the CPU's best) */
int rq_gemm_path(void);
int rq_gemm_supported(int path);
/* RQ_GEMM_AUTO or a supported path; RQ_EINVAL if the CPU lacks it */
int rq_gemm_force(int path);
const char *rq_gemm_name(int path);
/* y[n,out] = x[n,in] W[out,in]^T + b[out]   (b may be NULL) */
void rq_linear_forward(float *y, const float *x, const float *w,
    const float *b, int n, int in, int out);
/* dx[n,in] += dy W; dw[out,in] += dy^T x; db[out] += sum_n dy */
void rq_linear_backward(float *dx, float *dw, float *db, const float *dy,
    const float *x, const float *w, int n, int in, int out);
/* the same with dx[n,in] = dy W (overwritten, not accumulated) */
void rq_linear_backward_set(float *dx, float *dw, float *db, const float *dy,
    const float *x, const float *w, int n, int in, int out);
/* y = (x - mean) * rstd * g + b over the last dim c; mean, rstd [n] */
void rq_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, int n, int c, float eps);
void rq_layernorm_backward(float *dx, float *dg, float *db, const float *dy,
    const float *x, const float *g, const float *mean, const float *rstd,
    int n, int c);
/* exact GELU: y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) */
void rq_gelu_forward(float *y, const float *x, size_t n);
void rq_gelu_backward(float *dx, const float *dy, const float *x, size_t n);
/* dx = dy GELU'(x) (written, not added), given y = GELU(x) from the forward */
void rq_gelu_backward_y(float *dx, const float *dy, const float *x,
    const float *y, size_t n);
/*
 * Multi-head self-attention core (no mask).  qkv [B,T,3C] holds q | k | v,
 * head h uses columns h*C/H .. (h+1)*C/H of each; att [B,H,T,T] keeps the
 * softmax of q k^T / sqrt(C/H); out [B,T,C] = att v (heads concatenated).
 * scratch needs B*H*T*T floats (backward).
 */
void rq_mhsa_forward(float *out, float *att, const float *qkv, int B, int T,
    int C, int H);
void rq_mhsa_backward(float *dqkv, float *scratch, const float *dout,
    const float *qkv, const float *att, int B, int T, int C, int H);
/*
 * Fusion attention with ONE query shared by the batch: q [C];
 * k, v [B,T,C]; a[b,t] = softmax_t(q . k[b,t] / sqrt(C)) [B,T];
 * ad = a * mask / (1 - p) (dropout on the weights; mask NULL: ad = a),
 * written to ad [B,T] (may equal a when mask is NULL);
 * o[b] = sum_t ad[b,t] v[b,t]  [B,C].
 * Backward: dq [C] (summed over the batch), dk, dv [B,T,C].
 */
void rq_fusion_attn_forward(float *o, float *a, float *ad, const float *q,
    const float *k, const float *v, const uint8_t *mask, float p, int B,
    int T, int C);
void rq_fusion_attn_backward(float *dq, float *dk, float *dv,
    const float *dout, const float *a, const float *ad, const float *q,
    const float *k, const float *v, const uint8_t *mask, float p, int B,
    int T, int C);
/* mean softmax cross-entropy over n rows of k logits: probs [n,k];
 * returns the mean loss; y in [0,k) */
double rq_xent_forward(float *probs, const float *logits, const int32_t *y,
    int n, int k);
/* dlogits += scale * (probs - onehot(y)); scale is usually 1/n */
void rq_xent_backward(float *dlogits, const float *probs, const int32_t *y,
    int n, int k, float scale);
/* inverted dropout: mask[i] = keep (1) or drop (0) drawn from rng,
 * y = x * mask / (1 - p); p = 0 copies and sets mask to 1 */
void rq_dropout_forward(float *y, uint8_t *mask, const float *x, size_t n,
    float p, rq_rng *rng);
void rq_dropout_backward(float *dx, const float *dy, const uint8_t *mask,
    size_t n, float p);

/*
 * rotate.c, air.c: RollingQ.  Vectors and matrices in double, row-major.
 * R [d,d] maps unit(x) onto unit(y); the plane form is the identity on
 * the complement of span{x, y}; the SVD form follows the authors' code.
 */
/* RQ_OK; RQ_EINVAL for d < 2 or a zero x or y; RQ_ENUM for NaN/Inf;
 * RQ_ENOMEM.  y = -x: a half turn in a fixed plane (see rotate.c) */
int rq_rotation_plane(double *R, const double *x, const double *y, size_t d);
int rq_rotation_svd(double *R, const double *x, const double *y, size_t d);
/* alpha = (1 + tanh(-rho * air)) / 2; t = alpha eka/|eka| +
 * (1-alpha) ekv/|ekv|; qb = t |eq| / |t| */
int rq_rollingq_anchor(double *qb, double *alpha, const double *eq,
    const double *eka, const double *ekv, double air, double rho, size_t d);
/* AIR = mean_i [cos(q, ka_i) - cos(q, kv_i)]; ka, kv [n,d]; the two mean
 * cosines are returned through cos_a, cos_v (may be NULL) */
double rq_air(const float *q, const float *ka, const float *kv, size_t n,
    size_t d, double *cos_a, double *cos_v);

/* model.c, optim.c, ckpt.c, dataset.c: the model and its training */
enum { RQ_METHOD_AUDIO, RQ_METHOD_VISUAL, RQ_METHOD_CONCAT, RQ_METHOD_SUM,
    RQ_METHOD_MT, RQ_METHOD_MTSTAR, RQ_METHOD_COUNT };
const char *rq_method_name(int method);      /* "audio" ... "mtstar" */
int rq_method_parse(const char *s);          /* -1 if unknown */
/*
 * Sizes.  Audio [F,T] is cut into pf x pt patches (rows/columns that do
 * not fill a patch are dropped); visual [C,H,W] holds C/vc frames of vc
 * channels, each cut into ph x pw patches: frame-major token order.
 */
typedef struct rq_model_cfg {
	int method;
	int d, depth, heads, mlp;   /* width, blocks, heads, MLP ratio */
	int F, T, pf, pt;
	int C, H, W, vc, ph, pw;
	int classes;
	int batch;                  /* largest batch the arena holds */
	float drop;                 /* fusion dropout (weights and output) */
	int opt_slots;              /* optimizer state vectors (0..2) */
} rq_model_cfg;
void rq_model_cfg_defaults(rq_model_cfg *c);
typedef struct rq_param {
	char name[64];
	size_t off, n;
	int ndim;
	uint64_t dims[2];
	int init;                   /* RQ_INIT_* */
	int group;                  /* 0 live, 1 probe (diagnostic) */
} rq_param;
enum { RQ_INIT_XAVIER, RQ_INIT_ZERO, RQ_INIT_ONE, RQ_INIT_POS,
    RQ_INIT_CLS, RQ_INIT_FCLS };
typedef struct rq_model rq_model;
/* plan only (no allocation): table, counts and FLOPs */
int rq_model_plan(rq_model **mp, const rq_model_cfg *cfg);
int rq_model_alloc(rq_model *m);             /* the one arena */
void rq_model_free(rq_model *m);
const rq_model_cfg *rq_model_config(const rq_model *m);
size_t rq_model_nparams(const rq_model *m);  /* trainable floats */
int rq_model_ntable(const rq_model *m);
const rq_param *rq_model_table(const rq_model *m, int i);
const rq_param *rq_model_find(const rq_model *m, const char *name);
double rq_model_flops(const rq_model *m);    /* forward, per sample */
size_t rq_model_arena_bytes(const rq_model *m);
int rq_model_tokens(const rq_model *m, int *na, int *nv);
float *rq_model_params(rq_model *m);
float *rq_model_grads(rq_model *m);
float *rq_model_state(rq_model *m, int slot);
void rq_model_init_params(rq_model *m, rq_rng *rng);
/* RollingQ state: R_total [d,d] (double) and the rotation count */
double *rq_model_rotation(rq_model *m, int layer);
long *rq_model_rotations(rq_model *m, int layer);
int rq_model_fusion_layers(const rq_model *m);
/*
 * One batch: a [B,F,T], v [B,C,H,W]; train != 0 uses dropout drawn from
 * rng.  Returns the loss (sum of the head CEs, each a mean over B); y may
 * be NULL in eval (returns 0).  Outputs stay in the model until the next
 * forward.
 */
double rq_model_forward(rq_model *m, const float *a, const float *v,
    const int32_t *y, int B, int train, rq_rng *rng);
void rq_model_backward(rq_model *m, const int32_t *y, int B); /* += grads */
/* += grad of (sum of these B losses) / Btot: one part of a larger batch */
void rq_model_backward_part(rq_model *m, const int32_t *y, int B, int Btot);
void rq_model_zero_grad(rq_model *m);
/* after a forward: head outputs [B,K] (probs); NULL if the method has none */
const float *rq_model_probs(const rq_model *m, int which); /* 0 fused 1 a 2 v */
const float *rq_model_logits(const rq_model *m, int which);
/* per-head mean CE of the last forward */
double rq_model_head_loss(const rq_model *m, int which);
/* MT (layer 0), MT* (layers 0, 1): the fusion query after R [d], the
 * per-sample mean keys over audio and visual tokens [B,d]; the cls_f-row
 * attention shares [B] (MT*: of layer 1) */
const float *rq_model_query(const rq_model *m, int layer);
void rq_model_kmeans(const rq_model *m, int layer, int B, float *ka,
    float *kv);
void rq_model_shares(const rq_model *m, int B, float *sa, float *sv,
    float *sc);
/* OGM-GE (Concat, Sum): per-modality logits of the fused head [B,K] */
void rq_model_modality_logits(const rq_model *m, int B, float *la, float *lv);
/* multiply the gradient of encoder e (0 audio, 1 visual) by coef */
void rq_model_scale_encoder_grad(rq_model *m, int e, float coef, int ge,
    rq_rng *rng);

/* optim.c */
enum { RQ_OPT_SGD, RQ_OPT_ADAMW };
/* torch.optim.SGD: g += wd p; m = mom m + g; p -= lr m */
void rq_sgd_step(float *p, const float *g, float *mbuf, size_t n, double lr,
    double mom, double wd);
/* decoupled: p -= lr wd p; Adam with bias correction at step t >= 1 */
void rq_adamw_step(float *p, const float *g, float *m, float *v, size_t n,
    double lr, double b1, double b2, double eps, double wd, long t);
/* linear warm-up over warm steps (lr s/warm), then cosine to 0 */
double rq_lr_cosine(double base, long step, long warm, long total);

/* dataset.c: a data set stream in memory (chunks concatenated) */
typedef struct rq_dataset {
	size_t n;
	int F, T, C, H, W, classes;
	float *audio, *visual;
	int32_t *label;
	int64_t *id;                 /* NULL if absent */
	char name[64], split[16];
} rq_dataset;
int rq_dataset_load(rq_dataset *ds, const char *path, char *err,
    size_t errn);
void rq_dataset_free(rq_dataset *ds);
/* gather samples idx[0..B) into a [B,F,T], v [B,C,H,W], y [B] */
void rq_dataset_batch(const rq_dataset *ds, const int64_t *idx, int B,
    float *a, float *v, int32_t *y);

/* ckpt.c: checkpoints are tensor streams (see rq-train(1)) */
typedef struct rq_train_state {
	long epoch;                  /* epochs completed */
	long step;                   /* optimizer steps taken */
	long batch;                  /* batches done in the current epoch */
	int64_t *perm;               /* current epoch's order (mid-epoch) */
	size_t nperm;
	double acc[8];               /* running sums of the current epoch */
	double best_val, best_test, best_train;
	long best_epoch;
	rq_rng rng;
	char hyper[2048];            /* "key=value\n" lines */
} rq_train_state;
int rq_ckpt_save(const char *path, rq_model *m, const rq_train_state *st,
    char *err, size_t errn);
/* reads the config from a checkpoint: cfg filled, hyper copied */
int rq_ckpt_config(const char *path, rq_model_cfg *cfg, char *hyper,
    size_t hypern, char *err, size_t errn);
/* st may be NULL (weights and RollingQ state only) */
int rq_ckpt_load(const char *path, rq_model *m, rq_train_state *st,
    char *err, size_t errn);
/* per-sample form: ca[i] = cos(q, ka_i), cv[i] = cos(q, kv_i); a zero
 * vector has cosine 0 with anything */
void rq_air_samples(double *ca, double *cv, const float *q, const float *ka,
    const float *kv, size_t n, size_t d);
/* Rtotal <- Rnew Rtotal: Rtotal acts first, then Rnew; RQ_ENOMEM */
int rq_rotation_compose(double *Rtotal, const double *Rnew, size_t d);
/* out[n,d] = v[n,d] R^T (each row v_i becomes R v_i); out != v */
void rq_rotation_apply(double *out, const double *R, const double *v,
    size_t n, size_t d);
void rq_rotation_apply_f32(float *out, const double *R, const float *v,
    size_t n, size_t d);

/* stats.c: Pearson, Spearman */
/*
 * Correlation of x[0..n) and y[0..n) with a two-sided p-value (t with n-2
 * dof) and a `level` (e.g. 0.95) Fisher-z interval.  Returns RQ_OK,
 * RQ_ENUM (NaN/Inf: out->bad is its index, out->bad_y set when in y),
 * RQ_ERANGE (n < 3), RQ_EINVAL (constant input: r undefined, or level
 * outside (0, 1)), RQ_ENOMEM.  Spearman ranks with ties averaged.
 */
typedef struct rq_corr {
	double r, p, t, ci_lo, ci_hi;
	size_t n;
	size_t bad;
	int bad_y;
} rq_corr;
int rq_pearson(const double *x, const double *y, size_t n, double level,
    rq_corr *out);
int rq_spearman(const double *x, const double *y, size_t n, double level,
    rq_corr *out);
int rq_rank(double *r, const double *x, size_t n); /* 1-based, ties mean */

/* dist.c: data-parallel training over MPI */
/*
 * Compiled with RQ_MPI (bin/rq-train-mpi): MPI_COMM_WORLD.  Without it
 * (librq.a): one process, rank 0 of 1, every collective a no-op.  All
 * collectives must be called by every rank in the same order.  Errors:
 * RQ_EIO with the message in rq_dist_error().
 */
int rq_dist_init(int *argc, char ***argv);
void rq_dist_finalize(void);
int rq_dist_enabled(void);                   /* built with RQ_MPI */
int rq_dist_rank(void);
int rq_dist_size(void);
const char *rq_dist_error(void);
int rq_dist_sum_f32(float *buf, size_t n);   /* allreduce-sum in place */
int rq_dist_sum_f64(double *buf, size_t n);
int rq_dist_max_int(int *v);                 /* allreduce-max in place */
int rq_dist_bcast(void *buf, size_t nbytes, int root);
int rq_dist_barrier(void);
/* rank's contiguous part [off, off+cnt) of n items in size parts */
void rq_dist_part(size_t n, int rank, int size, size_t *off, size_t *cnt);

#endif /* RQ_H */
