/*
 * allreduce: time the gradient allreduce of data-parallel training, for
 * bench/paper-size.sh.
 *
 * usage: mpirun -np N allreduce [-n floats] [-R repeats] [-w warmup]
 *
 * Every rank fills a buffer of -n floats (default 60460818: rq's Vanilla
 * MT at the paper's size) and sums it in place across the ranks with
 * rq_dist_sum_f32 -- the call rq-train-mpi makes once per batch -- -w
 * times untimed, then -R times timed, each from a barrier to a barrier
 * after it (so until the slowest rank is done).  Rank 0 prints one
 * key=value line: ranks, floats, MB, the median and minimum over the
 * repeats of that time (ms), and the bus bandwidth
 * 2 (N-1)/N * bytes / time (GB/s) a ring allreduce would need.
 *
 * Built by paper-size.sh with mpicc against lib/dist-mpi.o and librq.a,
 * as bin/rq-train-mpi is.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "rq.h"
#include "bench.h"

static void
usage(void)
{
	fprintf(stderr, "usage: allreduce [-n floats] [-R repeats] "
	    "[-w warmup]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	long n = 60460818, reps = 5, warm = 1;
	double t[64], t0, size;
	float *buf;
	int ch, rank;

	rq_progname_init(argc, argv);
	if (rq_dist_init(&argc, &argv) != RQ_OK)
		errx(1, "%s", rq_dist_error());
	while ((ch = getopt(argc, argv, "n:R:w:")) != -1) {
		switch (ch) {
		case 'n':
			n = bench_num(optarg, 1, 1L << 34, ch);
			break;
		case 'R':
			reps = bench_num(optarg, 1, 64, ch);
			break;
		case 'w':
			warm = bench_num(optarg, 0, 64, ch);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	rank = rq_dist_rank();
	size = rq_dist_size();
	if ((buf = malloc(sizeof(float) * (size_t)n)) == NULL)
		err(1, NULL);
	for (long i = 0; i < n; i++)
		buf[i] = (float)((i + rank) % 7) * 0.125f;
	for (long r = -warm; r < reps; r++) {
		if (rq_dist_barrier() != RQ_OK)
			errx(1, "%s", rq_dist_error());
		t0 = bench_now();
		if (rq_dist_sum_f32(buf, (size_t)n) != RQ_OK)
			errx(1, "%s", rq_dist_error());
		/* until the last rank is done: the step waits for it */
		if (rq_dist_barrier() != RQ_OK)
			errx(1, "%s", rq_dist_error());
		if (r >= 0)
			t[r] = bench_now() - t0;
	}
	bench_sort(t, (size_t)reps);
	if (rank == 0)
		printf("impl=rq-allreduce ranks=%.0f floats=%ld mb=%.1f "
		    "allreduce_ms=%.1f allreduce_min_ms=%.1f busbw_gbs=%.2f\n",
		    size, n, n * 4.0 / 1e6, t[reps / 2] * 1e3, t[0] * 1e3,
		    size > 1 ? 2.0 * (size - 1) / size * n * 4.0 /
		    t[reps / 2] / 1e9 : 0.0);
	free(buf);
	rq_dist_finalize();
	return rq_finish_stdout() == 0 ? 0 : 1;
}
