#!/usr/bin/env python3
"""grad-check-mbt-mmml.py: rq and PyTorch agree on one training step of MBT
and of MMML.

The sibling of grad-check.py for the Table 1 comparison models: draw
weights in PyTorch, save them as .npy, import them into rq with `rq-npy`,
run ONE forward+backward (dropout off) from the identical weights on the
identical batch in both (rq through bench/model-step -m mbt -g, PyTorch
through the model written out below, independently of lib/), and compare
the loss and every gradient; PyTorch also runs in float64 so each figure
can be read against the float32 rounding level.

The PyTorch MBT: each modality's ViT encoder blocks (pre-LN, eps 1e-6,
exact GELU), then F bottleneck layers: a' = Block_a([Tb ; a]),
v' = Block_v([Tb ; v]) with one head and their own weights; Tb <- (a'[:, :T]
+ v'[:, :T]) / 2, a <- a'[:, T:], v <- v'[:, T:]; Tb starts from the
learned mbt.bot [T,d]; final LN per modality; logits = Linear([CLS_a ;
CLS_v]); probes on the detached CLS rows; loss = CE(fused) + CE(probe a) +
CE(probe v).

The PyTorch MMML: the encoders (with their final LN), then F CME layers;
per stream s with other stream o, both from the layer's inputs, post-LN
with eps 1e-12, multi-head (the encoders' heads):
h1 = LN(x_s + MHA(Q = x_s, K = V = x_o)); h2 = LN(h1 + MHA(h1, h1, h1));
out_s = LN(h2 + fc2(ReLU(fc1(h2)))); logits = fc3(ReLU(fc2(ReLU(fc1(
[out_a[:, 0] ; out_v[:, 0]]))))), widths 2d -> d -> d/2 -> K; the probes
as MBT.  With "rq" in the config, row 0 of each self-attention query
(after W_q) of the last layer is rotated by that stream's R (mmml-rq).

Agreement (per tensor): ||g_rq - g_torch|| / ||g_torch|| <= --tol (1e-4),
and the same for the loss.  A gradient that is zero in exact arithmetic
(float64 norm <= 1e-9 of the whole gradient's: every attention's k.b, as
softmax ignores q.b_k, the same for every key) holds only rounding noise
on both sides; it passes if that noise is <= tol of the whole gradient's
norm.  Prints one line per config; exit 0 if all
pass, 1 otherwise.

usage: grad-check-mbt-mmml.py [--rq-npy bin/rq-npy]
           [--model-step bench/model-step] [--tol 1e-4] [--keep DIR] [-v]
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

CONFIGS = [
    # name, method, d, encoder blocks, heads, batch, fusion layers, tokens
    ("mbt d64 L2 H4 + 1 layer, 4 tokens", "mbt", 64, 2, 4, 8, 1, 4),
    ("mbt d32 L1 H2 + 3 layers, 2 tokens", "mbt", 32, 1, 2, 6, 3, 2),
    ("mmml d64 L2 H4 + 1 CME layer", "mmml", 64, 2, 4, 8, 1, 0),
    ("mmml d32 L1 H2 + 2 CME layers", "mmml", 32, 1, 2, 6, 2, 0),
]
F_, T_, C_, H_, W_ = 40, 32, 1, 28, 28     # model-step's default shapes
APF, APT, VP = 10, 8, 7
K = 10


def run(cmd, **kw):
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        sys.exit("grad-check-mbt-mmml.py: failed (%d): %s" %
                 (r.returncode, " ".join(cmd)))
    return r


def blk_names(pre, d):
    return [(pre + "ln1.g", (d,)), (pre + "ln1.b", (d,)),
            (pre + "attn.qkv.w", (3 * d, d)), (pre + "attn.qkv.b", (3 * d,)),
            (pre + "attn.proj.w", (d, d)), (pre + "attn.proj.b", (d,)),
            (pre + "ln2.g", (d,)), (pre + "ln2.b", (d,)),
            (pre + "mlp.fc1.w", (4 * d, d)), (pre + "mlp.fc1.b", (4 * d,)),
            (pre + "mlp.fc2.w", (d, 4 * d)), (pre + "mlp.fc2.b", (d,))]


def names(method, d, L, nf, nt):
    na = (F_ // APF) * (T_ // APT)
    nv = (H_ // VP) * (W_ // VP)
    out = []
    for m, n, pd in (("a", na, APF * APT), ("v", nv, C_ * VP * VP)):
        e = "enc.%s." % m
        out += [(e + "patch.w", (d, pd)), (e + "patch.b", (d,)),
                (e + "cls", (d,)), (e + "pos", (n + 1, d))]
        for i in range(L):
            out += blk_names(e + "blk.%d." % i, d)
        out += [(e + "ln.g", (d,)), (e + "ln.b", (d,))]
    if method == "mbt":
        out += [("mbt.bot", (nt, d))]
        for i in range(nf):
            for m in "av":
                out += blk_names("mbt.%s.blk.%d." % (m, i), d)
        out += [("head.w", (K, 2 * d)), ("head.b", (K,))]
    if method == "mmml":
        for i in range(nf):
            for m in "av":
                pre = "cme.%d.%s." % (i, m)
                for s in ("cross", "self"):
                    for x in "qkvo":
                        out += [(pre + s + "." + x + ".w", (d, d)),
                                (pre + s + "." + x + ".b", (d,))]
                    out += [(pre + s + ".ln.g", (d,)),
                            (pre + s + ".ln.b", (d,))]
                out += [(pre + "ffn.fc1.w", (4 * d, d)),
                        (pre + "ffn.fc1.b", (4 * d,)),
                        (pre + "ffn.fc2.w", (d, 4 * d)),
                        (pre + "ffn.fc2.b", (d,)),
                        (pre + "ffn.ln.g", (d,)), (pre + "ffn.ln.b", (d,))]
        out += [("head.fc1.w", (d, 2 * d)), ("head.fc1.b", (d,)),
                ("head.fc2.w", (d // 2, d)), ("head.fc2.b", (d // 2,)),
                ("head.fc3.w", (K, d // 2)), ("head.fc3.b", (K,))]
    out += [("probe.a.w", (K, d)), ("probe.a.b", (K,)),
            ("probe.v.w", (K, d)), ("probe.v.b", (K,))]
    return out


def block(P, b, x, heads):
    import torch
    import torch.nn.functional as F
    n, t, d = x.shape
    hs = d // heads
    y = F.layer_norm(x, (d,), P[b + "ln1.g"], P[b + "ln1.b"], 1e-6)
    qkv = F.linear(y, P[b + "attn.qkv.w"], P[b + "attn.qkv.b"])
    qkv = qkv.reshape(n, t, 3, heads, hs).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    a = torch.softmax((q @ k.transpose(-2, -1)) * (hs ** -0.5), -1)
    y = (a @ v).transpose(1, 2).reshape(n, t, d)
    x = x + F.linear(y, P[b + "attn.proj.w"], P[b + "attn.proj.b"])
    y = F.layer_norm(x, (d,), P[b + "ln2.g"], P[b + "ln2.b"], 1e-6)
    y = F.gelu(F.linear(y, P[b + "mlp.fc1.w"], P[b + "mlp.fc1.b"]))
    return x + F.linear(y, P[b + "mlp.fc2.w"], P[b + "mlp.fc2.b"])


def embed_blocks(P, m, tok, L, heads):
    import torch
    import torch.nn.functional as F
    e = "enc.%s." % m
    n, d = tok.shape[0], P[e + "cls"].shape[0]
    x = F.linear(tok, P[e + "patch.w"], P[e + "patch.b"])
    x = torch.cat([P[e + "cls"].expand(n, 1, d), x], 1) + P[e + "pos"]
    for i in range(L):
        x = block(P, e + "blk.%d." % i, x, heads)
    return x


def loss_mbt(P, audio, visual, y, L, heads, nf, nt):
    import torch
    import torch.nn.functional as F
    n = audio.shape[0]
    d = P["enc.a.cls"].shape[0]
    ta = torch_mt.patches(audio.reshape(n, 1, F_, T_), APF, APT)
    tv = torch_mt.patches(visual, VP, VP)
    xa = embed_blocks(P, "a", ta, L, heads)
    xv = embed_blocks(P, "v", tv, L, heads)
    tb = P["mbt.bot"].expand(n, nt, d)
    for i in range(nf):
        za = block(P, "mbt.a.blk.%d." % i, torch.cat([tb, xa], 1), 1)
        zv = block(P, "mbt.v.blk.%d." % i, torch.cat([tb, xv], 1), 1)
        tb = (za[:, :nt] + zv[:, :nt]) / 2
        xa, xv = za[:, nt:], zv[:, nt:]
    xa = F.layer_norm(xa, (d,), P["enc.a.ln.g"], P["enc.a.ln.b"], 1e-6)
    xv = F.layer_norm(xv, (d,), P["enc.v.ln.g"], P["enc.v.ln.b"], 1e-6)
    logits = F.linear(torch.cat([xa[:, 0], xv[:, 0]], 1), P["head.w"],
                      P["head.b"])
    la = F.linear(xa[:, 0].detach(), P["probe.a.w"], P["probe.a.b"])
    lv = F.linear(xv[:, 0].detach(), P["probe.v.w"], P["probe.v.b"])
    return (F.cross_entropy(logits, y) + F.cross_entropy(la, y) +
            F.cross_entropy(lv, y))


def mha(P, pre, x, src, heads, R=None):
    import torch
    import torch.nn.functional as F
    n, t, d = x.shape
    hs = d // heads
    q = F.linear(x, P[pre + "q.w"], P[pre + "q.b"])
    if R is not None:
        q = torch.cat([(q[:, 0] @ R.t()).unsqueeze(1), q[:, 1:]], 1)
    k = F.linear(src, P[pre + "k.w"], P[pre + "k.b"])
    v = F.linear(src, P[pre + "v.w"], P[pre + "v.b"])
    q = q.reshape(n, t, heads, hs).transpose(1, 2)
    k = k.reshape(n, -1, heads, hs).transpose(1, 2)
    v = v.reshape(n, -1, heads, hs).transpose(1, 2)
    a = torch.softmax((q @ k.transpose(-2, -1)) * (hs ** -0.5), -1)
    y = (a @ v).transpose(1, 2).reshape(n, t, d)
    y = F.linear(y, P[pre + "o.w"], P[pre + "o.b"])
    return F.layer_norm(x + y, (d,), P[pre + "ln.g"], P[pre + "ln.b"],
                        1e-12)


def loss_mmml(P, audio, visual, y, L, heads, nf, R=None):
    import torch
    import torch.nn.functional as F
    n = audio.shape[0]
    d = P["enc.a.cls"].shape[0]
    ta = torch_mt.patches(audio.reshape(n, 1, F_, T_), APF, APT)
    tv = torch_mt.patches(visual, VP, VP)
    xa = embed_blocks(P, "a", ta, L, heads)
    xv = embed_blocks(P, "v", tv, L, heads)
    xa = F.layer_norm(xa, (d,), P["enc.a.ln.g"], P["enc.a.ln.b"], 1e-6)
    xv = F.layer_norm(xv, (d,), P["enc.v.ln.g"], P["enc.v.ln.b"], 1e-6)
    ca, cv = xa[:, 0], xv[:, 0]
    x = {"a": xa, "v": xv}
    for i in range(nf):
        out = {}
        for s, o in (("a", "v"), ("v", "a")):
            pre = "cme.%d.%s." % (i, s)
            r = R[s] if R is not None and i == nf - 1 else None
            h = mha(P, pre + "cross.", x[s], x[o], heads)
            h = mha(P, pre + "self.", h, h, heads, r)
            f = F.linear(F.relu(F.linear(h, P[pre + "ffn.fc1.w"],
                                         P[pre + "ffn.fc1.b"])),
                         P[pre + "ffn.fc2.w"], P[pre + "ffn.fc2.b"])
            out[s] = F.layer_norm(h + f, (d,), P[pre + "ffn.ln.g"],
                                  P[pre + "ffn.ln.b"], 1e-12)
        x = out
    z = torch.cat([x["a"][:, 0], x["v"][:, 0]], 1)
    z = F.relu(F.linear(z, P["head.fc1.w"], P["head.fc1.b"]))
    z = F.relu(F.linear(z, P["head.fc2.w"], P["head.fc2.b"]))
    logits = F.linear(z, P["head.fc3.w"], P["head.fc3.b"])
    la = F.linear(ca.detach(), P["probe.a.w"], P["probe.a.b"])
    lv = F.linear(cv.detach(), P["probe.v.w"], P["probe.v.b"])
    return (F.cross_entropy(logits, y) + F.cross_entropy(la, y) +
            F.cross_entropy(lv, y))


def init(nm, shp, rng):
    """xavier-normal weights, LN 1/0, tokens N(0, 0.02^2); everything
    plus noise so no gradient is trivially zero"""
    if nm.endswith(".w") and len(shp) == 2:
        w = rng.standard_normal(shp) * math.sqrt(2.0 / (shp[0] + shp[1]))
    elif nm.endswith(".g"):
        w = np.ones(shp)
    elif nm.endswith("pos") or nm.endswith("cls") or nm == "mbt.bot":
        w = 0.02 * rng.standard_normal(shp)
    else:
        w = np.zeros(shp)
    return w + 0.02 * rng.standard_normal(shp)


def torch_step(method, P0, data, prec, L, H, nf, nt):
    import torch
    torch.set_num_threads(1)
    dt = torch.float64 if prec == "f64" else torch.float32
    P = {n: torch.from_numpy(w).to(dt).requires_grad_()
         for n, w in P0.items()}
    au, vi, y = (torch.from_numpy(data[0]).to(dt),
                 torch.from_numpy(data[1]).to(dt),
                 torch.from_numpy(data[2]).long())
    if method == "mbt":
        loss = loss_mbt(P, au, vi, y, L, H, nf, nt)
    else:
        loss = loss_mmml(P, au, vi, y, L, H, nf)
    loss.backward()
    out = {"loss": np.array([loss.item()])}
    for n, p in P.items():
        out["grad." + n] = p.grad.numpy()
    return out


def one(a, name, method, d, L, H, B, nf, nt, work):
    wdir = os.path.join(work, "w")
    os.makedirs(wdir, exist_ok=True)
    rng = np.random.default_rng(4321 + d + nf)
    P0, files = {}, []
    for i, (n, shp) in enumerate(names(method, d, L, nf, nt)):
        w = init(n, shp, rng).astype(np.float32)
        P0[n] = w
        f = os.path.join(wdir, "%04d-%s.npy" % (i, n))
        np.save(f, w)
        files.append(f)
    data = (rng.standard_normal((B, F_, T_)).astype(np.float32),
            rng.standard_normal((B, C_, H_, W_)).astype(np.float32),
            rng.integers(0, K, B).astype(np.int32))
    bfiles = []
    for n, x in zip(("audio", "visual", "label"), data):
        bfiles.append(os.path.join(work, n + ".npy"))
        np.save(bfiles[-1], x)
    prq, brq = os.path.join(work, "params.rqt"), os.path.join(work, "b.rqt")
    run([a.rq_npy, "-o", prq] + files)
    run([a.rq_npy, "-o", brq] + bfiles)
    grq, gdir = os.path.join(work, "grads.rqt"), os.path.join(work, "g")
    with open(grq, "wb") as out:
        run([a.model_step, "-m", method, "-d", str(d), "-L", str(L),
             "-H", str(H), "-b", str(B), "-F", str(nf)] +
            (["-T", str(nt)] if nt else []) + ["-g", prq, brq], stdout=out)
    os.makedirs(gdir, exist_ok=True)
    run([a.rq_npy, "--export", "--dir", gdir, grq])
    g = {}
    for f in os.listdir(gdir):
        g[f[:-4].split("-", 1)[1]] = np.load(os.path.join(gdir, f))
    t32 = torch_step(method, P0, data, "f32", L, H, nf, nt)
    t64 = torch_step(method, P0, data, "f64", L, H, nf, nt)

    def rel(x, y):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        ny = np.linalg.norm(y)
        return np.linalg.norm(x - y) / ny if ny > 0 else np.linalg.norm(x)

    gn = [n for n in t32 if n.startswith("grad.")]
    total = np.sqrt(sum(np.sum(t64[n].astype(np.float64) ** 2) for n in gn))
    worst, worst_n, worst32, zeros = 0.0, "", 0.0, []
    lrel = rel(g["loss"], t32["loss"])
    for n in gn:
        if n not in g:
            sys.exit("grad-check-mbt-mmml.py: rq gave no %s" % n)
        x = g[n].reshape(t32[n].shape)
        if np.linalg.norm(t64[n]) <= 1e-9 * total:
            r = max(np.linalg.norm(x), np.linalg.norm(t32[n])) / total
            zeros.append(n[5:])
        else:
            r = rel(x, t32[n])
            worst32 = max(worst32, rel(t32[n], t64[n]))
        if a.verbose:
            print("  %-32s rq/torch %.2e  torch32/torch64 %.2e  "
                  "rq/torch64 %.2e" % (n[5:], r, rel(t32[n], t64[n]),
                                       rel(x, t64[n])))
        if r > worst:
            worst, worst_n = r, n[5:]
    ok = worst <= a.tol and lrel <= a.tol
    print("%-4s %-36s loss rq %.7f torch %.7f (rel %.0e); %d gradients, "
          "worst rel %.1e (%s); torch f32/f64 worst %.0e; exact-zero: %d"
          % ("ok" if ok else "FAIL", name, float(g["loss"][0]),
             float(t32["loss"][0]), lrel, len(gn), worst, worst_n, worst32,
             len(zeros)))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rq-npy", default="bin/rq-npy")
    ap.add_argument("--model-step", default="bench/model-step")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--keep")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="rq-gradcheck-mbt.")
    ok = True
    try:
        for i, c in enumerate(CONFIGS):
            ok &= one(a, *c, os.path.join(work, str(i)))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
