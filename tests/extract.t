#!/bin/sh
# extract.t: rq-extract from operands and manifests; training statistics
# carried to another split; JPEG frames read like PNG ones; bad WAV, PNG,
# JPEG and manifest lines fail cleanly.
. tests/tap.sh
plan 37

cp testdata/tone.wav "$T/a.wav"
cp testdata/cremad_in.wav "$T/b.wav"
printf '%s,3,train\n# comment\n\n%s,4,train\n%s,5,test\n' \
    "$T/a.wav" "$T/b.wav" "$T/a.wav" >"$T/m.csv"

ok 'manifest, train split, z-scored' rq-extract --manifest "$T/m.csv" --split train -z -o "$T/tr.rqt"
i=$(rq-info "$T/tr.rqt" | cut -f2-4)
like 'two clips, 40 x 48 log-mel' "$i" "audio	f32	[2,40,48]"
# b.wav is 22,050 Hz: resampled to 8 kHz before the log-mel
rq-extract --manifest "$T/m.csv" --split test --stats "$T/tr.rqt" >"$T/te.rqt"
like 'train statistics applied to test' "$(rq-info "$T/te.rqt" | head -1)" \
    "$(rq-info "$T/tr.rqt" | head -1 | grep -o 'norm.mean=[^ ]*')"
like 'cremad shape' "$(rq-extract -k cremad "$T/b.wav" | rq-info | head -1)" \
    "[1,257,188]"

head -c 40 testdata/tone.wav >"$T/cut.wav"
fails_cleanly 'truncated WAV' "cut.wav" -f "$T/out.rqt" rq-extract -o "$T/out.rqt" "$T/cut.wav"
fails_cleanly 'truncated WAV to stdout' "cut.wav" rq-extract "$T/a.wav" "$T/cut.wav"
printf 'not a png' >"$T/bad.png"
fails_cleanly 'bad PNG' "bad.png" -f "$T/out.rqt" rq-extract -k image -o "$T/out.rqt" "$T/bad.png"
printf '%s,3,train\n%s,x,train\n' "$T/a.wav" "$T/a.wav" >"$T/bad1.csv"
fails_cleanly 'bad label' "bad1.csv: line 2: bad label" rq-extract --manifest "$T/bad1.csv"
printf '%s,3,train\njust-a-path\n' "$T/a.wav" >"$T/bad2.csv"
fails_cleanly 'missing fields' "bad2.csv: line 2" -f "$T/out.rqt" rq-extract --manifest "$T/bad2.csv" -o "$T/out.rqt"
printf '%s,3,train\n%s,1,\n' "$T/a.wav" "$T/a.wav" >"$T/bad3.csv"
fails_cleanly 'empty split' "bad3.csv: line 2: empty split" rq-extract --manifest "$T/bad3.csv"
printf '%s,3,train\n%s/none.wav,1,train\n' "$T/a.wav" "$T" >"$T/bad4.csv"
fails_cleanly 'missing file' "none.wav" rq-extract --manifest "$T/bad4.csv"
rq-extract -k nope "$T/a.wav" >/dev/null 2>&1
is 'bad kind is a usage error' $? 2

# -k idx: MNIST-style IDX images and labels (2 images of 1x3, labels 7, 3)
printf '\000\000\010\003\000\000\000\002\000\000\000\001\000\000\000\003\000\377\063\146\314\000' >"$T/im.idx"
printf '\000\000\010\001\000\000\000\002\007\003' >"$T/lb.idx"
is 'idx: images / 255 with their labels' \
    "$(rq-extract -k idx "$T/im.idx" "$T/lb.idx" | rq-tsv --name label --name visual | tr '\t\n' ',|')" \
    '7,0,1,0.200000003|3,0.400000006,0.800000012,0|'
gzip -c "$T/im.idx" >"$T/im.idx.gz"
is 'idx: gzip read through zlib' \
    "$(rq-extract -k idx "$T/im.idx.gz" | rq-info | cut -f2-4 | head -n 1 | tr '\t' ' ')" \
    'visual f32 [2,1,1,3]'
