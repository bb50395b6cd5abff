#!/bin/sh
# cli.t: what every program's command line shares (rq(7), OPTIONS):
# -h/--help is the man page's SYNOPSIS plus one line per option, on
# stdout, exit 0; --version is "rq-NAME VERSION (COMMIT)"; getopt's
# errors name the program, not the path typed; the last release's
# spellings still work, with one warning line naming the new one.
. tests/tap.sh
PROGS='rq-info rq-cat rq-split rq-npy rq-tsv rq-avmnist rq-synth rq-noise
rq-pearson'
plan 75

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
