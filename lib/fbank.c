/*
 * fbank.c: Kaldi-compatible log mel filterbank (as torchaudio's
 * compliance.kaldi.fbank computes it) and the Kinetics-Sounds audio
 * recipe of the RollingQ/OGM-GE code built on it.
 *
 * Clip x[0..n) at sr Hz, its mean subtracted first (the recipe's step,
 * not Kaldi's).  Frame length W = (int)(sr frame_ms / 1000) samples, shift
 * S likewise, FFT size N = the next power of two >= W; frames t = 0..m-1
 * with m = 1 + (n - W) / S (snip_edges: only whole frames; m = 0 when
 * n < W).  Per frame f[0..W) = x[t S ..]:
 *   f -= mean(f)                           (remove_dc_offset; dither 0)
 *   f[j] -= p f[j-1] for j = W-1..1, f[0] -= p f[0]      (pre-emphasis)
 *   f[j] *= 0.5 - 0.5 cos(2 pi j / (W - 1))    (symmetric Hann window)
 *   zero-pad to N, P[k] = |FFT(f)[k]|^2, k = 0..N/2       (power)
 *   e[m] = sum_k B[m][k] P[k],  out = log(max(e, FLT_EPSILON))
 * Mel banks: mel(f) = 1127 ln(1 + f/700); n_mels triangles with edges
 * equally spaced in mel from low to high Hz (band m: left, centre, right
 * = mel_lo + (m, m+1, m+2) delta, delta = (mel_hi - mel_lo)/(n_mels+1));
 * B[m][k] = max(0, min(up, down)) of the bin's mel, up = (mel - left) /
 * (centre - left), down = (right - mel) / (right - centre), for bins
 * k < N/2 at frequency k sr / N; the Nyquist bin has weight 0.
 * Then the frame axis is zero-padded at the end or cut to the first T
 * frames, and every value v becomes (v - norm_mean) / (2 norm_std).
 * Computed in double (torchaudio uses float32: differences ~1e-6).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_fft_real.h>

#include "rq.h"

void
rq_fbank_defaults(rq_fbank *o, double sr)
{
	o->sr = sr;
	o->frame_ms = 25;
	o->shift_ms = 10;
	o->low_hz = 20;
	o->high_hz = 0;          /* Nyquist */
	o->preemph = 0.97;
	o->n_mels = 128;
	o->frames = 1024;
	o->norm_mean = -4.503877;
	o->norm_std = 5.141276;
}

/* window and shift in samples, FFT size; RQ_EINVAL for bad options */
static int
geometry(const rq_fbank *o, size_t *W, size_t *S, size_t *N)
{
	double w = o->sr * o->frame_ms * 0.001, s = o->sr * o->shift_ms * 0.001;

	if (!(o->sr > 0) || !(w >= 2) || !(s >= 1) || w > 1 << 20 ||
	    s > 1 << 20)
		return RQ_EINVAL;
	*W = (size_t)w;
	*S = (size_t)s;
	for (*N = 2; *N < *W; *N *= 2)
		;
	return RQ_OK;
}

size_t
rq_fbank_frames(const rq_fbank *o, size_t n)
{
	size_t W, S, N;

	if (geometry(o, &W, &S, &N) != RQ_OK || n < W)
		return 0;
	return 1 + (n - W) / S;
}

static double
kmel(double hz)
{
	return 1127.0 * log(1.0 + hz / 700.0);
}

