#!/bin/sh
# run-one.sh: train one (data set, method, seed) run, idempotently.
#
#   experiments/run-one.sh DATASET/METHOD/sSEED     e.g. avmnist/mt-rq/s0
#   experiments/run-one.sh -l                       list the table runs
#
# Writes results/DATASET/METHOD/sSEED/{ck,ck.best,log,result,data.sum}.  A
# run whose `result` exists is never redone; a run with a checkpoint but no
# result (killed, machine lost) resumes from it.  data.sum (a checksum of
# the data set) keeps runs of other data from being reused or resumed.  Concurrent runs of different ids
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
for f in train val test; do
	[ -f "$DATA/$f.rqt" ] || die "$DATA/$f.rqt: missing (make data)"
done
# a run belongs to its data: never reuse or resume one trained on other
# data (another degradation), never remove it either
sum=$(cat "$DATA/train.rqt" "$DATA/val.rqt" "$DATA/test.rqt" | cksum |
    cut -d' ' -f1)
if [ -f "$dir/data.sum" ] && [ "$(cat "$dir/data.sum")" != "$sum" ]; then
	die "$dir was trained on other data (checksum $(cat "$dir/data.sum"),"\
	    "now $sum): move it away, or set RESULTS"
fi
if [ -f "$dir/result" ]; then
	[ -f "$dir/data.sum" ] && exit 0
	die "$dir/result: no data.sum (made before runs recorded their data);"\
	    "move it away, or set RESULTS"
fi
mkdir -p "$dir"
echo "$sum" > "$dir/data.sum.tmp"
mv "$dir/data.sum.tmp" "$dir/data.sum"
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
