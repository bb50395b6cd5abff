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
 *
 * rq_synth_seq_* below: the sequence form (two named [n,T,F] modalities,
 * e.g. the MOSEI-shaped vision + text stand-in).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
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

/*
 * The sequence form: two modalities of [n, T, F] sequences (T steps of F
 * features, zero-padded at the end), K classes, one class cue per
 * modality.  Modality m carries a fixed random prototype P_m[c] (F values
 * N(0,1), the same for every seed and split: drawn from the modality's
 * name) for the steps of a short segment, at gain g_m, under per-sample
 * noise; the modality with the larger gain * sqrt(F) is the easier one.
 * The exact model is written out in rq-synth(1); keep the two in step.
 *
 *   NAME0 [n, T0, F0]   NAME1 [n, T1, F1]   label i32 [n]   id i64 [n]
 *   quality.NAME0, quality.NAME1 f32 [n] (SNR over the valid steps, dB)
 */

/* the MOSEI-shaped preset: Facet vision [50,35] and GloVe text [50,300];
 * text is the easy modality, as on the real data */
void
rq_synth_seq_defaults(rq_synth_seq *o)
{
	memset(o, 0, sizeof *o);
	o->n = 1000;
	o->seed = 0;
	o->split = "train";
	o->dataset = "mosei-synth";
	o->classes = 2;
	o->lo = 0.5;
	o->hi = 2.0;
	snprintf(o->m[0].name, sizeof o->m[0].name, "vision");
	o->m[0].T = 50;
	o->m[0].F = 35;
	o->m[0].gain = RQ_SYNTH_VISION_GAIN;
	snprintf(o->m[1].name, sizeof o->m[1].name, "text");
	o->m[1].T = 50;
	o->m[1].F = 300;
	o->m[1].gain = RQ_SYNTH_TEXT_GAIN;
}

/* a modality name as rq-train --modalities takes it: A-Z a-z 0-9 _ -,
 * not label or id */
static int
seq_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= sizeof ((rq_synth_seqmod *)0)->name ||
	    strcmp(s, "label") == 0 || strcmp(s, "id") == 0)
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* NAME:T:F[:gain] */
int
rq_synth_seq_parse(rq_synth_seqmod *m, const char *spec)
{
	char buf[160], *f[5], *p, *end;
	int nf = 0;
	long v[2];

	if (strlen(spec) >= sizeof buf)
		return RQ_EINVAL;
	strcpy(buf, spec);
	for (p = buf; nf < 5; nf++) {
		f[nf] = p;
		if ((p = strchr(p, ':')) == NULL) {
			nf++;
			break;
		}
		*p++ = '\0';
	}
	if (p != NULL || nf < 3 || nf > 4 || !seq_name_ok(f[0]))
		return RQ_EINVAL;
	for (int i = 0; i < 2; i++)
		if (rq_parse_long(f[1 + i], 1, 4096, &v[i]) != 0)
			return RQ_EINVAL;
	m->gain = RQ_SYNTH_SEQ_GAIN;
	if (nf == 4) {
		errno = 0;
		m->gain = strtod(f[3], &end);
		if (errno || end == f[3] || *end || !(m->gain >= 0) ||
		    m->gain > 1e6)
			return RQ_EINVAL;
	}
	snprintf(m->name, sizeof m->name, "%s", f[0]);
	m->T = (int)v[0];
	m->F = (int)v[1];
	return RQ_OK;
}

