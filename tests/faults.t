#!/bin/sh
# faults.t: the faults of issue 9 -- full disk, broken pipe, missing and
# unreadable files, wrong dtype, mismatched sample counts.  Each must end
# with exit 1, one line on stderr naming the file (and record), nothing on
# stdout, and no damage to a previous output.
. tests/tap.sh
plan 47

rq-synth -n 4 -s 1 -o "$T/old.rqt" || exit 1
rq-synth -n 400 -s 2 -o "$T/big.rqt" || exit 1
cp "$T/old.rqt" "$T/old.orig"

# --- full disk -----------------------------------------------------------
# stdout on /dev/full: the write error is reported, once, exit 1
rq-synth -n 4 >/dev/full 2>"$T/full.err"
is 'rq-synth >/dev/full: exit 1' $? 1
is 'rq-synth >/dev/full: one line' "$(wc -l <"$T/full.err" | tr -d ' ')" 1
like 'rq-synth >/dev/full: names stdout and ENOSPC' "$(cat "$T/full.err")" \
    '<stdout>: record'
rq-cat "$T/big.rqt" >/dev/full 2>"$T/full.err"
is 'rq-cat >/dev/full: exit 1' $? 1
like 'rq-cat >/dev/full: No space left' "$(cat "$T/full.err")" \
    'No space left on device'

# -o onto a 64 KiB tmpfs already holding a previous output: the old file
# stays byte for byte, no temporary is left, the error names the file.
# A private mount namespace (unshare -rm) needs no privilege; where that
# is refused, RLIMIT_FSIZE with SIGXFSZ ignored gives EFBIG instead.
fullfs() {	# NAME PROG ARG...: PROG -o fs/out.rqt ARG... on a full fs
	n=$1
	shift
	mkdir -p "$T/$n/fs"
	cat >"$T/$n/run.sh" <<-EOS
	cd "$T/$n" || exit 9
	mode=\$1
	shift
	if [ "\$mode" = tmpfs ]; then
		mount -t tmpfs -o size=64k tmpfs fs || exit 9
	else
		trap '' XFSZ
		ulimit -f 128
	fi
	cp "$T/old.rqt" fs/out.rqt || exit 9
	prog=\$1
	shift
	"\$prog" -o fs/out.rqt "\$@" >out 2>err
	echo \$? >status
	cmp -s fs/out.rqt "$T/old.orig" && echo same >cmp
	ls -A fs >ls
	EOS
	if unshare -rm sh "$T/$n/run.sh" tmpfs true 2>/dev/null; then
		unshare -rm sh "$T/$n/run.sh" tmpfs "$@"
	else
		diag "no mount namespace; simulating a full disk with ulimit -f"
		sh "$T/$n/run.sh" ulimit "$@"
	fi
	is "$n: exit 1" "$(cat "$T/$n/status")" 1
	is "$n: one line naming the file" \
	    "$(wc -l <"$T/$n/err" | tr -d ' '):$(grep -c 'fs/out.rqt' "$T/$n/err")" 1:1
	is "$n: previous output intact" "$(cat "$T/$n/cmp" 2>/dev/null)" same
	is "$n: no temporary left" "$(cat "$T/$n/ls")" out.rqt
	[ -s "$T/$n/out" ] && diag "$n: stdout not empty"
}
fullfs 'rq-synth -o on a full disk' rq-synth -n 200
fullfs 'rq-cat -o on a full disk' rq-cat "$T/big.rqt"

# --- broken pipe ---------------------------------------------------------
# a filter whose reader went away dies of SIGPIPE (128 + 13), silently
{ rq-cat "$T/big.rqt" 2>"$T/pipe.err"; echo $? >"$T/pipe.st"; } |
    head -c 10 >/dev/null
is 'rq-cat | head -c 10: status 141 (SIGPIPE)' "$(cat "$T/pipe.st")" 141
is 'rq-cat | head -c 10: no message' "$(cat "$T/pipe.err")" ''
{ rq-synth -n 400 2>"$T/pipe.err"; echo $? >"$T/pipe.st"; } |
    head -c 10 >/dev/null
