#!/bin/sh
# modalities.t: two modalities by name (issue 19): a stream whose records
# are vision and text, both sequences [N,T,F] marked layout=seq, trained
# with -m mt-rq --modalities vision,text; the checkpoint, rq-eval, the AIR
# dump, rq-air, rq-noise and rq-split name them; -m vision and -m text
# train one alone; a killed run resumes to the same bytes; the default
# audio,visual spelt out gives the same bytes as no flag.
. tests/tap.sh
plan 40

# vision: rq-synth's audio [N,16,16] read as 16 steps of 16 features;
# text: the audio of the same seed with a stronger parity cue (the same
# labels, other values)
mk() {	# SPLIT N OUT
	rq-synth -n "$2" -s 1 --split "$1" -o "$T/a.rqt" &&
	rq-synth -n "$2" -s 1 --split "$1" --parity 0.6 -o "$T/b.rqt" &&
	{ rq-cat --name audio --rename vision --meta layout=seq "$T/a.rqt" &&
	  rq-cat --name audio --rename text --meta layout=seq "$T/b.rqt" &&
	  rq-cat --name label --name id "$T/a.rqt"; } >"$3"
}
mk train 96 "$T/tr.rqt" && mk val 32 "$T/va.rqt" && mk test 32 "$T/te.rqt" ||
    exit 1
R="-e 2 -b 16 -d 16 --heads 2 --depth 1 -l 0.05"
D="$T/tr.rqt $T/va.rqt $T/te.rqt"
M="--modalities vision,text"

# shellcheck disable=SC2086
ok "mt-rq trains on vision and text" \
    rq-train -m mt-rq $M $R -o "$T/vt.ck" -L "$T/vt.log" \
    --air-dump "$T/dump" $D
head=$(rq-info "$T/vt.ck" | head -n 1)
like "checkpoint: modality.0=vision" "$head" "modality.0=vision"
like "checkpoint: modality.1=text" "$head" "modality.1=text"
like "checkpoint: both are sequences" "$head" \
    "modality.0.layout=seq modality.1=text modality.1.layout=seq"
like "log header names them" "$(head -n 1 "$T/vt.log")" \
    "modalities=vision:seq,text:seq"

rq-eval -t "$T/vt.ck" "$T/te.rqt" >"$T/eval.tsv" 2>"$T/eval.err"
is "rq-eval -t: exit 0" $? 0
like "rq-eval: shares labelled vision and text" \
    "$(sed -n 1p "$T/eval.tsv")" "share.vision	share.text	share.cls"
awk -F'\t' 'NR > 1 { s = $4 + $5 + $6; if (s < 0.999 || s > 1.001 ||
    $4 <= 0 || $5 <= 0) bad++; n++ }
    END { exit !(n == 32 && bad == 0) }' "$T/eval.tsv" 2>/dev/null
tap_result $? "rq-eval: each sample's vision, text and cls shares sum to 1"
rq-eval "$T/vt.ck" "$T/te.rqt" 2>/dev/null | rq-info >"$T/eval.info"
like "rq-eval stream: share.vision" "$(cat "$T/eval.info")" "share.vision"
like "rq-eval stream: key means named, with their slot" \
    "$(grep kmean "$T/eval.info" | cut -f 2,5 | tr '\n' ' ')" \
    "fusion.kmean.vision	"
like "rq-eval stream: text is slot 1" "$(grep kmean.text "$T/eval.info")" \
    "slot=1"

# the AIR dump and rq-air
like "air dump: fusion.kmean.vision slot=0" \
    "$(rq-info "$T/dump.2.rqt" | grep kmean.vision)" "slot=0"
like "rq-air names the modalities" "$(rq-air "$T/dump.2.rqt")" \
    "modalities=vision,text"
is "rq-air --per-sample header" \
    "$(rq-air --per-sample "$T/dump.2.rqt" | head -n 1)" \
    "$(printf 'group\tsample\tcos.vision\tcos.text\tair')"
