/*
 * rq.h: the one header of librq.  Prototypes are grouped by the file that
 * defines them.  Library code never prints and never exits: it returns a
 * status (RQ_OK, RQ_E*) and leaves a message where the caller can read it.
 */
#ifndef RQ_H
#define RQ_H

#include <pthread.h>
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
int rq_finish_stdout(void);  /* fclose(stdout); -1 on any lost write */

/* cli.c: what every program's command line shares */
void rq_cli_init(int argc, char **argv); /* argv[0] = name; rq_progname_init */
const char *rq_cli_version(void);        /* "VERSION (COMMIT)" */
int rq_cli_range(const char *s, double *lo, double *hi); /* 0 x, 1 lo:hi, -1 */
int rq_cli_stream_to_tty(const char *path);  /* NULL or "-" and stdout a tty */
#define RQ_CLI_TTY_MSG \
	"stdout is a terminal: not writing a binary stream there; use -o FILE or a pipe"

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
/* restore a saved state; RQ_EINVAL for all-zero words or a bad spare */
int rq_rng_set(rq_rng *r, const uint64_t s[4], int has_spare, double spare);
int rq_rng_check(const rq_rng *r);           /* RQ_OK if r can draw */
uint64_t rq_rng_next(rq_rng *r);
double rq_rng_uniform(rq_rng *r);             /* [0, 1) */
uint64_t rq_rng_below(rq_rng *r, uint64_t n); /* [0, n) */
double rq_rng_normal(rq_rng *r);              /* N(0, 1) */
void rq_rng_shuffle(rq_rng *r, int64_t *idx, size_t n);

/* wav.c, png.c, jpeg.c, image.c, idx.c, stft.c, mel.c, resample.c, fbank.c */
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
/* jpeg.c: libjpeg-turbo; gray or RGB, 8 bits, as PNG */
int rq_jpeg_read(const char *path, float **px, int *w, int *h, int *ch,
    char *err, size_t errn);                 /* planar [ch][h][w] in [0, 1] */
int rq_jpeg_write(const char *path, const float *px, int w, int h, int ch,
    int quality);                            /* quality 1..100 */
/* image.c: PNG or JPEG by the first bytes */
int rq_image_read(const char *path, float **px, int *w, int *h, int *ch,
    char *err, size_t errn);
void rq_image_resize(const float *src, int sw, int sh, int ch, float *dst,
    int dw, int dh);                         /* bilinear, planar */
int rq_image_blur(float *p, int w, int h, double sigma); /* one plane */
void rq_image_downsample(float *p, int w, int h, int f); /* f x f boxes */
/* idx.c */
int rq_idx_read(const char *path, rq_tensor *t, char *err, size_t errn);
/* stft.c */
typedef struct rq_stft rq_stft;
rq_stft *rq_stft_alloc(int n_fft, int win_length);  /* periodic Hann */
void rq_stft_free(rq_stft *p);
size_t rq_stft_frames(size_t n, int n_fft, int hop, int center);
/* |X| into out[(n_fft/2+1) x nframes]; center pads n_fft/2 zeros each side */
int rq_stft_mag(rq_stft *p, const float *x, size_t n, int hop, int center,
    float *out, size_t nframes);
/* mel.c */
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
/* stft.c: CREMA-D, tiled to 3 s at 22,050 Hz, STFT 512/353, log(|S|+1e-7) */
#define RQ_CREMAD_SR 22050
#define RQ_CREMAD_BINS 257
#define RQ_CREMAD_FRAMES 188
int rq_cremad_spec(const float *x, size_t n, float *out); /* x at 22050 */
/*
 * fbank.c: Kaldi log mel filterbank (torchaudio.compliance.kaldi.fbank:
 * Hann window, pre-emphasis, DC removal, power, 1127 ln(1 + f/700) mel)
 * in the Kinetics-Sounds recipe: clip mean removed first, frames zero-
 * padded or cut to T, (v - norm_mean) / (2 norm_std); out[n_mels x T].
 */
