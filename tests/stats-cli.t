#!/bin/sh
# stats-cli.t: rq-pearson and rq-noise on streams (TAP): records in chunks
# and interleaved with others, columns of a 2-d record, seeded and
# chunk-independent noise, its std and its fraction form, bad input.
# Streams are written and read by tests/tmk.c, not by the programs.
. tests/tap.sh
plan 33

. tests/tmk.sh
# values NAME FILE: every value of the records named NAME, one a line
values() {
	dump <"$2" | awk -v n="$1" '$1 == n {
	    for (i = 2; i <= NF; i++) print $i }'
}
# bad STATUS DESC SUBSTR CMD...: exit STATUS, empty stdout, one stderr
# line holding SUBSTR
bad() {
	want=$1 desc=$2 sub=$3
	shift 3
	"$@" >"$T/bad.out" 2>"$T/bad.err"
	st=$?
	[ $st -eq "$want" ] && [ ! -s "$T/bad.out" ] &&
	    [ "$(wc -l <"$T/bad.err")" -eq 1 ] &&
	    grep -qF -- "$sub" "$T/bad.err"
	tap_result $? "$desc (exit $st: $(cat "$T/bad.err"))"
}

# --- rq-pearson: chunks, other records, columns ---------------------------
# gauss50 (whose TSV pearson.t checks against SciPy) as x and y records in
# two chunks, y's first chunk after an unrelated record, then as one [n,2]
# record yx holding (y, x)
f=testdata/pearson-golden.gauss50.tsv
awk 'NR > 1 { x[++n] = $1; y[n] = $2 }
END {
	printf "x f64 20 -"; for (i = 1; i <= 20; i++) printf " %s", x[i]
	printf "\nother f64 20 -"; for (i = 1; i <= 20; i++) printf " %s", y[i]
	printf "\ny f64 20 -"; for (i = 1; i <= 20; i++) printf " %s", y[i]
	printf "\ny f64 %d -", n - 20; for (i = 21; i <= n; i++) printf " %s", y[i]
	printf "\nx f64 %d -", n - 20; for (i = 21; i <= n; i++) printf " %s", x[i]
	printf "\nyx f64 %d,2 -", n; for (i = 1; i <= n; i++) printf " %s %s", y[i], x[i]
	printf "\n" }' "$f" | mk >"$T/p.rqt"
want=$(rq-pearson -t --spearman "$f")
is "spearman over chunked, interleaved records = the TSV's" \
    "$(rq-pearson --spearman -x x -y y "$T/p.rqt")" "$want"
is "columns of one record (yx:1, yx:0), from stdin" \
    "$(rq-pearson --spearman -x yx:1 -y yx:0 <"$T/p.rqt")" "$want"
like "all 50 pairs" "$want" " n=50"

printf '%s\n' 'a f64 5 - 1 2 3 4 5' 'b f64 5 - 1 3 nan 2 5' \
    'k f64 5 - 2 2 2 2 2' 'short f64 2 - 1 2' 'short2 f64 2 - 1 3' |
    mk >"$T/nan.rqt"
bad 1 "rq-pearson NaN: file and record" "nan.rqt: record 1" \
    rq-pearson -x a -y b "$T/nan.rqt"
bad 1 "rq-pearson constant" "constant" rq-pearson -x a -y k "$T/nan.rqt"
bad 1 "rq-pearson two pairs" "at least 3" \
    rq-pearson -x short -y short2 "$T/nan.rqt"
bad 1 "rq-pearson no such record" "nosuch" \
    rq-pearson -x a -y nosuch "$T/nan.rqt"
rq-pearson -x a -y short "$T/nan.rqt" >"$T/out" 2>/dev/null
st=$?
[ $st -eq 1 ] && [ ! -s "$T/out" ]
tap_result $? "rq-pearson lengths differ: exit 1 ($st), empty stdout"

