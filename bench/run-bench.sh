#!/bin/sh
# run-bench.sh: rq against PyTorch on this machine, in one run.
#
# usage: sh bench/run-bench.sh        (from the repository root; `make bench`)
#
# What runs (doc/BENCHMARKING.md says why):
#   - the training step (forward with dropout, backward, SGD momentum 0.9,
#     wd 1e-4) and the evaluation forward of Vanilla MT (and MT+RollingQ)
#     at batch 64 on random data held in memory, random batches gathered
#     per step: rq through bench/model-step (librq), PyTorch through
#     bench/torch_mt.py bench (Debian python3-torch, CPU);
#   - both under the same OPENBLAS_CORETYPE (inherited, printed), the same
#     thread count (OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = torch threads),
#     PyTorch with LD_LIBRARY_PATH=$TORCH_BLAS (OpenBLAS, not the
#     reference BLAS);
#   - RUNS separate processes per side, alternating rq / PyTorch, medians;
#     ratios are rq / PyTorch from this same run (throughput: > 1 means rq
#     is faster; RSS: < 1 means rq is smaller);
#   - rq's step a third time with RQ_GEMM=blas (every product through
#     OpenBLAS), interleaved with the other two at the first thread count:
#     what rq's own kernels (lib/gemm.c) gain over OpenBLAS in the step;
#     and the same in one process, the paths interleaved step by step
#     (bench/step-ab: less disturbed by other jobs than separate processes);
#   - rq's training-step GFLOP/s (GEMM FLOPs of the step, counted by
#     torch_mt.py shapes, over rq's median step time) against OpenBLAS
#     sgemm and rq_gemm at exactly the step's GEMM shapes, and as a
#     fraction of the core's FMA peak (bench/sgemm-peak measures all three);
#   - end to end: rq-train (one epoch) and rq-eval, timed as programs;
#   - bench/grad-check.py: one step from identical weights, rq vs PyTorch;
#   - bench/extract-rate.sh: rq-extract's clips/s against numpy/scipy
#     (bench/extract_ref.py) on the same clips, and their agreement.
#
# Environment knobs: QUICK (0; 1: a few minutes on two cores: RUNS 1,
# half the steps, only the plain default and large models, no end-to-end,
# gradient-check or rq-extract sections, unless those knobs are set
# too), RUNS (3), THREADS ("1 2"), PY (/usr/bin/python3),
# TORCH_BLAS (/usr/lib/x86_64-linux-gnu/openblas-pthread), TORCH_OMP_WAIT
# (PASSIVE: PyTorch's OMP_WAIT_POLICY), LARGE (1: also
# the d 256 / 4 layers / 8 heads model), E2E (1), GRADCHECK (1),
# EXTRACT (1: the rq-extract section; its own knobs FSDD, N and KINDS
# pass through the environment).
set -eu

cd "$(dirname "$0")/.."
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	RUNS=${RUNS:-1}
	E2E=${E2E:-0}
	GRADCHECK=${GRADCHECK:-0}
	EXTRACT=${EXTRACT:-0}
fi
RUNS=${RUNS:-3}
THREADS=${THREADS:-"1 2"}
PY=${PY:-/usr/bin/python3}
TORCH_BLAS=${TORCH_BLAS:-/usr/lib/x86_64-linux-gnu/openblas-pthread}
LARGE=${LARGE:-1}
E2E=${E2E:-1}
GRADCHECK=${GRADCHECK:-1}
EXTRACT=${EXTRACT:-1}
# libgomp's default busy-wait makes 2-thread PyTorch 10-20x slower when the
# 2 vCPUs are shared (measured); PASSIVE is its best setting here
TORCH_OMP_WAIT=${TORCH_OMP_WAIT:-PASSIVE}

if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	echo "run-bench.sh: $PY cannot import torch and numpy;" \
	    "apt-get install -y python3-torch python3-numpy" >&2
	exit 1