typedef struct rq_fbank {
	double sr, frame_ms, shift_ms;  /* Hz; 25 and 10 ms */
	double low_hz, high_hz;         /* 20; high <= 0: Nyquist + high */
	double preemph;                 /* 0.97 */
	int n_mels, frames;             /* 128, 1024 */
	double norm_mean, norm_std;     /* -4.503877, 5.141276 */
} rq_fbank;
void rq_fbank_defaults(rq_fbank *o, double sr);
size_t rq_fbank_frames(const rq_fbank *o, size_t n);  /* before pad/cut */
int rq_fbank_compute(const rq_fbank *o, const float *x, size_t n,
    float *out);
/* resample.c: polyphase windowed sinc (Kaiser 5), as scipy resample_poly */
size_t rq_resample_len(size_t n, long up, long down);
int rq_resample(const float *x, size_t n, long up, long down, float *y);
int rq_resample_rate(const float *x, size_t n, long sr_in, long sr_out,
    float **y, size_t *ny);

/*
 * cache.c: the last RQ_CACHE_SLOTS objects built from a key of at most
 * RQ_CACHE_KEY bytes (compared bit for bit), least recently used evicted.
 * get finds or builds (build's status returned) and pins the value; put
 * unpins it (slot -1: a private copy, freed).  A cache is a static
 * rq_cache initialised with RQ_CACHE_INIT(free_val).
 */
#define RQ_CACHE_SLOTS 4
#define RQ_CACHE_KEY 64
typedef struct rq_cache {
	pthread_mutex_t lock;
	void (*free_val)(void *);
	unsigned long clock;
	int enrolled;             /* freed at exit */
	struct rq_cache_slot {
		unsigned char key[RQ_CACHE_KEY];
		size_t keyn;
		void *val;            /* NULL: empty slot */
		unsigned users;
		unsigned long stamp;  /* last use */
	} slot[RQ_CACHE_SLOTS];
} rq_cache;
#define RQ_CACHE_INIT(free_val) { PTHREAD_MUTEX_INITIALIZER, (free_val), \
	0, 0, {{{0}, 0, NULL, 0, 0}} }
int rq_cache_get(rq_cache *c, const void *key, size_t keyn,
    int (*build)(const void *key, void *arg, void **val), void *arg,
    void **val, int *slot);
void rq_cache_put(rq_cache *c, int slot, void *val);

/* manifest.c: "path[;path...],label,split" lines (rq-extract(1)) */
typedef struct rq_manifest_item {
	char *paths;        /* ';'-separated */
	int label;
	long line;          /* 1-based line of the file */
} rq_manifest_item;
/* the items of split (NULL: all); err names the file and the line */
int rq_manifest_read(const char *path, const char *split,
    rq_manifest_item **items, size_t *n, char *err, size_t errn);
void rq_manifest_free(rq_manifest_item *it, size_t n);
/* pick of a clip's n 1-fps frames, the authors' rule: evenly spaced, or
 * drawn at random from each segment as at training time (rng not NULL) */
int rq_manifest_pick(size_t n, int pick, rq_rng *rng, size_t *idx);

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
/* synth.c, the sequence form: two named [n,T,F] modalities (layout=seq) */
#define RQ_SYNTH_SEQ_GAIN 0.1     /* a --seq spec without a gain */
#define RQ_SYNTH_VISION_GAIN 0.08 /* the MOSEI-shaped preset */
#define RQ_SYNTH_TEXT_GAIN 0.07
#define RQ_SYNTH_PROTO_SEED 0x70726f746fULL  /* "proto": the class cues */
typedef struct rq_synth_seqmod {
	char name[64];
	int T, F;                 /* [T steps, F features] */
	double gain;              /* the class cue's amplitude */
} rq_synth_seqmod;
typedef struct rq_synth_seq {
	long n;
	uint64_t seed;
	const char *split;
	const char *dataset;      /* the dataset= metadata */
	int classes;
	rq_synth_seqmod m[2];
	double lo, hi;            /* noise std, log-uniform range */
} rq_synth_seq;
/* the MOSEI-shaped set: vision [50,35], text [50,300], 2 classes */
void rq_synth_seq_defaults(rq_synth_seq *o);
/* NAME:T:F[:gain] */
int rq_synth_seq_parse(rq_synth_seqmod *m, const char *spec);
int rq_synth_seq_generate(const rq_synth_seq *o, rq_tensor x[2],
    rq_tensor *label, rq_tensor *id, rq_tensor q[2]);
