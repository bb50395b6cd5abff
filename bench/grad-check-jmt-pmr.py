#!/usr/bin/env python3
"""grad-check-jmt-pmr.py: rq and PyTorch agree on one training step of
JMT and of PMR (a sibling of grad-check.py).

For each configuration: draw weights (torch_mt's init plus noise, so no
gradient is trivially zero), save them as .npy, import them into rq with
`rq-npy`, run ONE forward+backward (dropout off) from identical weights on
an identical batch in rq (bench/jmtpmr-step) and in a PyTorch version
written here from rq-train(1)'s description, and compare the loss and
every gradient, ||g_rq - g_torch|| / ||g_torch|| <= --tol (1e-4).
PyTorch also runs in float64, to read each figure against float32
rounding.  JMT runs with a rotation R in layer 1; PMR with prototypes
drawn near the class means, once with the audio side ahead (beta_v =
alpha) and once with the visual side ahead (beta_a = alpha).

usage: grad-check-jmt-pmr.py [--rq-npy bin/rq-npy]
           [--step bench/jmtpmr-step] [--tol 1e-4] [-v]
"""
import argparse
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gradcheck as gc  # noqa: E402
import torch_mt  # noqa: E402

K = 10


def names(cfg, method):
    """rq's parameter table of the method, in order."""
    base = torch_mt.names(cfg)
    enc = [x for x in base if x[0].startswith("enc.")]
    probes = [x for x in base if x[0].startswith("probe.")]
    d = cfg.d
    if method == "pmr":
        return enc + [("head.w", (K, 2 * d)), ("head.b", (K,))] + probes
    fus = [x for x in base if x[0].startswith("fusion.") and
           not x[0].startswith("fusion.fc")]
    jmt = []
    for p in "qkvo":
        jmt += [("jmt.%s.w" % p, (d, d)), ("jmt.%s.b" % p, (d,))]
    fc = [x for x in base if x[0].startswith("fusion.fc")]
    return enc + fus + jmt + fc + probes


def torch_loss(P, cfg, method, audio, visual, y, R, proto, alpha):
    """The loss of rq-train(1)'s JMT or PMR, eval mode (no dropout)."""
    import torch
    import torch.nn.functional as F
    n, d = audio.shape[0], cfg.d
    ta = torch_mt.patches(audio.reshape(n, 1, cfg.F, cfg.T), cfg.apf,
                          cfg.apt)
    tv = torch_mt.patches(visual, cfg.vph, cfg.vpw)
    xa = torch_mt.encoder(P, cfg, "a", ta)
    xv = torch_mt.encoder(P, cfg, "v", tv)
    za, zv = xa[:, 0], xv[:, 0]
    la = F.linear(za.detach(), P["probe.a.w"], P["probe.a.b"])
    lv = F.linear(zv.detach(), P["probe.v.w"], P["probe.v.b"])
    probes = F.cross_entropy(la, y) + F.cross_entropy(lv, y)
    if method == "pmr":
        logits = F.linear(torch.cat([za, zv], 1), P["head.w"], P["head.b"])
        loss = F.cross_entropy(logits, y) + probes
        s = [-torch.cdist(z, proto[m]) for m, z in enumerate((za, zv))]
        pt = [torch.softmax(x, 1).gather(1, y[:, None]).sum().item()
              for x in s]
        beta = [0.0, 0.0]
        if pt[0] > pt[1]:
            beta[1] = alpha
        elif pt[0] < pt[1]:
            beta[0] = alpha
        for m in range(2):
            if beta[m]:
                loss = loss + beta[m] * F.cross_entropy(s[m], y)
        return loss, beta
    # JMT layer 1: Vanilla MT's fusion layer (R after W_q), one query
    seq = torch.cat([P["fusion.cls"].expand(n, 1, d), xa, xv], 1)
    q = F.linear(P["fusion.cls"], P["fusion.q.w"], P["fusion.q.b"]) @ R.t()
    k = F.linear(seq, P["fusion.k.w"], P["fusion.k.b"])
    v = F.linear(seq, P["fusion.v.w"], P["fusion.v.b"])
    a = torch.softmax((k @ q) / math.sqrt(d), -1)
    y1 = F.linear(torch.einsum("nt,ntc->nc", a, v), P["fusion.o.w"],
                  P["fusion.o.b"])
    # layer 2: the query of y1 per sample over [y1 ; cls_a ; cls_v]
    s2 = torch.stack([y1, za, zv], 1)
    q2 = F.linear(y1, P["jmt.q.w"], P["jmt.q.b"])
    k2 = F.linear(s2, P["jmt.k.w"], P["jmt.k.b"])
    v2 = F.linear(s2, P["jmt.v.w"], P["jmt.v.b"])
    a2 = torch.softmax(torch.einsum("nc,ntc->nt", q2, k2) / math.sqrt(d),
                       -1)
    y2 = F.linear(torch.einsum("nt,ntc->nc", a2, v2), P["jmt.o.w"],
                  P["jmt.o.b"])
    logits = F.linear(y2, P["fusion.fc.w"], P["fusion.fc.b"])
    return F.cross_entropy(logits, y) + probes, None


