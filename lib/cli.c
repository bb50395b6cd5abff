/*
 * cli.c: what every program's command line shares: the program's name in
 * getopt's messages, the version string, strict number and range
 * parsing, and the refusal to write a binary stream to a terminal.
 * Nothing here prints or exits; the programs do.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

#ifndef RQ_RELEASE
#define RQ_RELEASE "0.0.0"
#endif
#ifndef RQ_COMMIT
#define RQ_COMMIT "unknown"
#endif

/*
 * getopt(3) names argv[0] in its messages, which is the path typed
 * ("./bin/rq-cat"); err(3) already uses the last component.  Make both
 * say "rq-cat".
 */
void
rq_cli_init(int argc, char **argv)
{
	char *slash;

	if (argc > 0 && argv[0] != NULL && (slash = strrchr(argv[0], '/')) &&
	    slash[1] != '\0')
		argv[0] = slash + 1;
	rq_progname_init(argc, argv);
}

/* "VERSION (COMMIT)", set by the Makefile */
const char *
rq_cli_version(void)
{
	return RQ_RELEASE " (" RQ_COMMIT ")";
}

/*
 * "x" or "lo:hi", two finite numbers with lo <= hi.  Returns 0 for a single
 * number (*lo = *hi = x), 1 for a range, -1 when s is neither.
 */
int
rq_cli_range(const char *s, double *lo, double *hi)
{
	char buf[128], *colon;
	double a, b;

	if (s == NULL || strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	if ((colon = strchr(buf, ':')) == NULL) {
		if (rq_parse_double(buf, &a) != 0)
			return -1;
		*lo = *hi = a;
		return 0;
	}
	*colon = '\0';
	if (rq_parse_double(buf, &a) != 0 || rq_parse_double(colon + 1, &b)
	    != 0 || b < a)
		return -1;
	*lo = a;
	*hi = b;
	return 1;
}

/*
 * A binary stream is never written to a terminal (gzip refuses the same
 * way): 1 when path names standard output (NULL or "-") and standard
 * output is a terminal.  The program then says RQ_CLI_TTY_MSG and exits 1
 * before doing any work.
 */
int
rq_cli_stream_to_tty(const char *path)
{
	return (path == NULL || strcmp(path, "-") == 0) &&
	    isatty(STDOUT_FILENO);
}
