#!/bin/sh
# examples.t: every command block of README.md (```sh fences) and every
# EXAMPLES block of the man pages (.Bd -literal and .Dl) runs verbatim,
# under bash with -e and -o pipefail, in a fresh directory: README blocks
# in order in a copy of the tree (with bin/ built, the state after the two
# set-up commands, and without bin/ on PATH: the README must say how the
# programs get there), each page's blocks in order in a directory of
# their own (a copy of the tree when they use it) with bin/ on PATH.  In
# a block with "$ " prompts only the prompted lines (and their
# continuations) are commands; the rest is output.  Blocks using the
# real data (data/fsdd, data/mnist, fetch-data, make data) run when
# ../shared/data is present; blocks using numpy when python3 has it.
# The README's help block must be what the program prints.
. tests/tap.sh
ROOT=$PWD
PLAIN_PATH=$(printf '%s' "$PATH" | sed "s|^$ROOT/bin:||")
command -v bash >/dev/null 2>&1 || skip_all 'bash not installed'

# Skipped, with the reason.  Keep this list short.
skipped() {	# FILE INDEX -> reason, or nothing
	case $1:$2 in
	README.md:1) echo 'the two set-up commands themselves (make check would run this test again)' ;;
	README.md:2) echo "needs users' copies of CREMA-D and Kinetics-Sounds, which nothing fetches" ;;
	man/cremad-manifest.1:*) echo "needs a user's copy of CREMA-D (~/cremad), which nothing fetches" ;;
	man/make-dataset.1:2) echo "needs a user's copy of CREMA-D (~/cremad), which nothing fetches" ;;
	man/rq-extract.1:1) echo "needs a user's copy of CREMA-D (~/cremad), which nothing fetches" ;;
	man/mosei-import.1:*) echo "needs a user's copy of the CMU-MOSEI pickle, which nothing fetches (tests/mosei-import.t runs it on a made-up one)" ;;
	man/vit-convert.1:*) echo 'needs timm and a download of ViT-B/16 (tests/init.t runs vit-convert on a made-up state dict)' ;;
	esac
}

mkdir "$T/ex"
awk -v dir="$T/ex" '
function unesc(s) {
	gsub(/\\\(en/, "-", s); gsub(/\\\(mi/, "-", s); gsub(/\\&/, "", s)
	gsub(/\\-/, "-", s); gsub(/\\e/, "\\", s)
	return s
}
function finish(   i, l, dollar, cont, f) {
	n++; k++
	f = sprintf("%s/%03d", dir, n)
	for (i = 1; i <= nb; i++)
		if (b[i] ~ /^\$ /)
			dollar = 1
	printf "" > f
	for (i = 1; i <= nb; i++) {
		l = b[i]
		if (dollar && l ~ /^\$ /)
			l = substr(l, 3)
		else if (dollar && !cont)
			continue
		print l > f
		cont = l ~ /\\$/
	}
	close(f)
	printf "%03d %s %d\n", n, FILENAME, k > (dir "/list")
	nb = 0
}
FNR == 1 { inex = inbd = infence = k = nb = 0 }
FILENAME ~ /\.md$/ {
	if (!infence && $0 ~ /^```sh[ \t]*$/) { infence = 1; next }
	if (infence && $0 ~ /^```[ \t]*$/) { infence = 0; finish(); next }
	if (infence) b[++nb] = $0
	next
}
/^\.Sh / { inex = $0 ~ /^\.Sh EXAMPLES/; next }
!inex { next }
/^\.Bd -literal/ { inbd = 1; next }
inbd && /^\.Ed/ { inbd = 0; finish(); next }
inbd { b[++nb] = unesc($0); next }
/^\.Dl / { b[++nb] = unesc(substr($0, 5)); finish() }
' README.md man/*.[1-9] || exit 1
[ -s "$T/ex/list" ] || { echo 'Bail out! no examples found'; exit 1; }
plan $(($(wc -l <"$T/ex/list") + 1))

# a copy of the tree as a fresh clone has it, bin/ and lib/ built
copy() {	# DIR
	mkdir -p "$1/rq"
	# git's list only at the top of a work tree: make check-asan runs the
	# suite in build-asan/, a copy that the parent tree's git ignores
	if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
		git ls-files -co --exclude-standard
	else
		find . -path ./data -prune -o -path ./results -prune -o \
		    -path './build-*' -prune -o -path ./fuzz/out -prune -o \
		    -type f -print
	fi | while read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done |
	    tar -cf - -T - | tar -xf - -C "$1/rq"
	mkdir -p "$1/rq/bin" "$1/rq/lib"
	for f in bin/rq-* lib/*.o lib/*.a lib/commit-*.d; do
		case $f in *.c) continue ;; esac
		[ -f "$f" ] && cp -p "$f" "$1/rq/$f"
	done
	[ -d "$ROOT/../shared" ] && ln -s "$ROOT/../shared" "$1/shared"
	return 0
}
# the commit the binaries carry, so that make in a copy rebuilds nothing
RQ_COMMIT=$(ls lib/commit-*.d 2>/dev/null | sed -n '1s|^lib/commit-\(.*\)\.d$|\1|p')
[ -n "$RQ_COMMIT" ] && export RQ_COMMIT
has_numpy=no
python3 -c 'import numpy' >/dev/null 2>&1 && has_numpy=yes

page=
while read -r n file k; do
	b=$T/ex/$n
	desc="$file example $k: $(grep -m 1 . "$b" | cut -c 1-50)"
	if [ "$file" != "$page" ]; then	# a fresh directory per file
		page=$file
		dir=$T/run-$n
		mkdir "$dir"
		needs_tree=no
		while read -r m f2 k2; do
			[ "$f2" = "$file" ] &&
			    grep -qE 'make |scripts/|PWD/bin|data/' "$T/ex/$m" &&
			    needs_tree=yes
		done <"$T/ex/list"
		if [ "$file" = README.md ] || [ $needs_tree = yes ]; then
			copy "$dir" || exit 1
			dir=$dir/rq
		fi
		if [ "$file" = README.md ]; then
			path=$PLAIN_PATH
		else
			path=$dir/bin:$ROOT/bin:$PLAIN_PATH
		fi
	fi
	why=$(skipped "$file" "$k")
	if [ -z "$why" ] && grep -qE 'data/(fsdd|mnist|avmnist)|fetch-data|make data' "$b" &&
	    [ ! -d "$ROOT/../shared/data" ]; then
		why='needs the real data (../shared/data is absent)'
	fi
	if [ -z "$why" ] && grep -q python3 "$b" && [ $has_numpy = no ]; then
		why='needs python3 with numpy'
	fi
	if [ -n "$why" ]; then
		skip "$desc" "$why"
		continue
	fi
	(cd "$dir" && PATH=$path bash -e -o pipefail "$b") >"$T/.out" 2>&1
	s=$?
	tap_result $s "$desc"
	if [ $s -ne 0 ]; then
		diag "exit $s; the block:"
		diag "$(cat "$b")"
		diag "its output:"
		diag "$(tail -n 20 "$T/.out")"
	fi
done <"$T/ex/list"

# the README shows rq-synth's help as it is
awk '/^```text/ { on = 1; next } /^```/ { on = 0 } on' README.md |
    sed -n '/^\$ rq-synth --help$/,/^  --version/p' | sed 1d >"$T/readme-help"
bin/rq-synth --help >"$T/help"
ok "README's rq-synth --help is the program's" cmp "$T/readme-help" "$T/help"
