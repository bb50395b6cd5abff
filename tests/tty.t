#!/bin/sh
# tty.t: what the programs do on a terminal, run under a pseudo-terminal
# (script(1), else python3's pty module).  No binary stream is written to
# a terminal: every stream writer refuses, as gzip does, with one line
# naming -o FILE or a pipe, and exit 1.
. tests/tap.sh

# run "$@" on a pseudo-terminal (stdin, stdout and stderr), its output
# (CR LF line ends kept) in $T/tty.out; returns its exit status
if command -v script >/dev/null 2>&1 &&
    script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	onpty() {
		script -qec "$*" /dev/null </dev/null >"$T/tty.out" 2>&1
	}
elif command -v python3 >/dev/null 2>&1; then
	onpty() {
		python3 -c '
import os, pty, sys
out = open(sys.argv[1], "wb")
def rd(fd):
    b = os.read(fd, 4096)
    out.write(b)
    return b
st = pty.spawn(["sh", "-c", sys.argv[2]], rd)
sys.exit(os.waitstatus_to_exitcode(st))' "$T/tty.out" "$*" </dev/null
	}
else
	skip_all 'neither script(1) nor python3 to make a pseudo-terminal'
fi
plan 16

rq-synth -n 64 -s 1 --split train -o "$T/tr.rqt"
rq-synth -n 32 -s 1 --split val -o "$T/va.rqt"
rq-synth -n 32 -s 1 --split test -o "$T/te.rqt"
onpty tty
like 'the pseudo-terminal is one' "$(cat "$T/tty.out")" /dev/

# --- no binary stream to a terminal --------------------------------------
MSG='stdout is a terminal: not writing a binary stream there; use -o FILE or a pipe'
rq-train -e 1 -b 16 -d 16 --heads 2 --depth 1 -o "$T/m.ck" "$T/tr.rqt" \
    "$T/va.rqt" 2>/dev/null
rq-eval -o "$T/ev.rqt" "$T/m.ck" "$T/va.rqt" 2>/dev/null
rq-rotate -o "$T/rot.rqt" "$T/ev.rqt"
head -c 8 /dev/zero | mknpy "$T/a.npy" '<f4' '(2,)'
for c in 'rq-synth -n 2' "rq-cat $T/va.rqt" \
    "rq-noise --modality audio --std 1 $T/va.rqt" \
    "rq-split --range 0:2 $T/va.rqt" "rq-npy $T/a.npy" \
    "rq-extract testdata/tone.wav" "rq-eval $T/m.ck $T/va.rqt" \
    "rq-rotate $T/ev.rqt" "rq-rotate --apply $T/rot.rqt $T/ev.rqt" \
    "rq-air -o - $T/ev.rqt" "rq-avmnist --split test $T $T"; do
	onpty "$c"
	st=$?
	is "${c%% *} on a terminal: refuses, one line, exit 1" \
	    "$st:$(tr -d '\r' <"$T/tty.out")" "1:${c%% *}: $MSG"
done
onpty "rq-synth -n 2 -o $T/s.rqt"
is 'rq-synth -o FILE on a terminal: written' "$?:$(rq-info "$T/s.rqt" |
    wc -l | tr -d ' ')" 0:6
onpty "rq-synth -n 2 | rq-info | wc -l"
is 'rq-synth into a pipe on a terminal: written' \
    "$?:$(tr -d '\r ' <"$T/tty.out")" 0:6
onpty "rq-eval --summary $T/m.ck $T/va.rqt"
like 'rq-eval --summary (text) on a terminal: written' \
    "$?:$(cat "$T/tty.out")" '0:acc='
onpty "rq-air $T/ev.rqt"
like 'rq-air (text) on a terminal: written' "$?:$(cat "$T/tty.out")" \
    '0:group=0 '