/* m 0 or 1: that modality's record (layout=seq); -1: the others */
int rq_synth_seq_meta(const rq_synth_seq *o, int m, rq_tensor *t);


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
/*
 * Elementwise work fused into a product's store (rq_gemm_ep), on each
 * strip of rows of C as it is finished, in cache (or in one pass after
 * cblas_sgemm), with x, y, out sharing C's row layout with leading
 * dimension ld:
 *   RQ_EP_ADD:   C += x                    (a residual)
 *   RQ_EP_GELU:  out = GELU(C)             (C keeps the pre-activation)
 *   RQ_EP_DGELU: C = C GELU'(x), y = GELU(x)  (as rq_gelu_backward_y)
 */
enum { RQ_EP_ADD = 1, RQ_EP_GELU = 2, RQ_EP_DGELU = 3 };
typedef struct rq_epilogue {
	int kind;
	const float *x, *y;
	float *out;
	int ld;
} rq_epilogue;
/* C[M,N] = op(A) op(B) + bias (NULL: none), then ep (NULL: none) */
void rq_gemm_ep(int ta, int tb, int M, int N, int K, const float *A,
    int lda, const float *B, int ldb, const float *bias, float *C, int ldc,
    const rq_epilogue *ep);
/*
 * Which fused layer functions the model's blocks use, a mask of
 * RQ_FUSE_*: GELU's backward in fc2's dx store (rq_linear_backward_gelu),
 * attention's dqkv written, not zeroed then added (rq_mhsa_backward_set).
 * Both (RQ_FUSE_ALL) unless RQ_FUSE=mask in the environment (read once;
 * 0: none) or rq_fuse_force(mask) says otherwise: for A/B timing
 * (bench/step-ab -F) and the tests; off, the separate passes run.
 */
enum { RQ_FUSE_DGELU = 1, RQ_FUSE_ATT = 2, RQ_FUSE_ALL = 3 };
int rq_fuse(void);
void rq_fuse_force(int mask);
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
/* fused (linear.c): y = x W^T + b + r (r [n,out]); h = x W^T + b with
 * g = GELU(h); dx = (dy W) GELU'(xp) where x = GELU(xp) [n,in] (dx
 * written), dw and db as rq_linear_backward */
void rq_linear_forward_add(float *y, const float *x, const float *w,
    const float *b, const float *r, int n, int in, int out);
void rq_linear_forward_gelu(float *h, float *g, const float *x,
    const float *w, const float *b, int n, int in, int out);
void rq_linear_backward_gelu(float *dx, float *dw, float *db, const float *dy,
    const float *x, const float *xp, const float *w, int n, int in, int out);
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
/* the same with dqkv written, not accumulated (no zeroing first) */
void rq_mhsa_backward_set(float *dqkv, float *scratch, const float *dout,
    const float *qkv, const float *att, int B, int T, int C, int H);
/* cme.c: multi-head attention of q [B,Nq,C] over k, v [B,Nk,C] (Q from one
 * sequence, K/V from another); att [B,H,Nq,Nk]; scratch [Nq*Nk]; ReLU */
void rq_xattn_forward(float *out, float *att, const float *q, const float *k,
    const float *v, int B, int Nq, int Nk, int C, int H);
void rq_xattn_backward(float *dq, float *dk, float *dv, float *scratch,
    const float *dout, const float *q, const float *k, const float *v,
    const float *att, int B, int Nq, int Nk, int C, int H);
void rq_relu_forward(float *y, const float *x, size_t n);
void rq_relu_backward(float *dx, const float *dy, const float *y, size_t n);
/*
 * mut.c: MulT's crossmodal layer, target x [B,Nx,d] over source s
 * [B,Ny,d] (the shapes and the math at the top of mut.c).  Its
 * parameters are one vector of rq_xmod_nparams floats, the groups in
 * RQ_XMOD_* order; the activations of a batch live in rq_xmod, carved by
 * rq_xmod_layout from buf (NULL: count only; returns the floats).
 * Backward accumulates into dx, ds and the gradient vector g; scr holds
 * rq_xmod_scratch_floats floats.
 */