def one(a, name, method, d, L, H, B, flip, work):
    import torch
    torch.set_num_threads(1)
    ns = argparse.Namespace(d=d, layers=L, heads=H, classes=K,
                            audio=(40, 32), visual=(1, 28, 28),
                            apatch=(10, 8), vpatch=(7, 7), dropout=0.0,
                            rollingq=True)
    cfg = torch_mt.Cfg(ns)
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(4321 + d + flip)
    P0 = torch_mt.init_params(cfg, seed=d)
    W = {}
    for n, shp in names(cfg, method):
        w = (P0[n].detach().numpy() if n in P0 else
             rng.standard_normal(shp) * math.sqrt(2.0 / sum(shp)) if
             len(shp) == 2 else np.zeros(shp))
        W[n] = (w + 0.05 * rng.standard_normal(shp)).astype(np.float32)
    audio = rng.standard_normal((B, 40, 32)).astype(np.float32)
    visual = rng.standard_normal((B, 1, 28, 28)).astype(np.float32)
    y = (np.arange(B) % K).astype(np.int32)
    R = gc.rotation(d, rng)
    files = gc.save(work, W)
    # prototypes: the class means of the features, perturbed (PMR); the
    # flip makes the other modality the faster one
    with torch.no_grad():
        Pt = {n: torch.tensor(w, dtype=torch.float64) for n, w in W.items()}
        n_ = B
        ta = torch_mt.patches(torch.tensor(audio, dtype=torch.float64)
                              .reshape(n_, 1, 40, 32), cfg.apf, cfg.apt)
        tv = torch_mt.patches(torch.tensor(visual, dtype=torch.float64),
                              cfg.vph, cfg.vpw)
        za = torch_mt.encoder(Pt, cfg, "a", ta)[:, 0].numpy()
        zv = torch_mt.encoder(Pt, cfg, "v", tv)[:, 0].numpy()
    proto = np.zeros((2, K, d))
    for k in range(K):
        for m, z in enumerate((za, zv)):
            sel = z[y == k]
            near = 0.3 if (m == 0) != bool(flip) else 3.0
            proto[m, k] = (sel.mean(0) if len(sel) else 0) + \
                near * rng.standard_normal(d)
    # the step's third operand: the prototypes (PMR) or R (JMT)
    f = os.path.join(work, "proto.npy" if method == "pmr" else "R.npy")
    np.save(f, proto if method == "pmr" else R)
    extra = [f[:-4] + ".rqt"]
    gc.run([a.rq_npy, "-o", extra[0], f])
    g = gc.rq_step(a, [a.step, "-m", method, "-d", str(d), "-L", str(L),
                       "-H", str(H), "-b", str(B)], files,
                   gc.save_batch(work, (audio, visual, y)), work, extra)
    beta = [None]

    def loss(P, dt):
        lo, beta[0] = torch_loss(
            P, cfg, method, torch.tensor(audio, dtype=dt),
            torch.tensor(visual, dtype=dt), torch.tensor(y, dtype=torch.long),
            torch.tensor(R, dtype=dt), torch.tensor(proto, dtype=dt), 0.6)
        return lo

    t32 = gc.torch_grads(W, "f32", loss)
    c = gc.compare(a, g, t32, gc.torch_grads(W, "f64", loss))
    return gc.report(name, 34, g, t32, c, "%s%s" % (
        "; beta " + str(beta[0]) if beta[0] is not None else "",
        "; exact-zero: " + ",".join(c.zeros) if c.zeros else ""))


CONFIGS = [
    # name, method, d, layers, heads, batch, flip
    ("JMT d32 L1 H4, R != I", "jmt", 32, 1, 4, 12, 0),
    ("JMT d64 L2 H4, R != I", "jmt", 64, 2, 4, 8, 0),
    ("PMR d32 L1 H4, audio ahead", "pmr", 32, 1, 4, 12, 0),
    ("PMR d64 L2 H4, visual ahead", "pmr", 64, 2, 4, 12, 1),
]


if __name__ == "__main__":
    gc.main(__doc__, CONFIGS, one, "rq-gradcheck-jp.",
            step=("--step", "bench/jmtpmr-step"))
