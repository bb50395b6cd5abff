/*
 * rollingq.c: RollingQ at the end of an epoch, for every model with a
 * fusion query (MT: one layer, MT*: two).
 *
 * For each fusion layer l: AIR_l (air.c) from E over the training set of
 * cos(q, ka_i) - cos(q, kv_i), in eval mode, either over the whole set
 * (split by rank, sums reduced so every rank gets the same numbers) or,
 * as the authors do, over the last training batch of the epoch.  E[Q],
 * E[K_a], E[K_v] [d] come from the same samples.  Then, for the layer next
 * in line, when |AIR| > beta and its rotation count is below rmax: the
 * anchor q_b (rq_rollingq_anchor), R_new mapping E[Q] onto q_b (plane or
 * SVD form) and R_total <- R_new R_total.
 *
 * MT* rotates progressively: the layer next in line is the one with fewer
 * rotations (layer 0 on ties), so triggers alternate layer 0, layer 1,
 * layer 0, ...  Its statistics are computed last, so E[Q], E[K_a], E[K_v]
 * hold that layer's.
 *
 * MMML's two sites (the audio and the visual stream's self-attention
 * query, row 0) take turns the same way.  Its query differs per sample:
 * rq_model_query is the batch mean, so E[Q] is the mean of those over the
 * set (for MT and MT*, whose query is one per batch, the same value).
 *
 * With a dump prefix, rank 0 writes each layer's q and per-sample key
 * means over the whole set as an air-dump stream (airdump.c), named
 * after the model's two modalities (K_a: slot 0, K_v: slot 1).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "rq.h"

struct rq_rollingq {
	rq_rollingq_cfg cfg;
	const char *dump;
	int d, B;                    /* width, batch the buffers hold */
	size_t n;                    /* training set size */
	double *eq, *eka, *ekv, *qb, *Rn;
	float *ka, *kv;              /* [B,d] each */
	float *dka, *dkv;            /* [n,d] each, for the dump */
	float *a, *v;
	int32_t *y;
	int64_t *idx;
};

static int
fail(char *err, size_t errn, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errn > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errn, fmt, ap);
		va_end(ap);
	}
	return rc;
}

void
rq_rollingq_free(rq_rollingq *r)
{
	if (r == NULL)
		return;
	free(r->eq);
	free(r->Rn);
	free(r->ka);
	free(r->dka);
	free(r->a);
	free(r->v);
	free(r->y);
	free(r->idx);
	free(r);
}

int
rq_rollingq_new(rq_rollingq **rp, const rq_model *m, const rq_rollingq_cfg *c,
    const char *dump, size_t n, int B)
{
	const rq_model_cfg *mc = rq_model_config(m);
	rq_rollingq *r;
	size_t d = (size_t)mc->d;

	*rp = NULL;
	if (B < 1 || n == 0)
		return RQ_EINVAL;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return RQ_ENOMEM;
	r->cfg = *c;
	r->dump = dump;
	r->d = mc->d;
	r->B = B;
	r->n = n;
	r->eq = calloc(d * 4, sizeof(double));
	r->Rn = calloc(d * d, sizeof(double));
	r->ka = malloc((size_t)B * d * 2 * sizeof(float));
	r->a = malloc((size_t)B * mc->F * mc->T * sizeof(float));
	r->v = malloc((size_t)B * mc->C * mc->H * mc->W * sizeof(float));
	r->y = malloc((size_t)B * sizeof(int32_t));
	r->idx = malloc((size_t)B * sizeof(int64_t));
	if (dump != NULL && rq_model_fusion_layers(m) > 0) {
		if (n > SIZE_MAX / d / 2 / sizeof(float) ||
		    (r->dka = malloc(n * d * 2 * sizeof(float))) == NULL) {
			rq_rollingq_free(r);
			return RQ_ENOMEM;
		}
		r->dkv = r->dka + n * d;
	}
	if (r->eq == NULL || r->Rn == NULL || r->ka == NULL || r->a == NULL ||
	    r->v == NULL || r->y == NULL || r->idx == NULL) {
		rq_rollingq_free(r);
		return RQ_ENOMEM;
	}
	r->eka = r->eq + d;
	r->ekv = r->eq + 2 * d;
	r->qb = r->eq + 3 * d;
	r->kv = r->ka + (size_t)B * d;
	*rp = r;
	return RQ_OK;
}

/* AIR of fusion layer `layer` over the whole set in eval mode (each rank a
 * contiguous part, U samples a forward); E[Q], E[K_a], E[K_v] in r */
