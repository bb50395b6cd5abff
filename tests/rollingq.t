#!/bin/sh
# rollingq.t: CLI tests of rq-air and rq-rotate (TAP).
# Streams are written by a small C helper built here from tests/tmk.c
# (tmk: text -> stream; tdump: stream -> text), so the numbers checked come
# from awk, not from the programs under test.
. tests/tap.sh
plan 43

. tests/tmk.sh
# approx a b [tol]: exit 0 when |a - b| <= tol
approx() {
	awk -v a="$1" -v b="$2" -v t="${3:-1e-9}" \
	    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}
# kv KEY: the value of KEY=... in a key=value line on stdin
kv() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
# bad NAME CMD...: exit 1, empty stdout, one stderr line naming $T file
bad() {
	what=$1
	shift
	"$@" > "$T/bad.out" 2> "$T/bad.err"
	st=$?
	[ $st -eq 1 ] && [ ! -s "$T/bad.out" ] &&
	    [ "$(wc -l < "$T/bad.err")" -eq 1 ]
	tap_result $? "$what: exit 1 ($st), empty stdout, one line"
}

# --- rq-air on a 2-d case worked by hand ---------------------------------
cat > "$T/air.txt" <<'EOF'
fusion.q f32 2 epoch=3 2 0
fusion.kmean.audio f32 2,2 - 1 1 3 0
fusion.kmean.visual f32 2,2 - 0 2 -1 0
EOF
mk < "$T/air.txt" > "$T/air.rqt"
line=$(rq-air "$T/air.rqt")
tap_result $? "rq-air runs"
# cos_a = (1/sqrt2 + 1)/2, cos_v = (0 - 1)/2
want=$(awk 'BEGIN { printf "%.12f", (1/sqrt(2) + 1)/2 + 0.5 }')
approx "$(echo "$line" | kv air)" "$want" 1e-7
tap_result $? "rq-air: AIR = $want by hand (got: $line)"
approx "$(echo "$line" | kv cos_v)" -0.5 1e-7
tap_result $? "rq-air: cos_v = -0.5"
[ "$(echo "$line" | kv n)" = 2 ] && [ "$(echo "$line" | kv epoch)" = 3 ]
tap_result $? "rq-air: n and epoch reported"
# sign: audio-aligned query -> AIR > 0; swap modalities -> AIR < 0
sed 's/kmean.audio/kmean.TMP/; s/kmean.visual/kmean.audio/;
    s/kmean.TMP/kmean.visual/' "$T/air.txt" | mk > "$T/air_sw.rqt"
a1=$(rq-air "$T/air.rqt" | kv air)
a2=$(rq-air "$T/air_sw.rqt" | kv air)
awk -v a="$a1" -v b="$a2" 'BEGIN { d = a + b; if (d < 0) d = -d
    exit !(a > 0 && b < 0 && d < 1e-12) }'
tap_result $? "rq-air: AIR > 0 when audio favoured, sign flips with the modalities"
# chunks concatenate; two groups give two lines
{ cat "$T/air.txt"; cat <<'EOF'
fusion.q f32 2 - 0 1
fusion.kmean.audio f32 1,2 - 1 1
fusion.kmean.visual f32 1,2 - 0 2
fusion.kmean.audio f32 1,2 - 3 0
fusion.kmean.visual f32 1,2 - -1 0
EOF
} | mk > "$T/air2.rqt"
rq-air "$T/air2.rqt" > "$T/air2.out"
[ "$(wc -l < "$T/air2.out")" -eq 2 ]
tap_result $? "rq-air: one line per group"
# group 1: q = e2: cos_a = (1/sqrt2 + 0)/2, cos_v = (1 + 0)/2
want=$(awk 'BEGIN { printf "%.12f", (1/sqrt(2))/2 - 0.5 }')
approx "$(sed -n 2p "$T/air2.out" | kv air)" "$want" 1e-7
tap_result $? "rq-air: chunked second group by hand"
rq-air --per-sample "$T/air.rqt" > "$T/p.tsv"
[ "$(wc -l < "$T/p.tsv")" -eq 3 ] &&
    approx "$(awk 'NR > 1 { s += $5 } END { printf "%.12f", s / 2 }' \
    "$T/p.tsv")" "$a1" 1e-7
