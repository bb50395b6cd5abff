#!/bin/sh
# data.t: rq-avmnist on a tiny fake FSDD + MNIST (copies of
# testdata/tone.wav; random IDX images): shapes, splits, determinism,
# per-sample degradation, and bad input (exit 1, one line naming the
# file, empty stdout, no output file).
. tests/tap.sh
plan 20

F=$T/fsdd/recordings
M=$T/mnist
mkdir -p "$F" "$M" "$T/out"
for d in 0 1 2 3 4 5 6 7 8 9; do
	for k in 0 5 10 11; do cp testdata/tone.wav "$F/${d}_bob_$k.wav"; done
done
# 40 train images (4 of each digit), 10 test images; big-endian headers
idx3() {	# file count
	{ printf '\000\000\010\003\000\000\000'; printf "\\$(printf %o "$2")"
	  printf '\000\000\000\034\000\000\000\034'
	  head -c $(($2 * 784)) /dev/urandom; } | gzip -c >"$1"
}
idx1() {	# file count (labels 0..9 repeating)
	{ printf '\000\000\010\001\000\000\000'; printf "\\$(printf %o "$2")"
	  i=0; while [ $i -lt "$2" ]; do printf "\\$(printf %o $((i % 10)))"
	  i=$((i + 1)); done; } | gzip -c >"$1"
}
idx3 "$M/train-images-idx3-ubyte.gz" 40
idx1 "$M/train-labels-idx1-ubyte.gz" 40
idx3 "$M/t10k-images-idx3-ubyte.gz" 10
idx1 "$M/t10k-labels-idx1-ubyte.gz" 10

ok 'builds three splits' rq-avmnist --dir "$T/out" "$T/fsdd" "$M"
info=$(rq-info "$T/out/train.rqt" "$T/out/val.rqt" "$T/out/test.rqt" | cut -f1-4)
like 'train audio [20,40,48]' "$info" "train.rqt:0	audio	f32	[20,40,48]"
like 'train visual [20,1,28,28]' "$info" "train.rqt:1	visual	f32	[20,1,28,28]"
like 'val has 10 samples' "$info" "val.rqt:2	label	i32	[10]"
like 'test has ids' "$info" "test.rqt:3	id	i64	[10]"
m=$(rq-info "$T/out/test.rqt" | head -1)
like 'norm stats in metadata' "$m" "norm.mean="
like 'split in metadata' "$m" "split=test"

rq-avmnist --split test "$T/fsdd" "$M" >"$T/test2.rqt"
ok 'stdout split equals the file (seeded)' cmp "$T/test2.rqt" "$T/out/test.rqt"
rq-avmnist -s 7 --split test "$T/fsdd" "$M" >"$T/test3.rqt"
nok 'another seed pairs differently' cmp -s "$T/test3.rqt" "$T/out/test.rqt"

q=$(rq-avmnist --snr 0:20 --noise 0.1:0.5 --split train "$T/fsdd" "$M" | rq-info -v | cut -f2,6)
like 'per-sample audio SNR recorded' "$q" "quality.audio"
like 'per-sample image noise recorded' "$q" "quality.visual"

# the clip (0.1 s) fills 11 of the 48 frames; a frame whose 40 bands are
# all equal is the exact log(1e-6) silence of the padding
silent() {	# rq-tsv rows of [mels*frames] -> count of silent frames
	awk -v M="$1" -v F="$2" '{ for (t = 1; t <= F; t++) { s = 1
		for (m = 1; m < M; m++) if ($(m * F + t) != $t) { s = 0; break }
		n += s } } END { print n + 0 }'
}
rq-avmnist --split val "$T/fsdd" "$M" >"$T/clean.rqt"
is 'clean clips are padded with silence (37 frames x 10)' \
    "$(rq-tsv --name audio "$T/clean.rqt" | silent 40 48)" 370
rq-avmnist --snr 10 --split val "$T/fsdd" "$M" >"$T/deg.rqt"
is 'degraded clips: no exact-silence frame' \
    "$(rq-tsv --name audio "$T/deg.rqt" | silent 40 48)" 0
rq-avmnist -T 100 --snr=-5:5 --split train "$T/fsdd" "$M" >"$T/deg100.rqt"
is 'degraded, -T 100, per-clip SNR: no exact-silence frame' \
    "$(rq-tsv --name audio "$T/deg100.rqt" | silent 40 100)" 0
like 'the noise span is recorded' "$(rq-info "$T/deg.rqt" | head -n 1)" \
    "degrade.audio.span=window"

rm -rf "$T/out"; mkdir "$T/out"
head -c 30 testdata/tone.wav >"$F/3_bob_12.wav"
fails_cleanly 'truncated WAV' "3_bob_12.wav" -f "$T/out/train.rqt" \
    rq-avmnist --dir "$T/out" "$T/fsdd" "$M"
fails_cleanly 'truncated WAV, stdout' "3_bob_12.wav" \
    rq-avmnist --split train "$T/fsdd" "$M"
rm "$F/3_bob_12.wav"
cp testdata/tone.wav "$F/x_bob_1.wav"
fails_cleanly 'bad FSDD name' "x_bob_1.wav" -f "$T/out/test.rqt" \
    rq-avmnist --dir "$T/out" "$T/fsdd" "$M"
rm "$F/x_bob_1.wav"
gzip -dc "$M/t10k-images-idx3-ubyte.gz" | head -c 1000 | gzip -c \
    >"$M/t.gz" && mv "$M/t.gz" "$M/t10k-images-idx3-ubyte.gz"
fails_cleanly 'truncated IDX' "t10k-images-idx3-ubyte.gz: truncated" \
    -f "$T/out/test.rqt" rq-avmnist --dir "$T/out" "$T/fsdd" "$M"
rq-avmnist --split nope "$T/fsdd" "$M" >/dev/null 2>&1
is 'bad split is a usage error' $? 2
