/*
 * init.c: initialise some of a model's parameters from a stream of named
 * tensors (rq-train --init): pretrained encoder weights, for instance,
 * converted by scripts/vit-convert.
 *
 * Every record of the stream must name a parameter of the model's table
 * (rq_model_find: "enc.a.blk.0.attn.qkv.w", ...) with the same shape
 * (ndim and every dimension, outermost first, as the table lists it:
 * linear weights [out,in], the patch weights [d,pdim] over im2col order,
 * pos [N,d]), dtype f32 or f64 (converted to float), finite values, and
 * no name twice.  Parameters the stream does not name keep whatever they
 * held.  The stream is read whole into a copy of the parameter vector,
 * which replaces the model's only when every record passed: on error the
 * model is untouched.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

static void
shape_str(int ndim, const uint64_t *dims, char *buf, size_t n)
{
	size_t used = 0;

	used += (size_t)snprintf(buf, n, "[");
	for (int i = 0; i < ndim && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%llu",
		    i ? "," : "", (unsigned long long)dims[i]);
	if (used < n)
		snprintf(buf + used, n - used, "]");
}

/*
 * The group of a parameter, for the report of what stayed at its
 * initialisation: "enc.a.blk.3" for a block's tensors, "enc.a.patch",
 * "enc.a.cls", "enc.a.pos", "enc.a.ln" for an encoder's others, the first
 * component ("fusion", "head", "probe") for the rest.
 */
static size_t
group_len(const char *name)
{
	const char *p = name;
	int parts;

	if (strncmp(name, "enc.", 4) != 0)
		parts = 1;
	else if (strncmp(name + 4, "a.blk.", 6) == 0 ||
	    strncmp(name + 4, "v.blk.", 6) == 0)
		parts = 4;
	else
		parts = 3;
	for (int i = 0; i < parts; i++) {
		const char *dot = strchr(p, '.');
		if (dot == NULL)
			return strlen(name);
		if (i == parts - 1)
			return (size_t)(dot - name);
		p = dot + 1;
	}
	return strlen(name);
}

/* append s to buf (comma-separated), "..." once it is full */
static void
append(char *buf, size_t n, const char *s, size_t len)
{
	size_t used = strlen(buf);

	if (n == 0 || (used >= 3 && strcmp(buf + used - 3, "...") == 0))
		return;
	if (used + len + 2 + 4 > n) {
		if (used + 4 <= n)
			strcpy(buf + used, "...");
		return;
	}
	if (used)
		buf[used++] = ',';
	memcpy(buf + used, s, len);
	buf[used + len] = '\0';
}

/* the groups with a parameter not loaded; "(k of n)" when partly loaded */
static void
left_groups(const rq_model *m, const uint8_t *got, char *buf, size_t n)
{
	int nt = rq_model_ntable(m);

	if (n > 0)
		buf[0] = '\0';
	for (int i = 0; i < nt; i++) {
		const rq_param *p = rq_model_table(m, i);
		size_t gl = group_len(p->name);
		int first = 1, tot = 0, on = 0;
		char g[96];
		/* each group once, at its first table entry */
		for (int j = 0; j < i && first; j++) {
			const rq_param *q = rq_model_table(m, j);
			if (group_len(q->name) == gl &&
			    strncmp(q->name, p->name, gl) == 0)
				first = 0;
		}
		if (!first)
			continue;
		for (int j = i; j < nt; j++) {
			const rq_param *q = rq_model_table(m, j);
			if (group_len(q->name) == gl &&
			    strncmp(q->name, p->name, gl) == 0) {
				tot++;
				on += got[j];
			}
		}
		if (on == tot)
			continue;
		if (on == 0)
			snprintf(g, sizeof g, "%.*s", (int)gl, p->name);
		else
			snprintf(g, sizeof g, "%.*s (%d of %d)", (int)gl, p->name,
			    on, tot);
		append(buf, n, g, strlen(g));
	}
}

void
rq_init_report_free(rq_init_report *r)
{
	if (r == NULL)
		return;
	free(r->names);
	r->names = NULL;
}

