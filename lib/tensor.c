/* tensor.c: the in-memory tensor, dtypes, element access and metadata. */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"

static const struct {
	const char *name;
	size_t size;
} dtypes[] = {
	[RQ_U8] = {"u8", 1},   [RQ_I8] = {"i8", 1},   [RQ_U16] = {"u16", 2},
	[RQ_I16] = {"i16", 2}, [RQ_U32] = {"u32", 4}, [RQ_I32] = {"i32", 4},
	[RQ_U64] = {"u64", 8}, [RQ_I64] = {"i64", 8}, [RQ_F32] = {"f32", 4},
	[RQ_F64] = {"f64", 8},
};

size_t
rq_dtype_size(int dtype)
{
	if (dtype < RQ_U8 || dtype > RQ_F64)
		return 0;
	return dtypes[dtype].size;
}

const char *
rq_dtype_name(int dtype)
{
	if (dtype < RQ_U8 || dtype > RQ_F64)
		return "?";
	return dtypes[dtype].name;
}

int
rq_dtype_parse(const char *s)
{
	for (int d = RQ_U8; d <= RQ_F64; d++)
		if (strcmp(s, dtypes[d].name) == 0)
			return d;
	return -1;
}

void
rq_tensor_init(rq_tensor *t)
{
	memset(t, 0, sizeof *t);
	t->dtype = RQ_F32;
}

void
rq_tensor_free(rq_tensor *t)
{
	free(t->data);
	free(t->meta);
	rq_tensor_init(t);
}

/* nbytes = prod(dims) * elsize, refusing overflow of size_t */
int
rq_numel_of(int ndim, const uint64_t *dims, size_t elsize, size_t *nbytes)
{
	uint64_t n = elsize;

	if (ndim < 0 || ndim > RQ_MAX_NDIM)
		return RQ_ERANGE;
	for (int i = 0; i < ndim; i++) {
		if (dims[i] != 0 && n > UINT64_MAX / dims[i])
			return RQ_ERANGE;
		n *= dims[i];
	}
	if (n > SIZE_MAX)
		return RQ_ERANGE;
	*nbytes = (size_t)n;
	return RQ_OK;
}

int
rq_tensor_reserve(rq_tensor *t, size_t nbytes)
{
	void *p;

	if (nbytes <= t->cap)
		return RQ_OK;
	if ((p = realloc(t->data, nbytes)) == NULL)
		return RQ_ENOMEM;
	t->data = p;
	t->cap = nbytes;
	return RQ_OK;
}

/* Set type and shape, (re)allocate and zero the data; name and meta kept. */
int
rq_tensor_alloc(rq_tensor *t, int dtype, int ndim, const uint64_t *dims)
{
	size_t es = rq_dtype_size(dtype), nb;
	int rc;

	if (es == 0)
		return RQ_EINVAL;
	if ((rc = rq_numel_of(ndim, dims, es, &nb)) != RQ_OK)
		return rc;
	if ((rc = rq_tensor_reserve(t, nb ? nb : 1)) != RQ_OK)
		return rc;
	t->dtype = dtype;
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		t->dims[i] = dims[i];
	for (int i = ndim; i < RQ_MAX_NDIM; i++)
		t->dims[i] = 0;
	t->nbytes = nb;
	memset(t->data, 0, nb);
	return RQ_OK;
}

int
rq_tensor_copy(rq_tensor *dst, const rq_tensor *src)
{
	int rc;

	if ((rc = rq_tensor_alloc(dst, src->dtype, src->ndim, src->dims)))
		return rc;
	if (src->nbytes)
		memcpy(dst->data, src->data, src->nbytes);
	memcpy(dst->name, src->name, sizeof dst->name);
	rq_meta_clear(dst);
	if (src->meta_len) {
		char *m = malloc(src->meta_len + 1);
		if (m == NULL)
			return RQ_ENOMEM;
		memcpy(m, src->meta, src->meta_len + 1);
		free(dst->meta);
		dst->meta = m;
		dst->meta_len = src->meta_len;
		dst->meta_cap = src->meta_len + 1;
	}
	return RQ_OK;
}

int
rq_tensor_set_name(rq_tensor *t, const char *name)
{
	size_t n = strlen(name);

	if (n > RQ_NAME_MAX || memchr(name, '\n', n))
		return RQ_EINVAL;
	memcpy(t->name, name, n + 1);
	return RQ_OK;
}