enum { RQ_XMOD_LNG, RQ_XMOD_LNB, RQ_XMOD_QW, RQ_XMOD_QB, RQ_XMOD_KW,
    RQ_XMOD_KB, RQ_XMOD_VW, RQ_XMOD_VB, RQ_XMOD_OW, RQ_XMOD_OB,
    RQ_XMOD_LN2G, RQ_XMOD_LN2B, RQ_XMOD_F1W, RQ_XMOD_F1B, RQ_XMOD_F2W,
    RQ_XMOD_F2B, RQ_XMOD_NGROUP };
typedef struct rq_xmod {
	int B, Nx, Ny, d, H, hd;
	float *xn, *mux, *rsx, *sn, *mus, *rss, *q, *k, *v, *att, *ctx;
	float *x1, *x2n, *mu2, *rs2, *h, *r;
} rq_xmod;
size_t rq_xmod_nparams(int d, int hd);
size_t rq_xmod_layout(rq_xmod *a, float *buf, int B, int Nx, int Ny, int d,
    int H, int hd);
size_t rq_xmod_scratch_floats(int B, int Nx, int Ny, int d, int hd);
void rq_xmod_forward(rq_xmod *a, float *out, const float *x, const float *s,
    const float *p);
void rq_xmod_backward(const rq_xmod *a, float *dx, float *ds, float *g,
    const float *dout, const float *x, const float *s, const float *p,
    float *scr);
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
 * rotate.c: RollingQ's rotations.  Vectors and matrices in double, row-major.
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
/* Rtotal <- Rnew Rtotal: Rtotal acts first, then Rnew; RQ_ENOMEM */
int rq_rotation_compose(double *Rtotal, const double *Rnew, size_t d);
/* out[n,d] = v[n,d] R^T (each row v_i becomes R v_i); out != v */
void rq_rotation_apply(double *out, const double *R, const double *v,
    size_t n, size_t d);
void rq_rotation_apply_f32(float *out, const double *R, const float *v,
    size_t n, size_t d);

/* air.c: the Attention Imbalance Rate */
/* AIR = mean_i [cos(q, ka_i) - cos(q, kv_i)]; ka, kv [n,d]; the two mean
 * cosines are returned through cos_a, cos_v (may be NULL) */
double rq_air(const float *q, const float *ka, const float *kv, size_t n,
    size_t d, double *cos_a, double *cos_v);
/* per-sample form: ca[i] = cos(q, ka_i), cv[i] = cos(q, kv_i); a zero
 * vector has cosine 0 with anything */
void rq_air_samples(double *ca, double *cv, const float *q, const float *ka,
    const float *kv, size_t n, size_t d);

/* dataset.c: modality names and slot layouts (see rq_dataset) */
#define RQ_MODNAME_MAX 32
enum { RQ_LAYOUT_SPEC, RQ_LAYOUT_FRAMES, RQ_LAYOUT_SEQ };
const char *rq_layout_name(int layout);  /* spectrogram, frames, seq */
int rq_layout_parse(const char *s);      /* -1 if unknown */
/* a modality name: 1..31 of [A-Za-z0-9_-], not label or id: 1 ok */
int rq_modality_name_ok(const char *s);

/* airdump.c: the air-dump group fusion.q f32 [d], fusion.kmean.audio,
 * fusion.kmean.visual f32 [n,d] (layer l > 0: fusion.<l>.*), written
 * through t, whose metadata every record carries */
int rq_airdump_put(rq_stream *s, rq_tensor *t, int layer, const float *q,
    const float *ka, const float *kv, size_t n, size_t d);
/* the same with the key means named fusion.kmean.<mod[0]> and
 * .<mod[1]>; names other than audio, visual also carry slot=0, slot=1
 * (mod NULL: audio, visual) */
int rq_airdump_put_named(rq_stream *s, rq_tensor *t, int layer,
    const char (*mod)[RQ_MODNAME_MAX], const float *q, const float *ka,
    const float *kv, size_t n, size_t d);
/* layer 0's group, meta epoch=E, as a whole file (atomic); errors
 * "path: message" in err; mod as rq_airdump_put_named */
int rq_airdump_write(const char *path, long epoch,
    const char (*mod)[RQ_MODNAME_MAX], const float *q, const float *ka,
    const float *kv, size_t n, size_t d, char *err, size_t errn);
