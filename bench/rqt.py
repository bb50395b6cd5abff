"""rqt.py: read and write rq tensor streams (rq-tensor(5)) with NumPy.

A helper of bench/run-bench.sh only, not installed and not a supported
module (rq itself never runs Python): to open rq tensors in Python, export
them with `rq-npy -x` and use numpy.load.  The layout mirrors
lib/tensor_io.c: per record a 16-byte header + 8 bytes per dim, the name,
the metadata, a CRC-32 of all of those, zero padding to 8, the data (C
order, little-endian), padding to 8, CRC-32 of the data and 4 zero bytes.
"""
import struct
import zlib

import numpy as np

MAGIC = b"\x89RQT"
DTYPES = {1: "u1", 2: "i1", 3: "<u2", 4: "<i2", 5: "<u4", 6: "<i4",
          7: "<u8", 8: "<i8", 9: "<f4", 10: "<f8"}
CODES = {np.dtype(v).str: k for k, v in DTYPES.items()}
CODES.update({np.dtype("u1").str: 1, np.dtype("i1").str: 2})


def pad8(n):
    return (8 - n % 8) % 8


def write(fp, name, arr, meta=None):
    """Append one record; meta is a dict of key -> value."""
    arr = np.ascontiguousarray(arr)
    code = CODES[arr.dtype.newbyteorder("<").str
                 if arr.dtype.itemsize > 1 else arr.dtype.str]
    arr = arr.astype(np.dtype(DTYPES[code]), copy=False)
    nm = name.encode()
    md = "".join("%s=%s\n" % (k, v) for k, v in (meta or {}).items()).encode()
    h = MAGIC + struct.pack("<HBBII", 1, code, arr.ndim, len(nm), len(md))
    h += b"".join(struct.pack("<Q", d) for d in arr.shape)
    h += nm + md
    h += struct.pack("<I", zlib.crc32(h) & 0xffffffff)
    h += b"\0" * pad8(len(h))
    data = arr.tobytes()
    fp.write(h)
    fp.write(data)
    fp.write(b"\0" * pad8(len(data)))
    fp.write(struct.pack("<II", zlib.crc32(data) & 0xffffffff, 0))


def read(fp):
    """Yield (name, array, meta dict) for every record of a stream."""
    while True:
        h = fp.read(16)
        if not h:
            return
        if len(h) < 16 or h[:4] != MAGIC:
            raise ValueError("not an rq stream")
        _, code, ndim, nl, ml = struct.unpack("<HBBII", h[4:16])
        rest = fp.read(8 * ndim + nl + ml + 4)
        dims = struct.unpack("<%dQ" % ndim, rest[:8 * ndim])
        name = rest[8 * ndim:8 * ndim + nl].decode()
        md = rest[8 * ndim + nl:8 * ndim + nl + ml].decode()
        fp.read(pad8(16 + len(rest)))
        dt = np.dtype(DTYPES[code])
        n = int(np.prod(dims, dtype=np.int64)) * dt.itemsize
        data = fp.read(n)
        fp.read(pad8(n) + 8)
        meta = dict(l.split("=", 1) for l in md.splitlines() if "=" in l)
        yield name, np.frombuffer(data, dt).reshape(dims).copy(), meta
