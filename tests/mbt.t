#!/bin/sh
# mbt.t: rq-train -m mbt on rq-synth data (TAP): the paper-size table
# (6 + 2 blocks, 4 bottleneck tokens), training, rq-eval on the reloaded
# checkpoint, bit-identical resume after SIGKILL, the settings kept in the
# checkpoint, and the refusals (mbt-rq, --rollingq, bad flags).
. tests/tap.sh
plan 10

rq-synth -n 128 -s 5 --split train >"$T/tr.rqt" || exit 1
rq-synth -n 32 -s 5 --split val >"$T/va.rqt" || exit 1

# 1: at CREMA-D size, MBT = 16 blocks of 7,087,872 + the rest of Concat
P="-d 768 --heads 12 --audio-patch 16x16 --visual-patch 16x16 --channels 3 --audio 257x188 --visual 3x224x224 \
    --classes 6"
cat=$(rq-train --params-only -m concat --depth 8 $P |
    sed -n 's/^params trainable=\([0-9]*\) .*/\1/p')
out=$(rq-train --params-only -m mbt --depth 6 --mbt-layers 2 --bottlenecks 4 $P)
like "mbt 6 + 2: Concat with 8 blocks + the 4 x 768 bottleneck tokens" \
    "$out" "params trainable=$((cat + 4 * 768)) "

# 2: train, then rq-eval on the checkpoint gives the logged accuracy
M="-m mbt -e 4 -b 16 -l 0.05 -d 16 --heads 2 --depth 1 --mbt-layers 2 --bottlenecks 3"
rq-train $M -o "$T/a.ck" -L "$T/a.log" "$T/tr.rqt" "$T/va.rqt"
is "mbt: trains 4 epochs" "$(grep -c '^epoch=' "$T/a.log")" 4
eval_is_logged \
    "mbt: rq-eval on the reloaded model = rq-train's val accuracy" \
    "$T/a.ck" "$T/va.rqt" "$T/a.log" 4
rq-info "$T/a.ck" >"$T/a.info"
like "mbt: checkpoint keeps the bottleneck layers" "$(cat "$T/a.info")" \
    "fusion.layers=2"
like "mbt: checkpoint holds the bottleneck tokens [3,16]" \
    "$(grep 'mbt.bot' "$T/a.info")" "[3,16]"

# 3: SIGKILL after the first checkpoint, resume: the same bytes
kill_resume "$T/b.ck" "$T/tr.rqt" "$T/va.rqt" $M
ok "mbt: resume after SIGKILL: same final checkpoint" cmp "$T/a.ck" "$T/b.ck"

# 4: refusals
rq-train -m mbt-rq "$T/tr.rqt" "$T/va.rqt" 2>"$T/e1"
is "mbt-rq: usage error" $? 2
like "mbt-rq: says why" "$(cat "$T/e1")" "RollingQ does not apply"
rq-train -m mbt --rollingq "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
is "mbt --rollingq: usage error" $? 2
rq-train -m mbt --bottlenecks 0 "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
is "--bottlenecks 0: usage error" $? 2
