/*
 * test_audio.c: mel filterbank, STFT, log-mel, resampler and the CREMA-D
 * spectrogram against golden values made by numpy/scipy
 * (testdata/gen-golden.py), the Kinetics-Sounds Kaldi filterbank against
 * torchaudio (testdata/gen-fbank.py), plus WAV round trip and bad WAV
 * input.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_sf_bessel.h>

#include "rq.h"

/* one number a line, '#' lines skipped; returns the count */
static size_t
golden(const char *path, double **v)
{
	FILE *fp = fopen(path, "r");
	char line[256];
	size_t n = 0, cap = 1024;

	cr_assert_not_null(fp, "%s: cannot open (run from the repo root)",
	    path);
	*v = malloc(cap * sizeof **v);
	while (fgets(line, sizeof line, fp)) {
		if (line[0] == '#')
			continue;
		if (n == cap)
			*v = realloc(*v, (cap *= 2) * sizeof **v);
		(*v)[n++] = strtod(line, NULL);
	}
	fclose(fp);
	return n;
}

/* |a - b| <= rel * max(|b|, floor) for every element */
static void
near(const char *what, const float *a, const double *b, size_t n,
    double rel, double floor)
{
	for (size_t i = 0; i < n; i++) {
		double tol = rel * fmax(fabs(b[i]), floor);
		cr_assert(fabs(a[i] - b[i]) <= tol,
		    "%s[%zu]: got %.9g, golden %.9g", what, i, a[i], b[i]);
	}
}

static float *
wav(const char *path, size_t *n, int *sr)
{
	char err[512];
	float *x;

	cr_assert_eq(rq_wav_read(path, &x, n, sr, err, sizeof err), RQ_OK,
	    "%s", err);
	return x;
}

Test(audio, mel_filterbank_golden)
{
	double *g, *fb = malloc(40 * 129 * sizeof *fb);
	float *f = malloc(40 * 129 * sizeof *f);
	size_t n = golden("testdata/melfb.txt", &g);

	cr_assert_eq(n, 40 * 129);
	cr_assert_eq(rq_mel_filterbank(40, 256, 8000, 0, 4000, fb), RQ_OK);
	for (size_t i = 0; i < n; i++)
		f[i] = (float)fb[i];
	near("melfb", f, g, n, 1e-4, 1e-2);
	free(g);
	free(fb);
	free(f);
}

Test(audio, mel_scale_inverse)
{
	for (double hz = 0; hz < 20000; hz += 137.5)
		cr_assert_float_eq(rq_mel_mel2hz(rq_mel_hz2mel(hz)), hz, 1e-6);
	cr_assert_float_eq(rq_mel_hz2mel(700), 2595 * log10(2), 1e-9);
}

Test(audio, stft_golden)
{
	size_t n, nf;
	int sr;
	float *x = wav("testdata/tone.wav", &n, &sr), *S;
	double *g;
	rq_stft *p = rq_stft_alloc(256, 200);
	size_t ng = golden("testdata/stft.txt", &g);

	cr_assert_eq(sr, 8000);
	cr_assert_eq(n, 800);
	nf = rq_stft_frames(n, 256, 80, 1);
	cr_assert_eq(nf, 11);
	cr_assert_eq(ng, 129 * nf);
	S = malloc(ng * sizeof *S);
	cr_assert_eq(rq_stft_mag(p, x, n, 80, 1, S, nf), RQ_OK);
	near("stft", S, g, ng, 1e-4, 1e-2);
	rq_stft_free(p);
	free(S);
	free(x);
	free(g);
}

Test(audio, logmel_golden)
{
	size_t n;
	int sr;
	float *x = wav("testdata/tone.wav", &n, &sr), out[40 * 16];
	double *g;
	size_t ng = golden("testdata/logmel.txt", &g);
	rq_logmel o;

	rq_logmel_defaults(&o);
	o.frames = 16;
	cr_assert_eq(ng, 40 * 16);
	cr_assert_eq(rq_logmel_compute(&o, x, n, out), RQ_OK);
	near("logmel", out, g, ng, 1e-4, 1.0);
	free(x);
	free(g);
}

/* cropping keeps the centre frames of the uncropped features */
Test(audio, logmel_centre_crop)
{
	size_t n;
	int sr;
	float *x = wav("testdata/tone.wav", &n, &sr), a[40 * 11], b[40 * 5];
	rq_logmel o;

	rq_logmel_defaults(&o);
	o.frames = 11;
	cr_assert_eq(rq_logmel_compute(&o, x, n, a), RQ_OK);
	o.frames = 5;
	cr_assert_eq(rq_logmel_compute(&o, x, n, b), RQ_OK);
	for (int m = 0; m < 40; m++)
		for (int t = 0; t < 5; t++)
			cr_assert_eq(b[m * 5 + t], a[m * 11 + 3 + t]);
	free(x);
}

