#!/bin/sh
# table2.sh: Table 2 of the paper, does fusion attention follow input
# quality?  Protocol [ours] (the authors publish no code for it):
#   (a) corrupt ONE modality of every test sample, chosen 50/50, with
#       Gaussian noise of std CORRUPT_STD on the normalised features
#       (rq-noise -f 1); r = point-biserial Pearson between the first
#       modality's attention share (softmax weight of the cls_f row summed
#       over its tokens; audio by default) and the indicator "it is
#       clean"; two-sided p;
#   (b) on the uncorrupted test split, Pearson between that share and
#       the per-sample quality of that modality stored by the data set
#       (quality.<name>, e.g. the clip's SNR in dB), when present.
# Reported for Vanilla MT and MT + RollingQ, mean +- std of r over seeds,
# with the largest p.  Writes histograms of that share (PNG and PDF).
set -eu
. "$(dirname "$0")/config.sh"
CORRUPT_STD=${CORRUPT_STD:-3}
out=$RESULTS/$DATASET
mkdir -p "$out/table2"
test=$DATA/test.rqt

row() {	# method form -> "r +- sd  (max p)"
	for s in $SEEDS; do
		f=$out/table2/$1-s$s-$2.corr
		sed -n 's/.*\<r=\([^ ]*\).* p=\([^ ]*\).*/\1 \2/p' "$f"
	done | awk '{ if ($2 > pmax) pmax = $2; r[n++] = $1 }
	END {
		for (i = 0; i < n; i++) s += r[i]; m = s / n
		for (i = 0; i < n; i++) v += (r[i] - m) ^ 2
		printf "%.3f +- %.3f (p <= %.2g)", m, (n > 1 ? sqrt(v / (n - 1)) : 0), pmax
	}'
}

has_quality=0
rq-info "$test" | cut -f 2 | grep -qx "quality.$MOD_A" && has_quality=1

for m in mt mt-rq; do
	for s in $SEEDS; do
		need_run "$m" "$s"
		ck=$(run_dir "$m" "$s")/ck.best
		p=$out/table2/$m-s$s
		rq-noise -f 1 --modalities "$MODALITIES" --std "$CORRUPT_STD" -s "$s" "$test" > "$p.noisy.tmp"
		mv "$p.noisy.tmp" "$p.noisy.rqt"
		rq-eval -o "$p.eval-noisy.rqt" "$ck" "$p.noisy.rqt" 2>"$p.eval.log" ||
		    { cat "$p.eval.log" >&2; exit 1; }
		rq-cat "$p.noisy.rqt" "$p.eval-noisy.rqt" |
		    rq-pearson -x "share.$MOD_A" -y "clean.$MOD_A" > "$p-a.corr"
		if [ $has_quality = 1 ]; then
			rq-eval -o "$p.eval.rqt" "$ck" "$test" 2>"$p.eval.log" ||
			    { cat "$p.eval.log" >&2; exit 1; }
			rq-cat "$test" "$p.eval.rqt" |
			    rq-pearson -x "share.$MOD_A" -y "quality.$MOD_A" > "$p-b.corr"
		fi
	done
done

{
	echo "Table 2: Pearson r between $MOD_A attention share and $MOD_A quality, $DATASET"
	echo "seeds: $SEEDS; mean +- std of r over seeds, largest two-sided p"
	printf '%-16s %-34s %-34s %s\n' method \
	    "(a) share vs $MOD_A-clean (1 mod." "(b) share vs per-sample SNR" \
	    "paper CREMA-D/KS"
	printf '%-16s %-34s %-34s %s\n' "" "corrupted, std $CORRUPT_STD)" "" ""
	for m in mt mt-rq; do
		b="n/a (no quality.$MOD_A)"
		[ $has_quality = 1 ] && b=$(row "$m" b)
		case $m in mt) p="0.52 / 0.44" ;; *) p="0.76 / 0.78" ;; esac
		printf '%-16s %-34s %-34s %s\n' "$(method_label "$m")" \
		    "$(row "$m" a)" "$b" "$p"
	done
} > "$out/table2.txt.tmp"
mv "$out/table2.txt.tmp" "$out/table2.txt"
cat "$out/table2.txt"

# histogram of the first modality's share, clean vs corrupted (first seed)
s=${SEEDS%% *}
for m in mt mt-rq; do
	p=$out/table2/$m-s$s
	rq-cat "$p.noisy.rqt" "$p.eval-noisy.rqt" |
	    rq-tsv --name "share.$MOD_A" --name "clean.$MOD_A" > "$p.share.tsv"
done
# common axes for both panels: x over the shares of both methods, rounded
# out to the bin width (1/40 of the span rounded to 1, 2 or 5 x 10^k), y to
# the tallest bin of either
. "$(dirname "$0")/plot.sh"
set -- $(cat "$out/table2/mt-s$s.share.tsv" "$out/table2/mt-rq-s$s.share.tsv" |
    awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 }
	{ x[NR] = $1; c[NR] = $2 }
	END {
		span = hi - lo; if (span <= 0) span = 0.01
		w = span / 40; k = 10 ^ int(log(w) / log(10) - (w < 1))
		m = w / k; m = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10; w = m * k
		lo = w * int(lo / w - (lo < 0)); hi = w * (int(hi / w) + 1)
		print w, lo, hi
	}')
bw=$1 xlo=$2 xhi=$3
ymax=$(for m in mt mt-rq; do
	awk -v w="$bw" -v lo="$xlo" '{ n[$2 " " int(($1 - lo) / w)]++ }
	    END { for (b in n) if (n[b] > m) m = n[b]; print m }' \
	    "$out/table2/$m-s$s.share.tsv"
done | sort -n | tail -n 1)
render "$out/table2-share" 1000 440 <<EOT
set multiplot layout 1,2 title "$MOD_A share of the fusion attention, test set with one modality corrupted (std $CORRUPT_STD; $DATASET, seed $s)" margins 0.08, 0.98, 0.22, 0.86 spacing 0.06, 0
set style fill transparent solid 0.45 border lt -1
set boxwidth $bw absolute
set xlabel "$MOD_A share of the cls_f attention (bins of $bw)"
set ylabel "test samples"
set xrange [$xlo:$xhi]
set yrange [0:$ymax * 1.08]
set grid ytics lc rgb "gray85"
set tics nomirror
set key off
bin(x) = $xlo + $bw * (floor((x - $xlo) / $bw) + 0.5)
do for [m in "mt mt-rq"] {
  f = sprintf("$out/table2/%s-s$s.share.tsv", m)
  set title (m eq "mt" ? "Vanilla MT" : "MT + RollingQ")
  if (m eq "mt-rq") { unset ylabel; set format y "" }
  plot f using (bin(\$1)):(\$2 == 1 ? 1 : 0) smooth frequency with boxes lc rgb "#1f77b4" notitle, \
       f using (bin(\$1)):(\$2 == 0 ? 1 : 0) smooth frequency with boxes lc rgb "#ff7f0e" notitle
}
# one legend for both panels, below them
set origin 0, 0
set size 1, 0.1
unset title; unset xlabel; unset ylabel; unset tics; unset border; unset grid
set xrange [0:1]; set yrange [0:1]
set key on horizontal maxrows 1 Left reverse width 2 center center at screen 0.5, screen 0.05
plot NaN with boxes lc rgb "#1f77b4" title "$MOD_A clean (the $MOD_B corrupted)", \
     NaN with boxes lc rgb "#ff7f0e" title "$MOD_A corrupted"
unset multiplot
EOT
