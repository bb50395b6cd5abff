/*
 * rotate.c: the rotations of RollingQ (DESIGN.md section 3).
 *
 * Shapes: x, y, eq, eka, ekv, qb [d]; R [d,d] row-major double, acting on
 * column vectors (R x), i.e. on row vectors as v R^T.
 *
 * Plane form.  With x, y unit: c = x.y, u = y - c x, s = |u|, w = u / s,
 *	R = I + (c - 1)(x x^T + w w^T) + s (w x^T - x w^T).
 * On span{x, w} it is the 2x2 rotation [[c, -s], [s, c]] (R x = c x + s w
 * = y); on the orthogonal complement of span{x, y} it is the identity;
 * det R = 1.
 * Degenerate plane (s <= RQ_ROT_TINY): c > 0 gives R = I (y = x to within
 * rounding); c < 0 gives the rotation by pi in span{x, w}, where w is the
 * coordinate axis e_k least aligned with x (smallest |x_k|, lowest k on
 * ties) made orthogonal to x by one Gram-Schmidt step:
 *	R = I - 2 (x x^T + w w^T).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_vector.h>

#include "rq.h"

/* below this, span{x, y} is not a plane */
#define RQ_ROT_TINY (8 * DBL_EPSILON)

/* dst = src / |src|; RQ_EINVAL for a zero vector, RQ_ENUM for NaN/Inf */
static int
unit(gsl_vector *dst, const double *src, size_t d)
{
	gsl_vector_const_view sv = gsl_vector_const_view_array(src, d);
	double n;

	for (size_t i = 0; i < d; i++)
		if (!isfinite(src[i]))
			return RQ_ENUM;
	gsl_vector_memcpy(dst, &sv.vector);
	n = gsl_blas_dnrm2(dst);
	if (!(n > 0) || !isfinite(n))
		return RQ_EINVAL;
	gsl_vector_scale(dst, 1 / n);
	return RQ_OK;
}

int
rq_rotation_plane(double *R, const double *x, const double *y, size_t d)
{
	gsl_matrix_view Rv;
	gsl_vector *xu, *w;
	double c, s;
	int rc;

	if (d < 2)
		return RQ_EINVAL;
	xu = gsl_vector_alloc(d);
	w = gsl_vector_alloc(d);
	if (xu == NULL || w == NULL) {
		rc = RQ_ENOMEM;
		goto out;
	}
	if ((rc = unit(xu, x, d)) != RQ_OK || (rc = unit(w, y, d)) != RQ_OK)
		goto out;
	/* w <- u = y - c x, then one more Gram-Schmidt pass for accuracy */
	gsl_blas_ddot(xu, w, &c);
	gsl_blas_daxpy(-c, xu, w);
	{
		double e;

		gsl_blas_ddot(xu, w, &e);
		gsl_blas_daxpy(-e, xu, w);
	}
	s = gsl_blas_dnrm2(w);
	Rv = gsl_matrix_view_array(R, d, d);
	gsl_matrix_set_identity(&Rv.matrix);
	if (s <= RQ_ROT_TINY) {
		size_t k = 0;
		double e;

		if (c > 0)
			goto out;	/* parallel: identity */
		/* antiparallel: pi in the plane of x and its least aligned axis */
		for (size_t i = 1; i < d; i++)
			if (fabs(gsl_vector_get(xu, i)) <
			    fabs(gsl_vector_get(xu, k)))
				k = i;
		gsl_vector_set_basis(w, k);
		gsl_blas_ddot(xu, w, &e);
		gsl_blas_daxpy(-e, xu, w);
		gsl_vector_scale(w, 1 / gsl_blas_dnrm2(w));
		c = -1;
		s = 0;
	} else {
		gsl_vector_scale(w, 1 / s);
		c = c > 1 ? 1 : c < -1 ? -1 : c;
	}
	/* R += (c-1) x x^T + (c-1) w w^T + s w x^T - s x w^T */
	gsl_blas_dger(c - 1, xu, xu, &Rv.matrix);
	gsl_blas_dger(c - 1, w, w, &Rv.matrix);
	if (s != 0) {
		gsl_blas_dger(s, w, xu, &Rv.matrix);
		gsl_blas_dger(-s, xu, w, &Rv.matrix);
	}
out:
	if (xu)
		gsl_vector_free(xu);
	if (w)
		gsl_vector_free(w);
	return rc;
}

/*
 * The authors' form (RollingQ_ICML2025 utils/utils.py,
 * compute_rotation_matrix): M = unit(y) unit(x)^T = U S V^T, W = U V^T;
 * if det W < 0, negate the last column of U.  W x = y holds because the
 * only non-zero singular value pairs u_1 = +-y with v_1 = +-x; the rest of
 * U and V are arbitrary orthonormal completions, so W is fixed only on x.
 */
