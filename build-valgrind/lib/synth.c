/*
 * synth.c: the synthetic audio-visual data set that rq generates itself.
 *
 * Ten classes c = 2g + p: a "group" g in 0..4 and a "parity" p in 0..1.
 * Audio is a strong cue for g and a weak one for p; the image is a strong
 * cue for p and a weak one for g, so the modalities are complementary and
 * the audio is the fast learner.  Every sample draws its own noise level
 * per modality; the resulting SNR is returned as its quality.  The exact
 * model is written out in rq-synth(1); keep the two in step.
 *
 *   audio  [n, F, T]    visual [n, 1, H, W]    label i32 [n]
 *   id i64 [n]          quality.audio, quality.visual f32 [n] (SNR, dB)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

void
rq_synth_defaults(rq_synth *o)
{
	memset(o, 0, sizeof *o);
	o->n = 1000;
	o->seed = 0;
	o->split = "train";
	o->F = 16;
	o->T = 16;
	o->H = 16;
	o->W = 16;
	o->a_lo = 0.2;
	o->a_hi = 2.0;
	o->v_lo = 0.3;
	o->v_hi = 2.0;
	o->a_parity = 0.15;
	o->v_group = 0.9;
}

/* FNV-1a 64 of the split name: train/val/test draw distinct streams */
uint64_t
rq_synth_split_seed(uint64_t seed, const char *split)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)split; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return seed ^ h;
}

static double
loguniform(rq_rng *r, double lo, double hi)
{
	if (hi <= lo)
		return lo;
	return exp(log(lo) + (log(hi) - log(lo)) * rq_rng_uniform(r));
}

static float
snr_db(const float *x, size_t n, double sigma)
{
	double p = 0;

	for (size_t i = 0; i < n; i++)
		p += (double)x[i] * x[i];
	p /= (double)n;
	return (float)(10.0 * log10(p / (sigma * sigma)));
}