printf '\000\000\010\001\000\000\000\003\007\003\001' >"$T/lb3.idx"
fails_cleanly 'idx: label count differs' '3 labels for 2 images' -f "$T/o.rqt" \
    rq-extract -k idx -o "$T/o.rqt" "$T/im.idx" "$T/lb3.idx"
head -c 15 "$T/im.idx" >"$T/short.idx"
fails_cleanly 'idx: truncated file' 'short.idx: truncated' rq-extract -k idx "$T/short.idx"

# JPEG frames (testdata/gen-jpeg.py), by magic bytes, stacked like PNG
cp testdata/frame.jpg "$T/f1.jpg"
cp testdata/frame.jpg "$T/f2.png"           # a JPEG whatever its name
printf '%s;%s;%s,2,train\n' "$T/f1.jpg" "$T/f2.png" "$T/f1.jpg" >"$T/v.csv"
is 'JPEG frames: three stacked, RGB' \
    "$(rq-extract -k image --size 4 --manifest "$T/v.csv" | rq-info | head -n 1 | cut -f2-4 | tr '\t' ' ')" \
    'visual f32 [1,9,4,4]'
is 'JPEG gray' \
    "$(rq-extract -k image --size 9 testdata/frame-gray.jpg | rq-info | head -n 1 | cut -f4)" \
    '[1,1,9,9]'
# at full size (12 wide, 9 high, resized to 12 x 12) row 0 is the image's
# row 0: times 255, the red plane's first row is Pillow's decode
# (testdata/frame-jpeg.txt, lines 2-13)
want=$(sed -n 2,13p testdata/frame-jpeg.txt | tr '\n' ' ')
got=$(rq-extract -k image --size 12 testdata/frame.jpg | rq-tsv --name visual |
    cut -f1-12 | awk '{ for (i = 1; i <= NF; i++) printf "%d ", $i * 255 + 0.5 }')
is 'JPEG pixels equal the golden decode' "$got" "$want"
head -c 600 testdata/frame.jpg >"$T/cut.jpg"
fails_cleanly 'truncated JPEG' "cut.jpg: Premature end of JPEG file" -f "$T/out.rqt" \
    rq-extract -k image -o "$T/out.rqt" "$T/f1.jpg" "$T/cut.jpg"
printf '\377\330\377\341junk' >"$T/junk.jpg"
fails_cleanly 'corrupt JPEG' "junk.jpg" rq-extract -k image "$T/junk.jpg"

# -k ksfbank: the Kinetics-Sounds Kaldi filterbank (testdata/gen-fbank.py)
like 'ksfbank: 128 mels x 1024 frames, clips padded' \
    "$(rq-extract -k ksfbank testdata/ks16k.wav testdata/ks22k.wav | rq-info | head -n 1)" \
    '[2,128,1024]	feature=ksfbank kaldi sr=native'
like 'ksfbank -T 20 cuts the 28 frames' \
    "$(rq-extract -k ksfbank -T 20 testdata/ks16k.wav | rq-info | head -n 1)" \
    'frames.cut=1 frames.padded=0'
# mel 0 of frames 0-2 against torchaudio (golden lines 2, 130, 258)
want=$(sed -n '2p;130p;258p' testdata/ksfbank.txt | tr '\n' ' ')
got=$(rq-extract -k ksfbank -T 3 testdata/ks16k.wav | rq-tsv --name audio | cut -f1-3)
is 'ksfbank equals torchaudio within 1e-4' \
    "$(echo "$got $want" | awk '{ for (i = 1; i <= 3; i++) {
        d = $i - $(i + 3); if (d < 0) d = -d; if (d > 1e-4) print "frame", i - 1, $i, $(i + 3) } }')" ''
fails_cleanly 'ksfbank: truncated WAV' "cut.wav" -f "$T/out.rqt" \
    rq-extract -k ksfbank -o "$T/out.rqt" "$T/cut.wav"

