# tmk.sh: builds tests/tmk.c into $T (one TAP test, "helper builds") and
# defines mk (text -> stream) and dump (stream -> text).  Source it after
# tests/tap.sh.
LIBS=$(pkg-config --libs gsl libpng sndfile zlib openblas 2>/dev/null |
    sed 's/-lgslcblas//g')
# under `make check-asan` lib/librq.a is built with sanitizers, whose
# flags the helper must link with too ($RQ_SANFLAGS, empty otherwise)
cc $RQ_SANFLAGS -std=c11 -D_POSIX_C_SOURCE=200809L -Ilib -o "$T/tmk" \
    tests/tmk.c lib/librq.a $LIBS -lm -lpthread 2>"$T/cc.err"
tap_result $? "helper builds"
ln -s tmk "$T/tdump"
mk() { "$T/tmk"; }
dump() { "$T/tdump"; }