int
rq_synth_generate(const rq_synth *o, rq_tensor *audio, rq_tensor *visual,
    rq_tensor *label, rq_tensor *id, rq_tensor *qa, rq_tensor *qv)
{
	uint64_t n = (uint64_t)o->n, F = (uint64_t)o->F, T = (uint64_t)o->T;
	uint64_t H = (uint64_t)o->H, W = (uint64_t)o->W;
	uint64_t da[3] = {n, F, T}, dv[4] = {n, 1, H, W}, d1[1] = {n};
	rq_rng r;
	int rc;

	if (o->n < 0 || o->F < 5 || o->T < 8 || o->H < 8 || o->W < 8 ||
	    o->F > 4096 || o->T > 4096 || o->H > 4096 || o->W > 4096 ||
	    !(o->a_lo > 0) || !(o->v_lo > 0) || o->a_hi < o->a_lo ||
	    o->v_hi < o->v_lo || o->split == NULL)
		return RQ_EINVAL;
	if ((rc = rq_tensor_alloc(audio, RQ_F32, 3, da)) ||
	    (rc = rq_tensor_alloc(visual, RQ_F32, 4, dv)) ||
	    (rc = rq_tensor_alloc(label, RQ_I32, 1, d1)) ||
	    (rc = rq_tensor_alloc(id, RQ_I64, 1, d1)) ||
	    (rc = rq_tensor_alloc(qa, RQ_F32, 1, d1)) ||
	    (rc = rq_tensor_alloc(qv, RQ_F32, 1, d1)))
		return rc;
	rq_rng_seed(&r, rq_synth_split_seed(o->seed, o->split));

	for (uint64_t i = 0; i < n; i++) {
		float *a = (float *)audio->data + i * F * T;
		float *v = (float *)visual->data + i * H * W;
		int c = (int)rq_rng_below(&r, 10), g = c / 2, p = c % 2;
		double sgn = p ? 1.0 : -1.0;
		/* audio: a band at row mu over a segment of L frames */
		double mu = (double)(F - 1) * (2 * g + 1) / 10.0;
		double bw = (double)F / 12.0;
		uint64_t L = (T * 5) / 8;
		uint64_t s = rq_rng_below(&r, T - L + 1);
		double gain = 0.8 + 0.4 * rq_rng_uniform(&r);
		double sa = loguniform(&r, o->a_lo, o->a_hi);
		/* image: a bar (horizontal p=0, vertical p=1) and a blob */
		int64_t cy = (int64_t)H / 2 - 2 + (int64_t)rq_rng_below(&r, 5);
		int64_t cx = (int64_t)W / 2 - 2 + (int64_t)rq_rng_below(&r, 5);
		double ang = 2.0 * M_PI * g / 5.0;
		double by = (double)H / 2 + 0.3 * (double)H * sin(ang) +
		    (double)rq_rng_below(&r, 3) - 1;
		double bx = (double)W / 2 + 0.3 * (double)W * cos(ang) +
		    (double)rq_rng_below(&r, 3) - 1;
		double sv = loguniform(&r, o->v_lo, o->v_hi);

		for (uint64_t f = 0; f < F; f++) {
			double band = exp(-((double)f - mu) * ((double)f - mu) /
			    (2 * bw * bw));
			for (uint64_t t = 0; t < T; t++) {
				double x = 0;
				if (t >= s && t < s + L)
					x = gain * band * (1.0 + o->a_parity * sgn *
					    ((t & 1) ? -1.0 : 1.0));
				a[f * T + t] = (float)x;
			}
		}
		for (uint64_t y = 0; y < H; y++)
			for (uint64_t x = 0; x < W; x++) {
				int64_t dy = (int64_t)y - cy, dx = (int64_t)x - cx;
				double val = 0, ry, rx;
				int onbar = p == 0 ?
				    (dy == 0 || dy == 1) && llabs(dx) <= (int64_t)W * 3 / 8 :
				    (dx == 0 || dx == 1) && llabs(dy) <= (int64_t)H * 3 / 8;
				if (onbar)
					val = 1.0;
				ry = (double)y - by;
				rx = (double)x - bx;
				val += o->v_group * exp(-(ry * ry + rx * rx) / 2.0);
				v[y * W + x] = (float)val;
			}
		((float *)qa->data)[i] = snr_db(a, F * T, sa);
		((float *)qv->data)[i] = snr_db(v, H * W, sv);
		for (uint64_t k = 0; k < F * T; k++)
			a[k] += (float)(sa * rq_rng_normal(&r));
		for (uint64_t k = 0; k < H * W; k++)
			v[k] += (float)(sv * rq_rng_normal(&r));
		((int32_t *)label->data)[i] = c;
		((int64_t *)id->data)[i] = (int64_t)i;
	}
	return RQ_OK;
}

/* classes, split, dataset and the knobs, on every record of a group */
int
rq_synth_meta(const rq_synth *o, rq_tensor *t)
{
	int rc = 0;

	rc |= rq_meta_set(t, "classes", "10");
	rc |= rq_meta_set(t, "split", "%s", o->split);
	rc |= rq_meta_set(t, "dataset", "synth");
	rc |= rq_meta_set(t, "synth.seed", "%llu", (unsigned long long)o->seed);
	rc |= rq_meta_set(t, "synth.audio.noise", "%g:%g", o->a_lo, o->a_hi);
	rc |= rq_meta_set(t, "synth.visual.noise", "%g:%g", o->v_lo, o->v_hi);
	rc |= rq_meta_set(t, "synth.audio.parity", "%g", o->a_parity);
	rc |= rq_meta_set(t, "synth.visual.group", "%g", o->v_group);
	rc |= rq_meta_set(t, "quality.audio", "snr_db");
	rc |= rq_meta_set(t, "quality.visual", "snr_db");
	return rc ? RQ_EINVAL : RQ_OK;
}
