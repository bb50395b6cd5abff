#!/bin/sh
# paper-size.sh: one training step of Vanilla MT at the paper's size, rq
# against PyTorch, and what it means for one CREMA-D epoch.
#
# usage: sh bench/paper-size.sh      (from the repository root, after
#                                     make all bench/model-step)
#
# The paper's model: d 768, 4 pre-norm blocks per encoder, 12 heads, MLP
# ratio 4, 6 classes, at CREMA-D's shapes: audio a 257 x 188 spectrogram
# cut into 16 x 16 patches (16 x 11 = 176 patches, 177 tokens with CLS),
# visual 3 frames of 224 x 224 RGB (9 channels, 3 per frame) cut into
# 16 x 16 patches (3 x 196 = 588, 589 tokens with CLS).
#
# What runs:
#   - bench/model-step -P: the planned memory (one allocation: parameters,
#     gradients, momentum and one batch's activations) at the measured
#     batch, at batch 64 (the authors') and at batch 64 in micro-batches;
#   - the training step (dropout 0.2, SGD momentum 0.9, wd 1e-4) at batch
#     BATCH on random data: rq (bench/model-step -t), PyTorch
#     (bench/torch_mt.py bench), RUNS processes each, alternating, 1
#     thread, the same OPENBLAS_CORETYPE, PyTorch on OpenBLAS; and rq once
#     more as micro-batches of MICRO (-u); one step per process (no
#     warm-up step: a step takes seconds), then one evaluation forward;
#   - bench/allreduce under mpirun -np NP: the in-place sum of the whole
#     gradient (60.46 M floats) that rq-train-mpi does once per batch;
#   - the projection: hours for one epoch of EPOCH training clips at batch
#     64, on one core and on N ranks of one core each.
# Step times are process CPU time (on a shared machine, less disturbed
# than wall time; on an idle core with one thread they are equal); wall
# times are printed beside them with the load average of each run.
#
# Knobs: RUNS (3), BATCH (2), MICRO (1), NP (2), EPOCH (6698), PY
# (/usr/bin/python3), TORCH_BLAS (/usr/lib/x86_64-linux-gnu/openblas-pthread),
# TORCH (1: 0 skips PyTorch), MPI (1: 0 skips the allreduce), MPIRUN_FLAGS.
set -eu

cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
BATCH=${BATCH:-2}
MICRO=${MICRO:-1}
NP=${NP:-2}
EPOCH=${EPOCH:-6698}
PY=${PY:-/usr/bin/python3}
TORCH_BLAS=${TORCH_BLAS:-/usr/lib/x86_64-linux-gnu/openblas-pthread}
TORCH=${TORCH:-1}
MPI=${MPI:-1}
# root in containers needs --allow-run-as-root; vader's default single-copy
# (CMA) is several times faster than copying through a bounce buffer
MPIRUN_FLAGS=${MPIRUN_FLAGS:-"--oversubscribe --allow-run-as-root --mca btl self,vader"}

RQS="-d 768 -L 4 -H 12 -k 6 -a 257x188 -p 16x16 -v 9x224x224 -c 3 -q 16x16"
PTS="-d 768 -L 4 --heads 12 --classes 6 --audio 257x188 --apatch 16x16
    --visual 9x224x224 --vchan 3 --vpatch 16x16"

if [ ! -x bench/model-step ]; then
	echo "paper-size.sh: bench/model-step missing; run make bench/model-step" >&2
	exit 1
fi
if [ "$TORCH" = 1 ] && ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	echo "paper-size.sh: $PY cannot import torch and numpy (TORCH=0 skips it)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rq-paper.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p; s/^$2=\([^ ]*\).*/\1/p" "$1" | head -n 1; }
med() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p; s/^$2=\([^ ]*\).*/\1/p" "$1" |
	    sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "nan";
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
all() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1" | tr '\n' ' '; }
load() { cut -d' ' -f1 /proc/loadavg; }

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
if grep -q avx512f /proc/cpuinfo; then isa=AVX-512; else isa="AVX2 (no avx512f)"; fi
echo "# rq at the paper's size, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n)"
echo "# cpu: $cpu, $(nproc) vCPU, $isa, $(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' \
    /proc/meminfo) GiB; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} (the same for both);" \
    "1 thread; PyTorch with LD_LIBRARY_PATH=$TORCH_BLAS"
