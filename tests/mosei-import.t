#!/bin/sh
# mosei-import.t: scripts/mosei-import on a small made-up pickle shaped as
# the public unaligned CMU-MOSEI one: the streams it writes (shapes,
# metadata, values cut and padded as MultiBench does, labels under both
# zero conventions, ids), --length, --drop-empty-text, and the refusals
# (a missing key, a wrong shape, a missing split, not a dict, a pickled
# object that is not an array), each with nothing written.  Skipped when
# /usr/bin/python3 lacks numpy.
. tests/tap.sh
PY=/usr/bin/python3
"$PY" -c 'import numpy' 2>/dev/null ||
    skip_all "$PY lacks numpy (Debian: python3-numpy)"
plan 27

MI=scripts/mosei-import
# the fake pickle: train 6 samples (text starts at step 2 in sample 0, no
# text at all in sample 1, scores of exactly 0 in samples 2 and 3; vision
# 8 steps, text 5; a NaN in vision, -inf and NaN in audio), valid 3, test 4
"$PY" - "$T" <<'EOF'
import pickle, sys
import numpy as np
T = sys.argv[1]
rng = np.random.default_rng(7)

def split(n, tv, tt, scores):
    v = rng.standard_normal((n, tv, 35)).astype(np.float32)
    t = rng.standard_normal((n, tt, 300)).astype(np.float32)
    a = rng.standard_normal((n, tv, 74)).astype(np.float32)
    a[0, 0, 0] = -np.inf
    a[-1, 1, 2] = np.nan
    return {"vision": v, "text": t, "audio": a,
            "labels": np.array(scores, np.float32).reshape(n, 1, 1),
            "id": np.array([["clip%d" % i, str(i)] for i in range(n)])}

d = {"train": split(6, 8, 5, [1.2, -0.5, 0.0, 0.0, -2.0, 3.0]),
     "valid": split(3, 8, 5, [0.4, -0.4, 0.0]),
     "test": split(4, 8, 5, [2.0, -1.0, 0.6, -3.0])}
tr = d["train"]
tr["text"][0, :2] = 0          # front padding: text starts at step 2
tr["text"][1] = 0              # no text at all
tr["vision"][2, 3, 4] = np.nan
with open(T + "/mosei.pkl", "wb") as f:
    pickle.dump(d, f)
# variants to refuse
def save(name, obj):
    with open("%s/%s.pkl" % (T, name), "wb") as f:
        pickle.dump(obj, f)
e = {k: dict(v) for k, v in d.items()}
del e["valid"]["text"]
save("nokey", e)
e = {k: dict(v) for k, v in d.items()}
e["test"]["vision"] = e["test"]["vision"][:, :, :34]
save("shape", e)
e = {k: dict(v) for k, v in d.items()}
e["train"]["labels"] = np.zeros((6, 1, 7), np.float32)
save("labels", e)
save("nosplit", {"train": d["train"], "test": d["test"]})
save("list", [1, 2, 3])
class Evil:
    def __reduce__(self):
        import os
        return (os.system, ("touch %s/pwned" % T,))
save("evil", {"train": Evil()})
EOF

out=$T/out
ok 'import the fake pickle' sh -c "$MI '$T/mosei.pkl' '$out' >'$T/log'"
is '  ... three streams' "$(cd "$out" && ls | tr '\n' ' ')" \
    'test.rqt train.rqt val.rqt '
is '  ... mode 644 under umask 022, as open(2) makes it' \
    "$(umask 022; rm -rf "$T/um"; $MI "$T/mosei.pkl" "$T/um" >/dev/null &&
    stat -c %a "$T/um/train.rqt")" 644
is '  ... records, dtypes, shapes, metadata (train)' \
    "$(rq-info "$out/train.rqt" | cut -f 2-4 | tr '\t\n' ' |')" \
    'vision f32 [6,50,35]|text f32 [6,50,300]|label i32 [6]|id i64 [6]|'
meta=$(rq-info "$out/val.rqt" | head -n 1 | cut -f 5)
like '  ... vision: layout=seq' "$meta" 'layout=seq'
like '  ... dataset, split, classes' "$meta" 'dataset=mosei split=val classes=2'
like '  ... text: layout=seq' "$(rq-info "$out/test.rqt" | sed -n 2p)" 'layout=seq'
is '  ... label and id carry no layout' \
    "$(rq-info "$out/test.rqt" | sed -n '3,4p' | grep -c layout)" 0
like '  ... counts and balance printed' "$(cat "$T/log")" \
    'train: 6 samples (of 6; 1 with empty text kept), label 1 (positive): 2 (33.3%), label 0: 4, score 0: 2 (label 0)'
