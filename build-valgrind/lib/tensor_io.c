/*
 * tensor_io.c: read and write the record stream of rq-tensor(5).
 *
 * Record layout (all integers little-endian):
 *   0   4  magic 89 52 51 54 ("\x89RQT")
 *   4   2  version (1)
 *   6   1  dtype code
 *   7   1  ndim (0..8)
 *   8   4  name length (0..255)
 *  12   4  metadata length (0..65536)
 *  16  8n  dims, outermost first
 *   .      name bytes, then metadata bytes ("key=value\n" lines)
 *   .   4  crc32 of every header byte before it
 *   .      zero padding to a multiple of 8 from the record start
 *   .      data: numel * size bytes, C order; zero padding to 8
 *   .   4  crc32 of the data bytes; 4 zero bytes
 * A record therefore starts and ends 8-byte aligned.  The reader never
 * seeks and holds one record at a time.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "rq.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rq stores little-endian data and supports little-endian hosts only"
#endif

static const unsigned char magic[4] = {0x89, 'R', 'Q', 'T'};

struct rq_stream {
	FILE *fp;
	int writing;
	int own;          /* fp is ours to close */
	int is_reg;       /* regular file: remaining size is known */
	uint64_t size;    /* file size when is_reg */
	uint64_t off;     /* bytes consumed or written */
	long rec;         /* index of the record being handled */
	uint64_t limit;   /* largest data size accepted, bytes */
	rq_afile af;
	char *name;
	char err[512];
};

static void
seterr(rq_stream *s, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(s->err, sizeof s->err, "%s: record %ld: %s", s->name,
	    s->rec, msg);
}

static rq_stream *
stream_new(const char *name, const char *mode)
{
	rq_stream *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	if ((s->name = strdup(name)) == NULL) {
		free(s);
		return NULL;
	}
	s->writing = mode[0] == 'w';
	s->limit = UINT64_MAX;
	return s;
}

static void
stat_input(rq_stream *s)
{
	struct stat st;

	if (fstat(fileno(s->fp), &st) == 0 && S_ISREG(st.st_mode)) {
		s->is_reg = 1;
		s->size = (uint64_t)st.st_size;
		s->off = (uint64_t)ftello(s->fp);
	}
}

/*
 * Open path for reading ("r") or writing ("w"); "-" is stdin/stdout.
 * A written file is a temporary beside path until rq_stream_close.
 * Returns NULL with errno set.
 */
rq_stream *
rq_stream_open(const char *path, const char *mode)
{
	rq_stream *s;
	int std = strcmp(path, "-") == 0;

	if ((mode[0] != 'r' && mode[0] != 'w') || mode[1] != '\0') {
		errno = EINVAL;
		return NULL;
	}
	if ((s = stream_new(std ? (mode[0] == 'r' ? "<stdin>" : "<stdout>")
	    : path, mode)) == NULL)
		return NULL;
	if (std) {
		s->fp = mode[0] == 'r' ? stdin : stdout;
	} else if (mode[0] == 'r') {
		if ((s->fp = fopen(path, "rb")) == NULL)
			goto fail;
		s->own = 1;
	} else {
		if (rq_afile_open(&s->af, path) != RQ_OK)
			goto fail;
		s->fp = s->af.fp;
	}
	if (!s->writing)
		stat_input(s);
	return s;
fail:
	{
		int e = errno;
		free(s->name);
		free(s);
		errno = e;
	}
	return NULL;
}

rq_stream *
rq_stream_fdopen(int fd, const char *name, const char *mode)
{
	rq_stream *s = stream_new(name, mode);

	if (s == NULL)
		return NULL;
	if ((s->fp = fdopen(fd, mode[0] == 'r' ? "rb" : "wb")) == NULL) {
		free(s->name);
		free(s);
		return NULL;
	}
	s->own = 1;
	if (!s->writing)
		stat_input(s);
	return s;
}

const char *
rq_stream_error(const rq_stream *s)
{
	return s->err[0] ? s->err : "no error";
}

const char *
rq_stream_name(const rq_stream *s)
{
	return s->name;
}

long
rq_stream_record(const rq_stream *s)
{
	return s->rec;
}

