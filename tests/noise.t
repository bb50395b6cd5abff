#!/bin/sh
# noise.t: rq-noise in pipelines (seeded, std 0, -f indicators) and on bad
# input.  Data sets come from rq-synth; small fixtures from rq-npy.
. tests/tap.sh
command -v rq-synth >/dev/null && command -v rq-npy >/dev/null ||
    skip_all 'rq-synth or rq-npy not built'
plan 18

rq-synth -n 60 -s 2 >"$T/d.rqt"
rq-noise --modality audio --std 0.5 -s 3 "$T/d.rqt" >"$T/a"
rq-noise --modality audio --std 0.5 -s 3 <"$T/d.rqt" >"$T/b"
rq-noise --modality audio --std 0.5 -s 4 "$T/d.rqt" >"$T/c"
ok 'same seed: identical bytes' cmp "$T/a" "$T/b"
nok 'other seed: other bytes' cmp "$T/a" "$T/c"

# stats of a record, $1 = line of rq-info -v, without the metadata
st() { rq-info -v "$2" | sed -n "$1p" | cut -f1-4,6; }
is 'visual untouched by -m audio' "$(st 2 "$T/a")" "$(st 2 "$T/d.rqt")"
rq-noise --modality audio --std 0 "$T/d.rqt" >"$T/z"
is 'std 0: audio data unchanged' "$(st 1 "$T/z")" "$(st 1 "$T/d.rqt")"
like 'noise.std in the metadata' "$(rq-info "$T/a" | sed -n 1p)" 'noise.std=0.5'

rq-noise -f 0.5 --std 2 -s 1 "$T/d.rqt" >"$T/f"
is '-f: indicators right after label' \
    "$(rq-info "$T/f" | cut -f2 | tr '\n' ' ')" \
    'audio visual label clean.audio clean.visual id quality.audio quality.visual '
like '-f: clean.audio is u8 [60]' "$(rq-info "$T/f" | sed -n 4p | cut -f3,4)" \
    "$(printf 'u8\t[60]')"
like '-f: indicators anticorrelated' \
    "$(rq-pearson -x clean.audio -y clean.visual "$T/f")" 'r=-'
rq-noise -f 0.5 --std 2 -s 1 "$T/f" >"$T/ff"
is '-f twice: old indicators replaced, not duplicated' \
    "$(rq-info "$T/ff" | cut -f2 | grep -c clean)" 2
rq-noise --modality audio --std 1 "$T/f" >"$T/fm"
is '-m audio after -f: clean.audio all 0' \
    "$(rq-info -v "$T/fm" | sed -n 4p | cut -f6 | cut -d' ' -f1-2)" 'min=0 max=0'
is '-m audio after -f: clean.visual kept' \
    "$(rq-info -v "$T/fm" | sed -n 5p | cut -f6)" "$(rq-info -v "$T/f" | sed -n 5p | cut -f6)"
rq-noise -f 0 --std 2 "$T/d.rqt" >"$T/f0"
is '-f 0: every sample clean' \
    "$(rq-info -v "$T/f0" | sed -n 4p | cut -f6 | cut -d' ' -f1)" 'min=1'

# fixtures: a stream with an f64 audio record, one with no audio at all
printf '\000\000\000\000\000\000\360\077\000\000\000\000\000\000\000\100' |
    mknpy "$T/audio.npy" '<f8' '(2, 1)'
printf '\000\000\200\077\000\000\000\100' | mknpy "$T/visual.npy" '<f4' '(2, 1)'
rq-npy "$T/audio.npy" >"$T/f64.rqt"
rq-npy "$T/visual.npy" >"$T/noaudio.rqt"
fails_cleanly 'f64 audio: file and record named' 'f64.rqt: record 0: '\''audio'\'': dtype f64' \
    rq-noise --modality audio --std 1 "$T/f64.rqt"
fails_cleanly 'no audio record: nothing written' "noaudio.rqt: no 'audio' record" \
    rq-noise --modality audio --std 1 "$T/noaudio.rqt"
fails_cleanly '-f needs audio, visual and label' "no 'audio' record" \
    rq-noise -f 0.5 --std 1 "$T/noaudio.rqt"
printf 'not a stream\n' >"$T/text"
fails_cleanly 'not a stream' 'text: record 0' rq-noise --modality audio --std 1 "$T/text"
rq-noise --modality audio --std -1 "$T/d.rqt" >"$T/out" 2>/dev/null
is 'negative std: usage error' "$?:$(wc -c <"$T/out" | tr -d ' ')" '2:0'
rq-noise --std 1 "$T/d.rqt" >/dev/null 2>&1
is 'no -m and no -f: usage error' $? 2