tap_result $? "rq-air --per-sample: per-sample rows average to AIR"
rq-air -o "$T/airo.rqt" "$T/air.rqt" > /dev/null &&
    dump < "$T/airo.rqt" > "$T/airo.txt" &&
    approx "$(awk '$1 == "air" { print $2 }' "$T/airo.txt")" "$a1" 1e-8 &&
    [ "$(awk '$1 == "air.cos.audio" { print NF }' "$T/airo.txt")" -eq 3 ]
tap_result $? "rq-air -o: air, air.cos.audio, air.cos.visual records"

# --- rq-air bad input ----------------------------------------------------
sed 's/^fusion.kmean.visual f32/fusion.kmean.visual i32/' "$T/air.txt" |
    mk > "$T/b1.rqt"
bad "rq-air wrong dtype" rq-air "$T/b1.rqt"
grep -q "b1.rqt: record 2: fusion.kmean.visual: dtype i32" "$T/bad.err"
tap_result $? "rq-air wrong dtype: message names file and record"
grep -v visual "$T/air.txt" | mk > "$T/b2.rqt"
bad "rq-air missing record" rq-air "$T/b2.rqt"
grep -q "b2.rqt: record 0: .*fusion.kmean.visual" "$T/bad.err"
tap_result $? "rq-air missing record: message names file, record, what"
printf 'fusion.q f32 3 - 1 2 3\nfusion.kmean.audio f32 1,2 - 1 1\n' |
    mk > "$T/b3.rqt"
bad "rq-air wrong shape" rq-air "$T/b3.rqt"
grep -q "b3.rqt: record 1: fusion.kmean.audio: want shape \[N,3\]" \
    "$T/bad.err"
tap_result $? "rq-air wrong shape: message names file and record"
head -c 100 "$T/air.rqt" > "$T/b4.rqt"
bad "rq-air truncated stream" rq-air "$T/b4.rqt"
rq-air -x "$T/air.rqt" > /dev/null 2>&1
[ $? -eq 2 ]
tap_result $? "rq-air: bad option exits 2"

# --- rq-rotate: anchor and rotation --------------------------------------
cat > "$T/est.txt" <<'EOF'
eq f32 5 - 0.3 -1.2 0.5 2.0 0.7
eka f64 5 - 1.0 0.2 -0.4 0.3 0.9
ekv f32 5 - -0.6 0.8 1.1 0.1 -0.2
EOF
mk < "$T/est.txt" > "$T/est.rqt"
dump < "$T/est.rqt" > "$T/est.dump"
rq-rotate --rho 1 --air 0.5 -o "$T/rot.rqt" "$T/est.rqt"
tap_result $? "rq-rotate writes a rotation"
dump < "$T/rot.rqt" > "$T/rot.txt"
awk '{ print $1 }' "$T/rot.txt" | tr '\n' ' ' | grep -q "^rq.qb rq.alpha rq.R"
tap_result $? "rq-rotate: records rq.qb, rq.alpha, rq.R"
# alpha = 1 / (1 + e^(2 rho AIR)); qb = |eq| t / |t| computed by awk
alpha=$(awk '$1 == "rq.alpha" { print $2 }' "$T/rot.txt")
approx "$alpha" "$(awk 'BEGIN { printf "%.15f", 1 / (1 + exp(1)) }')" 1e-12
tap_result $? "rq-rotate: alpha = 1/(1+e) for rho=1, AIR=0.5"
awk -v al="$alpha" '
$1 == "eq" { for (i = 2; i <= NF; i++) { q[i] = $i; nq += $i * $i } }
$1 == "eka" { for (i = 2; i <= NF; i++) { a[i] = $i; na += $i * $i } }
$1 == "ekv" { for (i = 2; i <= NF; i++) { v[i] = $i; nv += $i * $i } }
END {
	for (i = 2; i <= 6; i++) {
		t[i] = al * a[i] / sqrt(na) + (1 - al) * v[i] / sqrt(nv)
		nt += t[i] * t[i]
	}
	for (i = 2; i <= 6; i++)
		printf "%.15g\n", t[i] * sqrt(nq) / sqrt(nt)
}' "$T/est.dump" > "$T/qb.want"
awk '$1 == "rq.qb" { for (i = 2; i <= NF; i++) print $i }' "$T/rot.txt" |
    paste - "$T/qb.want" |
    awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6) bad = 1 }
    END { exit bad }'
