/*
 * bench.h: what the bench tools share, as static inline functions: the
 * clocks, sorting timings for their median, strict option numbers, the
 * default model's inputs, and writing the loss and gradients of a step.
 * Include it after "rq.h".
 */
#ifndef BENCH_H
#define BENCH_H

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* rq_model_cfg_defaults with rq-train's inputs on the synthetic set:
 * 10 classes, audio 40x32 in 10x8 patches (a quarter of each side), one
 * 28x28 frame in 7x7 patches */
static inline void
bench_cfg(rq_model_cfg *c)
{
	rq_model_cfg_defaults(c);
	c->classes = 10;
	c->F = 40;
	c->T = 32;
	c->C = 1;
	c->H = c->W = 28;
	c->pf = 10;
	c->pt = 8;
	c->ph = c->pw = 7;
}

/* one record to o; exit 1 if it cannot be made or written */
static inline void
bench_put(rq_stream *o, const char *name, int dtype, int ndim,
    const uint64_t *dims, const void *data)
{
	rq_tensor t;

	rq_tensor_init(&t);
	if (rq_tensor_alloc(&t, dtype, ndim, dims) != RQ_OK ||
	    rq_tensor_set_name(&t, name) != RQ_OK)
		errx(1, "out of memory");
	memcpy(t.data, data, t.nbytes);
	if (rq_tensor_write(o, &t) != RQ_OK)
		errx(1, "%s", rq_stream_error(o));
	rq_tensor_free(&t);
}

/* to standard output: "loss" f64 [1], then "grad.<name>" f32 for every
 * parameter of m (bench/gradcheck.py reads them) */
static inline void
bench_put_grads(rq_model *m, double loss)
{
	rq_stream *o;
	uint64_t one = 1;

	if ((o = rq_stream_open("-", "w")) == NULL)
		err(1, "<stdout>");
	bench_put(o, "loss", RQ_F64, 1, &one, &loss);
	for (int i = 0; i < rq_model_ntable(m); i++) {
		const rq_param *p = rq_model_table(m, i);
		char nm[96];

		snprintf(nm, sizeof nm, "grad.%s", p->name);
		bench_put(o, nm, RQ_F32, p->ndim, p->dims, rq_model_grads(m) +
		    p->off);
	}
	if (rq_stream_close(o) != RQ_OK)
		errx(1, "<stdout>: cannot write");
}

#endif