is 'rq-synth | head -c 10: status 141, no message' \
    "$(cat "$T/pipe.st"):$(cat "$T/pipe.err")" 141:

# the same with SIGPIPE ignored (a parent that ignores it, as some language
# runtimes do): the write fails with EPIPE and output was lost, so it is an
# error naming the program, never exit 0
rq-synth -n 3000 -s 2 -o "$T/huge.rqt" || exit 1
for c in 'rq-tsv --name audio' 'rq-tsv' 'rq-info -v'; do
	( trap '' PIPE
	  { $c "$T/huge.rqt" 2>"$T/epipe.err"; echo $? >"$T/epipe.st"; } |
	      head -c 1 >/dev/null )
	[ "$c" = 'rq-info -v' ] && break	# its 6 lines fit in a pipe: none lost
	is "$c | head, SIGPIPE ignored: exit 1, one line naming stdout" \
	    "$(cat "$T/epipe.st"):$(wc -l <"$T/epipe.err" | tr -d ' '):$(grep -c "^${c%% *}: stdout: Broken pipe" "$T/epipe.err")" 1:1:1
done
is 'rq-info -v | head, SIGPIPE ignored, nothing lost: exit 0' \
    "$(cat "$T/epipe.st")" 0
for c in 'rq-info' 'rq-info -v' 'rq-tsv' 'rq-tsv --name label'; do
	$c "$T/old.rqt" >/dev/full 2>"$T/full.err"
	is "$c >/dev/full: exit 1, one line" \
	    "$?:$(wc -l <"$T/full.err" | tr -d ' '):$(grep -c 'stdout: No space left' "$T/full.err")" 1:1:1
done

# --- temporaries of a killed writer ------------------------------------------
# rq-cat -o writes into .out.rqt.rqtmp-HOST-PID-XXXXXX; killed (SIGKILL, as
# during an fsync) it leaves it.  The next writer of the same target removes
# it, but not a live writer's temporary, nor other files of similar names.
mkdir "$T/kill"
mkfifo "$T/f1" "$T/f2"
exec 3<>"$T/f1" 4<>"$T/f2"
rq-cat -o "$T/kill/out.rqt" <"$T/f1" 3>&- 4>&- &
dead=$!
rq-cat -o "$T/kill/out.rqt" <"$T/f2" 3>&- 4>&- &
live=$!
rq-cat "$T/old.rqt" >&3
rq-cat "$T/old.rqt" >&4
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	[ "$(ls -A "$T/kill" | grep -c rqtmp-)" = 2 ] && break
	sleep 0.2
done
kill -9 $dead
wait $dead 2>/dev/null
exec 3>&-
touch "$T/kill/.out.rqt.backup" "$T/kill/.out.rqt.rqtmp-note" \
    "$T/kill/.other.rqt.rqtmp-00000000-1-abcdef"
is 'a killed and a live writer: two temporaries' \
    "$(ls -A "$T/kill" | grep -c "^\.out\.rqt\.rqtmp-[0-9a-f]\{8\}-[0-9]*-......\$")" 2
rq-cat -o "$T/kill/out.rqt" "$T/old.rqt"
is 'the next writer removed the dead one, kept the live one' \
    "$(ls -A "$T/kill" | grep -c -- "-$dead-"):$(ls -A "$T/kill" | grep -c -- "-$live-")" 0:1
exec 4>&-	# end of the live writer's input: it commits
wait $live
is 'the live writer then finished: its output, no temporary of it' \
    "$(cmp "$T/kill/out.rqt" "$T/old.rqt" && echo same):$(ls -A "$T/kill" | grep -c -- "-$live-")" same:0
is 'files of other names untouched' \
    "$(ls -A "$T/kill" | grep -c -e '^\.out\.rqt\.backup$' -e 'rqtmp-note$' -e '^\.other')" 3

# --- missing and unreadable files ------------------------------------------
fails_cleanly 'missing file: named' "$T/missing.rqt" rq-cat "$T/missing.rqt"
fails_cleanly 'missing second operand: named' "$T/missing.rqt" \
    rq-info "$T/missing.rqt"
