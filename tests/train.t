#!/bin/sh
# train.t: CLI tests of rq-train and rq-eval (TAP): the paper-size
# parameter count, a tiny model overfitting 64 samples, bit-identical
# resume after SIGKILL and after SIGINT, a NaN loss keeping the last good
# checkpoint, a rotated model reloaded by rq-eval, bad input; MT*: its
# parameter count, progressive rotation, reload and resume.
. tests/tap.sh
plan 33

rq-synth -n 64 -s 3 --split train >"$T/t64.rqt" || exit 1
rq-synth -n 256 -s 4 --split train >"$T/tr.rqt" || exit 1
rq-synth -n 64 -s 4 --split val >"$T/va.rqt" || exit 1

# 1: DESIGN.md section 5, the authors' count for Vanilla MT at CREMA-D size
out=$(rq-train --params-only -m mt -d 768 --depth 4 --heads 12 \
    --audio-patch 16x16 --visual-patch 16x16 --channels 3 --audio 257x188 \
    --visual 9x224x224 --classes 6)
like "paper-size Vanilla MT has 60,456,198 parameters" "$out" \
    "params paper=60456198 "
like "non-trainable R is 768^2" "$out" "params nontrainable R=589824"

# 2: overfit 64 samples (eval-mode accuracy on the same samples)
rq-train -e 30 -b 16 -l 0.05 -w 1 -D 0 -d 32 --heads 2 --depth 1 \
    "$T/t64.rqt" "$T/t64.rqt" 2>"$T/of.log"
last=$(grep '^epoch=30 ' "$T/of.log")
like "tiny model overfits 64 samples" "$last" " val_acc=1.0000 "

