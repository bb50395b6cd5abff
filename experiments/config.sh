# config.sh: the data sets and training recipes the tables use; sourced
# by every script in experiments/.  Override from the environment:
#   DATASET=synth SEEDS="0 1" experiments/table1.sh
# The recipe is the authors' protocol (SGD, momentum 0.9, weight decay
# 1e-4, cosine schedule with linear warm-up, batch 64) with a learning
# rate and epoch count scaled to these small data sets.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PATH=$ROOT/bin:$PATH
export PATH

DATASET=${DATASET:-avmnist}
DATA_ROOT=${DATA_ROOT:-$ROOT/data}
SEEDS=${SEEDS:-0 1 2}
RESULTS=${RESULTS:-$ROOT/results}

case $DATASET in
avmnist)
	DATA=$DATA_ROOT/avmnist
	TRAIN_FLAGS=${TRAIN_FLAGS:--e 15 -w 1 -l 0.05 -b 64}
	;;
synth)
	DATA=$DATA_ROOT/synth
	TRAIN_FLAGS=${TRAIN_FLAGS:--e 8 -w 1 -l 0.05 -b 64}
	;;
*)
	# any directory $DATA_ROOT/<name> holding train.rqt, val.rqt, test.rqt
	DATA=$DATA_ROOT/$DATASET
	TRAIN_FLAGS=${TRAIN_FLAGS:--e 15 -w 1 -l 0.05 -b 64}
	;;
esac

# Table 1 rows: name, then rq-train flags
T1_METHODS=${T1_METHODS:-audio visual concat ogm pmr mt mt-rq mt-rq3 mtstar-rq jmt mbt mmml mmml-rq}
method_flags() {
	case $1 in
	ogm) echo "-m concat --ogm-ge" ;;
	mt-rq3) echo "-m mt-rq --rmax 3" ;;
	# MBT: the -n encoder blocks + 1 bottleneck layer, 4 tokens (the
	# paper: 6 + 2); one block per modality more than Concat
	mbt) echo "-m mbt --mbt-layers 1 --bottlenecks 4" ;;
	# MMML: one CME layer, as the paper's count
	mmml) echo "-m mmml --cme-layers 1" ;;
	mmml-rq) echo "-m mmml-rq --cme-layers 1" ;;
	*) echo "-m $1" ;;
	esac
}

method_label() {
	case $1 in
	audio) echo "Audio only" ;;
	visual) echo "Visual only" ;;
	concat) echo "Concat" ;;
	sum) echo "Sum" ;;
	ogm) echo "Concat + OGM-GE" ;;
	mt) echo "Vanilla MT" ;;
	mt-rq) echo "MT + RollingQ" ;;
	mt-rq3) echo "MT + RollingQ (r_max 3)" ;;
	mtstar) echo "MT*" ;;
	mtstar-rq) echo "MT* + RollingQ" ;;
	pmr) echo "Concat + PMR" ;;
	jmt) echo "JMT (2 layers)" ;;
	mbt) echo "MBT" ;;
	mmml) echo "MMML" ;;
	mmml-rq) echo "MMML + RollingQ" ;;
	*) echo "$1" ;;
	esac
}

# mean +- sample std of the numbers on stdin, as percent with one decimal
# when PCT=1 (the default); "n/a" when empty
mean_std() {
	awk -v pct="${PCT:-1}" '{ x[n++] = $1 }
	END {
		if (n == 0) { print "n/a"; exit }
		for (i = 0; i < n; i++) s += x[i]
		m = s / n
		for (i = 0; i < n; i++) v += (x[i] - m) ^ 2
		sd = n > 1 ? sqrt(v / (n - 1)) : 0
		if (pct) printf "%.1f +- %.1f\n", 100 * m, 100 * sd
		else printf "%.3f +- %.3f\n", m, sd
	}'
}

# value of key=value field $2 in the line $1
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

run_dir() {
	echo "$RESULTS/$DATASET/$1/s$2"
}

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

need_run() {
	[ -f "$(run_dir "$1" "$2")/result" ] ||
	    die "no finished run $DATASET/$1/s$2 (make the table target, or" \
	    "experiments/run-one.sh $DATASET/$1/s$2)"
}
