#!/usr/bin/env python3
"""grad-check.py: rq and PyTorch agree on one training step.

For each configuration: draw weights in PyTorch (DESIGN.md init plus small
noise so no gradient is trivially zero), save them as .npy, import them
into rq with `rq-npy`, run ONE forward+backward (dropout off) from the
identical weights on the identical batch in both (rq through
bench/model-step -g, PyTorch through bench/torch_mt.py step), export rq's
gradients with `rq-npy -x`, and compare the loss and every gradient.
PyTorch also runs in float64, so each figure can be read against the
float32 rounding level.

Agreement criterion (per tensor): ||g_rq - g_torch|| / ||g_torch|| <=
--tol (1e-4), and the same for the loss.  A gradient that is zero in exact
arithmetic (float64 norm <= 1e-9 of the whole gradient's: fusion.k.b,
since the softmax ignores q.b_k, which is the same for every key) holds
only rounding noise on both sides; it passes if that noise is <= tol of
the whole gradient's norm.  Prints one line per config and
the worst tensor; exit 0 if all pass, 1 otherwise.

usage: grad-check.py [--rq-npy bin/rq-npy] [--model-step bench/model-step]
                     [--tol 1e-4] [--keep DIR] [-v]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_mt  # noqa: E402

CONFIGS = [
    # name, d, layers, heads, batch, rotation
    ("default d64 L2 H4, R=I", 64, 2, 4, 16, False),
    ("default d64 L2 H4, RollingQ R", 64, 2, 4, 16, True),
    ("large d256 L4 H8, RollingQ R", 256, 4, 8, 4, True),
]


def run(cmd, **kw):
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        sys.exit("grad-check.py: failed (%d): %s" % (r.returncode,
                                                     " ".join(cmd)))
    return r


def rotation(d, rng):
    x, y = rng.standard_normal((2, d))
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    c = x @ y
    u = y - c * x
    s = np.linalg.norm(u)
    w = u / s
    return (np.eye(d) + (c - 1) * (np.outer(x, x) + np.outer(w, w)) +
            s * (np.outer(w, x) - np.outer(x, w)))


def one(a, name, d, L, H, B, rot, work):
    import torch
    torch.set_num_threads(1)
    ns = argparse.Namespace(d=d, layers=L, heads=H, classes=10,
                            audio=(40, 32), visual=(1, 28, 28),
                            apatch=(10, 8), vpatch=(7, 7), dropout=0.0,
                            rollingq=rot)
    cfg = torch_mt.Cfg(ns)
    wdir, bdir = os.path.join(work, "w"), os.path.join(work, "b")
    for p in (wdir, bdir):
        os.makedirs(p, exist_ok=True)
    rng = np.random.default_rng(1234 + d)
    P = torch_mt.init_params(cfg, seed=d)
    files = []
    for i, (n, t) in enumerate(P.items()):
        w = t.detach().numpy() + 0.02 * rng.standard_normal(t.shape)
        f = os.path.join(wdir, "%04d-%s.npy" % (i, n))
        np.save(f, w.astype(np.float32))
        files.append(f)
    if rot:
        f = os.path.join(wdir, "9999-R.npy")
        np.save(f, rotation(d, rng))
        files.append(f)
    np.save(os.path.join(bdir, "audio.npy"),
            rng.standard_normal((B, 40, 32)).astype(np.float32))
    np.save(os.path.join(bdir, "visual.npy"),
            rng.standard_normal((B, 1, 28, 28)).astype(np.float32))
    np.save(os.path.join(bdir, "label.npy"),
            rng.integers(0, 10, B).astype(np.int32))
    prq, brq = os.path.join(work, "params.rqt"), os.path.join(work, "b.rqt")
    run([a.rq_npy, "-o", prq] + files)
    run([a.rq_npy, "-o", brq] + [os.path.join(bdir, x + ".npy")
                                 for x in ("audio", "visual", "label")])
    grq, gdir = os.path.join(work, "grads.rqt"), os.path.join(work, "g")
    with open(grq, "wb") as out:
        run([a.model_step, "-d", str(d), "-L", str(L), "-H", str(H),
             "-b", str(B), "-g", prq, brq], stdout=out)
    os.makedirs(gdir, exist_ok=True)
    run([a.rq_npy, "-x", "-d", gdir, grq])
    g = {}
    for f in os.listdir(gdir):
        n = f[:-4].split("-", 1)[1]
        g[n] = np.load(os.path.join(gdir, f))
    ref = {}
    for prec in ("f32", "f64"):
        tdir = os.path.join(work, "t" + prec)
        base = ["-d", str(d), "-L", str(L), "--heads", str(H),
                "--weights", wdir, "--data", bdir, "--out", tdir]
        if prec == "f64":
            base.append("--double")
        run([sys.executable, os.path.join(HERE, "torch_mt.py"), "step"] +
            base)
        ref[prec] = {f[:-4]: np.load(os.path.join(tdir, f))
                     for f in os.listdir(tdir)}

    def rel(x, y):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        ny = np.linalg.norm(y)
        return np.linalg.norm(x - y) / ny if ny > 0 else np.linalg.norm(x)

    t32, t64 = ref["f32"], ref["f64"]
    gn = [n for n in t32 if n.startswith("grad.")]
    total = np.sqrt(sum(np.sum(t64[n].astype(np.float64) ** 2) for n in gn))
    worst, worst_n, worst32, zeros = 0.0, "", 0.0, []
    lrel = rel(g["loss"], t32["loss"])
    for n in gn:
        if n not in g:
            sys.exit("grad-check.py: rq gave no %s" % n)
        x = g[n].reshape(t32[n].shape)
        if np.linalg.norm(t64[n]) <= 1e-9 * total:
            # exactly zero in exact arithmetic (fusion.k.b: softmax is
            # invariant to q.b_k, the same for every key): both sides
            # hold rounding noise, so compare against the whole gradient
            r = max(np.linalg.norm(x), np.linalg.norm(t32[n])) / total
            zeros.append(n[5:])
        else:
            r = rel(x, t32[n])
            worst32 = max(worst32, rel(t32[n], t64[n]))
        if a.verbose:
            print("  %-32s rq/torch %.2e  torch32/torch64 %.2e  rq/torch64 "
                  "%.2e%s" % (n[5:], r, rel(t32[n], t64[n]),
                              rel(x, t64[n]),
                              "  (zero: |g|/|all grads|)"
                              if n[5:] in zeros else ""))
        if r > worst:
            worst, worst_n = r, n[5:]
    ok = worst <= a.tol and lrel <= a.tol
    print("%-4s %-30s loss rq %.7f torch %.7f (rel %.0e); %d gradients, "
          "worst rel %.1e (%s); torch f32/f64 worst %.0e%s"
          % ("ok" if ok else "FAIL", name, float(g["loss"][0]),
             float(t32["loss"][0]), lrel, len(gn), worst, worst_n,
             worst32, "; exact-zero: " + ",".join(zeros) if zeros else ""))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rq-npy", default="bin/rq-npy")
    ap.add_argument("--model-step", default="bench/model-step")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--keep")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="rq-gradcheck.")
    ok = True
    try:
        for i, c in enumerate(CONFIGS):
            ok &= one(a, c[0], *c[1:], os.path.join(work, str(i)))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
