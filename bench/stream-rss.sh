#!/bin/sh
# stream-rss.sh: peak resident memory of rq-cat streaming 1,000 records of
# 1 MiB each (f32 [262144]) from a pipe to /dev/null.  Prints the peak RSS
# in KiB as reported by GNU time (-v, "Maximum resident set size").
# The target (issue 3) is under 16 MiB.  Run from the repository root
# after `make`.
set -eu
[ -x /usr/bin/time ] || { echo "stream-rss: need GNU time (apt-get install time)" >&2; exit 1; }
d=$(mktemp -d "${TMPDIR:-/tmp}/rq-rss.XXXXXX")
trap 'rm -rf "$d"' EXIT

# one 1 MiB .npy (random bytes are as good as any floats for cat)
h="{'descr': '<f4', 'fortran_order': False, 'shape': (262144,), }"
while [ $(( (${#h} + 11) % 64 )) -ne 0 ]; do h="$h "; done
l=$((${#h} + 1))
{
	printf '\223NUMPY\001\000'
	printf "\\$(printf %03o $((l % 256)))\\$(printf %03o $((l / 256)))"
	printf '%s\n' "$h"
	head -c 1048576 /dev/urandom
} >"$d/r.npy"
bin/rq-npy --rename x "$d/r.npy" >"$d/r.rqt"

i=0
while [ $i -lt 1000 ]; do cat "$d/r.rqt"; i=$((i + 1)); done |
    /usr/bin/time -v -o "$d/time" bin/rq-cat >/dev/null
kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$d/time")
echo "rq-cat, 1000 x 1 MiB records through a pipe: peak RSS $kib KiB" \
    "($(awk "BEGIN { printf \"%.1f\", $kib / 1024 }") MiB)"
