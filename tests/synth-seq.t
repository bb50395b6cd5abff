#!/bin/sh
# synth-seq.t: rq-synth's sequence form on the command line: --preset
# mosei (the MOSEI-shaped vision + text stand-in) and --seq given twice;
# records, shapes, metadata, seeding, and the usage errors.
. tests/tap.sh
plan 21

ok 'rq-synth --preset mosei' rq-synth --preset mosei -n 12 -s 3 -o "$T/m.rqt"
is '  ... records, dtypes, shapes' \
    "$(rq-info "$T/m.rqt" | cut -f 2-4 | tr '\t\n' ' |')" \
    'vision f32 [12,50,35]|text f32 [12,50,300]|label i32 [12]|id i64 [12]|quality.vision f32 [12]|quality.text f32 [12]|'
is '  ... layout=seq on the two modalities only' \
    "$(rq-info "$T/m.rqt" | cut -f 2,5 | grep -c 'layout=seq')" 2
meta=$(rq-info "$T/m.rqt" | sed -n 3p | cut -f 5)
like '  ... classes, split, dataset' "$meta" 'classes=2 split=train dataset=mosei-synth'
like '  ... the knobs' "$meta" 'synth.vision=50:35:0.08 synth.text=50:300:0.07'
like '  ... qualities named by modality' "$meta" 'quality.vision=snr_db quality.text=snr_db'
is '  ... binary labels' "$(rq-tsv --name label "$T/m.rqt" | sort -u | tr '\n' ' ')" '0 1 '

rq-synth --preset mosei -n 12 -s 3 >"$T/m2.rqt"
ok 'the same seed: the same bytes' cmp "$T/m.rqt" "$T/m2.rqt"
rq-synth --preset mosei -n 12 -s 4 >"$T/m3.rqt"
nok 'another seed: other data' cmp -s "$T/m.rqt" "$T/m3.rqt"
rq-synth --preset mosei -n 12 -s 3 --split test >"$T/m4.rqt"
nok 'another split: other data' cmp -s "$T/m.rqt" "$T/m4.rqt"

rq-synth --seq vision:50:35:0.08 --seq text:50:300:0.07 -n 12 -s 3 |
    rq-cat --unset dataset >"$T/g.rqt"
rq-cat --unset dataset "$T/m.rqt" >"$T/m0.rqt"
ok '--seq twice with the preset'"'"'s modalities: the preset, but dataset=' \
    cmp "$T/g.rqt" "$T/m0.rqt"
ok '--seq, any pair' sh -c "rq-synth --seq imu:20:6:0.3 --seq eeg:100:64 \
    --classes 4 --noise 1 -n 30 >'$T/ie.rqt'"
is '  ... names and shapes' "$(rq-info "$T/ie.rqt" | cut -f 2,4 | tr '\t\n' ' |')" \
    'imu [30,20,6]|eeg [30,100,64]|label [30]|id [30]|quality.imu [30]|quality.eeg [30]|'
like '  ... metadata' "$(rq-info "$T/ie.rqt" | sed -n 1p)" \
    'classes=4 split=train dataset=synth-seq layout=seq synth.seed=0 synth.noise=1:1 synth.imu=20:6:0.3 synth.eeg=100:64:0.1'

bad() {	# DESC MESSAGE ARGS...
	d=$1 m=$2
	shift 2
	rq-synth "$@" >"$T/out" 2>"$T/err"
	is "$d" "$?:$(wc -c <"$T/out" | tr -d ' '):$(head -n 1 "$T/err")" "2:0:rq-synth: $m"
}
bad 'usage: --seq once' '--seq: give two modalities (--seq twice)' --seq a:3:3
bad 'usage: --seq three times' '--seq: given more than twice: c:3:3' \
    --seq a:3:3 --seq b:3:3 --seq c:3:3
bad 'usage: a bad --seq' '--seq: bad modality (want name:T:F[:gain], T and F 1..4096, a name of A-Z a-z 0-9 _ -, not label or id): a:3' \
    --seq a:3 --seq b:3:3
bad 'usage: two modalities of one name' '--seq: the two modalities share the name a' \
    --seq a:3:3 --seq a:4:4
bad 'usage: --preset with --seq' '--seq: not with --preset (it sets the modalities, the classes and the noise)' \
    --preset mosei --seq a:3:3 --seq b:3:3
bad 'usage: --audio with --preset' '--audio: an option of the audio-visual set, not of --preset' \
    --preset mosei --audio 1
bad 'usage: --classes without --seq' '--classes, --noise: only with --seq' --classes 3
