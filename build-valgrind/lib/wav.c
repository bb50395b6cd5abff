/*
 * wav.c: audio files through libsndfile (WAV, FLAC, AIFF, Ogg, ...), mixed
 * down to one channel of floats in [-1, 1].
 */
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "rq.h"

int
rq_wav_read(const char *path, float **x, size_t *n, int *sr, char *err,
    size_t errn)
{
	SF_INFO info;
	SNDFILE *sf;
	float *buf = NULL, *mono;
	sf_count_t got;
	size_t frames, ch;

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
