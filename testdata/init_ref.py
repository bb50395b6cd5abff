#!/usr/bin/python3
"""init_ref.py: the PyTorch side of tests/init.t (needs torch, no timm).

    init_ref.py gen state.pt data.rqt    a made-up timm ViT state dict
                                         (random, width 32, 4 heads, 2
                                         blocks, patch 4, 16x16 images)
                                         and a small data set of matching
                                         shapes (audio 12x20, visual 2
                                         frames of 3x8x8)
    init_ref.py check state.pt ck.rqt data.rqt eval.tsv [mean|sum]
                                         the Concat model's forward in
                                         PyTorch: both encoders from
                                         state.pt (timm's layout, pos
                                         resized by F.interpolate), the
                                         head from rq's checkpoint; its
                                         probabilities against rq-eval -t's

The forward is written out here from timm's VisionTransformer (pre-norm
blocks, LayerNorm eps 1e-6, exact GELU, qkv split [3, heads, hd]).
"""
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

D, HEADS, DEPTH, P, IMG, K, N = 32, 4, 2, 4, 16, 3, 6


def write_stream(path, recs):
    out = b""
    for name, a, meta in recs:
        code = {np.dtype("<f4"): 9, np.dtype("<i4"): 6}[a.dtype]
        nm, md = name.encode(), "".join("%s=%s\n" % kv
                                        for kv in meta.items()).encode()
        h = b"\x89RQT" + struct.pack("<HBBII", 1, code, a.ndim, len(nm),
                                     len(md))
        h += b"".join(struct.pack("<Q", x) for x in a.shape) + nm + md
        h += struct.pack("<I", zlib.crc32(h))
        h += b"\0" * ((8 - len(h) % 8) % 8)
        data = a.tobytes()
        out += h + data + b"\0" * ((8 - len(data) % 8) % 8)
        out += struct.pack("<II", zlib.crc32(data), 0)
    with open(path, "wb") as f:
        f.write(out)


def read_stream(path):
    """name -> array, for f32/f64/i32/i64/u8/u64 records (no checks: the
    files come from rq itself)."""
    types = {1: "<u1", 6: "<i4", 7: "<u8", 8: "<i8", 9: "<f4", 10: "<f8"}
    buf = open(path, "rb").read()
    at, recs = 0, {}
    while at < len(buf):
        assert buf[at:at + 4] == b"\x89RQT"
        _, code, nd, nl, ml = struct.unpack_from("<HBBII", buf, at + 4)
        dims = struct.unpack_from("<%dQ" % nd, buf, at + 16)
        o = at + 16 + 8 * nd
        name = buf[o:o + nl].decode()
        o += nl + ml + 4
        o += (8 - o % 8) % 8
        dt = np.dtype(types[code])
        n = int(np.prod(dims)) if nd else 1
        recs[name] = np.frombuffer(buf, dt, n, o).reshape(dims)
        o += n * dt.itemsize
        o += (8 - o % 8) % 8
        at = o + 8
    return recs