like '  ... the non-finite values counted' "$(cat "$T/log")" \
    'non-finite set to 0: vision 1, text 0 (audio, not written: 2)'

# the expected streams, by loops written here (not the script's code):
# for each sample, start = the text's first step with a non-zero value (0
# when none), x[start:start+L] of both modalities, zeros after
check() {	# DIR L ZERO DROP
	for s in train val test; do
		rm -rf "$T/x"
		rq-npy --export --dir "$T/x" "$1/$s.rqt" || return 1
		"$PY" - "$T" "$s" "$2" "$3" "$4" <<'EOF' || return 1
import pickle, sys
import numpy as np
T, s, L, zero, drop = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
d = pickle.load(open(T + "/mosei.pkl", "rb"))[{"val": "valid"}.get(s, s)]
n = d["labels"].shape[0]
ids = [i for i in range(n) if not (drop and not d["text"][i].any())]
want = {"vision": np.zeros((len(ids), L, 35), np.float32),
        "text": np.zeros((len(ids), L, 300), np.float32)}
lab = []
for j, i in enumerate(ids):
    st = 0
    while st < d["text"].shape[1] and not d["text"][i, st].any():
        st += 1
    if st == d["text"].shape[1]:
        st = 0
    for k in ("vision", "text"):
        x = d[k][i]
        for t in range(L):
            if st + t < x.shape[0]:
                v = x[st + t]
                want[k][j, t] = np.where(np.isfinite(v), v, 0)
    y = float(d["labels"][i].ravel()[0])
    lab.append(1 if (y > 0 or (zero == "positive" and y == 0)) else 0)
got = {k: np.load("%s/x/%04d-%s.npy" % (T, r, k))
       for r, k in enumerate(("vision", "text", "label", "id"))}
for k in ("vision", "text"):
    assert got[k].shape == want[k].shape, (k, got[k].shape, want[k].shape)
    assert np.array_equal(got[k], want[k]), k
assert got["label"].tolist() == lab, (got["label"].tolist(), lab)
assert got["id"].tolist() == ids, (got["id"].tolist(), ids)
EOF
	done
}
ok '  ... values: cut at the text start, first 50 kept, zero-padded, labels score > 0' \
    check "$out" 50 negative 0
is '  ... train labels (score 0 -> 0)' "$(rq-tsv --name label "$out/train.rqt" | tr '\n' ' ')" \
    '1 0 0 0 0 1 '

ok '--zero positive' sh -c "$MI --zero positive '$T/mosei.pkl' '$T/pos' >'$T/log2'"
is '  ... train labels (score 0 -> 1)' "$(rq-tsv --name label "$T/pos/train.rqt" | tr '\n' ' ')" \
    '1 0 1 1 0 1 '
ok '  ... values' check "$T/pos" 50 positive 0
like '  ... metadata records the convention' "$(rq-info "$T/pos/train.rqt" | sed -n 3p)" 'mosei.zero=positive'

ok '--length 3 --drop-empty-text' \
    sh -c "$MI --length 3 --drop-empty-text '$T/mosei.pkl' '$T/short' >'$T/log3'"
is '  ... shapes' "$(rq-info "$T/short/train.rqt" | cut -f 4 | tr '\n' ' ')" \
    '[5,3,35] [5,3,300] [5] [5] '
ok '  ... values (the first 3 steps after the text start; sample 1 dropped)' \
    check "$T/short" 3 negative 1
like '  ... the drop is counted' "$(cat "$T/log3")" '5 samples (of 6; 1 with empty text dropped)'

fails_cleanly 'refuses a split without text' "valid: no 'text'" \
    -f "$T/r1" $MI "$T/nokey.pkl" "$T/r1"
fails_cleanly 'refuses vision of 34 features' \
    'test: vision: float32 [4, 8, 34], want float [4,T,35]' \
    -f "$T/r2" $MI "$T/shape.pkl" "$T/r2"
fails_cleanly 'refuses 7 scores per sample' 'train: labels: float32 [6, 1, 7], want one score per sample' \
    -f "$T/r3" $MI "$T/labels.pkl" "$T/r3"
fails_cleanly 'refuses a pickle without the valid split' "no 'valid' split" \
    -f "$T/r4" $MI "$T/nosplit.pkl" "$T/r4"
fails_cleanly 'refuses a pickled list' 'a pickled list, want a dict' \
    -f "$T/r5" $MI "$T/list.pkl" "$T/r5"
fails_cleanly 'refuses a pickled call of os.system' "refusing a pickled object that is not a NumPy array" \
    -f "$T/r6" $MI "$T/evil.pkl" "$T/r6"
ok '  ... without running it' test ! -e "$T/pwned"
