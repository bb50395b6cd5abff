#!/bin/sh
# table3.sh: Table 3 of the paper, accuracy when Gaussian noise of std
# level in LEVELS is added to the normalised first modality (audio) of the
# test split at test time (protocol [ours]; rq-noise --modality audio --std level, seeded by the
# run's seed), Vanilla MT vs MT + RollingQ, mean +- std over seeds, and a
# plot of the sweep (PNG and PDF).
set -eu
. "$(dirname "$0")/config.sh"
LEVELS=${LEVELS:-0 0.25 0.5 0.75 1.0}
out=$RESULTS/$DATASET
mkdir -p "$out/table3"

for m in mt mt-rq; do
	for s in $SEEDS; do
		need_run "$m" "$s"
		ck=$(run_dir "$m" "$s")/ck.best
		for l in $LEVELS; do
			f=$out/table3/$m-s$s-$l.acc
			[ -s "$f" ] && continue
			rq-noise --modality "$MOD_A" --std "$l" -s "$s" "$DATA/test.rqt" |
			    rq-eval --summary "$ck" - > "$f.tmp"
			mv "$f.tmp" "$f"
		done
	done
done

acc() {	# method level -> values over seeds
	for s in $SEEDS; do
		field "$(cat "$out/table3/$1-s$s-$2.acc")" acc
	done
}

{
	echo "Table 3: test accuracy (%) under $MOD_A noise, $DATASET, seeds: $SEEDS"
	printf '%-16s' "noise std"
	for l in $LEVELS; do printf '%-16s' "$l"; done
	echo
	for m in mt mt-rq; do
		printf '%-16s' "$(method_label "$m")"
		for l in $LEVELS; do printf '%-16s' "$(acc "$m" "$l" | mean_std)"; done
		echo
	done
	echo "paper (Kinetics-Sounds, std 0 .25 .5 .75 1.0):"
	echo "  Vanilla MT     67.0 62.7 52.9 43.2 34.7"
	echo "  MT + RollingQ  69.3 67.2 58.2 47.5 40.6"
} > "$out/table3.txt.tmp"
mv "$out/table3.txt.tmp" "$out/table3.txt"
cat "$out/table3.txt"

# the sweep in % as the table prints it; the two methods drawn a little
# left and right of each level so that their error bars do not overlap
. "$(dirname "$0")/plot.sh"
dx=$(printf '%s\n' $LEVELS | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
    END { print (hi > lo ? hi - lo : 1) * 0.012 }')
for m in mt mt-rq; do
	for l in $LEVELS; do
		printf '%s ' "$l"
		acc "$m" "$l" | mean_std | sed 's/+-//'
	done > "$out/table3-$m.dat"
done
xtics=$(printf '"%s" %s, ' $(for l in $LEVELS; do echo "$l $l"; done) | sed 's/, $//')
render "$out/table3-noise" 800 500 <<EOT
set title "Test accuracy under test-time $MOD_A noise ($DATASET; mean and std over seeds $SEEDS)"
set xlabel "std of the Gaussian noise added to the normalised $MOD_A"
set ylabel "test accuracy (%)"
set grid ytics lc rgb "gray85"
set xtics ($xtics) nomirror
set ytics nomirror
set key outside top center horizontal Left reverse width 2
set offsets 0.05, 0.05, 2, 2
set bars 1.5
plot "$out/table3-mt.dat" using (\$1 - $dx):2:3 with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" title "Vanilla MT", \
     "$out/table3-mt-rq.dat" using (\$1 + $dx):2:3 with yerrorlines lw 2 pt 5 lc rgb "#d62728" title "MT + RollingQ"
EOT