/* reading: a group starts at each fusion.q; the fusion.kmean.* records
 * after it are appended along axis 0.  fusion.kmean.audio is slot 0 and
 * .visual slot 1; any other name tells its slot by slot=0 or slot=1.
 * Errors name file and record. */
enum { RQ_AIRDUMP_OTHER, RQ_AIRDUMP_Q, RQ_AIRDUMP_KA, RQ_AIRDUMP_KV };
typedef struct rq_airdump {
	const char *file;            /* for messages */
	float *q, *ka, *kv;          /* [d]; [na,d]; [nv,d] */
	size_t d, na, nv, cap_a, cap_v;
	long qrec;                   /* record of its fusion.q; -1: none yet */
	char epoch[64];              /* fusion.q's epoch=, "" if absent */
	char mod[2][RQ_MODNAME_MAX]; /* the key means' modality names */
} rq_airdump;
int rq_airdump_kind(const rq_tensor *t);     /* RQ_AIRDUMP_* */
void rq_airdump_init(rq_airdump *g, const char *file);
void rq_airdump_free(rq_airdump *g);
/* a new group at fusion.q record rec: f32 [d], d >= dmin */
int rq_airdump_begin(rq_airdump *g, const rq_tensor *t, long rec,
    size_t dmin, char *err, size_t errn);
/* append a key-mean record of either slot: f32 [N,d] */
int rq_airdump_add(rq_airdump *g, const rq_tensor *t, long rec, char *err,
    size_t errn);
/* the group is whole: key means of both kinds, as many of each */
int rq_airdump_check(const rq_airdump *g, char *err, size_t errn);

/* model.c: the models of rq-train(1), one arena each */
enum { RQ_METHOD_AUDIO, RQ_METHOD_VISUAL, RQ_METHOD_CONCAT, RQ_METHOD_SUM,
    RQ_METHOD_MT, RQ_METHOD_MTSTAR,
    RQ_METHOD_JMT,              /* MT's layer, then a 2nd over 3 tokens */
    RQ_METHOD_MBT, RQ_METHOD_MMML,
    RQ_METHOD_MUT,              /* MulT's crossmodal layers (mut.c) */
    RQ_METHOD_COUNT };
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
	int fdepth;                 /* MBT bottleneck, MMML CME layers (1) */
	int ftok;                   /* MBT: bottleneck tokens (default 4) */
	int mdepth;                 /* MuT: memory blocks per target (3);
	                               its crossmodal layers are fdepth */
	/* the slots' modality names (audio, visual) and RQ_LAYOUT_* kinds
	 * (spectrogram, frames).  A sequence slot is the patch encoder with
	 * one patch per step holding all its features: slot 0 pf = 1,
	 * pt = T (features); slot 1 C = vc = 1, ph = 1, pw = W (features) */
	char mod[2][RQ_MODNAME_MAX];
	int layout[2];
} rq_model_cfg;
void rq_model_cfg_defaults(rq_model_cfg *c);
typedef struct rq_param {
	char name[64];
	size_t off, n;
	int ndim;
	uint64_t dims[2];
	int init;                   /* RQ_INIT_* */
	int group;                  /* 0 live, 1 probe (diagnostic) */
	/* for counting (count.c): what the tensor is, and how many token
	 * rows per sample it is applied to, in rq (rows) and in the
	 * reference PyTorch module (rows_ref); -1: not annotated */
	int kind;                   /* RQ_KIND_* */
	double rows, rows_ref;
} rq_param;
enum { RQ_KIND_RAW, RQ_KIND_LINW, RQ_KIND_LINB, RQ_KIND_LNG, RQ_KIND_LNB };
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
/* the encoders' CLS features of the last forward [B,d] (e 0 audio, 1
 * visual), and a buffer [B,d] whose contents the next backward adds to
 * their gradient (then clears): a loss on the features (PMR) */
const float *rq_model_feature(const rq_model *m, int e);
/* encoder e's input tokens of the last forward, [cls ; patches W^T + b]
 * + pos [B,N,d] (N tokens in *N); NULL if the model has no encoder e */
