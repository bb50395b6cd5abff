#!/bin/sh
# manifest.t: ks-manifest and cremad-manifest on tiny made-up copies of
# Kinetics-Sounds and CREMA-D (split lists in the public formats): the
# manifests, the clip and class counts they report, and bad lists.
. tests/tap.sh
plan 14

K=$T/ks
for c in a_1 b_2 c_3; do
	mkdir -p "$K/audio/train" "$K/visual/train/$c"
	cp testdata/ks16k.wav "$K/audio/train/$c.wav"
	for t in 1 2 10; do cp testdata/frame.jpg "$K/visual/train/$c/frame_0000$t.jpg"; done
done
mkdir -p "$K/audio/test" "$K/visual/test/d_4"
cp testdata/ks22k.wav "$K/audio/test/d_4.wav"
cp testdata/frame.jpg "$K/visual/test/d_4/frame_00001.jpg"
# OGM-GE's list format, clip,frames,label (one CRLF line); label 1 unused
printf 'a_1,10,0\nb_2,10,2\r\n# note\nc_3,10,3\n' >"$K/train.txt"
printf 'd_4,10,0\n' >"$K/test.txt"

scripts/ks-manifest -k audio "$K" "$K/train.txt" "$K/test.txt" \
    >"$T/ka.csv" 2>"$T/ka.err"
is 'ks audio manifest' "$(sed "s|$K|K|" "$T/ka.csv" | tr '\n' ' ')" \
    'K/audio/train/a_1.wav,0,train K/audio/train/b_2.wav,2,train K/audio/train/c_3.wav,3,train K/audio/test/d_4.wav,0,test '
like 'ks: train counts' "$(cat "$T/ka.err")" 'train: 3 clips, 3 classes (labels 0-3)'
like 'ks: test counts' "$(cat "$T/ka.err")" 'test: 1 clips, 1 classes (labels 0-0)'
like 'ks: a label with no clip is named' "$(cat "$T/ka.err")" 'labels with no clip: 1'
like 'ks: classes a split lacks are named' "$(cat "$T/ka.err")" 'classes with no test clip: 2 3'
scripts/ks-manifest -k visual "$K" "$K/train.txt" "$K/test.txt" >"$T/kv.csv" 2>/dev/null
is 'ks frames in natural order' "$(head -n 1 "$T/kv.csv" | sed "s|$K/visual/train/a_1/||g")" \
    'frame_00001.jpg;frame_00002.jpg;frame_000010.jpg,0,train'
ok 'ks manifests feed rq-extract' sh -c "rq-extract -k ksfbank -T 8 --manifest '$T/ka.csv' --split train >/dev/null &&
    rq-extract -k image --size 4 -P 3 --manifest '$T/kv.csv' --split train >/dev/null"
printf 'a_1,10,0\nzz_9,10,1\n' >"$K/miss.txt"
fails_cleanly 'ks: a missing clip' 'miss.txt: line 2: zz_9' \
    scripts/ks-manifest -k audio "$K" "$K/miss.txt" "$K/test.txt"
like 'ks -i leaves missing clips out and counts them' \
    "$(scripts/ks-manifest -i -k audio "$K" "$K/miss.txt" "$K/test.txt" 2>&1 >/dev/null)" \
    'train: 1 clips, 1 classes (labels 0-0), 1 missing clips left out'
printf 'a_1,10,zero\n' >"$K/bad.txt"
fails_cleanly 'ks: a bad label' 'bad.txt: line 1: expected clip,frames,label' \
    scripts/ks-manifest -k audio "$K" "$K/bad.txt" "$K/test.txt"
scripts/ks-manifest -k both "$K" "$K/train.txt" "$K/test.txt" >/dev/null 2>&1
is 'ks: bad kind is a usage error' $? 2

C=$T/cremad
for c in 1001_DFA_ANG_XX 1002_DFA_HAP_XX; do
	mkdir -p "$C/AudioWAV" "$C/Image-01-FPS/$c"
	cp testdata/cremad_in.wav "$C/AudioWAV/$c.wav"
	for t in 1 2 3 10; do cp testdata/frame.jpg "$C/Image-01-FPS/$c/frame_0000$t.jpg"; done
done
printf '1001_DFA_ANG_XX,ANG\n' >"$C/train.csv"
printf '1002_DFA_HAP_XX,HAP\n' >"$C/test.csv"
like 'cremad: counts per split' \
    "$(scripts/cremad-manifest -k audio "$C" "$C/train.csv" "$C/test.csv" 2>&1 >/dev/null | tr '\n' ' ')" \
    'train: 1 clips, 1 classes cremad-manifest: test: 1 clips, 1 classes'
is 'cremad -f 0: all JPEG frames, natural order' \
    "$(scripts/cremad-manifest -f 0 -k visual "$C" "$C/train.csv" "$C/test.csv" 2>/dev/null |
    head -n 1 | sed "s|$C/Image-01-FPS/1001_DFA_ANG_XX/||g")" \
    'frame_00001.jpg;frame_00002.jpg;frame_00003.jpg;frame_000010.jpg,5,train'
printf 'x,FOO\n' >"$C/bad.csv"
fails_cleanly 'cremad: a bad emotion' 'bad.csv: line 1: expected clip,emotion' \
    scripts/cremad-manifest -k audio "$C" "$C/bad.csv" "$C/test.csv"