void
rq_stream_set_limit(rq_stream *s, uint64_t max_bytes)
{
	s->limit = max_bytes;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* read exactly n bytes; returns bytes read (short only at EOF or error) */
static size_t
rd(rq_stream *s, void *buf, size_t n)
{
	size_t got = fread(buf, 1, n, s->fp);

	s->off += got;
	return got;
}

static int
short_read(rq_stream *s, const char *what, size_t got, size_t want)
{
	if (ferror(s->fp)) {
		seterr(s, "read error in %s: %s", what, strerror(errno));
		return RQ_EIO;
	}
	seterr(s, "truncated %s (%zu of %zu bytes)", what, got, want);
	return RQ_EFORMAT;
}

/* zlib's crc32(crc, Z_NULL, n) resets to 0: never pass a NULL buffer */
static uint32_t
crc_upd(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n > 0) {
		uInt c = (uInt)RQ_MIN(n, (size_t)1 << 30);

		crc = (uint32_t)crc32(crc, b, c);
		b += c;
		n -= c;
	}
	return crc;
}

static size_t
pad8(size_t n)
{
	return (8 - (n & 7)) & 7;
}

static int
check_zero(rq_stream *s, size_t n, const char *what)
{
	unsigned char z[8];
	size_t got;

	if (n == 0)
		return RQ_OK;
	if ((got = rd(s, z, n)) != n)
		return short_read(s, what, got, n);
	for (size_t i = 0; i < n; i++)
		if (z[i]) {
			seterr(s, "nonzero byte in %s", what);
			return RQ_EFORMAT;
		}
	return RQ_OK;
}

/* read the data section, growing the buffer only as bytes arrive */
static int
read_data(rq_stream *s, rq_tensor *t, size_t nb, uint32_t *crc)
{
	size_t have = 0;

	*crc = 0;
	if (rq_tensor_reserve(t, 1) != RQ_OK)
		goto nomem;
	while (have < nb) {
		size_t want = RQ_MIN(nb, RQ_MAX(2 * have, (size_t)1 << 20));
		size_t got;

		if (rq_tensor_reserve(t, want) != RQ_OK)
			goto nomem;
		got = rd(s, (char *)t->data + have, want - have);
		*crc = crc_upd(*crc, (char *)t->data + have, got);
		have += got;
		if (have < want)
			return short_read(s, "data", have, nb);
	}
	return RQ_OK;
nomem:
	seterr(s, "out of memory for %zu bytes of data", nb);
	return RQ_ENOMEM;
}

