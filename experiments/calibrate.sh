#!/bin/sh
# calibrate.sh: how the default AV-MNIST-FSDD degradation was chosen.
#
#   experiments/calibrate.sh 'FLAGS' ['FLAGS' ...]
#   e.g. experiments/calibrate.sh '--snr=-12:6 --noise 0.2:0.8 --blur 1'
#
# For each rq-avmnist degradation FLAGS: build the data set into
# data/cal2-TAG (TAG: the flags with the punctuation squeezed out), train
# audio-only, visual-only, Concat and Concat + OGM-GE (the fusion methods
# that need no attention; MT sits near Concat) with the avmnist recipe of
# config.sh and the seeds CAL_SEEDS (default "0 1 2", the tables' seeds),
# and print the VALIDATION accuracy (mean over seeds) of the epoch chosen
# on validation.
# The test split is never given to rq-train: the choice is made on
# validation only.  Runs go to results/cal2-TAG/ and are reused; a killed
# run is redone.  One invocation trains one run at a time: run two
# invocations (other flags) side by side to use both cores.
set -eu
DATASET=avmnist		# its recipe (TRAIN_FLAGS) in config.sh
. "$(dirname "$0")/config.sh"
[ $# -ge 1 ] || die "usage: calibrate.sh 'rq-avmnist flags' ..."
CAL_SEEDS=${CAL_SEEDS:-0 1 2}
for d in fsdd mnist; do
	[ -d "$ROOT/data/$d" ] || die "data/$d missing (make data)"
done

printf '%-28s %7s %7s %7s %7s  %s\n' "rq-avmnist flags" audio visual \
    concat ogm "regime (val)"
for flags in "$@"; do
	# cal2: the recipe with noise over the whole window (issue 18); the
	# cal- sets and runs of the old recipe are never reused
	tag=cal2-$(printf '%s' "$flags" | tr -c 'A-Za-z0-9.' '_' | tr -s '_' |
	    sed 's/^_//; s/_$//')
	dir=$ROOT/data/$tag
	if [ ! -f "$dir/.done" ]; then
		mkdir -p "$dir"
		# shellcheck disable=SC2086
		rq-avmnist $flags --dir "$dir" "$ROOT/data/fsdd" "$ROOT/data/mnist"
		: > "$dir/.done"
	fi
	line=""
	for m in audio visual concat ogm; do
		for s in $CAL_SEEDS; do
			out=$RESULTS/$tag/$m/s$s
			[ -f "$out/result" ] && continue
			mkdir -p "$out"
			# a run killed before its result resumes from its checkpoint
			if [ -f "$out/ck" ]; then
				rq-train -r "$out/ck" -L "$out/log" \
				    "$dir/train.rqt" "$dir/val.rqt"
			else
				# shellcheck disable=SC2086
				rq-train $(method_flags $m) $TRAIN_FLAGS -s "$s" \
				    -o "$out/ck" -L "$out/log" "$dir/train.rqt" \
				    "$dir/val.rqt"
			fi
			grep '^best_epoch=' "$out/log" | tail -n 1 > "$out/result.tmp"
			mv "$out/result.tmp" "$out/result"
		done
		v=$(for s in $CAL_SEEDS; do
			field "$(cat "$RESULTS/$tag/$m/s$s/result")" val_acc
		done | awk '{ s += $1; n++ } END { printf "%.1f", 100 * s / n }')
		line="$line $v"
	done
	read -r a v c o <<EOT
$line
EOT
	verdict=$(awk -v a="$a" -v v="$v" -v c="$c" -v o="$o" 'BEGIN {
		f = c > o ? c : o; u = a > v ? a : v
		ok = a >= 40 && a <= 80 && v >= 40 && v <= 80 && a > v &&
		    f - u >= 5
		printf "%s (audio-visual %+.1f, fusion-unimodal %+.1f)",
		    ok ? "in" : "out", a - v, f - u }')
	printf '%-28s %7s %7s %7s %7s  %s\n' "$flags" "$a" "$v" "$c" "$o" \
	    "$verdict"
done
