/*
 * fuzz_manifest.c: libFuzzer target for the CSV manifest parser of
 * rq-extract(1), "path[;path...],label,split" lines (lib/manifest.c).
 * Every item must have a label in range and a non-empty path; a failure
 * must leave exactly one line naming the file.
 */
#include "memfile.h"

#include <stdlib.h>
#include <string.h>

#include "rq.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = memfile(data, size);
	static const char *splits[] = {NULL, "train"};

	for (int k = 0; k < 2; k++) {
		rq_manifest_item *it;
		size_t n;
		char msg[512] = "";

		if (rq_manifest_read(path, splits[k], &it, &n, msg,
		    sizeof msg) == RQ_OK) {
			for (size_t i = 0; i < n; i++)
				if (it[i].label < 0 || it[i].label > 1000000 ||
				    it[i].paths[0] == '\0' || it[i].line < 1)
					abort();
			rq_manifest_free(it, n);
		} else if (msg[0] == '\0' || strchr(msg, '\n') ||
		    strncmp(msg, path, strlen(path)) != 0 || it != NULL)
			abort();
	}
	return 0;
}