size_t
rq_tensor_numel(const rq_tensor *t)
{
	size_t es = rq_dtype_size(t->dtype);

	return es ? t->nbytes / es : 0;
}

double
rq_tensor_get(const rq_tensor *t, size_t i)
{
	const void *p = t->data;

	switch (t->dtype) {
	case RQ_U8: return ((const uint8_t *)p)[i];
	case RQ_I8: return ((const int8_t *)p)[i];
	case RQ_U16: return ((const uint16_t *)p)[i];
	case RQ_I16: return ((const int16_t *)p)[i];
	case RQ_U32: return ((const uint32_t *)p)[i];
	case RQ_I32: return ((const int32_t *)p)[i];
	case RQ_U64: return (double)((const uint64_t *)p)[i];
	case RQ_I64: return (double)((const int64_t *)p)[i];
	case RQ_F32: return ((const float *)p)[i];
	case RQ_F64: return ((const double *)p)[i];
	}
	return NAN;
}

/*
 * Store v as element i.  A value outside an integer dtype's range (or
 * NaN) would be undefined behaviour to convert: it saturates to the
 * nearest end (NaN to 0), and fractions truncate toward zero as a cast
 * does.  Floats take v as a cast does (out of f32 range: +-Inf).
 */
#define PUT_INT(type, lo, hi) do {					\
	type x_ = isnan(v) ? 0 : v <= (double)(lo) ? (lo) :		\
	    v >= (double)(hi) ? (hi) : (type)v;				\
	((type *)p)[i] = x_;						\
} while (0)

void
rq_tensor_put(rq_tensor *t, size_t i, double v)
{
	void *p = t->data;

	switch (t->dtype) {
	case RQ_U8: PUT_INT(uint8_t, 0, UINT8_MAX); break;
	case RQ_I8: PUT_INT(int8_t, INT8_MIN, INT8_MAX); break;
	case RQ_U16: PUT_INT(uint16_t, 0, UINT16_MAX); break;
	case RQ_I16: PUT_INT(int16_t, INT16_MIN, INT16_MAX); break;
	case RQ_U32: PUT_INT(uint32_t, 0, UINT32_MAX); break;
	case RQ_I32: PUT_INT(int32_t, INT32_MIN, INT32_MAX); break;
	case RQ_U64: PUT_INT(uint64_t, 0, UINT64_MAX); break;
	case RQ_I64: PUT_INT(int64_t, INT64_MIN, INT64_MAX); break;
	case RQ_F32:
		((float *)p)[i] = isfinite(v) && fabs(v) > FLT_MAX ?
		    (float)copysign(INFINITY, v) : (float)v;
		break;
	case RQ_F64: ((double *)p)[i] = v; break;
	}
}

/* Convert the data in place to another dtype (through double). */
int
rq_tensor_convert(rq_tensor *t, int dtype)
{
	rq_tensor tmp;
	size_t n = rq_tensor_numel(t);
	int rc;

	if (dtype == t->dtype)
		return RQ_OK;
	rq_tensor_init(&tmp);
	if ((rc = rq_tensor_alloc(&tmp, dtype, t->ndim, t->dims)) != RQ_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		rq_tensor_put(&tmp, i, rq_tensor_get(t, i));
	free(t->data);
	t->data = tmp.data;
	t->cap = tmp.cap;
	t->nbytes = tmp.nbytes;
	t->dtype = dtype;
	return RQ_OK;
}

/* "[2,3,4]" ("[]" for a scalar); RQ_ERANGE if it does not fit */
int
rq_tensor_shape_str(const rq_tensor *t, char *buf, size_t n)
{
	size_t off = 0;
	int w;

	w = snprintf(buf, n, "[");
	off += (size_t)w;
	for (int i = 0; i < t->ndim && off < n; i++) {
		w = snprintf(buf + off, n - off, "%s%llu", i ? "," : "",
		    (unsigned long long)t->dims[i]);
		off += (size_t)w;
	}
	if (off < n)
		off += (size_t)snprintf(buf + off, n - off, "]");
	return off < n ? RQ_OK : RQ_ERANGE;
}

static int
key_ok(const char *k, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && !strchr("_.:-/", k[i]))
			return 0;
	return 1;
}

