/*
 * mel.c: HTK mel filterbank and log-mel features.
 *
 * mel(f) = 2595 log10(1 + f / 700).  Band m (0..n_mels-1) is a triangle
 * in Hz through the points h[m], h[m+1], h[m+2], which are n_mels + 2
 * frequencies equally spaced in mel from fmin to fmax; bin k has frequency
 * k sr / n_fft; peak 1, no area normalisation (librosa htk=True,
 * norm=None).  Log-mel: power |X|^2 of the centred STFT (stft.c), mel
 * energies fb . power, log(e + eps); the frame axis is centre-cropped or
 * centre-padded (with log(eps), i.e. silence) to a fixed count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

/*
 * A filterbank and, per band, its first and last non-zero bin: a band is
 * a triangle a few bins wide, so the projection visits about 2 K of the
 * n_mels K weights.  Log-mel uses the same parameters clip after clip, so
 * the last few filterbanks are kept (cache.c), keyed by every parameter
 * (doubles bit for bit), the least recently used rebuilt.
 */
struct bkey {
	double sr, fmin, fmax;
	int n_mels, n_fft;
};

struct bank {
	double *fb;             /* [n_mels x K] */
	int *lo, *hi;           /* band m: fb zero outside bins lo..hi */
};

static void bank_free(void *);
static rq_cache bank_cache = RQ_CACHE_INIT(bank_free);

double
rq_mel_hz2mel(double hz)
{
	return 2595.0 * log10(1.0 + hz / 700.0);
}

double
rq_mel_mel2hz(double mel)
{
	return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
}

int
rq_mel_filterbank(int n_mels, int n_fft, double sr, double fmin,
    double fmax, double *fb)
{
	int K = n_fft / 2 + 1;
	double m0, m1, *h;

	if (n_mels < 1 || n_fft < 2 || !(sr > 0) || fmin < 0 ||
	    !(fmax > fmin) || fmax > sr / 2 + 1e-9)
		return RQ_EINVAL;
	if ((h = malloc((size_t)(n_mels + 2) * sizeof *h)) == NULL)
		return RQ_ENOMEM;
	m0 = rq_mel_hz2mel(fmin);
	m1 = rq_mel_hz2mel(fmax);
	for (int i = 0; i < n_mels + 2; i++)
		h[i] = rq_mel_mel2hz(m0 + (m1 - m0) * i / (n_mels + 1));
	for (int m = 0; m < n_mels; m++)
		for (int k = 0; k < K; k++) {
			double f = k * sr / n_fft;
			double lo = (f - h[m]) / (h[m + 1] - h[m]);
			double hi = (h[m + 2] - f) / (h[m + 2] - h[m + 1]);
			double w = lo < hi ? lo : hi;
			fb[(size_t)m * K + k] = w > 0 ? w : 0;
		}
	free(h);
	return RQ_OK;
}

void
rq_logmel_defaults(rq_logmel *o)
{
	o->sr = 8000;
	o->fmin = 0;
	o->fmax = 4000;
	o->eps = 1e-6;
	o->n_fft = 256;
	o->win = 200;
	o->hop = 80;
	o->n_mels = 40;
	o->frames = 48;
	o->center = 1;
}

static void
bank_free(void *v)
{
	struct bank *b = v;

	if (b == NULL)
		return;
	free(b->fb);
	free(b->lo);
	free(b->hi);
	free(b);
}

/* the filterbank of key k into *val; rq_mel_filterbank's status or ENOMEM */
static int
bank_make(const void *key, void *arg, void **val)
{
	const struct bkey *o = key;
	size_t K = (size_t)o->n_fft / 2 + 1;
	struct bank *b;
	int rc;

	(void)arg;
	if ((b = calloc(1, sizeof *b)) == NULL)
		return RQ_ENOMEM;
	b->fb = malloc((size_t)o->n_mels * K * sizeof *b->fb);
	if (b->fb == NULL) {
		bank_free(b);
		return RQ_ENOMEM;
	}
	if ((rc = rq_mel_filterbank(o->n_mels, o->n_fft, o->sr, o->fmin,
	    o->fmax, b->fb)) != RQ_OK) {
		bank_free(b);
		return rc;
	}
	b->lo = malloc((size_t)o->n_mels * sizeof *b->lo);
	b->hi = malloc((size_t)o->n_mels * sizeof *b->hi);
	if (b->lo == NULL || b->hi == NULL) {
		bank_free(b);
		return RQ_ENOMEM;
	}
	for (int m = 0; m < o->n_mels; m++) {
		const double *w = b->fb + (size_t)m * K;
		int lo = 0, hi = (int)K - 1;
		while (lo <= hi && w[lo] == 0)
			lo++;
		while (hi >= lo && w[hi] == 0)
			hi--;
		b->lo[m] = lo;
		b->hi[m] = hi;    /* lo > hi: an empty band */
	}
	*val = b;
	return RQ_OK;
}