# --- rq-noise ---------------------------------------------------------------
# set N CHUNK [AUDIO_DTYPE|none]: N samples in chunks, audio [n,8,12],
# visual [n,2,5,5] f32, label, id; values depend only on the sample index
set_() {
	awk -v N="$1" -v CH="$2" -v AD="${3:-f32}" 'BEGIN {
	for (o = 0; o < N; o += CH) {
		m = N - o < CH ? N - o : CH
		if (AD != "none") {
			printf "audio %s %d,8,12 -", AD, m
			for (i = 0; i < m * 96; i++)
				printf " %.9g", sin(0.37 * (o * 96 + i))
			printf "\n"
		}
		printf "visual f32 %d,2,5,5 -", m
		for (i = 0; i < m * 50; i++)
			printf " %.9g", cos(0.11 * (o * 50 + i))
		printf "\nlabel i32 %d -", m
		for (i = 0; i < m; i++) printf " %d", (o + i) % 7
		printf "\nid i64 %d -", m
		for (i = 0; i < m; i++) printf " %d", o + i
		printf "\n"
	} }' | mk
}
set_ 30 30 >"$T/one.rqt"
set_ 30 13 >"$T/three.rqt"
rq-noise --modality audio --std 0.5 -s 3 "$T/one.rqt" >"$T/n1"
tap_result $? "rq-noise runs"
rq-noise --modality audio --std 0.5 -s 3 <"$T/one.rqt" >"$T/n2"
cmp -s "$T/n1" "$T/n2"
tap_result $? "same seed, file or stdin: same bytes"
rq-noise --modality audio --std 0.5 -s 4 "$T/one.rqt" >"$T/n3"
! cmp -s "$T/n1" "$T/n3"
tap_result $? "another seed: other bytes"
rq-noise --modality audio --std 0.5 -s 3 "$T/three.rqt" >"$T/n4"
values audio "$T/n1" >"$T/a1"
values audio "$T/n4" >"$T/a4"
is "3 chunks: 2880 audio values" "$(wc -l <"$T/a4" | tr -d ' ')" 2880
cmp -s "$T/a1" "$T/a4"
tap_result $? "the noise does not depend on the chunking"
values audio "$T/one.rqt" | paste - "$T/a1" |
    awk '$1 != $2 { d++ } END { exit !(d > NR - 5) }'
tap_result $? "nearly every audio value changed"
values visual "$T/three.rqt" >"$T/v0"
values visual "$T/n4" | cmp -s - "$T/v0"
tap_result $? "visual passes through unchanged"

set_ 1000 400 >"$T/big.rqt"
rq-noise --modality visual --std 0 "$T/big.rqt" >"$T/z"
values visual "$T/big.rqt" >"$T/bv"
values visual "$T/z" | cmp -s - "$T/bv"
tap_result $? "-s 0 leaves the values as they were"
rq-noise --modality audio --std 0.75 -s 9 "$T/big.rqt" >"$T/b"
values audio "$T/big.rqt" >"$T/ba"
# 96000 values: the std of the sample std is about 0.75 / sqrt(2n) = 0.0017
values audio "$T/b" | paste "$T/ba" - | awk '{ e = $2 - $1; s += e; q += e * e }
    END { m = s / NR; sd = sqrt((q - NR * m * m) / (NR - 1))
    if (sd - 0.75 > 0.01 || 0.75 - sd > 0.01 || m > 0.01 || -m > 0.01) {
	print "# mean " m " std " sd; exit 1 } }'
tap_result $? "noise of std 0.75, mean 0 (within 0.01)"
dump <"$T/b" | cut -d' ' -f1 | tr '\n' ' ' >"$T/names"
is "records kept in order" "$(cat "$T/names")" \
    "audio visual label id audio visual label id audio visual label id "
rq-info "$T/b" >"$T/info"
grep -q "^0	audio	.*noise.std=0.75" "$T/info"
tap_result $? "the first audio record carries noise.std"
! grep -q "^1	visual	.*noise.std" "$T/info"
tap_result $? "the visual record does not"

