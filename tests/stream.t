#!/bin/sh
# stream.t: rq-info, rq-cat and rq-split on good and damaged streams.
. tests/tap.sh
plan 50

# fixtures: u8 a[2,3] = 0..5, i32 label[2] = 7, 9 (with metadata), f64 s[]
printf '\000\001\002\003\004\005' | mknpy "$T/a.npy" '|u1' '(2, 3)'
printf '\007\000\000\000\011\000\000\000' | mknpy "$T/label.npy" '<i4' '(2,)'
printf '\000\000\000\000\000\000\370\077' | mknpy "$T/s.npy" '<f8' '()'
rq-npy "$T/a.npy" >"$T/a.rqt"
rq-npy --meta classes=10 --meta split=train "$T/label.npy" >"$T/label.rqt"
rq-npy "$T/s.npy" >"$T/s.rqt"
cat "$T/a.rqt" "$T/label.rqt" "$T/s.rqt" >"$T/x.rqt"
A=$(wc -c <"$T/a.rqt")
X=$(wc -c <"$T/x.rqt")

# rq-info
ok 'rq-info reads a good stream' rq-info "$T/x.rqt"
is 'rq-info: one line per record' "$(rq-info "$T/x.rqt" | cut -f1-4 | tr '\t' ' ' | tr '\n' '|')" \
    '0 a u8 [2,3]|1 label i32 [2]|2 s f64 []|'
is 'rq-info: metadata' "$(rq-info "$T/x.rqt" | sed -n 2p | cut -f5)" 'classes=10 split=train'
is 'rq-info -v: statistics' "$(rq-info -v "$T/a.rqt" | cut -f6)" 'min=0 max=5 mean=2.5 std=1.70783'
is 'rq-info -v: f64 scalar 1.5' "$(rq-info -v "$T/s.rqt" | cut -f6)" 'min=1.5 max=1.5 mean=1.5 std=0'
is 'rq-info reads stdin' "$(rq-info <"$T/x.rqt" | wc -l | tr -d ' ')" 3

head -c $((A + 10)) "$T/x.rqt" >"$T/cut-hdr.rqt"
fails_cleanly 'truncated header: file, record 1' 'cut-hdr.rqt: record 1: truncated' \
    rq-info "$T/cut-hdr.rqt"
head -c $((A + 60)) "$T/x.rqt" >"$T/cut-data.rqt"
fails_cleanly 'truncated data: file, record 1' 'cut-data.rqt: record 1: truncated' \
    rq-info "$T/cut-data.rqt"
head -c $((X - 1)) "$T/x.rqt" >"$T/cut-end.rqt"
fails_cleanly 'last byte missing: record 2' 'record 2: truncated' rq-info "$T/cut-end.rqt"
fails_cleanly 'truncated stream on a pipe' '<stdin>: record 1: truncated' \
    sh -c "head -c $((A + 60)) '$T/x.rqt' | rq-info"

flip() {	# FILE OFFSET: xor the byte at OFFSET with 0x10
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 16)))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
cp "$T/x.rqt" "$T/flip-data.rqt"
flip "$T/flip-data.rqt" $((A + 58))
fails_cleanly 'bit flip in data: checksum, record 1' 'flip-data.rqt: record 1: data checksum mismatch' \
    rq-info "$T/flip-data.rqt"
cp "$T/x.rqt" "$T/flip-hdr.rqt"
flip "$T/flip-hdr.rqt" $((A + 20))
fails_cleanly 'bit flip in a dim: header checksum' 'record 1: header checksum mismatch' \
    rq-info "$T/flip-hdr.rqt"
cp "$T/x.rqt" "$T/flip-magic.rqt"
flip "$T/flip-magic.rqt" 1
fails_cleanly 'bit flip in the magic shows the bytes' 'record 0: bad magic 89 42 51 54' \
    rq-info "$T/flip-magic.rqt"
echo 'hello world, not a stream' >"$T/text"
fails_cleanly 'text file: bad magic' 'bad magic 68 65 6c 6c' rq-info "$T/text"
fails_cleanly 'rq-info: missing file' 'nosuch.rqt: No such file' rq-info "$T/nosuch.rqt"
fails_cleanly 'rq-info: second file bad, nothing printed' 'flip-data.rqt: record 1' \
    rq-info "$T/x.rqt" "$T/flip-data.rqt"