fi
for f in bench/model-step bench/sgemm-peak bin/rq-train bin/rq-eval \
    bin/rq-npy; do
	if [ ! -x "$f" ]; then
		echo "run-bench.sh: $f missing; run make bench" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rq-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# value of key=... in a line
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p; s/^$2=\([^ ]*\).*/\1/p" "$1" | head -n 1; }
# median of the values of key over all lines of a file
med() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p; s/^$2=\([^ ]*\).*/\1/p" "$1" |
	    sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "nan";
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b;
	else print "-" }'; }

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
if grep -q avx512f /proc/cpuinfo; then isa=AVX-512; else isa="AVX2 (no avx512f)"; fi
has() { grep -qw "$1" /proc/cpuinfo && echo yes || echo no; }
blas=$(LD_LIBRARY_PATH=$TORCH_BLAS ldd "$("$PY" -c 'import torch, os;
print(os.path.join(os.path.dirname(torch.__file__), "_C" +
__import__("sysconfig").get_config_var("EXT_SUFFIX")))')" 2>/dev/null |
    sed -n 's/.*libblas.so.3 => \([^ ]*\).*/\1/p' | head -n 1)
[ -n "$blas" ] || blas=$(LD_LIBRARY_PATH=$TORCH_BLAS ldd \
    /usr/lib/x86_64-linux-gnu/libtorch_cpu.so* 2>/dev/null |
    sed -n 's/.*libblas.so.3 => \([^ ]*\).*/\1/p' | head -n 1)
echo "# rq vs PyTorch, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n)"
echo "# cpu: $cpu, $(nproc) vCPU, $isa; load average at start:" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "# flags: avx2 $(has avx2), fma $(has fma), avx512f $(has avx512f);" \
    "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; RQ_GEMM=${RQ_GEMM:-unset};" \
    "RQ_FUSE=${RQ_FUSE:-unset}; QUICK=$QUICK"
echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} (the same for both);" \
    "PyTorch $("$PY" -c 'import torch; print(torch.__version__)')" \
    "with LD_LIBRARY_PATH=$TORCH_BLAS (libblas.so.3 -> ${blas:-?})," \
    "OMP_WAIT_POLICY=$TORCH_OMP_WAIT"
gemm=$(bench/model-step -t -d 16 -L 1 -H 2 -b 2 -n 4 -s 1 -e 1 -w 0 -R 1 |
    sed -n 's/.* gemm=\([^ ]*\).*/\1/p')
echo "# rq_gemm kernels: ${RQ_GEMM:-auto} -> $gemm (lib/gemm.c; RQ_GEMM=blas" \
    "sends every product to OpenBLAS)"
echo "# batch 64, audio 40x32 (10x8 patches), visual 1x28x28 (7x7 patches)"
echo "#  (rq-train's default patches: a quarter of each side; 17+17 tokens)," \
    "10 classes; medians of $RUNS runs per side, alternating"

# name d L H flag steps evalsteps warmup allthreads(0: only the first of
# THREADS).  flag r: RollingQ (one d x d product per batch, so measured at
# the primary thread count only); uN: rq runs the batch of 64 as
# micro-batches of N (model-step -u N, as rq-train -u N: same gradient,
# the arena holds N samples' activations), PyTorch the plain batch of 64
if [ "$QUICK" = 1 ]; then
	configs="default-MT 64 2 4 - 15 30 1 1"
	[ "$LARGE" = 1 ] && configs="$configs
large-MT 256 4 8 - 2 4 1 1"
else
	configs="default-MT 64 2 4 - 30 60 2 1
default-MT+RollingQ 64 2 4 r 30 60 2 0"
	[ "$LARGE" = 1 ] && configs="$configs
large-MT 256 4 8 - 4 8 1 1
large-MT-u8 256 4 8 u8 4 8 1 0"
fi
t1=$(echo "$THREADS" | cut -d' ' -f1)

run_pair() {	# name d L H flag steps esteps warmup threads
	n=$1 d=$2 L=$3 H=$4 fl=$5 st=$6 es=$7 w=$8 t=$9
	rqf="" ptf=""
	case $fl in
	r) rqf="-r" ptf="--rollingq" ;;
	u*) rqf="-u ${fl#u}" ;;
	esac
	i=1
	while [ "$i" -le "$RUNS" ]; do
		sides=$( [ $((i % 2)) = 1 ] && echo "rq pt" || echo "pt rq")
		# rq with every product through OpenBLAS: plain models only
		[ "$fl" = - ] && sides="$sides rqb"
		for side in $sides; do
			if [ "$side" = rqb ]; then
				RQ_GEMM=blas OPENBLAS_NUM_THREADS=$t \
				    OMP_NUM_THREADS=$t bench/model-step -t \
				    -d "$d" -L "$L" -H "$H" -b 64 -s "$st" \
				    -e "$es" -w "$w" -R 1 >> "$tmp/$n.$t.rqb"
			elif [ "$side" = rq ]; then
				OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t \
				    bench/model-step -t -d "$d" -L "$L" -H "$H" \
				    -b 64 -s "$st" -e "$es" -w "$w" -R 1 $rqf \
				    >> "$tmp/$n.$t.rq"
			else
				LD_LIBRARY_PATH=$TORCH_BLAS OPENBLAS_NUM_THREADS=$t \
				    OMP_NUM_THREADS=$t OMP_WAIT_POLICY=$TORCH_OMP_WAIT \
				    "$PY" bench/torch_mt.py bench \
				    -d "$d" -L "$L" --heads "$H" -b 64 -t "$t" \
				    --steps "$st" --eval-steps "$es" --warmup "$w" \
				    --repeats 1 $ptf >> "$tmp/$n.$t.pt"
			fi
		done
		i=$((i + 1))
	done
}

