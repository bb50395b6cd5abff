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
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gradcheck as gc  # noqa: E402
from gradcheck import K, blk_names  # noqa: E402

CONFIGS = [
    # name, method, d, encoder blocks, heads, batch, fusion layers, tokens
    ("mbt d64 L2 H4 + 1 layer, 4 tokens", "mbt", 64, 2, 4, 8, 1, 4),
    ("mbt d32 L1 H2 + 3 layers, 2 tokens", "mbt", 32, 1, 2, 6, 3, 2),
    ("mmml d64 L2 H4 + 1 CME layer", "mmml", 64, 2, 4, 8, 1, 0),
    ("mmml d32 L1 H2 + 2 CME layers", "mmml", 32, 1, 2, 6, 2, 0),
]


def names(method, d, L, nf, nt):
    out = gc.enc_names(d, L)
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


def loss_mbt(P, audio, visual, y, L, heads, nf, nt):
    import torch
    import torch.nn.functional as F
    n = audio.shape[0]
    d = P["enc.a.cls"].shape[0]
    ta, tv = gc.tokens(audio, visual)
    xa = gc.vit(P, "a", ta, L, heads)
    xv = gc.vit(P, "v", tv, L, heads)
    tb = P["mbt.bot"].expand(n, nt, d)
    for i in range(nf):
        za = gc.block(P, "mbt.a.blk.%d." % i, torch.cat([tb, xa], 1), 1)
        zv = gc.block(P, "mbt.v.blk.%d." % i, torch.cat([tb, xv], 1), 1)
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
    d = P["enc.a.cls"].shape[0]
    ta, tv = gc.tokens(audio, visual)
    xa = gc.vit(P, "a", ta, L, heads)
    xv = gc.vit(P, "v", tv, L, heads)
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


def one(a, name, method, d, L, H, B, nf, nt, work):
    rng = np.random.default_rng(4321 + d + nf)
    P0 = gc.draw(names(method, d, L, nf, nt), rng)
    files = gc.save(os.path.join(work, "w"), P0)
    data = gc.draw_batch(rng, B)
    g = gc.rq_step(a, [a.model_step, "-m", method, "-d", str(d), "-L",
                       str(L), "-H", str(H), "-b", str(B), "-F", str(nf)] +
                   (["-T", str(nt)] if nt else []) + ["-g"], files,
                   gc.save_batch(work, data), work)

    def loss(P, dt):
        if method == "mbt":
            return loss_mbt(P, *gc.torch_batch(data, dt), L, H, nf, nt)
        return loss_mmml(P, *gc.torch_batch(data, dt), L, H, nf)

    return gc.verdict(a, name, 36, g, P0, loss)

if __name__ == "__main__":
    gc.main(__doc__, CONFIGS, one, "rq-gradcheck-mbt.")
