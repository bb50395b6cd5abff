#!/bin/sh
# cli.t: what every program's command line shares (rq(7), OPTIONS):
# -h/--help is the man page's SYNOPSIS plus one line per option, on
# stdout, exit 0; --version is "rq-NAME VERSION (COMMIT)"; getopt's
# errors name the program, not the path typed; the last release's
# spellings still work, with one warning line naming the new one.
. tests/tap.sh
PROGS='rq-info rq-cat rq-split rq-npy rq-tsv rq-avmnist rq-synth rq-noise
rq-pearson rq-train rq-eval rq-air rq-rotate rq-extract'
plan 147

# the man page's SYNOPSIS as one line, spaces around | squeezed
synopsis() {
	mandoc -T ascii "man/$1.1" | sed 's/.\x08//g' |
	    awk '/^SYNOPSIS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' |
	    tr -s ' \n' '  ' | sed 's/ *| */|/g; s/^ //; s/ $//'
}
# the usage lines of -h as one line, in the same form
usage_of() {
	awk '/^  -/ { exit } 1' | sed 's/^usage: //' |
	    tr -s ' \n' '  ' | sed 's/ *| */|/g; s/^ //; s/ $//'
}

for p in $PROGS; do
	"$p" --help >"$T/help" 2>"$T/err"
	is "$p --help exits 0, nothing on stderr" "$?:$(cat "$T/err")" "0:"
	is "$p --help: usage = the man page SYNOPSIS" \
	    "$(usage_of <"$T/help")" "$(synopsis "$p")"
	# every option of the SYNOPSIS has its line, and -h and --version too
	missing=
	for f in $(synopsis "$p" | grep -o -- '\(^\|[[ |]\)--*[a-zA-Z][-a-zA-Z]*' |
	    tr -d '[ |' | sort -u) -h --version; do
		grep -q -- "^  *\(-h, \)\?$f\([ ,]\|$\)" "$T/help" ||
		    missing="$missing $f"
	done
	is "$p --help: one line per option" "$missing" ""
	"$p" -h | cmp -s - "$T/help"
	is "$p -h is --help" "$?" 0
	like "$p --version" "$("$p" --version)" "$p "
	"./bin/$p" -Q >"$T/out" 2>"$T/err"
	is "$p -Q: usage error, nothing on stdout" "$?:$(cat "$T/out")" "2:"
	is "$p -Q: getopt names the program" "$(head -n 1 "$T/err")" \
	    "$p: invalid option -- 'Q'"
done
# the version line's form: name, version, commit in parentheses
v=$(rq-cat --version)
case $v in
'rq-cat '[0-9]*.[0-9]*' ('?*')') tap_result 0 "--version is 'rq-NAME VERSION (COMMIT)'" ;;
*) tap_result 1 "--version is 'rq-NAME VERSION (COMMIT)'"; diag "got: $v" ;;
esac

# missing operands are named
rq-avmnist --dir "$T/x" "$T" >/dev/null 2>"$T/err"
is 'rq-avmnist: missing mnist-dir named, exit 2' \
    "$?:$(head -n 1 "$T/err")" "2:rq-avmnist: missing operand: mnist-dir"
rq-npy >/dev/null 2>"$T/err"
is 'rq-npy: missing file.npy named, exit 2' \
    "$?:$(head -n 1 "$T/err")" "2:rq-npy: missing operand: file.npy"
rq-noise --modality audio "$T/none" >/dev/null 2>"$T/err"
is 'rq-noise: missing --std named, exit 2' \
    "$?:$(head -n 1 "$T/err")" "2:rq-noise: missing --std"

# old spellings: the same output, one warning line naming the new one
rq-synth -n 20 --split val --audio 1:2 >"$T/new.rqt"
rq-synth -n 20 -S val -a 1:2 >"$T/old.rqt" 2>"$T/err"
ok 'rq-synth -S -a: same bytes as --split --audio' cmp "$T/old.rqt" "$T/new.rqt"
is 'rq-synth -S -a: one warning line each' "$(cat "$T/err")" \
"rq-synth: -S is deprecated; use --split
rq-synth: -a is deprecated; use --audio"
rq-noise --modality audio --std 0.5 -s 3 "$T/new.rqt" >"$T/n-new.rqt"
rq-noise -m audio -s 0.5 -S 3 "$T/new.rqt" >"$T/n-old.rqt" 2>"$T/err"
ok 'rq-noise -m -s -S: same bytes as --modality --std -s' \
    cmp "$T/n-old.rqt" "$T/n-new.rqt"
like 'rq-noise old -s std: the warning names --std' "$(cat "$T/err")" \
    'rq-noise: -s std is deprecated; use --std std'
