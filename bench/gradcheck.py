"""gradcheck.py: what the grad-check*.py scripts share.

Each script (grad-check.py for MT / MT+RollingQ, grad-check-jmt-pmr.py,
grad-check-mbt-mmml.py, grad-check-mut.py) keeps its model: the parameter
table, the PyTorch loss, the configurations.  This module does the rest:
save the weights as .npy, import them and the batch into rq with `rq-npy`,
run ONE forward+backward in rq (bench/model-step -g or bench/jmtpmr-step)
and export its gradients, run the PyTorch loss in float32 and float64, and
compare the loss and every gradient.

Agreement (per tensor): ||g_rq - g_torch32|| / ||g_torch32|| <= tol, and
the same for the loss.  A gradient that is zero in exact arithmetic
(float64 norm <= 1e-9 of the whole gradient's: an attention's k bias,
which softmax ignores, as it is the same for every key) holds only
rounding noise on both sides; it passes if that noise is <= tol of the
whole gradient's norm.
"""
import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

# bench/model-step's default shapes: audio F_ x T_ in APF x APT patches, an
# image C_ x H_ x W_ in VP x VP patches, K classes
F_, T_, C_, H_, W_ = 40, 32, 1, 28, 28
APF, APT, VP = 10, 8, 7
K = 10


def prog():
    return os.path.basename(sys.argv[0])


def run(cmd, **kw):
    """run cmd; exit naming the script and the command if it fails"""
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        sys.exit("%s: failed (%d): %s" % (prog(), r.returncode,
                                          " ".join(cmd)))
    return r


def rotation(d, rng):
    """the plane rotation taking a random unit x to a random unit y"""
    x, y = rng.standard_normal((2, d))
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    c = x @ y
    u = y - c * x
    s = np.linalg.norm(u)
    w = u / s
    return (np.eye(d) + (c - 1) * (np.outer(x, x) + np.outer(w, w)) +
            s * (np.outer(w, x) - np.outer(x, w)))


def lin_names(pre, o, i):
    """a linear layer's parameters: pre.w [o, i], pre.b [o]"""
    return [(pre + ".w", (o, i)), (pre + ".b", (o,))]


def ln_names(pre, d):
    """a LayerNorm's parameters: pre.g, pre.b [d]"""
    return [(pre + ".g", (d,)), (pre + ".b", (d,))]


def blk_names(pre, d):
    """a pre-LN transformer block's parameters, in rq's order"""
    return (ln_names(pre + "ln1", d) + lin_names(pre + "attn.qkv", 3 * d, d)
            + lin_names(pre + "attn.proj", d, d) + ln_names(pre + "ln2", d)
            + lin_names(pre + "mlp.fc1", 4 * d, d)
            + lin_names(pre + "mlp.fc2", d, 4 * d))


