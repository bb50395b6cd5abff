#!/bin/sh
# pearson.t: rq-pearson against SciPy golden values (testdata/gen-pearson.py
# wrote testdata/pearson-golden.*), its output forms and its errors.
. tests/tap.sh
plan 22

G=testdata/pearson-golden.tsv

# check SET METHOD LEVEL OUTPUT: every field within 1e-6 relative of $G
check() {
	printf '%s\n' "$4" | awk -v set="$1" -v m="$2" -v lv="$3" -v g="$G" '
	function bad(a, b) { d = a - b; if (d < 0) d = -d; s = b < 0 ? -b : b
		return d > 1e-6 * s && d > 1e-15 }
	BEGIN { FS = "\t"
		while ((getline l < g) > 0) {
			split(l, f, "\t")
			if (f[1] == set && f[2] == m && f[3] + 0 == lv + 0) {
				n = f[4]; r = f[5]; p = f[6]; lo = f[7]; hi = f[8]
				found = 1
			}
		}
		if (!found) { print "no golden row"; exit 1 } }
	{ split($0, kv, " ")
		for (i in kv) { split(kv[i], a, "="); v[a[1]] = a[2] }
		e = 0
		if (v["n"] != n) { print "n " v["n"] " want " n; e = 1 }
		if (bad(v["r"], r)) { print "r " v["r"] " want " r; e = 1 }
		if (bad(v["p"], p)) { print "p " v["p"] " want " p; e = 1 }
		if (bad(v["ci_lo"], lo)) { print "ci_lo " v["ci_lo"] " want " lo; e = 1 }
		if (bad(v["ci_hi"], hi)) { print "ci_hi " v["ci_hi"] " want " hi; e = 1 }
		exit e }'
}

for set in hand gauss50 ties30 biserial40 n3 neg200; do
	f=testdata/pearson-golden.$set.tsv
	ok "pearson $set vs scipy" check $set pearson 0.95 \
	    "$(rq-pearson -t "$f")"
	ok "spearman $set -c 0.9 vs scipy" check $set spearman 0.9 \
	    "$(rq-pearson -t --spearman -c 0.9 <"$f")"
done

f=testdata/pearson-golden.ties30.tsv
is 'columns by name or number agree' "$(rq-pearson -t -x y -y x "$f")" \
    "$(rq-pearson -t -x 2 -y 1 "$f")"
is '-H prints a header and a TSV row' \
    "$(rq-pearson -tH "$f" | cut -f1,3 | tr '\t\n' ',|')" 'r,n|0.709463889,30|'
is 'x and y swapped: same r' "$(rq-pearson -t -x 2 -y 1 "$f" | cut -d' ' -f1)" \
    "$(rq-pearson -t "$f" | cut -d' ' -f1)"

printf '1\t2\n2\t4\n3\tnan\n4\t3\n' >"$T/nan.tsv"
fails_cleanly 'NaN: file and line named' 'nan.tsv: line 3: column 2 is NaN' \
    rq-pearson -t "$T/nan.tsv"
printf 'a\tb\n1\t2\n2\tx\n' >"$T/word.tsv"
fails_cleanly 'not a number' "word.tsv: line 3: column 2: not a number" \
    rq-pearson -t "$T/word.tsv"
printf '1\t2\n2\t2\n3\t2\n' >"$T/const.tsv"
fails_cleanly 'constant column' "const.tsv: column '2' is constant" \
    rq-pearson -t "$T/const.tsv"
printf '1\t2\n2\t3\n' >"$T/two.tsv"
fails_cleanly 'two pairs are too few' 'two.tsv: 2 pairs; need at least 3' \
    rq-pearson -t "$T/two.tsv"
fails_cleanly 'unknown column name' "no column named 'z'" \
    rq-pearson -t -x z "$f"
rq-pearson -t -c 1.5 "$f" >/dev/null 2>&1
is 'bad level is a usage error' $? 2
rq-pearson -x a >/dev/null 2>&1 </dev/null
is 'stream mode needs -x and -y' $? 2