for t in $THREADS; do
	echo "$configs" | while read -r n d L H fl st es w all; do
		[ "$all" = 1 ] || [ "$t" = "$t1" ] || continue
		run_pair "$n" "$d" "$L" "$H" "$fl" "$st" "$es" "$w" "$t"
	done
done

echo
echo "## Training step and evaluation (samples/s), peak RSS (MB)"
printf '%-20s %3s | %8s %8s %6s | %8s %8s %6s | %7s %7s %6s\n' \
    "model" "thr" "train rq" "torch" "rq/pt" "eval rq" "torch" "rq/pt" \
    "RSS rq" "torch" "rq/pt"
for t in $THREADS; do
	echo "$configs" | while read -r n d L H fl st es w all; do
		[ "$all" = 1 ] || [ "$t" = "$t1" ] || continue
		a=$tmp/$n.$t.rq b=$tmp/$n.$t.pt
		tr=$(med "$a" train_sps) tp=$(med "$b" train_sps)
		er=$(med "$a" eval_sps) ep=$(med "$b" eval_sps)
		rr=$(med "$a" peak_rss_kb) rp=$(med "$b" peak_rss_kb)
		printf '%-20s %3s | %8.1f %8.1f %6s | %8.1f %8.1f %6s | %7.0f %7.0f %6s\n' \
		    "$n" "$t" "$tr" "$tp" "$(ratio "$tr" "$tp")" "$er" "$ep" \
		    "$(ratio "$er" "$ep")" "$(echo "$rr" | awk '{print $1/1024}')" \
		    "$(echo "$rp" | awk '{print $1/1024}')" "$(ratio "$rr" "$rp")"
	done
done
ir=$(med "$tmp/default-MT.$t1.pt" import_rss_kb)
echo "# PyTorch RSS includes the interpreter and torch itself:" \
    "$(echo "$ir" | awk '{printf "%.0f", $1/1024}') MB after import."
echo
echo "## Training step by process CPU time (ms/step; on a shared machine" \
    "less disturbed than wall time)"
printf '%-20s %3s | %9s %9s %6s\n' "model" "thr" "rq ms" "torch ms" "pt/rq"
for t in $THREADS; do
	echo "$configs" | while read -r n d L H fl st es w all; do
		[ "$all" = 1 ] || [ "$t" = "$t1" ] || continue
		cr=$(med "$tmp/$n.$t.rq" step_cpu_ms)
		cp=$(med "$tmp/$n.$t.pt" step_cpu_ms)
		printf '%-20s %3s | %9.1f %9.1f %6s\n' "$n" "$t" "$cr" "$cp" \
		    "$(ratio "$cp" "$cr")"
	done
done

echo
echo "## rq's step with its own kernels vs every product through OpenBLAS" \
    "(RQ_GEMM=blas), interleaved"
printf '%-20s %3s | %9s %9s %6s | %9s %9s\n' "model" "thr" "rq ms" \
    "rq-blas" "gain" "rq cpu" "blas cpu"
for t in $THREADS; do
	gk=step_ms
	[ "$t" = 1 ] && gk=step_cpu_ms
	echo "$configs" | while read -r n d L H fl st es w all; do
		[ "$fl" = - ] || continue
		[ "$all" = 1 ] || [ "$t" = "$t1" ] || continue
		a=$tmp/$n.$t.rq b=$tmp/$n.$t.rqb
		ms=$(med "$a" step_ms) mb=$(med "$b" step_ms)
		gr=$(med "$a" $gk) gb=$(med "$b" $gk)
		printf '%-20s %3s | %9.1f %9.1f %6s | %9.1f %9.1f\n' "$n" "$t" \
		    "$ms" "$mb" "$(ratio "$gb" "$gr")" "$(med "$a" step_cpu_ms)" \
		    "$(med "$b" step_cpu_ms)"
	done