int
rq_tensor_read(rq_stream *s, rq_tensor *t)
{
	unsigned char h[16 + 8 * RQ_MAX_NDIM + 4];
	unsigned char tr[8];
	uint32_t hcrc, dcrc, namelen, metalen, version;
	size_t got, nb, hlen, es;
	uint64_t dims[RQ_MAX_NDIM];
	int dtype, ndim, rc;

	if (s->writing) {
		seterr(s, "stream is open for writing");
		return RQ_EINVAL;
	}
	if (s->err[0])
		s->rec++;
	s->err[0] = '\0';
	got = rd(s, h, 16);
	if (got == 0 && !ferror(s->fp))
		return RQ_EOF;
	if (got >= 4 && memcmp(h, magic, 4) != 0) {
		seterr(s, "bad magic %02x %02x %02x %02x (want 89 52 51 54, "
		    "\"\\x89RQT\"): not an rq tensor stream",
		    h[0], h[1], h[2], h[3]);
		return RQ_EFORMAT;
	}
	if (got != 16)
		return short_read(s, "header", got, 16);
	version = (uint32_t)h[4] | (uint32_t)h[5] << 8;
	dtype = h[6];
	ndim = h[7];
	namelen = get32(h + 8);
	metalen = get32(h + 12);
	if (version < 1 || version > RQ_VERSION) {
		seterr(s, "unsupported version %u (this reader knows 1..%d)",
		    version, RQ_VERSION);
		return RQ_EFORMAT;
	}
	if ((es = rq_dtype_size(dtype)) == 0) {
		seterr(s, "unknown dtype code %d", dtype);
		return RQ_EFORMAT;
	}
	if (ndim > RQ_MAX_NDIM) {
		seterr(s, "ndim %d exceeds the limit %d", ndim, RQ_MAX_NDIM);
		return RQ_EFORMAT;
	}
	if (namelen > RQ_NAME_MAX) {
		seterr(s, "name length %u exceeds %d", namelen, RQ_NAME_MAX);
		return RQ_EFORMAT;
	}
	if (metalen > RQ_META_MAX) {
		seterr(s, "metadata length %u exceeds %d", metalen,
		    RQ_META_MAX);
		return RQ_EFORMAT;
	}
	if ((got = rd(s, h + 16, 8 * (size_t)ndim)) != 8 * (size_t)ndim)
		return short_read(s, "dims", got, 8 * (size_t)ndim);
	for (int i = 0; i < ndim; i++)
		dims[i] = get64(h + 16 + 8 * i);
	hcrc = crc_upd(0, h, 16 + 8 * (size_t)ndim);
	if ((got = rd(s, t->name, namelen)) != namelen)
		return short_read(s, "name", got, namelen);
	t->name[namelen] = '\0';
	hcrc = crc_upd(hcrc, t->name, namelen);
	if (metalen + 1 > t->meta_cap) {
		char *m = realloc(t->meta, metalen + 1);
		if (m == NULL) {
			seterr(s, "out of memory for metadata");
			return RQ_ENOMEM;
		}
		t->meta = m;
		t->meta_cap = metalen + 1;
	}
	if ((got = rd(s, t->meta, metalen)) != metalen)
		return short_read(s, "metadata", got, metalen);
	t->meta[metalen] = '\0';
	t->meta_len = metalen;
	hcrc = crc_upd(hcrc, t->meta, metalen);
	if ((got = rd(s, tr, 4)) != 4)
		return short_read(s, "header checksum", got, 4);
	if (get32(tr) != hcrc) {
		seterr(s, "header checksum mismatch (stored %08x, computed "
		    "%08x): corrupt header", get32(tr), hcrc);
		return RQ_EFORMAT;
	}
	if (memchr(t->name, '\0', namelen) || memchr(t->name, '\n', namelen)) {
		seterr(s, "name contains a NUL or newline byte");
		return RQ_EFORMAT;
	}
	if (!rq_meta_valid(t->meta, metalen)) {
		seterr(s, "malformed metadata (want key=value lines)");
		return RQ_EFORMAT;
	}
	hlen = 16 + 8 * (size_t)ndim + namelen + metalen + 4;
	if ((rc = check_zero(s, pad8(hlen), "header padding")) != RQ_OK)
		return rc;
	if (rq_numel_of(ndim, dims, es, &nb) != RQ_OK) {
		seterr(s, "size overflow: the dims multiply past 2^64 bytes");
		return RQ_EFORMAT;
	}
	if (nb > s->limit) {
		seterr(s, "data of %zu bytes exceeds the limit of %llu", nb,
		    (unsigned long long)s->limit);
		return RQ_ERANGE;
	}
	if (s->is_reg) {
		uint64_t left = s->size - RQ_MIN(s->off, s->size);

		if (nb > left || left - nb < pad8(nb) + 8) {
			seterr(s, "truncated data: header says %zu bytes, "
			    "file has %llu left", nb, (unsigned long long)left);
			return RQ_EFORMAT;
		}
	}
	if ((rc = read_data(s, t, nb, &dcrc)) != RQ_OK)
		return rc;
	if ((rc = check_zero(s, pad8(nb), "data padding")) != RQ_OK)
		return rc;
	if ((got = rd(s, tr, 8)) != 8)
		return short_read(s, "data checksum", got, 8);
	if (get32(tr) != dcrc) {
		seterr(s, "data checksum mismatch (stored %08x, computed "
		    "%08x): corrupt data", get32(tr), dcrc);
		return RQ_EFORMAT;
	}
	if (get32(tr + 4) != 0) {
		seterr(s, "nonzero reserved trailer word");
		return RQ_EFORMAT;
	}
	t->dtype = dtype;
	t->ndim = ndim;
	for (int i = 0; i < RQ_MAX_NDIM; i++)
		t->dims[i] = i < ndim ? dims[i] : 0;
	t->nbytes = nb;
	s->rec++;
	return RQ_OK;
}