static int
air_set(rq_rollingq *r, rq_model *m, int layer, const rq_dataset *ds, int U,
    double *air)
{
	int d = r->d, rank = rq_dist_rank(), size = rq_dist_size();
	double sa = 0, sv = 0, ca, cv, s2[2];
	const float *q;
	size_t lo, cnt;

	memset(r->eq, 0, (size_t)d * sizeof *r->eq);
	memset(r->eka, 0, (size_t)d * sizeof *r->eka);
	memset(r->ekv, 0, (size_t)d * sizeof *r->ekv);
	rq_dist_part(ds->n, rank, size, &lo, &cnt);
	if (r->dka != NULL && size > 1)
		memset(r->dka, 0, ds->n * d * 2 * sizeof(float));
	for (size_t i = lo; i < lo + cnt; i += (size_t)U) {
		int nb = (int)RQ_MIN((size_t)U, lo + cnt - i);
		for (int b = 0; b < nb; b++)
			r->idx[b] = (int64_t)(i + b);
		rq_dataset_batch(ds, r->idx, nb, r->a, r->v, r->y);
		rq_model_forward(m, r->a, r->v, NULL, nb, 0, NULL);
		rq_model_kmeans(m, layer, nb, r->ka, r->kv);
		q = rq_model_query(m, layer);
		rq_air(q, r->ka, r->kv, (size_t)nb, (size_t)d, &ca, &cv);
		sa += ca * nb;
		sv += cv * nb;
		for (int b = 0; b < nb; b++)
			for (int j = 0; j < d; j++) {
				r->eka[j] += r->ka[(size_t)b * d + j];
				r->ekv[j] += r->kv[(size_t)b * d + j];
			}
		for (int j = 0; j < d; j++)
			r->eq[j] += (double)q[j] * nb;
		if (r->dka != NULL) {
			memcpy(r->dka + i * d, r->ka, (size_t)nb * d * sizeof(float));
			memcpy(r->dkv + i * d, r->kv, (size_t)nb * d * sizeof(float));
		}
	}
	s2[0] = sa;
	s2[1] = sv;
	if (rq_dist_sum_f64(s2, 2) != RQ_OK ||
	    rq_dist_sum_f64(r->eq, (size_t)d) != RQ_OK ||
	    rq_dist_sum_f64(r->eka, (size_t)d) != RQ_OK ||
	    rq_dist_sum_f64(r->ekv, (size_t)d) != RQ_OK)
		return RQ_EIO;
	sa = s2[0];
	sv = s2[1];
	/* gather: the parts are disjoint */
	if (r->dka != NULL && size > 1 &&
	    rq_dist_sum_f32(r->dka, ds->n * d * 2) != RQ_OK)
		return RQ_EIO;
	for (int j = 0; j < d; j++) {
		r->eka[j] /= (double)ds->n;
		r->ekv[j] /= (double)ds->n;
		r->eq[j] /= (double)ds->n;
	}
	*air = (sa - sv) / (double)ds->n;
	return RQ_OK;
}

/* the authors' estimate: the epoch's last training batch (perm order) */
static double
air_last(rq_rollingq *r, rq_model *m, int layer, const rq_dataset *ds,
    const int64_t *perm, int B, int U)
{
	const rq_model_cfg *mc = rq_model_config(m);
	size_t fa = (size_t)mc->F * mc->T, fv = (size_t)mc->C * mc->H * mc->W;
	size_t nb = (ds->n + B - 1) / B, i0 = (nb - 1) * B;
	int d = r->d, n = (int)(ds->n - i0);
	double ca, cv, air;

	rq_dataset_batch(ds, perm + i0, n, r->a, r->v, r->y);
	for (int o = 0; o < n; o += U) {
		int nc = RQ_MIN(U, n - o);
		rq_model_forward(m, r->a + (size_t)o * fa, r->v + (size_t)o * fv,
		    NULL, nc, 0, NULL);
		rq_model_kmeans(m, layer, nc, r->ka + (size_t)o * d,
		    r->kv + (size_t)o * d);
	}
	air = rq_air(rq_model_query(m, layer), r->ka, r->kv, (size_t)n,
	    (size_t)d, &ca, &cv);
	memset(r->eka, 0, (size_t)d * sizeof *r->eka);
	memset(r->ekv, 0, (size_t)d * sizeof *r->ekv);
	for (int b = 0; b < n; b++)
		for (int j = 0; j < d; j++) {
			r->eka[j] += r->ka[(size_t)b * d + j] / (double)n;
			r->ekv[j] += r->kv[(size_t)b * d + j] / (double)n;
		}
	for (int j = 0; j < d; j++)
		r->eq[j] = rq_model_query(m, layer)[j];
	return air;
}

