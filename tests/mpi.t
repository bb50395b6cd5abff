#!/bin/sh
# mpi.t: data-parallel rq-train-mpi (TAP).  With the same global batch and
# seed and no dropout, 2 and 3 ranks give the 1-process loss curve: per
# epoch |loss difference| <= 1e-4 * loss and |AIR difference| <= 1e-4
# (float sums in another order; measured differences are about 1e-6), and
# the val/test accuracies differ by at most one sample (1/64).  One rank
# is rq-train byte for byte, dropout included.  Ranks running their part
# in micro-batches (-u) give the same curve.  A run killed after its
# first epoch checkpoint resumes to the uninterrupted run's checkpoint.
# Skipped when mpirun or bin/rq-train-mpi (make MPI=1) is absent.
. tests/tap.sh

command -v mpirun >/dev/null 2>&1 || skip_all "mpirun not found"
[ -x bin/rq-train-mpi ] || skip_all "bin/rq-train-mpi not built (make MPI=1)"
plan 11

# root in containers needs the flag; --oversubscribe: 3 ranks on 2 cores
M="mpirun --oversubscribe --allow-run-as-root --mca btl self,vader"
M="$M --mca btl_vader_single_copy_mechanism none"

rq-synth -n 256 -s 4 --split train >"$T/tr.rqt" || exit 1
rq-synth -n 64 -s 4 --split val >"$T/va.rqt" || exit 1
rq-synth -n 64 -s 5 --split test >"$T/te.rqt" || exit 1
D="$T/tr.rqt $T/va.rqt $T/te.rqt"

# same: A.log B.log: every epoch line of A matches B within the tolerances
same() {
	awk -v ref="$1" '
	function kv(line, a,   n, i, f, p) {
		n = split(line, f, " ")
		for (i = 1; i <= n; i++) {
			p = index(f[i], "=")
			if (p) a[substr(f[i], 1, p - 1)] = substr(f[i], p + 1)
		}
	}
	function abs(x) { return x < 0 ? -x : x }
	FILENAME == ref && /^epoch=/ { r[++nr] = $0; next }
	/^epoch=/ {
		if (++n > nr) { print "extra epoch line: " $0; bad = 1; next }
		delete x; delete y
		kv(r[n], x); kv($0, y)
		if (abs(x["loss"] - y["loss"]) > 1e-4 * abs(x["loss"]))
			{ print "epoch " n ": loss " x["loss"] " vs " y["loss"]; bad = 1 }
		if (abs(x["air"] - y["air"]) > 1e-4)
			{ print "epoch " n ": air " x["air"] " vs " y["air"]; bad = 1 }
		split("train_acc val_acc val_acc_a val_acc_v test_acc", k, " ")
		for (i = 1; i <= 5; i++)
			if (abs(x[k[i]] - y[k[i]]) > 1 / 64 + 1e-6)
				{ print "epoch " n ": " k[i] " " x[k[i]] " vs " \
				    y[k[i]]; bad = 1 }
	}
	END {
		if (n != nr || nr == 0) { print "epochs: " nr " vs " n; bad = 1 }
		exit bad
	}' "$1" "$2"
}

# 1: two ranks, global batch 24 (12 + 12; last batch 16 = 8 + 8)
A="-e 4 -b 24 -l 0.05 -D 0 -d 32 --heads 2 --depth 1 --rollingq"
rq-train $A $D 2>"$T/one.log"
$M -np 2 bin/rq-train-mpi $A $D 2>"$T/two.log" >/dev/null
like "2 ranks: really 2" "$(grep '^# rq-train-mpi' "$T/two.log")" "ranks=2 "
ok "2 ranks = 1 process: loss, AIR, accuracies per epoch" \
    same "$T/one.log" "$T/two.log"
like "2 ranks: the rotation happened" "$(cat "$T/two.log")" "rotation=1 air="

# 2: the comparison can fail: another seed is another curve
rq-train $A -s 1 $D 2>"$T/seed1.log"
nok "comparison tells another seed apart" same "$T/one.log" "$T/seed1.log"

# 3: three ranks, batch 17: parts 6+6+5, the last batch (1 sample) 1+0+0
B="-e 3 -b 17 -l 0.05 -D 0 -d 32 --heads 2 --depth 1 --rollingq"
rq-train $B $D 2>"$T/one17.log"
$M -np 3 bin/rq-train-mpi $B $D 2>"$T/three.log" >/dev/null
ok "3 ranks, uneven parts and empty ranks = 1 process" \
    same "$T/one17.log" "$T/three.log"

# 3b: 2 ranks each running its 12 samples as micro-batches of 5 (5+5+2)
$M -np 2 bin/rq-train-mpi $A -u 5 $D 2>"$T/twou.log" >/dev/null
ok "2 ranks x micro-batches of 5 = 1 process" same "$T/one.log" "$T/twou.log"
like "2 ranks, -u 5: the log names the micro-batch" \
    "$(grep '^# rq-train ' "$T/twou.log")" " batch=24 micro=5 "

# 4: one rank is rq-train exactly, dropout 0.2 included
C="-e 2 -b 32 -l 0.05 -D 0.2 -d 32 --heads 2 --depth 1 --rollingq"
rq-train $C -o "$T/s.ck" $D 2>/dev/null
$M -np 1 bin/rq-train-mpi $C -o "$T/m.ck" $D 2>/dev/null >/dev/null
ok "1 rank: the same checkpoint as rq-train, byte for byte" \
    cmp "$T/s.ck" "$T/m.ck"

# 5: dropout on 2 ranks trains and the replicas stay equal
$M -np 2 bin/rq-train-mpi -e 6 -b 32 -l 0.05 -D 0.2 -d 32 --heads 2 --depth 1 \
    -o "$T/d.ck" $D 2>"$T/drop.log" >/dev/null
l1=$(sed -n 's/^epoch=1 .* loss=\([^ ]*\) .*/\1/p' "$T/drop.log")
l6=$(sed -n 's/^epoch=6 .* loss=\([^ ]*\) .*/\1/p' "$T/drop.log")
ok "2 ranks with dropout: the loss falls ($l1 -> $l6)" \
    awk -v a="$l1" -v b="$l6" 'BEGIN { exit !(b != "" && b < a) }'
nok "2 ranks with dropout: replicas never differed" \
    grep -q "replicas differed" "$T/drop.log"

# 6: killed after the first epoch checkpoint, resumed on 2 ranks
R="-e 6 -b 32 -l 0.05 -D 0 -d 32 --heads 2 --depth 1 --rollingq"
$M -np 2 bin/rq-train-mpi $R -o "$T/a.ck" $D 2>/dev/null >/dev/null
$M -np 2 bin/rq-train-mpi $R -o "$T/b.ck" $D 2>/dev/null >/dev/null &
pid=$!
while [ ! -f "$T/b.ck" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -TERM $pid 2>/dev/null
wait $pid
st=$?
[ $st -ne 0 ] || diag "run finished (status $st) before the kill"
$M -np 2 bin/rq-train-mpi -r "$T/b.ck" -o "$T/b.ck" $D 2>/dev/null >/dev/null
ok "resume on 2 ranks: the uninterrupted run's checkpoint" \
    cmp "$T/a.ck" "$T/b.ck"
