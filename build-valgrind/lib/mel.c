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

int
rq_logmel_compute(const rq_logmel *o, const float *x, size_t n, float *out)
{
	size_t K = (size_t)o->n_fft / 2 + 1, nf, T = (size_t)o->frames, off;
	float *mag = NULL;
	double *fb = NULL;
	rq_stft *p = NULL;
	int rc = RQ_ENOMEM;

	if (o->frames < 1 || o->hop < 1 || !(o->eps > 0))
		return RQ_EINVAL;
	nf = rq_stft_frames(n, o->n_fft, o->hop, o->center);
	if (nf == 0)
		nf = 1;     /* shorter than one frame: analyse it zero-padded */
	if ((p = rq_stft_alloc(o->n_fft, o->win)) == NULL)
		return RQ_EINVAL;
	fb = malloc((size_t)o->n_mels * K * sizeof *fb);
	mag = malloc(K * nf * sizeof *mag);
	if (fb == NULL || mag == NULL)
		goto out;
	if ((rc = rq_mel_filterbank(o->n_mels, o->n_fft, o->sr, o->fmin,
	    o->fmax, fb)) != RQ_OK)
		goto out;
	if ((rc = rq_stft_mag(p, x, n, o->hop, o->center, mag, nf)) != RQ_OK)
		goto out;
	for (size_t m = 0; m < (size_t)o->n_mels; m++)
		for (size_t t = 0; t < T; t++)
			out[m * T + t] = (float)log(o->eps);
	/* centre crop (off into the clip) or centre pad (off into out) */
	if (nf >= T) {
		off = (nf - T) / 2;
		for (size_t m = 0; m < (size_t)o->n_mels; m++)
			for (size_t t = 0; t < T; t++) {
				double e = 0;
				for (size_t k = 0; k < K; k++) {
					double a = mag[k * nf + off + t];
					e += fb[m * K + k] * a * a;
				}
				out[m * T + t] = (float)log(e + o->eps);
			}
	} else {
		off = (T - nf) / 2;
		for (size_t m = 0; m < (size_t)o->n_mels; m++)
			for (size_t t = 0; t < nf; t++) {
				double e = 0;
				for (size_t k = 0; k < K; k++) {
					double a = mag[k * nf + t];
					e += fb[m * K + k] * a * a;
				}
				out[m * T + off + t] = (float)log(e + o->eps);
			}
	}
	rc = RQ_OK;
out:
	free(mag);
	free(fb);
	rq_stft_free(p);
	return rc;
}