int
rq_rotation_svd(double *R, const double *x, const double *y, size_t d)
{
	gsl_vector *xu = NULL, *yu = NULL, *S = NULL, *work = NULL;
	gsl_matrix *U = NULL, *V = NULL, *LU = NULL;
	gsl_permutation *p = NULL;
	gsl_matrix_view Rv;
	int rc, sig;

	if (d < 2)
		return RQ_EINVAL;
	xu = gsl_vector_alloc(d);
	yu = gsl_vector_alloc(d);
	S = gsl_vector_alloc(d);
	work = gsl_vector_alloc(d);
	U = gsl_matrix_calloc(d, d);
	V = gsl_matrix_alloc(d, d);
	LU = gsl_matrix_alloc(d, d);
	p = gsl_permutation_alloc(d);
	if (!xu || !yu || !S || !work || !U || !V || !LU || !p) {
		rc = RQ_ENOMEM;
		goto out;
	}
	if ((rc = unit(xu, x, d)) != RQ_OK || (rc = unit(yu, y, d)) != RQ_OK)
		goto out;
	gsl_blas_dger(1, yu, xu, U);	/* U <- M = y x^T */
	if (gsl_linalg_SV_decomp(U, V, S, work) != GSL_SUCCESS) {
		rc = RQ_ENUM;
		goto out;
	}
	Rv = gsl_matrix_view_array(R, d, d);
	for (int pass = 0; pass < 2; pass++) {
		double det;

		gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1, U, V, 0,
		    &Rv.matrix);
		gsl_matrix_memcpy(LU, &Rv.matrix);
		gsl_linalg_LU_decomp(LU, p, &sig);
		det = gsl_linalg_LU_det(LU, sig);
		if (det >= 0)
			break;
		{
			gsl_vector_view col = gsl_matrix_column(U, d - 1);

			gsl_vector_scale(&col.vector, -1);
		}
	}
	rc = RQ_OK;
out:
	if (xu)
		gsl_vector_free(xu);
	if (yu)
		gsl_vector_free(yu);
	if (S)
		gsl_vector_free(S);
	if (work)
		gsl_vector_free(work);
	if (U)
		gsl_matrix_free(U);
	if (V)
		gsl_matrix_free(V);
	if (LU)
		gsl_matrix_free(LU);
	if (p)
		gsl_permutation_free(p);
	return rc;
}

/*
 * alpha = (1 + tanh(-rho air)) / 2 (the weight on audio),
 * t = alpha eka/|eka| + (1 - alpha) ekv/|ekv|, qb = t |eq| / |t|.
 * RQ_EINVAL for a zero eq, eka, ekv or t; RQ_ENUM for NaN/Inf.
 */
int
rq_rollingq_anchor(double *qb, double *alpha, const double *eq,
    const double *eka, const double *ekv, double air, double rho, size_t d)
{
	gsl_vector_view qv = gsl_vector_view_array(qb, d);
	gsl_vector *a = NULL, *v = NULL;
	gsl_vector_const_view ev = gsl_vector_const_view_array(eq, d);
	double al, nq, nt;
	int rc;

	if (d == 0)
		return RQ_EINVAL;
	if (!isfinite(air) || !isfinite(rho))
		return RQ_ENUM;
	a = gsl_vector_alloc(d);
	v = gsl_vector_alloc(d);
	if (a == NULL || v == NULL) {
		rc = RQ_ENOMEM;
		goto out;
	}
	if ((rc = unit(a, eka, d)) != RQ_OK || (rc = unit(v, ekv, d)) != RQ_OK)
		goto out;
	for (size_t i = 0; i < d; i++)
		if (!isfinite(eq[i])) {
			rc = RQ_ENUM;
			goto out;
		}
	nq = gsl_blas_dnrm2(&ev.vector);
	if (!(nq > 0)) {
		rc = RQ_EINVAL;
		goto out;
	}
	al = (1 + tanh(-rho * air)) / 2;
	gsl_vector_memcpy(&qv.vector, a);
	gsl_vector_scale(&qv.vector, al);
	gsl_blas_daxpy(1 - al, v, &qv.vector);
	nt = gsl_blas_dnrm2(&qv.vector);
	if (!(nt > 0)) {
		rc = RQ_EINVAL;
		goto out;
	}
	gsl_vector_scale(&qv.vector, nq / nt);
	if (alpha)
		*alpha = al;
	rc = RQ_OK;
out:
	if (a)
		gsl_vector_free(a);
	if (v)
		gsl_vector_free(v);
	return rc;
}

int
rq_rotation_compose(double *Rtotal, const double *Rnew, size_t d)
{
	double *tmp;

	if (d == 0)
		return RQ_EINVAL;
	if (d > SIZE_MAX / sizeof(double) / d)
		return RQ_ERANGE;
	if ((tmp = malloc(d * sizeof(double))) == NULL)
		return RQ_ENOMEM;
	/* column by column, each sum in k order (no BLAS blocking): the
	 * same bits on every machine and in every program */
	for (size_t j = 0; j < d; j++) {
		for (size_t i = 0; i < d; i++) {
			double s = 0;
			for (size_t k = 0; k < d; k++)
				s += Rnew[i * d + k] * Rtotal[k * d + j];
			tmp[i] = s;
		}
		for (size_t i = 0; i < d; i++)
			Rtotal[i * d + j] = tmp[i];
	}
	free(tmp);
	return RQ_OK;
}

/* out[n,d] = v[n,d] R^T */
void
rq_rotation_apply(double *out, const double *R, const double *v, size_t n,
    size_t d)
{
	if (n == 0 || d == 0)
		return;
	gsl_matrix_const_view vv = gsl_matrix_const_view_array(v, n, d);
	gsl_matrix_const_view rv = gsl_matrix_const_view_array(R, d, d);
	gsl_matrix_view ov = gsl_matrix_view_array(out, n, d);

	gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1, &vv.matrix, &rv.matrix, 0,
	    &ov.matrix);
}

/* the same in float, accumulated in double */
void
rq_rotation_apply_f32(float *out, const double *R, const float *v, size_t n,
    size_t d)
{
	for (size_t i = 0; i < n; i++) {
		const float *vi = v + i * d;

		for (size_t j = 0; j < d; j++) {
			const double *rj = R + j * d;
			double acc = 0;

			for (size_t k = 0; k < d; k++)
				acc += rj[k] * vi[k];
			out[i * d + j] = (float)acc;
		}
	}
}