tap_result $? "rq-rotate: q_b matches the anchor formula"
# round trip: apply R to eq gives q_b
grep '^eq ' "$T/est.txt" | mk > "$T/eq.rqt"
rq-rotate --apply "$T/rot.rqt" "$T/eq.rqt" | dump > "$T/req.txt"
tap_result $? "rq-rotate --apply runs"
cmpvec() {	# cmpvec FILE1 NAME1 FILE2 NAME2 TOL: same vectors
	awk -v n1="$2" -v n2="$4" -v tol="$5" '
	FNR == 1 { f++ }
	f == 1 && $1 == n1 { for (i = 2; i <= NF; i++) a[i] = $i; na = NF }
	f == 2 && $1 == n2 { for (i = 2; i <= NF; i++) b[i] = $i; nb = NF }
	END {
		if (na != nb || na < 3) exit 1
		for (i = 2; i <= na; i++) {
			d = a[i] - b[i]; if (d < 0) d = -d
			if (d > tol) exit 1
		}
	}' "$1" "$3"
}
cmpvec "$T/req.txt" eq "$T/rot.txt" rq.qb 1e-5
tap_result $? "round trip: R eq = q_b (plane form)"
rq-rotate --svd --rho 1 --air 0.5 "$T/est.rqt" > "$T/rots.rqt" &&
    rq-rotate --apply "$T/rots.rqt" "$T/eq.rqt" | dump > "$T/reqs.txt"
cmpvec "$T/reqs.txt" eq "$T/rot.txt" rq.qb 1e-5
tap_result $? "round trip: R eq = q_b (SVD form)"
# f64 vectors, several rows: row i becomes R v_i; rows of eq and qb
printf 'v f64 2,5 - 0.3 -1.2 0.5 2.0 0.7 0.6 -2.4 1.0 4.0 1.4\n' | mk |
    rq-rotate --apply "$T/rot.rqt" | dump |
    awk '{ for (i = 7; i <= 11; i++) printf "%.15g\n", $i / 2 }' \
    > "$T/r2.txt"
awk '$1 == "rq.qb" { for (i = 2; i <= NF; i++) print $i }' "$T/rot.txt" |
    paste - "$T/r2.txt" |
    awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6) bad = 1 }
    END { exit bad || NR != 5 }'
tap_result $? "rq-rotate -a: f64 rows rotated one by one"
# rho = 0 needs no AIR: the bisector
rq-rotate "$T/est.rqt" | dump > "$T/bis.txt"
approx "$(awk '$1 == "rq.alpha" { print $2 }' "$T/bis.txt")" 0.5 0
tap_result $? "rq-rotate: rho=0 gives alpha = 1/2 without an AIR"
# AIR > 0 and rho > 0 moves q_b toward the visual keys
cosk() {	# cosk FILE: cos(qb, eka) - cos(qb, ekv)
	cat "$T/est.dump" "$1" | awk '
	$1 == "eka" { for (i = 2; i <= NF; i++) a[i] = $i }
	$1 == "ekv" { for (i = 2; i <= NF; i++) v[i] = $i }
	$1 == "rq.qb" { for (i = 2; i <= NF; i++) q[i] = $i }
	END {
		for (i = 2; i <= 6; i++) {
			qa += q[i] * a[i]; qv += q[i] * v[i]; nq += q[i] ^ 2
			na += a[i] ^ 2; nv += v[i] ^ 2
		}
		printf "%.12f\n", qa / sqrt(nq * na) - qv / sqrt(nq * nv)
	}'
}
c0=$(cosk "$T/bis.txt")
c1=$(cosk "$T/rot.txt")
awk -v a="$c0" -v b="$c1" 'BEGIN { exit !(a > -1e-9 && a < 1e-9 && b < 0) }'
tap_result $? "rq-rotate: bisector is equiangular ($c0), AIR>0 leans visual ($c1)"
# the rq-air stream as input: means and AIR come from it
rq-rotate --rho 1 "$T/air.rqt" | dump > "$T/fr.txt"
approx "$(awk '$1 == "rq.alpha" { print $2 }' "$T/fr.txt")" \
    "$(awk -v a="$a1" 'BEGIN { printf "%.15f", 1 / (1 + exp(2 * a)) }')" 1e-6
