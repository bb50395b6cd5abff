#!/bin/sh
# run-one.sh: train one (data set, method, seed) run, idempotently.
#
#   experiments/run-one.sh DATASET/METHOD/sSEED     e.g. avmnist/mt-rq/s0
#   experiments/run-one.sh -l                       list the table runs
#
# Writes results/DATASET/METHOD/sSEED/{ck,ck.best,log,result}.  A run whose
# `result` exists is never redone; a run with a checkpoint but no result
# (killed, machine lost) resumes from it.  Concurrent runs of different ids
# share results/ without clobbering: each writes only its own directory and
# every file appears atomically.
set -eu

if [ "${1:-}" = -l ]; then
	. "$(dirname "$0")/config.sh"
	for m in $T1_METHODS; do
		for s in $SEEDS; do echo "$DATASET/$m/s$s"; done
	done
	exit 0
fi
[ $# -eq 1 ] || { echo "usage: run-one.sh dataset/method/sSEED | -l" >&2; exit 2; }

# the data set comes from the id, so config.sh picks its recipe
IFS=/ read -r DATASET method seed <<EOT
$1
EOT
. "$(dirname "$0")/config.sh"
case $seed in s[0-9]*) seed=${seed#s} ;; *) die "bad run id: $1" ;; esac

dir=$(run_dir "$method" "$seed")
[ -f "$dir/result" ] && exit 0
for f in train val test; do
	[ -f "$DATA/$f.rqt" ] || die "$DATA/$f.rqt: missing (make data)"
done
mkdir -p "$dir"
start=$(date +%s)
# shellcheck disable=SC2046
if [ -f "$dir/ck" ]; then
	echo "run-one: resuming $1" >&2
	rq-train -r "$dir/ck" -L "$dir/log.resume" -o "$dir/ck" \
	    "$DATA/train.rqt" "$DATA/val.rqt" "$DATA/test.rqt"
	cat "$dir/log.resume" >> "$dir/log"
	rm -f "$dir/log.resume"
else
	rq-train $(method_flags "$method") $TRAIN_FLAGS -s "$seed" \
	    -o "$dir/ck" -L "$dir/log" \
	    "$DATA/train.rqt" "$DATA/val.rqt" "$DATA/test.rqt"
fi
end=$(date +%s)
{ grep '^best_epoch=' "$dir/log" | tail -n 1 | tr -d '\n'
  echo " wall_seconds=$((end - start))"; } > "$dir/result.tmp"
mv "$dir/result.tmp" "$dir/result"
echo "run-one: $1: $(cat "$dir/result")" >&2
