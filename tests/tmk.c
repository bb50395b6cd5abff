/*
 * tmk.c: a test helper the CLI tests (tests/<name>.t) build against
 * lib/librq.a, so the streams they check are written and read without
 * the programs under test.
 * tmk: lines "name dtype dims meta v1 v2 ..." (dims "2,3" or "-" for a
 * scalar, meta "k=v;k=v" or "-") -> stream on stdout.
 * tdump: stream on stdin -> "name v1 v2 ..." per record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rq.h"

int
main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	rq_tensor t;

	rq_tensor_init(&t);
	if (strstr(argv[0], "tdump")) {
		rq_stream *s = rq_stream_open("-", "r");
		int rc;

		while ((rc = rq_tensor_read(s, &t)) == RQ_OK) {
			printf("%s", t.name);
			for (size_t i = 0; i < rq_tensor_numel(&t); i++)
				printf(" %.17g", rq_tensor_get(&t, i));
			printf("\n");
		}
		return rc == RQ_EOF ? 0 : 1;
	}
	rq_stream *s = rq_stream_open("-", "w");
	while (getline(&line, &cap, stdin) > 0) {
		char *name = strtok(line, " \n"), *dt = strtok(NULL, " \n");
		char *ds = strtok(NULL, " \n"), *ms = strtok(NULL, " \n"), *p;
		uint64_t dims[8];
		int nd = 0;
		char *sp;

		if (name == NULL)
			continue;
		if (strcmp(ds, "-") != 0)
			for (p = strtok_r(ds, ",", &sp); p;
			    p = strtok_r(NULL, ",", &sp))
				dims[nd++] = strtoull(p, NULL, 10);
		if (rq_tensor_alloc(&t, rq_dtype_parse(dt), nd, dims) != RQ_OK)
			return 1;
		rq_tensor_set_name(&t, name);
		rq_meta_clear(&t);
		for (size_t i = 0; i < rq_tensor_numel(&t); i++) {
			if ((p = strtok(NULL, " \n")) == NULL)
				return 1;
			rq_tensor_put(&t, i, strtod(p, NULL));
		}
		if (strcmp(ms, "-") != 0)
			for (p = strtok_r(ms, ";", &sp); p;
			    p = strtok_r(NULL, ";", &sp)) {
				char *eq = strchr(p, '=');

				*eq = '\0';
				rq_meta_set(&t, p, "%s", eq + 1);
			}
		if (rq_tensor_write(s, &t) != RQ_OK)
			return 1;
	}
	return rq_stream_close(s) == RQ_OK ? 0 : 1;
}
