/*
 * test_rotate.c: RollingQ rotations, anchor and AIR (lib/rotate.c,
 * lib/air.c).  Checks use code paths independent of the library: plain
 * loops for products, GSL LU for determinants, closed forms worked by hand
 * in 2-d.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_permutation.h>

#include "rq.h"

static const size_t dims[] = {2, 3, 4, 5, 17, 64, 255, 768};
#define NDIMS (sizeof dims / sizeof dims[0])

static double *
vec(size_t n)
{
	double *p = calloc(n, sizeof *p);

	cr_assert_not_null(p);
	return p;
}

static void
randn(rq_rng *r, double *v, size_t d)
{
	for (size_t i = 0; i < d; i++)
		v[i] = rq_rng_normal(r);
}

static double
dot(const double *a, const double *b, size_t d)
{
	double s = 0;

	for (size_t i = 0; i < d; i++)
		s += a[i] * b[i];
	return s;
}

static void
normalize(double *a, size_t d)
{
	double n = sqrt(dot(a, a, d));

	for (size_t i = 0; i < d; i++)
		a[i] /= n;
}

/* y = R x by loops */
static void
matvec(double *y, const double *R, const double *x, size_t d)
{
	for (size_t i = 0; i < d; i++)
		y[i] = dot(R + i * d, x, d);
}

static double
maxdiff(const double *a, const double *b, size_t n)
{
	double m = 0;

	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs(a[i] - b[i]));
	return m;
}

static double
det(const double *R, size_t d)
{
	gsl_matrix *m = gsl_matrix_alloc(d, d);
	gsl_permutation *p = gsl_permutation_alloc(d);
	int sig;
	double v;

	memcpy(m->data, R, d * d * sizeof(double));
	gsl_linalg_LU_decomp(m, p, &sig);
	v = gsl_linalg_LU_det(m, sig);
	gsl_matrix_free(m);
	gsl_permutation_free(p);
	return v;
}

/* max |R^T R - I|; above d = 256 only every 11th column j, for time */
static double
orth_err(const double *R, size_t d)
{
	double m = 0;
	size_t step = d > 256 ? 11 : 1;

	for (size_t i = 0; i < d; i++)
		for (size_t j = i % step; j < d; j += step) {
			double s = 0;

			for (size_t k = 0; k < d; k++)
				s += R[k * d + i] * R[k * d + j];
			m = fmax(m, fabs(s - (i == j)));
		}
	return m;
}

/* R unit(x) = unit(y), orthogonal, det 1; tol scaled by d */
static void
check_rotation(const double *R, const double *x, const double *y, size_t d,
    double tol)
{
	double *xu = vec(d), *yu = vec(d), *rx = vec(d);

	memcpy(xu, x, d * sizeof *xu);
	memcpy(yu, y, d * sizeof *yu);
	normalize(xu, d);
	normalize(yu, d);
	matvec(rx, R, xu, d);
	cr_assert_lt(maxdiff(rx, yu, d), tol, "d=%zu: |R x - y| = %g", d,
	    maxdiff(rx, yu, d));
	cr_assert_lt(orth_err(R, d), tol, "d=%zu: |R^T R - I| = %g", d,
	    orth_err(R, d));
	cr_assert_lt(fabs(det(R, d) - 1), tol * d, "d=%zu: det = %.17g", d,
	    det(R, d));
	free(xu);
	free(yu);
	free(rx);
}

/* R z = z for z orthogonal to a and b (random, Gram-Schmidt by hand) */
static void
check_complement(const double *R, const double *a, const double *b,
    size_t d, rq_rng *r, double tol)
{
	double *e1 = vec(d), *e2 = vec(d), *z = vec(d), *rz = vec(d);
	double p;

	if (d < 3)
		goto done;
	memcpy(e1, a, d * sizeof *e1);
	normalize(e1, d);
	memcpy(e2, b, d * sizeof *e2);
	p = dot(e1, e2, d);
	for (size_t i = 0; i < d; i++)
		e2[i] -= p * e1[i];
	normalize(e2, d);
	for (int trial = 0; trial < 3; trial++) {
		randn(r, z, d);
		for (int pass = 0; pass < 2; pass++) {
			double p1 = dot(z, e1, d), p2 = dot(z, e2, d);

			for (size_t i = 0; i < d; i++)
				z[i] -= p1 * e1[i] + p2 * e2[i];
		}
		matvec(rz, R, z, d);
		cr_assert_lt(maxdiff(rz, z, d), tol, "d=%zu: |R z - z| = %g",
		    d, maxdiff(rz, z, d));
	}
done:
	free(e1);
	free(e2);
	free(z);
	free(rz);
}

