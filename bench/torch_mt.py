#!/usr/bin/env python3
"""torch_mt.py: the Vanilla MT / MT+RollingQ model of DESIGN.md section 2
in PyTorch (CPU), as the reference rq is benchmarked and checked against.

A bench tool only: rq never depends on Python or PyTorch.

Model (DESIGN.md 2): two ViT encoders (linear patch embedding, learned CLS,
learned absolute positions, L pre-norm blocks with LayerNorm eps 1e-6,
exact-erf GELU, MLP ratio 4, final LayerNorm); ONE single-head fusion
attention over [cls_f ; audio tokens ; visual tokens] with full d x d
Q/K/V/O maps (bias), temperature sqrt(d), dropout p on the weights and on
the output, no residual, no LayerNorm, no MLP; logits = FC(O[0]).  Linear
probes on the detached audio and visual CLS outputs.  Loss = CE(fused) +
CE(audio probe) + CE(visual probe), means over the batch.  RollingQ: the
fusion query q = W_q cls_f + b_q becomes q R^T (R has no gradient).

Parameters live in one dict keyed by rq's checkpoint names (see NAMES), so
weights exchange with rq through .npy files name for name.

Subcommands:
  bench   time training steps and evaluation passes on random data; print
          one line of key=value (train_sps eval_sps peak_rss_kb ...)
  shapes  print the GEMM shapes of one training step ("ta tb M N K count")
          for bench/sgemm-peak, and the step's FLOPs
  step    one training step from given weights on a given batch; write the
          loss and every gradient as .npy (grad-check.py uses it)
"""
import argparse
import math
import os
import resource
import sys
import time

import numpy as np


