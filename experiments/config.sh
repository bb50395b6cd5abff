# config.sh: the data sets and training recipes the tables use; sourced
# by every script in experiments/.  Override from the environment:
#   DATASET=synth SEEDS="0 1" experiments/table1.sh
# MODALITIES=A,B names the two modality records of a data set of your own
# (default audio,visual; mosei and mosei-synth: vision,text).
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
mosei)
	# CMU-MOSEI, vision + text, from the public pickle by
	# scripts/mosei-import (make table1 DATASET=mosei MOSEI_PKL=... runs
	# it).  The paper follows MultiBench: AdamW, lr 1e-4, weight decay
	# 0.01, a 4-layer transformer; width, heads and epochs are ours.
	DATA=$DATA_ROOT/mosei
	TRAIN_FLAGS=${TRAIN_FLAGS:--e 20 -w 1 -O adamw -l 1e-4 -W 0.01 -b 32 --depth 4}
	MODALITIES=vision,text
	[ -f "$DATA/train.rqt" ] || echo "${0##*/}: $DATA: no CMU-MOSEI" \
	    "streams; make them with scripts/mosei-import" \
	    "mosei_senti_data_noalign.pkl $DATA, or make table1 DATASET=mosei" \
	    "MOSEI_PKL=path/to/mosei_senti_data_noalign.pkl (README: CMU-MOSEI)" >&2
	;;
mosei-synth)
	# the MOSEI-shaped stand-in (rq-synth --preset mosei; make table1
	# DATASET=mosei-synth makes it): under a minute per run.  AdamW as
	# on the real set, at a rate for 8 epochs of 600 samples (SGD at
	# 0.05 leaves text alone and Concat at chance)
	DATA=$DATA_ROOT/mosei-synth
	TRAIN_FLAGS=${TRAIN_FLAGS:--e 8 -w 1 -O adamw -l 1e-3 -W 0.01 -b 64}
	MODALITIES=vision,text
	[ -f "$DATA/train.rqt" ] || echo "${0##*/}: $DATA: no stand-in;" \
	    "make table1 DATASET=mosei-synth makes it (rq-synth --preset" \
	    "mosei)" >&2
	;;
*)
	# any directory $DATA_ROOT/<name> holding train.rqt, val.rqt, test.rqt
	DATA=$DATA_ROOT/$DATASET
	TRAIN_FLAGS=${TRAIN_FLAGS:--e 15 -w 1 -l 0.05 -b 64}
	;;
esac

# the two modalities, first encoder slot first: TRAIN_FLAGS carries
# --modalities for any pair but audio,visual (rq-train's default), and a
# --modalities in TRAIN_FLAGS names them
case " $TRAIN_FLAGS " in
*" --modalities "* | *" --modalities="*)
	MODALITIES=$(printf '%s\n' " $TRAIN_FLAGS " |
	    sed 's/.* --modalities[= ] *\([^ ]*\) .*/\1/') ;;
*)
	MODALITIES=${MODALITIES:-audio,visual}
	[ "$MODALITIES" = audio,visual ] ||
	    TRAIN_FLAGS="$TRAIN_FLAGS --modalities $MODALITIES" ;;
esac
MOD_A=${MODALITIES%%,*}
MOD_B=${MODALITIES#*,}

# Table 1 rows: name, then rq-train flags
case $DATASET in
# the paper's CMU-MOSEI rows (MuT only there)
mosei | mosei-synth) T1_DEFAULT="vision text concat mt mt-rq mut mut-rq" ;;
*) T1_DEFAULT="$MOD_A $MOD_B concat ogm pmr mt mt-rq mt-rq3 mtstar-rq jmt mbt mmml mmml-rq" ;;
esac
T1_METHODS=${T1_METHODS:-$T1_DEFAULT}
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
	mut) echo "MuT" ;;
	mut-rq) echo "MuT + RollingQ" ;;
	# any other modality alone: "Name only"
	"$MOD_A" | "$MOD_B") printf '%s only\n' "$(printf '%s' "$1" |
	    cut -c 1 | tr a-z A-Z)$(printf '%s' "$1" | cut -c 2-)" ;;
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
