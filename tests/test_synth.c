/* test_synth.c: the synthetic data set is seeded, split-distinct, shaped
 * as documented, and learnable from each modality alone. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "rq.h"

typedef struct { rq_tensor t[6]; } synth_set;

static void
make(synth_set *d, const rq_synth *o)
{
	for (int i = 0; i < 6; i++)
		rq_tensor_init(&d->t[i]);
	cr_assert_eq(rq_synth_generate(o, &d->t[0], &d->t[1], &d->t[2],
	    &d->t[3], &d->t[4], &d->t[5]), RQ_OK);
}

static void
drop(synth_set *d)
{
	for (int i = 0; i < 6; i++)
		rq_tensor_free(&d->t[i]);
}

Test(synth, shapes_and_labels)
{
	rq_synth o;
	synth_set d;
	const int32_t *y;
	int seen[10] = {0};

	rq_synth_defaults(&o);
	o.n = 500;
	make(&d, &o);
	cr_assert_eq(d.t[0].ndim, 3);
	cr_assert_eq(d.t[0].dims[0], 500);
	cr_assert_eq(d.t[0].dims[1], 16);
	cr_assert_eq(d.t[0].dims[2], 16);
	cr_assert_eq(d.t[1].ndim, 4);
	cr_assert_eq(d.t[1].dims[1], 1);
	cr_assert_eq(d.t[2].dtype, RQ_I32);
	cr_assert_eq(d.t[3].dtype, RQ_I64);
	y = d.t[2].data;
	for (int i = 0; i < 500; i++) {
		cr_assert(y[i] >= 0 && y[i] < 10);
		seen[y[i]]++;
		cr_assert(isfinite(((float *)d.t[4].data)[i]));
	}
	for (int c = 0; c < 10; c++)
		cr_assert_gt(seen[c], 20, "class %d drawn %d times", c, seen[c]);
	drop(&d);
}

Test(synth, seeded_and_split_distinct)
{
	rq_synth o;
	synth_set a, b, c;

	rq_synth_defaults(&o);
	o.n = 64;
	make(&a, &o);
	make(&b, &o);
	cr_assert_eq(memcmp(a.t[0].data, b.t[0].data, a.t[0].nbytes), 0);
	cr_assert_eq(memcmp(a.t[1].data, b.t[1].data, a.t[1].nbytes), 0);
	o.split = "test";
	make(&c, &o);
	cr_assert_neq(memcmp(a.t[0].data, c.t[0].data, a.t[0].nbytes), 0);
	drop(&c);
	o.split = "train";
	o.seed = 1;
	make(&c, &o);
	cr_assert_neq(memcmp(a.t[0].data, c.t[0].data, a.t[0].nbytes), 0);
	drop(&a);
	drop(&b);
	drop(&c);
}

/* With one fixed noise level the recorded SNR must equal the signal power
 * measured from the noisy sample minus the known noise power. */
Test(synth, quality_is_snr)
{
	rq_synth o;
	synth_set d;
	double err = 0;

	rq_synth_defaults(&o);
	o.n = 400;
	o.a_lo = o.a_hi = 0.2;
	make(&d, &o);
	for (int i = 0; i < 400; i++) {
		const float *a = (float *)d.t[0].data + i * 256;
		double p = 0, snr;
		for (int k = 0; k < 256; k++)
			p += (double)a[k] * a[k];
		p = p / 256 - 0.04;
		snr = 10 * log10(p / 0.04);
		err += snr - ((float *)d.t[4].data)[i];
	}
	cr_assert_lt(fabs(err / 400), 0.1, "mean snr error %g dB", err / 400);
	drop(&d);
}

