#!/bin/sh
# table1.sh: Table 1 of the paper, test accuracy of each method (mean +-
# std over seeds; the epoch is chosen on the validation split), plus the
# AIR per epoch of Vanilla MT and MT + RollingQ as a PNG plot.
# Needs the runs (make table1 trains them).
set -eu
. "$(dirname "$0")/config.sh"
out=$RESULTS/$DATASET
mkdir -p "$out"

{
	echo "Table 1: test accuracy (%), $DATASET, seeds: $SEEDS"
	echo "(epoch selected on validation; paper: CREMA-D / Kinetics-Sounds)"
	printf '%-26s %-16s %-16s %-16s %s\n' method "test acc" "audio probe" \
	    "visual probe" "paper CREMA-D/KS"
	for m in $T1_METHODS; do
		for s in $SEEDS; do need_run "$m" "$s"; done
		acc=$(for s in $SEEDS; do
			field "$(cat "$(run_dir "$m" "$s")/result")" test_acc
		done | mean_std)
		# probe accuracies of the selected epoch (MT methods log them)
		pa=$(for s in $SEEDS; do
			d=$(run_dir "$m" "$s")
			e=$(field "$(cat "$d/result")" best_epoch)
			grep "^epoch=$e " "$d/log" | tail -n 1 |
			    tr ' ' '\n' | sed -n 's/^test_acc_a=//p'
		done | grep -v nan | mean_std)
		pv=$(for s in $SEEDS; do
			d=$(run_dir "$m" "$s")
			e=$(field "$(cat "$d/result")" best_epoch)
			grep "^epoch=$e " "$d/log" | tail -n 1 |
			    tr ' ' '\n' | sed -n 's/^test_acc_v=//p'
		done | grep -v nan | mean_std)
		case $m in
		audio) p="47.6 / 53.9" ;; visual) p="36.3 / 57.0" ;;
		concat) p="49.3 / 68.0" ;; mt) p="48.8 / 67.0" ;;
		mt-rq) p="51.9 / 69.3" ;; *) p="-" ;;
		esac
		printf '%-26s %-16s %-16s %-16s %s\n' "$(method_label "$m")" \
		    "$acc" "$pa" "$pv" "$p"
	done
	echo
	echo "AIR at the last epoch (mean +- std over seeds; > 0 favours audio):"
	for m in mt mt-rq; do
		case " $T1_METHODS " in *" $m "*) ;; *) continue ;; esac
		air=$(for s in $SEEDS; do
			grep '^epoch=' "$(run_dir "$m" "$s")/log" | tail -n 1 |
			    tr ' ' '\n' | sed -n 's/^air=//p'
		done | PCT=0 mean_std)
		printf '  %-24s %s\n' "$(method_label "$m")" "$air"
	done
} > "$out/table1.txt.tmp"
mv "$out/table1.txt.tmp" "$out/table1.txt"
cat "$out/table1.txt"

# AIR per epoch, mean over seeds, for the plot
for m in mt mt-rq; do
	for s in $SEEDS; do
		grep '^epoch=' "$(run_dir "$m" "$s")/log" |
		    sed 's/.*epoch=\([0-9]*\) .* air=\([^ ]*\) .*/\1 \2/'
	done | awk '{ s[$1] += $2; n[$1]++ } END { for (e in s)
	    print e, s[e] / n[e] }' | sort -n > "$out/air-$m.dat"
done
gnuplot <<EOT
set terminal pngcairo size 800,500
set output "$out/table1-air.png.tmp"
set title "AIR per epoch ($DATASET, mean over seeds $SEEDS)"
set xlabel "epoch"
set ylabel "AIR (> 0: audio favoured)"
set grid
set key outside bottom center horizontal
plot "$out/air-mt.dat" with linespoints lw 2 title "Vanilla MT", \
     "$out/air-mt-rq.dat" with linespoints lw 2 title "MT + RollingQ", \
     0 with lines lc rgb "gray" notitle
EOT
mv "$out/table1-air.png.tmp" "$out/table1-air.png"
echo "plot: $out/table1-air.png"