/* equal bit for bit, or both NaN */
static void
same_bits(const char *what, const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert(memcmp(&a[i], &b[i], sizeof a[i]) == 0 ||
		    (isnan(a[i]) && isnan(b[i])),
		    "%s[%zu]: got %.9g, dense sum %.9g", what, i, a[i], b[i]);
}

/* log-mel as rq_logmel_compute did before its banded projection */
static void
logmel_dense(const rq_logmel *o, const float *x, size_t n, float *out)
{
	size_t K = (size_t)o->n_fft / 2 + 1, T = (size_t)o->frames, src, dst;
	size_t nf = rq_stft_frames(n, o->n_fft, o->hop, o->center);
	double *fb = malloc((size_t)o->n_mels * K * sizeof *fb);
	rq_stft *p = rq_stft_alloc(o->n_fft, o->win);
	float *mag;

	nf = nf ? nf : 1;
	mag = malloc(K * nf * sizeof *mag);
	cr_assert_eq(rq_mel_filterbank(o->n_mels, o->n_fft, o->sr, o->fmin,
	    o->fmax, fb), RQ_OK);
	cr_assert_eq(rq_stft_mag(p, x, n, o->hop, o->center, mag, nf), RQ_OK);
	for (size_t i = 0; i < (size_t)o->n_mels * T; i++)
		out[i] = (float)log(o->eps);
	src = nf >= T ? (nf - T) / 2 : 0;
	dst = nf >= T ? 0 : (T - nf) / 2;
	for (size_t m = 0; m < (size_t)o->n_mels; m++)
		for (size_t t = 0; t < (nf >= T ? T : nf); t++) {
			double e = 0;
			for (size_t k = 0; k < K; k++) {
				double a = mag[k * nf + src + t];
				e += fb[m * K + k] * a * a;
			}
			out[m * T + dst + t] = (float)log(e + o->eps);
		}
	rq_stft_free(p);
	free(mag);
	free(fb);
}

/*
 * The banded projection skips only zero weights, so it must equal the sum
 * over all bins exactly: crop and pad, five filterbanks in turn (more
 * than the cache holds), and a clip whose loudest frames have infinite
 * magnitudes in the low bins only (the dense sum makes those frames NaN
 * in every band, 0 * Inf, and so must the banded one).
 */
Test(audio, logmel_banded_exact)
{
	static const struct { int n_mels, n_fft, win, hop, frames; double sr,
	    fmin, fmax; } c[6] = {
		{40, 256, 200, 80, 48, 8000, 0, 4000},
		{40, 256, 200, 80, 20, 8000, 0, 4000},
		{64, 512, 400, 160, 30, 16000, 50, 7600},
		{128, 1024, 1024, 256, 40, 22050, 0, 11025},
		{10, 64, 64, 32, 100, 8000, 300, 3000},
		{24, 128, 128, 64, 16, 4000, 0, 2000},
	};
	size_t n = 4000;
	float *x = malloc(n * sizeof *x), *a = malloc(128 * 100 * sizeof *a);
	float *b = malloc(128 * 100 * sizeof *b);
	rq_rng r;
	rq_logmel o;

	rq_rng_seed(&r, 7);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(0.3 * sin(i * 0.05) + 0.1 * rq_rng_normal(&r));
	for (int pass = 0; pass < 3; pass++)
		for (int j = 0; j < 6; j++) {
			size_t N = (size_t)c[j].n_mels * c[j].frames;
			rq_logmel_defaults(&o);
			o.n_mels = c[j].n_mels;
			o.n_fft = c[j].n_fft;
			o.win = c[j].win;
			o.hop = c[j].hop;
			o.frames = c[j].frames;
			o.sr = c[j].sr;
			o.fmin = c[j].fmin;
			o.fmax = c[j].fmax;
			if (pass == 2)  /* a burst whose DC overflows float */
				for (size_t i = 1800; i < 2200; i++)
					x[i] = 3e37f;
			cr_assert_eq(rq_logmel_compute(&o, x, n, a), RQ_OK);
			logmel_dense(&o, x, n, b);
			same_bits("logmel", a, b, N);
			if (pass == 2 && j == 0) {
				size_t t = 2000 / 80 - (4000 / 80 + 1 - 48) / 2;
				cr_assert(isnan(a[39 * 48 + t]), "top band of "
				    "the burst: %g", a[39 * 48 + t]);
			}
		}
	free(x);
	free(a);
	free(b);
}

