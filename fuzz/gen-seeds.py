#!/usr/bin/env python3
"""gen-seeds.py: write the small seed corpora of testdata/fuzz/<target>/.

Independent of librq: records are packed field by field from rq-tensor(5)
with struct and zlib.crc32, .npy files from the NumPy format spec.
Run from the repository root: python3 fuzz/gen-seeds.py
"""
import os
import struct
import zlib

CODES = {'u8': (1, 'B'), 'i8': (2, 'b'), 'u16': (3, 'H'), 'i16': (4, 'h'),
         'u32': (5, 'I'), 'i32': (6, 'i'), 'u64': (7, 'Q'), 'i64': (8, 'q'),
         'f32': (9, 'f'), 'f64': (10, 'd')}


def pad8(n):
    return (8 - n % 8) % 8


def record(name, dtype, dims, values, meta=b''):
    code, fmt = CODES[dtype]
    name = name.encode()
    h = b'\x89RQT' + struct.pack('<HBBII', 1, code, len(dims), len(name),
                                 len(meta))
    h += b''.join(struct.pack('<Q', d) for d in dims) + name + meta
    h += struct.pack('<I', zlib.crc32(h))
    h += b'\0' * pad8(len(h))
    data = struct.pack('<%d%s' % (len(values), fmt), *values)
    return h + data + b'\0' * pad8(len(data)) + \
        struct.pack('<II', zlib.crc32(data), 0)


def npy(descr, shape, data, version=1, fortran=False):
    sh = '(' + ''.join('%d,' % d for d in shape)
    sh = (sh[:-1] if len(shape) > 1 else sh) + ')'
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, 'True' if fortran else 'False', sh)
    pre = 10 if version == 1 else 12
    total = (pre + len(hdr) + 1 + 63) // 64 * 64
    hdr = hdr + ' ' * (total - pre - len(hdr) - 1) + '\n'
    ln = struct.pack('<H', len(hdr)) if version == 1 else \
        struct.pack('<I', len(hdr))
    return b'\x93NUMPY' + bytes([version, 0]) + ln + hdr.encode() + data


def put(target, name, blob):
    d = os.path.join('testdata', 'fuzz', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(blob)


meta = b'classes=3\nsplit=train\nnorm.mean=0.5\n'
put('stream', 'scalar', record('x', 'f64', [], [1.5]))
put('stream', 'empty', record('e', 'u8', [0, 4], []))
put('stream', 'group',
    record('audio', 'f32', [2, 2, 3], [0.1 * i for i in range(12)], meta) +
    record('visual', 'f32', [2, 1, 2, 2], [i for i in range(8)], meta) +
    record('label', 'i32', [2], [0, 2], meta) +
    record('id', 'i64', [2], [7, 9]))
put('stream', 'dtypes', b''.join(
    record('t.' + k, k, [3], [1, 2, 3] if k[0] != 'f' else [0.5, -1, 2])
    for k in CODES))
put('stream', 'truncated', record('label', 'i32', [4], [1, 2, 3, 4])[:-9])

put('npy', 'f32-2x3.npy', npy('<f4', [2, 3],
                              struct.pack('<6f', *range(6))))
put('npy', 'i64-4.npy', npy('<i8', [4], struct.pack('<4q', 1, -2, 3, -4)))
put('npy', 'u8-scalar.npy', npy('|u1', [], b'\x07'))
put('npy', 'f64-v2.npy', npy('<f8', [1, 2], struct.pack('<2d', 1, 2), 2))
put('npy', 'i16-v3.npy', npy('<i2', [2, 1, 1], struct.pack('<2h', 1, 2), 3))
put('npy', 'fortran.npy', npy('<f4', [2, 2], b'\0' * 16, fortran=True))
put('npy', 'bigendian.npy', npy('>f4', [1], b'\0' * 4))

# WAV through the standard library's wave module: 8-bit mono, 16-bit stereo
import io
import wave


def wav(rate, ch, width, frames):
    b = io.BytesIO()
    with wave.open(b, 'wb') as w:
        w.setnchannels(ch)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return b.getvalue()


put('wav', 'u8-mono.wav', wav(8000, 1, 1, bytes(range(0, 256, 16))))
put('wav', 's16-stereo.wav', wav(22050, 2, 2, struct.pack(
    '<8h', 0, 100, -100, 32767, -32768, 5, 6, 7)))
put('wav', 'empty.wav', wav(16000, 1, 2, b''))


# PNG from the spec: signature, IHDR, IDAT (zlib), IEND; filter byte 0
def chunk(kind, body):
    return struct.pack('>I', len(body)) + kind + body + \
        struct.pack('>I', zlib.crc32(kind + body))


def png(w, h, depth, color, rows, extra=b''):
    return b'\x89PNG\r\n\x1a\n' + \
        chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, color, 0, 0, 0)) \
        + extra + chunk(b'IDAT', zlib.compress(b''.join(b'\0' + r
                                                         for r in rows))) \
        + chunk(b'IEND', b'')


put('png', 'gray8-2x2.png', png(2, 2, 8, 0, [b'\x00\xff', b'\x80\x40']))
put('png', 'rgb8-2x1.png', png(2, 1, 8, 2, [b'\xff\x00\x00\x00\xff\x00']))
put('png', 'rgba16-1x1.png', png(1, 1, 16, 6, [b'\xff\xff\0\0\x12\x34\0\0']))
put('png', 'pal-2x1.png', png(2, 1, 8, 3, [b'\x00\x01'],
                              chunk(b'PLTE', b'\xff\0\0\0\0\xff') +
                              chunk(b'tRNS', b'\x80')))
put('png', 'gray1-8x1.png', png(8, 1, 1, 0, [b'\xa5']))

# IDX (MNIST): 00 00 type ndim, big-endian u32 dims, big-endian data
import gzip


def idx(code, dims, data):
    return b'\0\0' + bytes([code, len(dims)]) + \
        b''.join(struct.pack('>I', d) for d in dims) + data


put('idx', 'u8-2x3.idx', idx(0x08, [2, 3], bytes(range(6))))
put('idx', 'f32-2.idx', idx(0x0D, [2], struct.pack('>2f', 1.5, -2)))
put('idx', 'i16-3.idx.gz', gzip.compress(idx(0x0B, [3],
                                             struct.pack('>3h', 1, -1, 2)),
                                         mtime=0))
put('idx', 'f64-1.idx', idx(0x0E, [1], struct.pack('>d', 3.25)))

# manifests of rq-extract(1): path[;path...],label,split
put('manifest', 'basic.csv', b'# path,label,split\n'
    b'a/0.wav,0,train\nb/1.wav;b/1b.png,1,test\r\n\nc,d.wav,9,val\n')
put('manifest', 'bad-label.csv', b'x.wav,-1,train\n')
