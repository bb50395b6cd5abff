#!/bin/sh
# table1.sh: Table 1 of the paper, test accuracy of each method (mean +-
# std over seeds; the epoch is chosen on the validation split), plus the
# AIR per epoch of Vanilla MT and MT + RollingQ as a plot (PNG and PDF).
# Needs the runs (make table1 trains them).
set -eu
. "$(dirname "$0")/config.sh"
out=$RESULTS/$DATASET
mkdir -p "$out"

# the paper's column: CMU-MOSEI (vision + text) for the MOSEI sets, else
# CREMA-D / Kinetics-Sounds
case $DATASET in
mosei | mosei-synth) paper="CMU-MOSEI" ;;
*) paper="CREMA-D / Kinetics-Sounds" ;;
esac
# a log field of the selected epoch: the probe accuracies are test_acc_a
# and test_acc_v (the first and second modality), or named by modality
probe() {	# METHOD SLOT(a|v) NAME
	for s in $SEEDS; do
		d=$(run_dir "$1" "$s")
		e=$(field "$(cat "$d/result")" best_epoch)
		l=$(grep "^epoch=$e " "$d/log" | tail -n 1)
		v=$(field "$l" "test_acc_$2")
		[ -n "$v" ] || v=$(field "$l" "test_acc_$3")
		printf '%s\n' "$v"
	done | grep -v -e nan -e '^$' | mean_std
}

{
	echo "Table 1: test accuracy (%), $DATASET, seeds: $SEEDS"
	echo "(epoch selected on validation; paper: $paper)"
	printf '%-26s %-16s %-16s %-16s %s\n' method "test acc" "$MOD_A probe" \
	    "$MOD_B probe" "paper $(echo "$paper" | sed 's| / |/|; s|Kinetics-Sounds|KS|')"
	for m in $T1_METHODS; do
		for s in $SEEDS; do need_run "$m" "$s"; done
		acc=$(for s in $SEEDS; do
			field "$(cat "$(run_dir "$m" "$s")/result")" test_acc
		done | mean_std)
		# probe accuracies of the selected epoch (MT methods log them)
		pa=$(probe "$m" a "$MOD_A")
		pv=$(probe "$m" v "$MOD_B")
		case $paper:$m in
		CREMA*:audio) p="47.6 / 53.9" ;; CREMA*:visual) p="36.3 / 57.0" ;;
		CREMA*:concat) p="49.3 / 68.0" ;; CREMA*:mt) p="48.8 / 67.0" ;;
		CREMA*:mt-rq) p="51.9 / 69.3" ;;
		# the paper's JMT, PMR, MBT and MMML rows are not in rq's notes
		CREMA*:jmt | CREMA*:pmr | CREMA*:mbt | CREMA*:mmml)
			p="(not copied)" ;;
		CREMA*:mmml-rq) p="52.7 / 70.7" ;;
		# CMU-MOSEI: only these three numbers are in rq's notes
		CMU*:vision) p="47.1" ;;
		CMU*:mut) p="62.4" ;; CMU*:mut-rq) p="62.5" ;;
		CMU*:text | CMU*:concat | CMU*:mt | CMU*:mt-rq) p="(not copied)" ;;
		*) p="-" ;;
		esac
		printf '%-26s %-16s %-16s %-16s %s\n' "$(method_label "$m")" \
		    "$acc" "$pa" "$pv" "$p"
	done
	echo
	echo "AIR at the last epoch (mean +- std over seeds; > 0 favours $MOD_A):"
	for m in mt mt-rq mut mut-rq; do
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

# AIR per epoch for the plot: per method, "epoch mean min max" over the
# seeds, and the rotations (rotated=1: after that epoch's AIR) as
# "epoch air seed"; a resumed run's repeated epoch counts once (the last)
. "$(dirname "$0")/plot.sh"
for m in mt mt-rq; do
	case " $T1_METHODS " in *" $m "*) ;; *) continue ;; esac
	for s in $SEEDS; do
		grep '^epoch=' "$(run_dir "$m" "$s")/log" | awk -v s="$s" '{
			for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			air[f["epoch"]] = f["air"]; rot[f["epoch"]] = f["rotated"]
		} END { for (e in air) print s, e, air[e], rot[e] + 0 }'
	done > "$out/air-$m.runs"
	awk '{ e = $2; v = $3; n[e]++; sum[e] += v
		if (n[e] == 1 || v < lo[e]) lo[e] = v
		if (n[e] == 1 || v > hi[e]) hi[e] = v }
	    END { for (e in n) print e, sum[e] / n[e], lo[e], hi[e] }' \
	    "$out/air-$m.runs" | sort -n > "$out/air-$m.dat"
	awk '$4 == 1 { print $2, $3, $1 }' "$out/air-$m.runs" > "$out/rot-$m.dat"
	rm -f "$out/air-$m.runs"
done
# one dashed line per epoch after which some seed rotated
rot_lines=$(cat "$out"/rot-*.dat 2>/dev/null | awk '{ print $1 }' | sort -un |
    awk '{ printf "set arrow from %s, graph 0 to %s, graph 1 nohead dt 3 lc rgb \"gray40\"\n", $1 + 0.5, $1 + 0.5 }')
plots=
for m in mt mt-rq; do
	[ -f "$out/air-$m.dat" ] || continue
	case $m in mt) c='#1f77b4' pt=7 ;; *) c='#d62728' pt=5 ;; esac
	l=$(method_label "$m")
	plots="$plots \"$out/air-$m.dat\" using 1:3:4 with filledcurves lc rgb \"$c\" title \"$l, seed range\","
	plots="$plots \"$out/air-$m.dat\" using 1:2 with linespoints lw 2 pt $pt ps 0.8 lc rgb \"$c\" title \"$l, mean\","
	[ -s "$out/rot-$m.dat" ] &&
	    plots="$plots \"$out/rot-$m.dat\" using 1:2 with points pt 9 ps 1.8 lc rgb \"black\" title \"rotation ($l, each seed)\","
done
last=$(cat "$out"/air-*.dat | awk '$1 > e { e = $1 } END { print e + 0 }')
rot_key=
[ -n "$rot_lines" ] && rot_key=', NaN with lines dt 3 lc rgb "gray40" title "a rotation after this epoch"'
if [ -z "$plots" ]; then
	echo "table1: no Vanilla MT or MT + RollingQ runs, no AIR plot" >&2
	exit 0
fi
render "$out/table1-air" 860 540 <<EOT
set title "AIR per epoch ($DATASET; line: mean over seeds $SEEDS, band: their range)"
set xlabel "epoch"
set ylabel "AIR  (> 0: fusion query favours $MOD_A)"
set grid ytics lc rgb "gray85"
set xtics 1 nomirror
set ytics nomirror
set xrange [0.5:$last + 0.5]
set key outside top center horizontal Left reverse maxrows 3 maxcols 2 width -2 spacing 1.1
set style fill transparent solid 0.18 noborder
$rot_lines
plot $plots 0 with lines lc rgb "gray50" notitle$rot_key
EOT
