#!/usr/bin/python3
# gen-golden.py: golden values for tests/test_audio.c, computed once with
# numpy and scipy (independent of rq).  Regenerate from the repo root with
#   /usr/bin/python3 testdata/gen-golden.py
# (Debian python3-numpy 1.24, python3-scipy 1.10).  Files written:
#   testdata/tone.wav        0.1 s at 8 kHz, 16-bit PCM: chirp + noise
#   testdata/melfb.txt       HTK mel filterbank, 40 x 129 (sr 8000, n_fft 256)
#   testdata/stft.txt        |STFT| of tone.wav, n_fft 256 win 200 hop 80,
#                            centred, 129 x 11
#   testdata/logmel.txt      log(mel power + 1e-6) of tone.wav, 40 x 16
#                            (11 frames centre-padded to 16)
#   testdata/resample_in.wav 1000 samples at 16 kHz, 16-bit PCM
#   testdata/resample.txt    resample_poly(x, 441, 320) of resample_in.wav
#   testdata/resample2.txt   resample_poly(x[:500], 441, 160)
#   testdata/cremad_in.wav   5513 samples (0.25 s) at 22,050 Hz, 16-bit PCM
#   testdata/cremad.txt      CREMA-D recipe on cremad_in.wav: frames
#                            0-3 and 186-187 of the 257 x 188 log spectrogram
import wave
import numpy as np
from scipy import signal

from audio_ref import melfb   # shared with bench/extract_ref.py

rng = np.random.default_rng(4)
sr = 8000
n = 800
t = np.arange(n) / sr
x = 0.5 * signal.chirp(t, 200, t[-1], 3000) + 0.05 * rng.standard_normal(n)
pcm = np.clip(np.round(x * 32767), -32768, 32767).astype('<i2')
with wave.open('testdata/tone.wav', 'wb') as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(sr)
    w.writeframes(pcm.tobytes())
x = pcm.astype(np.float64) / 32768.0


def stft_mag(x, n_fft, win, hop):
    # librosa-style: centred with zero padding, periodic Hann of win
    # samples centred in the n_fft frame
    w = np.zeros(n_fft)
    off = (n_fft - win) // 2
    w[off:off + win] = signal.get_window('hann', win, fftbins=True)
    xp = np.pad(x, n_fft // 2)
    nf = 1 + len(x) // hop
    fr = np.stack([xp[i * hop:i * hop + n_fft] for i in range(nf)], 1)
    return np.abs(np.fft.rfft(fr * w[:, None], axis=0))


def wavsave(path, x, rate):
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype('<i2')
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return pcm.astype(np.float64) / 32768.0


def save(path, a, note):
    a = np.asarray(a, dtype=np.float64)
    with open(path, 'w') as f:
        f.write('# %s; shape %s\n' % (note, ' '.join(map(str, a.shape))))
        for v in a.ravel():
            f.write('%.9g\n' % v)


fb = melfb(40, 256, 8000, 0, 4000)
save('testdata/melfb.txt', fb, 'HTK mel filterbank 40 x 129')
S = stft_mag(x, 256, 200, 80)
save('testdata/stft.txt', S, '|STFT| tone.wav 256/200/80 centred')
E = np.log(fb @ (S ** 2) + 1e-6)
L = np.full((40, 16), np.log(1e-6))
off = (16 - E.shape[1]) // 2
L[:, off:off + E.shape[1]] = E
save('testdata/logmel.txt', L, 'log-mel tone.wav 40 x 16 centre-padded')

r16 = 0.3 * np.sin(2 * np.pi * 440 * np.arange(1000) / 16000) + \
    0.1 * rng.standard_normal(1000)
r16 = wavsave('testdata/resample_in.wav', r16, 16000)
save('testdata/resample.txt', signal.resample_poly(r16, 441, 320),
     'resample_poly(in, 441, 320)')
save('testdata/resample2.txt', signal.resample_poly(r16[:500], 441, 160),
     'resample_poly(in[:500], 441, 160)')

c = 0.4 * np.sin(2 * np.pi * 330 * np.arange(5513) / 22050) + \
    0.05 * rng.standard_normal(5513)
c = wavsave('testdata/cremad_in.wav', c, 22050)
y = np.tile(c, 12)[:66150]
y = np.clip(y, -1, 1)
w = signal.get_window('hann', 512, fftbins=True)
yp = np.pad(y, 256)
fr = np.stack([yp[i * 353:i * 353 + 512] for i in range(188)], 1)
C = np.log(np.abs(np.fft.rfft(fr * w[:, None], axis=0)) + 1e-7)
save('testdata/cremad.txt', C[:, [0, 1, 2, 3, 186, 187]],
     'CREMA-D log spectrogram, frames 0-3 and 186-187, 257 x 6')
