/* util.c: strict number parsing and program start/finish helpers. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "rq.h"

/* whole-string integer in [lo, hi]; 0 or -1 */
int
rq_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* whole-string finite double; 0 or -1 */
int
rq_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int
rq_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Library errors are reported by status, never by GSL's abort. */
void
rq_progname_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gsl_set_error_handler_off();
}

/*
 * Close stdout; -1 with errno set if any write to it failed.  A broken
 * pipe is a failure too: with SIGPIPE at its default a writer to a closed
 * pipe dies of the signal before it gets here (the quiet Unix way), so
 * EPIPE is only seen when SIGPIPE is ignored, and then data was lost.
 */
int
rq_finish_stdout(void)
{
	int bad = ferror(stdout), e;	/* an earlier write may have failed */

	errno = 0;
	if (fclose(stdout) != 0)
		return -1;
	if (bad) {
		e = errno;
		errno = e ? e : EIO;
		return -1;
	}
	return 0;
}