mkdir "$T/dir.rqt"
fails_cleanly 'a directory: file and record named' 'dir.rqt: record 0' \
    rq-cat "$T/dir.rqt"
cp "$T/old.rqt" "$T/secret.rqt"
chmod 000 "$T/secret.rqt"
if cat "$T/secret.rqt" >/dev/null 2>&1; then
	skip 'unreadable file: named' 'running as root: mode 000 is readable'
else
	fails_cleanly 'unreadable file: named' 'secret.rqt' rq-cat "$T/secret.rqt"
fi
printf 'not a stream at all\n' >"$T/text.rqt"
fails_cleanly 'not a stream: bad magic, record 0' 'text.rqt: record 0: bad magic' \
    rq-cat "$T/text.rqt"

# --- wrong dtype, mismatched sample counts ---------------------------------
head -c 24 /dev/zero | mknpy "$T/a64.npy" '<f8' '(1,1,3)'
rq-npy --rename audio "$T/a64.npy" >"$T/a64.rqt"
fails_cleanly 'f64 audio for rq-noise: record and dtype named' \
    'record 0: '"'"'audio'"'"': dtype f64' \
    rq-noise --modality audio --std 1 "$T/a64.rqt"
rq-synth -n 3 -s 3 -o "$T/three.rqt"
{ rq-cat --name audio "$T/old.rqt"; rq-cat --name visual --name label "$T/three.rqt"; } \
    >"$T/mismatch.rqt"
# -f holds each chunk until its audio, visual and label counts agree
fails_cleanly 'rq-noise -f, audio 4 vs visual 3 samples: counts named' \
    'sample counts differ' rq-noise -f 0.5 --std 1 "$T/mismatch.rqt"

# --- rq-train and rq-eval input: counts, label range ------------------------
# (each message names the data file and the record: lib/dataset.c)
rq-train -e 1 -d 16 --depth 1 --heads 2 -o "$T/m.ckpt" "$T/three.rqt" "$T/three.rqt" \
    >/dev/null 2>&1 || diag 'rq-train on good data failed'
fails_cleanly 'rq-train, audio 4 vs visual 3 samples: file, record, counts' \
    'mismatch.rqt: record 2: sample counts differ: audio 4, visual 3, label 3' \
    -f "$T/m2.ckpt" rq-train -e 1 -o "$T/m2.ckpt" "$T/mismatch.rqt" "$T/three.rqt"
fails_cleanly 'rq-eval, audio 4 vs visual 3 samples: file, record, counts' \
    'mismatch.rqt: record 2: sample counts differ' \
    rq-eval "$T/m.ckpt" "$T/mismatch.rqt"
# label 12 in a data set of classes=10 (labels 1, 12, 3 in record 3)
printf '\001\000\000\000\014\000\000\000\003\000\000\000' |
    mknpy "$T/lab.npy" '<i4' '(3,)'
{ rq-cat --name audio --name visual "$T/three.rqt"; rq-npy --rename note "$T/lab.npy"
  rq-npy --rename label --meta classes=10 "$T/lab.npy"; } >"$T/badlab.rqt"
fails_cleanly 'rq-train, label 12 of classes=10: file, record, label' \
    'badlab.rqt: record 3: label 12 out of range (classes=10)' \
    -f "$T/m3.ckpt" rq-train -e 1 -o "$T/m3.ckpt" "$T/badlab.rqt" "$T/three.rqt"
fails_cleanly 'rq-eval, label 12 of classes=10: file, record, label' \
    'badlab.rqt: record 3: label 12 out of range' \
    rq-eval "$T/m.ckpt" "$T/badlab.rqt"
printf '\001\000\000\000\377\377\377\377\003\000\000\000' |
    mknpy "$T/neg.npy" '<i4' '(3,)'
{ rq-cat --name audio --name visual "$T/three.rqt"; rq-npy --rename label "$T/neg.npy"; } \
    >"$T/neglab.rqt"
