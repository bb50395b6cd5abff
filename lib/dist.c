/*
 * dist.c: data-parallel training over MPI.  A thin layer over the few MPI
 * calls rq-train needs, so the trainer has no #ifdef beyond its start-up.
 *
 * Built two ways from this one file:
 *   - without RQ_MPI (librq.a, the normal build): one process, rank 0 of
 *     size 1; reductions and broadcasts are no-ops, so a program written
 *     against rq_dist_* behaves exactly as the single-process program;
 *   - with RQ_MPI (compiled by mpicc into lib/dist-mpi.o and linked before
 *     librq.a into bin/rq-train-mpi): MPI_COMM_WORLD.
 * Both define the same symbols, so the object given first on the link
 * line wins and the archive's copy is never pulled in.
 *
 * Every collective must be called by every rank in the same order.  Sums
 * go through MPI_Allreduce in place; buffers longer than INT_MAX elements
 * are reduced in pieces.  The library never prints or exits: errors come
 * back as RQ_EIO with the MPI error string in rq_dist_error().
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#ifdef RQ_MPI
#include <mpi.h>
#endif

#include "rq.h"

#ifdef RQ_MPI
#define MPI_MAX_ERROR_STRING_RQ (MPI_MAX_ERROR_STRING + 64)
#else
#define MPI_MAX_ERROR_STRING_RQ 64
#endif

static int d_rank, d_size = 1, d_init;
static char d_err[MPI_MAX_ERROR_STRING_RQ];

const char *
rq_dist_error(void)
{
	return d_err;
}

int
rq_dist_rank(void)
{
	return d_rank;
}

int
rq_dist_size(void)
{
	return d_size;
}

int
rq_dist_enabled(void)
{
#ifdef RQ_MPI
	return 1;
#else
	return 0;
#endif
}

/* rank r's part [*off, *off + *cnt) of n items split as evenly as possible
 * into size contiguous parts, the first n % size parts one larger */
void
rq_dist_part(size_t n, int rank, int size, size_t *off, size_t *cnt)
{
	size_t q, r, k;

	if (size < 1)
		size = 1;
	q = n / (size_t)size;
	r = n % (size_t)size;
	k = (size_t)rank;
	*cnt = q + (k < r);
	*off = k * q + (k < r ? k : r);
}

#ifdef RQ_MPI

static int
mpi_fail(int rc, const char *what)
{
	char s[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS)
		snprintf(s, sizeof s, "error %d", rc);
	snprintf(d_err, sizeof d_err, "%s: %s", what, s);
	return RQ_EIO;
}

int
rq_dist_init(int *argc, char ***argv)
{
	int rc, inited = 0;

	MPI_Initialized(&inited);
	if (!inited && (rc = MPI_Init(argc, argv)) != MPI_SUCCESS)
		return mpi_fail(rc, "MPI_Init");
	/* errors come back to us as codes instead of aborting the job */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, &d_rank)) != MPI_SUCCESS ||
	    (rc = MPI_Comm_size(MPI_COMM_WORLD, &d_size)) != MPI_SUCCESS)
		return mpi_fail(rc, "MPI_Comm_rank");
	d_init = 1;
	return RQ_OK;
}

void
rq_dist_finalize(void)
{
	int fin = 0;

	if (!d_init)
		return;
	MPI_Finalized(&fin);
	if (!fin)
		MPI_Finalize();
	d_init = 0;
}

static int
allreduce(void *buf, size_t n, MPI_Datatype t, size_t esz, MPI_Op op)
{
	char *p = buf;
	int rc;

	if (d_size == 1)
		return RQ_OK;
	while (n > 0) {
		int k = n > (size_t)INT_MAX ? INT_MAX : (int)n;
		if ((rc = MPI_Allreduce(MPI_IN_PLACE, p, k, t, op,
		    MPI_COMM_WORLD)) != MPI_SUCCESS)
			return mpi_fail(rc, "MPI_Allreduce");
		p += (size_t)k * esz;
		n -= (size_t)k;
	}
	return RQ_OK;
}

int
rq_dist_sum_f32(float *buf, size_t n)
{
	return allreduce(buf, n, MPI_FLOAT, sizeof *buf, MPI_SUM);
}

int
rq_dist_sum_f64(double *buf, size_t n)
{
	return allreduce(buf, n, MPI_DOUBLE, sizeof *buf, MPI_SUM);
}

int
rq_dist_max_int(int *v)
{
	return allreduce(v, 1, MPI_INT, sizeof *v, MPI_MAX);
}

int
rq_dist_bcast(void *buf, size_t nbytes, int root)
{
	char *p = buf;
	int rc;

	if (d_size == 1)
		return RQ_OK;
	while (nbytes > 0) {
		int k = nbytes > (size_t)INT_MAX ? INT_MAX : (int)nbytes;
		if ((rc = MPI_Bcast(p, k, MPI_BYTE, root, MPI_COMM_WORLD)) !=
		    MPI_SUCCESS)
			return mpi_fail(rc, "MPI_Bcast");
		p += k;
		nbytes -= (size_t)k;
	}
	return RQ_OK;
}

int
rq_dist_barrier(void)
{
	int rc;

	if (d_size > 1 && (rc = MPI_Barrier(MPI_COMM_WORLD)) != MPI_SUCCESS)
		return mpi_fail(rc, "MPI_Barrier");
	return RQ_OK;
}

#else /* one process */

int
rq_dist_init(int *argc, char ***argv)
{
	d_rank = 0;
	d_size = 1;
	d_init = 1;
	return RQ_OK;
}

void
rq_dist_finalize(void)
{
	d_init = 0;
}

int
rq_dist_sum_f32(float *buf, size_t n)
{
	return RQ_OK;
}

int
rq_dist_sum_f64(double *buf, size_t n)
{
	return RQ_OK;
}

int
rq_dist_max_int(int *v)
{
	return RQ_OK;
}

int
rq_dist_bcast(void *buf, size_t nbytes, int root)
{
	return RQ_OK;
}

int
rq_dist_barrier(void)
{
	return RQ_OK;
}

#endif /* RQ_MPI */
