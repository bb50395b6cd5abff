#!/bin/sh
# profile.sh: where rq's training step spends its time, by term.
#
# usage: sh bench/profile.sh     (from the repository root, after
#                                 `make all bench/model-step`)
#
# For each model (the default one, d 64 / 2 blocks / 4 heads, and the
# larger one, d 256 / 4 blocks / 8 heads; batch 64, one thread) runs
# bench/model-step -t under `perf record -e cpu-clock --call-graph dwarf`
# and sorts every sample into one term by its stack, from the leaf up
# (the first frame that names a term decides):
#   products   rq_gemm's kernels and packing, OpenBLAS's sgemm
#   attention  attention.c's per-head scores, softmax, weighted sum and
#              their backward (its small products included)
#   GELU       gelu.c, and gemm.c's epilogue (GELU' in fc2's dx store)
#   LayerNorm  layernorm.c
#   memory     memset / memcpy inside the model (zeroing, copies)
#   optimizer  rq_sgd_step
#   data       the batch gather of model-step (memcpy from the data set,
#              rq_rng) and the patch extraction (im2col)
#   other      the rest: the bias gradients' sums, dropout, loss, fusion,
#              embedding, residual adds, the kernel
# and prints each term's share of the samples.  Sampling costs little;
# the shares are of CPU time, so other processes on the machine change
# the total but not much the split.  Needs perf (linux-perf); without it
# the script says so and exits 1.
#
# Knobs: STEPS (60 for the default model; the larger one runs STEPS/10,
# at least 3), LARGE (1), RQ_GEMM / RQ_FUSE pass through.
set -eu

cd "$(dirname "$0")/.."
STEPS=${STEPS:-60}
LARGE=${LARGE:-1}
if ! command -v perf > /dev/null 2>&1; then
	echo "profile.sh: perf not found; apt-get install linux-perf" >&2
	exit 1
fi
[ -x bench/model-step ] || { echo "profile.sh: run make bench/model-step" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rq-prof.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "# rq training step by term, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n);" \
    "perf cpu-clock, dwarf stacks, 1 thread"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg);" \
    "RQ_GEMM=${RQ_GEMM:-unset} RQ_FUSE=${RQ_FUSE:-unset}" \
    "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"

models="default 64 2 4 $STEPS"
ls=$((STEPS / 10)); [ "$ls" -ge 3 ] || ls=3
[ "$LARGE" = 1 ] && models="$models
large 256 4 8 $ls"
printf '%-8s %7s | %8s %9s %6s %9s %6s %9s %5s %6s | %7s\n' model samples \
    products attention GELU LayerNorm memory optimizer data other step_ms
echo "$models" | while read -r n d L H s; do
	OPENBLAS_NUM_THREADS=1 perf record -q -e cpu-clock -F 2000 \
	    --call-graph dwarf,16384 -o "$tmp/$n.data" \
	    bench/model-step -t -d "$d" -L "$L" -H "$H" -b 64 -n 256 \
	    -s "$s" -e 1 -w 1 -R 1 > "$tmp/$n.out" 2> "$tmp/$n.err" || {
		cat "$tmp/$n.err" >&2; exit 1; }
	ms=$(sed -n 's/.* step_cpu_ms=\([^ ]*\).*/\1/p' "$tmp/$n.out")
	perf script -i "$tmp/$n.data" -F ip,sym 2> /dev/null | awk -v n="$n" \
	    -v ms="$ms" '
	function term(f) {
		if (f ~ /^(rq_gelu|phi8|epilogue)/) return "gelu"
		if (f ~ /^rq_layernorm/) return "ln"
		if (f ~ /^(mhsa_|rq_mhsa|small_gemm|transpose_pad|pack_rows|softmax|row_)/) return "att"
		if (f ~ /^(kern_avx|blocked|pack_a|pack_b|store_edge|gemm$|rq_gemm|cblas_sgemm|sgemm_|.*_ZEN$|.*_HASWELL$|.*_SKYLAKEX$|.*_COOPERLAKE$|.*_ZEN$|inner_|gemm_)/) return "gemm"
		if (f ~ /^rq_sgd_step/) return "opt"
		if (f ~ /^(im2col|rq_rng_below)/) return "data"
		if (f ~ /^_*mem(set|cpy|move)/) return "mem"
		return ""
	}
	function flush(   i, t, c) {
		if (nf == 0) return
		c = "other"
		# the setup before the steps is left out: the arena, the
		# parameters, the random data set, the loader
		for (i = 1; i <= nf; i++)
			if (fr[i] ~ /^(rq_model_alloc|rq_model_plan|rq_model_init_params|rq_rng_normal|_dl_start)/) {
				setup++
				nf = 0
				return
			}
		for (i = 1; i <= nf; i++) {
			t = term(fr[i])
			if (t == "") continue
			# a copy decides by its caller: the gather or the model
			if (t == "mem") {
				# (zeroing the gradients, a tail call from
				# there too, is a memset)
				if (i < nf && fr[i + 1] ~ /^timemode/ &&
				    fr[i] !~ /memset/) c = "data"
				else c = "mem"
			} else
				c = t
			break
		}
		cnt[c]++
		tot++
		nf = 0
	}
	/^[ \t]*$/ { flush(); next }
	# a libc copy reported as inlined is the vector code of its caller
	# (as the debug information places it), not a call: skipped
	/^[ \t]*[0-9a-f]+[ \t]+__mem[a-z0-9_]* \(inlined\)/ { next }
	{ sub(/^[ \t]*[0-9a-f]+[ \t]+/, ""); sub(/\+0x[0-9a-f]+.*/, "");
	  sub(/[ \t].*/, ""); if ($0 != "") fr[++nf] = $0 }
	END {
		flush()
		if (tot == 0) { print n ": no samples" > "/dev/stderr"; exit 1 }
		printf "%-8s %7d | %7.1f%% %8.1f%% %5.1f%% %8.1f%% %5.1f%% %8.1f%% %4.1f%% %5.1f%% | %7.1f\n",
		    n, tot, 100 * cnt["gemm"] / tot, 100 * cnt["att"] / tot,
		    100 * cnt["gelu"] / tot, 100 * cnt["ln"] / tot,
		    100 * cnt["mem"] / tot, 100 * cnt["opt"] / tot,
		    100 * cnt["data"] / tot, 100 * cnt["other"] / tot, ms
	}'
done
echo "# shares of the CPU samples of the steps (setup left out; the one" \
    "evaluation forward included, under 1%); step_ms: model-step's CPU" \
    "time per training step (under perf)."
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
