#!/bin/sh
# experiments.t: experiments/run-one.sh (TAP): a finished run is reused,
# not redone; a run of other data (the data set rebuilt with another
# degradation) is refused with one line, exit 1, and left in place.
. tests/tap.sh
plan 5

DATA_ROOT=$T/data RESULTS=$T/res DATASET=tiny SEEDS=0
TRAIN_FLAGS="-e 1 -b 16 -d 16 --heads 2 --depth 1"
export DATA_ROOT RESULTS DATASET SEEDS TRAIN_FLAGS
mkdir -p "$T/data/tiny"
rq-synth -n 64 -s 1 --split train -o "$T/data/tiny/train.rqt" || exit 1
rq-synth -n 32 -s 1 --split val -o "$T/data/tiny/val.rqt" || exit 1
rq-synth -n 32 -s 1 --split test -o "$T/data/tiny/test.rqt" || exit 1

ok "run-one.sh trains a run" experiments/run-one.sh tiny/audio/s0
r=$T/res/tiny/audio/s0
cp "$r/result" "$T/result.0"
ok "run-one.sh again: reused (exit 0)" experiments/run-one.sh tiny/audio/s0
ok "run-one.sh again: the result is untouched" cmp "$r/result" "$T/result.0"
rq-synth -n 64 -s 2 --split train -o "$T/data/tiny/train.rqt" || exit 1
fails_cleanly "other data: refused" "trained on other data" \
    experiments/run-one.sh tiny/audio/s0
ok "other data: the old run is kept" cmp "$r/result" "$T/result.0"