int
rq_rollingq_epoch(rq_rollingq *r, rq_model *m, const rq_dataset *ds,
    const int64_t *perm, int U, long epoch, rq_rollingq_report *rep,
    char *err, size_t errn)
{
	const rq_rollingq_cfg *c = &r->cfg;
	int nfl = rq_model_fusion_layers(m), next, rc;
	size_t d = (size_t)r->d;

	memset(rep, 0, sizeof *rep);
	rep->air[0] = rep->air[1] = NAN;
	rep->alpha = NAN;
	rep->layers = nfl;
	if (nfl == 0)
		return RQ_OK;
	next = nfl > 1 && *rq_model_rotations(m, 1) <
	    *rq_model_rotations(m, 0) ? 1 : 0;
	for (int k = 0; k < nfl; k++) {
		int l = (next + 1 + k) % nfl;
		if ((c->air_full || r->dump != NULL) &&
		    air_set(r, m, l, ds, U, &rep->air[l]) != RQ_OK)
			return fail(err, errn, RQ_EIO, "%s", rq_dist_error());
		if (!c->air_full)
			rep->air[l] = air_last(r, m, l, ds, perm, r->B, U);
		if (r->dump != NULL && rq_dist_rank() == 0) {
			/* layer 2 of MT*: <prefix>.l2.<epoch>.rqt */
			char path[4096];
			snprintf(path, sizeof path, "%s%s.%ld.rqt", r->dump,
			    l ? ".l2" : "", epoch);
			if ((rc = rq_airdump_write(path, epoch,
			    rq_model_config(m)->mod, rq_model_query(m, l), r->dka, r->dkv, ds->n, d, err,
			    errn)) != RQ_OK)
				return rc;
		}
	}
	if (!c->on || *rq_model_rotations(m, next) >= c->rmax ||
	    !(fabs(rep->air[next]) > c->beta))
		return RQ_OK;
	if (rq_rollingq_anchor(r->qb, &rep->alpha, r->eq, r->eka, r->ekv,
	    rep->air[next], c->rho, d) != RQ_OK)
		return fail(err, errn, RQ_ENUM, "epoch %ld: RollingQ anchor "
		    "failed (zero key mean?)", epoch);
	rc = c->rot_svd ? rq_rotation_svd(r->Rn, r->eq, r->qb, d) :
	    rq_rotation_plane(r->Rn, r->eq, r->qb, d);
	if (rc == RQ_OK)
		rc = rq_rotation_compose(rq_model_rotation(m, next), r->Rn, d);
	if (rc != RQ_OK)
		return fail(err, errn, rc, "epoch %ld: rotation failed", epoch);
	rep->rotated = next + 1;
	rep->rotation = ++*rq_model_rotations(m, next);
	return RQ_OK;
}

/*
 * A rotation read back from a file: finite, and orthogonal to within
 * 1e-6 (composition in double drifts by about 1e-15 per rotation).  A
 * NaN or a scaled R would make every later query NaN or skew AIR.
 */
int
rq_rollingq_check_R(const double *R, int d, char *err, size_t errn)
{
	size_t n = (size_t)d;
	double worst = 0, *blk;

	for (size_t i = 0; i < n * n; i++)
		if (!isfinite(R[i])) {
			snprintf(err, errn, "element %zu is not finite", i);
			return RQ_ERANGE;
		}
	/* R R^T by blocks of 64 rows (cblas_dgemm), 64 x d doubles at once */
	if ((blk = malloc(64 * n * sizeof *blk)) == NULL) {
		snprintf(err, errn, "out of memory");
		return RQ_ENOMEM;
	}
	for (size_t i0 = 0; i0 < n; i0 += 64) {
		size_t nr = n - i0 < 64 ? n - i0 : 64;
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, d,
		    d, 1.0, R + i0 * n, d, R, d, 0.0, blk, d);
		for (size_t i = 0; i < nr; i++)
			for (size_t j = 0; j < n; j++)
				worst = fmax(worst, fabs(blk[i * n + j] -
				    (i0 + i == j)));
	}
	free(blk);
	if (!(worst <= 1e-6)) {
		snprintf(err, errn, "not orthogonal (max |R R^T - I| = %.3g)",
		    worst);
		return RQ_ERANGE;
	}
	return RQ_OK;
}