static int
wr(rq_stream *s, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, s->fp) != n) {
		seterr(s, "write: %s", strerror(errno));
		return RQ_EIO;
	}
	s->off += n;
	return RQ_OK;
}

int
rq_tensor_write(rq_stream *s, const rq_tensor *t)
{
	unsigned char h[16 + 8 * RQ_MAX_NDIM], tr[8];
	static const unsigned char zero[8];
	size_t namelen = strlen(t->name), es = rq_dtype_size(t->dtype), nb;
	uint32_t crc;
	int rc;

	s->err[0] = '\0';
	if (!s->writing) {
		seterr(s, "stream is open for reading");
		return RQ_EINVAL;
	}
	if (es == 0 || t->ndim < 0 || t->ndim > RQ_MAX_NDIM ||
	    namelen > RQ_NAME_MAX || memchr(t->name, '\n', namelen) ||
	    t->meta_len > RQ_META_MAX || (t->meta_len && t->meta == NULL) ||
	    (t->nbytes && t->data == NULL) ||
	    rq_numel_of(t->ndim, t->dims, es, &nb) != RQ_OK ||
	    nb != t->nbytes || (t->meta_len &&
	    !rq_meta_valid(t->meta, t->meta_len))) {
		seterr(s, "invalid tensor '%s' (dtype, shape, name or "
		    "metadata)", t->name);
		return RQ_EINVAL;
	}
	memcpy(h, magic, 4);
	h[4] = RQ_VERSION & 0xff;
	h[5] = RQ_VERSION >> 8;
	h[6] = (unsigned char)t->dtype;
	h[7] = (unsigned char)t->ndim;
	put32(h + 8, (uint32_t)namelen);
	put32(h + 12, (uint32_t)t->meta_len);
	for (int i = 0; i < t->ndim; i++)
		put64(h + 16 + 8 * i, t->dims[i]);
	crc = crc_upd(0, h, 16 + 8 * (size_t)t->ndim);
	crc = crc_upd(crc, t->name, namelen);
	crc = crc_upd(crc, t->meta, t->meta_len);
	put32(tr, crc);
	if ((rc = wr(s, h, 16 + 8 * (size_t)t->ndim)) ||
	    (rc = wr(s, t->name, namelen)) ||
	    (rc = wr(s, t->meta, t->meta_len)) || (rc = wr(s, tr, 4)) ||
	    (rc = wr(s, zero, pad8(16 + 8 * (size_t)t->ndim + namelen +
	    t->meta_len + 4))))
		return rc;
	crc = crc_upd(0, t->data, nb);
	put32(tr, crc);
	put32(tr + 4, 0);
	if ((rc = wr(s, t->data, nb)) || (rc = wr(s, zero, pad8(nb))) ||
	    (rc = wr(s, tr, 8)))
		return rc;
	s->rec++;
	return RQ_OK;
}

/*
 * Finish a stream.  Written files are flushed, fsynced and renamed into
 * place; on any failure the temporary is removed and the old file stays.
 * Returns RQ_OK or RQ_EIO (message in a static buffer via errno).
 */
int
rq_stream_close(rq_stream *s)
{
	int rc = RQ_OK;

	if (s == NULL)
		return RQ_OK;
	if (s->writing && s->af.fp) {
		rc = rq_afile_commit(&s->af);
	} else if (s->writing && s->own) {
		if (fclose(s->fp) != 0)
			rc = RQ_EIO;
	} else if (s->writing) {
		if (fflush(s->fp) != 0 || ferror(s->fp))
			rc = RQ_EIO;
	} else if (s->own) {
		fclose(s->fp);
	}
	free(s->name);
	free(s);
	return rc;
}

void
rq_stream_abort(rq_stream *s)
{
	if (s == NULL)
		return;
	if (s->writing && s->af.fp)
		rq_afile_abort(&s->af);
	else if (s->own)
		fclose(s->fp);
	free(s->name);
	free(s);
}