fails_cleanly 'rq-eval, label -1: file, record, label' \
    'neglab.rqt: record 2: negative label -1' \
    rq-eval "$T/m.ckpt" "$T/neglab.rqt"

# --- data sets: labels that overflow, NaN -------------------------------------
# label 2147483647: label + 1 wrapped and passed the range check
printf '\001\000\000\000\377\377\377\177\003\000\000\000' |
    mknpy "$T/max.npy" '<i4' '(3,)'
{ rq-cat --name audio --name visual "$T/three.rqt"; rq-npy --rename label --meta classes=10 "$T/max.npy"; } \
    >"$T/maxlab.rqt"
fails_cleanly 'rq-eval, label 2147483647: file, record, label, sample' \
    'maxlab.rqt: record 2: label 2147483647 out of range (classes=10) (sample 1)' \
    rq-eval "$T/m.ckpt" "$T/maxlab.rqt"
fails_cleanly 'rq-train, label 2147483647: file, record, label, sample' \
    'maxlab.rqt: record 2: label 2147483647 out of range' \
    -f "$T/m4.ckpt" rq-train -e 1 -o "$T/m4.ckpt" "$T/maxlab.rqt" "$T/three.rqt"
# a NaN in audio: refused with the sample, not trained on
rq-npy --export --dir "$T/xn" --name audio "$T/three.rqt"
f=$(ls "$T"/xn/*audio*.npy)
python3 - "$f" <<-'EOS'
	import sys
	p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
	b[-8:-4] = b'\x00\x00\xc0\x7f'	# last sample's second-last value: NaN
	open(p, 'wb').write(b)
	EOS
{ rq-npy --rename audio "$f"; rq-cat --name visual --name label "$T/three.rqt"; } >"$T/nan.rqt"
fails_cleanly 'rq-train, NaN in audio: file, record, sample' \
    'nan.rqt: record 0: audio: sample 2: non-finite value nan' \
    -f "$T/m5.ckpt" rq-train -e 1 -o "$T/m5.ckpt" "$T/nan.rqt" "$T/three.rqt"

# --- symbolic links ----------------------------------------------------------
# -o onto a symlink writes the file it names (atomically) and keeps the
# link; a relative link into another directory, a chain of two links and
# a dangling link (its file is created) all behave as open(2) would
mkdir -p "$T/far"
echo old >"$T/far/out.rqt"
ln -s far/out.rqt "$T/l1"
ln -s l1 "$T/l2"
rq-cat -o "$T/l2" "$T/three.rqt"
ok "-o through two symlinks: the links are still links" \
    test -L "$T/l2" -a -L "$T/l1"
ok "-o through two symlinks: the named file has the output" \
    cmp "$T/far/out.rqt" "$T/three.rqt"
ln -s far/new.rqt "$T/dangling"
rq-cat -o "$T/dangling" "$T/three.rqt"
ok "-o onto a dangling symlink: the link stays, its file is created" \
    sh -c "test -L '$T/dangling' && cmp '$T/far/new.rqt' '$T/three.rqt'"
nok "-o through symlinks: no temporary left" \
    sh -c "ls -a '$T' '$T/far' | grep -q '\.rqtmp-'"

# --- labels beyond the model ---------------------------------------------------
# m.ckpt has 10 classes (rq-synth); data with no classes= anywhere (the
# records re-imported from .npy without their .meta) whose sample 1 has
# label 12: the message names the sample and the label
printf '\001\000\000\000\014\000\000\000\003\000\000\000' |
    mknpy "$T/lab12.npy" '<i4' '(3,)'
rq-npy --export --dir "$T/x12" --name audio --name visual "$T/three.rqt"
rm "$T"/x12/*.meta
{ rq-npy --rename audio "$T"/x12/*audio*.npy; rq-npy --rename visual "$T"/x12/*visual*.npy
  rq-npy --rename label "$T/lab12.npy"; } >"$T/lab12.rqt"
fails_cleanly 'rq-eval, label 12 beyond a 10-class model: sample, label' \
    'lab12.rqt: sample 1: label 12, but the model has 10 classes' \
    rq-eval "$T/m.ckpt" "$T/lab12.rqt"
