#!/usr/bin/python3
"""extract_ref.py: rq-extract's audio features, independently, in numpy/scipy.

The reference side of bench/extract-rate.sh: the same features as
`rq-extract -k logmel` and `rq-extract -k cremad` (man/rq-extract.1),
computed with the definitions of testdata/gen-golden.py (melfb from
testdata/audio_ref.py, which both use; stft_mag and the CREMA-D lines
restated here, vectorised over the frames of each clip, since
gen-golden.py writes the test fixtures when imported):

  logmel  8 kHz (resample_poly when not), centred STFT (zero padding of
          n_fft/2) n_fft 256, periodic Hann of 200 centred in the frame,
          hop 80, power through a 40-band HTK mel filterbank 0-4000 Hz,
          log(mel + 1e-6), frames centre-cropped or centre-padded with
          log(1e-6) to 48: [n, 40, 48];
  cremad  resample_poly to 22,050 Hz, tiled to 3 s (66,150 samples),
          clipped to [-1, 1], centred STFT n_fft 512, Hann 512, hop 353,
          log(|S| + 1e-7): [n, 257, 188].

Computed in float64 (numpy's and gen-golden.py's default), stored as
float32 like rq's stream.  Reading the WAVs is inside the timed loop, as
it is for rq-extract; the interpreter start, the imports and writing
OUT.npy are not (the caller times the whole process as well).  OUT may
be /dev/null.  Prints one line on standard output:

  impl=numpy kind=K clips=N seconds=S cpu_seconds=C clips_per_s=R

usage: extract_ref.py logmel|cremad OUT.npy FILE...
"""
import math
import sys
import time

import os

import numpy as np
from scipy import signal
from scipy.io import wavfile

# the mel filterbank of testdata/gen-golden.py, shared with it
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "testdata"))
from audio_ref import melfb  # noqa: E402

# logmel (rq_logmel_defaults in lib/mel.c)
SR, N_FFT, WIN, HOP, N_MELS, FRAMES, EPS = 8000, 256, 200, 80, 40, 48, 1e-6
# cremad (lib/stft.c)
C_SR, C_LEN, C_FFT, C_HOP, C_FRAMES, C_EPS = 22050, 66150, 512, 353, 188, 1e-7


def centred_window(n_fft, win):
    # periodic Hann of win samples centred in the n_fft frame
    w = np.zeros(n_fft)
    off = (n_fft - win) // 2
    w[off:off + win] = signal.get_window('hann', win, fftbins=True)
    return w


def stft_mag(x, w, hop, nf=None):
    """|STFT| [nf, n_fft/2+1], centred with zero padding.

    gen-golden.py's stft_mag with its per-frame list replaced by a strided
    view of all frames (frames on axis 0 here, so the FFT runs over
    contiguous rows).
    """
    n_fft = len(w)
    xp = np.pad(x, n_fft // 2)
    if nf is None:
        nf = 1 + len(x) // hop
    fr = np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop][:nf]
    return np.abs(np.fft.rfft(fr * w, axis=1))


def read_wav(path):
    """Mono float64 samples in [-1, 1) and the rate, scaled as libsndfile
    scales to float (16-bit: / 32768)."""
    sr, a = wavfile.read(path)
    if a.dtype == np.uint8:
        x = (a.astype(np.float64) - 128.0) / 128.0
    elif a.dtype.kind == 'i':
        x = a.astype(np.float64) / float(2 ** (8 * a.dtype.itemsize - 1))
    else:
        x = a.astype(np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return x, sr


def resample(x, sr, to):
    if sr == to:
        return x
    g = math.gcd(sr, to)
    return signal.resample_poly(x, to // g, sr // g)


def logmel(x, sr, fbT, w, logeps):
    x = resample(x, sr, SR)
    # nf >= 1 even for an empty clip (1 + 0 // hop): rq analyses it too
    e = np.log(stft_mag(x, w, HOP) ** 2 @ fbT + EPS).T    # [40, nf]
    nf = e.shape[1]
    if nf >= FRAMES:                        # centre crop
        off = (nf - FRAMES) // 2
        return e[:, off:off + FRAMES]
    out = np.full((N_MELS, FRAMES), logeps)  # centre pad with silence
    off = (FRAMES - nf) // 2
    out[:, off:off + nf] = e
    return out


def cremad(x, sr, w):
    x = resample(x, sr, C_SR)
    # repeat until 3 s are covered, keep the first 66,150 (the authors'
    # np.tile(x, 3)[:66150] for clips of 1 s or more)
    y = np.clip(np.tile(x, -(-C_LEN // len(x)))[:C_LEN], -1, 1)
    return np.log(stft_mag(y, w, C_HOP, C_FRAMES) + C_EPS).T   # [257, 188]


def main(argv):
    if len(argv) < 4 or argv[1] not in ('logmel', 'cremad'):
        sys.stderr.write('usage: extract_ref.py logmel|cremad OUT.npy '
                         'FILE...\n')
        return 2
    kind, out, files = argv[1], argv[2], argv[3:]
    if kind == 'logmel':
        shape = (N_MELS, FRAMES)
        fbT = melfb(N_MELS, N_FFT, SR, 0, SR / 2).T
        w = centred_window(N_FFT, WIN)
        logeps = np.log(EPS)
    else:
        shape = (C_FFT // 2 + 1, C_FRAMES)
        w = signal.get_window('hann', C_FFT, fftbins=True)
    feat = np.empty((len(files),) + shape, np.float32)

    t0, c0 = time.perf_counter(), time.process_time()
    for i, p in enumerate(files):
        x, sr = read_wav(p)
        if kind == 'logmel':
            feat[i] = logmel(x, sr, fbT, w, logeps)
        else:
            if len(x) == 0:
                sys.stderr.write('extract_ref.py: %s: empty clip\n' % p)
                return 1
            feat[i] = cremad(x, sr, w)
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0

    # a file object, so that np.save neither appends .npy nor refuses
    # /dev/null
    with open(out, 'wb') as f:
        np.save(f, feat)
    print('impl=numpy kind=%s clips=%d seconds=%.3f cpu_seconds=%.3f '
          'clips_per_s=%.1f' % (kind, len(files), sec, cpu,
                                len(files) / sec if sec > 0 else 0))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
