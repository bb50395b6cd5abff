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
#
# When make runs a table (RQ_RUN_LIST, set by the Makefile: the result
# files of the goal's runs), each run says "run k of N" and an ETA: the
# mean wall time of the list's finished runs times the runs left, divided
# by make's -j.
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

# "run k of N, ETA ..." (or "k of N done"), from RQ_RUN_LIST; nothing
# without it
progress() {
	[ -n "${RQ_RUN_LIST:-}" ] || return 0
	n=0 fin=0 busy=0 secs=0 timed=0
	for f in $RQ_RUN_LIST; do
		n=$((n + 1))
		if [ -f "$f" ]; then
			fin=$((fin + 1))
			w=$(field "$(cat "$f")" wall_seconds)
			case $w in
			'' | *[!0-9]*) ;;
			*) secs=$((secs + w)) timed=$((timed + 1)) ;;
			esac
		elif [ -f "${f%/result}/.running" ] &&
		    [ "${f%/result}" != "$dir" ]; then
			busy=$((busy + 1))
		fi
	done
	jobs=$(printf '%s\n' "${MAKEFLAGS:-}" |
	    sed -n 's/.*-j *\([0-9][0-9]*\).*/\1/p')
	jobs=${jobs:-1}
	if [ "$timed" -gt 0 ]; then
		left=$(( (secs / timed) * (n - fin) / jobs ))
		eta="ETA $((left / 3600))h$(( left / 60 % 60 ))m$((left % 60))s"
	else
		eta="ETA after the first run"
	fi
	if [ "$1" = start ]; then
		echo "run-one: run $((fin + busy + 1)) of $n: $id; $eta" >&2
	else
		echo "run-one: $fin of $n runs done; $eta" >&2
	fi
}
id=$1
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
progress start
touch "$dir/.running"
trap 'rm -f "$dir/.running"' EXIT
start=$(date +%s)
# shellcheck disable=SC2046
if [ -f "$dir/ck" ]; then
	echo "run-one: resuming $1" >&2
	# -L the run's own log: rq-train drops the lines of epochs past the
	# checkpoint (logged before a kill) and writes them again
	rq-train -r "$dir/ck" -L "$dir/log" -o "$dir/ck" \
	    "$DATA/train.rqt" "$DATA/val.rqt" "$DATA/test.rqt"
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
rm -f "$dir/.running"
progress end
