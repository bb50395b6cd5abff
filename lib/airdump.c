/*
 * airdump.c: the air-dump record group, what rq-train --air-dump writes
 * and rq-air and rq-rotate read:
 *	fusion.q f32 [d] (metadata epoch=E when known),
 *	fusion.kmean.audio f32 [n,d], fusion.kmean.visual f32 [n,d]
 * (q: the fusion query after R; kmean: each sample's mean key over its
 * audio and its visual tokens).
 */
#include <errno.h>
#include <stdio.h>
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
rq_airdump_put(rq_stream *s, long epoch, const float *q, const float *ka,
    const float *kv, size_t n, size_t d)
{
	rq_tensor t;
	uint64_t dims[2] = { d, 0 };
	int rc;

	rq_tensor_init(&t);
	if ((rc = rq_tensor_alloc(&t, RQ_F32, 1, dims)) != RQ_OK ||
	    (rc = rq_tensor_set_name(&t, "fusion.q")) != RQ_OK ||
	    (epoch >= 0 &&
	    (rc = rq_meta_set(&t, "epoch", "%ld", epoch)) != RQ_OK))
		goto out;
	memcpy(t.data, q, t.nbytes);
	if ((rc = rq_tensor_write(s, &t)) != RQ_OK)
		goto out;
	dims[0] = n;
	dims[1] = d;
	if ((rc = put(s, &t, "fusion.kmean.audio", 2, dims, ka)) != RQ_OK ||
	    (rc = put(s, &t, "fusion.kmean.visual", 2, dims, kv)) != RQ_OK)
		goto out;
out:
	rq_tensor_free(&t);
	return rc;
}

int
rq_airdump_write(const char *path, long epoch, const float *q,
    const float *ka, const float *kv, size_t n, size_t d, char *err,
    size_t errn)
{
	rq_stream *s;
	int rc;

	if ((s = rq_stream_open(path, "w")) == NULL) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return RQ_EIO;
	}
	if ((rc = rq_airdump_put(s, epoch, q, ka, kv, n, d)) != RQ_OK) {
		snprintf(err, errn, "%s", rc == RQ_ENOMEM ? "out of memory" :
		    rq_stream_error(s));
		rq_stream_abort(s);
		return rc;
	}
	if (rq_stream_close(s) != RQ_OK) {
		snprintf(err, errn, "%s: %s", path, strerror(errno));
		return RQ_EIO;
	}
	return RQ_OK;
}
