#!/bin/sh
# tsv.t: rq-tsv prints records as text; values checked against a stream
# made by rq-npy from known bytes.
. tests/tap.sh
plan 8

printf '\001\000\000\000\002\000\000\000\003\000\000\000\004\000\000\000\005\000\000\000\006\000\000\000' |
    mknpy "$T/a.npy" '<i4' '(3, 2)'
printf '\000\000\040\101\000\000\300\077\000\000\000\300' | mknpy "$T/b.npy" '<f4' '(3,)'
rq-npy "$T/a.npy" "$T/b.npy" > "$T/x.rqt"
is 'every record, blank line between' "$(rq-tsv "$T/x.rqt" | tr '\t\n' ',|')" \
    '1,2|3,4|5,6||10|1.5|-2|'
is 'names pasted side by side with a header' \
    "$(rq-tsv -H --name b --name a "$T/x.rqt" | tr '\t\n' ',|')" \
    'b,a:0,a:1|10,1,2|1.5,3,4|-2,5,6|'
rq-cat "$T/x.rqt" "$T/x.rqt" > "$T/xx.rqt"
is 'chunks concatenated' "$(rq-tsv --name b "$T/xx.rqt" | tr '\n' ',')" '10,1.5,-2,10,1.5,-2,'
is 'stdin' "$(rq-tsv --name b < "$T/x.rqt" | tr '\n' ',')" '10,1.5,-2,'
fails_cleanly 'missing name' 'no record named nope' rq-tsv --name nope "$T/x.rqt"
printf '\001\000\000\000' | mknpy "$T/c.npy" '<i4' '(1,)'
rq-npy "$T/a.npy" "$T/c.npy" > "$T/y.rqt"
fails_cleanly 'different row counts' 'has 1 rows' rq-tsv --name a --name c "$T/y.rqt"
head -c 50 "$T/x.rqt" > "$T/trunc.rqt"
fails_cleanly 'truncated stream: nothing printed' 'trunc.rqt: record 0' rq-tsv "$T/trunc.rqt"
rq-tsv -Z "$T/x.rqt" 2>/dev/null
is 'bad option exits 2' "$?" 2
