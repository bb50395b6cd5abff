#!/bin/sh
# mosei.t: the vision + text pipeline on the MOSEI-shaped stand-in
# (rq-synth --preset mosei): rq-train -m mt-rq with --modalities
# vision,text, a modality alone by its name, rq-eval's attention shares
# labelled vision and text, rq-noise on text alone, a tiny make table1
# DATASET=mosei-synth printing its rows, and the streams of
# scripts/mosei-import (from a made-up pickle) accepted by rq-train.
#
# Needs rq-train --modalities and sequence encoders and -m mut (issue 19
# items 1-3): named tests/mosei.t.pending until they are merged, then
# tests/mosei.t.
. tests/tap.sh
plan 25

D=$T/d
mkdir -p "$D"
rq-synth --preset mosei -n 240 -s 1 --split train -o "$D/train.rqt" &&
rq-synth --preset mosei -n 80 -s 1 --split val -o "$D/val.rqt" &&
rq-synth --preset mosei -n 80 -s 1 --split test -o "$D/test.rqt" || exit 1
A='-d 16 --heads 2 --depth 1 -e 3 -b 40 -w 0 -l 0.05 --modalities vision,text'

# shellcheck disable=SC2086
ok 'rq-train -m mt-rq --modalities vision,text' rq-train -m mt-rq $A \
    -o "$T/ck" -L "$T/log" "$D/train.rqt" "$D/val.rqt" "$D/test.rqt"
is '  ... three epochs logged, with the AIR' \
    "$(grep -c '^epoch=.* air=' "$T/log")" 3
first=$(grep '^epoch=1 ' "$T/log" | tr ' ' '\n' | sed -n 's/^loss=//p')
last=$(grep '^epoch=3 ' "$T/log" | tr ' ' '\n' | sed -n 's/^loss=//p')
ok "  ... the loss falls ($first -> $last)" \
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }'
ck=$(rq-info "$T/ck")
like '  ... the checkpoint names vision' "$ck" vision
like '  ... and text' "$ck" text

rq-eval -t "$T/ck" "$D/test.rqt" >"$T/e.tsv" 2>"$T/err"
is 'rq-eval -t: exit 0' "$?" 0
is '  ... shares labelled by modality' \
    "$(head -n 1 "$T/e.tsv" | cut -f 4-6)" "$(printf 'share.vision\tshare.text\tshare.cls')"
is '  ... one row per test sample' "$(sed 1d "$T/e.tsv" | wc -l | tr -d ' ')" 80
ok '  ... shares in [0,1], summing to 1' awk -F '\t' 'NR > 1 {
	n++
	s = $4 + $5 + $6
	if ($4 < 0 || $4 > 1 || $5 < 0 || $5 > 1 || s < 0.999 || s > 1.001)
		exit 1
} END { exit n != 80 }' "$T/e.tsv"
rq-eval "$T/ck" "$D/test.rqt" 2>/dev/null | rq-info >"$T/e.info"
like '  ... the stream names the share records' "$(cut -f 2 "$T/e.info" | tr '\n' ' ')" \
    'share.vision share.text share.cls'
rq-eval --summary "$T/ck" "$D/test.rqt" >"$T/sum" 2>/dev/null
like '  ... a summary with the accuracy' "$(cat "$T/sum")" 'acc='

# shellcheck disable=SC2086
ok 'rq-train -m text: the text modality alone, by its name' rq-train -m text \
    $A -o "$T/ckt" -L "$T/logt" "$D/train.rqt" "$D/val.rqt"
# shellcheck disable=SC2086
ok 'rq-train -m vision: the vision modality alone' rq-train -m vision \
    $A -o "$T/ckv" "$D/train.rqt" "$D/val.rqt"

ok 'rq-noise --modality text' sh -c \
    "rq-noise --modality text --std 2 -s 3 '$D/test.rqt' >'$T/noisy.rqt'"