int
rq_logmel_compute(const rq_logmel *o, const float *x, size_t n, float *out)
{
	size_t K = (size_t)o->n_fft / 2 + 1, nf, T = (size_t)o->frames;
	size_t src, dst, nt;
	float *mag = NULL, silence;
	double *e = NULL;
	rq_stft *p = NULL;
	struct bank *bp = NULL;
	struct bkey key;
	void *cached = NULL;
	int rc = RQ_ENOMEM, slot = -1, full = 0;

	if (o->frames < 1 || o->hop < 1 || !(o->eps > 0))
		return RQ_EINVAL;
	nf = rq_stft_frames(n, o->n_fft, o->hop, o->center);
	if (nf == 0)
		nf = 1;     /* shorter than one frame: analyse it zero-padded */
	if ((p = rq_stft_alloc(o->n_fft, o->win)) == NULL)
		return RQ_EINVAL;
	mag = malloc(K * nf * sizeof *mag);
	e = malloc(T * sizeof *e);
	if (mag == NULL || e == NULL)
		goto out;
	memset(&key, 0, sizeof key);      /* padding compares too */
	key.sr = o->sr;
	key.fmin = o->fmin;
	key.fmax = o->fmax;
	key.n_mels = o->n_mels;
	key.n_fft = o->n_fft;
	if ((rc = rq_cache_get(&bank_cache, &key, sizeof key, bank_make, NULL,
	    &cached, &slot)) != RQ_OK)
		goto out;
	bp = cached;
	if ((rc = rq_stft_mag(p, x, n, o->hop, o->center, mag, nf)) != RQ_OK)
		goto out;
	silence = (float)log(o->eps);
	for (size_t m = 0; m < (size_t)o->n_mels; m++)
		for (size_t t = 0; t < T; t++)
			out[m * T + t] = silence;
	/* centre crop (src into the clip) or centre pad (dst into out) */
	src = nf >= T ? (nf - T) / 2 : 0;
	dst = nf >= T ? 0 : (T - nf) / 2;
	nt = nf >= T ? T : nf;
	/*
	 * e = sum over k ascending of fb[m][k] * a * a, a = mag[k][src + t],
	 * in double.  The banded loop visits only bins lo[m]..hi[m], frames
	 * innermost so that mag is read along its rows: the terms skipped
	 * have fb = +0 and are +0 for finite a, and adding +0 leaves every
	 * partial sum unchanged (sums of terms >= +0 from +0 are never -0),
	 * so e is the sum over all K bins bit for bit.  0 * Inf and 0 * NaN
	 * are NaN, though: a non-finite magnitude (a float file holding Inf,
	 * NaN or values near FLT_MAX; 16-bit PCM cannot) makes every band of
	 * its frame NaN, so such a clip takes the loop over all bins, kept
	 * in its old form: of two NaNs (+NaN from fabs, -NaN from Inf - Inf)
	 * an addition returns the operand the compiler puts first, and GCC
	 * puts a register accumulator first but e[t] in memory second.
	 */
	for (size_t k = 0; k < K && !full; k++)
		for (size_t t = 0; t < nt; t++)
			if (!isfinite(mag[k * nf + src + t])) {
				full = 1;
				break;
			}
	for (size_t m = 0; full && m < (size_t)o->n_mels; m++)
		for (size_t t = 0; t < nt; t++) {
			double s = 0;
			for (size_t k = 0; k < K; k++) {
				double a = mag[k * nf + src + t];
				s += bp->fb[m * K + k] * a * a;
			}
			out[m * T + dst + t] = (float)log(s + o->eps);
		}
	for (size_t m = 0; !full && m < (size_t)o->n_mels; m++) {
		const double *w = bp->fb + m * K;

		for (size_t t = 0; t < nt; t++)
			e[t] = 0;
		for (size_t k = (size_t)bp->lo[m]; k <= (size_t)bp->hi[m]; k++) {
			const float *a = mag + k * nf + src;
			for (size_t t = 0; t < nt; t++) {
				double v = a[t];
				e[t] += w[k] * v * v;
			}
		}
		for (size_t t = 0; t < nt; t++)
			out[m * T + dst + t] = (float)log(e[t] + o->eps);
	}
	rc = RQ_OK;
out:
	if (cached != NULL)
		rq_cache_put(&bank_cache, slot, cached);
	free(e);
	free(mag);
	rq_stft_free(p);
	return rc;
}
