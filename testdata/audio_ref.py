"""audio_ref.py: the numpy definitions of rq's audio features that are
shared by testdata/gen-golden.py (the golden values of tests/test_audio.c)
and bench/extract_ref.py (the numpy side of bench/extract-rate.sh), so
both check rq against one reference."""
import numpy as np


def hz2mel(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel2hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def melfb(n_mels, n_fft, sr, fmin, fmax):
    """HTK triangles (peak 1, no area normalisation), [n_mels, n_fft/2+1]"""
    h = mel2hz(np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2))
    f = np.arange(n_fft // 2 + 1) * sr / n_fft
    fb = np.zeros((n_mels, len(f)))
    for m in range(n_mels):
        lo = (f - h[m]) / (h[m + 1] - h[m])
        hi = (h[m + 2] - f) / (h[m + 2] - h[m + 1])
        fb[m] = np.maximum(0, np.minimum(lo, hi))
    return fb