int
rq_synth_seq_generate(const rq_synth_seq *o, rq_tensor x[2], rq_tensor *label,
    rq_tensor *id, rq_tensor q[2])
{
	uint64_t n = (uint64_t)o->n, d1[1] = {n};
	float *proto[2] = {NULL, NULL};
	rq_rng r;
	int rc = RQ_OK;

	if (o->n < 0 || o->classes < 2 || o->classes > 1000 ||
	    !(o->lo > 0) || !(o->hi >= o->lo) || o->hi > 1e6 ||
	    o->split == NULL || o->dataset == NULL ||
	    strcmp(o->m[0].name, o->m[1].name) == 0)
		return RQ_EINVAL;
	for (int m = 0; m < 2; m++)
		if (!seq_name_ok(o->m[m].name) || o->m[m].T < 1 ||
		    o->m[m].T > 4096 || o->m[m].F < 1 || o->m[m].F > 4096 ||
		    !(o->m[m].gain >= 0) || o->m[m].gain > 1e6)
			return RQ_EINVAL;
	for (int m = 0; m < 2; m++) {
		uint64_t T = (uint64_t)o->m[m].T, F = (uint64_t)o->m[m].F;
		uint64_t dx[3] = {n, T, F};
		if ((rc = rq_tensor_alloc(&x[m], RQ_F32, 3, dx)) ||
		    (rc = rq_tensor_alloc(&q[m], RQ_F32, 1, d1)))
			goto out;
		if ((proto[m] = malloc((size_t)o->classes * F *
		    sizeof *proto[m])) == NULL) {
			rc = RQ_ENOMEM;
			goto out;
		}
		/* the prototypes: the name's stream, not the seed's */
		rq_rng_seed(&r, rq_synth_split_seed(RQ_SYNTH_PROTO_SEED,
		    o->m[m].name));
		for (uint64_t k = 0; k < (uint64_t)o->classes * F; k++)
			proto[m][k] = (float)rq_rng_normal(&r);
	}
	if ((rc = rq_tensor_alloc(label, RQ_I32, 1, d1)) ||
	    (rc = rq_tensor_alloc(id, RQ_I64, 1, d1)))
		goto out;
	rq_rng_seed(&r, rq_synth_split_seed(o->seed, o->split));

	for (uint64_t i = 0; i < n; i++) {
		int c = (int)rq_rng_below(&r, (uint64_t)o->classes);

		for (int m = 0; m < 2; m++) {
			uint64_t T = (uint64_t)o->m[m].T, F = (uint64_t)o->m[m].F;
			float *xi = (float *)x[m].data + i * T * F;
			const float *pc = proto[m] + (uint64_t)c * F;
			/* valid steps len in [ceil(T/2), T], the cue on
			 * L = max(1, len/4) of them from step s */
			uint64_t lo = (T + 1) / 2;
			uint64_t len = lo + rq_rng_below(&r, T - lo + 1);
			uint64_t L = len / 4 ? len / 4 : 1;
			uint64_t s = rq_rng_below(&r, len - L + 1);
			double sd = loguniform(&r, o->lo, o->hi);
			double g = o->m[m].gain, p;

			memset(xi, 0, T * F * sizeof *xi);
			for (uint64_t t = s; t < s + L; t++)
				for (uint64_t f = 0; f < F; f++)
					xi[t * F + f] = (float)(g * pc[f]);
			p = 0;
			for (uint64_t k = 0; k < len * F; k++)
				p += (double)xi[k] * xi[k];
			p /= (double)(len * F);
			((float *)q[m].data)[i] = p > 0 ?
			    (float)(10.0 * log10(p / (sd * sd))) : -INFINITY;
			for (uint64_t k = 0; k < len * F; k++)
				xi[k] += (float)(sd * rq_rng_normal(&r));
		}
		((int32_t *)label->data)[i] = c;
		((int64_t *)id->data)[i] = (int64_t)i;
	}
out:
	free(proto[0]);
	free(proto[1]);
	return rc;
}

/* m 0 or 1: that modality's record (layout=seq); -1: the others */
int
rq_synth_seq_meta(const rq_synth_seq *o, int m, rq_tensor *t)
{
	int rc = 0;

	rc |= rq_meta_set(t, "classes", "%d", o->classes);
	rc |= rq_meta_set(t, "split", "%s", o->split);
	rc |= rq_meta_set(t, "dataset", "%s", o->dataset);
	if (m == 0 || m == 1)
		rc |= rq_meta_set(t, "layout", "seq");
	rc |= rq_meta_set(t, "synth.seed", "%llu", (unsigned long long)o->seed);
	rc |= rq_meta_set(t, "synth.noise", "%g:%g", o->lo, o->hi);
	for (int k = 0; k < 2; k++) {
		char key[80];
		snprintf(key, sizeof key, "synth.%s", o->m[k].name);
		rc |= rq_meta_set(t, key, "%d:%d:%g", o->m[k].T, o->m[k].F,
		    o->m[k].gain);
	}
	for (int k = 0; k < 2; k++) {
		char key[80];
		snprintf(key, sizeof key, "quality.%s", o->m[k].name);
		rc |= rq_meta_set(t, key, "snr_db");
	}
	return rc ? RQ_EINVAL : RQ_OK;
}