# rq-cat
rq-cat "$T/a.rqt" "$T/label.rqt" "$T/s.rqt" >"$T/cat.rqt"
ok 'rq-cat concatenates byte for byte' cmp "$T/cat.rqt" "$T/x.rqt"
ok 'rq-cat reads stdin' sh -c "rq-cat <'$T/x.rqt' | cmp - '$T/x.rqt'"
ok 'rq-cat - reads stdin among files' sh -c "rq-cat '$T/a.rqt' - '$T/s.rqt' <'$T/label.rqt' | cmp - '$T/x.rqt'"
names() { rq-info | cut -f2 | tr '\n' ' '; }
is 'rq-cat -n glob' "$(rq-cat --name 'l*' --name s "$T/x.rqt" | names)" 'label s '
is 'rq-cat -x glob' "$(rq-cat --exclude 'l*' "$T/x.rqt" | names)" 'a s '
is 'rq-cat -i list over two files' "$(rq-cat -i 0,2-3,5- "$T/x.rqt" "$T/x.rqt" | names)" 'a s a s '
is 'rq-cat -n and -i together' "$(rq-cat -i 1- --name a "$T/x.rqt" "$T/x.rqt" | names)" 'a '
ok 'rq-cat -n a equals the a record' sh -c "rq-cat --name a '$T/x.rqt' | cmp - '$T/a.rqt'"
is 'rq-cat -m sets, -d deletes' \
    "$(rq-cat --name label --unset split --meta classes=4 --meta norm.mean=0.5 "$T/x.rqt" | rq-info | cut -f5)" \
    'classes=4 norm.mean=0.5'
is 'rq-cat -N renames one record' "$(rq-cat --name label --rename y "$T/x.rqt" | names)" 'y '
fails_cleanly 'rq-cat -N with two records' 'needs exactly one selected record' \
    -f "$T/two.rqt" rq-cat --rename y -o "$T/two.rqt" "$T/x.rqt"
fails_cleanly 'rq-cat: bad -m key' 'bad key or value' \
    rq-cat --meta 'bad key=1' "$T/a.rqt"
fails_cleanly 'rq-cat: missing file' 'nosuch.rqt: No such file' rq-cat "$T/nosuch.rqt"
fails_cleanly 'rq-cat: bad first record, stdout empty' 'flip-magic.rqt: record 0: bad magic' \
    rq-cat "$T/flip-magic.rqt" "$T/x.rqt"
rq-cat "$T/x.rqt" "$T/x.rqt" >"$T/keep.rqt"
cp "$T/keep.rqt" "$T/keep.orig"
mkdir "$T/o"
cp "$T/keep.rqt" "$T/o/out.rqt"
fails_cleanly 'rq-cat -o: failure keeps the old file' 'flip-data.rqt: record 1' \
    rq-cat -o "$T/o/out.rqt" "$T/x.rqt" "$T/flip-data.rqt"
ok '  ... intact' cmp "$T/o/out.rqt" "$T/keep.orig"
is '  ... and no temporary file left' "$(ls -A "$T/o")" 'out.rqt'
ok 'rq-cat -o writes the file' rq-cat -o "$T/o/out.rqt" "$T/x.rqt"
ok '  ... equal to the input' cmp "$T/o/out.rqt" "$T/x.rqt"
if [ -w /dev/full ]; then
	fails_cleanly 'rq-cat >/dev/full' 'stdout: No space left' sh -c "rq-cat '$T/x.rqt' >/dev/full"
else
	skip 'rq-cat >/dev/full' 'no /dev/full'
fi
# -o on a FIFO (as on a device) writes in place: never renames over it
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/fifo.out" &
ok 'rq-cat -o FIFO' rq-cat -o "$T/fifo" "$T/x.rqt"
[ -p "$T/fifo" ] || kill $! 2>/dev/null	# replaced: the reader would hang
wait
ok '  ... the reader got the stream' cmp "$T/fifo.out" "$T/x.rqt"
ok '  ... the FIFO is still a FIFO' test -p "$T/fifo"