def enc_names(d, L):
    """the two encoders' parameters (L blocks each) at those shapes"""
    na = (F_ // APF) * (T_ // APT)
    nv = (H_ // VP) * (W_ // VP)
    out = []
    for m, n, pd in (("a", na, APF * APT), ("v", nv, C_ * VP * VP)):
        e = "enc.%s." % m
        out += [(e + "patch.w", (d, pd)), (e + "patch.b", (d,)),
                (e + "cls", (d,)), (e + "pos", (n + 1, d))]
        for i in range(L):
            out += blk_names(e + "blk.%d." % i, d)
        out += ln_names(e + "ln", d)
    return out


def init(nm, shp, rng):
    """xavier-normal weights, LN 1/0, learned tokens (pos, cls, mbt.bot)
    N(0, 0.02^2); everything plus noise so no gradient is trivially zero"""
    if nm.endswith(".w") and len(shp) == 2:
        w = rng.standard_normal(shp) * math.sqrt(2.0 / (shp[0] + shp[1]))
    elif nm.endswith(".g"):
        w = np.ones(shp)
    elif nm.endswith("pos") or nm.endswith("cls") or nm == "mbt.bot":
        w = 0.02 * rng.standard_normal(shp)
    else:
        w = np.zeros(shp)
    return w + 0.02 * rng.standard_normal(shp)


def draw(table, rng):
    """{name: float32 weights} for a [(name, shape)] table, by init()"""
    return {n: init(n, shp, rng).astype(np.float32) for n, shp in table}


def draw_batch(rng, B):
    """a batch of B at those shapes: (audio, visual, label)"""
    return (rng.standard_normal((B, F_, T_)).astype(np.float32),
            rng.standard_normal((B, C_, H_, W_)).astype(np.float32),
            rng.integers(0, K, B).astype(np.int32))


def save(d, arrays):
    """save {name: array} as d/NNNN-name.npy in order; the file names"""
    os.makedirs(d, exist_ok=True)
    files = []
    for i, (n, w) in enumerate(arrays.items()):
        files.append(os.path.join(d, "%04d-%s.npy" % (i, n)))
        np.save(files[-1], w)
    return files


def save_batch(d, data):
    """save the batch (audio, visual, label) as d/<name>.npy; the files"""
    os.makedirs(d, exist_ok=True)
    files = []
    for n, x in zip(("audio", "visual", "label"), data):
        files.append(os.path.join(d, n + ".npy"))
        np.save(files[-1], x)
    return files


def rq_step(a, step, pfiles, bfiles, work, extra=()):
    """import the parameter and batch .npy files into rq, run the step
    command (argv without the operands) on them and the extra operands,
    and return rq's {loss, grad.NAME} as arrays"""
    prq, brq = os.path.join(work, "params.rqt"), os.path.join(work, "b.rqt")
    run([a.rq_npy, "-o", prq] + list(pfiles))
    run([a.rq_npy, "-o", brq] + list(bfiles))
    grq, gdir = os.path.join(work, "grads.rqt"), os.path.join(work, "g")
    with open(grq, "wb") as out:
        run(list(step) + [prq, brq] + list(extra), stdout=out)
    os.makedirs(gdir, exist_ok=True)
    run([a.rq_npy, "--export", "--dir", gdir, grq])
    g = {}
    for f in os.listdir(gdir):
        g[f[:-4].split("-", 1)[1]] = np.load(os.path.join(gdir, f))
    return g


def tokens(audio, visual):
    """the patch tokens of a batch at those shapes: (audio's, visual's)"""
    import torch_mt
    n = audio.shape[0]
    return (torch_mt.patches(audio.reshape(n, 1, F_, T_), APF, APT),
            torch_mt.patches(visual, VP, VP))


def mha(q, k, v, heads):
    """multi-head attention of q [n, t, d] over k, v [n, s, d]"""
    import torch
    n, t, d = q.shape
    hs = d // heads
    q = q.reshape(n, t, heads, hs).transpose(1, 2)
    k = k.reshape(n, -1, heads, hs).transpose(1, 2)
    v = v.reshape(n, -1, heads, hs).transpose(1, 2)
    a = torch.softmax((q @ k.transpose(-2, -1)) * (hs ** -0.5), -1)
    return (a @ v).transpose(1, 2).reshape(n, t, d)


def block(P, b, x, heads):
    """rq's pre-LN block b (LN eps 1e-6, exact GELU) on x [n, t, d]"""
    import torch.nn.functional as F
    d = x.shape[-1]
    y = F.layer_norm(x, (d,), P[b + "ln1.g"], P[b + "ln1.b"], 1e-6)
    q, k, v = F.linear(y, P[b + "attn.qkv.w"],
                       P[b + "attn.qkv.b"]).split(d, -1)
    x = x + F.linear(mha(q, k, v, heads), P[b + "attn.proj.w"],
                     P[b + "attn.proj.b"])
    y = F.layer_norm(x, (d,), P[b + "ln2.g"], P[b + "ln2.b"], 1e-6)
    y = F.gelu(F.linear(y, P[b + "mlp.fc1.w"], P[b + "mlp.fc1.b"]))
    return x + F.linear(y, P[b + "mlp.fc2.w"], P[b + "mlp.fc2.b"])


def vit(P, m, tok, L, heads):
    """encoder m (enc.m.*) on patch tokens [n, t, p]: the patch embedding,
    CLS and positions, L blocks; without the final LN"""
    import torch
    import torch.nn.functional as F
    e = "enc.%s." % m
    n, d = tok.shape[0], P[e + "cls"].shape[0]
    x = F.linear(tok, P[e + "patch.w"], P[e + "patch.b"])
    x = torch.cat([P[e + "cls"].expand(n, 1, d), x], 1) + P[e + "pos"]
    for i in range(L):
        x = block(P, e + "blk.%d." % i, x, heads)
    return x


def torch_grads(P0, prec, loss):
    """PyTorch's {loss, grad.NAME} at the weights P0 in prec ("f32" or
    "f64"); loss(P, dt) builds the loss from the leaf tensors P"""
    import torch
    torch.set_num_threads(1)
    dt = torch.float64 if prec == "f64" else torch.float32
    P = {n: torch.from_numpy(np.asarray(w)).to(dt).requires_grad_()
         for n, w in P0.items()}
    lo = loss(P, dt)
    lo.backward()
    out = {"loss": np.array([lo.item()])}
    for n, p in P.items():
        out["grad." + n] = p.grad.numpy()
    return out


def torch_batch(data, dt):
    """the batch (audio, visual, label) as tensors: dt, dt, long"""
    import torch
    return (torch.from_numpy(data[0]).to(dt),
            torch.from_numpy(data[1]).to(dt),
            torch.from_numpy(data[2]).long())


def rel(x, y):
    """||x - y|| / ||y|| in double (||x|| when y is zero)"""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ny = np.linalg.norm(y)
    return np.linalg.norm(x - y) / ny if ny > 0 else np.linalg.norm(x)


def compare(a, g, t32, t64):
    """rq's gradients g against PyTorch's t32 (and t64, the rounding
    level); with -v one line per tensor.  A namespace: ok, lrel (the
    loss), n (gradients), worst, worst_n (the worst tensor), worst32
    (torch f32 against f64), zeros (exact-zero tensors)"""
    gn = [n for n in t32 if n.startswith("grad.")]
    total = np.sqrt(sum(np.sum(t64[n].astype(np.float64) ** 2) for n in gn))
    worst, worst_n, worst32, zeros = 0.0, "", 0.0, []
    lrel = rel(g["loss"], t32["loss"])
    for n in gn:
        if n not in g:
            sys.exit("%s: rq gave no %s" % (prog(), n))
        x = g[n].reshape(t32[n].shape)
        if np.linalg.norm(t64[n]) <= 1e-9 * total:
            # both sides hold rounding noise: compare it against the
            # whole gradient
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
    return argparse.Namespace(ok=worst <= a.tol and lrel <= a.tol, lrel=lrel,
                              n=len(gn), worst=worst, worst_n=worst_n,
                              worst32=worst32, zeros=zeros)


def report(name, width, g, t32, c, tail):
    """the config's verdict line; tail: what the script adds at the end"""
    print("%-4s %-*s loss rq %.7f torch %.7f (rel %.0e); %d gradients, "
          "worst rel %.1e (%s)%s"
          % ("ok" if c.ok else "FAIL", width, name, float(g["loss"][0]),
             float(t32["loss"][0]), c.lrel, c.n, c.worst, c.worst_n, tail))
    return c.ok


def verdict(a, name, width, g, P0, loss):
    """rq's gradients g against PyTorch's at P0 (loss as torch_grads'):
    the verdict line with the float32 rounding level and the number of
    exact-zero tensors; true if the config passes"""
    t32 = torch_grads(P0, "f32", loss)
    c = compare(a, g, t32, torch_grads(P0, "f64", loss))
    return report(name, width, g, t32, c,
                  "; torch f32/f64 worst %.0e; exact-zero: %d"
                  % (c.worst32, len(c.zeros)))


def main(doc, configs, one, prefix, step=("--model-step",
                                          "bench/model-step")):
    """parse the common options (--rq-npy, the step program's option,
    --tol, --keep, -v) and run one(a, *config, workdir) per config;
    exit 0 if all pass, 1 otherwise"""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--rq-npy", default="bin/rq-npy")
    ap.add_argument(step[0], default=step[1])
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--keep")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix=prefix)
    ok = True
    try:
        for i, c in enumerate(configs):
            ok &= one(a, *c, os.path.join(work, str(i)))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)