const float *rq_model_embedding(const rq_model *m, int e, int *N);
float *rq_model_feature_grad(rq_model *m, int e);
/* attention products of the model per sample, MACs (QK^T and AV) */
double rq_model_attn_macs(const rq_model *m);
/* OGM-GE (Concat, Sum): per-modality logits of the fused head [B,K] */
void rq_model_modality_logits(const rq_model *m, int B, float *la, float *lv);
/* multiply the gradient of encoder e (0 audio, 1 visual) by coef */
void rq_model_scale_encoder_grad(rq_model *m, int e, float coef, int ge,
    rq_rng *rng);

/*
 * jmt.c: single-head attention with one query PER SAMPLE (JMT's second
 * fusion layer).  q, dq [B,C]; k, v, dk, dv [B,T,C]; a, ad [B,T]; mask
 * [B,T] or NULL (dropout p on the weights); o, dout [B,C].  Backward
 * accumulates; NULL gradients are skipped.
 */
void rq_jmt_attn_forward(float *o, float *a, float *ad, const float *q,
    const float *k, const float *v, const uint8_t *mask, float p, int B,
    int T, int C);
void rq_jmt_attn_backward(float *dq, float *dk, float *dv, const float *dout,
    const float *a, const float *ad, const float *q, const float *k,
    const float *v, int B, int T, int C);

/*
 * count.c: parameters and FLOPs of a planned model, summed over its
 * table (rq_param kind and rows) and its attention products.
 * RQ_COUNT_THOP: the convention of the paper's Table 4 (thop): only
 * Linear/conv/LayerNorm tensors that run, rows_ref rows, Linear in*out
 * MACs per row without bias, LayerNorm 4 d per row, no attention
 * products; rollingq adds R (d*d parameters, d*d MACs) per fusion
 * query.  RQ_COUNT_ALL: every tensor, rq's own rows, bias adds, LN 4 d
 * per row, attention products.  Returns RQ_EINVAL if a tensor is not
 * annotated (its name in *bad).
 */
enum { RQ_COUNT_THOP, RQ_COUNT_ALL };
typedef struct rq_count {
	double params;               /* parameters (R included when asked) */
	double macs;                 /* multiply-accumulates per sample */
	double attn_macs;            /* of which attention products */
	const char *bad;             /* the first unannotated tensor */
} rq_count;
int rq_count_model(const rq_model *m, int conv, int rollingq, rq_count *out);

/*
 * pmr.c: PMR (Fan et al. 2023) on the Concat model.  Prototypes c[m][k]
 * [2,K,d] (double), re-estimated each epoch from class sums of the CLS
 * features (eval mode), with momentum; prototype logits
 * s_ik = -|z_i - c_k|; PCE = CE(softmax(s), y).
 */
typedef struct rq_pmr {
	int K, d, have;              /* have: prototypes estimated once */
	double *proto;               /* [2,K,d] */
	double *sum;                 /* [2,K,d] class sums, counts [K], scratch */
} rq_pmr;
int rq_pmr_init(rq_pmr *p, int K, int d);    /* RQ_ENOMEM */
void rq_pmr_free(rq_pmr *p);
void rq_pmr_clear(rq_pmr *p);                /* the sums, before a pass */
/* add features za, zv [B,d] of labels y to the sums */
void rq_pmr_add(rq_pmr *p, const float *za, const float *zv,
    const int32_t *y, int B);
/* sums -> prototypes: raw means the first time, then
 * c <- (1 - mu) mean + mu c; a class without samples keeps its
 * prototype.  Reduces the sums over ranks (dist.c) first. */
int rq_pmr_update(rq_pmr *p, double mu);
/* PCE of features z [B,d] of modality md against its prototypes: returns
 * the sum over the B samples of -log softmax(s_i)[y_i]; pt (may be NULL)
 * += sum_i softmax(s_i)[y_i]; dz (may be NULL) += scale dPCE_sum/dz */
double rq_pmr_pce(rq_pmr *p, int md, const float *z, const int32_t *y,
    int B, float *dz, double scale, double *pt);
/* PMR's binary coefficients from rho = pt_a / pt_v: rho > 1: (0, alpha),
 * rho < 1: (alpha, 0), else (0, 0) */