int
rq_init_load(rq_model *m, const char *path, rq_init_report *rep, char *err,
    size_t errn)
{
	size_t np = rq_model_nparams(m), namelen = 0, namecap = 0;
	int nt = rq_model_ntable(m), rc = RQ_OK;
	float *stage = NULL;
	uint8_t *got = NULL;
	char *names = NULL;
	rq_stream *s = NULL;
	rq_tensor t;
	long rec = 0;

	memset(rep, 0, sizeof *rep);
	rq_tensor_init(&t);
	if ((stage = malloc((np ? np : 1) * sizeof *stage)) == NULL ||
	    (got = calloc((size_t)(nt ? nt : 1), 1)) == NULL) {
		snprintf(err, errn, "%s: out of memory", path);
		rc = RQ_ENOMEM;
		goto out;
	}
	memcpy(stage, rq_model_params(m), np * sizeof *stage);
	if ((s = rq_stream_open(path, "r")) == NULL) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		rc = RQ_EIO;
		goto out;
	}
	for (;; rec++) {
		const rq_param *p;
		char fs[128], ms[128];
		size_t len;
		int idx;

		if ((rc = rq_tensor_read(s, &t)) == RQ_EOF) {
			rc = RQ_OK;
			break;
		}
		if (rc != RQ_OK) {
			snprintf(err, errn, "%s", rq_stream_error(s));
			goto out;
		}
		rc = RQ_EFORMAT;
		if ((p = rq_model_find(m, t.name)) == NULL) {
			snprintf(err, errn, "%s: record %ld: %s: no parameter of "
			    "that name in the model", path, rec, t.name);
			goto out;
		}
		idx = (int)(p - rq_model_table(m, 0));
		if (got[idx]) {
			snprintf(err, errn, "%s: record %ld: %s: named twice",
			    path, rec, t.name);
			goto out;
		}
		shape_str(t.ndim, t.dims, fs, sizeof fs);
		shape_str(p->ndim, p->dims, ms, sizeof ms);
		if (strcmp(fs, ms) != 0) {
			snprintf(err, errn, "%s: record %ld: %s: shape %s in the "
			    "file, %s in the model", path, rec, t.name, fs, ms);
			goto out;
		}
		if (t.dtype != RQ_F32 && t.dtype != RQ_F64) {
			snprintf(err, errn, "%s: record %ld: %s: dtype %s, need "
			    "f32 or f64", path, rec, t.name,
			    rq_dtype_name(t.dtype));
			goto out;
		}
		for (size_t i = 0; i < p->n; i++) {
			double v = t.dtype == RQ_F32 ? ((const float *)t.data)[i] :
			    ((const double *)t.data)[i];
			if (!isfinite(v) || !isfinite((float)v)) {
				snprintf(err, errn, "%s: record %ld: %s: element %zu "
				    "is not a finite float: %g", path, rec, t.name, i,
				    v);
				goto out;
			}
			stage[p->off + i] = (float)v;
		}
		got[idx] = 1;
		rep->ntensors++;
		rep->nloaded += p->n;
		len = strlen(t.name);
		if (namelen + len + 2 > namecap) {
			size_t nc = RQ_MAX(2 * namecap, namelen + len + 256);
			char *nn = realloc(names, nc);
			if (nn == NULL) {
				snprintf(err, errn, "%s: out of memory", path);
				rc = RQ_ENOMEM;
				goto out;
			}
			names = nn;
			namecap = nc;
		}
		if (namelen)
			names[namelen++] = ',';
		memcpy(names + namelen, t.name, len + 1);
		namelen += len;
		rc = RQ_OK;
	}
	if (rep->ntensors == 0) {
		snprintf(err, errn, "%s: no tensors in the stream", path);
		rc = RQ_EFORMAT;
		goto out;
	}
	memcpy(rq_model_params(m), stage, np * sizeof *stage);
	rep->ntable = nt;
	rep->nparams = np;
	rep->names = names;
	names = NULL;
	left_groups(m, got, rep->left, sizeof rep->left);
out:
	if (s != NULL)
		rq_stream_close(s);
	rq_tensor_free(&t);
	free(stage);
	free(got);
	free(names);
	return rc;
}