Test(rotate, plane_random)
{
	rq_rng r;

	rq_rng_seed(&r, 1);
	for (size_t k = 0; k < NDIMS; k++) {
		size_t d = dims[k];
		double *x = vec(d), *y = vec(d), *R = vec(d * d);

		randn(&r, x, d);
		randn(&r, y, d);
		for (size_t i = 0; i < d; i++)
			y[i] *= 3.5;	/* norms need not match */
		cr_assert_eq(rq_rotation_plane(R, x, y, d), RQ_OK);
		check_rotation(R, x, y, d, 1e-12);
		check_complement(R, x, y, d, &r, 1e-12);
		free(x);
		free(y);
		free(R);
	}
}

/* 2-d: x = e1, y = (cos t, sin t) gives [[c, -s], [s, c]] by hand */
Test(rotate, plane_2d_by_hand)
{
	for (double t = -3.0; t <= 3.0; t += 0.5) {
		double x[2] = {2, 0}, y[2] = {cos(t) * 7, sin(t) * 7}, R[4];
		double want[4] = {cos(t), -sin(t), sin(t), cos(t)};

		cr_assert_eq(rq_rotation_plane(R, x, y, 2), RQ_OK);
		cr_assert_lt(maxdiff(R, want, 4), 1e-14, "t=%g", t);
	}
}

Test(rotate, plane_parallel_and_antiparallel)
{
	rq_rng r;

	rq_rng_seed(&r, 2);
	for (size_t k = 0; k < NDIMS; k++) {
		size_t d = dims[k];
		double *x = vec(d), *y = vec(d), *R = vec(d * d), *I = vec(d * d);
		double *e = vec(d);
		size_t kmin = 0;

		for (size_t i = 0; i < d; i++)
			I[i * d + i] = 1;
		randn(&r, x, d);
		/* exactly parallel, other length: identity */
		for (size_t i = 0; i < d; i++)
			y[i] = 2.5 * x[i];
		cr_assert_eq(rq_rotation_plane(R, x, y, d), RQ_OK);
		cr_assert_lt(maxdiff(R, I, d * d), 1e-15, "d=%zu", d);
		/* near parallel */
		for (size_t i = 0; i < d; i++)
			y[i] = x[i] + 1e-9 * rq_rng_normal(&r);
		cr_assert_eq(rq_rotation_plane(R, x, y, d), RQ_OK);
		check_rotation(R, x, y, d, 1e-12);
		check_complement(R, x, y, d, &r, 1e-12);
		/* exactly antiparallel: pi in span{x, e_k}, k = argmin |x_k| */
		for (size_t i = 0; i < d; i++) {
			y[i] = -0.5 * x[i];
			if (fabs(x[i]) < fabs(x[kmin]))
				kmin = i;
		}
		cr_assert_eq(rq_rotation_plane(R, x, y, d), RQ_OK);
		check_rotation(R, x, y, d, 1e-12);
		e[kmin] = 1;
		check_complement(R, x, e, d, &r, 1e-12);
		/* e_k lies in the plane of the half turn: R e_k = -e_k */
		{
			double *re = vec(d);

			matvec(re, R, e, d);
			for (size_t i = 0; i < d; i++)
				re[i] = -re[i];
			cr_assert_lt(maxdiff(re, e, d), 1e-12, "d=%zu", d);
			free(re);
		}
		/* near antiparallel */
		for (size_t i = 0; i < d; i++)
			y[i] = -x[i] + 1e-9 * rq_rng_normal(&r);
		cr_assert_eq(rq_rotation_plane(R, x, y, d), RQ_OK);
		check_rotation(R, x, y, d, 1e-12);
		free(x);
		free(y);
		free(R);
		free(I);
		free(e);
	}
}

