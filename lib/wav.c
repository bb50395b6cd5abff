/*
 * wav.c: audio files through libsndfile (WAV, FLAC, AIFF, Ogg, ...), mixed
 * down to one channel of floats in [-1, 1].  libsndfile clamps a WAV's
 * frame count to the bytes present, so a truncated file would read as a
 * shorter clip: the RIFF chunk sizes are checked here against the file
 * size first.  Samples that are not finite (a float WAV can hold NaN)
 * are refused: every feature computed from them would be NaN.
 */
#include <sys/stat.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "rq.h"

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * A RIFF/WAVE file's data chunk must hold the bytes its header declares.
 * RQ_OK for other formats, for a file without a data chunk (libsndfile
 * refuses those), and for the sizes 0 and 0xFFFFFFFF that streaming
 * writers (and RF64, with its ds64 chunk) leave as "unknown".
 */
static int
riff_check(const char *path, char *err, size_t errn)
{
	unsigned char h[12];
	struct stat sb;
	FILE *fp;
	uint64_t off = 12, size;
	int rc = RQ_OK;

	if ((fp = fopen(path, "rb")) == NULL)
		return RQ_OK;	/* libsndfile read it; nothing more to check */
	if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    fread(h, 1, 12, fp) != 12 || memcmp(h, "RIFF", 4) != 0 ||
	    memcmp(h + 8, "WAVE", 4) != 0)
		goto out;
	size = (uint64_t)sb.st_size;
	while (off + 8 <= size) {
		uint32_t n;

		if (fseeko(fp, (off_t)off, SEEK_SET) != 0 || fread(h, 1, 8, fp) != 8)
			break;
		n = le32(h + 4);
		if (memcmp(h, "data", 4) == 0) {
			if (n != 0 && n != 0xFFFFFFFFu && off + 8 + n > size) {
				snprintf(err, errn, "%s: truncated: the data chunk "
				    "declares %lu bytes, the file holds %llu", path,
				    (unsigned long)n,
				    (unsigned long long)(size - off - 8));
				rc = RQ_EFORMAT;
			}
			break;
		}
		off += 8 + (uint64_t)n + (n & 1);
	}
out:
	fclose(fp);
	return rc;
}

int
rq_wav_read(const char *path, float **x, size_t *n, int *sr, char *err,
    size_t errn)
{
	SF_INFO info;
	SNDFILE *sf;
	float *buf = NULL, *mono;
	sf_count_t got;
	size_t frames, ch;
	int rc;

	memset(&info, 0, sizeof info);
	*x = NULL;
	*n = 0;
	if ((sf = sf_open(path, SFM_READ, &info)) == NULL) {
		snprintf(err, errn, "%s: %s", path, sf_strerror(NULL));
		return RQ_EFORMAT;
	}
	if (info.channels < 1 || info.samplerate < 1 || info.frames < 0 ||
	    (uint64_t)info.frames > ((uint64_t)1 << 34) / (uint64_t)info.channels) {
		snprintf(err, errn, "%s: implausible header (%d channels, "
		    "%d Hz, %lld frames)", path, info.channels, info.samplerate,
		    (long long)info.frames);
		sf_close(sf);
		return RQ_EFORMAT;
	}
	frames = (size_t)info.frames;
	ch = (size_t)info.channels;
	if ((buf = malloc((frames ? frames : 1) * ch * sizeof *buf)) == NULL) {
		sf_close(sf);
		snprintf(err, errn, "%s: out of memory", path);
		return RQ_ENOMEM;
	}
	got = sf_readf_float(sf, buf, info.frames);
	if (got != info.frames || sf_error(sf) != SF_ERR_NO_ERROR) {
		snprintf(err, errn, "%s: truncated or unreadable: frame %lld "
		    "of %lld", path, (long long)(got < 0 ? 0 : got),
		    (long long)info.frames);
		free(buf);
		sf_close(sf);
		return RQ_EFORMAT;
	}
	sf_close(sf);
	if (frames == 0) {
		snprintf(err, errn, "%s: no audio frames", path);
		free(buf);
		return RQ_EFORMAT;
	}
	if ((rc = riff_check(path, err, errn)) != RQ_OK) {
		free(buf);
		return rc;
	}
	for (size_t i = 0; i < frames * ch; i++)
		if (!isfinite(buf[i])) {
			snprintf(err, errn, "%s: frame %zu: non-finite sample",
			    path, i / ch);
			free(buf);
			return RQ_ENUM;
		}
	mono = buf;
	if (ch > 1) {
		for (size_t i = 0; i < frames; i++) {
			double s = 0;
			for (size_t c = 0; c < ch; c++)
				s += buf[i * ch + c];
			mono[i] = (float)(s / (double)ch);
		}
		if ((mono = realloc(buf, frames * sizeof *mono)) == NULL)
			mono = buf;
	}
	*x = mono;
	*n = frames;
	*sr = info.samplerate;
	return RQ_OK;
}

/* 16-bit PCM WAV, mono; for fixtures and tests */
int
rq_wav_write(const char *path, const float *x, size_t n, int sr)
{
	SF_INFO info;
	SNDFILE *sf;
	sf_count_t put;

	memset(&info, 0, sizeof info);
	info.samplerate = sr;
	info.channels = 1;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	if ((sf = sf_open(path, SFM_WRITE, &info)) == NULL)
		return RQ_EIO;
	put = sf_writef_float(sf, x, (sf_count_t)n);
	if (sf_close(sf) != 0 || put != (sf_count_t)n)
		return RQ_EIO;
	return RQ_OK;
}
