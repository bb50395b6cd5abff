/*
 * fuzz_manifest.c: libFuzzer target for the CSV manifest parser of
 * rq-extract(1), "path[;path...],label,split" lines.  The parser is a
 * static function of bin/rq-extract.c that reports by errx(3), so the
 * program is included here with main renamed and err/errx turned into a
 * longjmp back to the target (which must see exactly one line).
 */
#include "memfile.h"

#include <err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

static jmp_buf fuzz_jb;
static char fuzz_msg[512];
static FILE *fuzz_fp;	/* the parser's stream, closed after an errx */

static char **fuzz_line;	/* its getline buffer */
static void *fuzz_items;	/* its item array */
static char *fuzz_dups[1 << 16];	/* its strdup'ed paths */
static size_t fuzz_ndups;

static FILE *
fuzz_fopen(const char *path, const char *mode)
{
	return fuzz_fp = fopen(path, mode);
}

static ssize_t
fuzz_getline(char **line, size_t *cap, FILE *fp)
{
	fuzz_line = line;
	return getline(line, cap, fp);
}

static void *
fuzz_realloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q != NULL)
		fuzz_items = q;
	return q;
}

static char *
fuzz_strdup(const char *s)
{
	char *d = strdup(s);

	if (d != NULL && fuzz_ndups < sizeof fuzz_dups / sizeof *fuzz_dups)
		fuzz_dups[fuzz_ndups++] = d;
	return d;
}

/* after an errx: free what the parser held (the process would exit) */
static void
fuzz_cleanup(void)
{
	if (fuzz_fp != NULL)
		fclose(fuzz_fp);
	if (fuzz_line != NULL)
		free(*fuzz_line);
	free(fuzz_items);
	for (size_t i = 0; i < fuzz_ndups; i++)
		free(fuzz_dups[i]);
}

static void
fuzz_errx(int status, const char *fmt, ...)
{
	va_list ap;

	(void)status;
	va_start(ap, fmt);
	vsnprintf(fuzz_msg, sizeof fuzz_msg, fmt, ap);
	va_end(ap);
	longjmp(fuzz_jb, 1);
}

/* the error exits leak by design (the process would end) */
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}

#define fopen fuzz_fopen
#define getline fuzz_getline
#define realloc fuzz_realloc
#define strdup fuzz_strdup
#define errx fuzz_errx
#define err fuzz_errx
#define main rqx_main
#include "../bin/rq-extract.c"
#undef main

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = memfile(data, size);
	static const char *splits[] = {NULL, "train"};

	for (int k = 0; k < 2; k++) {
		struct item *volatile it = NULL;
		size_t n = 0;

		fuzz_msg[0] = '\0';
		fuzz_fp = NULL;
		fuzz_line = NULL;
		fuzz_items = NULL;
		fuzz_ndups = 0;
		if (setjmp(fuzz_jb) == 0) {
			it = manifest(path, splits[k], &n);
			for (size_t i = 0; i < n; i++) {
				if (it[i].label < 0 || it[i].paths[0] == '\0')
					abort();
				free(it[i].paths);
			}
			free(it);
		} else {
			fuzz_cleanup();
			if (fuzz_msg[0] == '\0' || strchr(fuzz_msg, '\n'))
				abort();
		}
	}
	return 0;
}