Test(rotate, plane_bad_input)
{
	double x[3] = {1, 2, 3}, z[3] = {0, 0, 0}, R[9];
	double nan3[3] = {1, NAN, 0};

	cr_assert_eq(rq_rotation_plane(R, z, x, 3), RQ_EINVAL);
	cr_assert_eq(rq_rotation_plane(R, x, z, 3), RQ_EINVAL);
	cr_assert_eq(rq_rotation_plane(R, x, x, 1), RQ_EINVAL);
	cr_assert_eq(rq_rotation_plane(R, x, x, 0), RQ_EINVAL);
	cr_assert_neq(rq_rotation_plane(R, x, nan3, 3), RQ_OK);
	cr_assert_eq(rq_rotation_svd(R, z, x, 3), RQ_EINVAL);
	cr_assert_eq(rq_rotation_svd(R, x, x, 1), RQ_EINVAL);
}

/* composition: Rtotal <- Rnew Rtotal means Rtotal acts first */
Test(rotate, compose_order)
{
	rq_rng r;

	rq_rng_seed(&r, 3);
	for (size_t k = 0; k < NDIMS; k++) {
		size_t d = dims[k];
		double *a = vec(d), *b = vec(d), *c = vec(d);
		double *R1 = vec(d * d), *R2 = vec(d * d), *T = vec(d * d);
		double *out = vec(d), *tmp = vec(d), *want = vec(d * d);

		randn(&r, a, d);
		randn(&r, b, d);
		randn(&r, c, d);
		cr_assert_eq(rq_rotation_plane(R1, a, b, d), RQ_OK);
		cr_assert_eq(rq_rotation_plane(R2, b, c, d), RQ_OK);
		memcpy(T, R1, d * d * sizeof *T);
		cr_assert_eq(rq_rotation_compose(T, R2, d), RQ_OK);
		/* T a = unit(c) |a| / ... : compare unit vectors */
		matvec(out, T, a, d);
		normalize(out, d);
		normalize(c, d);
		cr_assert_lt(maxdiff(out, c, d), 1e-12, "d=%zu", d);
		/* T = R2 R1 by loops */
		for (size_t i = 0; i < d; i++)
			for (size_t j = 0; j < d; j++) {
				double s = 0;

				for (size_t l = 0; l < d; l++)
					s += R2[i * d + l] * R1[l * d + j];
				want[i * d + j] = s;
			}
		cr_assert_lt(maxdiff(T, want, d * d), 1e-12, "d=%zu", d);
		check_rotation(T, a, c, d, 1e-12);
		/* the other order does not map a to c (d >= 3, generic) */
		if (d >= 3) {
			memcpy(T, R2, d * d * sizeof *T);
			cr_assert_eq(rq_rotation_compose(T, R1, d), RQ_OK);
			matvec(tmp, T, a, d);
			normalize(tmp, d);
			cr_assert_gt(maxdiff(tmp, c, d), 1e-3, "d=%zu", d);
		}
		free(a);
		free(b);
		free(c);
		free(R1);
		free(R2);
		free(T);
		free(out);
		free(tmp);
		free(want);
	}
}

/* row-vector form: out = v R^T, i.e. out_i = R v_i */
Test(rotate, apply_rows)
{
	rq_rng r;
	size_t d = 17, n = 5;
	double *x = vec(d), *y = vec(d), *R = vec(d * d), *v = vec(n * d);
	double *out = vec(n * d), *want = vec(d);
	float *vf = calloc(n * d, sizeof *vf), *of = calloc(n * d, sizeof *of);

	rq_rng_seed(&r, 4);
	randn(&r, x, d);
	randn(&r, y, d);
	randn(&r, v, n * d);
	for (size_t i = 0; i < n * d; i++)
		vf[i] = (float)v[i];
	cr_assert_eq(rq_rotation_plane(R, x, y, d), RQ_OK);
	rq_rotation_apply(out, R, v, n, d);
	rq_rotation_apply_f32(of, R, vf, n, d);
	for (size_t i = 0; i < n; i++) {
		matvec(want, R, v + i * d, d);
		cr_assert_lt(maxdiff(out + i * d, want, d), 1e-13);
		for (size_t j = 0; j < d; j++)
			cr_assert_float_eq(of[i * d + j], want[j], 1e-5);
	}
	free(x);
	free(y);
	free(R);
	free(v);
	free(out);
	free(want);
	free(vf);
	free(of);
}

