#!/bin/sh
# extract-rate.sh: rq-extract's throughput (clips/s) against an independent
# numpy/scipy implementation of the same features (bench/extract_ref.py),
# on the same clips, in one run.
#
# usage: sh bench/extract-rate.sh     (after `make all`; from any directory)
#
# What runs (see /work/shared/BENCHMARKING.md for why):
#   - the clips: every WAV in $FSDD (the 3,000 FSDD recordings, which are
#     not committed), or, when there are none, N synthetic 1 s clips at
#     8 kHz, 16-bit (seeded tones + noise, written with python's wave);
#   - for each kind (-k logmel: [n, 40, 48]; -k cremad: [n, 257, 188]),
#     RUNS runs per side, alternating rq / numpy, each a whole process
#     timed by GNU time (wall, user + system CPU) and writing its output
#     to a file, as a user would; both with OPENBLAS_NUM_THREADS=1;
#   - the table: medians, clips/s and rq / numpy ratios (> 1: rq is
#     faster), by process CPU time (the primary figure: on a shared
#     2-vCPU machine wall time also counts other jobs) and by wall time;
#     numpy's time includes the interpreter start and the imports, so
#     its in-process rate (the loop that reads and computes) is printed
#     below the table;
#   - agreement: rq's stream exported with rq-npy -x, compared with the
#     numpy output of the last run (see the comments at the check); the
#     table is printed either way, then the exit status is 1 if they
#     disagree.
#
# Environment knobs: RUNS (3), PY (/usr/bin/python3: needs numpy and
# scipy), FSDD (data/fsdd/recordings), N (500: synthetic clips when FSDD
# holds no WAV), KINDS ("logmel cremad").
set -eu

cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
PY=${PY:-/usr/bin/python3}
FSDD=${FSDD:-data/fsdd/recordings}
N=${N:-500}
KINDS=${KINDS:-"logmel cremad"}

if ! "$PY" -c 'import numpy, scipy' 2>/dev/null; then
	echo "extract-rate.sh: $PY cannot import numpy and scipy;" \
	    "apt-get install -y python3-numpy python3-scipy" >&2
	exit 1
fi
for f in bin/rq-extract bin/rq-npy /usr/bin/time; do
	if [ ! -x "$f" ]; then
		echo "extract-rate.sh: $f missing; run make all" \
		    "(GNU time: apt-get install time)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rq-extract-rate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# the clips, as the positional parameters, so both sides get the same
