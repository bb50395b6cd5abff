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
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_mt  # noqa: E402

K = 10


def run(cmd, **kw):
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        sys.exit("grad-check-jmt-pmr.py: failed (%d): %s"
                 % (r.returncode, " ".join(cmd)))
    return r


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


def rotation(d, rng):
    x, y = rng.standard_normal((2, d))
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    c = x @ y
    u = y - c * x
    s = np.linalg.norm(u)
    w = u / s
    return (np.eye(d) + (c - 1) * (np.outer(x, x) + np.outer(w, w)) +
            s * (np.outer(w, x) - np.outer(x, w)))


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
    R = rotation(d, rng)
    files = []
    for i, (n, w) in enumerate(W.items()):
        f = os.path.join(work, "%04d-%s.npy" % (i, n))
        np.save(f, w)
        files.append(f)
    prq, brq = os.path.join(work, "p.rqt"), os.path.join(work, "b.rqt")
    run([a.rq_npy, "-o", prq] + files)
    for n, x in (("audio", audio), ("visual", visual), ("label", y)):
        np.save(os.path.join(work, n + ".npy"), x)
    run([a.rq_npy, "-o", brq] + [os.path.join(work, n + ".npy")
                                 for n in ("audio", "visual", "label")])
    extra, proto = [], None
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
    if method == "pmr":
        f = os.path.join(work, "proto.npy")
        np.save(f, proto)
        extra = [os.path.join(work, "proto.rqt")]
        run([a.rq_npy, "-o", extra[0], f])
        cmd = [a.step, "-m", "pmr"]
    else:
        f = os.path.join(work, "R.npy")
        np.save(f, R)
        extra = [os.path.join(work, "R.rqt")]
        run([a.rq_npy, "-o", extra[0], f])
        cmd = [a.step, "-m", "jmt"]
    grq = os.path.join(work, "g.rqt")
    with open(grq, "wb") as out:
        run(cmd + ["-d", str(d), "-L", str(L), "-H", str(H), "-b", str(B),
                   prq, brq] + extra, stdout=out)
    gdir = os.path.join(work, "g")
    os.makedirs(gdir, exist_ok=True)
    run([a.rq_npy, "--export", "--dir", gdir, grq])
    g = {}
    for f in os.listdir(gdir):
        g[f[:-4].split("-", 1)[1]] = np.load(os.path.join(gdir, f))
    ref, beta = {}, None
    for dt in (torch.float32, torch.float64):
        P = {n: torch.tensor(w, dtype=dt, requires_grad=True)
             for n, w in W.items()}
        loss, beta = torch_loss(
            P, cfg, method, torch.tensor(audio, dtype=dt),
            torch.tensor(visual, dtype=dt), torch.tensor(y, dtype=torch.long),
            torch.tensor(R, dtype=dt), torch.tensor(proto, dtype=dt), 0.6)
        loss.backward()
        ref[dt] = {"loss": loss.item()}
        ref[dt].update({"grad." + n: p.grad.numpy() for n, p in P.items()})

    def rel(x, y_):
        x, y_ = np.asarray(x, np.float64), np.asarray(y_, np.float64)
        ny = np.linalg.norm(y_)
        return np.linalg.norm(x - y_) / ny if ny > 0 else np.linalg.norm(x)

    t32, t64 = ref[torch.float32], ref[torch.float64]
    gn = [n for n in t32 if n.startswith("grad.")]
    total = math.sqrt(sum(np.sum(t64[n] ** 2) for n in gn))
    worst, worst_n, zeros = 0.0, "", []
    lrel = rel(g["loss"], t32["loss"])
    for n in gn:
        x = g[n].reshape(t32[n].shape)
        if np.linalg.norm(t64[n]) <= 1e-9 * total:
            r = max(np.linalg.norm(x), np.linalg.norm(t32[n])) / total
            zeros.append(n[5:])
        else:
            r = rel(x, t32[n])
        if a.verbose:
            print("  %-28s rq/torch %.2e  torch32/torch64 %.2e"
                  % (n[5:], r, rel(t32[n], t64[n])))
        if r > worst:
            worst, worst_n = r, n[5:]
    ok = worst <= a.tol and lrel <= a.tol
    print("%-4s %-34s loss rq %.7f torch %.7f (rel %.0e); %d gradients, "
          "worst rel %.1e (%s)%s%s"
          % ("ok" if ok else "FAIL", name, float(g["loss"][0]), t32["loss"],
             lrel, len(gn), worst, worst_n,
             "; beta " + str(beta) if beta is not None else "",
             "; exact-zero: " + ",".join(zeros) if zeros else ""))
    return ok


CONFIGS = [
    # name, method, d, layers, heads, batch, flip
    ("JMT d32 L1 H4, R != I", "jmt", 32, 1, 4, 12, 0),
    ("JMT d64 L2 H4, R != I", "jmt", 64, 2, 4, 8, 0),
    ("PMR d32 L1 H4, audio ahead", "pmr", 32, 1, 4, 12, 0),
    ("PMR d64 L2 H4, visual ahead", "pmr", 64, 2, 4, 12, 1),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rq-npy", default="bin/rq-npy")
    ap.add_argument("--step", default="bench/jmtpmr-step")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--keep")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="rq-gradcheck-jp.")
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
