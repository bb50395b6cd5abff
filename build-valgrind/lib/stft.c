/*
 * stft.c: short-time Fourier magnitude with GSL's mixed-radix real FFT,
 * and the CREMA-D spectrogram recipe.
 *
 * Frame t covers x[t*hop - c .. t*hop - c + n_fft) with c = n_fft/2 when
 * centred (zeros outside x), else c = 0.  The periodic Hann window of
 * win_length samples, w[i] = 0.5 - 0.5 cos(2 pi i / win_length), sits in
 * the middle of the n_fft frame (offset (n_fft - win_length)/2), as in
 * librosa.  Output |X[k]|, k = 0..n_fft/2, stored out[k * nframes + t].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_fft_real.h>

#include "rq.h"

struct rq_stft {
	int n_fft, win_length;
	double *win;    /* n_fft, zero outside the centred window */
	double *buf;
	gsl_fft_real_wavetable *wt;
	gsl_fft_real_workspace *ws;
};

rq_stft *
rq_stft_alloc(int n_fft, int win_length)
{
	rq_stft *p;
	int off;

	if (n_fft < 2 || win_length < 1 || win_length > n_fft)
		return NULL;
	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->n_fft = n_fft;
	p->win_length = win_length;
	p->win = calloc((size_t)n_fft, sizeof *p->win);
	p->buf = calloc((size_t)n_fft, sizeof *p->buf);
	p->wt = gsl_fft_real_wavetable_alloc((size_t)n_fft);
	p->ws = gsl_fft_real_workspace_alloc((size_t)n_fft);
	if (!p->win || !p->buf || !p->wt || !p->ws) {
		rq_stft_free(p);
		return NULL;
	}
	off = (n_fft - win_length) / 2;
	for (int i = 0; i < win_length; i++)
		p->win[off + i] = 0.5 - 0.5 * cos(2 * M_PI * i / win_length);
	return p;
}

void
rq_stft_free(rq_stft *p)
{
	if (p == NULL)
		return;
	free(p->win);
	free(p->buf);
	if (p->wt)
		gsl_fft_real_wavetable_free(p->wt);
	if (p->ws)
		gsl_fft_real_workspace_free(p->ws);
	free(p);
}

size_t
rq_stft_frames(size_t n, int n_fft, int hop, int center)
{
	if (hop < 1)
		return 0;
	if (center)
		return 1 + n / (size_t)hop;
	return n < (size_t)n_fft ? 0 : 1 + (n - (size_t)n_fft) / (size_t)hop;
}

int
rq_stft_mag(rq_stft *p, const float *x, size_t n, int hop, int center,
    float *out, size_t nframes)
{
	size_t N = (size_t)p->n_fft, K = N / 2 + 1;
	int64_t c = center ? (int64_t)(N / 2) : 0;

	if (hop < 1)
		return RQ_EINVAL;
	for (size_t t = 0; t < nframes; t++) {
		int64_t s0 = (int64_t)t * hop - c;
		double *b = p->buf;

		for (size_t i = 0; i < N; i++) {
			int64_t j = s0 + (int64_t)i;
			b[i] = (j >= 0 && (size_t)j < n) ? p->win[i] * x[j] : 0.0;
		}
		if (gsl_fft_real_transform(b, 1, N, p->wt, p->ws) != 0)
			return RQ_ENUM;
		/* halfcomplex: b[0] = Re0, (b[2k-1], b[2k]) = X[k], b[N-1] */
		out[t] = (float)fabs(b[0]);
		for (size_t k = 1; k < K; k++) {
			double re = b[2 * k - 1], im = (2 * k < N) ? b[2 * k] : 0;
			if (2 * k == N) {
				re = b[N - 1];
				im = 0;
			}
			out[k * nframes + t] = (float)sqrt(re * re + im * im);
		}
	}
	return RQ_OK;
}

/*
 * CREMA-D (the authors' recipe): x already at 22,050 Hz; repeat x until it
 * covers 3 s and keep the first 66,150 samples (np.tile(x, 3)[:66150] for
 * any clip of 1 s or more), clip to [-1, 1], centred STFT n_fft 512 hop
 * 353 Hann with zero padding, log(|S| + 1e-7): 257 x 188.
 */
int
rq_cremad_spec(const float *x, size_t n, float *out)
{
	size_t L = 3 * RQ_CREMAD_SR;
	float *y;
	rq_stft *p;
	int rc;

	if (n == 0)
		return RQ_EINVAL;
	if ((y = malloc(L * sizeof *y)) == NULL)
		return RQ_ENOMEM;
	for (size_t i = 0; i < L; i++) {
		float v = x[i % n];
		y[i] = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
	}
	if ((p = rq_stft_alloc(512, 512)) == NULL) {
		free(y);
		return RQ_ENOMEM;
	}
	rc = rq_stft_mag(p, y, L, 353, 1, out, RQ_CREMAD_FRAMES);
	rq_stft_free(p);
	free(y);
	if (rc != RQ_OK)
		return rc;
	for (size_t i = 0; i < (size_t)RQ_CREMAD_BINS * RQ_CREMAD_FRAMES; i++)
		out[i] = (float)log((double)out[i] + 1e-7);
	return RQ_OK;
}
