/*
 * resample.c: rational-ratio resampling by a polyphase windowed-sinc FIR,
 * the same filter and alignment as scipy.signal.resample_poly (window
 * ('kaiser', 5.0), zero padding).
 *
 * With up/down reduced by their gcd, r = max(up, down), half = 10 r:
 *   h[j] = up * g[j] / sum(g),  g[j] = sinc((j - half) / r) / r * kaiser(j),
 *   j = 0..2 half, kaiser(j) = I0(5 sqrt(1 - (j/half - 1)^2)) / I0(5),
 *   y[k] = sum_n x[n] h[k down + half - n up],  k = 0..ceil(n up/down)-1,
 * i.e. upsample by zero stuffing, low-pass at 1/r of Nyquist, decimate;
 * only the taps that meet a nonzero input are visited.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sf_bessel.h>

#include "rq.h"

/*
 * The filter depends only on the reduced (up, down) but costs 2 half + 1
 * Bessel I0 and sin calls to build (8,821 each for 8 -> 22.05 kHz: over
 * twice the work of filtering an FSDD clip), so the last NFILT filters
 * are kept: clips at a few different rates, alternating, each find
 * theirs; beyond that the least recently used one is rebuilt.  users
 * counts the callers still reading an entry, which is never evicted (the
 * lock is held to look up and install, not while filtering).  Freed at
 * exit.  Cached taps are the taps built afresh, so y is unchanged.
 */
#define NFILT 4

static struct filt {
	long up, down;          /* reduced ratio */
	double *h;              /* 2 half + 1 taps; NULL: empty slot */
	unsigned users;
	unsigned long stamp;    /* last use; 0 for an empty slot */
} filt_cache[NFILT];
static unsigned long filt_clock;
static int filt_atexit;
static pthread_mutex_t filt_lock = PTHREAD_MUTEX_INITIALIZER;

static long
gcd(long a, long b)
{
	while (b) {
		long t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* the taps h of the header comment for reduced up, down */
static double *
filt_build(long up, long down)
{
	long r = up > down ? up : down, half = 10 * r, L = 2 * half + 1;
	double *h, s = 0, i0b;

	if ((h = malloc((size_t)L * sizeof *h)) == NULL)
		return NULL;
	i0b = gsl_sf_bessel_I0(5.0);
	for (long j = 0; j < L; j++) {
		double m = (double)(j - half) / (double)r, sinc, u, w;
		sinc = m == 0 ? 1.0 : sin(M_PI * m) / (M_PI * m);
		u = (double)j / (double)half - 1.0;
		w = gsl_sf_bessel_I0(5.0 * sqrt(fmax(0.0, 1.0 - u * u))) / i0b;
		h[j] = sinc / (double)r * w;
		s += h[j];
	}
	for (long j = 0; j < L; j++)
		h[j] *= (double)up / s;
	return h;
}

static void
filt_free_all(void)
{
	pthread_mutex_lock(&filt_lock);
	for (int i = 0; i < NFILT; i++)
		if (filt_cache[i].users == 0) {
			free(filt_cache[i].h);
			memset(&filt_cache[i], 0, sizeof filt_cache[i]);
		}
	pthread_mutex_unlock(&filt_lock);
}

/* the filter for reduced up, down; *slot is for filt_put (-1: not cached) */
static const double *
filt_get(long up, long down, int *slot)
{
	struct filt *f;
	double *h;
	int v = -1;

	pthread_mutex_lock(&filt_lock);
	for (int i = 0; i < NFILT; i++) {
		f = &filt_cache[i];
		if (f->h != NULL && f->up == up && f->down == down) {
			f->users++;
			f->stamp = ++filt_clock;
			*slot = i;
			pthread_mutex_unlock(&filt_lock);
			return f->h;
		}
	}
	pthread_mutex_unlock(&filt_lock);
	if ((h = filt_build(up, down)) == NULL)
		return NULL;
	pthread_mutex_lock(&filt_lock);
	/* an empty slot, else the least recently used one not in use */
	for (int i = 0; i < NFILT; i++)
		if (filt_cache[i].users == 0 &&
		    (v < 0 || filt_cache[i].stamp < filt_cache[v].stamp))
			v = i;
	*slot = v;
	if (v >= 0) {
		f = &filt_cache[v];
		free(f->h);
		f->up = up;
		f->down = down;
		f->h = h;
		f->users = 1;
		f->stamp = ++filt_clock;
		if (!filt_atexit)
			filt_atexit = atexit(filt_free_all) == 0;
	}
	pthread_mutex_unlock(&filt_lock);
	return h;
}

static void
filt_put(int slot, const double *h)
{
	if (slot < 0) {
		free((double *)h);
		return;
	}
	pthread_mutex_lock(&filt_lock);
	filt_cache[slot].users--;
	pthread_mutex_unlock(&filt_lock);
}

size_t
rq_resample_len(size_t n, long up, long down)
{
	long g;

	if (up < 1 || down < 1)
		return 0;
	g = gcd(up, down);
	up /= g;
	down /= g;
	return (n * (size_t)up + (size_t)down - 1) / (size_t)down;
}

int
rq_resample(const float *x, size_t n, long up, long down, float *y)
{
	long g, half, L;
	const double *h;
	size_t ny;
	int slot;

	if (up < 1 || down < 1 || up > 1000000 || down > 1000000)
		return RQ_EINVAL;
	g = gcd(up, down);
	up /= g;
	down /= g;
	ny = rq_resample_len(n, up, down);
	if (up == 1 && down == 1) {
		for (size_t i = 0; i < n; i++)
			y[i] = x[i];
		return RQ_OK;
	}
	half = 10 * (up > down ? up : down);
	L = 2 * half + 1;
	if ((h = filt_get(up, down, &slot)) == NULL)
		return RQ_ENOMEM;
	for (size_t k = 0; k < ny; k++) {
		/* taps j = k down + half - n up in [0, L): n from lo to hi */
		long base = (long)k * down + half;
		long nlo = base - (L - 1) <= 0 ? 0 :
		    (base - (L - 1) + up - 1) / up;
		long nhi = base / up;
		double acc = 0;
		if (nhi > (long)n - 1)
			nhi = (long)n - 1;
		for (long i = nlo; i <= nhi; i++)
			acc += x[i] * h[base - i * up];
		y[k] = (float)acc;
	}
	filt_put(slot, h);
	return RQ_OK;
}

int
rq_resample_rate(const float *x, size_t n, long sr_in, long sr_out,
    float **y, size_t *ny)
{
	size_t m = rq_resample_len(n, sr_out, sr_in);
	int rc;

	*y = NULL;
	*ny = 0;
	if (m == 0 && n != 0)
		return RQ_EINVAL;
	if ((*y = malloc((m ? m : 1) * sizeof **y)) == NULL)
		return RQ_ENOMEM;
	if ((rc = rq_resample(x, n, sr_out, sr_in, *y)) != RQ_OK) {
		free(*y);
		*y = NULL;
		return rc;
	}
	*ny = m;
	return RQ_OK;
}