/* rq_resample as it was before its filter cache: built on every call */
static void
resample_uncached(const float *x, size_t n, long up, long down, float *y)
{
	long g = up, d = down, r, half, L;
	double *h, s = 0, i0b;
	size_t ny = rq_resample_len(n, up, down);

	while (d) {
		long t = g % d;
		g = d;
		d = t;
	}
	up /= g;
	down /= g;
	r = up > down ? up : down;
	half = 10 * r;
	L = 2 * half + 1;
	h = malloc((size_t)L * sizeof *h);
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
	for (size_t k = 0; k < ny; k++) {
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
	free(h);
}

/*
 * The cached filters give the uncached output bit for bit while seven
 * ratios alternate: two the same once reduced, some sharing up or down,
 * more than the cache holds, so that entries are evicted and rebuilt.
 */
Test(audio, resample_cache_exact)
{
	static const long ud[7][2] = {
		{22050, 8000}, {8000, 44100}, {441, 160}, {3, 2}, {3, 4},
		{1, 2}, {48000, 44100},
	};
	size_t n = 1500;
	float *x = malloc(n * sizeof *x), *a, *b;
	rq_rng r;

	rq_rng_seed(&r, 11);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(0.5 * sin(i * 0.02) + 0.2 * rq_rng_normal(&r));
	for (int pass = 0; pass < 2; pass++)
		for (int j = 0; j < 7; j++) {
			size_t ny = rq_resample_len(n, ud[j][0], ud[j][1]);
			a = malloc(ny * sizeof *a);
			b = malloc(ny * sizeof *b);
			cr_assert_eq(rq_resample(x, n, ud[j][0], ud[j][1], a),
			    RQ_OK);
			resample_uncached(x, n, ud[j][0], ud[j][1], b);
			cr_assert(memcmp(a, b, ny * sizeof *a) == 0,
			    "%ld/%ld differs from the uncached filter",
			    ud[j][0], ud[j][1]);
			free(a);
			free(b);
		}
	free(x);
}

static void
resample_case(const char *gold, size_t nin, long up, long down)
{
	size_t n, ny;
	int sr;
	float *x = wav("testdata/resample_in.wav", &n, &sr), *y;
	double *g;
	size_t ng = golden(gold, &g);
	double mx = 0;

	cr_assert_geq(n, nin);
	ny = rq_resample_len(nin, up, down);
	cr_assert_eq(ny, ng, "length %zu, scipy %zu", ny, ng);
	y = malloc(ny * sizeof *y);
	cr_assert_eq(rq_resample(x, nin, up, down, y), RQ_OK);
	for (size_t i = 0; i < ng; i++)
		mx = fmax(mx, fabs(g[i]));
	near(gold, y, g, ng, 1e-4, mx * 1e-2);
	free(x);
	free(y);
	free(g);
}

Test(audio, resample_poly_golden_16k)
{
	resample_case("testdata/resample.txt", 1000, 441, 320);
}

Test(audio, resample_poly_golden_8k)
{
	resample_case("testdata/resample2.txt", 500, 22050, 8000);
}

/* a band-limited tone keeps its amplitude and frequency */
Test(audio, resample_tone)
{
	size_t n = 4000, ny = rq_resample_len(n, 22050, 16000);
	float *x = malloc(n * sizeof *x), *y = malloc(ny * sizeof *y);
	double err = 0;

	for (size_t i = 0; i < n; i++)
		x[i] = (float)sin(2 * M_PI * 1000.0 * i / 16000);
	cr_assert_eq(rq_resample(x, n, 22050, 16000, y), RQ_OK);
	for (size_t k = 500; k < ny - 500; k++)
		err = fmax(err, fabs(y[k] - sin(2 * M_PI * 1000.0 * k / 22050)));
	cr_assert_lt(err, 5e-3, "max error %g", err);
	free(x);
	free(y);
}

Test(audio, cremad_golden)
{
	size_t n;
	int sr;
	float *x = wav("testdata/cremad_in.wav", &n, &sr);
	float *S = malloc(257 * 188 * sizeof *S), sel[257 * 6];
	static const int fr[6] = {0, 1, 2, 3, 186, 187};
	double *g;
	size_t ng = golden("testdata/cremad.txt", &g);

	cr_assert_eq(sr, 22050);
	cr_assert_eq(ng, 257 * 6);
	cr_assert_eq(rq_cremad_spec(x, n, S), RQ_OK);
	for (int k = 0; k < 257; k++)
		for (int j = 0; j < 6; j++)
			sel[k * 6 + j] = S[k * 188 + fr[j]];
	near("cremad", sel, g, ng, 1e-4, 1.0);
	free(S);
	free(x);
	free(g);
}

Test(audio, wav_round_trip)
{
	float x[300], *y;
	size_t n;
	int sr;

	mkdir("tests/tmp", 0777);
	for (int i = 0; i < 300; i++)
		x[i] = (float)(0.8 * sin(i * 0.1));
	cr_assert_eq(rq_wav_write("tests/tmp/audio_rt.wav", x, 300, 11025),
	    RQ_OK);
	y = wav("tests/tmp/audio_rt.wav", &n, &sr);
	cr_assert_eq(n, 300);
	cr_assert_eq(sr, 11025);
	for (int i = 0; i < 300; i++)
		cr_assert_float_eq(y[i], x[i], 1e-4);
	free(y);
}

static void
bad_wav(const char *path, const void *bytes, size_t nb)
{
	FILE *fp;
	char err[512];
	float *x;
	size_t n;
	int sr;

	mkdir("tests/tmp", 0777);
	fp = fopen(path, "wb");
	fwrite(bytes, 1, nb, fp);
	fclose(fp);
	cr_assert_neq(rq_wav_read(path, &x, &n, &sr, err, sizeof err), RQ_OK);
	cr_assert_not_null(strstr(err, path), "message: %s", err);
	cr_assert_null(strchr(err, '\n'));
}

Test(audio, bad_wav)
{
	FILE *fp = fopen("testdata/tone.wav", "rb");
	unsigned char b[2000];
	size_t nb = fread(b, 1, sizeof b, fp);

	fclose(fp);
	bad_wav("tests/tmp/audio_garbage.wav", "this is not audio at all....",
	    28);
	bad_wav("tests/tmp/audio_header.wav", b, 30);   /* header cut */
	bad_wav("tests/tmp/audio_empty.wav", b, 0);
	memcpy(b, "RIFX", 4);
	bad_wav("tests/tmp/audio_magic.wav", b, nb);
}

/*
 * Kinetics-Sounds fbank against torchaudio.compliance.kaldi.fbank in the
 * authors' recipe (testdata/ksfbank.txt: ks16k.wav, 28 frames then one
 * pad frame; ks22k.wav, 18 + 1), within 1e-4 absolute; the pad frames
 * to T = 1024 all equal the first; a cut to T = 20 keeps the first 20.
 */
Test(audio, ksfbank_golden)
{
	static const char *path[2] = {"testdata/ks16k.wav",
	    "testdata/ks22k.wav"};
	static const size_t want_nf[2] = {28, 18};
	double *g;
	size_t ng = golden("testdata/ksfbank.txt", &g), off = 0;
	float *out = malloc((size_t)128 * 1024 * sizeof *out), *cut;
	rq_fbank o;

	cr_assert_eq(ng, (size_t)(28 + 1 + 18 + 1) * 128);
	for (int c = 0; c < 2; c++) {
		size_t n, nf;
		int sr;
		float *x = wav(path[c], &n, &sr);

		rq_fbank_defaults(&o, sr);
		nf = rq_fbank_frames(&o, n);
		cr_assert_eq(nf, want_nf[c], "%s: %zu frames", path[c], nf);
		cr_assert_eq(rq_fbank_compute(&o, x, n, out), RQ_OK);
		for (size_t t = 0; t <= nf; t++)
			for (size_t m = 0; m < 128; m++) {
				double want = g[off + t * 128 + m];
				cr_assert(fabs(out[m * 1024 + t] - want) <= 1e-4,
				    "%s: frame %zu mel %zu: %.8g, torchaudio %.8g",
				    path[c], t, m, out[m * 1024 + t], want);
			}
		for (size_t m = 0; m < 128; m++)
			for (size_t t = nf + 1; t < 1024; t++)
				cr_assert_eq(out[m * 1024 + t], out[m * 1024 + nf]);
		if (c == 0) {           /* cut: the first T frames */
			o.frames = 20;
			cut = malloc((size_t)128 * 20 * sizeof *cut);
			cr_assert_eq(rq_fbank_compute(&o, x, n, cut), RQ_OK);
			for (size_t m = 0; m < 128; m++)
				for (size_t t = 0; t < 20; t++)
					cr_assert_eq(cut[m * 20 + t], out[m * 1024 + t]);
			free(cut);
		}
		off += (nf + 1) * 128;
		free(x);
	}
	/* shorter than one frame: all padding, no error */
	rq_fbank_defaults(&o, 16000);
	o.frames = 4;
	cr_assert_eq(rq_fbank_frames(&o, 399), 0);
	cr_assert_eq(rq_fbank_compute(&o, out, 0, out), RQ_OK);
	cr_assert_float_eq(out[0], 4.503877 / (2 * 5.141276), 1e-6);
	o.n_mels = 3;
	cr_assert_eq(rq_fbank_compute(&o, out, 10, out), RQ_EINVAL);
	free(out);
	free(g);
}
