/* test_rng.c: the seeded generator every random draw in rq goes through. */
#include <criterion/criterion.h>
#include <math.h>

#include "rq.h"

Test(rng, same_seed_same_sequence)
{
	rq_rng a, b, c;

	rq_rng_seed(&a, 42);
	rq_rng_seed(&b, 42);
	rq_rng_seed(&c, 43);
	int differ = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = rq_rng_next(&a);
		cr_assert_eq(x, rq_rng_next(&b));
		differ += x != rq_rng_next(&c);
	}
	cr_assert_gt(differ, 990);
}

/* xoshiro256** reference: state {1,2,3,4} gives 11520 first (Vigna's
 * xoshiro256starstar.c: rotl(2 * 5, 7) * 9 = 1280 * 9) */
Test(rng, reference_first_output)
{
	rq_rng r = {{1, 2, 3, 4}, 0, 0};

	cr_assert_eq(rq_rng_next(&r), 11520u);
	cr_assert_eq(rq_rng_next(&r), 0u);
	cr_assert_eq(rq_rng_next(&r), 1509978240u);
}

Test(rng, moments)
{
	rq_rng r;
	double su = 0, sn = 0, sn2 = 0;
	const int n = 200000;

	rq_rng_seed(&r, 7);
	for (int i = 0; i < n; i++) {
		double u = rq_rng_uniform(&r), z = rq_rng_normal(&r);
		cr_assert(u >= 0 && u < 1);
		su += u;
		sn += z;
		sn2 += z * z;
	}
	/* 5 standard errors */
	cr_assert_lt(fabs(su / n - 0.5), 5 * sqrt(1.0 / 12 / n));
	cr_assert_lt(fabs(sn / n), 5 / sqrt(n));
	cr_assert_lt(fabs(sn2 / n - 1), 5 * sqrt(2.0 / n));
}

Test(rng, below_and_shuffle)
{
	rq_rng r;
	int64_t idx[100];
	int seen[100] = {0}, hist[3] = {0};

	rq_rng_seed(&r, 1);
	for (int i = 0; i < 30000; i++) {
		uint64_t k = rq_rng_below(&r, 3);
		cr_assert_lt(k, 3u);
		hist[k]++;
	}
	for (int k = 0; k < 3; k++)
		cr_assert_lt(abs(hist[k] - 10000), 500);
	for (int i = 0; i < 100; i++)
		idx[i] = i;
	rq_rng_shuffle(&r, idx, 100);
	int moved = 0;
	for (int i = 0; i < 100; i++) {
		seen[idx[i]]++;
		moved += idx[i] != i;
	}
	for (int i = 0; i < 100; i++)
		cr_assert_eq(seen[i], 1);
	cr_assert_gt(moved, 80);
}
