#!/bin/sh
# mmml.t: rq-train -m mmml on rq-synth data (TAP): the paper-size table
# (one CME layer, the 2d -> d -> d/2 -> K head), training, rq-eval on the
# reloaded checkpoint, bit-identical resume after SIGKILL, the CME depth
# kept in the checkpoint, bad flags.
. tests/tap.sh
plan 14

rq-synth -n 128 -s 6 --split train >"$T/tr.rqt" || exit 1
rq-synth -n 32 -s 6 --split val >"$T/va.rqt" || exit 1

# 1: at CREMA-D size, one CME layer is 18,903,552 parameters and the MLP
# head 1,478,022 (Concat's head, 1536 x 6 + 6, replaced)
P="-d 768 --depth 4 --heads 12 --audio-patch 16x16 --visual-patch 16x16 --channels 3 --audio 257x188 \
    --visual 3x224x224 --classes 6"
cat=$(rq-train --params-only -m concat $P |
    sed -n 's/^params trainable=\([0-9]*\) .*/\1/p')
out=$(rq-train --params-only -m mmml $P)
like "mmml: Concat + 1 CME layer + the MLP head" "$out" \
    "params trainable=$((cat - 9222 + 18903552 + 1478022)) "

# 2: train 2 CME layers, then rq-eval on the checkpoint = logged accuracy
M="-m mmml -e 4 -b 16 -l 0.05 -d 16 --heads 2 --depth 1 --cme-layers 2"
rq-train $M -o "$T/a.ck" -L "$T/a.log" "$T/tr.rqt" "$T/va.rqt"
is "mmml: trains 4 epochs" "$(grep -c '^epoch=' "$T/a.log")" 4
eval_is_logged \
    "mmml: rq-eval on the reloaded model = rq-train's val accuracy" \
    "$T/a.ck" "$T/va.rqt" "$T/a.log" 4
like "mmml: checkpoint keeps the CME depth" "$(rq-info "$T/a.ck")" \
    "fusion.layers=2"
like "mmml: checkpoint holds layer 2's cross-attention" \
    "$(rq-info "$T/a.ck")" "cme.1.v.cross.q.w"

# 3: SIGKILL after the first checkpoint, resume: the same bytes
kill_resume "$T/b.ck" "$T/tr.rqt" "$T/va.rqt" $M
ok "mmml: resume after SIGKILL: same final checkpoint" cmp "$T/a.ck" \
    "$T/b.ck"

# 4: bad flags
rq-train -m mmml --cme-layers 0 "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
is "--cme-layers 0: usage error" $? 2

# 5: mmml-rq: RollingQ at each stream's self-attention query, the two
# sites taking turns (audio stream, then visual); both R checkpointed;
# resume after SIGKILL gives the same bytes
MR="-m mmml-rq -e 4 -b 16 -l 0.05 -d 16 --heads 2 --depth 1"
rq-train $MR -o "$T/r.ck" -L "$T/r.log" "$T/tr.rqt" "$T/va.rqt"
seq=$(sed -n 's/^epoch=.* rotated=\([0-9]\) .*/\1/p' "$T/r.log" | tr -d '\n')
is "mmml-rq: the audio site rotates, then the visual one, then rmax" \
    "$seq" "1200"
like "mmml-rq: both AIRs logged" "$(grep '^epoch=4 ' "$T/r.log")" \
    "rotations=1 rotated=0 air2="
like "mmml-rq: checkpoint holds the visual stream's R" \
    "$(rq-info "$T/r.ck" | grep 'fusion.1.R')" "rotations=1"
kill_resume "$T/s.ck" "$T/tr.rqt" "$T/va.rqt" $MR
ok "mmml-rq: resume after SIGKILL: same final checkpoint" cmp "$T/r.ck" \
    "$T/s.ck"
eval_is_logged \
    "mmml-rq: rq-eval on the rotated model = rq-train's val accuracy" \
    "$T/r.ck" "$T/va.rqt" "$T/r.log" 4

# 6: each fusion's flags belong to its method
rq-train -m mmml --bottlenecks 2 "$T/tr.rqt" "$T/va.rqt" 2>"$T/e2"
is "mmml --bottlenecks: usage error" $? 2
rq-train -m mbt --cme-layers 2 "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
is "mbt --cme-layers: usage error" $? 2
