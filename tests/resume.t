#!/bin/sh
# resume.t: what rq-train does with a checkpoint it did not write (every
# field checked against its range, the data and the model: exit 1, one
# line naming file, record and field, nothing on stdout, no output file)
# and how a run survives a kill: the log line is written before the
# checkpoint and a resume drops the lines of epochs past it, the same
# command again refuses with the command that resumes, -r alone keeps
# writing the checkpoint it read, the interrupt message's command
# resumes, lost log writes and bad output paths fail before any work.
. tests/tap.sh
plan 33

rq-synth -n 64 -s 3 --split train >"$T/tr.rqt" || exit 1
rq-synth -n 32 -s 4 --split val >"$T/va.rqt" || exit 1
R="-e 4 -b 16 -l 0.05 -d 16 --heads 2 --depth 1 --rollingq"
D="$T/tr.rqt $T/va.rqt"
# shellcheck disable=SC2086
rq-train $R -o "$T/a.ck" -L "$T/a.log" $D || exit 1
# an epoch-boundary checkpoint of the same run (epoch 4 of 10)
# shellcheck disable=SC2086
rq-cat -i 0 --meta train.epochs=10 "$T/a.ck" >"$T/b.ck" &&
    rq-cat --exclude checkpoint "$T/a.ck" >>"$T/b.ck" || exit 1

# crafted: edit the head record (record 0) of b.ck
edit() {	# OUT KEY=VALUE...
	tap_o=$1
	shift
	tap_m=
	for kv; do tap_m="$tap_m --meta $kv"; done
	# shellcheck disable=SC2086
	rq-cat -i 0 $tap_m "$T/b.ck" >"$T/$tap_o" &&
	    rq-cat --exclude checkpoint "$T/b.ck" >>"$T/$tap_o"
}
refused() {	# DESC FILE MESSAGE
	# shellcheck disable=SC2086
	fails_cleanly "$1" "$2: $3" -f "$T/out.ck" rq-train -r "$T/$2" \
	    -o "$T/out.ck" $D
}
edit d.ck d=1e300
refused "d = 1e300 (int conversion): named" d.ck "record 0: d: missing or not an integer in int range"
edit ep.ck epoch=-1e300
refused "epoch = -1e300 (long conversion): named" ep.ck "record 0: epoch: missing or not an integer below 2^53"
edit en.ck epoch=-99
refused "negative epoch: named" en.ck "record 0: epoch: need 0 <= epoch"
edit sn.ck step=-1
refused "negative step: named" sn.ck "record 0: step: need 0 <= step"
edit bp.ck batch=99
refused "batch position past the epoch: named" bp.ck "record 0: batch: 99 is past the epoch (4 batches of 16)"
edit bn.ck batch=1
refused "mid-epoch position without train.perm: named" bn.ck "record 0: batch: mid-epoch position without train.perm"
edit wu.ck train.warmup=1e300
refused "warm-up 1e300: named" wu.ck "record 0: train.warmup: need 0 <= warmup <= 1000000"
edit eh.ck train.epochs=1e300
refused "epochs 1e300: named" eh.ck "record 0: train.epochs: bad integer: 1e300"
edit hd.ck heads=3
refused "heads not dividing d: named" hd.ck "record 0: heads: need 1 <= heads <= 4096, dividing d"
edit big.ck d=65536 mlp=64 heads=1 train.batch=4096
refused "sizes whose int products overflow: named, not out of memory" big.ck "record 0: d, mlp, train.batch: impossible model configuration"
edit bb.ck train.batch=2000000
refused "batch 2000000: named" bb.ck "record 0: train.batch: need 1 <= batch <= 1048576"
edit bv.ck best.val=nan
refused "best.val NaN: named" bv.ck "record 0: best.val: need -1 <= best.val <= 1"

# records: rng.state all zero, train.perm with a duplicate, R not orthogonal
head -c 32 /dev/zero | mknpy "$T/z.npy" '<u8' '(4,)'
{ rq-cat --exclude rng.state "$T/b.ck" &&
  rq-npy --rename rng.state --meta has_spare=0 --meta spare=0 "$T/z.npy"; } \
    >"$T/rz.ck"
rec() { rq-info "$T/$1" | awk -v n="$2" '$2 == n { print $1 }'; }
refused "all-zero rng.state (a stuck generator): named" rz.ck "record $(rec rz.ck rng.state): rng.state: not a valid generator state"
perm() {	# the i64 values 0..63, the first replaced by $1
	i=0
	while [ $i -lt 64 ]; do
		v=$i
		[ $i -eq 0 ] && v=$1
		# shellcheck disable=SC2059
		printf "\\$(printf %03o "$v")\\0\\0\\0\\0\\0\\0\\0"
		i=$((i + 1))
	done
}
perm 0 | mknpy "$T/p.npy" '<i8' '(64,)'
perm 5 | mknpy "$T/pd.npy" '<i8' '(64,)'
edit b1.ck batch=1
{ cat "$T/b1.ck"; rq-npy --rename train.perm "$T/p.npy"; } >"$T/pok.ck"
{ cat "$T/b1.ck"; rq-npy --rename train.perm "$T/pd.npy"; } >"$T/pdup.ck"
refused "train.perm with a duplicate: named" pdup.ck "record $(rec pdup.ck train.perm): train.perm: not a permutation of the training set"
# shellcheck disable=SC2086
ok "the same file with a true permutation resumes" rq-train -r "$T/pok.ck" \
    -o "$T/pok2.ck" -e 5 $D
