#!/usr/bin/python3
"""gen-npy.py: the .npy fixtures of tests/npy.t, written by numpy itself.

Run from the repository root (numpy 1.24 wrote the committed files):
    /usr/bin/python3 testdata/gen-npy.py

For each case NAME, testdata/npy/NAME.npy is an array as numpy writes it
(Fortran order, big-endian, bool, float16, ...) and NAME.want.npy the same
values as rq-npy must import them: C order, little-endian, bool as u1,
float16 widened to float32.  tests/npy.t imports NAME.npy, exports it with
rq-npy -x and compares the file with NAME.want.npy byte for byte.
bad-*.npy are dtypes rq-npy refuses, with a whole error message.
"""
import os

import numpy as np

D = "testdata/npy"
os.makedirs(D, exist_ok=True)
for f in os.listdir(D):
    if f.endswith(".npy"):
        os.remove(os.path.join(D, f))


def case(name, a):
    np.save(os.path.join(D, name + ".npy"), a)
    w = np.array(a, order="C")
    if w.dtype == np.bool_:
        w = w.astype("u1")
    elif w.dtype.kind == "f" and w.dtype.itemsize == 2:
        w = w.astype("<f4")
    else:
        w = w.astype(w.dtype.newbyteorder("<"))
    np.save(os.path.join(D, name + ".want.npy"), w)


r = np.arange
case("fortran-i4", np.asfortranarray(r(6, dtype="<i4").reshape(2, 3) - 2))
case("fortran-f8-3d", np.asfortranarray(r(24, dtype="<f8").reshape(2, 3, 4) / 8))
case("fortran-u1-4d", np.asfortranarray(r(24, dtype="u1").reshape(1, 2, 3, 4)))
case("be-f4", (r(6, dtype=">f4").reshape(2, 3) - 2.5))
case("be-i2", r(-3, 3, dtype=">i2") * 1000)
case("be-u8", r(3, dtype=">u8") * (1 << 40) + 1)
case("be-i8-fortran", np.asfortranarray((r(6, dtype=">i8") - 3).reshape(3, 2)))
case("bool", np.array([[True, False, True], [False, False, True]]))
case("bool-fortran", np.asfortranarray(r(6).reshape(2, 3) % 4 == 1))
case("f2", np.array([0, -0.0, 1, -2.5, 0.1, 65504, 2 ** -24, -2 ** -14,
                     6.1e-5, np.inf, -np.inf, np.nan], dtype="<f2"))
case("f2-be-fortran", np.asfortranarray(np.array([[1.5, -3], [1e-3, 1e4]],
                                                 dtype=">f2")))
case("i1-scalar", np.array(-7, dtype="i1"))
np.save(os.path.join(D, "bad-c8.npy"), np.zeros(2, dtype="<c8"))
np.save(os.path.join(D, "bad-U3.npy"), np.array(["ab", "c"], dtype="<U3"))
np.save(os.path.join(D, "bad-struct.npy"),
        np.zeros(2, dtype=[("a", "<f4"), ("b", "<i2")]))
