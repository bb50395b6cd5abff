#!/bin/sh
# plots.t: the table scripts' plots (experiments/table[123].sh, rendered by
# experiments/plot.sh) on tiny runs: each is written as PNG and PDF, and
# the data behind them is what the plots claim -- AIR per epoch with the
# seed range and one rotation per seed, accuracy in % as in the tables,
# histograms on shared bins.  The pictures themselves were looked at.
. tests/tap.sh
command -v gnuplot >/dev/null || skip_all 'gnuplot not installed'
plan 9

DATA_ROOT=$T/data RESULTS=$T/res DATASET=tiny SEEDS='0 1' T1_METHODS='mt mt-rq'
TRAIN_FLAGS="-e 3 -b 16 -d 16 --heads 2 --depth 1" LEVELS='0 0.5 1'
export DATA_ROOT RESULTS DATASET SEEDS T1_METHODS TRAIN_FLAGS LEVELS
mkdir -p "$T/data/tiny"
rq-synth -n 64 -s 1 -S train -o "$T/data/tiny/train.rqt" 2>/dev/null || exit 1
rq-synth -n 40 -s 1 -S val -o "$T/data/tiny/val.rqt" 2>/dev/null || exit 1
rq-synth -n 40 -s 1 -S test -o "$T/data/tiny/test.rqt" 2>/dev/null || exit 1
for m in mt mt-rq; do for s in 0 1; do
	experiments/run-one.sh "tiny/$m/s$s" >/dev/null 2>&1 || exit 1
done; done
o=$T/res/tiny

ok 'table1.sh, table2.sh, table3.sh run' sh -c \
    'for t in 1 2 3; do experiments/table$t.sh || exit 1; done'
both=
for p in table1-air table2-share table3-noise; do
	[ "$(head -c 4 "$o/$p.pdf")" = %PDF ] &&
	    [ "$(head -c 4 "$o/$p.png" | tail -c 3)" = PNG ] || both="$both $p"
done
is 'each plot as PNG and PDF' "$both" ''
ok '  ... and no temporary left' sh -c "! ls '$o' | grep -q tmp"

# AIR: "epoch mean min max" per epoch, from the logs
want=$(for s in 0 1; do grep '^epoch=' "$o/mt-rq/s$s/log"; done |
    sed 's/^epoch=\([0-9]*\) .* air=\([^ ]*\) .*/\1 \2/' |
    awk '{ n[$1]++; t[$1] += $2; if (n[$1] == 1 || $2 < lo[$1]) lo[$1] = $2
	if (n[$1] == 1 || $2 > hi[$1]) hi[$1] = $2 }
	END { for (e in n) printf "%d %.6f %.6f %.6f\n", e, t[e] / n[e], lo[e], hi[e] }' | sort -n)
is 'AIR plot data: mean, min, max over seeds per epoch' \
    "$(awk '{ printf "%d %.6f %.6f %.6f\n", $1, $2, $3, $4 }' "$o/air-mt-rq.dat")" "$want"
is '  ... 3 epochs' "$(wc -l < "$o/air-mt-rq.dat")" 3
is '  ... one rotation per seed, after epoch 1 (beta 0, rmax 1)' \
    "$(awk '{ print $1, $3 }' "$o/rot-mt-rq.dat" | sort | tr '\n' ' ')" '1 0 1 1 '
is '  ... none for Vanilla MT' "$(wc -c < "$o/rot-mt.dat")" 0

# Table 3: the plotted values are the table's, in %
row=$(sed -n 's/^MT + RollingQ *//p' "$o/table3.txt" | tr -s ' ' | sed 's/ $//')
is 'noise plot: the table row, in %' \
    "$(awk '{ printf "%s +- %s ", $2, $3 }' "$o/table3-mt-rq.dat" | sed 's/ $//')" "$row"

# Table 2: the histograms count every test sample once per method
is 'histogram data: one row per test sample for each method' \
    "$(cat "$o/table2/mt-s0.share.tsv" "$o/table2/mt-rq-s0.share.tsv" | wc -l | tr -d ' ')" 80
