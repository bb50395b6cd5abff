#!/bin/sh
# init.t: rq-train --init FILE.  Without python: weights taken from one
# checkpoint (rq-cat --name 'enc.*') load into a fresh run, are reported
# and recorded, and every mismatch (name, shape, -r) fails cleanly.  With
# /usr/bin/python3 and torch: scripts/vit-convert turns a made-up timm ViT
# state dict (testdata/init_ref.py gen: width 32, 2 blocks, patch 4, no
# download) into a stream, and the Concat model loaded from it gives the
# probabilities of the same model written in PyTorch, to 1e-4 relative.
. tests/tap.sh
plan 20

PY=/usr/bin/python3
A='-m concat -d 16 --depth 1 --heads 2 --mlp-ratio 2 -e 1 -b 32 -l 0.05'
rq-synth -n 64 -s 1 -o "$T/tr.rqt"
# shellcheck disable=SC2086
rq-train $A -s 1 -o "$T/a" "$T/tr.rqt" "$T/tr.rqt" >/dev/null 2>&1
rq-cat --name 'enc.*' -o "$T/enc.rqt" "$T/a"
# shellcheck disable=SC2086
ok 'a fresh run loads the encoders of another' \
    rq-train $A -s 2 -o "$T/b" -L "$T/b.log" --init "$T/enc.rqt" \
    "$T/tr.rqt" "$T/tr.rqt"
like 'stderr counts the tensors and names the groups left at init' \
    "$(cat "$T/.out")" "enc.rqt: loaded 36 of the model's 42 tensors (5632 of 6302 parameters)"
like '... the head and probes stay at init' "$(cat "$T/.out")" \
    "left at init: head,probe"
like 'the checkpoint records the file' "$(rq-info "$T/b" | head -n 1)" \
    "init.file=$T/enc.rqt"
like 'the checkpoint records the names' "$(rq-info "$T/b" | head -n 1)" \
    "init.names=enc.a.patch.w,enc.a.patch.b,enc.a.cls,"
rq-train -r "$T/b" -e 2 -o "$T/b2" "$T/tr.rqt" "$T/tr.rqt" >/dev/null 2>&1
like 'a resumed run keeps the record' "$(rq-info "$T/b2" | head -n 1)" \
    "init.file=$T/enc.rqt"
# lr 1e-30: one step that leaves the weights as loaded
# shellcheck disable=SC2086
rq-train $A -l 1e-30 -s 2 -o "$T/c" --init "$T/enc.rqt" "$T/tr.rqt" \
    "$T/tr.rqt" >/dev/null 2>&1
rq-cat --name 'enc.*' -o "$T/c.enc" "$T/c"
ok 'the loaded encoders are the ones in the file' cmp "$T/c.enc" "$T/enc.rqt"
rq-cat --name 'head.*' -o "$T/a.head" "$T/a"
rq-cat --name 'head.*' -o "$T/c.head" "$T/c"
nok '... and the head is not' cmp -s "$T/a.head" "$T/c.head"

rq-cat --name 'enc.a.*' -o "$T/audio.rqt" "$T/a"
# shellcheck disable=SC2086
rq-train $A -s 2 --init "$T/audio.rqt" "$T/tr.rqt" "$T/tr.rqt" \
    >/dev/null 2>"$T/err"
like 'partly loaded: the visual encoder is reported' "$(cat "$T/err")" \
    "left at init: enc.v.patch,enc.v.cls,enc.v.pos,enc.v.blk.0,enc.v.ln,head,probe"

# shellcheck disable=SC2086
fails_cleanly 'a shape mismatch names file, record and both shapes' \
    "enc.rqt: record 0: enc.a.patch.w: shape [16,16] in the file, [8,16] in the model" \
    -f "$T/d" rq-train -m concat -d 8 --depth 1 --heads 2 --mlp-ratio 2 -e 1 -o "$T/d" \
    --init "$T/enc.rqt" "$T/tr.rqt" "$T/tr.rqt"