rq-noise --modality audio --std 0.5 -s 4 "$T/new.rqt" >"$T/n-4.rqt"
nok 'rq-noise -s is the seed beside --std' cmp -s "$T/n-4.rqt" "$T/n-new.rqt"
rq-cat -n label -m k=v "$T/new.rqt" >"$T/c-old.rqt" 2>"$T/err"
rq-cat --name label --meta k=v "$T/new.rqt" >"$T/c-new.rqt"
ok 'rq-cat -n -m: same bytes as --name --meta' cmp "$T/c-old.rqt" "$T/c-new.rqt"
is 'rq-cat -n -m: two warning lines' "$(wc -l <"$T/err" | tr -d ' ')" 2
is 'rq-split -r: same rows as --range' \
    "$(rq-split -r 2:5 "$T/new.rqt" 2>/dev/null | rq-info)" \
    "$(rq-split --range 2:5 "$T/new.rqt" | rq-info)"

# --- rq-train, rq-eval, rq-air, rq-rotate, rq-extract ----------------------
# missing operands are named
for c in 'rq-train:train' "rq-train $T/new.rqt:val" 'rq-eval:ckpt' \
    "rq-eval $T/new.rqt:data" 'rq-extract:file (or --manifest)' \
    'rq-extract -k idx:images'; do
	cmd=${c%%:*} what=${c#*:}
	$cmd >"$T/out" 2>"$T/err"
	is "$cmd: missing $what named, exit 2, nothing on stdout" \
	    "$?:$(head -n 1 "$T/err"):$(cat "$T/out")" \
	    "2:${cmd%% *}: missing operand: $what:"
done
rq-train --params-only -d 16 --audio 16x16 --visual 1x16x16 >/dev/null \
    2>"$T/err"
is 'rq-train --params-only: missing --classes named' \
    "$?:$(head -n 1 "$T/err")" "2:rq-train: --params-only: missing --classes"

# rq-train -m bogus lists the methods of the table: each one listed is a
# method rq-train takes, and the list holds the paper's
rq-train -m bogus "$T/new.rqt" "$T/new.rqt" >"$T/out" 2>"$T/err"
is 'rq-train -m bogus: exit 2, one line' "$?:$(wc -l <"$T/err" | tr -d ' ')" 2:1
like 'rq-train -m bogus: names it' "$(cat "$T/err")" \
    'rq-train: -m: unknown method: bogus (methods: '
listed=$(sed -n 's/.*(methods: \(.*\))$/\1/p' "$T/err")
bad=
for m in $listed; do
	rq-train --params-only -m "$m" -d 16 --audio 16x16 --visual 1x16x16 \
	    --classes 3 >/dev/null 2>&1 || bad="$bad $m"
done
is 'rq-train -m bogus: every method listed is taken' "$bad" ""
is 'rq-train -m bogus: the list holds audio concat mt mt-rq mtstar-rq' \
    "$(printf '%s\n' $listed | grep -cx 'audio\|concat\|mt\|mt-rq\|mtstar-rq')" 5
like 'rq-train --help lists the methods too' "$(rq-train --help)" \
    "$(printf ' %s' $listed)"

# rq-train: -h with a number is the last release's heads, with a warning;
# a bare -h is the help (above)
PO='--params-only -m mt -d 32 --audio 16x16 --visual 1x16x16 --classes 3'
rq-train $PO --heads 8 >"$T/h-new" 2>"$T/err"
is 'rq-train --heads 8: no warning' "$(cat "$T/err")" ""
like 'rq-train --heads 8: heads=8' "$(head -n 1 "$T/h-new")" ' heads=8 '
rq-train $PO -h 8 >"$T/h-old" 2>"$T/err"
ok 'rq-train -h 8: the same as --heads 8' cmp "$T/h-old" "$T/h-new"
is 'rq-train -h 8: one warning line' "$(cat "$T/err")" \
    'rq-train: -h is deprecated; use --heads'
rq-train $PO -h8 >"$T/h-old" 2>/dev/null
ok 'rq-train -h8: the same as --heads 8' cmp "$T/h-old" "$T/h-new"
rq-train $PO --depth 1 --mlp-ratio 2 --audio-patch 8x4 --visual-patch 4x8 \
    --channels 1 >"$T/p-new" 2>"$T/err"
rq-train $PO -n 1 -x 2 -a 8x4 -v 4x8 -c 1 >"$T/p-old" 2>"$T/err"
ok 'rq-train -n -x -a -v -c: the same as the long options' \
    cmp "$T/p-old" "$T/p-new"
is 'rq-train -n -x -a -v -c: five warning lines, each naming the new one' \
    "$(sed 's/.*use //' "$T/err" | tr '\n' ' ')" \
    '--depth --mlp-ratio --audio-patch --visual-patch --channels '
nok 'rq-train --depth 1: not the default' cmp -s "$T/p-new" "$T/h-new"

# rq-eval --summary, rq-air --per-sample, rq-rotate: the old spellings
rq-train -e 1 -b 16 -d 16 --heads 2 --depth 1 -o "$T/m.ck" "$T/new.rqt" \
    "$T/new.rqt" 2>/dev/null
rq-eval --summary "$T/m.ck" "$T/new.rqt" >"$T/e-new" 2>"$T/err"
like 'rq-eval --summary: acc= on stdout' "$(cat "$T/e-new")" 'acc='
rq-eval -s "$T/m.ck" "$T/new.rqt" >"$T/e-old" 2>"$T/err"
ok 'rq-eval -s: the same as --summary' cmp "$T/e-old" "$T/e-new"
is 'rq-eval -s: one warning line' "$(cat "$T/err")" \
    'rq-eval: -s is deprecated; use --summary'
rq-eval -o "$T/ev.rqt" "$T/m.ck" "$T/new.rqt" 2>/dev/null
rq-air --per-sample "$T/ev.rqt" >"$T/a-new" 2>"$T/err"
rq-air -p "$T/ev.rqt" >"$T/a-old" 2>"$T/err"
ok 'rq-air -p: the same as --per-sample' cmp "$T/a-old" "$T/a-new"
is 'rq-air -p: one warning line' "$(cat "$T/err")" \
    'rq-air: -p is deprecated; use --per-sample'
rq-rotate --svd --rho 1 --air 0.3 -o "$T/r-new.rqt" "$T/ev.rqt"
rq-rotate -S -r 1 -A 0.3 -o "$T/r-old.rqt" "$T/ev.rqt" 2>"$T/err"
ok 'rq-rotate -S -r -A: the same as --svd --rho --air' \
    cmp "$T/r-old.rqt" "$T/r-new.rqt"
is 'rq-rotate -S -r -A: three warning lines' \
    "$(sed 's/.*use //' "$T/err" | tr '\n' ' ')" '--svd --rho --air '
rq-rotate --rho 1 --air 0.3 -o "$T/r-plane.rqt" "$T/ev.rqt"
nok 'rq-rotate --svd is not the plane rotation' \
    cmp -s "$T/r-plane.rqt" "$T/r-new.rqt"
cat "$T/r-new.rqt" "$T/r-plane.rqt" | rq-rotate --compose >"$T/c-new.rqt"
cat "$T/r-new.rqt" "$T/r-plane.rqt" | rq-rotate -c >"$T/c-old.rqt" \
    2>/dev/null
ok 'rq-rotate -c: the same as --compose' cmp "$T/c-old.rqt" "$T/c-new.rqt"
rq-cat --name fusion.q "$T/ev.rqt" >"$T/q.rqt"
rq-rotate --apply "$T/r-new.rqt" "$T/q.rqt" >"$T/q-new.rqt"
rq-rotate -a "$T/r-new.rqt" "$T/q.rqt" >"$T/q-old.rqt" 2>/dev/null
ok 'rq-rotate -a: the same as --apply' cmp "$T/q-old.rqt" "$T/q-new.rqt"
nok 'rq-rotate --apply: the query moved' cmp -s "$T/q.rqt" "$T/q-new.rqt"

# rq-extract: the renamed long options, -s as the seed of --draw, and the
# old -s size, -R seed, -m, -S, -N still read the old way
for t in 1 2 3 4 5 6 7 8; do cp testdata/frame.jpg "$T/f$t.jpg"; done
printf '%s;%s;%s;%s;%s;%s;%s;%s,0,train\n' "$T/f1.jpg" "$T/f2.jpg" \
    "$T/f3.jpg" "$T/f4.jpg" "$T/f5.jpg" "$T/f6.jpg" "$T/f7.jpg" \
    "$T/f8.jpg" >"$T/clip.csv"
rq-extract -k image --size 8 -P 2 --draw -s 3 --manifest "$T/clip.csv" \
    --split train >"$T/x-new.rqt" 2>"$T/err"
is 'rq-extract --size --draw -s --manifest --split: no warning' \
    "$(cat "$T/err")" ""
like 'rq-extract --draw -s 3: the seed in the metadata' \
    "$(rq-info "$T/x-new.rqt" | head -n 1)" 'pick=2 train seed=3'
rq-extract -k image -s 8 -P 2 -R 3 -m "$T/clip.csv" -S train \
    >"$T/x-old.rqt" 2>"$T/err"
ok 'rq-extract -s -R -m -S: the same bytes' cmp "$T/x-old.rqt" "$T/x-new.rqt"
is 'rq-extract -s -R -m -S: a warning line each' \
    "$(sed 's/^rq-extract: \(-[a-zA-Z]\).*/\1/' "$T/err" | tr '\n' ' ')" \
    '-R -m -S -s '
rq-extract -k image --size 8 testdata/frame.jpg >"$T/s-new.rqt"
rq-extract -k image -s 8 testdata/frame.jpg >"$T/s-old.rqt" 2>/dev/null
ok 'rq-extract -s 8 without --draw: the old size' \
    cmp "$T/s-old.rqt" "$T/s-new.rqt"
rq-extract -k image -s 8 --draw -P 1 testdata/frame.jpg >/dev/null 2>&1
is 'rq-extract -s with --draw: the seed (size 224)' \
    "$(rq-extract -k image -s 8 --draw -P 1 testdata/frame.jpg 2>&1 |
    rq-info | head -n 1 | cut -f4)" '[1,3,224,224]'