def gen(state, data):
    g = torch.Generator().manual_seed(18)

    def r(*shape, s=0.2):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * s
    sd = {"cls_token": r(1, 1, D), "pos_embed": r(1, 1 + (IMG // P) ** 2, D),
          "patch_embed.proj.weight": r(D, 3, P, P),
          "patch_embed.proj.bias": r(D),
          "norm.weight": 1 + r(D), "norm.bias": r(D),
          "head.weight": r(1000, D), "head.bias": r(1000)}
    for i in range(DEPTH):
        b = "blocks.%d." % i
        sd.update({b + "norm1.weight": 1 + r(D), b + "norm1.bias": r(D),
                   b + "attn.qkv.weight": r(3 * D, D),
                   b + "attn.qkv.bias": r(3 * D),
                   b + "attn.proj.weight": r(D, D),
                   b + "attn.proj.bias": r(D),
                   b + "norm2.weight": 1 + r(D), b + "norm2.bias": r(D),
                   b + "mlp.fc1.weight": r(4 * D, D),
                   b + "mlp.fc1.bias": r(4 * D),
                   b + "mlp.fc2.weight": r(D, 4 * D),
                   b + "mlp.fc2.bias": r(D)})
    torch.save(sd, state)
    rng = np.random.default_rng(18)
    meta = {"classes": str(K)}
    write_stream(data, [
        ("audio", rng.standard_normal((N, 12, 20)).astype("<f4"), meta),
        ("visual", rng.standard_normal((N, 6, 8, 8)).astype("<f4"), meta),
        ("label", (np.arange(N) % K).astype("<i4"), meta)])


def vit(sd, x, chan):
    """timm's forward_features then the CLS row; x [B,C,H,W], C a multiple
    of 3 (frames of 3 channels, tokens frame-major) or 1 (audio)."""
    w = sd["patch_embed.proj.weight"]
    if chan != "rgb":
        w = w.mean(1, keepdim=True) if chan == "mean" else \
            w.sum(1, keepdim=True)
    cin = w.shape[1]
    B, C, H, W = x.shape
    x = x[:, :, :H // P * P, :W // P * P]
    gh, gw = H // P, W // P
    toks = []
    for f in range(C // cin):
        t = F.conv2d(x[:, f * cin:(f + 1) * cin], w,
                     sd["patch_embed.proj.bias"], stride=P)
        toks.append(t.flatten(2).transpose(1, 2))
    t = torch.cat(toks, 1)
    pos = sd["pos_embed"][0]
    s = int(round((pos.shape[0] - 1) ** 0.5))
    grid = pos[1:].reshape(1, s, s, D).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(gh, gw), mode="bicubic",
                         align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(gh * gw, D)
    t = t + grid.repeat(C // cin, 1)
    t = torch.cat([(sd["cls_token"][0] + pos[:1]).expand(B, 1, D), t], 1)
    for i in range(DEPTH):
        b = "blocks.%d." % i
        h = F.layer_norm(t, (D,), sd[b + "norm1.weight"],
                         sd[b + "norm1.bias"], 1e-6)
        qkv = F.linear(h, sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"])
        n = qkv.shape[1]
        qkv = qkv.reshape(B, n, 3, HEADS, D // HEADS).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1)) * (D // HEADS) ** -0.5
        o = (a.softmax(-1) @ v).transpose(1, 2).reshape(B, n, D)
        t = t + F.linear(o, sd[b + "attn.proj.weight"],
                         sd[b + "attn.proj.bias"])
        h = F.layer_norm(t, (D,), sd[b + "norm2.weight"],
                         sd[b + "norm2.bias"], 1e-6)
        h = F.gelu(F.linear(h, sd[b + "mlp.fc1.weight"],
                            sd[b + "mlp.fc1.bias"]))
        t = t + F.linear(h, sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"])
    t = F.layer_norm(t, (D,), sd["norm.weight"], sd["norm.bias"], 1e-6)
    return t[:, 0]


def check(state, ck, data, tsv, chan="mean"):
    sd = {k: v.to(torch.float64) for k, v in torch.load(state).items()}
    c = read_stream(ck)
    ds = read_stream(data)
    a = torch.from_numpy(ds["audio"].astype(np.float64))[:, None]
    v = torch.from_numpy(ds["visual"].astype(np.float64))
    feat = torch.cat([vit(sd, a, chan), vit(sd, v, "rgb")], 1)
    hw = torch.from_numpy(c["head.w"].astype(np.float64))
    hb = torch.from_numpy(c["head.b"].astype(np.float64))
    want = F.linear(feat, hw, hb).softmax(-1).numpy()
    rows = [l.split("\t") for l in open(tsv).read().splitlines()]
    cols = [i for i, h in enumerate(rows[0]) if h[:1] == "p" and h[1:].isdigit()]
    got = np.array([[float(r[i]) for i in cols] for r in rows[1:]])
    if got.shape != want.shape:
        print("shape: rq %s, torch %s" % (got.shape, want.shape))
        return 1
    rel = np.abs(got - want) / np.abs(want)
    print("max relative difference %.3g (rq %s, torch %s)"
          % (rel.max(), got[0], want[0]))
    # the spread of the probabilities, so a test on equal ones cannot pass
    print("spread %.3g" % (want.max() - want.min()))
    return 0 if rel.max() < 1e-4 and want.max() - want.min() > 1e-3 else 1


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(*sys.argv[2:])
    else:
        sys.exit(check(*sys.argv[2:]))