# 3: SIGKILL after the first checkpoint, resume, compare byte for byte
TR="-e 6 -b 16 -l 0.05 -d 32 --heads 2 --depth 1 --rollingq"
rq-train $TR -o "$T/a.ck" -L "$T/a.log" "$T/tr.rqt" "$T/va.rqt"
# in a subshell whose stderr is /dev/null: the shell's own "Killed"
# report of its child goes there, not into the test's output
st=$( (rq-train $TR -o "$T/b.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null &
pid=$!
while [ ! -f "$T/b.ck" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -9 $pid 2>/dev/null
wait $pid
echo $?) 2>/dev/null)
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
like "SIGINT: says where it stopped" "$(tail -n 1 "$T/c.err")" \
    "resume with: rq-train -r $T/c.ck $T/tr.rqt $T/va.rqt"
rq-train -r "$T/c.ck" -o "$T/c.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
ok "resume after SIGINT: same final checkpoint" cmp "$T/a.ck" "$T/c.ck"

# 5: a NaN loss stops with exit 1 and keeps the last good checkpoint
rq-train -e 1 -b 16 -d 16 --heads 2 --depth 1 -o "$T/n.ck" "$T/t64.rqt" \
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
got=$(rq-eval --summary "$T/a.ck" "$T/va.rqt" | sed 's/^acc=\([0-9.]*\) .*/\1/')
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
# a checkpoint's settings are read field by field: a bad one is named
rq-cat -i 0 --meta train.lr=abc "$T/n0.ck" >"$T/lr.ck"
rq-cat --exclude checkpoint "$T/n0.ck" >>"$T/lr.ck"
fails_cleanly "resume: a bad setting names the file, record and field" \
    "lr.ck: record 0: train.lr: bad number: abc" \
    rq-train -r "$T/lr.ck" "$T/t64.rqt" "$T/t64.rqt"
rq-cat -i 0 --meta train.epochs=0 "$T/n0.ck" >"$T/ep.ck"
rq-cat --exclude checkpoint "$T/n0.ck" >>"$T/ep.ck"
fails_cleanly "resume: a setting out of range is named" \
    "ep.ck: record 0: train.epochs: need 1 <= epochs <= 1000000" \
    rq-train -r "$T/ep.ck" "$T/t64.rqt" "$T/t64.rqt"
ok "rq-eval needs only the model config" rq-eval --summary "$T/ep.ck" "$T/t64.rqt"

# 8: MT* (two fusion layers, progressive RollingQ; rq-train(1))
out=$(rq-train --params-only -m mt -d 768 --depth 4 --heads 12 \
    --audio-patch 16x16 --visual-patch 16x16 --channels 3 --audio 257x188 \
    --visual 9x224x224 --classes 6)
mt=$(printf '%s\n' "$out" | sed -n 's/^params trainable=\([0-9]*\) .*/\1/p')
out=$(rq-train --params-only -m mtstar -d 768 --depth 4 --heads 12 \
    --audio-patch 16x16 --visual-patch 16x16 --channels 3 --audio 257x188 \
    --visual 9x224x224 --classes 6)
like "mtstar: MT + one fusion layer (cls + 4 maps of 768^2 + 768)" "$out" \
    "params trainable=$((mt + 768 + 4 * (768 * 768 + 768))) "
like "mtstar: two non-trainable R" "$out" "params nontrainable R=1179648 "
MS="-m mtstar --rollingq --rmax 2 -e 5 -b 16 -l 0.05 -d 32 --heads 2 --depth 1"
rq-train $MS -o "$T/s.ck" -L "$T/s.log" "$T/tr.rqt" "$T/va.rqt"
seq=$(sed -n 's/^epoch=.* rotated=\([0-9]\) .*/\1/p' "$T/s.log" | tr -d '\n')
is "mtstar: rotations alternate layer 1, 2, 1, 2, then rmax stops them" \
    "$seq" "12120"
like "mtstar: both AIRs and both counts logged" \
    "$(grep '^epoch=5 ' "$T/s.log")" "rotations=2 rotated=0 air2="
rq-info "$T/s.ck" >"$T/s.info"
like "mtstar: checkpoint holds R2 and its count" \
    "$(grep 'fusion.1.R' "$T/s.info")" "rotations=2"
want=$(sed -n 's/^epoch=5 .* val_acc=\([0-9.]*\) .*/\1/p' "$T/s.log")
got=$(rq-eval --summary "$T/s.ck" "$T/va.rqt" | sed 's/^acc=\([0-9.]*\) .*/\1/')
is "mtstar: rq-eval on the reloaded model = rq-train's val accuracy" \
    "$got" "$want"
# SIGINT mid-run once both layers have rotated, resume: same weights, R1,
# R2 and counts (a lost count would rotate the wrong layer next)
rq-train $MS -o "$T/u.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null &
pid=$!
while kill -0 $pid 2>/dev/null && ! { [ -f "$T/u.ck" ] &&
    rq-info "$T/u.ck" 2>/dev/null | grep -q 'fusion.1.R.*rotations=1'; }; do
	sleep 0.01
done
kill -INT $pid 2>/dev/null
wait $pid
st=$?
[ $st -eq 1 ] || diag "run ended (status $st) before the signal"
rq-train -r "$T/u.ck" -o "$T/u.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
ok "mtstar: resume after SIGINT: same final checkpoint" cmp "$T/s.ck" \
    "$T/u.ck"
# the layer-2 dump, read by rq-air, gives the air2 that was logged
rq-train -m mtstar -e 1 -b 16 -l 0.05 -d 32 --heads 2 --depth 1 \
    --air-dump "$T/dd" -L "$T/d.log" "$T/t64.rqt" "$T/t64.rqt"
want=$(sed -n 's/^epoch=1 .* air2=\([-0-9.]*\) .*/\1/p' "$T/d.log")
got=$(rq-air "$T/dd.l2.1.rqt" | sed -n 's/.* air=\([-0-9.e]*\) .*/\1/p')
is "mtstar: rq-air on the layer-2 dump = logged air2" \
    "$(printf '%.6f' "$got")" "$want"

# 7: -u runs each batch in micro-batches; without dropout the per-epoch
# losses equal the whole-batch run's (to rounding), RollingQ and OGM-GE
# included; the micro-batch is kept in the checkpoint, so a resumed -u run
# is the same run
close() {	# LOG1 LOG2: every epoch's loss within 1e-4 relative
	paste -d' ' "$1" "$2" | awk '/^epoch=/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^loss=/) {
			v = substr($i, 6); if (!n++) a = v; else b = v }
		d = a - b; if (d < 0) d = -d
		if (d > 1e-4 * (a < 0 ? -a : a)) bad++
		n = 0; rows++ }
	END { exit !(rows > 0 && bad == 0) }'
}
for mf in "-m mt-rq" "-m concat --ogm-ge"; do
	U="$mf -e 3 -b 32 -l 0.05 -D 0 -d 32 --heads 2 --depth 1"
	rq-train $U -L "$T/w.log" "$T/tr.rqt" "$T/va.rqt"
	rq-train $U -u 8 -L "$T/m.log" "$T/tr.rqt" "$T/va.rqt"
	grep '^epoch=' "$T/w.log" >"$T/w.ep"
	grep '^epoch=' "$T/m.log" >"$T/m.ep"
	ok "-u 8 ($mf): same losses as whole batches of 32" close "$T/w.ep" \
	    "$T/m.ep"
done
like "-u: the log header names the micro-batch" "$(head -n 1 "$T/m.log")" \
    " batch=32 micro=8 "
# (epochs 1-2 are inside the default 2.5-epoch warm-up, so stopping the
# first run after 2 epochs changes no learning rate)
U="-e 3 -b 32 -u 8 -l 0.05 -d 32 --heads 2 --depth 1"
rq-train $U -o "$T/mu.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
rq-train $U -e 2 -o "$T/mv.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
rq-train -r "$T/mv.ck" -e 3 -o "$T/mv.ck" "$T/tr.rqt" "$T/va.rqt" \
    2>/dev/null
ok "-u: resumed run = uninterrupted run" cmp "$T/mu.ck" "$T/mv.ck"
# a checkpoint from before -u (no train.micro) resumes with whole batches
W="-e 3 -b 32 -l 0.05 -d 32 --heads 2 --depth 1"
rq-train $W -o "$T/ow.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
rq-train $W -e 2 -o "$T/op.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
rq-cat --unset train.micro "$T/op.ck" >"$T/old.ck"
ok "the edited checkpoint had train.micro" \
    sh -c "rq-info '$T/op.ck' | grep -q 'train.micro=0'"
nok "the edited checkpoint has no train.micro" \
    sh -c "rq-info '$T/old.ck' | grep -q 'train.micro='"
rq-train -r "$T/old.ck" -e 3 -o "$T/old.ck" "$T/tr.rqt" "$T/va.rqt" \
    2>/dev/null
ok "old checkpoint: resumed run = uninterrupted whole-batch run" \
    cmp "$T/ow.ck" "$T/old.ck"