/* nearest class mean on train, accuracy on test, one modality at a time */
static double
ncm(const rq_tensor *xtr, const rq_tensor *ytr, const rq_tensor *xte,
    const rq_tensor *yte)
{
	size_t n = xtr->dims[0], m = xte->dims[0], D = xtr->nbytes / 4 / n;
	double *mu = calloc(10 * D, sizeof *mu);
	int cnt[10] = {0}, ok = 0;

	for (size_t i = 0; i < n; i++) {
		int c = ((int32_t *)ytr->data)[i];
		cnt[c]++;
		for (size_t k = 0; k < D; k++)
			mu[c * D + k] += ((float *)xtr->data)[i * D + k];
	}
	for (int c = 0; c < 10; c++)
		for (size_t k = 0; k < D; k++)
			mu[c * D + k] /= cnt[c] ? cnt[c] : 1;
	for (size_t i = 0; i < m; i++) {
		double best = INFINITY;
		int arg = -1;
		for (int c = 0; c < 10; c++) {
			double s = 0;
			for (size_t k = 0; k < D; k++) {
				double e = ((float *)xte->data)[i * D + k] -
				    mu[c * D + k];
				s += e * e;
			}
			if (s < best) {
				best = s;
				arg = c;
			}
		}
		ok += arg == ((int32_t *)yte->data)[i];
	}
	free(mu);
	return (double)ok / (double)m;
}

Test(synth, learnable_and_imbalanced)
{
	rq_synth o;
	synth_set tr, te;
	double aa, av;

	rq_synth_defaults(&o);
	o.n = 2000;
	make(&tr, &o);
	o.split = "test";
	o.n = 500;
	make(&te, &o);
	aa = ncm(&tr.t[0], &tr.t[2], &te.t[0], &te.t[2]);
	av = ncm(&tr.t[1], &tr.t[2], &te.t[1], &te.t[2]);
	cr_assert_gt(aa, 0.4, "audio accuracy %g", aa);
	cr_assert_gt(av, 0.2, "visual accuracy %g", av);
	cr_assert_gt(aa, av + 0.1, "audio %g should beat visual %g", aa, av);
	drop(&tr);
	drop(&te);
}

Test(synth, bad_options)
{
	rq_synth o;
	synth_set d;

	rq_synth_defaults(&o);
	o.a_lo = 0;
	for (int i = 0; i < 6; i++)
		rq_tensor_init(&d.t[i]);
	cr_assert_eq(rq_synth_generate(&o, &d.t[0], &d.t[1], &d.t[2],
	    &d.t[3], &d.t[4], &d.t[5]), RQ_EINVAL);
	drop(&d);
}

/* --- the sequence form ---------------------------------------------------- */

typedef struct { rq_tensor x[2], y, id, q[2]; } seq_set;

static void
seq_make(seq_set *d, const rq_synth_seq *o)
{
	rq_tensor_init(&d->x[0]);
	rq_tensor_init(&d->x[1]);
	rq_tensor_init(&d->y);
	rq_tensor_init(&d->id);
	rq_tensor_init(&d->q[0]);
	rq_tensor_init(&d->q[1]);
	cr_assert_eq(rq_synth_seq_generate(o, d->x, &d->y, &d->id, d->q), RQ_OK);
}

static void
seq_drop(seq_set *d)
{
	for (int m = 0; m < 2; m++) {
		rq_tensor_free(&d->x[m]);
		rq_tensor_free(&d->q[m]);
	}
	rq_tensor_free(&d->y);
	rq_tensor_free(&d->id);
}

Test(synth, seq_preset_shapes_and_padding)
{
	rq_synth_seq o;
	seq_set d;
	int seen[2] = {0}, T[2] = {50, 50}, F[2] = {35, 300};
	long shortest[2] = {50, 50};

	rq_synth_seq_defaults(&o);
	o.n = 400;
	seq_make(&d, &o);
	cr_assert_str_eq(o.m[0].name, "vision");
	cr_assert_str_eq(o.m[1].name, "text");
	for (int m = 0; m < 2; m++) {
		cr_assert_eq(d.x[m].ndim, 3);
		cr_assert_eq(d.x[m].dtype, RQ_F32);
		cr_assert_eq(d.x[m].dims[0], 400);
		cr_assert_eq(d.x[m].dims[1], (uint64_t)T[m]);
		cr_assert_eq(d.x[m].dims[2], (uint64_t)F[m]);
		cr_assert_eq(d.q[m].dims[0], 400);
	}
	cr_assert_eq(d.y.dtype, RQ_I32);
	cr_assert_eq(d.id.dtype, RQ_I64);
	for (int i = 0; i < 400; i++) {
		int y = ((int32_t *)d.y.data)[i];
		cr_assert(y == 0 || y == 1);
		seen[y]++;
		cr_assert_eq(((int64_t *)d.id.data)[i], i);
		for (int m = 0; m < 2; m++) {
			const float *x = (float *)d.x[m].data +
			    (size_t)i * T[m] * F[m];
			long len = 0;
			/* valid steps first, then all-zero padding */
			for (int t = 0; t < T[m]; t++) {
				int any = 0;
				for (int f = 0; f < F[m]; f++)
					any |= x[t * F[m] + f] != 0;
				if (any) {
					cr_assert_eq(len, t, "sample %d %s: a "
					    "valid step %d after padding", i,
					    o.m[m].name, t);
					len = t + 1;
				}
			}
			cr_assert_geq(len, 25);
			if (len < shortest[m])
				shortest[m] = len;
			cr_assert(isfinite(((float *)d.q[m].data)[i]));
		}
	}
	for (int m = 0; m < 2; m++)
		cr_assert_lt(shortest[m], 30, "%s: no short sequence drawn",
		    o.m[m].name);
	cr_assert_gt(seen[0], 150);
	cr_assert_gt(seen[1], 150);
	seq_drop(&d);
}

