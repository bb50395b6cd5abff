#!/usr/bin/env python3
"""gen-badwav.py: the damaged WAV fixtures of testdata/ (issue 16).

Run from the repository root:  python3 testdata/gen-badwav.py
  wav-truncated.wav   16-bit mono, 200 frames declared, the file cut after
                      120 (a copy interrupted mid-transfer)
  wav-overclaim.wav   16-bit mono, whole file of 100 frames whose data
                      chunk header declares 400 (a lying header)
  wav-float-nan.wav   32-bit float mono, 64 frames, frame 10 a NaN
  wav-float-ok.wav    the same without the NaN (the control)
"""
import math
import struct


def wav(fmt_code, bits, frames, data, declared=None, sr=8000):
    """RIFF/WAVE bytes: fmt chunk, then a data chunk declaring `declared`
    bytes (default: the bytes given)."""
    ba = bits // 8
    fmt = struct.pack('<HHIIHH', fmt_code, 1, sr, sr * ba, ba, bits)
    n = len(data) if declared is None else declared
    body = b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt
    body += b'data' + struct.pack('<I', n) + data
    return b'RIFF' + struct.pack('<I', 4 + 8 + len(fmt) + 8 + n) + body


def pcm16(frames):
    return b''.join(struct.pack('<h', int(8000 * math.sin(i / 5)))
                    for i in range(frames))


def f32(frames, nan_at=None):
    return b''.join(struct.pack('<f', float('nan') if i == nan_at else
                                0.5 * math.sin(i / 3)) for i in range(frames))


full = wav(1, 16, 200, pcm16(200))
open('testdata/wav-truncated.wav', 'wb').write(full[:44 + 2 * 120])
open('testdata/wav-overclaim.wav', 'wb').write(
    wav(1, 16, 100, pcm16(100), declared=800))
open('testdata/wav-float-nan.wav', 'wb').write(wav(3, 32, 64, f32(64, 10)))
open('testdata/wav-float-ok.wav', 'wb').write(wav(3, 32, 64, f32(64)))
