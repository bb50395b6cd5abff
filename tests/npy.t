#!/bin/sh
# npy.t: rq-npy import and export; numpy reads what we write and we read
# what numpy writes (skipped where numpy is missing).
. tests/tap.sh
n_fix=$(ls testdata/npy/*.want.npy | wc -l)
plan $((17 + n_fix))

printf '\000\001\002\003\004\005' | mknpy "$T/a.npy" '|u1' '(2, 3)'
printf '\007\000\000\000\011\000\000\000' | mknpy "$T/label.npy" '<i4' '(2,)'
ok 'import two files' sh -c "rq-npy --meta classes=10 '$T/a.npy' '$T/label.npy' >'$T/x.rqt'"
is '  ... names from the files, metadata from -m' \
    "$(rq-info "$T/x.rqt" | cut -f2-5 | tr '\t\n' ' |')" 'a u8 [2,3] classes=10|label i32 [2] classes=10|'
ok 'export with -x -d' rq-npy --export --dir "$T/out" "$T/x.rqt"
is '  ... files' "$(cd "$T/out" && ls | tr '\n' ' ')" '0000-a.meta 0000-a.npy 0001-label.meta 0001-label.npy '
ok '  ... the .npy is the imported file byte for byte' cmp "$T/out/0000-a.npy" "$T/a.npy"
ok 're-import gives the same stream (names, metadata)' \
    sh -c "rq-npy '$T'/out/*.npy | cmp - '$T/x.rqt'"
ok 'export -n selects' rq-npy --export --name 'l*' --dir "$T/sel" "$T/x.rqt"
is '  ... only label' "$(ls "$T/sel" | tr '\n' ' ')" '0001-label.meta 0001-label.npy '
printf '\000\001\002\003' | mknpy "$T/be.npy" '>u2' '(2,)'
is 'import: big-endian u2 swapped to host order' \
    "$(rq-npy "$T/be.npy" | rq-tsv)" "$(printf '1\n515')"

# testdata/npy (testdata/gen-npy.py, numpy's own files): each NAME.npy
# imported and exported again is NAME.want.npy, C order little-endian
for w in testdata/npy/*.want.npy; do
	n=${w%.want.npy}
	rm -rf "$T/fx"
	ok "numpy fixture ${n##*/}: imported = $(basename "$w")" sh -c \
	    "rq-npy '$n.npy' | rq-npy --export --dir '$T/fx' && cmp '$T'/fx/0000-*.npy '$w'"
done
fails_cleanly 'import: complex refused, the descr named whole' \
    "bad-c8.npy: .npy dtype '<c8' not supported (want bool," \
    rq-npy testdata/npy/bad-c8.npy
fails_cleanly 'import: unicode refused, the descr named whole' \
    "bad-U3.npy: .npy dtype '<U3' not supported" rq-npy testdata/npy/bad-U3.npy
fails_cleanly 'import: structured dtype refused' \
    'bad-struct.npy: .npy dtype is a structured (record) type' \
    rq-npy testdata/npy/bad-struct.npy
fails_cleanly 'import: missing file' 'nosuch.npy' rq-npy "$T/nosuch.npy"

py=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import numpy' 2>/dev/null; then py=$p; break; fi
done
if [ -z "$py" ]; then
	for i in 1 2 3 4; do skip "numpy check $i" 'numpy not installed'; done
	exit 0
fi
ok 'numpy writes every dtype and shape' "$py" -c "
import numpy as np
k = 0
for dt in ['u1','i1','<u2','<i2','<u4','<i4','<u8','<i8','<f4','<f8']:
    for sh in [(), (0,), (3,), (2, 0, 4), (2, 3), (1, 2, 1, 2, 1, 2, 1, 2)]:
        a = (np.arange(int(np.prod(sh)), dtype=np.float64) * 7 - 11).astype(dt).reshape(sh)
        np.save('$T/np%02d.npy' % k, a)
        k += 1
"
ok 'import them all, export them again' sh -c "rq-npy '$T'/np*.npy >'$T/np.rqt' && rq-npy --export --dir '$T/back' '$T/np.rqt'"
ok 'numpy: exported arrays equal the originals (dtype, shape, values)' "$py" -c "
import numpy as np, glob, os
src = sorted(glob.glob('$T/np*.npy'))
dst = sorted(glob.glob('$T/back/*.npy'))
assert len(src) == len(dst) == 60, (len(src), len(dst))
for s, d in zip(src, dst):
    a, b = np.load(s), np.load(d)
    assert os.path.basename(d)[5:] == os.path.basename(s), (s, d)
    assert a.dtype == b.dtype and a.shape == b.shape, (s, a.dtype, b.dtype, a.shape, b.shape)
    assert np.array_equal(a, b), s
"
ok 'numpy: values written by rq-npy are what the stream holds' "$py" -c "
import numpy as np
a = np.load('$T/out/0000-a.npy'); l = np.load('$T/out/0001-label.npy')
assert a.dtype == np.uint8 and a.tolist() == [[0, 1, 2], [3, 4, 5]], a
assert l.dtype == np.int32 and l.tolist() == [7, 9], l
assert open('$T/out/0001-label.meta').read() == 'classes=10\n'
"