Test(synth, seq_seeded_and_split_distinct)
{
	rq_synth_seq o;
	seq_set a, b, c;

	rq_synth_seq_defaults(&o);
	o.n = 32;
	seq_make(&a, &o);
	seq_make(&b, &o);
	for (int m = 0; m < 2; m++)
		cr_assert_eq(memcmp(a.x[m].data, b.x[m].data, a.x[m].nbytes), 0);
	cr_assert_eq(memcmp(a.y.data, b.y.data, a.y.nbytes), 0);
	o.split = "test";
	seq_make(&c, &o);
	cr_assert_neq(memcmp(a.x[1].data, c.x[1].data, a.x[1].nbytes), 0);
	seq_drop(&c);
	o.split = "train";
	o.seed = 5;
	seq_make(&c, &o);
	cr_assert_neq(memcmp(a.x[0].data, c.x[0].data, a.x[0].nbytes), 0);
	seq_drop(&a);
	seq_drop(&b);
	seq_drop(&c);
}

/* nearest class mean on the mean over the steps, one modality */
static double
seq_ncm(const rq_tensor *xtr, const rq_tensor *ytr, const rq_tensor *xte,
    const rq_tensor *yte, int K)
{
	size_t T = xtr->dims[1], F = xtr->dims[2];
	double *mu = calloc((size_t)K * F, sizeof *mu), *v = malloc(F *
	    sizeof *v);
	int *cnt = calloc((size_t)K, sizeof *cnt), ok = 0;

	for (size_t i = 0; i < xtr->dims[0]; i++) {
		int c = ((int32_t *)ytr->data)[i];
		cnt[c]++;
		for (size_t k = 0; k < T * F; k++)
			mu[c * F + k % F] += ((float *)xtr->data)[i * T * F + k];
	}
	for (int c = 0; c < K; c++)
		for (size_t f = 0; f < F; f++)
			mu[c * F + f] /= cnt[c] ? cnt[c] : 1;
	for (size_t i = 0; i < xte->dims[0]; i++) {
		double best = INFINITY;
		int arg = -1;
		memset(v, 0, F * sizeof *v);
		for (size_t k = 0; k < T * F; k++)
			v[k % F] += ((float *)xte->data)[i * T * F + k];
		for (int c = 0; c < K; c++) {
			double s = 0;
			for (size_t f = 0; f < F; f++)
				s += (v[f] - mu[c * F + f]) * (v[f] - mu[c * F + f]);
			if (s < best) {
				best = s;
				arg = c;
			}
		}
		ok += arg == ((int32_t *)yte->data)[i];
	}
	free(mu);
	free(v);
	free(cnt);
	return (double)ok / (double)xte->dims[0];
}

/* both modalities carry the class, text clearly more than vision: the
 * imbalance the stand-in is for (rq-synth(1) quotes these numbers) */
