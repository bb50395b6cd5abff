#!/bin/sh
# train.t: CLI tests of rq-train and rq-eval (TAP): the paper-size
# parameter count, a tiny model overfitting 64 samples, bit-identical
# resume after SIGKILL and after SIGINT, a NaN loss keeping the last good
# checkpoint, a rotated model reloaded by rq-eval, bad input.
. tests/tap.sh
plan 15

rq-synth -n 64 -s 3 -S train >"$T/t64.rqt" || exit 1
rq-synth -n 256 -s 4 -S train >"$T/tr.rqt" || exit 1
rq-synth -n 64 -s 4 -S val >"$T/va.rqt" || exit 1

# 1: DESIGN.md section 5, the authors' count for Vanilla MT at CREMA-D size
out=$(rq-train --params-only -m mt -d 768 -n 4 -h 12 -a 16x16 -v 16x16 \
    -c 3 --audio 257x188 --visual 9x224x224 --classes 6)
like "paper-size Vanilla MT has 60,456,198 parameters" "$out" \
    "params paper=60456198 "
like "non-trainable R is 768^2" "$out" "params nontrainable R=589824"

# 2: overfit 64 samples (eval-mode accuracy on the same samples)
rq-train -e 30 -b 16 -l 0.05 -w 1 -D 0 -d 32 -h 2 -n 1 \
    "$T/t64.rqt" "$T/t64.rqt" 2>"$T/of.log"
last=$(grep '^epoch=30 ' "$T/of.log")
like "tiny model overfits 64 samples" "$last" " val_acc=1.0000 "

# 3: SIGKILL after the first checkpoint, resume, compare byte for byte
TR="-e 6 -b 16 -l 0.05 -d 32 -h 2 -n 1 --rollingq"
rq-train $TR -o "$T/a.ck" -L "$T/a.log" "$T/tr.rqt" "$T/va.rqt"
rq-train $TR -o "$T/b.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null &
pid=$!
while [ ! -f "$T/b.ck" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -9 $pid 2>/dev/null
wait $pid
st=$?
[ $st -eq 137 ] || diag "run ended (status $st) before the kill"
rq-train -r "$T/b.ck" -o "$T/b.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
ok "resume after SIGKILL: same final checkpoint" cmp "$T/a.ck" "$T/b.ck"
ok "resume after SIGKILL: same best checkpoint" cmp "$T/a.ck.best" \
    "$T/b.ck.best"

# 4: SIGINT saves at a batch boundary; resuming gives the same weights
rq-train $TR -o "$T/c.ck" "$T/tr.rqt" "$T/va.rqt" 2>"$T/c.err" &
pid=$!
while [ ! -f "$T/c.ck" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -INT $pid 2>/dev/null
wait $pid
is "SIGINT: exit 1" $? 1
like "SIGINT: says where it stopped" "$(tail -n 1 "$T/c.err")" "resume with -r"
rq-train -r "$T/c.ck" -o "$T/c.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
ok "resume after SIGINT: same final checkpoint" cmp "$T/a.ck" "$T/c.ck"

# 5: a NaN loss stops with exit 1 and keeps the last good checkpoint
rq-train -e 1 -b 16 -d 16 -h 2 -n 1 -o "$T/n.ck" "$T/t64.rqt" \
    "$T/t64.rqt" 2>/dev/null
cp "$T/n.ck" "$T/n0.ck"
fails_cleanly "NaN loss: exit 1, one line" "loss is" rq-train -r "$T/n.ck" \
    -e 3 -l 1e30 -o "$T/n.ck" "$T/t64.rqt" "$T/t64.rqt"
ok "NaN loss: last good checkpoint kept" cmp "$T/n.ck" "$T/n0.ck"

# 6: a rotated model, reloaded by rq-eval, predicts what training saw
rq-info "$T/a.ck" >"$T/a.info"
like "checkpoint holds R_total and the rotation count" \
    "$(grep 'fusion.R' "$T/a.info")" "rotations=1"
want=$(sed -n 's/^epoch=6 .* val_acc=\([0-9.]*\) .*/\1/p' "$T/a.log")
got=$(rq-eval -s "$T/a.ck" "$T/va.rqt" | sed 's/^acc=\([0-9.]*\) .*/\1/')
is "rq-eval on the rotated checkpoint = rq-train's val accuracy" \
    "$got" "$want"
rq-eval -t "$T/a.ck" "$T/va.rqt" >"$T/p1.tsv" 2>/dev/null
rq-eval -t "$T/a.ck.best" "$T/va.rqt" >"$T/p2.tsv" 2>/dev/null
grep -q '^best_epoch=6 ' "$T/a.log" && ok "best = last: identical predictions" \
    cmp "$T/p1.tsv" "$T/p2.tsv" || skip "best = last: identical predictions" \
    "best epoch is not the last"

# 7: bad input
printf 'not a stream\n' >"$T/bad.rqt"
fails_cleanly "rq-train: bad data set fails cleanly" "bad.rqt" \
    rq-train -e 1 "$T/bad.rqt" "$T/va.rqt"
fails_cleanly "rq-eval: a data set is not a checkpoint" "not an rq checkpoint" \
    rq-eval "$T/va.rqt" "$T/va.rqt"