void rq_pmr_beta(double pta, double ptv, double alpha, double beta[2]);

/* method.c: rq-train's methods (-m) as data, one row each */
enum { RQ_ENC_AUDIO = 1, RQ_ENC_VISUAL = 2, RQ_ENC_BOTH = 3 };
typedef struct rq_method {
	const char *name;            /* -m name */
	int model;                   /* RQ_METHOD_*: what rq_model_plan builds */
	int encoders;                /* RQ_ENC_* */
	const char *fusion;          /* "none", "concat", "sum", "attention",
	                                "bottleneck", "cme", "crossmodal" */
	int queries;                 /* fusion layers with a query (RollingQ) */
	int ogm_able;                /* fused head splits per modality (OGM) */
	int rollingq, ogm;           /* on by default */
	int pmr;                     /* PMR on by default */
} rq_method;
int rq_method_count(void);
const rq_method *rq_method_at(int i);
const rq_method *rq_method_find(const char *name);  /* NULL if unknown */
const rq_method *rq_method_of(int model);   /* the model's plain row */

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
#define RQ_MAX_CLASSES 1000000       /* largest classes=; labels below it */
/*
 * Two modality records, any names but label and id: the first takes
 * slot 0 (the "audio" encoder), the second slot 1 ("visual").  Slot 0
 * holds a spectrogram [N,F,T] or a sequence [N,T,F], slot 1 frames
 * [N,C,H,W] or a sequence [N,T,F].  A sequence (record metadata
 * layout=seq, or forced by the caller) is stored as the slot's own
 * kind seen one way: slot 0 as F = T steps, T = F features; slot 1 as
 * C = 1, H = T steps, W = F features.  RQ_MODNAME_MAX, RQ_LAYOUT_*:
 * above, with the air dumps.
 */
typedef struct rq_dataset {
	size_t n;
	int F, T, C, H, W, classes;
	float *audio, *visual;       /* slot 0 [n,F,T], slot 1 [n,C,H,W] */
	int32_t *label;
	int64_t *id;                 /* NULL if absent */
	char name[64], split[16];
	char mod[2][RQ_MODNAME_MAX]; /* the slots' record names */
	int layout[2];               /* RQ_LAYOUT_* of each slot */
} rq_dataset;
/* records audio and visual (rq_dataset_load_named "audio", "visual", 0) */
int rq_dataset_load(rq_dataset *ds, const char *path, char *err,
    size_t errn);
/* records a (slot 0) and b (slot 1); seq bit s: slot s is a sequence
 * whatever its metadata says.  Errors "path: record R: name: message" */
int rq_dataset_load_named(rq_dataset *ds, const char *path, const char *a,
    const char *b, unsigned seq, char *err, size_t errn);
void rq_dataset_free(rq_dataset *ds);
/* gather samples idx[0..B) into a [B,F,T], v [B,C,H,W], y [B];
 * RQ_ERANGE (nothing copied) if an index is outside [0, n) */
int rq_dataset_batch(const rq_dataset *ds, const int64_t *idx, int B,
    float *a, float *v, int32_t *y);

/*
 * rollingq.c: RollingQ at each epoch end (MT, MT*): AIR of every fusion
 * layer, the trigger, the anchor and R_total <- R_new R_total for the
 * layer next in line (MT*: the one with fewer rotations).  Collectives
 * (dist.c) inside: every rank calls it, and gets the same R.
 */
typedef struct rq_rollingq_cfg {
	int on;                      /* rotate (else AIR only) */
	double rho, beta;            /* anchor strength, trigger |AIR| > beta */
	int rmax;                    /* rotations per layer at most */
	int air_full;                /* AIR over the set, else the last batch */
	int rot_svd;                 /* rotation form: plane (0) or SVD */
} rq_rollingq_cfg;
typedef struct rq_rollingq_report {
	int layers;                  /* fusion layers; 0: nothing was done */
	double air[2];               /* each layer's AIR (NaN: not estimated) */
	int rotated;                 /* 0, or 1 + the layer rotated */
	long rotation;               /* that layer's rotation count now */
	double alpha;                /* the anchor's audio weight */
} rq_rollingq_report;
typedef struct rq_rollingq rq_rollingq;
/* buffers for a training set of n samples in batches of B; dump: NULL or
 * the prefix of <dump>[.l2].<epoch>.rqt air-dump files (rank 0 writes) */