done
echo "# gain: rq-blas / rq step time (medians; process CPU time with 1" \
    "thread, else wall); > 1: rq_gemm's kernels make the step faster."

# the same question in one process: steps on every rq_gemm path
# interleaved (bench/step-ab, thread CPU time, one thread), which a busy
# machine disturbs equally on every side, unlike separate processes
echo
echo "## rq_gemm's paths in one process (bench/step-ab, 1 thread," \
    "thread CPU ms per step)"
if [ "$QUICK" = 1 ]; then sa=60 sl=4; else sa=150 sl=12; fi
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bench/step-ab -s "$sa"
[ "$LARGE" = 1 ] && OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
    bench/step-ab -d 256 -L 4 -H 8 -s "$sl"
echo "# blas: every product through OpenBLAS; auto: rq_gemm's own choice" \
    "(what rq runs); the third: rq's kernels on every product"

echo
echo "## rq training step GFLOP/s vs OpenBLAS and rq_gemm at the step's" \
    "GEMM shapes, and vs the core's FMA peak"
printf '%-20s %3s | %7s %7s %7s | %7s %8s %8s %6s | %6s %6s | %6s %6s\n' \
    "model" "thr" "GEMM GF" "rq ms" "pt ms" "rq GF/s" "sgemm@sh" \
    "rqgemm@sh" "rq/sg" "pkAVX2" "rq/pk" "pk512" "rq/pk"
for t in $THREADS; do
	echo "$configs" | while read -r n d L H fl st es w all; do
		[ "$fl" = r ] && continue
		[ "$all" = 1 ] || [ "$t" = "$t1" ] || continue
		"$PY" bench/torch_mt.py shapes -d "$d" -L "$L" --heads "$H" -b 64 \
		    > "$tmp/$n.shapes"
		# one thread: CPU time on both sides (robust on a shared
		# machine); more threads: wall time
		ck="" key=step_ms
		[ "$t" = 1 ] && ck="-c" && key=step_cpu_ms
		OPENBLAS_NUM_THREADS=$t bench/sgemm-peak $ck -m 0.02 \
		    < "$tmp/$n.shapes" > "$tmp/$n.$t.sg"
		fl_=$(kv "$tmp/$n.$t.sg" step_gemm_flop)
		ms=$(med "$tmp/$n.$t.rq" $key)
		pms=$(med "$tmp/$n.$t.pt" $key)
		sg=$(kv "$tmp/$n.$t.sg" sgemm_shapes_gflops)
		rg=$(kv "$tmp/$n.$t.sg" rq_shapes_gflops)
		p2=$(kv "$tmp/$n.$t.sg" fma_peak_avx2_gflops)
		p5=$(kv "$tmp/$n.$t.sg" fma_peak_avx512_gflops)
		gf=$(awk -v f="$fl_" -v m="$ms" 'BEGIN { printf "%.1f", f / m / 1e6 }')
		r5=-
		[ "$p5" = none ] || r5=$(ratio "$gf" "$p5")
		printf '%-20s %3s | %7.2f %7.1f %7.1f | %7s %8s %8s %6s | %6s %6s | %6s %6s\n' \
		    "$n" "$t" "$(awk -v f="$fl_" 'BEGIN { print f / 1e9 }')" \
		    "$ms" "$pms" "$gf" "$sg" "$rg" "$(ratio "$gf" "$sg")" \
		    "$p2" "$(ratio "$gf" "$p2")" "$p5" "$r5"
	done
done
sq=$(kv "$tmp/default-MT.$t1.sg" sgemm_square_gflops)
echo "# GEMM GF: matrix-product FLOPs of one training step of 64 samples" \
    "(elementwise work not counted);"
echo "# sgemm@sh / rqgemm@sh: OpenBLAS / rq_gemm on exactly those GEMMs," \
    "timed alone and interleaved (bench/sgemm-peak);"
echo "# pkAVX2 / pk512: one core's FMA peak with AVX2 (8 lanes) / AVX-512" \
    "(16 lanes; none: the CPU lacks it), independent FMAs on registers," \
    "GFLOP/s; rq/pk: the whole step's rate over it (rq's kernels: $gemm);"
