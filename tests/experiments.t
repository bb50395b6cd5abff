#!/bin/sh
# experiments.t: experiments/run-one.sh (TAP): a finished run is reused,
# not redone; a run of other data (the data set rebuilt with another
# degradation) is refused with one line, exit 1, and left in place.
# Under make's table goals (RQ_RUN_LIST) each run says "run k of N" and
# an ETA.
. tests/tap.sh
plan 9

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

# "run k of N" and the ETA, from the runs make lists
R=$T/res/tiny
RQ_RUN_LIST="$R/audio/s0/result $R/visual/s0/result $R/concat/s0/result" \
    MAKEFLAGS=' -j2 --jobserver-auth=3,4' \
    experiments/run-one.sh tiny/visual/s0 2>"$T/err"
is 'run-one.sh under a table: exit 0' "$?" 0
like 'run-one.sh under a table: run 2 of 3, with an ETA' "$(cat "$T/err")" \
    'run-one: run 2 of 3: tiny/visual/s0; ETA '
like 'run-one.sh under a table: 2 of 3 done, with an ETA' \
    "$(tail -n 1 "$T/err")" 'run-one: 2 of 3 runs done; ETA '
experiments/run-one.sh tiny/concat/s0 2>"$T/err"
is 'run-one.sh alone: no progress line' "$(grep -c 'of .* runs\| of [0-9]*:' "$T/err")" 0
