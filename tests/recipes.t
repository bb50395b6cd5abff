#!/bin/sh
# recipes.t: scripts/make-dataset on made-up copies of CREMA-D and
# Kinetics-Sounds (2 classes, a few clips each, testdata/ fixtures): the
# three splits and their records as rq-train needs them, the seeded
# validation draw, a one-epoch rq-train on the result, and bad input
# (a missing clip, a wrong list) that fails cleanly and leaves no data set.
. tests/tap.sh
plan 20

# CREMA-D: 8 clips, 3 + 3 train and 1 + 1 test, 10 JPEG frames each
C=$T/cremad
for c in 1001_DFA_ANG_XX 1002_DFA_ANG_XX 1003_DFA_ANG_XX 1004_DFA_HAP_XX \
    1005_DFA_HAP_XX 1006_DFA_HAP_XX 1007_DFA_ANG_XX 1008_DFA_HAP_XX; do
	mkdir -p "$C/AudioWAV" "$C/Image-01-FPS/$c"
	cp testdata/cremad_in.wav "$C/AudioWAV/$c.wav"
	for t in 1 2 3 4 5 6 7 8 9 10; do
		cp testdata/frame.jpg "$C/Image-01-FPS/$c/frame_0000$t.jpg"
	done
	echo "$c,$(echo $c | cut -d_ -f3)" >>"$C/all.csv"
done
head -n 6 "$C/all.csv" >"$C/train.csv"
tail -n 2 "$C/all.csv" >"$C/test.csv"

D=$T/data/cremad
scripts/make-dataset -k cremad --size 16 --dir "$D" "$C" "$C/train.csv" \
    "$C/test.csv" >"$T/c.out" 2>"$T/c.err"
is 'cremad: exit 0, nothing on stderr' "$?:$(cat "$T/c.err")" '0:'
like 'cremad: class and split counts' "$(cat "$T/c.out")" \
    "$D: 2 classes (classes=6); train 4 clips 2 classes, val 2 clips 2 classes, test 2 clips 2 classes"
like '  ... per class, the classes without a clip named' "$(cat "$T/c.out")" \
    'class 0: no clip'
shapes() {	# FILE -> name dtype dims of each record
	rq-info "$1" | awk -F '\t' '{ printf "%s %s %s ", $2, $3, $4 }'
}
is 'cremad train: audio [N,257,188], visual [N,9,H,W], label, id' \
    "$(shapes "$D/train.rqt")" \
    'audio f32 [4,257,188] visual f32 [4,9,16,16] label i32 [4] id i64 [4] '
is 'cremad val and test: 2 clips each' \
    "$(shapes "$D/val.rqt" | cut -d' ' -f3) $(shapes "$D/test.rqt" | cut -d' ' -f3)" \
    '[2,257,188] [2,257,188]'
is 'cremad: the label carries classes=6, each split its split=' \
    "$(for s in train val test; do rq-info "$D/$s.rqt" | awk -F '\t' '$2 == "label"' |
    grep -o -e 'classes=[0-9]*' -e 'split=[a-z]*' | tr '\n' ' '; done)" \
    'split=train classes=6 split=val classes=6 split=test classes=6 '
mean() {	# FILE RECORD -> norm.mean= of it
	rq-info "$1" | awk -F '\t' -v r="$2" '$2 == r' | sed -n 's/.*norm\.mean=\([^ \t]*\).*/\1/p'
}
is 'cremad: val and test audio carry the training mean' \
    "$(mean "$D/val.rqt" audio) $(mean "$D/test.rqt" audio)" \
    "$(mean "$D/train.rqt" audio) $(mean "$D/train.rqt" audio)"
ok 'cremad: .done is written' test -s "$D/.done"
ok 'rq-train -e 1 runs on the cremad splits' sh -c "rq-train -e 1 -d 16 --depth 1 \
    --heads 2 -b 4 -o '$T/c.ck' '$D/train.rqt' '$D/val.rqt' '$D/test.rqt' >'$T/tr.out' 2>&1 &&
    grep -q '^best_epoch=1 ' '$T/tr.out'"
# the validation draw: one clip of each class, changing with the seed
v0=$(grep ',val$' "$D/a.csv" | tr '\n' ' ')
scripts/make-dataset -k cremad -s 7 --size 16 --dir "$T/data/c7" "$C" \
    "$C/train.csv" "$C/test.csv" >/dev/null 2>&1