# shellcheck disable=SC2086
fails_cleanly 'a name the model lacks' \
    "enc.rqt: record 0: enc.a.patch.w: no parameter of that name" \
    -f "$T/d" rq-train -m visual -d 16 --depth 1 --heads 2 --mlp-ratio 2 -e 1 -o "$T/d" \
    --init "$T/enc.rqt" "$T/tr.rqt" "$T/tr.rqt"
rq-cat --name 'enc.a.cls' "$T/a" "$T/a" >"$T/twice.rqt"
# shellcheck disable=SC2086
fails_cleanly 'a name twice' "twice.rqt: record 1: enc.a.cls: named twice" \
    rq-train $A --init "$T/twice.rqt" "$T/tr.rqt" "$T/tr.rqt"
# shellcheck disable=SC2086
fails_cleanly 'a missing file' "nope.rqt" \
    rq-train $A --init "$T/nope.rqt" "$T/tr.rqt" "$T/tr.rqt"
# shellcheck disable=SC2086
rq-train $A -r "$T/a" --init "$T/enc.rqt" "$T/tr.rqt" "$T/tr.rqt" \
    >/dev/null 2>"$T/err"
is '--init with -r is a usage error' "$?:$(head -n 1 "$T/err")" \
    "2:rq-train: --init and -r exclude each other (a resumed run keeps its weights)"

if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	for i in 1 2 3 4 5 6; do
		skip "vit-convert against PyTorch ($i)" \
		    "$PY lacks torch or numpy (Debian: python3-torch)"
	done
	exit
fi
"$PY" testdata/init_ref.py gen "$T/s.pt" "$T/d.rqt"
ok 'vit-convert: a timm state dict, both modalities' "$PY" scripts/vit-convert \
    --audio 12x20 --visual 6x8x8 -o "$T/i.rqt" "$T/s.pt"
"$PY" -c 'import sys, numpy, torch
numpy.savez(sys.argv[2], **{k: v.numpy() for k, v in torch.load(sys.argv[1]).items()})' \
    "$T/s.pt" "$T/s.npz"
"$PY" scripts/vit-convert --audio 12x20 --visual 6x8x8 -o "$T/n.rqt" \
    "$T/s.npz" 2>/dev/null
rq-cat --unset from -o "$T/n0.rqt" "$T/n.rqt"
rq-cat --unset from -o "$T/i0.rqt" "$T/i.rqt"
ok 'vit-convert: the .npz of the same state dict gives the same stream' \
    cmp "$T/n0.rqt" "$T/i0.rqt"
B='-m concat -d 32 --depth 2 --heads 4 --mlp-ratio 4 -a 4x4 -v 4x4 -c 3 -e 1 -b 6 -w 0 -W 0'
# lr 1e-30: one step that leaves the weights as loaded, so the checkpoint
# holds them and the head rq drew
# shellcheck disable=SC2086
rq-train $B -l 1e-30 -o "$T/ck" --init "$T/i.rqt" "$T/d.rqt" "$T/d.rqt" \
    >/dev/null 2>&1
rq-eval -t "$T/ck" "$T/d.rqt" >"$T/e.tsv" 2>/dev/null
ok "rq's forward equals PyTorch's (1e-4 relative)" \
    "$PY" testdata/init_ref.py check "$T/s.pt" "$T/ck" "$T/d.rqt" "$T/e.tsv"
diag "$(cat "$T/.out")"
nok '... and the check sees a wrong audio patch (sum for mean)' \
    "$PY" testdata/init_ref.py check "$T/s.pt" "$T/ck" "$T/d.rqt" "$T/e.tsv" sum
"$PY" scripts/vit-convert -n 3 --visual 6x8x8 -o "$T/x.rqt" "$T/s.pt" \
    2>"$T/err"
is 'vit-convert: more blocks than the state dict has' \
    "$?:$(cat "$T/err")" "1:vit-convert: $T/s.pt: -n 3: the state dict has 2 blocks"
"$PY" scripts/vit-convert --visual 5x8x8 -o "$T/x.rqt" "$T/s.pt" 2>"$T/err"
like 'vit-convert: channels that are not frames' "$?:$(cat "$T/err")" \
    "1:vit-convert: --visual 5x8x8: 5 channels are not frames of the model's 3"