# -f: corrupted samples and the indicators agree; one modality each
set_ 600 250 >"$T/f.rqt"
rq-noise -f 0.4 --std 1 -s 5 "$T/f.rqt" >"$T/fo"
tap_result $? "rq-noise -f runs"
is "-f layout: label, clean.audio, clean.visual after each chunk" \
    "$(dump <"$T/fo" | cut -d' ' -f1 | sed -n 1,6p | tr '\n' ' ')" \
    "audio visual label clean.audio clean.visual id "
for m in audio visual; do
	values $m "$T/f.rqt" >"$T/c.$m"
	values $m "$T/fo" >"$T/o.$m"
	values clean.$m "$T/fo" >"$T/i.$m"
done
# per sample: changed <=> indicator 0; never both modalities
awk -v A="$T/c.audio" -v B="$T/o.audio" -v C="$T/c.visual" \
    -v D="$T/o.visual" -v IA="$T/i.audio" -v IV="$T/i.visual" 'BEGIN {
	for (s = 0; s < 600; s++) {
		ca = 0; cv = 0
		for (i = 0; i < 96; i++) {
			getline x < A; getline y < B; if (x != y) ca = 1 }
		for (i = 0; i < 50; i++) {
			getline x < C; getline y < D; if (x != y) cv = 1 }
		getline ia < IA; getline iv < IV
		if (ca == (ia == 1) || cv == (iv == 1) || (ca && cv)) {
			print "# sample " s ": " ca cv ia iv; exit 1 }
		na += ca; nv += cv
	}
	# 240 expected corrupted, sd 12; the split 50/50, sd 7.7
	if (na + nv < 190 || na + nv > 290 || na - nv > 70 || nv - na > 70) {
		print "# corrupted audio " na " visual " nv; exit 1 }
}'
tap_result $? "indicators match the changes, about 40% corrupted, split evenly"
rq-noise -f 1 --std 1 -s 5 "$T/f.rqt" |
    rq-pearson -x clean.audio -y clean.visual >"$T/r1"
awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^r=/) r = substr($i, 3) }
    END { exit !(r + 0 < -0.999999) }' "$T/r1"
tap_result $? "-f 1: every sample has exactly one modality corrupted"

set_ 10 10 f64 >"$T/f64.rqt"
bad 1 "rq-noise f64 audio" "f64.rqt: record 0" \
    rq-noise --modality audio --std 1 "$T/f64.rqt"
set_ 10 5 none >"$T/noa.rqt"
bad 1 "rq-noise no audio record" "audio" rq-noise --modality audio --std 1 "$T/noa.rqt"
rq-noise -f 0.5 --std 1 "$T/noa.rqt" >"$T/out" 2>/dev/null
st=$?
[ $st -eq 1 ] && [ ! -s "$T/out" ]
tap_result $? "rq-noise -f without audio: exit 1 ($st), empty stdout"
echo hello >"$T/hello"
bad 1 "rq-noise not a stream" "<stdin>: record 0" \
    sh -c "rq-noise --modality audio --std 1 <'$T/hello'"
set_ 4 4 >"$T/ok.rqt"
bad 2 "rq-noise negative std" "-1" rq-noise --modality audio --std -1 "$T/ok.rqt"
rq-noise --modality audio --std 1x "$T/ok.rqt" >/dev/null 2>&1
is "bad std: usage error" $? 2
rq-noise -f 1.5 --std 1 "$T/ok.rqt" >/dev/null 2>&1
is "fraction > 1: usage error" $? 2
rq-noise --modality speech --std 1 "$T/ok.rqt" >"$T/out" 2>"$T/err"
st=$?
[ $st -eq 1 ] && [ ! -s "$T/out" ] && grep -q "no 'speech' record" "$T/err"
tap_result $? "a modality the stream lacks: exit 1 ($st) naming it, empty stdout"