def patches(x, ph, pw):
    """[N, C, H, W] -> [N, (H/ph)*(W/pw), C*ph*pw], patches row-major over
    the grid, each patch flattened in (c, i, j) order (a Conv2d's order).
    Rows and columns that do not fill a patch are dropped (as rq does, and
    a stride-ph Conv2d: 257 spectrogram bins make 16 patches of 16)."""
    n, c, h, w = x.shape
    h, w = h // ph * ph, w // pw * pw
    x = x[:, :, :h, :w]
    x = x.reshape(n, c, h // ph, ph, w // pw, pw)
    x = x.permute(0, 2, 4, 1, 3, 5)
    return x.reshape(n, (h // ph) * (w // pw), c * ph * pw)


class Cfg:
    def __init__(self, a):
        self.d = a.d
        self.layers = a.layers
        self.heads = a.heads
        self.classes = a.classes
        self.F, self.T = a.audio
        self.C, self.H, self.W = a.visual
        # channels per frame (C/vc frames); callers without it: one frame
        self.vc = getattr(a, "vchan", 0) or self.C
        if self.C % self.vc:
            sys.exit("torch_mt.py: --vchan %d does not divide C %d"
                     % (self.vc, self.C))
        self.apf, self.apt = a.apatch
        self.vph, self.vpw = a.vpatch
        self.drop = a.dropout
        self.rollingq = a.rollingq
        self.na = (self.F // self.apf) * (self.T // self.apt)
        self.nv = (self.C // self.vc) * (self.H // self.vph) * (self.W // self.vpw)
        self.pda = self.apf * self.apt
        self.pdv = self.vc * self.vph * self.vpw


def names(cfg):
    """(name, shape) of every trainable parameter, in rq's naming."""
    d, out = cfg.d, []
    for m, np_, pd in (("a", cfg.na, cfg.pda), ("v", cfg.nv, cfg.pdv)):
        e = "enc.%s." % m
        out += [(e + "patch.w", (d, pd)), (e + "patch.b", (d,)),
                (e + "cls", (d,)), (e + "pos", (np_ + 1, d))]
        for i in range(cfg.layers):
            b = e + "blk.%d." % i
            out += [(b + "ln1.g", (d,)), (b + "ln1.b", (d,)),
                    (b + "attn.qkv.w", (3 * d, d)), (b + "attn.qkv.b", (3 * d,)),
                    (b + "attn.proj.w", (d, d)), (b + "attn.proj.b", (d,)),
                    (b + "ln2.g", (d,)), (b + "ln2.b", (d,)),
                    (b + "mlp.fc1.w", (4 * d, d)), (b + "mlp.fc1.b", (4 * d,)),
                    (b + "mlp.fc2.w", (d, 4 * d)), (b + "mlp.fc2.b", (d,))]
        out += [(e + "ln.g", (d,)), (e + "ln.b", (d,))]
    out += [("fusion.cls", (d,))]
    for p in ("q", "k", "v", "o"):
        out += [("fusion.%s.w" % p, (d, d)), ("fusion.%s.b" % p, (d,))]
    out += [("fusion.fc.w", (cfg.classes, d)), ("fusion.fc.b", (cfg.classes,)),
            ("probe.a.w", (cfg.classes, d)), ("probe.a.b", (cfg.classes,)),
            ("probe.v.w", (cfg.classes, d)), ("probe.v.b", (cfg.classes,))]
    return out


def init_params(cfg, seed):
    """DESIGN.md init: xavier-normal weights, zero biases, LN 1/0,
    positions trunc-normal 0.02, CLS tokens N(0, 1e-6^2)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    P = {}
    for n, shp in names(cfg):
        t = torch.empty(shp)
        if n.endswith(".w") and len(shp) == 2:
            std = math.sqrt(2.0 / (shp[0] + shp[1]))
            t.normal_(0, std, generator=g)
        elif n.endswith(".g"):
            t.fill_(1.0)
        elif n.endswith("pos") or n == "fusion.cls":
            t.normal_(0, 0.02, generator=g).clamp_(-0.04, 0.04)
        elif n.endswith("cls"):
            t.normal_(0, 1e-6, generator=g)
        else:
            t.zero_()
        P[n] = t.requires_grad_()
    return P


def encoder(P, cfg, m, tok):
    import torch
    import torch.nn.functional as F
    d, h = cfg.d, cfg.heads
    hs = d // h
    e = "enc.%s." % m
    n = tok.shape[0]
    x = F.linear(tok, P[e + "patch.w"], P[e + "patch.b"])
    cls = P[e + "cls"].expand(n, 1, d)
    x = torch.cat([cls, x], 1) + P[e + "pos"]
    t = x.shape[1]
    for i in range(cfg.layers):
        b = e + "blk.%d." % i
        y = F.layer_norm(x, (d,), P[b + "ln1.g"], P[b + "ln1.b"], 1e-6)
        qkv = F.linear(y, P[b + "attn.qkv.w"], P[b + "attn.qkv.b"])
        qkv = qkv.reshape(n, t, 3, h, hs).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax((q @ k.transpose(-2, -1)) * (hs ** -0.5), -1)
        y = (a @ v).transpose(1, 2).reshape(n, t, d)
        x = x + F.linear(y, P[b + "attn.proj.w"], P[b + "attn.proj.b"])
        y = F.layer_norm(x, (d,), P[b + "ln2.g"], P[b + "ln2.b"], 1e-6)
        y = F.gelu(F.linear(y, P[b + "mlp.fc1.w"], P[b + "mlp.fc1.b"]))
        x = x + F.linear(y, P[b + "mlp.fc2.w"], P[b + "mlp.fc2.b"])
    return F.layer_norm(x, (d,), P[e + "ln.g"], P[e + "ln.b"], 1e-6)


def forward(P, cfg, audio, visual, R=None, train=True):
    """Return (fused logits, audio probe logits, visual probe logits,
    fusion attention weights [N, 1+Ta+Tv])."""
    import torch
    import torch.nn.functional as F
    n, d = audio.shape[0], cfg.d
    ta = patches(audio.reshape(n, 1, cfg.F, cfg.T), cfg.apf, cfg.apt)
    # C/vc frames of vc channels, tokens frame-major (as lib/model.c)
    fr = cfg.C // cfg.vc
    tv = patches(visual.reshape(n * fr, cfg.vc, cfg.H, cfg.W), cfg.vph,
                 cfg.vpw).reshape(n, cfg.nv, cfg.pdv)
    xa = encoder(P, cfg, "a", ta)
    xv = encoder(P, cfg, "v", tv)
    seq = torch.cat([P["fusion.cls"].expand(n, 1, d), xa, xv], 1)
    q = F.linear(P["fusion.cls"], P["fusion.q.w"], P["fusion.q.b"])  # one per batch
    if R is not None:
        q = q @ R.t()
    k = F.linear(seq, P["fusion.k.w"], P["fusion.k.b"])
    v = F.linear(seq, P["fusion.v.w"], P["fusion.v.b"])
    a = torch.softmax((k @ q) / math.sqrt(d), -1)        # [N, T]
    ad = F.dropout(a, cfg.drop, train)
    o = torch.einsum("nt,ntc->nc", ad, v)
    o = F.dropout(F.linear(o, P["fusion.o.w"], P["fusion.o.b"]), cfg.drop, train)
    logits = F.linear(o, P["fusion.fc.w"], P["fusion.fc.b"])
    la = F.linear(xa[:, 0].detach(), P["probe.a.w"], P["probe.a.b"])
    lv = F.linear(xv[:, 0].detach(), P["probe.v.w"], P["probe.v.b"])
    return logits, la, lv, a


def loss_fn(P, cfg, audio, visual, y, R=None, train=True):
    import torch.nn.functional as F
    logits, la, lv, _ = forward(P, cfg, audio, visual, R, train)
    return (F.cross_entropy(logits, y) + F.cross_entropy(la, y) +
            F.cross_entropy(lv, y))


def rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cmd_bench(a, cfg):
    import torch
    torch.set_num_threads(a.threads)
    base_rss = rss_kb()
    torch.manual_seed(a.seed)
    P = init_params(cfg, a.seed)
    R = torch.eye(cfg.d) if cfg.rollingq else None
    opt = torch.optim.SGD(list(P.values()), lr=1e-3, momentum=0.9,
                          weight_decay=1e-4)
    if cfg.rollingq:    # a non-trivial rotation, as model-step -r uses
        x, y = torch.randn(2, cfg.d, dtype=torch.float64)
        x, y = x / x.norm(), y / y.norm()
        c = x @ y
        w = (y - c * x) / (y - c * x).norm()
        s = (1 - c * c).sqrt()
        R = (torch.eye(cfg.d, dtype=torch.float64) +
             (c - 1) * (torch.outer(x, x) + torch.outer(w, w)) +
             s * (torch.outer(w, x) - torch.outer(x, w))).float()
    B, n = a.batch, a.samples
    # a data set in memory and random batches gathered from it, exactly
    # as bench/model-step -t does for rq
    au = torch.randn(n, cfg.F, cfg.T)
    vi = torch.randn(n, cfg.C, cfg.H, cfg.W)
    ys = torch.randint(0, cfg.classes, (n,))

    def train_step(i):
        idx = torch.randint(0, n, (B,))
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(P, cfg, au[idx], vi[idx], ys[idx], R, True)
        loss.backward()
        opt.step()
        return loss

    def eval_step(i):
        idx = torch.randint(0, n, (B,))
        with torch.no_grad():
            return forward(P, cfg, au[idx], vi[idx], R, False)[0]

    cpu = []    # process CPU time of each timed training repeat

    def timeit(fn, steps, keep_cpu=False):
        for i in range(a.warmup):
            fn(i)
        best = []
        for r in range(a.repeats):
            t0 = time.perf_counter()
            c0 = time.process_time()
            for i in range(steps):
                fn(i)
            best.append(time.perf_counter() - t0)
            if keep_cpu:
                cpu.append(time.process_time() - c0)
        return B * steps / float(np.median(best))

    tr = timeit(train_step, a.steps, True)
    ev = timeit(eval_step, a.eval_steps)
    tc = float(np.median(cpu)) / a.steps
    # step_cpu_ms / train_cpu_sps: process CPU time, as model-step -t
    print("impl=pytorch threads=%d batch=%d d=%d layers=%d heads=%d "
          "train_sps=%.1f eval_sps=%.1f peak_rss_kb=%d import_rss_kb=%d "
          "step_ms=%.3f torch=%s step_cpu_ms=%.3f train_cpu_sps=%.1f" % (
              a.threads, B, cfg.d, cfg.layers, cfg.heads, tr, ev, rss_kb(),
              base_rss, 1e3 * B / tr, torch.__version__, 1e3 * tc, B / tc))


def gemm_shapes(cfg, B):
    """(ta, tb, M, N, K, count) of every GEMM in one training step
    (C[M,N] = op(A)[M,K] op(B)[K,N]); rq and PyTorch do the same math."""
    d, hs, out = cfg.d, cfg.d // cfg.heads, []

    def lin(M, K, N, dx=True):
        out.append(("N", "T", M, N, K, 1))          # y = x W^T
        if dx:
            out.append(("N", "N", M, K, N, 1))      # dx = dy W
        out.append(("T", "N", N, K, M, 1))          # dW = dy^T x

    for P_, pd in ((cfg.na, cfg.pda), (cfg.nv, cfg.pdv)):
        T = P_ + 1
        lin(B * P_, pd, d, dx=False)
        for _ in range(cfg.layers):
            lin(B * T, d, 3 * d)
            lin(B * T, d, d)
            lin(B * T, d, 4 * d)
            lin(B * T, 4 * d, d)
            c = B * cfg.heads
            out.append(("N", "T", T, T, hs, c))     # S = Q K^T
            out.append(("N", "N", T, hs, T, c))     # O = A V
            out.append(("T", "N", T, hs, T, c))     # dV = A^T dO
            out.append(("N", "T", T, T, hs, c))     # dA = dO V^T
            out.append(("N", "N", T, hs, T, c))     # dQ = dS K
            out.append(("T", "N", T, hs, T, c))     # dK = dS^T Q
    tf = 1 + cfg.na + 1 + cfg.nv + 1
    lin(B * tf, d, d)                                # fusion K
    lin(B * tf, d, d)                                # fusion V
    lin(B, d, d)                                     # fusion O
    lin(B, d, cfg.classes)                           # head
    lin(B, d, cfg.classes, dx=False)                 # probes (detached)
    lin(B, d, cfg.classes, dx=False)
    return out


def cmd_shapes(a, cfg):
    sh = gemm_shapes(cfg, a.batch)
    fl = sum(2.0 * M * N * K * c for _, _, M, N, K, c in sh)
    print("# training step, batch %d: %.6g GEMM FLOP (%.6g per sample)"
          % (a.batch, fl, fl / a.batch))
    for s in sh:
        print("%s %s %d %d %d %d" % s)
    sys.stdout.flush()


def cmd_step(a, cfg):
    """Load weights (dir of <index>-<name>.npy or name.npy; an optional
    "R" [d,d] is the RollingQ rotation), a batch (audio.npy, visual.npy,
    label.npy in --data), run one dropout-free forward and backward, write
    loss.npy and grad.<name>.npy into --out.  --double computes in float64
    (a reference for the float32 rounding level)."""
    import torch
    torch.set_num_threads(a.threads)
    dt = torch.float64 if a.double else torch.float32
    cfg.drop = 0.0
    P = {}
    for f in os.listdir(a.weights):
        if f.endswith(".npy"):
            n = f[:-4].split("-", 1)[1] if f[0].isdigit() else f[:-4]
            P[n] = torch.from_numpy(np.load(os.path.join(a.weights, f)))
    R = P.pop("R", None)
    want = dict(names(cfg))
    for n, shp in want.items():
        if n not in P:
            sys.exit("torch_mt.py: weights lack %s" % n)
        P[n] = P[n].reshape(shp).to(dt).clone().requires_grad_()
    P = {n: P[n] for n in want}
    au = torch.from_numpy(np.load(os.path.join(a.data, "audio.npy")))
    vi = torch.from_numpy(np.load(os.path.join(a.data, "visual.npy")))
    y = torch.from_numpy(np.load(os.path.join(a.data, "label.npy"))).long()
    if R is not None:
        R = R.reshape(cfg.d, cfg.d).to(dt)
    loss = loss_fn(P, cfg, au.to(dt), vi.to(dt), y, R, False)
    loss.backward()
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "loss.npy"),
            np.array([loss.item()], np.float64))
    for n, p in P.items():
        np.save(os.path.join(a.out, "grad.%s.npy" % n), p.grad.numpy())


def ints(n):
    return lambda s: tuple(int(x) for x in s.split("x"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=("bench", "shapes", "step"))
    ap.add_argument("-d", type=int, default=64)
    ap.add_argument("-L", "--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--audio", type=ints(2), default=(40, 32), help="FxT")
    ap.add_argument("--visual", type=ints(3), default=(1, 28, 28),
                    help="CxHxW")
    ap.add_argument("--vchan", type=int, default=0,
                    help="channels per visual frame (default C: one frame)")
    ap.add_argument("--apatch", type=ints(2), default=(10, 8),
                    help="audio patch, bins x frames")
    ap.add_argument("--vpatch", type=ints(2), default=(7, 7))
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--rollingq", action="store_true")
    ap.add_argument("-b", "--batch", type=int, default=64)
    ap.add_argument("-t", "--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--eval-steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=2400,
                    help="data set size held in memory (bench)")
    ap.add_argument("--weights")
    ap.add_argument("--data")
    ap.add_argument("--out")
    ap.add_argument("--double", action="store_true")
    a = ap.parse_args()
    cfg = Cfg(a)
    {"bench": cmd_bench, "shapes": cmd_shapes, "step": cmd_step}[a.cmd](a, cfg)


if __name__ == "__main__":
    main()
