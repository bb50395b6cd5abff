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
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sf_bessel.h>

#include "rq.h"

/*
 * The filter depends only on the reduced (up, down) but costs 2 half + 1
 * Bessel I0 and sin calls to build (8,821 each for 8 -> 22.05 kHz: over
 * twice the work of filtering an FSDD clip), so the last few filters
 * are kept (cache.c): clips at a few different rates, alternating, each
 * find theirs; beyond that the least recently used one is rebuilt.  Cached
 * taps are the taps built afresh, so y is unchanged.
 */
struct fkey {
	long up, down;          /* reduced ratio */
};

static rq_cache filt_cache = RQ_CACHE_INIT(free);

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

static int
filt_make(const void *key, void *arg, void **val)
{
	const struct fkey *k = key;

	(void)arg;
	return (*val = filt_build(k->up, k->down)) != NULL ? RQ_OK : RQ_ENOMEM;
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
	struct fkey key;
	const double *h;
	void *v;
	size_t ny;
	int slot, rc;

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
	key.up = up;
	key.down = down;
	if ((rc = rq_cache_get(&filt_cache, &key, sizeof key, filt_make, NULL,
	    &v, &slot)) != RQ_OK)
		return rc;
	h = v;
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
	rq_cache_put(&filt_cache, slot, v);
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
