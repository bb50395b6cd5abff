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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

/*
 * A filterbank and, per band, its first and last non-zero bin: a band is
 * a triangle a few bins wide, so the projection visits about 2 K of the
 * n_mels K weights.  Log-mel uses the same parameters clip after clip, so
 * the last NBANK filterbanks are kept, keyed by every parameter (doubles
 * bit for bit), the least recently used rebuilt; users counts the callers
 * still reading an entry, which is never evicted.  Freed at exit.
 */
#define NBANK 4

static struct bank {
	int n_mels, n_fft;
	double sr, fmin, fmax;
	double *fb;             /* [n_mels x K]; NULL: empty slot */
	int *lo, *hi;           /* band m: fb zero outside bins lo..hi */
	unsigned users;
	unsigned long stamp;    /* last use; 0 for an empty slot */
} bank_cache[NBANK];
static unsigned long bank_clock;
static int bank_atexit;
static pthread_mutex_t bank_lock = PTHREAD_MUTEX_INITIALIZER;

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

static int
same(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

static void
bank_free(struct bank *b)
{
	free(b->fb);
	free(b->lo);
	free(b->hi);
	memset(b, 0, sizeof *b);
}

static void
bank_free_all(void)
{
	pthread_mutex_lock(&bank_lock);
	for (int i = 0; i < NBANK; i++)
		if (bank_cache[i].users == 0)
			bank_free(&bank_cache[i]);
	pthread_mutex_unlock(&bank_lock);
}

/*
 * The filterbank of o into *b, from the cache or built (and cached when a
 * slot is free); *slot is for bank_put (-1: b is the caller's to free).
 * The status is rq_mel_filterbank's, or RQ_ENOMEM.
 */
static int
bank_get(const rq_logmel *o, struct bank *b, int *slot)
{
	size_t K = (size_t)o->n_fft / 2 + 1;
	int v = -1, rc;

	pthread_mutex_lock(&bank_lock);
	for (int i = 0; i < NBANK; i++) {
		struct bank *c = &bank_cache[i];
		if (c->fb != NULL && c->n_mels == o->n_mels &&
		    c->n_fft == o->n_fft && same(c->sr, o->sr) &&
		    same(c->fmin, o->fmin) && same(c->fmax, o->fmax)) {
			c->users++;
			c->stamp = ++bank_clock;
			*b = *c;
			*slot = i;
			pthread_mutex_unlock(&bank_lock);
			return RQ_OK;
		}
	}
	pthread_mutex_unlock(&bank_lock);
	memset(b, 0, sizeof *b);
	b->fb = malloc((size_t)o->n_mels * K * sizeof *b->fb);
	if (b->fb == NULL)
		return RQ_ENOMEM;
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
	b->n_mels = o->n_mels;
	b->n_fft = o->n_fft;
	b->sr = o->sr;
	b->fmin = o->fmin;
	b->fmax = o->fmax;
	b->users = 1;
	pthread_mutex_lock(&bank_lock);
	/* an empty slot, else the least recently used one not in use */
	for (int i = 0; i < NBANK; i++)
		if (bank_cache[i].users == 0 &&
		    (v < 0 || bank_cache[i].stamp < bank_cache[v].stamp))
			v = i;
	*slot = v;
	if (v >= 0) {
		bank_free(&bank_cache[v]);
		b->stamp = ++bank_clock;
		bank_cache[v] = *b;
		if (!bank_atexit)
			bank_atexit = atexit(bank_free_all) == 0;
	}
	pthread_mutex_unlock(&bank_lock);
	return RQ_OK;
}

static void
bank_put(struct bank *b, int slot)
{
	if (slot < 0) {
		bank_free(b);
		return;
	}
	pthread_mutex_lock(&bank_lock);
	bank_cache[slot].users--;
	pthread_mutex_unlock(&bank_lock);
}

int
rq_logmel_compute(const rq_logmel *o, const float *x, size_t n, float *out)
{
	size_t K = (size_t)o->n_fft / 2 + 1, nf, T = (size_t)o->frames;
	size_t src, dst, nt;
	float *mag = NULL, silence;
	double *e = NULL;
	rq_stft *p = NULL;
	struct bank b;
	int rc = RQ_ENOMEM, slot = -1, full = 0;

	if (o->frames < 1 || o->hop < 1 || !(o->eps > 0))
		return RQ_EINVAL;
	nf = rq_stft_frames(n, o->n_fft, o->hop, o->center);
	if (nf == 0)
		nf = 1;     /* shorter than one frame: analyse it zero-padded */
	if ((p = rq_stft_alloc(o->n_fft, o->win)) == NULL)
		return RQ_EINVAL;
	memset(&b, 0, sizeof b);
	mag = malloc(K * nf * sizeof *mag);
	e = malloc(T * sizeof *e);
	if (mag == NULL || e == NULL)
		goto out;
	if ((rc = bank_get(o, &b, &slot)) != RQ_OK)
		goto out;
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
				s += b.fb[m * K + k] * a * a;
			}
			out[m * T + dst + t] = (float)log(s + o->eps);
		}
	for (size_t m = 0; !full && m < (size_t)o->n_mels; m++) {
		const double *w = b.fb + m * K;

		for (size_t t = 0; t < nt; t++)
			e[t] = 0;
		for (size_t k = (size_t)b.lo[m]; k <= (size_t)b.hi[m]; k++) {
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
	if (b.fb != NULL)
		bank_put(&b, slot);
	free(e);
	free(mag);
	rq_stft_free(p);
	return rc;
}
