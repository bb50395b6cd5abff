/*
 * airdump.c: the air-dump record group, what rq-train --air-dump and
 * rq-eval write and rq-air and rq-rotate read:
 *	fusion.q f32 [d],
 *	fusion.kmean.audio f32 [n,d], fusion.kmean.visual f32 [n,d]
 * (MT* layer 2: fusion.1.*; every record with the same metadata, e.g.
 * epoch=E)
 * (q: the fusion query after R; kmean: each sample's mean key over its
 * audio and its visual tokens).  Modalities named otherwise write
 * fusion.kmean.<name> with slot=0 (the first, "audio" slot) or slot=1;
 * a reader takes .audio and .visual without slot= as slots 0 and 1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

static int
put(rq_stream *s, rq_tensor *t, const char *name, int ndim,
    const uint64_t *dims, const float *src)
{
	int rc;

	if ((rc = rq_tensor_alloc(t, RQ_F32, ndim, dims)) != RQ_OK ||
	    (rc = rq_tensor_set_name(t, name)) != RQ_OK)
		return rc;
	memcpy(t->data, src, t->nbytes);
	return rq_tensor_write(s, t);
}

int
rq_airdump_put(rq_stream *s, rq_tensor *t, int layer, const float *q,
    const float *ka, const float *kv, size_t n, size_t d)
{
	return rq_airdump_put_named(s, t, layer, NULL, q, ka, kv, n, d);
}

static int
is_default(const char (*mod)[RQ_MODNAME_MAX])
{
	return mod == NULL || (strcmp(mod[0], "audio") == 0 &&
	    strcmp(mod[1], "visual") == 0);
}

int
rq_airdump_put_named(rq_stream *s, rq_tensor *t, int layer,
    const char (*mod)[RQ_MODNAME_MAX], const float *q, const float *ka,
    const float *kv, size_t n, size_t d)
{
	char pre[32], name[96];
	uint64_t dims[2] = { d, 0 };
	int rc, named = !is_default(mod);

	/* layer 0: fusion.*; layer l of MT*: fusion.<l>.* */
	snprintf(pre, sizeof pre, layer ? "fusion.%d" : "fusion", layer);
	snprintf(name, sizeof name, "%s.q", pre);
	if (named)
		rq_meta_del(t, "slot");
	if ((rc = put(s, t, name, 1, dims, q)) != RQ_OK)
		return rc;
	dims[0] = n;
	dims[1] = d;
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof name, "%s.kmean.%s", pre, named ? mod[i] :
		    i ? "visual" : "audio");
		if (named && (rc = rq_meta_set(t, "slot", "%d", i)) != RQ_OK)
			return rc;
		if ((rc = put(s, t, name, 2, dims, i ? kv : ka)) != RQ_OK)
			return rc;
	}
	if (named)
		rq_meta_del(t, "slot");
	return RQ_OK;
}

int
rq_airdump_write(const char *path, long epoch,
    const char (*mod)[RQ_MODNAME_MAX], const float *q, const float *ka,
    const float *kv, size_t n, size_t d, char *err, size_t errn)
{
	rq_stream *s;
	rq_tensor t;
	int rc;

	if ((s = rq_stream_open(path, "w")) == NULL) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return RQ_EIO;
	}
	rq_tensor_init(&t);
	if ((rc = rq_meta_set(&t, "epoch", "%ld", epoch)) != RQ_OK ||
	    (rc = rq_airdump_put_named(s, &t, 0, mod, q, ka, kv, n, d)) !=
	    RQ_OK) {
		snprintf(err, errn, "%s", rc == RQ_ENOMEM ? "out of memory" :
		    rq_stream_error(s));
		rq_tensor_free(&t);
		rq_stream_abort(s);
		return rc;
	}
	rq_tensor_free(&t);
	if (rq_stream_close(s) != RQ_OK) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return RQ_EIO;
	}
	return RQ_OK;
}

/*
 * Reading: a group starts at each fusion.q record; the fusion.kmean.*
 * records after it (until the next fusion.q) are appended along axis 0.
 * Messages name the file (g->file) and the record.
 */
int
rq_airdump_kind(const rq_tensor *t)
{
	if (strcmp(t->name, "fusion.q") == 0)
		return RQ_AIRDUMP_Q;
	char buf[16];

	if (strncmp(t->name, "fusion.kmean.", 13) != 0)
		return RQ_AIRDUMP_OTHER;
	if (rq_meta_get(t, "slot", buf, sizeof buf) != NULL)
		return strcmp(buf, "0") == 0 ? RQ_AIRDUMP_KA :
		    strcmp(buf, "1") == 0 ? RQ_AIRDUMP_KV : RQ_AIRDUMP_OTHER;
	if (strcmp(t->name, "fusion.kmean.audio") == 0)
		return RQ_AIRDUMP_KA;
	if (strcmp(t->name, "fusion.kmean.visual") == 0)
		return RQ_AIRDUMP_KV;
	return RQ_AIRDUMP_OTHER;
}