echo "# d 768, 4 blocks per encoder, 12 heads, MLP x4, 6 classes;" \
    "audio 257x188, 16x16 patches; visual 3 x 3x224x224, 16x16 patches"

echo
echo "## Planned memory (bench/model-step -P: one allocation)"
printf '%-22s %8s %8s %12s %10s\n' "batch" "audio" "visual" "params" "arena GiB"
for b in "1" "$BATCH" "$BATCH -u $MICRO" "64" "64 -u 16" "64 -u 8"; do
	# shellcheck disable=SC2086
	bench/model-step $RQS -b $b -P > "$tmp/plan"
	printf '%-22s %8s %8s %12s %10.2f\n' "$b" "$(kv "$tmp/plan" tokens_a)" \
	    "$(kv "$tmp/plan" tokens_v)" "$(kv "$tmp/plan" params)" \
	    "$(awk -v k="$(kv "$tmp/plan" arena_kb)" 'BEGIN { print k / 1048576 }')"
done
fwd=$(kv "$tmp/plan" fwd_flop_per_sample)
if [ "$TORCH" = 1 ]; then
	# shellcheck disable=SC2086
	"$PY" bench/torch_mt.py shapes $PTS -b 1 > "$tmp/shapes"
	gflop=$(sed -n 's/.*(\([0-9.e+]*\) per sample).*/\1/p' "$tmp/shapes")
	echo "# forward $(awk -v f="$fwd" 'BEGIN { printf "%.1f", f / 1e9 }')" \
	    "GFLOP per sample (rq's count); training step's matrix products" \
	    "$(awk -v f="$gflop" 'BEGIN { printf "%.1f", f / 1e9 }') GFLOP per sample"
fi

echo
echo "## One training step at batch $BATCH, $RUNS processes per side, alternating"
n=$((BATCH * 2))
i=1
while [ "$i" -le "$RUNS" ]; do
	sides="rq pt"
	[ $((i % 2)) = 0 ] && sides="pt rq"
	[ "$i" = 1 ] && sides="$sides rqu"
	[ "$TORCH" = 1 ] || sides=$(echo "$sides" | sed 's/pt//')
	for side in $sides; do
		l0=$(load)
		case $side in
		rq)
			# shellcheck disable=SC2086
			OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bench/model-step -t \
			    $RQS -b "$BATCH" -n "$n" -s 1 -e 1 -w 0 -R 1 > "$tmp/one" ;;
		rqu)
			# shellcheck disable=SC2086
			OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bench/model-step -t \
			    $RQS -b "$BATCH" -u "$MICRO" -n "$n" -s 1 -e 1 -w 0 -R 1 \
			    > "$tmp/one" ;;
		pt)
			# shellcheck disable=SC2086
			LD_LIBRARY_PATH=$TORCH_BLAS OPENBLAS_NUM_THREADS=1 \
			    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
			    "$PY" bench/torch_mt.py bench $PTS -b "$BATCH" -t 1 \
			    --samples "$n" --steps 1 --eval-steps 1 --warmup 0 \
			    --repeats 1 > "$tmp/one" ;;
		esac
		echo "$(cat "$tmp/one") load=$l0-$(load)" >> "$tmp/$side"
		i_=$(kv "$tmp/one" step_cpu_ms)
		echo "# run $i $side: step $(kv "$tmp/one" step_ms) ms wall," \
		    "$i_ ms CPU, peak RSS $(kv "$tmp/one" peak_rss_kb) kB," \
		    "load $l0-$(load)"
	done
	i=$((i + 1))
done

echo
printf '%-18s %4s | %10s %10s %10s | %10s %8s | %s\n' "side" "runs" \
    "step CPU s" "per sample" "GFLOP/s" "step wall" "RSS GiB" "load (start-end)"
for side in rq rqu pt; do
	[ -s "$tmp/$side" ] || continue
	case $side in
	rq) nm="rq" ;;
	rqu) nm="rq -u $MICRO" ;;
	pt) nm="PyTorch" ;;
	esac
	c=$(med "$tmp/$side" step_cpu_ms)
	printf '%-18s %4s | %10.2f %10.2f %10s | %10.2f %8.2f | %s\n' "$nm" \
	    "$(wc -l < "$tmp/$side" | tr -d ' ')" \
	    "$(awk -v c="$c" 'BEGIN { print c / 1e3 }')" \
	    "$(awk -v c="$c" -v b="$BATCH" 'BEGIN { print c / 1e3 / b }')" \
	    "$(awk -v c="$c" -v b="$BATCH" -v f="${gflop:-0}" 'BEGIN {
		if (f > 0) printf "%.1f", f * b / (c / 1e3) / 1e9; else print "-" }')" \
	    "$(awk -v c="$(med "$tmp/$side" step_ms)" 'BEGIN { print c / 1e3 }')" \
	    "$(awk -v c="$(med "$tmp/$side" peak_rss_kb)" 'BEGIN { print c / 1048576 }')" \
	    "$(all "$tmp/$side" load)"