Test(synth, seq_learnable_and_imbalanced)
{
	rq_synth_seq o;
	seq_set tr, te;
	double av, at;

	rq_synth_seq_defaults(&o);
	o.n = 2000;
	seq_make(&tr, &o);
	o.split = "test";
	o.n = 1000;
	seq_make(&te, &o);
	av = seq_ncm(&tr.x[0], &tr.y, &te.x[0], &te.y, 2);
	at = seq_ncm(&tr.x[1], &tr.y, &te.x[1], &te.y, 2);
	cr_log_info("mosei preset: vision %.3f text %.3f", av, at);
	cr_assert_gt(av, 0.6, "vision accuracy %g", av);
	cr_assert_lt(av, 0.8, "vision accuracy %g: too easy", av);
	cr_assert_gt(at, 0.8, "text accuracy %g", at);
	cr_assert_gt(at, av + 0.1, "text %g should beat vision %g", at, av);
	seq_drop(&tr);
	seq_drop(&te);
}

/* the class cue is gain * P_m[c] on L steps: with no noise the cue steps
 * of two samples of one class are equal, and gain 0 gives pure noise */
Test(synth, seq_general_form)
{
	rq_synth_seq o;
	seq_set d;
	int first[4] = {-1, -1, -1, -1};

	rq_synth_seq_defaults(&o);
	cr_assert_eq(rq_synth_seq_parse(&o.m[0], "imu:20:6:0.3"), RQ_OK);
	cr_assert_eq(rq_synth_seq_parse(&o.m[1], "eeg_raw:9:3"), RQ_OK);
	cr_assert_str_eq(o.m[0].name, "imu");
	cr_assert_eq(o.m[0].T, 20);
	cr_assert_eq(o.m[0].F, 6);
	cr_assert_float_eq(o.m[0].gain, 0.3, 1e-12);
	cr_assert_float_eq(o.m[1].gain, RQ_SYNTH_SEQ_GAIN, 1e-12);
	o.classes = 4;
	o.lo = o.hi = 1e-30;    /* no noise to speak of */
	o.n = 200;
	seq_make(&d, &o);
	cr_assert_eq(d.x[0].dims[1], 20);
	cr_assert_eq(d.x[1].dims[2], 3);
	for (int i = 0; i < 200; i++) {
		int c = ((int32_t *)d.y.data)[i];
		const float *x = (float *)d.x[0].data + (size_t)i * 20 * 6;
		int t = 0;
		cr_assert(c >= 0 && c < 4);
		while (t < 20 && fabsf(x[t * 6]) < 1e-20f)
			t++;
		cr_assert_lt(t, 20, "sample %d: no cue", i);
		if (first[c] < 0) {
			first[c] = i;
			continue;
		}
		const float *y = (float *)d.x[0].data + (size_t)first[c] * 20 * 6;
		int u = 0;
		while (u < 20 && fabsf(y[u * 6]) < 1e-20f)
			u++;
		for (int f = 0; f < 6; f++)
			cr_assert_float_eq(x[t * 6 + f], y[u * 6 + f], 1e-6,
			    "class %d: samples %d and %d differ", c, i, first[c]);
	}
	for (int c = 0; c < 4; c++)
		cr_assert_geq(first[c], 0, "class %d never drawn", c);
	seq_drop(&d);
}

Test(synth, seq_bad_options)
{
	rq_synth_seq o;
	rq_synth_seqmod m;
	seq_set d;
	const char *bad[] = {"", "x", "x:1", "x:0:3", "x:3:0", "x:5000:1",
	    "label:3:3", "id:3:3", "quality.x:3:3", "a.b:3:3", "a b:3:3", "x:3:3:-1",
	    "x:3:3:nan", "x:3:3:1:2", "a,b:3:3", "x:3:3:"};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(rq_synth_seq_parse(&m, bad[i]), RQ_EINVAL, "%s",
		    bad[i]);
	rq_synth_seq_defaults(&o);
	snprintf(o.m[1].name, sizeof o.m[1].name, "vision");
	o.n = 4;
	rq_tensor_init(&d.x[0]);
	rq_tensor_init(&d.x[1]);
	rq_tensor_init(&d.y);
	rq_tensor_init(&d.id);
	rq_tensor_init(&d.q[0]);
	rq_tensor_init(&d.q[1]);
	cr_assert_eq(rq_synth_seq_generate(&o, d.x, &d.y, &d.id, d.q),
	    RQ_EINVAL, "two modalities named alike");
	rq_synth_seq_defaults(&o);
	o.classes = 1;
	cr_assert_eq(rq_synth_seq_generate(&o, d.x, &d.y, &d.id, d.q),
	    RQ_EINVAL, "one class");
	seq_drop(&d);
}
