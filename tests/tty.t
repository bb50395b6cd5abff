#!/bin/sh
# tty.t: what the programs do on a terminal, run under a pseudo-terminal
# (script(1), else python3's pty module).  No binary stream is written to
# a terminal: every stream writer refuses, as gzip does, with one line
# naming -o FILE or a pipe, and exit 1.  rq-train draws its progress bar
# there (samples/s, ETA, and the AIR, validation and test passes named)
# and a short line per epoch within 80 columns, while the log file keeps
# the full records.
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
plan 35

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

# --- rq-train's progress on a terminal ------------------------------------
TR="-m mt-rq -e 2 -b 16 -d 16 --heads 2 --depth 1 -l 0.05"
onpty "rq-train $TR -L $T/log $T/tr.rqt $T/va.rqt $T/te.rqt"
is 'rq-train on a terminal, -L: exit 0' "$?" 0
tr '\r' '\n' <"$T/tty.out" >"$T/lines"
like 'the bar: samples/s and ETA' "$(cat "$T/lines")" ' samples/s ETA '
for ph in train air val test; do
	is "the bar names the $ph pass, at each epoch" \
	    "$(grep -c "^2/2 $ph *\[" "$T/lines" | tr -d ' ' | sed 's/^[1-9][0-9]*$/yes/')" yes
done
like 'the bar: training loss' "$(grep '^1/2 train' "$T/lines" | tail -n 1)" \
    ' loss '
is 'every terminal line fits 80 columns' \
    "$(awk 'length > 80' "$T/lines" | wc -l | tr -d ' ')" 0
is 'one short line per epoch on the terminal' \
    "$(grep -c '^epoch [12]/2 loss [0-9.]* acc [0-9.]* val [0-9.]* test [0-9.]* air ' "$T/lines")" 2
is 'no log records on the terminal with -L' \
    "$(grep -c '^epoch=' "$T/lines")" 0
is 'the log file keeps the full records' \
    "$(grep '^epoch=' "$T/log" | awk 'length > 80' | grep -c ' test_acc_v=.* seconds=')" 2
like 'the header names the log' "$(grep '^rq-train: ' "$T/lines")" \
    "; log: /"
like 'the last line: the best epoch' "$(grep . "$T/lines" | tail -n 1)" \
    'best epoch '
onpty "rq-train $TR $T/tr.rqt $T/va.rqt"
is 'rq-train on a terminal without -L: exit 0' "$?" 0
tr '\r' '\n' <"$T/tty.out" >"$T/lines"
is '... short lines, no records' \
    "$(grep -c '^epoch [12]/2 ' "$T/lines"):$(grep -c 'epoch=' "$T/lines")" 2:0
is '... every line fits 80 columns' \
    "$(awk 'length > 80' "$T/lines" | wc -l | tr -d ' ')" 0
like '... the header says how to keep the log' \
    "$(grep '^rq-train: ' "$T/lines")" '; full log: -L file'
is '... no test pass without test data' "$(grep -c ' test *\[' "$T/lines")" 0
rq-train $TR -o "$T/p.ck" "$T/tr.rqt" "$T/va.rqt" 2>"$T/err"
is 'not a terminal: no bar, the records on stderr' \
    "$(grep -c "$(printf '\r')" "$T/err"):$(grep -c '^epoch=' "$T/err")" 0:2