# rq-split
(cd "$T" && rq-split -n 2 -p part- x.rqt x.rqt)
is 'rq-split -n 2: three files' "$(cd "$T" && ls part-*)" "$(printf 'part-0000.rqt\npart-0001.rqt\npart-0002.rqt')"
ok '  ... concatenated they give the input' sh -c "cat '$T'/part-* | cmp - '$T/keep.orig'"
(cd "$T" && rq-split -g a -p grp- x.rqt x.rqt)
is 'rq-split -g a: one file per group' "$(rq-info "$T"/grp-* | cut -f1-2 | tr '\t\n' ' |')" \
    "$T/grp-0000.rqt:0 a|$T/grp-0000.rqt:1 label|$T/grp-0000.rqt:2 s|$T/grp-0001.rqt:0 a|$T/grp-0001.rqt:1 label|$T/grp-0001.rqt:2 s|"
# rows 0..5 of "a" in two chunks of 3: rows 2..4 are 2 | 3, 4
printf '\000\001\002' | mknpy "$T/c1.npy" '|u1' '(3,)'
printf '\003\004\005' | mknpy "$T/c2.npy" '|u1' '(3,)'
rq-npy --rename a --rename a "$T/c1.npy" "$T/c2.npy" >"$T/chunks.rqt"
is 'rq-split -r slices across chunks' \
    "$(rq-split --range 2:5 "$T/chunks.rqt" | rq-info -v | cut -f4,6 | tr '\t\n' ' |')" \
    '[1] min=2 max=2 mean=2 std=0|[2] min=3 max=4 mean=3.5 std=0.5|'
is 'rq-split -r :1 keeps the first row, scalars pass' \
    "$(rq-split --range :1 "$T/x.rqt" | rq-info | cut -f2,4 | tr '\t\n' ' |')" 'a [1,3]|label [1]|s []|'
fails_cleanly 'rq-split: truncated input' 'record 1: truncated' \
    sh -c "cd '$T' && rq-split -n 1 -p bad- cut-data.rqt"
nok 'rq-split without -n, -g or -r is a usage error' rq-split "$T/x.rqt"

# rq-split --range on a data set whose modalities have different sample counts:
# slicing would pair rows of different samples, so it is an error naming
# the file and record, with nothing written (issue 9)
rq-synth -n 6 -s 1 -o "$T/ds6.rqt"
rq-synth -n 5 -s 2 -o "$T/ds5.rqt"
{ rq-cat --name audio "$T/ds6.rqt"; rq-cat --name visual --name label "$T/ds5.rqt"; } \
    >"$T/mm.rqt"
fails_cleanly 'rq-split -r: audio 6 vs visual 5 samples: file, record named' \
    'mm.rqt: record 2: sample counts differ: audio 6, visual 5, label 5' \
    rq-split --range :2 "$T/mm.rqt"
# chunk 2 has 3 audio rows but 2 visual ones: found when chunk 3 begins
rq-split --range 0:3 "$T/ds6.rqt" >"$T/ck1.rqt"
{ rq-split --range 3:6 "$T/ds6.rqt" | rq-cat --name audio --name label
  rq-split --range 3:5 "$T/ds6.rqt" | rq-cat --name visual; } >"$T/ck2.rqt"
cat "$T/ck1.rqt" "$T/ck2.rqt" "$T/ds6.rqt" >"$T/ckmm.rqt"
fails_cleanly 'rq-split -r: a chunk with short visual: record of the next chunk named' \
    "ckmm.rqt: record 9: 'audio' starts a new chunk but the sample counts differ" \
    -f "$T/ckp-0000.rqt" sh -c "cd '$T' && rq-split --range 1: -n 100 -p ckp- ckmm.rqt"
# a well-formed data set in two chunks is still sliced as if concatenated
rq-split --range 3:6 "$T/ds6.rqt" >"$T/ck2ok.rqt"
cat "$T/ck1.rqt" "$T/ck2ok.rqt" >"$T/ck.rqt"
is 'rq-split -r 2:5 on a chunked data set: rows 2 | 3, 4 of every record' \
    "$(rq-split --range 2:5 "$T/ck.rqt" | rq-info -v | awk -F'\t' '$2 == "id" { print $4, $6 }' | tr '\n' '|')" \
    '[1] min=2 max=2 mean=2 std=0|[2] min=3 max=4 mean=3.5 std=0.5|'
is '  ... and the records of a chunk stay together' \
    "$(rq-split --range 2:5 "$T/ck.rqt" | rq-info | cut -f2 | tr '\n' ' ')" \
    'audio visual label id quality.audio quality.visual audio visual label id quality.audio quality.visual '