# the group is read the same with the names, as the old .audio/.visual
rq-cat --name fusion.q "$T/dump.2.rqt" >"$T/old.rqt" &&
rq-cat --name fusion.kmean.vision --rename fusion.kmean.audio \
    --unset slot "$T/dump.2.rqt" >>"$T/old.rqt" &&
rq-cat --name fusion.kmean.text --rename fusion.kmean.visual \
    --unset slot "$T/dump.2.rqt" >>"$T/old.rqt"
is "rq-air: an old-style dump gives the same AIR" \
    "$(rq-air "$T/old.rqt" | sed 's/ d=.*//')" \
    "$(rq-air "$T/dump.2.rqt" | sed 's/ d=.*//')"

# one modality alone, by its name
# shellcheck disable=SC2086
ok "-m vision trains the first alone" \
    rq-train -m vision $M $R -e 1 -o "$T/v.ck" -L "$T/v.log" $D
like "-m vision: the log names it" "$(head -n 1 "$T/v.log")" \
    "method=vision "
# shellcheck disable=SC2086
ok "-m text trains the second alone" \
    rq-train -m text $M $R -e 1 -o "$T/t.ck" -L "$T/t.log" $D
like "-m text: the log names it" "$(head -n 1 "$T/t.log")" "method=text "
ok "-m text: rq-eval reads the checkpoint's names" \
    rq-eval --summary "$T/t.ck" "$T/te.rqt"

# rq-noise --modality text: text changes, nothing else does
rq-noise --modality text --std 1 "$T/te.rqt" >"$T/noisy.rqt" 2>/dev/null
nok "rq-noise --modality text: text changed" cmp -s \
    "$(rq-cat --name text "$T/te.rqt" >"$T/t0"; echo "$T/t0")" \
    "$(rq-cat --name text --unset noise.std --unset noise.seed \
        "$T/noisy.rqt" >"$T/t1"; echo "$T/t1")"
rq-cat --exclude text "$T/te.rqt" >"$T/r0"
rq-cat --exclude text "$T/noisy.rqt" >"$T/r1"
ok "rq-noise --modality text: vision, label and id unchanged" \
    cmp "$T/r0" "$T/r1"

# rq-split --range keeps every per-sample record, by any name
is "rq-split --range: vision and text sliced" \
    "$(rq-split --range 4:9 "$T/te.rqt" | rq-info | cut -f 2,4 | tr '\n' ' ')" \
    "vision	[5,16,16] text	[5,16,16] label	[5] id	[5] "

# a kill mid-run: the interrupt's command resumes to the same bytes
# shellcheck disable=SC2086
rq-train -m mt-rq $M $R -e 6 -o "$T/full.ck" $D 2>/dev/null
# shellcheck disable=SC2086
rq-train -m mt-rq $M $R -e 6 -o "$T/i.ck" $D 2>"$T/i.err" &
pid=$!
while [ ! -f "$T/i.ck" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -INT $pid 2>/dev/null
wait $pid
is "SIGINT: exit 1" $? 1
cmd=$(sed -n 's/.*; resume with: //p' "$T/i.err")
eval "$cmd" 2>/dev/null
ok "resumed: the same checkpoint as the run never stopped" \
    cmp "$T/full.ck" "$T/i.ck"

# refusals
# shellcheck disable=SC2086
fails_cleanly "a modality the stream lacks: named" \
    "need vision [N,F,T], speech [N,C,H,W]" \
    rq-train --modalities vision,speech $R $D
# shellcheck disable=SC2086
rq-train --modalities vision,text --seq audio $R $D >"$T/o" 2>"$T/e"
is "--seq a name that is not a modality: usage error" $? 2
rq-cat -i 0 --unset modality.1 "$T/vt.ck" >"$T/bad.ck" &&
    rq-cat --exclude checkpoint "$T/vt.ck" >>"$T/bad.ck"
fails_cleanly "checkpoint with one name: refused, naming the key" \
    "bad.ck: record 0: modality.1: missing" rq-eval "$T/bad.ck" "$T/te.rqt"

# shellcheck disable=SC2086
fails_cleanly "a resume under other names: refused, naming the checkpoint's" \
    "vt.ck: record 0: modality.0, modality.1: the checkpoint's modalities are vision,text" \
    rq-train -r "$T/vt.ck" --modalities text,vision -e 3 -o "$T/other.ck" $D
# rq-eval --modalities: a test set whose records are named otherwise
rq-cat --name vision --rename v2 "$T/te.rqt" >"$T/ren.rqt" &&
rq-cat --name text --rename t2 "$T/te.rqt" >>"$T/ren.rqt" &&
rq-cat --name label --name id "$T/te.rqt" >>"$T/ren.rqt"
is "rq-eval --modalities v2,t2: the same predictions as vision,text" \
    "$(rq-eval -t --modalities v2,t2 "$T/vt.ck" "$T/ren.rqt" 2>/dev/null |
        cut -f 1-3,6-)" \
    "$(cut -f 1-3,6- "$T/eval.tsv")"
