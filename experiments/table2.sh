#!/bin/sh
# table2.sh: Table 2 of the paper, does fusion attention follow input
# quality?  Protocol [ours] (the authors publish no code for it):
#   (a) corrupt ONE modality of every test sample, chosen 50/50, with
#       Gaussian noise of std CORRUPT_STD on the normalised features
#       (rq-noise -f 1); r = point-biserial Pearson between the audio
#       attention share (softmax weight of the cls_f row summed over the
#       audio tokens) and the indicator "audio is clean"; two-sided p;
#   (b) on the uncorrupted test split, Pearson between the audio share and
#       the per-sample audio quality stored by the data set
#       (quality.audio: the clip's SNR in dB), when present.
# Reported for Vanilla MT and MT + RollingQ, mean +- std of r over seeds,
# with the largest p.  Writes a histogram plot of the audio share.
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
rq-info "$test" | cut -f 2 | grep -qx quality.audio && has_quality=1

for m in mt mt-rq; do
	for s in $SEEDS; do
		need_run "$m" "$s"
		ck=$(run_dir "$m" "$s")/ck.best
		p=$out/table2/$m-s$s
		rq-noise -f 1 --std "$CORRUPT_STD" -s "$s" "$test" > "$p.noisy.tmp"
		mv "$p.noisy.tmp" "$p.noisy.rqt"
		rq-eval -o "$p.eval-noisy.rqt" "$ck" "$p.noisy.rqt" 2>"$p.eval.log" ||
		    { cat "$p.eval.log" >&2; exit 1; }
		rq-cat "$p.noisy.rqt" "$p.eval-noisy.rqt" |
		    rq-pearson -x share.audio -y clean.audio > "$p-a.corr"
		if [ $has_quality = 1 ]; then
			rq-eval -o "$p.eval.rqt" "$ck" "$test" 2>"$p.eval.log" ||
			    { cat "$p.eval.log" >&2; exit 1; }
			rq-cat "$test" "$p.eval.rqt" |
			    rq-pearson -x share.audio -y quality.audio > "$p-b.corr"
		fi
	done
done

{
	echo "Table 2: Pearson r between audio attention share and audio quality, $DATASET"
	echo "seeds: $SEEDS; mean +- std of r over seeds, largest two-sided p"
	printf '%-16s %-34s %-34s %s\n' method \
	    "(a) share vs audio-clean (1 mod." "(b) share vs per-sample SNR" \
	    "paper CREMA-D/KS"
	printf '%-16s %-34s %-34s %s\n' "" "corrupted, std $CORRUPT_STD)" "" ""
	for m in mt mt-rq; do
		b="n/a (no quality.audio)"
		[ $has_quality = 1 ] && b=$(row "$m" b)
		case $m in mt) p="0.52 / 0.44" ;; *) p="0.76 / 0.78" ;; esac
		printf '%-16s %-34s %-34s %s\n' "$(method_label "$m")" \
		    "$(row "$m" a)" "$b" "$p"
	done
} > "$out/table2.txt.tmp"
mv "$out/table2.txt.tmp" "$out/table2.txt"
cat "$out/table2.txt"

# histogram of the audio share, audio clean vs audio corrupted (first seed)
s=${SEEDS%% *}
for m in mt mt-rq; do
	p=$out/table2/$m-s$s
	rq-cat "$p.noisy.rqt" "$p.eval-noisy.rqt" |
	    rq-tsv --name share.audio --name clean.audio > "$p.share.tsv"
done
gnuplot <<EOT
set terminal pngcairo size 1000,420
set output "$out/table2-share.png.tmp"
set multiplot layout 1,2 title "Audio attention share, test set with one modality corrupted ($DATASET, seed $s)"
set style fill transparent solid 0.5
set key top left
set xlabel "audio share of the cls_f attention"
set ylabel "samples"
set autoscale x
bin(x) = 0.005 * floor(x / 0.005) + 0.0025
do for [m in "mt mt-rq"] {
  f = sprintf("$out/table2/%s-s$s.share.tsv", m)
  set title (m eq "mt" ? "Vanilla MT" : "MT + RollingQ")
  plot f using (bin(\$1)):(\$2 == 1 ? 1 : 0) smooth frequency with boxes title "audio clean", \
       f using (bin(\$1)):(\$2 == 0 ? 1 : 0) smooth frequency with boxes title "audio corrupted"
}
unset multiplot
EOT
mv "$out/table2-share.png.tmp" "$out/table2-share.png"
echo "plot: $out/table2-share.png"