int rq_rollingq_new(rq_rollingq **rp, const rq_model *m,
    const rq_rollingq_cfg *c, const char *dump, size_t n, int B);
void rq_rollingq_free(rq_rollingq *r);
/* RQ_OK when R [d,d] is finite and orthogonal (max |R R^T - I| <= 1e-6);
 * else RQ_ERANGE and a message in err */
int rq_rollingq_check_R(const double *R, int d, char *err, size_t errn);
/* after epoch `epoch` (1-based) whose order was perm; forwards of at most
 * U samples.  RQ_OK, or an error with its message in err */
int rq_rollingq_epoch(rq_rollingq *r, rq_model *m, const rq_dataset *ds,
    const int64_t *perm, int U, long epoch, rq_rollingq_report *rep,
    char *err, size_t errn);

/* ckpt.c: checkpoints are tensor streams (see rq-train(1)) */
/*
 * The training settings: train.<key> metadata of a checkpoint, written and
 * read field by field (rq-train(1) lists the keys).
 */
typedef struct rq_train_cfg {
	int epochs, batch, micro;    /* micro 0: whole batches */
	int opt;                     /* RQ_OPT_* */
	double lr, warmup, wd, mom;  /* warmup in epochs */
	uint64_t seed;
	rq_rollingq_cfg rq;          /* RollingQ (rq.on: enabled) */
	int ogm, ogm_ge;             /* OGM, and OGM-GE's noise */
	double ogm_alpha;
	int pmr;                     /* PMR (pmr.c) */
	double pmr_alpha, pmr_mom;   /* PCE weight, prototype momentum */
	int pmr_start, pmr_end;      /* epochs (1-based) PMR acts in */
} rq_train_cfg;
void rq_train_cfg_defaults(rq_train_cfg *h);
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
	rq_train_cfg train;          /* the settings the run was started with */
	rq_pmr *pmr;                 /* PMR's prototypes (NULL: none) */
	char *init_file, *init_names; /* --init FILE and its names, or NULL */
} rq_train_state;
/* ranges of every setting and of the position: RQ_OK, or RQ_ERANGE with
 * "field: message" in err */
int rq_train_check(const rq_train_cfg *h, const rq_train_state *st,
    char *err, size_t errn);
int rq_ckpt_save(const char *path, rq_model *m, const rq_train_state *st,
    char *err, size_t errn);
/*
 * A checkpoint read once: rq_ckpt_open reads its head record (the model
 * config into cfg, the settings into h when not NULL, each field checked,
 * errors "file: record 0: train.lr: message"); rq_ckpt_read then fills a
 * model planned from cfg (st may be NULL: weights and RollingQ state only).
 */
typedef struct rq_ckpt rq_ckpt;
int rq_ckpt_open(rq_ckpt **cp, const char *path, rq_model_cfg *cfg,
    rq_train_cfg *h, char *err, size_t errn);
int rq_ckpt_read(rq_ckpt *ck, rq_model *m, rq_train_state *st, char *err,
    size_t errn);
void rq_ckpt_close(rq_ckpt *ck);
/* open, read, close: for a model planned from the same config */
int rq_ckpt_load(const char *path, rq_model *m, rq_train_state *st,
    char *err, size_t errn);

/* init.c: parameters from a stream of named tensors (rq-train --init) */
/*
 * Every record must name a parameter of m with its shape (f32 or f64,
 * finite); parameters not named keep their values.  On error (err: "file:
 * record N: name: message") m is untouched.  rep: the tensors and floats
 * loaded, the names (comma-separated, malloc'd: rq_init_report_free) and
 * the parameter groups left as they were ("enc.v.blk.1", "fusion", ...;
 * "group (k of n)" when partly loaded).
 */
typedef struct rq_init_report {
	int ntensors, ntable;
	size_t nloaded, nparams;
	char *names;
	char left[1024];
} rq_init_report;
int rq_init_load(rq_model *m, const char *path, rq_init_report *rep,
    char *err, size_t errn);
void rq_init_report_free(rq_init_report *r);

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