echo "# OpenBLAS $(kv "$tmp/default-MT.$t1.sg" openblas_core) on 1024^3:" \
    "$sq GFLOP/s.  With 1 thread every time here is process CPU time."

if [ "$E2E" = 1 ]; then
	echo
	echo "## End to end: rq-train (1 epoch, 1 thread) and rq-eval," \
	    "timed as programs"
	"$PY" - "$tmp" <<'EOF'
import os, sys
sys.path.insert(0, "bench")
import numpy as np
import rqt
rng = np.random.default_rng(0)
for name, n in (("train", 2400), ("trainL", 320), ("val", 64)):
    with open(os.path.join(sys.argv[1], name + ".rqt"), "wb") as f:
        meta = {"classes": 10, "split": "val" if name == "val" else "train",
                "dataset": "bench-random"}
        rqt.write(f, "audio", rng.standard_normal((n, 40, 32), np.float32), meta)
        rqt.write(f, "visual", rng.standard_normal((n, 1, 28, 28), np.float32), meta)
        rqt.write(f, "label", rng.integers(0, 10, n).astype(np.int32), meta)
EOF
	printf '%-20s | %9s %9s %8s | %9s %9s\n' "model" "samples" \
	    "train s/s" "RSS MB" "eval s/s" "RSS MB"
	echo "$configs" | while read -r n d L H fl st es w all; do
		data=$tmp/train.rqt
		[ "$d" = 256 ] && data=$tmp/trainL.rqt
		case $fl in
		r) rqo="--rollingq" ;;
		u*) rqo="-u ${fl#u}" ;;
		*) rqo="" ;;
		esac
		# timed without -o (a checkpoint save fsyncs twice per epoch)
		OPENBLAS_NUM_THREADS=1 bin/rq-train -m mt -d "$d" --depth "$L" --heads "$H" \
		    -b 64 -e 1 -j 1 $rqo -L "$tmp/$n.log" \
		    "$data" "$tmp/val.rqt" > /dev/null
		# a checkpoint of the same model for rq-eval
		OPENBLAS_NUM_THREADS=1 bin/rq-train -m mt -d "$d" --depth "$L" --heads "$H" \
		    -b 64 -e 1 -j 1 $rqo -o "$tmp/$n.ckpt" -L /dev/null \
		    "$tmp/val.rqt" "$tmp/val.rqt" > /dev/null
		ns=$(awk -v f="$data" 'BEGIN { print (f ~ /trainL/) ? 320 : 2400 }')
		sec=$(sed -n 's/^epoch=1 .*seconds=\([^ ]*\).*/\1/p' "$tmp/$n.log")
		rss=$(sed -n 's/.*peak_rss_kb=\([^ ]*\).*/\1/p' "$tmp/$n.log")
		/usr/bin/time -f '%e %M' -o "$tmp/$n.etime" env \
		    OPENBLAS_NUM_THREADS=1 bin/rq-eval -b 64 -j 1 "$tmp/$n.ckpt" \
		    "$data" > /dev/null 2>&1
		read -r es_ ems < "$tmp/$n.etime"
		printf '%-20s | %9s %9.1f %8.0f | %9.1f %9.0f\n' "$n" "$ns" \
		    "$(awk -v n="$ns" -v s="$sec" 'BEGIN { print n / s }')" \
		    "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" \
		    "$(awk -v n="$ns" -v s="$es_" 'BEGIN { print n / s }')" \
		    "$(awk -v r="$ems" 'BEGIN { print r / 1024 }')"
	done
	echo "# train s/s: samples / the epoch's seconds from the rq-train log" \
	    "(includes the 64-sample validation pass and AIR);"
	echo "# eval s/s: samples / wall time of rq-eval (includes loading" \
	    "the checkpoint and the data)."
fi

if [ "$GRADCHECK" = 1 ]; then
	echo
	echo "## Numerical agreement: one step from identical weights" \
	    "(bench/grad-check.py, tolerance 1e-4 relative)"
	"$PY" bench/grad-check.py --rq-npy bin/rq-npy \
	    --model-step bench/model-step
fi

if [ "$EXTRACT" = 1 ]; then
	echo
	echo "## rq-extract throughput (clips/s)"
	# RUNS and PY as set here, which need not be in the environment
	RUNS=$RUNS PY=$PY sh bench/extract-rate.sh
fi
echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