# --params-only: a sequence's shape is TxF
is "--params-only --seq: one token per step, plus CLS" \
    "$(rq-train --params-only $M --seq vision,text --audio 50x35 \
        --visual 20x300 --classes 2 -d 16 --heads 2 | sed -n 2p)" \
    "tokens vision=51 text=21"
is "--params-only --seq: the projection is [d,F]" \
    "$(rq-train --params-only $M --seq vision --audio 50x35 \
        --visual 1x16x16 --classes 2 -d 16 --heads 2 --depth 0 |
        sed -n 's/^params enc.a=\([0-9]*\) .*/\1/p')" \
    "$((16 * 35 + 16 + 16 + 51 * 16 + 2 * 16))"
# shellcheck disable=SC2086
rq-train $M --audio-patch 2x2 $R $D >"$T/o" 2>"$T/e"
is "--audio-patch on a sequence: usage error" $? 2

# the default pair: no flag and the flag spelt out give the same bytes
rq-synth -n 64 -s 2 --split train -o "$T/avtr.rqt" &&
rq-synth -n 32 -s 2 --split val -o "$T/avva.rqt" || exit 1
# shellcheck disable=SC2086
rq-train -m mt-rq $R -o "$T/av0.ck" "$T/avtr.rqt" "$T/avva.rqt" 2>/dev/null
# shellcheck disable=SC2086
rq-train -m mt-rq $R --modalities audio,visual -o "$T/av1.ck" \
    "$T/avtr.rqt" "$T/avva.rqt" 2>/dev/null
ok "audio,visual spelt out: the same checkpoint" cmp "$T/av0.ck" "$T/av1.ck"
nok "audio,visual: no modality keys in the checkpoint (as before)" \
    grep -q "modality" "$(rq-info "$T/av0.ck" | head -n 1 >"$T/h"; echo "$T/h")"
rq-eval -t "$T/av0.ck" "$T/avva.rqt" >"$T/e0" 2>/dev/null
rq-eval -t --modalities audio,visual "$T/av0.ck" "$T/avva.rqt" >"$T/e1" \
    2>/dev/null
ok "rq-eval --modalities audio,visual: the same output" cmp "$T/e0" "$T/e1"
like "rq-eval: the shares are still share.audio, share.visual" \
    "$(head -n 1 "$T/e0")" "share.audio	share.visual	share.cls"

# a modality name is looked up before the method table: with the records
# named visual (first) and audio (second), -m audio trains the second
{ rq-cat --name vision --rename visual "$T/tr.rqt" &&
  rq-cat --name text --rename audio "$T/tr.rqt" &&
  rq-cat --name label --name id "$T/tr.rqt"; } >"$T/sw.rqt" || exit 1
# shellcheck disable=SC2086
rq-train -m audio --modalities visual,audio $R -o "$T/sw.ck" "$T/sw.rqt" \
    "$T/sw.rqt" 2>/dev/null
like "-m audio with --modalities visual,audio: the second slot alone" \
    "$(rq-info "$T/sw.ck" | head -n 1)" "method=visual "
# shellcheck disable=SC2086
rq-train -m mt --modalities mt,text $R -o "$T/amb.ck" $D 2>"$T/amb.err"
is "--modalities naming a method: usage error" $? 2
like "  ... says why" "$(cat "$T/amb.err")" "mt is the name of a method"