int
rq_fbank_compute(const rq_fbank *o, const float *x, size_t n, float *out)
{
	size_t W, S, N, K, T = (size_t)o->frames, M = (size_t)o->n_mels, nf;
	double nyq = o->sr / 2, hi = o->high_hz > 0 ? o->high_hz :
	    nyq + o->high_hz, mlo, mhi, delta, mean = 0, scale, *f = NULL,
	    *win = NULL, *P = NULL, *B = NULL;
	size_t *k0 = NULL, *k1 = NULL;  /* band m: B zero outside k0..k1-1 */
	gsl_fft_real_wavetable *wt = NULL;
	gsl_fft_real_workspace *ws = NULL;
	int rc = RQ_ENOMEM;

	if (geometry(o, &W, &S, &N) != RQ_OK || o->n_mels < 4 ||
	    o->frames < 1 || !(o->low_hz >= 0) || !(o->low_hz < nyq) ||
	    !(hi > o->low_hz) || hi > nyq || !(o->norm_std > 0) ||
	    !(o->preemph >= 0 && o->preemph <= 1))
		return RQ_EINVAL;
	K = N / 2 + 1;
	nf = rq_fbank_frames(o, n);
	f = malloc(N * sizeof *f);
	win = malloc(W * sizeof *win);
	P = malloc(K * sizeof *P);
	B = calloc(M * K, sizeof *B);
	k0 = calloc(M, sizeof *k0);
	k1 = calloc(M, sizeof *k1);
	wt = gsl_fft_real_wavetable_alloc(N);
	ws = gsl_fft_real_workspace_alloc(N);
	if (!f || !win || !P || !B || !k0 || !k1 || !wt || !ws)
		goto out;
	for (size_t j = 0; j < W; j++)
		win[j] = 0.5 - 0.5 * cos(2 * M_PI * (double)j / (double)(W - 1));
	mlo = kmel(o->low_hz);
	mhi = kmel(hi);
	delta = (mhi - mlo) / (double)(M + 1);
	for (size_t m = 0; m < M; m++) {
		double l = mlo + (double)m * delta, c = mlo + (m + 1.0) * delta,
		    r = mlo + (m + 2.0) * delta;
		for (size_t k = 0; k < N / 2; k++) {
			double mel = kmel(o->sr / (double)N * (double)k);
			double up = (mel - l) / (c - l), down = (r - mel) / (r - c);
			double w = up < down ? up : down;
			B[m * K + k] = w > 0 ? w : 0;
			if (w > 0) {
				if (k1[m] == 0)
					k0[m] = k;
				k1[m] = k + 1;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		mean += x[i];
	mean = n ? mean / (double)n : 0;
	scale = 1 / (2 * o->norm_std);
	for (size_t t = 0; t < T; t++) {
		double fm = 0;
		if (t >= nf) {          /* padded with zeros before the norm */
			for (size_t m = 0; m < M; m++)
				out[m * T + t] = (float)((0 - o->norm_mean) * scale);
			continue;
		}
		for (size_t j = 0; j < W; j++)
			fm += f[j] = x[t * S + j] - mean;
		fm /= (double)W;
		for (size_t j = 0; j < W; j++)
			f[j] -= fm;
		for (size_t j = W - 1; j > 0; j--)
			f[j] -= o->preemph * f[j - 1];
		f[0] -= o->preemph * f[0];
		for (size_t j = 0; j < W; j++)
			f[j] *= win[j];
		for (size_t j = W; j < N; j++)
			f[j] = 0;
		if (gsl_fft_real_transform(f, 1, N, wt, ws) != 0) {
			rc = RQ_ENUM;
			goto out;
		}
		/* halfcomplex: f[0] = Re0, (f[2k-1], f[2k]) = X[k], f[N-1] */
		P[0] = f[0] * f[0];
		for (size_t k = 1; k < N / 2; k++)
			P[k] = f[2 * k - 1] * f[2 * k - 1] + f[2 * k] * f[2 * k];
		P[N / 2] = f[N - 1] * f[N - 1];
		for (size_t m = 0; m < M; m++) {
			double e = 0;   /* the terms skipped are +0 */
			for (size_t k = k0[m]; k < k1[m]; k++)
				e += B[m * K + k] * P[k];
			e = log(e > FLT_EPSILON ? e : FLT_EPSILON);
			out[m * T + t] = (float)((e - o->norm_mean) * scale);
		}
	}
	rc = RQ_OK;
out:
	free(f);
	free(win);
	free(P);
	free(B);
	free(k0);
	free(k1);
	if (wt)
		gsl_fft_real_wavetable_free(wt);
	if (ws)
		gsl_fft_real_workspace_free(ws);
	return rc;
}
