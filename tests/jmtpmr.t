#!/bin/sh
# jmtpmr.t: CLI tests of rq-train -m jmt and -m pmr (TAP): the Table 4
# counts of rq-train --params-only --count, each method trains, resumes
# bit-identically after SIGKILL (PMR also after SIGINT mid-epoch, where
# the checkpoint's prototypes are the epoch's), and reloads in rq-eval
# (JMT with its layer-1 attention shares); PMR's options are checked.
. tests/tap.sh
plan 18

rq-synth -n 256 -s 4 --split train >"$T/tr.rqt" || exit 1
rq-synth -n 64 -s 4 --split val >"$T/va.rqt" || exit 1

# 1: the paper's Table 4 figures under thop's convention
P="-d 768 --depth 4 --heads 12 --mlp-ratio 4 --audio-patch 16x16 --visual-patch 16x16 --audio 257x188 --classes 6"
out=$(rq-train --params-only --count -m mt $P --visual 3x224x224)
like "Vanilla MT: 59,870,226 params, 1489.13 G" "$out" \
    "count=thop params=59870226 macs=11633819136 "
like "MT + RollingQ: 60,460,050 params" "$out" "count=thop+R params=60460050 "
out=$(rq-train --params-only --count -m jmt $P --visual 3x224x224)
like "JMT: 62,232,594 params" "$out" "count=thop params=62232594 "

# make table4's script: the paper's figures beside rq's, MBT/MMML marked
RESULTS=$T/res sh experiments/table4.sh >"$T/t4.txt" 2>&1
like "table4: Vanilla MT row reproduces 59.87 M and 1489.13 G" \
    "$(grep '^Vanilla MT ' "$T/t4.txt" | tr -s ' ')" \
    "Vanilla MT 59.87 59.87 1489.13 1489.13 "
like "table4: MT + RollingQ row reproduces 60.46 M and 1489.20 G" \
    "$(grep '^MT + RollingQ ' "$T/t4.txt" | tr -s ' ')" \
    "MT + RollingQ 60.46 60.46 1489.20 1489.20 "

# kill -9 once the first checkpoint exists; resume; compare to a whole run
killed_resume() {	# name flags...
	n=$1
	shift
	rq-train "$@" -o "$T/$n.a" "$T/tr.rqt" "$T/va.rqt" 2>"$T/$n.log"
	kill_resume "$T/$n.b" "$T/tr.rqt" "$T/va.rqt" "$@"
	ok "$n: resume after SIGKILL: same final checkpoint" \
	    cmp "$T/$n.a" "$T/$n.b"
}

# 2: JMT
J="-m jmt -e 4 -b 16 -l 0.05 -d 32 --heads 2 --depth 1"
killed_resume jmt $J
like "jmt: logs AIR of its first layer" "$(grep '^epoch=4 ' "$T/jmt.log")" \
    " air="
want=$(sed -n 's/^epoch=4 .* val_acc=\([0-9.]*\) .*/\1/p' "$T/jmt.log")
got=$(rq-eval --summary "$T/jmt.a" "$T/va.rqt" | sed 's/^acc=\([0-9.]*\) .*/\1/')
is "jmt: rq-eval = rq-train's val accuracy" "$got" "$want"
like "jmt: rq-eval prints attention shares" \
    "$(rq-eval -t "$T/jmt.a" "$T/va.rqt" | head -n 1)" "share.audio"

# 3: PMR
M="-m pmr -e 4 -b 16 -l 0.05 -d 32 --heads 2 --depth 1"
killed_resume pmr $M
like "pmr: the log names it" "$(head -n 1 "$T/pmr.log")" "method=concat+pmr "
like "pmr: prototypes in the checkpoint" "$(rq-info "$T/pmr.a")" \
    "pmr.proto	f64	[2,10,32]"
# SIGINT mid-epoch: the saved prototypes are those of that epoch
rq-train $M -o "$T/pi.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null &
pid=$!
while [ ! -f "$T/pi.ck" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -INT $pid 2>/dev/null
wait $pid
rq-train -r "$T/pi.ck" -o "$T/pi.ck" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
ok "pmr: resume after SIGINT: same final checkpoint" cmp "$T/pmr.a" \
    "$T/pi.ck"
# PMR changes training: alpha 0 is plain Concat, byte for byte
rq-train $M --pmr-alpha 0 -L "$T/p0.log" -o "$T/p0.ck" "$T/tr.rqt" \
    "$T/va.rqt" 2>/dev/null
rq-train -m concat -e 4 -b 16 -l 0.05 -d 32 --heads 2 --depth 1 -L "$T/c.log" \
    "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
is "pmr: --pmr-alpha 0 trains as Concat" \
    "$(grep '^epoch=4' "$T/p0.log" | sed 's/ seconds=.*//')" \
    "$(grep '^epoch=4' "$T/c.log" | sed 's/ seconds=.*//')"
a=$(grep '^epoch=4' "$T/pmr.log" | sed 's/ seconds=.*//')
c=$(grep '^epoch=4' "$T/c.log" | sed 's/ seconds=.*//')
ok "pmr: alpha 0.6 trains otherwise" test -n "$a" -a "$a" != "$c"
# PMR's coefficients come from the whole batch: micro-batches (a
# prepass, as over MPI ranks) give the loss curve of whole batches
rq-train $M -u 5 -L "$T/pu.log" "$T/tr.rqt" "$T/va.rqt" 2>/dev/null
ok "pmr: micro-batches give the same losses (1e-4)" awk '
	FILENAME == ARGV[1] && /^epoch=/ { split($3, x, "="); r[$1] = x[2]; next }
	/^epoch=/ { split($3, x, "="); n++
		d = x[2] - r[$1]; if (d < 0) d = -d
		if (d > 1e-4 * r[$1]) bad = 1 }
	END { exit bad || n != 4 }' "$T/pmr.log" "$T/pu.log"
fails_usage() {
	"$@" >/dev/null 2>&1
	[ $? -eq 2 ]
}
ok "--pmr-alpha needs -m pmr (exit 2)" fails_usage rq-train -m concat \
    --pmr-alpha 1 "$T/tr.rqt" "$T/va.rqt"
ok "--pmr-momentum outside [0, 1] (exit 2)" fails_usage rq-train -m pmr \
    --pmr-momentum 2 "$T/tr.rqt" "$T/va.rqt"