rq-cat --name vision "$D/test.rqt" >"$T/v0.rqt"
rq-cat --name vision "$T/noisy.rqt" >"$T/v1.rqt"
ok '  ... vision untouched' sh -c "test -s '$T/v1.rqt' && cmp '$T/v0.rqt' '$T/v1.rqt'"
rq-cat --name text "$D/test.rqt" >"$T/t0.rqt"
rq-cat --name text "$T/noisy.rqt" >"$T/t1.rqt"
ok '  ... text changed' sh -c "test -s '$T/t1.rqt' && ! cmp -s '$T/t0.rqt' '$T/t1.rqt'"
ok '  ... rq-eval reads the noisy stream' sh -c \
    "rq-eval --summary '$T/ck' '$T/noisy.rqt' | grep -q '^acc='"

# make table1 DATASET=mosei-synth in a tree of its own (data/ and
# results/ under $T, the programs built here)
W=$T/tree
mkdir -p "$W"
for f in Makefile lib bin experiments scripts man rq.pc.in; do
	ln -s "$PWD/$f" "$W/$f"
done
${MAKE:-make} -s --no-print-directory -C "$W" \
    RQ_COMMIT="$(git describe --always --dirty 2>/dev/null || echo unknown)" \
    table1 DATASET=mosei-synth SEEDS=0 MOSEI_SYNTH_N=160 \
    T1_METHODS='vision text concat mt-rq mut' RESULTS="$T/res" \
    TRAIN_FLAGS='-d 16 --heads 2 --depth 1 -e 2 -b 40 -w 0 -l 0.05' \
    >"$T/t1" 2>"$T/t1.err"
is 'make table1 DATASET=mosei-synth (tiny): exit 0' "$?" 0
t=$(cat "$T/t1")
like '  ... the Vision only row' "$t" 'Vision only'
is '  ... MT + RollingQ and MuT rows' "$(printf '%s\n' "$t" | grep -c '^MT + RollingQ \|^MuT ')" 2
like '  ... the paper column' "$t" 'paper CMU-MOSEI'
# Tables 2 and 3 name the first modality (vision) in their records and text
${MAKE:-make} -s --no-print-directory -C "$W" \
    RQ_COMMIT="$(git describe --always --dirty 2>/dev/null || echo unknown)" \
    table2 table3 DATASET=mosei-synth SEEDS=0 MOSEI_SYNTH_N=160 LEVELS='0 1' \
    RESULTS="$T/res" \
    TRAIN_FLAGS='-d 16 --heads 2 --depth 1 -e 2 -b 40 -w 0 -l 0.05' \
    >"$T/t23" 2>"$T/t23.err"
is 'make table2 table3 DATASET=mosei-synth (tiny): exit 0' "$?" 0
t=$(cat "$T/t23")
like '  ... Table 2 correlates the vision share' "$t" \
    'Table 2: Pearson r between vision attention share and vision quality'
like '  ... Table 3 adds noise to vision' "$t" \
    'Table 3: test accuracy (%) under vision noise'

# the importer's streams train: a made-up pickle of the real layout
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	/usr/bin/python3 - "$T/m.pkl" <<'EOF'
import pickle, sys
import numpy as np
r = np.random.default_rng(1)
def split(n):
    return {"vision": r.standard_normal((n, 60, 35)).astype(np.float32),
            "text": r.standard_normal((n, 50, 300)).astype(np.float32),
            "audio": r.standard_normal((n, 60, 74)).astype(np.float32),
            "labels": r.uniform(-3, 3, (n, 1, 1)).astype(np.float32),
            "id": np.arange(n)}
pickle.dump({"train": split(40), "valid": split(20), "test": split(20)},
            open(sys.argv[1], "wb"))
EOF
	scripts/mosei-import "$T/m.pkl" "$T/mo" >/dev/null
	# shellcheck disable=SC2086
	ok 'rq-train -m mt on scripts/mosei-import streams' rq-train -m mt $A \
	    -e 1 -o "$T/ckm" "$T/mo/train.rqt" "$T/mo/val.rqt" "$T/mo/test.rqt"
else
	skip 'rq-train -m mt on scripts/mosei-import streams' \
	    '/usr/bin/python3 lacks numpy'
fi