/* Metadata block: lines "key=value\n", key as key_ok, no NUL bytes. */
int
rq_meta_valid(const char *meta, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(meta + i, '\n', len - i);
		const char *eq;
		size_t ll;

		if (nl == NULL)
			return 0;
		ll = (size_t)(nl - (meta + i));
		eq = memchr(meta + i, '=', ll);
		if (eq == NULL || !key_ok(meta + i, (size_t)(eq - (meta + i))))
			return 0;
		if (memchr(meta + i, '\0', ll))
			return 0;
		i += ll + 1;
	}
	return 1;
}

/* find the line of key; returns its offset or -1 */
static long
meta_find(const rq_tensor *t, const char *key)
{
	size_t kl = strlen(key), i = 0;

	while (i < t->meta_len) {
		const char *line = t->meta + i;
		const char *nl = memchr(line, '\n', t->meta_len - i);
		size_t ll = nl ? (size_t)(nl - line) : t->meta_len - i;

		if (ll > kl && memcmp(line, key, kl) == 0 && line[kl] == '=')
			return (long)i;
		i += ll + 1;
	}
	return -1;
}

/* Copy the value of key into buf; NULL when absent or too long. */
const char *
rq_meta_get(const rq_tensor *t, const char *key, char *buf, size_t n)
{
	long at = meta_find(t, key);
	const char *v, *nl;
	size_t vl;

	if (at < 0)
		return NULL;
	v = t->meta + at + strlen(key) + 1;
	nl = memchr(v, '\n', t->meta_len - (size_t)(v - t->meta));
	vl = nl ? (size_t)(nl - v) : t->meta_len - (size_t)(v - t->meta);
	if (vl + 1 > n)
		return NULL;
	memcpy(buf, v, vl);
	buf[vl] = '\0';
	return buf;
}

int
rq_meta_getd(const rq_tensor *t, const char *key, double *v)
{
	char buf[128];

	if (rq_meta_get(t, key, buf, sizeof buf) == NULL)
		return RQ_EINVAL;
	return rq_parse_double(buf, v) == 0 ? RQ_OK : RQ_EFORMAT;
}

int
rq_meta_del(rq_tensor *t, const char *key)
{
	long at = meta_find(t, key);
	const char *nl;
	size_t ll;

	if (at < 0)
		return RQ_OK;
	nl = memchr(t->meta + at, '\n', t->meta_len - (size_t)at);
	ll = nl ? (size_t)(nl - (t->meta + at)) + 1 : t->meta_len - (size_t)at;
	memmove(t->meta + at, t->meta + at + ll, t->meta_len - (size_t)at - ll + 1);
	t->meta_len -= ll;
	return RQ_OK;
}

int
rq_meta_clear(rq_tensor *t)
{
	t->meta_len = 0;
	if (t->meta)
		t->meta[0] = '\0';
	return RQ_OK;
}

int
rq_meta_set(rq_tensor *t, const char *key, const char *fmt, ...)
{
	char val[4096];
	va_list ap;
	size_t kl = strlen(key), vl, need;
	long at;
	int w;

	if (!key_ok(key, kl))
		return RQ_EINVAL;
	va_start(ap, fmt);
	w = vsnprintf(val, sizeof val, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof val || strchr(val, '\n'))
		return RQ_EINVAL;
	vl = (size_t)w;
	need = t->meta_len + kl + vl + 2;	/* without the old line */
	if ((at = meta_find(t, key)) >= 0) {
		const char *nl = memchr(t->meta + at, '\n',
		    t->meta_len - (size_t)at);
		need -= nl ? (size_t)(nl - (t->meta + at)) + 1 :
		    t->meta_len - (size_t)at;
	}
	if (need > RQ_META_MAX)	/* the old value stays on failure */
		return RQ_ERANGE;
	rq_meta_del(t, key);
	need = t->meta_len + kl + vl + 3;
	if (need > t->meta_cap) {
		size_t cap = RQ_MAX(need, 2 * t->meta_cap);
		char *m = realloc(t->meta, cap);
		if (m == NULL)
			return RQ_ENOMEM;
		t->meta = m;
		t->meta_cap = cap;
	}
	memcpy(t->meta + t->meta_len, key, kl);
	t->meta[t->meta_len + kl] = '=';
	memcpy(t->meta + t->meta_len + kl + 1, val, vl);
	t->meta[t->meta_len + kl + 1 + vl] = '\n';
	t->meta_len += kl + vl + 2;
	t->meta[t->meta_len] = '\0';
	return RQ_OK;
}
