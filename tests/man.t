#!/bin/sh
# man.t: rq(7) is the overview: its SEE ALSO names every manual page of
# man/, its program list every program of bin/ and every script; every
# .Xr of rq(7) points at a page of man/ or a system page.
. tests/tap.sh
plan 3

see=$(sed -n '/^\.Sh SEE ALSO/,/^\.Sh /p' man/rq.7 | sed -n 's/^\.Xr \([^ ]*\) \([0-9]\).*/\1.\2/p' | sort | tr '\n' ' ')
pages=$(cd man && ls *.[1-9] | grep -v '^rq\.7$' | sort | tr '\n' ' ')
is 'rq(7) SEE ALSO names every page of man/' "$see" "$pages"

listed=$(sed -n '/^\.Ss Programs/,/^\.Ss Pipelines/p' man/rq.7 | sed -n -e 's/^\.It Xr \([^ ]*\) 1$/\1/p' -e 's|^\.It Pa scripts/\(.*\)$|\1|p' | sort | tr '\n' ' ')
progs=$( { ls bin/rq-*.c | sed 's|bin/\(.*\)\.c|\1|'; ls scripts | grep -v install-deps; } | sort | tr '\n' ' ')
is 'rq(7) describes every program and script' "$listed" "$progs"

bad=
for x in $(sed -n 's/.*Xr \([a-z][a-z0-9._-]*\) \([0-9]\).*/\1.\2/p' man/rq.7 | sort -u); do
	[ -f "man/$x" ] && continue
	case $x in rq*|fetch-data*|cremad-manifest*) bad="$bad $x" ;; esac
done
is 'every .Xr of rq(7) to an rq page has a page' "$bad" ''
