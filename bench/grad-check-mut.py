#!/usr/bin/env python3
"""grad-check-mut.py: rq and PyTorch agree on one training step of MuT.

The sibling of grad-check-mbt-mmml.py for rq-train -m mut and mut-rq:
draw weights in NumPy, save them as .npy, import them into rq with
`rq-npy`, run ONE forward+backward (dropout off) from the identical
weights on the identical batch in both (rq through bench/model-step -m mut
-g, PyTorch through the model written out below, independently of lib/),
and compare the loss and every gradient; PyTorch also runs in float64 so
each figure can be read against the float32 rounding level.

The PyTorch MuT (rq-train(1), MuT): each modality's ViT encoder (pre-LN
blocks, eps 1e-6, exact GELU, final LN); then per target s with source o,
F crossmodal layers, each x1 = x + Wo MHA(Wq LN(x), Wk LN(src), Wv LN(src))
with ONE LayerNorm (eps 1e-5) on both x and src, src the other encoder's
tokens at every layer, then x = x1 + fc2(ReLU(fc1(LN2(x1)))); a final LN
(eps 1e-5); a memory of 3 pre-LN blocks (model-step's default) and its
final LN (eps 1e-6).  MT's fusion: q = R (Wq cls_f + bq), keys and values
over [cls_f ; mem_a ; mem_v], a = softmax(k q / sqrt d), y = Wo (a v);
h = [mem_a[-1] ; mem_v[-1] ; y], logits = out(h + fc2(ReLU(fc1 h))); probes
on the detached encoder CLS rows; loss = CE(fused) + CE(probe a) +
CE(probe v).  A config with a rotation passes R (f64) to both (mut-rq
after a RollingQ step).

Agreement (per tensor): ||g_rq - g_torch|| / ||g_torch|| <= --tol (1e-4),
and the same for the loss.  A gradient that is zero in exact arithmetic
(float64 norm <= 1e-9 of the whole gradient's: attention k biases, which
softmax ignores) holds only rounding noise on both sides; it passes if
that noise is <= tol of the whole gradient's norm.  Prints one line per
config; exit 0 if all pass, 1 otherwise.

usage: grad-check-mut.py [--rq-npy bin/rq-npy] [--model-step
           bench/model-step] [--tol 1e-4] [--keep DIR] [-v]
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gradcheck as gc  # noqa: E402
from gradcheck import K, blk_names, lin_names, ln_names  # noqa: E402

CONFIGS = [
    # name, d, encoder blocks, heads, batch, crossmodal layers, rotated
    ("mut d64 L2 H4, 1 crossmodal layer", 64, 2, 4, 8, 1, False),
    ("mut-rq d32 L1 H2, 2 layers, R rotated", 32, 1, 2, 6, 2, True),
]
MEM = 3                                    # model-step: rq's default


def names(d, L, nf):
    out = gc.enc_names(d, L)
    for m in "av":
        for i in range(nf):
            pre = "mut.%s.cross.%d." % (m, i)
            out += ln_names(pre + "ln", d)
            for x in "qkvo":
                out += lin_names(pre + x, d, d)
            out += (ln_names(pre + "ln2", d) +
                    lin_names(pre + "fc1", 4 * d, d) +
                    lin_names(pre + "fc2", d, 4 * d))
        out += ln_names("mut.%s.cross.ln" % m, d)
        for j in range(MEM):
            out += blk_names("mut.%s.mem.%d." % (m, j), d)
        out += ln_names("mut.%s.mem.ln" % m, d)
    out += [("fusion.cls", (d,))]
    for x in "qkvo":
        out += lin_names("fusion." + x, d, d)
    out += (lin_names("head.fc1", 3 * d, 3 * d) +
            lin_names("head.fc2", 3 * d, 3 * d) +
            lin_names("head.out", K, 3 * d) +
            lin_names("probe.a", K, d) + lin_names("probe.v", K, d))
    return out


def encoder(P, m, tok, L, heads):
    import torch.nn.functional as F
    e = "enc.%s." % m
    x = gc.vit(P, m, tok, L, heads)
    return F.layer_norm(x, (x.shape[-1],), P[e + "ln.g"], P[e + "ln.b"],
                        1e-6)


def crossmodal(P, pre, x, src, heads):
    """MulT's layer: the same LN on target and source, pre-norm, ReLU"""
    import torch.nn.functional as F
    d = x.shape[-1]
    xn = F.layer_norm(x, (d,), P[pre + "ln.g"], P[pre + "ln.b"], 1e-5)
    sn = F.layer_norm(src, (d,), P[pre + "ln.g"], P[pre + "ln.b"], 1e-5)
    q = F.linear(xn, P[pre + "q.w"], P[pre + "q.b"])
    k = F.linear(sn, P[pre + "k.w"], P[pre + "k.b"])
    v = F.linear(sn, P[pre + "v.w"], P[pre + "v.b"])
    x = x + F.linear(gc.mha(q, k, v, heads), P[pre + "o.w"],
                     P[pre + "o.b"])
    y = F.layer_norm(x, (d,), P[pre + "ln2.g"], P[pre + "ln2.b"], 1e-5)
    y = F.relu(F.linear(y, P[pre + "fc1.w"], P[pre + "fc1.b"]))
    return x + F.linear(y, P[pre + "fc2.w"], P[pre + "fc2.b"])


