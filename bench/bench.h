/*
 * bench.h: what the bench tools share, as static inline functions: the
 * clocks, sorting timings for their median, strict option numbers.
 * Include it after "rq.h".
 */
#ifndef BENCH_H
#define BENCH_H

#include <err.h>
#include <stdlib.h>
#include <time.h>

#include "rq.h"

/* seconds on clock id */
static inline double
bench_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* wall-clock seconds */
static inline double
bench_now(void)
{
	return bench_clock(CLOCK_MONOTONIC);
}

/* CPU seconds of this process, of this thread */
static inline double
bench_cpu(void)
{
	return bench_clock(CLOCK_PROCESS_CPUTIME_ID);
}

static inline double
bench_tcpu(void)
{
	return bench_clock(CLOCK_THREAD_CPUTIME_ID);
}

static inline int
bench_cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* sort t[n] ascending: t[n / 2] is then the median (the upper one for
 * even n), t[0] the least */
static inline void
bench_sort(double *t, size_t n)
{
	qsort(t, n, sizeof t[0], bench_cmpd);
}

/* the number s given to option -opt, in [lo, hi]; exit 2 if it is not */
static inline long
bench_num(const char *s, long lo, long hi, int opt)
{
	long v;

	if (rq_parse_long(s, lo, hi, &v) != RQ_OK)
		errx(2, "-%c: bad number: %s", opt, s);
	return v;
}

#endif