v7=$(grep ',val$' "$T/data/c7/a.csv" | tr '\n' ' ')
ok 'cremad: the val clips depend on -s (seed 0 and 7 differ)' test "$v0" != "$v7"
is '  ... one of each class' "$(grep ',val$' "$D/a.csv" | cut -d, -f2 | sort | tr '\n' ' ')" '1 5 '

# Kinetics-Sounds: labels 0 and 1, 3 + 3 train at 16 kHz, 1 + 1 test at 22 kHz
K=$T/ks
for c in a_1 a_2 a_3 b_1 b_2 b_3; do
	mkdir -p "$K/audio/train" "$K/visual/train/$c"
	cp testdata/ks16k.wav "$K/audio/train/$c.wav"
	for t in 1 2 3 4 5 6 7; do cp testdata/frame.jpg "$K/visual/train/$c/frame_0000$t.jpg"; done
done
for c in a_9 b_9; do
	mkdir -p "$K/audio/test" "$K/visual/test/$c"
	cp testdata/ks22k.wav "$K/audio/test/$c.wav"
	cp testdata/frame.jpg "$K/visual/test/$c/frame_00001.jpg"
done
printf 'a_1,7,0\na_2,7,0\na_3,7,0\nb_1,7,1\nb_2,7,1\nb_3,7,1\n' >"$K/train.txt"
printf 'a_9,1,0\nb_9,1,1\n' >"$K/test.txt"
E=$T/data/ks
scripts/make-dataset -k ks -T 32 --size 16 --dir "$E" "$K" "$K/train.txt" \
    "$K/test.txt" >"$T/k.out" 2>&1
is 'ks: the splits, classes=2 from the labels' "$(sed -n 1p "$T/k.out")" \
    "$E: 2 classes (classes=2); train 4 clips 2 classes, val 2 clips 2 classes, test 2 clips 2 classes"
is 'ks train: audio [N,128,T], visual [N,9,H,W], label, id' \
    "$(shapes "$E/train.rqt")" \
    'audio f32 [4,128,32] visual f32 [4,9,16,16] label i32 [4] id i64 [4] '
ok 'rq-train -e 1 runs on the ks splits' sh -c "rq-train -e 1 -d 16 --depth 1 \
    --heads 2 -b 4 -o '$T/k.ck' '$E/train.rqt' '$E/val.rqt' '$E/test.rqt' >/dev/null 2>&1"

# -i: a clip without its WAV and one without its frames are left out
cp -R "$K" "$T/ks2"
rm "$T/ks2/audio/train/a_2.wav"
rm -r "$T/ks2/visual/train/b_3"
fails_cleanly 'ks: a clip without its WAV stops it, without -i' \
    'line 2: a_2: no ' -f "$T/data/ks2" scripts/make-dataset -k ks -T 32 --size 16 \
    --dir "$T/data/ks2" "$T/ks2" "$K/train.txt" "$K/test.txt"
scripts/make-dataset -k ks -i -T 32 --size 16 --dir "$T/data/ks2" "$T/ks2" \
    "$K/train.txt" "$K/test.txt" >"$T/k2.out" 2>&1
like 'ks -i: both left out and counted' "$(cat "$T/k2.out")" \
    'train 2 clips 2 classes, val 2 clips 2 classes, test 2 clips 2 classes'
is '  ... the clips kept, audio and visual alike' \
    "$(grep -c -e a_2 -e b_3 "$T/data/ks2/a.csv" "$T/data/ks2/v.csv" | tr '\n' ' ')
$(tail -n 1 "$T/k2.out")" \
    "$T/data/ks2/a.csv:0 $T/data/ks2/v.csv:0 
$T/data/ks2: 2 listed clips left out (no WAV or no frames)"

# bad input: nothing is left behind, an old data set stays whole
rm "$C/AudioWAV/1005_DFA_HAP_XX.wav"
fails_cleanly 'cremad: a missing clip names the file' \
    '1005_DFA_HAP_XX.wav' -f "$T/data/x" scripts/make-dataset -k cremad --size 16 \
    --dir "$T/data/x" "$C" "$C/train.csv" "$C/test.csv"
fails_cleanly 'ks: a list in the wrong format names its line' \
    'train.csv: line 1: expected clip,frames,label' scripts/make-dataset \
    -k ks --dir "$E" "$K" "$C/train.csv" "$K/test.txt"
is '  ... the old data set is untouched, no temporary left' \
    "$(shapes "$E/train.rqt" | cut -d' ' -f3); $(ls -d "$T"/data/*.tmp.* 2>/dev/null)" \
    '[4,128,32]; '
