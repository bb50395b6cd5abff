#!/bin/sh
# install.t: `make install PREFIX=... [DESTDIR=...]` gives a working
# installation in a temporary directory: the programs run from anywhere,
# the scripts under rq- names work outside the source tree, man finds the
# pages, and a C program compiles and links against the installed librq
# through pkg-config; `make uninstall` removes it all.
. tests/tap.sh
# make check-valgrind turns bin/rq-* into wrapper scripts: nothing to install
head -c 4 bin/rq-info | grep -q ELF || skip_all 'bin/rq-info is not a program (check-valgrind wrappers)'
plan 21

P=$T/prefix
# under make check-asan a relink must keep the sanitizer flags
mk() { ${MAKE:-make} -s --no-print-directory SANFLAGS="${RQ_SANFLAGS:-}" "$@" >"$T/make.log" 2>&1 ||
    { cat "$T/make.log"; return 1; }; }
ok 'make install PREFIX=tmp' mk install PREFIX="$P"

want=$(cd bin && ls rq-* | grep -v '\.c$' | grep -v '^rq-train-mpi$' |
    sort | tr '\n' ' ')
got=$(cd "$P/bin" && ls | grep -v -e '^rq-train-mpi$' -e '^rq-fetch-data$' \
    -e '^rq-cremad-manifest$' -e '^rq-ks-manifest$' -e '^rq-slurm-tables$' \
    -e '^rq-vit-convert$' -e '^rq-make-dataset$' -e '^rq-mosei-import$' |
    sort | tr '\n' ' ')
is 'every program of bin/ is installed' "$got" "$want"
ok '  ... and the five scripts under rq- names' test -x "$P/bin/rq-fetch-data" \
    -a -x "$P/bin/rq-cremad-manifest" -a -x "$P/bin/rq-ks-manifest" \
    -a -x "$P/bin/rq-slurm-tables" -a -x "$P/bin/rq-make-dataset"
if [ -x bin/rq-train-mpi ]; then
	ok 'rq-train-mpi (built) is installed' test -x "$P/bin/rq-train-mpi"
else
	skip 'rq-train-mpi is installed' 'not built (no mpicc)'
fi

# from another directory, with only the installation on PATH
mkdir -p "$T/away"
ok 'installed programs run from another directory' sh -c \
    "cd '$T/away' && PATH='$P/bin':/usr/bin:/bin && rq-synth -n 8 -s 1 -o s.rqt &&
     rq-info s.rqt | grep -q audio"

# rq-fetch-data writes data/ in the current directory, not in the prefix
mkdir -p "$T/shared/fsdd/recordings" "$T/shared/mnist"
cp testdata/tone.wav "$T/shared/fsdd/recordings/0_x_0.wav"
(cd "$T/away" && "$P/bin/rq-fetch-data" -s "$T/shared") >"$T/fd.out" 2>&1
is 'rq-fetch-data: exit 1 on a shared copy that fails the check' "$?" 1
ok '  ... it linked data/fsdd in the current directory' test -L "$T/away/data/fsdd"
ok '  ... and wrote nothing in the prefix' test ! -e "$P/data"
like '  ... the message names it rq-fetch-data and the count' \
    "$(cat "$T/fd.out")" 'rq-fetch-data: data/fsdd/recordings: 1 WAV files, expected 3000'

# rq-slurm-tables in a checkout (a stand-in run-one.sh) from its root, -C,
# and as an array task started from elsewhere
mkdir -p "$T/co/experiments"
cat >"$T/co/experiments/run-one.sh" <<'EOS'
#!/bin/sh
if [ "$1" = -l ]; then printf 'synth/mt/s0\nsynth/mt-rq/s0\n'; exit 0; fi
echo "$PWD $1" >"$PWD/ran"
EOS
chmod +x "$T/co/experiments/run-one.sh"
like 'rq-slurm-tables -n from the checkout root' \
    "$(cd "$T/co" && PATH=/usr/bin:/bin "$P/bin/rq-slurm-tables" -n)" \
    "--array=1-2 --cpus-per-task=1 --time=24:00:00 --job-name=rq-tables --output=$T/co/results/slurm/%A_%a.out --export=ALL,RQ_RUNS_FILE=$T/co/results/slurm/runs.txt,RQ_ROOT=$T/co $P/bin/rq-slurm-tables"
like '  ... and with -C from elsewhere' \
    "$(cd "$T/away" && "$P/bin/rq-slurm-tables" -n -C ../co)" "RQ_ROOT=$T/co "
ok '  ... an array task runs line 2 in the checkout' sh -c \
    "cd / && SLURM_ARRAY_TASK_ID=2 RQ_RUNS_FILE='$T/co/results/slurm/runs.txt' \
     RQ_ROOT='$T/co' '$P/bin/rq-slurm-tables' && grep -qx '$T/co synth/mt-rq/s0' '$T/co/ran'"
fails_cleanly '  ... outside a checkout it says how to name one' \
    'experiments/run-one.sh: not found (run from an rq checkout, or give -C dir)' \
    sh -c "cd '$T/away' && '$P/bin/rq-slurm-tables' -n"

# man pages
is 'man finds the installed pages' \
    "$(MANPATH="$P/share/man" man -w rq rq-npy rq-tensor rq-fetch-data | sed "s|$P/share/man/||" | tr '\n' ' ')" \
    'man7/rq.7 man1/rq-npy.1 man5/rq-tensor.5 man1/rq-fetch-data.1 '
is '  ... rq-fetch-data.1 names the installed command' \
    "$(grep -c -e '^\.Nm rq-fetch-data' -e '^\.Dt RQ-FETCH-DATA' "$P/share/man/man1/rq-fetch-data.1")" 2

# the library through pkg-config
cat >"$T/use.c" <<'EOS'
#include <stdio.h>
#include <rq.h>
int
main(void)
{
	rq_tensor t;
	uint64_t d[2] = {2, 3};

	rq_tensor_init(&t);
	if (rq_tensor_alloc(&t, RQ_F32, 2, d) != RQ_OK)
		return 1;
	rq_tensor_put(&t, 5, 2.5);
	printf("%s %zu %g\n", rq_dtype_name(t.dtype), rq_tensor_numel(&t),
	    rq_tensor_get(&t, 5));
	rq_tensor_free(&t);
	return 0;
}
EOS
ok 'pkg-config --cflags --libs rq resolves' sh -c \
    "PKG_CONFIG_PATH='$P/lib/pkgconfig' pkg-config --cflags --libs rq >'$T/pc'"
ok '  ... a C program compiles and links against the installed librq' sh -c \
    "cc \${RQ_SANFLAGS:-} -o '$T/use' '$T/use.c' \$(cat '$T/pc')"
is '  ... and runs' "$("$T/use")" 'f32 6 2.5'

# DESTDIR: staged under it, configured for PREFIX
ok 'make install DESTDIR=tmp PREFIX=/opt/rq' mk install DESTDIR="$T/stage" PREFIX=/opt/rq
is '  ... staged files, rq.pc for /opt/rq' \
    "$(test -x "$T/stage/opt/rq/bin/rq-info" && sed -n 's/^prefix=//p' "$T/stage/opt/rq/lib/pkgconfig/rq.pc")" /opt/rq

mk uninstall PREFIX="$P"
is 'make uninstall leaves no file in the prefix' "$(find "$P" -type f | head -3)" ''
