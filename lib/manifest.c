/*
 * manifest.c: the CSV manifest of rq-extract(1).  One item a line,
 * "path[;path...],label,split": the last two commas split the fields, so
 * a path may hold commas but not end a line; blank lines and lines that
 * start with '#' are skipped; label is an integer in [0, 1000000].
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

void
rq_manifest_free(rq_manifest_item *it, size_t n)
{
	if (it == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(it[i].paths);
	free(it);
}

int
rq_manifest_read(const char *path, const char *split, rq_manifest_item **items,
    size_t *np, char *err, size_t errn)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0, n = 0, icap = 0;
	rq_manifest_item *it = NULL;
	long ln = 0;
	ssize_t len;
	int rc = RQ_EFORMAT;

	*items = NULL;
	*np = 0;
	if (fp == NULL) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return RQ_EIO;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		char *c1, *c2, *sp;
		long lab;

		ln++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if ((c2 = strrchr(line, ',')) == NULL) {
			snprintf(err, errn, "%s: line %ld: expected path,label,split",
			    path, ln);
			goto fail;
		}
		*c2 = '\0';
		sp = c2 + 1;
		if ((c1 = strrchr(line, ',')) == NULL) {
			snprintf(err, errn, "%s: line %ld: expected path,label,split",
			    path, ln);
			goto fail;
		}
		*c1 = '\0';
		if (line[0] == '\0') {
			snprintf(err, errn, "%s: line %ld: empty path", path, ln);
			goto fail;
		}
		if (rq_parse_long(c1 + 1, 0, 1000000, &lab) != 0) {
			snprintf(err, errn, "%s: line %ld: bad label '%s'", path, ln,
			    c1 + 1);
			goto fail;
		}
		if (*sp == '\0') {
			snprintf(err, errn, "%s: line %ld: empty split", path, ln);
			goto fail;
		}
		if (split && strcmp(split, sp) != 0)
			continue;
		if (n == icap) {
			rq_manifest_item *q;
			icap = icap ? 2 * icap : 256;
			if ((q = realloc(it, icap * sizeof *it)) == NULL)
				goto nomem;
			it = q;
		}
		if ((it[n].paths = strdup(line)) == NULL)
			goto nomem;
		it[n].label = (int)lab;
		it[n].line = ln;
		n++;
	}
	if (ferror(fp)) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		rc = RQ_EIO;
		goto fail;
	}
	if (fp != stdin)
		fclose(fp);
	free(line);
	*items = it;
	*np = n;
	return RQ_OK;
nomem:
	snprintf(err, errn, "%s: line %ld: out of memory", path, ln);
	rc = RQ_ENOMEM;
fail:
	if (fp != stdin)
		fclose(fp);
	free(line);
	rq_manifest_free(it, n);
	return rc;
}

/*
 * The frames the RollingQ/OGM-GE data loaders take from a clip's n
 * frames at 1 fps (1-based t, the t-th listed path), pick of them: with
 * seg = n / pick, at test time t_i = i seg + max(seg / 2, 1); at training
 * time (rng given) t_i uniform in [i seg + 1, i seg + seg], and 9 where
 * that is 10 or more (their loaders clamp so); a clip of 6 frames or
 * fewer gives frame 1 every time.  idx[i] = t_i - 1.
 */
int
rq_manifest_pick(size_t n, int pick, rq_rng *rng, size_t *idx)
{
	size_t seg;

	if (pick < 1 || n < 1)
		return RQ_EINVAL;
	seg = n / (size_t)pick;
	if (n > 6 && seg < 1)
		return RQ_ERANGE;       /* fewer frames than picks */
	for (size_t i = 0; i < (size_t)pick; i++) {
		size_t t;
		if (n <= 6)
			t = 1;
		else if (rng == NULL)
			t = i * seg + (seg / 2 > 1 ? seg / 2 : 1);
		else {
			t = i * seg + 1 + (size_t)rq_rng_below(rng, seg);
			if (t >= 10)
				t = 9;
		}
		idx[i] = t - 1;
	}
	return RQ_OK;
}