/* the authors' SVD form maps x to y and is a rotation */
Test(rotate, svd_form)
{
	rq_rng r;
	static const size_t sd[] = {2, 3, 5, 17, 64, 200};

	rq_rng_seed(&r, 5);
	for (size_t k = 0; k < sizeof sd / sizeof sd[0]; k++) {
		size_t d = sd[k];
		double *x = vec(d), *y = vec(d), *R = vec(d * d);

		randn(&r, x, d);
		randn(&r, y, d);
		cr_assert_eq(rq_rotation_svd(R, x, y, d), RQ_OK);
		check_rotation(R, x, y, d, 1e-10);
		/* antiparallel too */
		for (size_t i = 0; i < d; i++)
			y[i] = -x[i];
		cr_assert_eq(rq_rotation_svd(R, x, y, d), RQ_OK);
		check_rotation(R, x, y, d, 1e-10);
		free(x);
		free(y);
		free(R);
	}
}

/*
 * Anchor in 2-d worked by hand: eka along e1, ekv along e2,
 * alpha = 1 / (1 + exp(2 rho AIR)) (the logistic form of
 * (1 + tanh(-z)) / 2), qb = |eq| (alpha, 1 - alpha) / |(alpha, 1 - alpha)|.
 */
Test(rotate, anchor_by_hand)
{
	double eq[2] = {3, -4}, eka[2] = {2, 0}, ekv[2] = {0, 0.25};
	double qb[2], alpha;
	static const double rhos[] = {0, 0.5, 1, 3};
	static const double airs[] = {-1.5, -0.2, 0, 0.3, 1.9};

	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 5; j++) {
			double rho = rhos[i], air = airs[j];
			double a = 1 / (1 + exp(2 * rho * air));
			double n = hypot(a, 1 - a);

			cr_assert_eq(rq_rollingq_anchor(qb, &alpha, eq, eka, ekv,
			    air, rho, 2), RQ_OK);
			cr_assert_float_eq(alpha, a, 1e-14);
			cr_assert_float_eq(qb[0], 5 * a / n, 1e-13);
			cr_assert_float_eq(qb[1], 5 * (1 - a) / n, 1e-13);
		}
	/* rho = 0: alpha = 1/2, the bisector (1, 1) |eq| / sqrt 2 */
	cr_assert_eq(rq_rollingq_anchor(qb, &alpha, eq, eka, ekv, 1.2, 0, 2),
	    RQ_OK);
	cr_assert_eq(alpha, 0.5);
	cr_assert_float_eq(qb[0], 5 / sqrt(2), 1e-14);
	cr_assert_float_eq(qb[1], 5 / sqrt(2), 1e-14);
	/* AIR > 0 (audio favoured), rho > 0: alpha < 1/2, toward visual */
	cr_assert_eq(rq_rollingq_anchor(qb, &alpha, eq, eka, ekv, 0.7, 1, 2),
	    RQ_OK);
	cr_assert_lt(alpha, 0.5);
	cr_assert_gt(qb[1], qb[0]);
	cr_assert_eq(rq_rollingq_anchor(qb, &alpha, eq, eka, ekv, -0.7, 1, 2),
	    RQ_OK);
	cr_assert_gt(alpha, 0.5);
	cr_assert_gt(qb[0], qb[1]);
}

Test(rotate, anchor_bad_input)
{
	double eq[2] = {3, -4}, z[2] = {0, 0}, a[2] = {1, 0}, b[2] = {-1, 0};
	double qb[2], alpha;

	cr_assert_eq(rq_rollingq_anchor(qb, &alpha, z, a, a, 0, 0, 2),
	    RQ_EINVAL);
	cr_assert_eq(rq_rollingq_anchor(qb, &alpha, eq, z, a, 0, 0, 2),
	    RQ_EINVAL);
	/* opposite key means and alpha = 1/2: t = 0 */
	cr_assert_eq(rq_rollingq_anchor(qb, &alpha, eq, a, b, 0, 0, 2),
	    RQ_EINVAL);
	cr_assert_eq(rq_rollingq_anchor(qb, &alpha, eq, a, b, NAN, 1, 2),
	    RQ_ENUM);
}

