/*
 * rng.c: xoshiro256** seeded through splitmix64; every random draw in rq
 * comes from an rq_rng so one seed fixes a run.  The state is four u64
 * words and can be saved in a checkpoint and restored; the all-zero
 * state is xoshiro's one fixed point (it gives zeros for ever) and is
 * refused by rq_rng_set, the only way a saved state should come back.
 */
#include <math.h>

#include "rq.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
rq_rng_seed(rq_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	r->has_spare = 0;
	r->spare = 0;
}

/*
 * Restore a saved state (four words from a checkpoint, say).  RQ_EINVAL
 * and r untouched when the words are all zero (the generator would be
 * stuck at zero and rq_rng_below would never return) or the cached
 * normal is not finite.
 */
int
rq_rng_set(rq_rng *r, const uint64_t s[4], int has_spare, double spare)
{
	if ((s[0] | s[1] | s[2] | s[3]) == 0 ||
	    (has_spare && !isfinite(spare)) || has_spare < 0 || has_spare > 1)
		return RQ_EINVAL;
	for (int i = 0; i < 4; i++)
		r->s[i] = s[i];
	r->has_spare = has_spare;
	r->spare = has_spare ? spare : 0;
	return RQ_OK;
}

/* RQ_OK when r can draw: a state rq_rng_set would accept */
int
rq_rng_check(const rq_rng *r)
{
	rq_rng t;

	return rq_rng_set(&t, r->s, r->has_spare, r->spare);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
rq_rng_next(rq_rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* uniform in [0, 1) with 53 random bits */
double
rq_rng_uniform(rq_rng *r)
{
	return (double)(rq_rng_next(r) >> 11) * 0x1.0p-53;
}

/*
 * Uniform integer in [0, n) without modulo bias; n > 0.  A state written
 * into r->s behind rq_rng_set's back can be all zero: then every draw is
 * 0 < lim and the loop would never end, so that state returns 0 at once.
 */
uint64_t
rq_rng_below(rq_rng *r, uint64_t n)
{
	uint64_t lim = -n % n, x;

	do {
		x = rq_rng_next(r);
		if (x < lim && (r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
			return 0;
	} while (x < lim);
	return x % n;
}

/* standard normal, Marsaglia polar method (pairs cached) */
double
rq_rng_normal(rq_rng *r)
{
	double u, v, s;

	if (r->has_spare) {
		r->has_spare = 0;
		return r->spare;
	}
	do {
		u = 2 * rq_rng_uniform(r) - 1;
		v = 2 * rq_rng_uniform(r) - 1;
		s = u * u + v * v;
		/* the all-zero state draws u = v = -1 for ever */
		if (s == 2 && (r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
			return 0;
	} while (s >= 1 || s == 0);
	s = sqrt(-2 * log(s) / s);
	r->spare = v * s;
	r->has_spare = 1;
	return u * s;
}

/* Fisher-Yates shuffle of idx[0..n) */
void
rq_rng_shuffle(rq_rng *r, int64_t *idx, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rq_rng_below(r, i);
		int64_t t = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}