# files in the same order (a list of 3,000 paths is far below ARG_MAX)
set -- "$FSDD"/*.wav
if [ -e "$1" ]; then
	src="$FSDD ($# FSDD clips)"
else
	mkdir "$tmp/clips"
	"$PY" - "$tmp/clips" "$N" <<'EOF'
import sys
import wave
import numpy as np
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
t = np.arange(8000) / 8000.0
for i in range(n):
    # three tones across the band, under a random-length burst, in noise
    x = sum(rng.uniform(0.05, 0.3) *
            np.sin(2 * np.pi * rng.uniform(100, 3800) * t +
                   rng.uniform(0, 2 * np.pi)) for _ in range(3))
    a, b = sorted(rng.integers(0, 8000, 2))
    x = x * ((t >= a / 8000.0) & (t < b / 8000.0))
    x = x + rng.uniform(0.001, 0.05) * rng.standard_normal(t.size)
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    with wave.open("%s/synth-%05d.wav" % (d, i), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm.tobytes())
EOF
	set -- "$tmp"/clips/*.wav
	src="$N synthetic 1 s clips (no WAV in $FSDD)"
fi
printf '%s\n' "$@" > "$tmp/files"

# median of column c (1-based) of a file, or of the sum of columns c and
# d; the GNU time lines are "wall user system"
med() {
	awk -v c="$2" -v d="${3:-0}" '{ print $c + (d ? $d : 0) }' "$1" |
	    sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "nan";
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# median of key=value over the lines of a file
kmed() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1" | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR == 0) print "nan";
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s;
	else print "-" }'; }
# "-" when a side took less than GNU time's 0.01 s resolution
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {
	if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "# rq-extract vs numpy/scipy (bench/extract_ref.py)," \
    "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n)"
echo "# cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)," \
    "$(nproc) vCPU; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# clips: $src"
echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}," \
    "OPENBLAS_NUM_THREADS=1 (both sides)"
echo "# $("$PY" -c 'import numpy, scipy
print("numpy %s, scipy %s" % (numpy.__version__, scipy.__version__))');" \
    "medians of $RUNS runs per side, alternating"

ok=1
for k in $KINDS; do
	i=1
	while [ "$i" -le "$RUNS" ]; do
		# alternate who goes first, so a change in the machine's load
		# during a run does not always hit the same side
		for side in $( [ $((i % 2)) = 1 ] && echo "rq np" ||
		    echo "np rq"); do
			if [ "$side" = rq ]; then
				/usr/bin/time -f '%e %U %S' -a -o "$tmp/$k.rq.time" \
				    env OPENBLAS_NUM_THREADS=1 \
				    bin/rq-extract -k "$k" "$@" > "$tmp/$k.rqt"
			else
				/usr/bin/time -f '%e %U %S' -a -o "$tmp/$k.np.time" \
				    env OPENBLAS_NUM_THREADS=1 \
				    "$PY" bench/extract_ref.py "$k" "$tmp/$k.npy" \
				    "$@" >> "$tmp/$k.np.out"
			fi
		done
		i=$((i + 1))
	done

	# Agreement, on the last run's outputs.  The features are logs, so
	# rel is |rq - np| / max(|np|, 1) (relative where |value| >= 1,
	# absolute near the zero crossing), and lin compares the magnitudes
	# themselves (e^feature) to each clip's largest one.  For cremad of
	# 8 kHz clips the log-domain difference is large where |S| is near
	# its 1e-7 floor (above 4 kHz after resampling to 22,050 Hz there is
	# only the filter's stopband leakage) because rq holds the resampled
	# samples as float32 and numpy as float64: the worst clip is
	# recomputed with numpy's resampled samples rounded to float32, which
	# must then agree to 1e-4 like logmel does.  Pass: that recomputed
	# clip within 1e-4, lin within 1e-5, and for logmel max |rq-np|
	# within 1e-4 (measured: about 1e-6, float32 rounding of the output).
	bin/rq-npy --export --dir "$tmp/$k.x" --name audio "$tmp/$k.rqt"
	"$PY" - "$k" "$tmp/$k.x/0000-audio.npy" "$tmp/$k.npy" "$tmp/files" \
	    >> "$tmp/agree" <<'EOF' || ok=0
import sys
sys.path.insert(0, "bench")
import numpy as np
import extract_ref as E
kind, rqf, npf, listf = sys.argv[1:5]
a = np.load(rqf, mmap_mode="r")
b = np.load(npf, mmap_mode="r")
if a.shape != b.shape:
    print("# agreement %s: FAIL: shapes differ, rq %s, numpy %s"
          % (kind, a.shape, b.shape))
    sys.exit(1)
mabs, where, mrel, mlin = -1.0, None, 0.0, 0.0
for i in range(len(a)):     # clip by clip: cremad of 3,000 is 580 MB
    x, y = a[i].astype(np.float64), b[i].astype(np.float64)
    d = np.abs(x - y)
    j = int(d.argmax())
    if d.flat[j] > mabs:
        mabs, where = d.flat[j], (i,) + np.unravel_index(j, d.shape)
    mrel = max(mrel, (d / np.maximum(np.abs(y), 1)).max())
    ey = np.exp(y)
    mlin = max(mlin, np.abs(np.exp(x) - ey).max() / ey.max())
i = where[0]
with open(listf) as f:
    path = f.read().split("\n")[i]
x, sr = E.read_wav(path)
if kind == "logmel":
    y = E.resample(x, sr, E.SR).astype(np.float32).astype(np.float64)
    r = E.logmel(y, E.SR, E.melfb(E.N_MELS, E.N_FFT, E.SR, 0, E.SR / 2).T,
                 E.centred_window(E.N_FFT, E.WIN), np.log(E.EPS))
else:
    y = E.resample(x, sr, E.C_SR).astype(np.float32).astype(np.float64)
    r = E.cremad(y, E.C_SR, E.signal.get_window("hann", E.C_FFT,
                                                fftbins=True))
f32 = np.abs(a[i].astype(np.float64) - r).max()
good = f32 <= 1e-4 and mlin <= 1e-5 and (kind != "logmel" or mabs <= 1e-4)
print("# agreement %s: %s, %d clips: max |rq-np| %.3g, max rel %.3g,"
      " lin %.3g\n#   max at clip %d, row %d, frame %d: rq %.7g, np %.7g"
      "\n#   that clip, np's input rounded to float32 as rq holds it:"
      " max %.3g"
      % (kind, "ok" if good else "FAIL", len(a), mabs, mrel, mlin,
         where[0], where[1], where[2], a[where], b[where], f32))
sys.exit(0 if good else 1)
EOF
	# 3 x 580 MB for cremad of 3,000 clips: free them before the next kind
	rm -rf "$tmp/$k.rqt" "$tmp/$k.npy" "$tmp/$k.x"
done

echo
printf '%-7s %6s | %-26s | %s\n' "" "" "CPU time (primary)" "wall time"
printf '%-7s %6s | %9s %9s %6s | %9s %9s %6s\n' "kind" "clips" \
    "rq clip/s" "np clip/s" "rq/np" "rq clip/s" "np clip/s" "rq/np"
for k in $KINDS; do
	rc=$(rate $# "$(med "$tmp/$k.rq.time" 2 3)")
	nc=$(rate $# "$(med "$tmp/$k.np.time" 2 3)")
	rw=$(rate $# "$(med "$tmp/$k.rq.time" 1)")
	nw=$(rate $# "$(med "$tmp/$k.np.time" 1)")
	printf '%-7s %6s | %9s %9s %6s | %9s %9s %6s\n' "$k" $# \
	    "$rc" "$nc" "$(ratio "$rc" "$nc")" "$rw" "$nw" "$(ratio "$rw" "$nw")"
done
echo "# whole processes (reading the WAVs, computing, writing the" \
    "output file);"
echo "# CPU = user + system; GNU time counts in steps of 0.01 s."
for k in $KINDS; do
	echo "# numpy $k in-process (reading and computing; no interpreter" \
	    "start,"
	c=$(kmed "$tmp/$k.np.out" cpu_seconds)
	w=$(kmed "$tmp/$k.np.out" seconds)
	echo "#   imports, saving): $(rate $# "$c") clips/s CPU," \
	    "$(rate $# "$w") wall"
done
cat "$tmp/agree"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$ok" = 1 ]
