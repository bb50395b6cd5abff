#!/bin/sh
# mut.t: rq-train -m mut and -m mut-rq on rq-synth data (TAP): the
# parameter table and its counts, training, rq-eval on the reloaded
# checkpoint (accuracy and attention shares), bit-identical resume after
# SIGKILL, the sizes kept in the checkpoint, mut-rq's rotation, logged AIR
# and AIR dump, bad flags.
. tests/tap.sh
plan 17

rq-synth -n 128 -s 8 --split train >"$T/tr.rqt" || exit 1
rq-synth -n 32 -s 8 --split val >"$T/va.rqt" || exit 1

# 1: the parameters: Concat's encoders and probes, Concat's head
# (2dK + K) replaced by two directions of one crossmodal layer, its LN,
# 3 memory blocks and their LN, MT's fusion layer and the read-out
d=16 h=64 K=10
xm=$((4 * d + 4 * (d * d + d) + 2 * h * d + h + d))
blk=$((4 * d + 3 * d * d + 3 * d + d * d + d + 2 * h * d + h + d))
fus=$((d + 4 * (d * d + d)))
head=$((2 * (9 * d * d + 3 * d) + 3 * d * K + K))
P="-d $d --depth 1 --heads 2 --audio 16x16 --visual 1x16x16 --classes $K"
cat=$(rq-train --params-only -m concat $P |
    sed -n 's/^params trainable=\([0-9]*\) .*/\1/p')
out=$(rq-train --params-only -m mut $P)
like "mut: Concat - its head + 2 directions + fusion + read-out" "$out" \
    "params trainable=$((cat - 2 * d * K - K + 2 * (xm + 4 * d + 3 * blk) + fus + head)) "
out=$(rq-train --params-only --count -m mut-rq $P)
like "mut: --count counts it (every tensor annotated)" "$out" \
    "count=all params=$((cat - 2 * d * K - K + 2 * (xm + 4 * d + 3 * blk) + fus + head)) "
like "mut: --count adds R once (one fusion query)" "$out" "count=thop+R "

# 2: train, reload in rq-eval
M="-m mut -e 2 -b 16 -l 0.05 -d 16 --heads 2 --depth 1 --mut-layers 2 --mut-memory 1"
rq-train $M -o "$T/a.ck" -L "$T/a.log" "$T/tr.rqt" "$T/va.rqt"
is "mut: trains 2 epochs" "$(grep -c '^epoch=' "$T/a.log")" 2
want=$(sed -n 's/^epoch=2 .* val_acc=\([0-9.]*\) .*/\1/p' "$T/a.log")
got=$(rq-eval --summary "$T/a.ck" "$T/va.rqt" | sed 's/^acc=\([0-9.]*\) .*/\1/')
is "mut: rq-eval on the reloaded model = rq-train's val accuracy" "$got" \
    "$want"
info=$(rq-info "$T/a.ck")
like "mut: checkpoint keeps the crossmodal layers" "$info" "fusion.layers=2"
like "mut: checkpoint keeps the memory blocks" "$info" "fusion.memory=1"
like "mut: checkpoint holds layer 2 of visual<-audio" "$info" \
    "mut.v.cross.1.fc2.w"
like "mut: R stays the identity (no rotation)" \
    "$(printf '%s\n' "$info" | grep 'fusion.R')" "rotations=0"
# the shares of the fusion query: audio + visual + cls_f = 1 per sample
sum=$(rq-eval -t "$T/a.ck" "$T/va.rqt" | awk -F'\t' 'NR > 1 {
	s = $4 + $5 + $6; if (s < 0.999 || s > 1.001 || $4 <= 0) bad++; n++ }
	END { print n, bad + 0 }')
is "mut: rq-eval prints shares that sum to 1" "$sum" "32 0"

# 3: SIGKILL after the first checkpoint, resume: the same bytes
kill_resume "$T/b.ck" "$T/tr.rqt" "$T/va.rqt" $M
ok "mut: resume after SIGKILL: same final checkpoint" cmp "$T/a.ck" \
    "$T/b.ck"

# 4: mut-rq: RollingQ at the fusion query over both memories: it rotates
# in epoch 1, logs AIR, dumps the query and key means (rq-air on the dump
# = the logged AIR), keeps R, and resumes to the same bytes
MR="-m mut-rq -e 3 -b 16 -l 0.05 -d 16 --heads 2 --depth 1"
rq-train $MR -o "$T/r.ck" -L "$T/r.log" --air-dump "$T/dd" "$T/tr.rqt" \
    "$T/va.rqt"
seq=$(sed -n 's/^epoch=.* rotated=\([0-9]\) .*/\1/p' "$T/r.log" | tr -d '\n')
is "mut-rq: rotates once (rmax 1)" "$seq" "100"
like "mut-rq: checkpoint holds the rotated R" \
    "$(rq-info "$T/r.ck" | grep 'fusion.R')" "rotations=1"
want=$(sed -n 's/^epoch=2 .* air=\([-0-9.]*\) .*/\1/p' "$T/r.log")
got=$(rq-air "$T/dd.2.rqt" | sed -n 's/.* air=\([-0-9.e]*\) .*/\1/p')
is "mut-rq: rq-air on the epoch-2 dump = logged AIR" \
    "$(printf '%.6f' "$got")" "$want"
kill_resume "$T/s.ck" "$T/tr.rqt" "$T/va.rqt" $MR
ok "mut-rq: resume after SIGKILL: same final checkpoint" cmp "$T/r.ck" \
    "$T/s.ck"

# 5: bad flags
rq-train -m mut --mut-layers 0 "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
is "--mut-layers 0: usage error" $? 2
rq-train -m mt --mut-memory 2 "$T/tr.rqt" "$T/va.rqt" 2>"$T/e1"
is "mt --mut-memory: usage error" $? 2
