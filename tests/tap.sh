# tap.sh: POSIX sh helpers for TAP tests run by `prove -e sh` from the
# repository root.  Source it:  . tests/tap.sh
#
#   plan N                       "1..N"
#   skip_all REASON              "1..0 # SKIP REASON", exit 0
#   ok DESC CMD [ARG...]         pass when CMD exits 0 (its output is shown
#                                as diagnostics on failure)
#   nok DESC CMD [ARG...]        pass when CMD exits non-zero
#   is DESC GOT WANT             pass when the strings are equal
#   like DESC GOT SUBSTRING      pass when GOT contains SUBSTRING
#   fails_cleanly DESC SUBSTR [-f FILE] CMD [ARG...]
#                                pass when CMD exits 1, writes exactly one
#                                line to stderr containing SUBSTR, nothing
#                                to stdout, and (with -f) FILE is absent
#   skip DESC REASON             "ok N - DESC # SKIP REASON"
#   diag MSG                     "# MSG"
#   mknpy FILE DESCR SHAPE       a .npy file from raw bytes on stdin, e.g.
#                                printf '\001\002' | mknpy a.npy '|u1' '(2,)'
#   kill_resume CKPT TRAIN VAL FLAG...
#                                rq-train FLAG... -o CKPT TRAIN VAL killed
#                                (SIGKILL) once CKPT exists, then resumed
#                                with -r CKPT -o CKPT (a diagnostic when the
#                                run ended before the kill)
#   eval_is_logged DESC CKPT DATA LOG EPOCH
#                                pass when rq-eval --summary CKPT DATA gives
#                                the val_acc LOG has for epoch EPOCH
#
# $T is a fresh scratch directory, removed at exit; bin/ is first in PATH.
# The exit status is non-zero when a test failed.

TAP_N=0
TAP_FAIL=0
PATH=$PWD/bin:$PATH
export PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/rq-tap.XXXXXX") || exit 1
trap 'rm -rf "$T"; exit $TAP_FAIL' EXIT
trap 'exit 1' HUP INT TERM

plan() { echo "1..$1"; }

skip_all() { echo "1..0 # SKIP $1"; exit 0; }

diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

tap_result() {	# STATUS DESC
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAIL=1
	fi
}

ok() {
	tap_d=$1
	shift
	"$@" >"$T/.out" 2>&1
	tap_s=$?
	tap_result $tap_s "$tap_d"
	[ $tap_s -eq 0 ] || { diag "exit $tap_s: $*"; diag "$(cat "$T/.out")"; }
	return $tap_s
}

nok() {
	tap_d=$1
	shift
	if "$@" >"$T/.out" 2>&1; then
		tap_result 1 "$tap_d"
		diag "unexpected success: $*"
		return 1
	fi
	tap_result 0 "$tap_d"
}

is() {
	if [ "$2" = "$3" ]; then
		tap_result 0 "$1"
	else
		tap_result 1 "$1"
		diag "got:  '$2'"
		diag "want: '$3'"
		return 1
	fi
}

like() {
	case $2 in
	*"$3"*) tap_result 0 "$1" ;;
	*) tap_result 1 "$1"; diag "got:  '$2'"; diag "want: *$3*"; return 1 ;;
	esac
}

skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

fails_cleanly() {
	tap_d=$1
	tap_want=$2
	tap_f=
	shift 2
	if [ "$1" = -f ]; then
		tap_f=$2
		shift 2
	fi
	"$@" >"$T/.out" 2>"$T/.err"
	tap_s=$?
	tap_why=
	if [ $tap_s -ne 1 ]; then
		tap_why="exit status $tap_s, want 1"
	elif [ -s "$T/.out" ]; then
		tap_why="stdout not empty ($(wc -c <"$T/.out") bytes)"
	elif [ "$(wc -l <"$T/.err")" -ne 1 ] ||
	    [ "$(tail -c 1 "$T/.err" | od -An -c | tr -d ' ')" != '\n' ]; then
		tap_why="stderr is not exactly one line"
	elif ! grep -qF -- "$tap_want" "$T/.err"; then
		tap_why="stderr lacks '$tap_want'"
	elif [ -n "$tap_f" ] && [ -e "$tap_f" ]; then
		tap_why="$tap_f exists"
	fi
	if [ -z "$tap_why" ]; then
		tap_result 0 "$tap_d"
		return 0
	fi
	tap_result 1 "$tap_d"
	diag "$tap_why: $*"
	diag "stderr: $(cat "$T/.err")"
	return 1
}

mknpy() {	# FILE DESCR SHAPE < data
	tap_h="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
	tap_l=$((${#tap_h} + 11))
	while [ $((tap_l % 64)) -ne 0 ]; do
		tap_h="$tap_h "
		tap_l=$((tap_l + 1))
	done
	tap_l=$((${#tap_h} + 1))
	{
		printf '\223NUMPY\001\000'
		printf "\\$(printf %03o $((tap_l % 256)))"
		printf "\\$(printf %03o $((tap_l / 256)))"
		printf '%s\n' "$tap_h"
		cat
	} >"$1"
}

kill_resume() {	# CKPT TRAIN VAL FLAG...
	tap_k=$1
	tap_tr=$2
	tap_va=$3
	shift 3
	# in a subshell whose stderr is /dev/null: the shell's own "Killed"
	tap_s=$( (rq-train "$@" -o "$tap_k" "$tap_tr" "$tap_va" 2>/dev/null &
	tap_p=$!
	while [ ! -f "$tap_k" ] && kill -0 $tap_p 2>/dev/null; do
		sleep 0.01
	done
	kill -9 $tap_p 2>/dev/null
	wait $tap_p
	echo $?) 2>/dev/null)
	[ "$tap_s" -eq 137 ] || diag "run ended (status $tap_s) before the kill"
	rq-train -r "$tap_k" -o "$tap_k" "$tap_tr" "$tap_va" 2>/dev/null
}

eval_is_logged() {	# DESC CKPT DATA LOG EPOCH
	is "$1" "$(rq-eval --summary "$2" "$3" |
	    sed 's/^acc=\([0-9.]*\) .*/\1/')" \
	    "$(sed -n "s/^epoch=$5 .* val_acc=\([0-9.]*\) .*/\1/p" "$4")"
}