def loss_mut(P, audio, visual, y, L, heads, nf, R):
    import torch
    import torch.nn.functional as F
    n = audio.shape[0]
    d = P["enc.a.cls"].shape[0]
    ta, tv = gc.tokens(audio, visual)
    tok = {"a": encoder(P, "a", ta, L, heads),
           "v": encoder(P, "v", tv, L, heads)}
    mem = {}
    for s, o in (("a", "v"), ("v", "a")):
        x = tok[s]
        for i in range(nf):
            x = crossmodal(P, "mut.%s.cross.%d." % (s, i), x, tok[o], heads)
        x = F.layer_norm(x, (d,), P["mut.%s.cross.ln.g" % s],
                         P["mut.%s.cross.ln.b" % s], 1e-5)
        for j in range(MEM):
            x = gc.block(P, "mut.%s.mem.%d." % (s, j), x, heads)
        mem[s] = F.layer_norm(x, (d,), P["mut.%s.mem.ln.g" % s],
                              P["mut.%s.mem.ln.b" % s], 1e-6)
    cls = P["fusion.cls"]
    seq = torch.cat([cls.expand(n, 1, d), mem["a"], mem["v"]], 1)
    q = R @ F.linear(cls, P["fusion.q.w"], P["fusion.q.b"])
    k = F.linear(seq, P["fusion.k.w"], P["fusion.k.b"])
    v = F.linear(seq, P["fusion.v.w"], P["fusion.v.b"])
    a = torch.softmax((k @ q) / math.sqrt(d), -1)             # [n, S]
    yf = F.linear((a.unsqueeze(-1) * v).sum(1), P["fusion.o.w"],
                  P["fusion.o.b"])
    h = torch.cat([mem["a"][:, -1], mem["v"][:, -1], yf], 1)
    h = h + F.linear(F.relu(F.linear(h, P["head.fc1.w"], P["head.fc1.b"])),
                     P["head.fc2.w"], P["head.fc2.b"])
    logits = F.linear(h, P["head.out.w"], P["head.out.b"])
    la = F.linear(tok["a"][:, 0].detach(), P["probe.a.w"], P["probe.a.b"])
    lv = F.linear(tok["v"][:, 0].detach(), P["probe.v.w"], P["probe.v.b"])
    return (F.cross_entropy(logits, y) + F.cross_entropy(la, y) +
            F.cross_entropy(lv, y))


def one(a, name, d, L, H, B, nf, rot, work):
    rng = np.random.default_rng(2718 + d + nf)
    P0 = gc.draw(names(d, L, nf), rng)
    files = gc.save(os.path.join(work, "w"), P0)
    R0 = gc.rotation(d, rng) if rot else np.eye(d)
    if rot:
        files.append(os.path.join(work, "w", "9999-R.npy"))
        np.save(files[-1], R0)
    data = gc.draw_batch(rng, B)
    g = gc.rq_step(a, [a.model_step, "-m", "mut", "-d", str(d), "-L",
                       str(L), "-H", str(H), "-b", str(B), "-F", str(nf),
                       "-g"], files, gc.save_batch(work, data), work)

    def loss(P, dt):
        import torch
        return loss_mut(P, *gc.torch_batch(data, dt), L, H, nf,
                        torch.from_numpy(R0).to(dt))

    return gc.verdict(a, name, 40, g, P0, loss)

if __name__ == "__main__":
    gc.main(__doc__, CONFIGS, one, "rq-gradcheck-mut.")
