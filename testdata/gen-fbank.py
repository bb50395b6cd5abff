#!/usr/bin/python3
# gen-fbank.py: golden values for the Kinetics-Sounds audio recipe
# (rq-extract -k ksfbank, lib/fbank.c), computed once with torchaudio's
# Kaldi-compatible filterbank, independent of rq.  Regenerate from the
# repo root with
#   /usr/bin/python3 testdata/gen-fbank.py
# (Debian python3-torchaudio 0.13.1, python3-torch, python3-numpy 1.24).
# The recipe, per clip: torchaudio.load (16-bit PCM / 32768), subtract the
# clip's mean, kaldi.fbank(htk_compat=True, sample_frequency=sr,
# use_energy=False, window_type='hanning', num_mel_bins=128, dither=0.0,
# frame_shift=10) with Kaldi's other defaults, zero-pad or cut the frame
# axis to T, then (x + 4.503877) / (2 * 5.141276).  Files written:
#   testdata/ks16k.wav     0.3 s at 16 kHz, 16-bit PCM: chirp, noise, DC
#                          (28 frames)
#   testdata/ks22k.wav     0.2 s at 22,050 Hz, 16-bit PCM: tones + noise
#                          (18 frames)
#   testdata/ksfbank.txt   for ks16k then ks22k at T=1024: a header line,
#                          then the real frames and the first pad frame,
#                          128 values each, frame after frame (a cut to
#                          T < frames keeps the first T, so the test of
#                          the cut uses the first frames of ks16k)
import wave

import numpy as np
import torch
import torchaudio


def write(path, x, sr):
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype('<i2')
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def recipe(path, target):
    x, sr = torchaudio.load(path)
    x = x - x.mean()
    fb = torchaudio.compliance.kaldi.fbank(
        x, htk_compat=True, sample_frequency=sr, use_energy=False,
        window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)
    n = fb.shape[0]
    p = target - n
    if p > 0:
        fb = torch.nn.ZeroPad2d((0, 0, 0, p))(fb)
    elif p < 0:
        fb = fb[0:target, :]
    fb = (fb - -4.503877) / (5.141276 * 2)
    return n, fb.numpy()


rng = np.random.default_rng(18)
t = np.arange(4800) / 16000
x = 0.4 * np.sin(2 * np.pi * (300 * t + 6000 * t * t)) + \
    0.05 * rng.standard_normal(t.size) + 0.1
write('testdata/ks16k.wav', x, 16000)
t = np.arange(4410) / 22050
x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 5000 * t) + \
    0.02 * rng.standard_normal(t.size)
write('testdata/ks22k.wav', x, 22050)

with open('testdata/ksfbank.txt', 'w') as f:
    for path, target in (('testdata/ks16k.wav', 1024),
                         ('testdata/ks22k.wav', 1024)):
        n, fb = recipe(path, target)
        keep = min(n + 1, target)
        f.write('# %s T=%d frames=%d kept=%d\n' % (path, target, n, keep))
        for v in fb[:keep].ravel():
            f.write('%.8g\n' % v)
