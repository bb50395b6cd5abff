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