void
rq_airdump_init(rq_airdump *g, const char *file)
{
	memset(g, 0, sizeof *g);
	g->file = file;
	g->qrec = -1;
	snprintf(g->mod[0], sizeof g->mod[0], "audio");
	snprintf(g->mod[1], sizeof g->mod[1], "visual");
}

void
rq_airdump_free(rq_airdump *g)
{
	free(g->q);
	free(g->ka);
	free(g->kv);
	rq_airdump_init(g, g->file);
}

int
rq_airdump_begin(rq_airdump *g, const rq_tensor *t, long rec, size_t dmin,
    char *err, size_t errn)
{
	float *q;

	if (t->dtype != RQ_F32) {
		snprintf(err, errn, "%s: record %ld: fusion.q: dtype %s, want f32",
		    g->file, rec, rq_dtype_name(t->dtype));
		return RQ_EFORMAT;
	}
	if (t->ndim != 1 || t->dims[0] < dmin || t->dims[0] == 0) {
		snprintf(err, errn, "%s: record %ld: fusion.q: want shape [d], "
		    "d >= %zu", g->file, rec, dmin);
		return RQ_EFORMAT;
	}
	if ((q = realloc(g->q, t->nbytes)) == NULL) {
		snprintf(err, errn, "out of memory");
		return RQ_ENOMEM;
	}
	g->q = q;
	memcpy(g->q, t->data, t->nbytes);
	g->d = (size_t)t->dims[0];
	g->qrec = rec;
	g->na = g->nv = 0;
	g->epoch[0] = '\0';
	rq_meta_get(t, "epoch", g->epoch, sizeof g->epoch);
	return RQ_OK;
}

int
rq_airdump_add(rq_airdump *g, const rq_tensor *t, long rec, char *err,
    size_t errn)
{
	int isa = rq_airdump_kind(t) == RQ_AIRDUMP_KA;
	float **buf = isa ? &g->ka : &g->kv;
	size_t *n = isa ? &g->na : &g->nv, *cap = isa ? &g->cap_a : &g->cap_v;
	size_t rows, d = g->d;

	if (t->dtype != RQ_F32) {
		snprintf(err, errn, "%s: record %ld: %s: dtype %s, want f32",
		    g->file, rec, t->name, rq_dtype_name(t->dtype));
		return RQ_EFORMAT;
	}
	if (g->qrec < 0) {
		snprintf(err, errn, "%s: record %ld: %s before any fusion.q",
		    g->file, rec, t->name);
		return RQ_EFORMAT;
	}
	if (t->ndim != 2 || t->dims[1] != d) {
		snprintf(err, errn, "%s: record %ld: %s: want shape [N,%zu] (d of "
		    "fusion.q in record %ld)", g->file, rec, t->name, d, g->qrec);
		return RQ_EFORMAT;
	}
	/* the slot's name as the record spells it (fusion.kmean.<name>) */
	{
		const char *nm = t->name + 13;
		char *mine = g->mod[isa ? 0 : 1];
		if (*n == 0)
			snprintf(mine, RQ_MODNAME_MAX, "%s", nm);
		else if (strcmp(mine, nm) != 0) {
			snprintf(err, errn, "%s: record %ld: %s: slot %d is "
			    "already fusion.kmean.%s", g->file, rec, t->name,
			    isa ? 0 : 1, mine);
			return RQ_EFORMAT;
		}
	}
	rows = (size_t)t->dims[0];
	if (*n + rows > *cap) {
		size_t nc = RQ_MAX(*n + rows, *cap * 2);
		float *p;
		if (nc > SIZE_MAX / sizeof(float) / d ||
		    (p = realloc(*buf, nc * d * sizeof(float))) == NULL) {
			snprintf(err, errn, "out of memory");
			return RQ_ENOMEM;
		}
		*buf = p;
		*cap = nc;
	}
	memcpy(*buf + *n * d, t->data, rows * d * sizeof(float));
	*n += rows;
	return RQ_OK;
}

int
rq_airdump_check(const rq_airdump *g, char *err, size_t errn)
{
	if (g->na == 0 && g->nv == 0) {
		snprintf(err, errn, "%s: record %ld: fusion.q has no "
		    "fusion.kmean.audio or fusion.kmean.visual records after it",
		    g->file, g->qrec);
		return RQ_EFORMAT;
	}
	if (g->na == 0 || g->nv == 0) {
		snprintf(err, errn, "%s: record %ld: fusion.q has no %s record "
		    "after it", g->file, g->qrec, g->na == 0 ?
		    "fusion.kmean.audio (slot=0)" :
		    "fusion.kmean.visual (slot=1)");
		return RQ_EFORMAT;
	}
	if (g->na != g->nv) {
		snprintf(err, errn, "%s: record %ld: group has %zu %s and %zu "
		    "%s key means", g->file, g->qrec, g->na, g->mod[0], g->nv,
		    g->mod[1]);
		return RQ_EFORMAT;
	}
	return RQ_OK;
}
