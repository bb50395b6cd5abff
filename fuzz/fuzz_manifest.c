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
		if (setjmp(fuzz_jb) == 0) {
			it = manifest(path, splits[k], &n);
			for (size_t i = 0; i < n; i++) {
				if (it[i].label < 0 || it[i].paths[0] == '\0')
					abort();
				free(it[i].paths);
			}
			free(it);
		} else if (fuzz_msg[0] == '\0' || strchr(fuzz_msg, '\n')) {
			abort();
		}
	}
	return 0;
}