tap_result $? "rq-rotate: AIR of an rq-air stream gives alpha"
# E[K_a] = (2, 0.5), E[K_v] = (-0.5, 1): q_b = 2 (u_a + u_v) / |u_a + u_v|
rq-rotate "$T/air.rqt" | dump > "$T/fr0.txt"
awk 'BEGIN {
	ax = 2 / sqrt(4.25); ay = 0.5 / sqrt(4.25)
	vx = -0.5 / sqrt(1.25); vy = 1 / sqrt(1.25)
	tx = ax + vx; ty = ay + vy; n = sqrt(tx * tx + ty * ty)
	printf "want %.15g %.15g\n", 2 * tx / n, 2 * ty / n
}' > "$T/fr0.want"
cmpvec "$T/fr0.txt" rq.qb "$T/fr0.want" want 1e-6
tap_result $? "rq-rotate: rq-air stream means give q_b by hand"

# --- composition ---------------------------------------------------------
cat > "$T/abc.txt" <<'EOF'
a f64 4 - 1 2 -1 0.5
b f64 4 - -0.3 1 2 1
c f64 4 - 2 -1 0.2 1.5
EOF
v() { grep "^$1 " "$T/abc.txt" | sed "s/^$1 f64 4 -/$2 f64 4 -/"; }
{ v a eq; v b eka; v b ekv; } | mk | rq-rotate > "$T/r1.rqt"
{ v b eq; v c eka; v c ekv; } | mk | rq-rotate > "$T/r2.rqt"
cat "$T/r1.rqt" "$T/r2.rqt" | rq-rotate --compose > "$T/r12.rqt"
tap_result $? "rq-rotate --compose composes"
v a a | mk | rq-rotate --apply "$T/r12.rqt" | dump |
    awk '{ n = 0; for (i = 2; i <= NF; i++) n += $i ^ 2
    printf "x"; for (i = 2; i <= NF; i++) printf " %.15g", $i / sqrt(n)
    printf "\n" }' > "$T/x.txt"
awk '$1 == "c" { n = 0; for (i = 5; i <= NF; i++) n += $i ^ 2
    printf "c"; for (i = 5; i <= NF; i++) printf " %.15g", $i / sqrt(n)
    printf "\n" }' "$T/abc.txt" > "$T/c.txt"
cmpvec "$T/x.txt" x "$T/c.txt" c 1e-12
tap_result $? "rq-rotate --compose: R2 R1 maps a to c (first record acts first)"
cat "$T/r2.rqt" "$T/r1.rqt" | rq-rotate --compose > "$T/r21.rqt"
v a a | mk | rq-rotate --apply "$T/r21.rqt" | dump |
    awk '{ n = 0; for (i = 2; i <= NF; i++) n += $i ^ 2
    printf "x"; for (i = 2; i <= NF; i++) printf " %.15g", $i / sqrt(n)
    printf "\n" }' > "$T/x21.txt"
! cmpvec "$T/x21.txt" x "$T/c.txt" c 1e-3
tap_result $? "rq-rotate --compose: the other order does not"
rq-info "$T/r12.rqt" | grep -q "rotations=2"
tap_result $? "rq-rotate --compose: rotation count 2 in the metadata"

# --- rq-rotate bad input -------------------------------------------------
sed 's/^ekv f32/ekv i32/' "$T/est.txt" | mk > "$T/b5.rqt"
bad "rq-rotate wrong dtype" rq-rotate "$T/b5.rqt"
grep -q "b5.rqt: record 2: ekv: dtype i32" "$T/bad.err"
tap_result $? "rq-rotate wrong dtype: message names file and record"
grep -v '^ekv' "$T/est.txt" | mk > "$T/b6.rqt"
bad "rq-rotate missing record" rq-rotate "$T/b6.rqt"
grep -q "b6.rqt: no ekv record" "$T/bad.err"
tap_result $? "rq-rotate missing record: message names file and record"
sed 's/^eka f64 5 - .*/eka f64 2,5 - 1 2 3 4 5 6 7 8 9 10/' "$T/est.txt" |
    mk > "$T/b7.rqt"
bad "rq-rotate wrong shape" rq-rotate "$T/b7.rqt"
printf 'w f32 3 - 1 2 3\n' | mk > "$T/b8.rqt"
bad "rq-rotate --apply wrong last dim" rq-rotate --apply "$T/rot.rqt" "$T/b8.rqt"
grep -q "b8.rqt: record 0: w: last dimension must be 5" "$T/bad.err"
tap_result $? "rq-rotate --apply wrong last dim: message names file and record"
bad "rq-rotate rho without AIR" rq-rotate --rho 2 "$T/est.rqt"
rq-rotate --rho x "$T/est.rqt" > /dev/null 2>&1
[ $? -eq 2 ]
tap_result $? "rq-rotate: bad --rho exits 2"