done
echo "# medians; step CPU s: process CPU time of one step of $BATCH samples;" \
    "GFLOP/s: the step's matrix-product FLOPs over it"
if [ -s "$tmp/pt" ]; then
	echo "# PyTorch / rq step CPU time: $(awk -v a="$(med "$tmp/pt" step_cpu_ms)" \
	    -v b="$(med "$tmp/rq" step_cpu_ms)" 'BEGIN { printf "%.2f", a / b }');" \
	    "PyTorch's RSS includes $(awk -v c="$(med "$tmp/pt" import_rss_kb)" \
	    'BEGIN { printf "%.2f", c / 1048576 }') GiB after importing torch"
fi
ts=$(awk -v c="$(med "$tmp/rq" step_cpu_ms)" -v b="$BATCH" 'BEGIN { printf "%.3f", c / 1e3 / b }')

ar=""
if [ "$MPI" = 1 ]; then
	echo
	echo "## Gradient allreduce (bench/allreduce, mpirun -np $NP)"
	if command -v mpicc > /dev/null 2>&1 && command -v mpirun > /dev/null 2>&1 &&
	    [ -f lib/dist-mpi.o ]; then
		# built as bin/rq-train-mpi is (Makefile), into the temporary dir
		# shellcheck disable=SC2046
		mpicc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 \
		    -Ilib -DRQ_MPI -o "$tmp/allreduce" bench/allreduce.c \
		    lib/dist-mpi.o lib/librq.a $(pkg-config --libs gsl 2>/dev/null ||
		    echo -lgsl) -lpng16 -ljpeg -lsndfile -lz \
		    -L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas -lm -lpthread
		l0=$(load)
		# shellcheck disable=SC2086
		mpirun -np "$NP" $MPIRUN_FLAGS "$tmp/allreduce" -R 3 > "$tmp/ar"
		cat "$tmp/ar"
		echo "# load $l0-$(load)"
		ar=$(kv "$tmp/ar" allreduce_ms)
	else
		echo "# skipped: mpicc/mpirun or lib/dist-mpi.o (make MPI=1) missing"
	fi
fi

echo
echo "## One CREMA-D epoch ($EPOCH clips, batch 64), projected from rq's" \
    "step CPU time ($ts s per sample)"
steps=$(( (EPOCH + 63) / 64 ))
printf '%6s | %12s %14s %14s %14s\n' "ranks" "compute h" \
    "+ this VM's AR" "+ 10 Gb/s AR" "+ 100 Gb/s AR"
for N in 1 2 4 8 16 32 64; do
	awk -v N="$N" -v ts="$ts" -v S="$steps" -v ar="${ar:-nan}" -v NP="$NP" \
	    -v B=4 'BEGIN {
		per = 64 / N; if (per != int(per)) per = int(per) + 1
		c = S * per * ts / 3600
		g = 60460818 * B                   # gradient bytes
		# ring allreduce: 2 (N-1)/N of the gradient through each link
		f = N > 1 ? 2 * (N - 1) / N : 0
		fn = NP > 1 ? 2 * (NP - 1) / NP : 1
		m = ar == "nan" ? "-" : sprintf("%.2f", c + S * (ar / 1e3) * f / fn / 3600)
		t10 = c + S * f * g / 1.25e9 / 3600
		t100 = c + S * f * g / 12.5e9 / 3600
		printf "%6d | %12.2f %14s %14.2f %14.2f\n", N, c, m, t10, t100 }'
done
echo "# compute h: steps x ceil(64 / ranks) samples x the per-sample step" \
    "time (one core per rank, perfect scaling);"
echo "# + AR: one allreduce of the gradient per step, a ring: 2 (N-1)/N of" \
    "$(awk 'BEGIN { printf "%.0f", 60460818 * 4 / 1e6 }') MB per rank;" \
    "this VM's from the measured -np $NP time, the others at link speed alone"
echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
