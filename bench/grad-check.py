#!/usr/bin/env python3
"""grad-check.py: rq and PyTorch agree on one training step.

For each configuration: draw weights in PyTorch (DESIGN.md init plus small
noise so no gradient is trivially zero), save them as .npy, import them
into rq with `rq-npy`, run ONE forward+backward (dropout off) from the
identical weights on the identical batch in both (rq through
bench/model-step -g, PyTorch through bench/torch_mt.py step), export rq's
gradients with `rq-npy --export`, and compare the loss and every gradient
(the plumbing shared with the other grad-check scripts: gradcheck.py).
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
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gradcheck as gc  # noqa: E402
import torch_mt  # noqa: E402

CONFIGS = [
    # name, d, layers, heads, batch, rotation
    ("default d64 L2 H4, R=I", 64, 2, 4, 16, False),
    ("default d64 L2 H4, RollingQ R", 64, 2, 4, 16, True),
    ("large d256 L4 H8, RollingQ R", 256, 4, 8, 4, True),
]


def one(a, name, d, L, H, B, rot, work):
    ns = argparse.Namespace(d=d, layers=L, heads=H, classes=10,
                            audio=(40, 32), visual=(1, 28, 28),
                            apatch=(10, 8), vpatch=(7, 7), dropout=0.0,
                            rollingq=rot)
    cfg = torch_mt.Cfg(ns)
    wdir, bdir = os.path.join(work, "w"), os.path.join(work, "b")
    rng = np.random.default_rng(1234 + d)
    P = torch_mt.init_params(cfg, seed=d)
    W = {n: (t.detach().numpy() + 0.02 * rng.standard_normal(t.shape))
         .astype(np.float32) for n, t in P.items()}
    files = gc.save(wdir, W)
    if rot:
        files.append(os.path.join(wdir, "9999-R.npy"))
        np.save(files[-1], gc.rotation(d, rng))
    bfiles = gc.save_batch(bdir, (
        rng.standard_normal((B, 40, 32)).astype(np.float32),
        rng.standard_normal((B, 1, 28, 28)).astype(np.float32),
        rng.integers(0, 10, B).astype(np.int32)))
    g = gc.rq_step(a, [a.model_step, "-d", str(d), "-L", str(L), "-H",
                       str(H), "-b", str(B), "-g"], files, bfiles, work)
    ref = {}
    for prec in ("f32", "f64"):
        tdir = os.path.join(work, "t" + prec)
        base = ["-d", str(d), "-L", str(L), "--heads", str(H),
                "--weights", wdir, "--data", bdir, "--out", tdir]
        if prec == "f64":
            base.append("--double")
        gc.run([sys.executable, os.path.join(HERE, "torch_mt.py"), "step"] +
               base)
        ref[prec] = {f[:-4]: np.load(os.path.join(tdir, f))
                     for f in os.listdir(tdir)}
    c = gc.compare(a, g, ref["f32"], ref["f64"])
    return gc.report(name, 30, g, ref["f32"], c,
                     "; torch f32/f64 worst %.0e%s" % (
                         c.worst32, "; exact-zero: " + ",".join(c.zeros)
                         if c.zeros else ""))


if __name__ == "__main__":
    gc.main(__doc__, CONFIGS, one, "rq-gradcheck.")