# -P 3: the authors' three of a clip's 1-fps frames.  Ten listed, only
# frames 1, 4 and 7 exist: the test-time choice must take just those.
for t in 1 4 7; do cp testdata/frame.jpg "$T/frame_0000$t.jpg"; done
l=; for t in 1 2 3 4 5 6 7 8 9 10; do l="$l${l:+;}$T/frame_0000$t.jpg"; done
printf '%s,1,test\n' "$l" >"$T/clip.csv"
like '-P 3: frames 1, 4, 7 of 10' \
    "$(rq-extract -k image --size 4 -P 3 --manifest "$T/clip.csv" | rq-info | head -n 1)" \
    '[1,9,4,4]'
fails_cleanly 'without -P all ten are read' "frame_00002.jpg" \
    rq-extract -k image --size 4 --manifest "$T/clip.csv"
for t in 2 3 5 6 8 9 10; do cp testdata/frame.jpg "$T/frame_0000$t.jpg"; done
like '-P 3 -R: the training draw, seeded' \
    "$(rq-extract -k image --size 4 -P 3 --draw -s 5 --manifest "$T/clip.csv" | rq-info | head -n 1)" \
    'frames=pick=3 train seed=5'
rq-extract -k cremad -P 3 "$T/a.wav" >/dev/null 2>&1
is '-P with audio is a usage error' $? 2

# label bytes are MNIST's digits: 200 in a label file is refused, naming
# the file and the item (it was written as label 200 without a word)
printf '\000\000\010\001\000\000\000\002\007\310' >"$T/lb200.idx"
fails_cleanly 'idx: label 200 refused' 'lb200.idx: item 1: label 200 out of range' \
    -f "$T/o.rqt" rq-extract -k idx -o "$T/o.rqt" "$T/im.idx" "$T/lb200.idx"
printf '\000\000\010\001\000\000\000\002\011\000' >"$T/lb9.idx"
is 'idx: label 9 accepted' \
    "$(rq-extract -k idx "$T/im.idx" "$T/lb9.idx" | rq-tsv --name label | tr '\n' ,)" '9,0,'

# damaged WAVs (testdata/gen-badwav.py): libsndfile clamps the frame count
# to the bytes present, so these read as shorter clips with exit 0 before
fails_cleanly 'WAV cut mid-data: declared and present sizes named' \
    'wav-truncated.wav: truncated: the data chunk declares 400 bytes, the file holds 240' \
    -f "$T/out.rqt" rq-extract -o "$T/out.rqt" testdata/wav-truncated.wav
fails_cleanly 'WAV header claiming 4x its data' \
    'wav-overclaim.wav: truncated: the data chunk declares 800 bytes, the file holds 200' \
    rq-extract testdata/wav-overclaim.wav
printf '%s,1,train\n%s,2,train\n' "$T/a.wav" "$PWD/testdata/wav-truncated.wav" >"$T/badw.csv"
fails_cleanly 'truncated WAV in a manifest' 'wav-truncated.wav: truncated' \
    -f "$T/out.rqt" rq-extract --manifest "$T/badw.csv" -o "$T/out.rqt"
fails_cleanly 'float WAV with a NaN: file and frame named' \
    'wav-float-nan.wav: frame 10: non-finite sample' rq-extract testdata/wav-float-nan.wav
ok 'float WAV without NaN: read' rq-extract -o "$T/fok.rqt" testdata/wav-float-ok.wav
# a streaming writer's data size 0xFFFFFFFF means "to the end of the file"
python3 - "$T/stream.wav" <<-'EOS'
	import sys
	b = bytearray(open('testdata/wav-float-ok.wav', 'rb').read())
	b[40:44] = b'\xff\xff\xff\xff'
	open(sys.argv[1], 'wb').write(b)
	EOS
ok 'WAV with data size 0xFFFFFFFF (unknown): read' rq-extract -o "$T/fs.rqt" "$T/stream.wav"