head -c 2048 /dev/zero | mknpy "$T/r0.npy" '<f8' '(16,16)'
{ rq-cat --exclude fusion.R "$T/b.ck" &&
  rq-npy --rename fusion.R --meta rotations=1 "$T/r0.npy"; } >"$T/r0.ck"
refused "R not orthogonal: named" r0.ck "record $(rec r0.ck fusion.R): fusion.R: not orthogonal"
: >"$T/empty.ck"
refused "empty checkpoint: names the file" empty.ck "empty checkpoint"

# lost writes and bad paths fail before any work
# shellcheck disable=SC2086
fails_cleanly "log on a full disk: exit 1 naming the log" \
    "/dev/full: cannot write the log: No space left on device" \
    rq-train $R -L /dev/full $D
fails_cleanly "--params-only to a full disk: one line" \
    "stdout: No space left on device" sh -c 'rq-train --params-only \
    -d 16 --heads 2 --audio 8x8 --visual 1x8x8 --classes 3 >/dev/full'
# shellcheck disable=SC2086
fails_cleanly "-o in a missing directory: refused before training" \
    "$T/no/ck: cannot write a checkpoint there: $T/no: No such file" \
    rq-train $R -o "$T/no/ck" -L "$T/no.log" $D
ok "-o in a missing directory: no epoch was trained" test ! -e "$T/no.log"
# shellcheck disable=SC2086
fails_cleanly "-o a directory: refused" "$T: is a directory" \
    rq-train $R -o "$T" $D

# a kill: the log line comes first, so the checkpoint's epoch is logged
# shellcheck disable=SC2086
# (in a subshell whose stderr is /dev/null: the shell's own "Killed")
( rq-train $R -o "$T/k.ck" -L "$T/k.log" $D 2>/dev/null &
pid=$!
while [ ! -f "$T/k.ck" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -9 $pid 2>/dev/null
wait $pid ) 2>/dev/null
ep=$(rq-info "$T/k.ck" | sed -n 's/.* epoch=\([0-9]*\) .*/\1/p' | head -n 1)
like "SIGKILL: the checkpoint's epoch $ep is in the log" \
    "$(grep "^epoch=$ep " "$T/k.log")" "epoch=$ep "
# as if killed after later log lines but before their checkpoints
grep '^epoch=' "$T/a.log" | sed -n "$((ep + 1)),\$p" >>"$T/k.log"
# the same command again: refused, with the command that resumes
# shellcheck disable=SC2086
fails_cleanly "same command after a kill: refused" \
    "k.ck: holds an unfinished run (epoch $ep of 4); resume it with: rq-train -r $T/k.ck -L $T/k.log $D" \
    rq-train $R -o "$T/k.ck" -L "$T/k.log" $D
cmd=$(sed 's/.*resume it with: \(.*\) (or remove.*/\1/' "$T/.err")
eval "$cmd" 2>/dev/null
ok "its command resumes and saves: the uninterrupted checkpoint" \
    cmp "$T/a.ck" "$T/k.ck"
ok "... and the best checkpoint" cmp "$T/a.ck.best" "$T/k.ck.best"
is "log: one header" "$(grep -c '^# rq-train method' "$T/k.log")" 1
strip() { grep "^epoch=" "$1" | sed 's/ seconds=.*//'; }
is "log: each epoch once, lines past the checkpoint dropped and rewritten" \
    "$(strip "$T/k.log")" \
    "$(strip "$T/a.log")"

# issue 20 item 9: -r ck alone continues writing ck and ck.best
cp "$T/b.ck" "$T/c.ck"
cp "$T/a.ck.best" "$T/c.ck.best"
# shellcheck disable=SC2086
rq-train -r "$T/c.ck" -e 6 -L "$T/c.log" $D 2>/dev/null
is "-r ck without -o: ck is at the last epoch" \
    "$(rq-info "$T/c.ck" | sed -n 's/.* epoch=\([0-9]*\) .*/\1/p' | head -n 1)" 6
best=$(sed -n 's/^best_epoch=\([0-9]*\) .*/\1/p' "$T/c.log")
is "-r ck without -o: ck.best is the best epoch's" \
    "$(rq-info "$T/c.ck.best" | sed -n 's/.* epoch=\([0-9]*\) .*/\1/p' | head -n 1)" \
    "$best"
# SIGINT: the message's command resumes and saves
# shellcheck disable=SC2086
rq-train $R -o "$T/i.ck" $D 2>"$T/i.err" &
pid=$!
while [ ! -f "$T/i.ck" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -INT $pid 2>/dev/null
wait $pid
is "SIGINT: exit 1" $? 1
cmd=$(sed -n 's/.*; resume with: //p' "$T/i.err")
like "SIGINT: the message names the command" "$cmd" "rq-train -r $T/i.ck "
eval "$cmd" 2>/dev/null
ok "SIGINT: that command finishes the run" cmp "$T/a.ck" "$T/i.ck"