/* anchor then rotation: R unit(eq) = unit(qb), |R eq| = |qb| */
Test(rotate, anchor_then_rotate)
{
	rq_rng r;
	size_t d = 768;
	double *eq = vec(d), *ka = vec(d), *kv = vec(d), *qb = vec(d);
	double *R = vec(d * d), *rq = vec(d), alpha;

	rq_rng_seed(&r, 6);
	randn(&r, eq, d);
	randn(&r, ka, d);
	randn(&r, kv, d);
	cr_assert_eq(rq_rollingq_anchor(qb, &alpha, eq, ka, kv, 0.4, 2, d),
	    RQ_OK);
	cr_assert_float_eq(sqrt(dot(qb, qb, d)), sqrt(dot(eq, eq, d)), 1e-10);
	cr_assert_eq(rq_rotation_plane(R, eq, qb, d), RQ_OK);
	matvec(rq, R, eq, d);
	cr_assert_lt(maxdiff(rq, qb, d), 1e-10);
	free(eq);
	free(ka);
	free(kv);
	free(qb);
	free(R);
	free(rq);
}

/* AIR: hand values in 2-d and the sign convention */
Test(rotate, air_by_hand)
{
	float q[2] = {2, 0};
	float ka[4] = {1, 1, 3, 0};	/* cos 1/sqrt2, 1 */
	float kv[4] = {0, 2, -1, 0};	/* cos 0, -1 */
	double ca, cv, air, s[2], t[2];

	air = rq_air(q, ka, kv, 2, 2, &ca, &cv);
	cr_assert_float_eq(ca, (1 / sqrt(2) + 1) / 2, 1e-7);
	cr_assert_float_eq(cv, -0.5, 1e-7);
	cr_assert_float_eq(air, (1 / sqrt(2) + 1) / 2 + 0.5, 1e-7);
	rq_air_samples(s, t, q, ka, kv, 2, 2);
	cr_assert_float_eq(s[0], 1 / sqrt(2), 1e-7);
	cr_assert_float_eq(s[1], 1, 1e-7);
	cr_assert_float_eq(t[0], 0, 1e-7);
	cr_assert_float_eq(t[1], -1, 1e-7);
	cr_assert(isnan(rq_air(q, ka, kv, 0, 2, NULL, NULL)));
}

Test(rotate, air_sign)
{
	rq_rng r;
	size_t d = 64, n = 50;
	float *q = calloc(d, sizeof *q), *ka = calloc(n * d, sizeof *ka);
	float *kv = calloc(n * d, sizeof *kv);
	double air, air2, ca, cv, *s = vec(n), *t = vec(n), m = 0;

	rq_rng_seed(&r, 7);
	for (size_t j = 0; j < d; j++)
		q[j] = (float)rq_rng_normal(&r);
	/* audio keys near q, visual keys random: audio favoured */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++) {
			ka[i * d + j] = q[j] + 0.5f * (float)rq_rng_normal(&r);
			kv[i * d + j] = (float)rq_rng_normal(&r);
		}
	air = rq_air(q, ka, kv, n, d, &ca, &cv);
	cr_assert_gt(air, 0.5, "air=%g", air);
	cr_assert_gt(ca, cv);
	/* swap the modalities: the sign flips exactly */
	air2 = rq_air(q, kv, ka, n, d, NULL, NULL);
	cr_assert_float_eq(air2, -air, 1e-12);
	/* the aggregate is the mean of the per-sample form */
	rq_air_samples(s, t, q, ka, kv, n, d);
	for (size_t i = 0; i < n; i++)
		m += s[i] - t[i];
	cr_assert_float_eq(m / n, air, 1e-12);
	free(q);
	free(ka);
	free(kv);
	free(s);
	free(t);
}
