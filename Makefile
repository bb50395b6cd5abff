# rq: one flat Makefile.  `make` builds lib/librq.a and bin/rq-*;
# `make check` runs the unit (Criterion) and CLI (TAP, prove) tests.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/rq
DESTDIR ?=

CC ?= cc
OPT ?= -O2 -march=native
CFLAGS ?= $(OPT) -g
WARN = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
       -Wall -Wextra -Wshadow -Wno-unused-parameter
PKGS = gsl libpng libjpeg sndfile zlib openblas

# Probe the packages; a failed probe installs them (scripts/install-deps).
ifeq ($(filter clean lint uninstall,$(MAKECMDGOALS)),)
PROBE := $(shell pkg-config --exists $(PKGS) criterion && \
	command -v prove mandoc groff gnuplot >/dev/null && echo ok)
ifneq ($(PROBE),ok)
$(info rq: pkg-config probe failed; running scripts/install-deps)
INSTALL_STATUS := $(shell scripts/install-deps >&2; echo $$?)
ifneq ($(INSTALL_STATUS),0)
$(error scripts/install-deps failed; install the packages it lists)
endif
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# GSL's own CBLAS (gslcblas) is a naive loop: link GSL to OpenBLAS.
PKG_LIBS := $(filter-out -lgslcblas,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
ALL_CFLAGS = $(WARN) -Ilib $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS)
LDLIBS = $(PKG_LIBS) -lm -lpthread
CRIT_LIBS := $(shell pkg-config --libs criterion 2>/dev/null)

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:.c=.o)
BIN_SRC := $(sort $(wildcard bin/rq-*.c))
BINS := $(BIN_SRC:.c=)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_OBJ := $(TEST_SRC:.c=.o)
CLI_TESTS := $(sort $(wildcard tests/*.t))
MANS := $(sort $(wildcard man/*.[1-9]))
SCRIPTS := $(filter-out scripts/install-deps,$(wildcard scripts/*))

.PHONY: all check unit cli install uninstall clean lint
.SUFFIXES:

all: lib/librq.a $(BINS)

lib/%.o: lib/%.c lib/rq.h lib/vexp.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# --version: "rq-NAME VERSION (COMMIT)"; lib/cli.o is rebuilt when the
# commit changes (its stamp is named after it).  RQ_COMMIT may be given
# where there is no git (a tarball; tests/examples.t's copies).
RQ_RELEASE ?= 0.1.0
ifndef RQ_COMMIT
RQ_COMMIT := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
endif
lib/cli.o: ALL_CFLAGS += -DRQ_RELEASE='"$(RQ_RELEASE)"' -DRQ_COMMIT='"$(RQ_COMMIT)"'
lib/cli.o: lib/commit-$(RQ_COMMIT).d
lib/commit-$(RQ_COMMIT).d:
	rm -f lib/commit-*.d
	touch $@

lib/librq.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

bin/rq-%: bin/rq-%.c lib/librq.a lib/rq.h
	$(CC) $(ALL_CFLAGS) -o $@ $< lib/librq.a $(LDLIBS)

tests/%.o: tests/%.c lib/rq.h $(wildcard tests/*.h)
	$(CC) $(ALL_CFLAGS) -Wno-missing-field-initializers -c -o $@ $<

tests/unit: $(TEST_OBJ) lib/librq.a
	$(CC) $(ALL_CFLAGS) -o $@ $(TEST_OBJ) lib/librq.a $(CRIT_LIBS) $(LDLIBS)

check: unit cli

unit: tests/unit
	tests/unit --jobs 2

# tests/unit-emu512: test_gemm.c again, linked with lib/gemm.c built on
# tests/emu512.h (the AVX-512 intrinsics in portable C; see the hooks in
# gemm.c) ahead of librq.a, so the AVX-512 path runs on any CPU with
# AVX2.  -mno-avx512f, and the objdump check, keep real AVX-512
# instructions out of the emulation, whatever -march says.
EMU512_OBJ = tests/emu512-gemm.o tests/emu512-test_gemm.o
tests/emu512-gemm.o: lib/gemm.c lib/rq.h tests/emu512.h
	$(CC) $(ALL_CFLAGS) -mno-avx512f -DRQ_GEMM_EMU512 -c -o $@ lib/gemm.c
	@if command -v objdump >/dev/null && objdump -d $@ | grep -q zmm; then \
		echo "$@: AVX-512 instructions in the emulation" >&2; \
		rm -f $@; exit 1; fi
tests/emu512-test_gemm.o: tests/test_gemm.c lib/rq.h
	$(CC) $(ALL_CFLAGS) -DRQ_GEMM_EMU512 -c -o $@ tests/test_gemm.c
tests/unit-emu512: $(EMU512_OBJ) lib/librq.a
	$(CC) $(ALL_CFLAGS) -o $@ $(EMU512_OBJ) lib/librq.a $(CRIT_LIBS) \
	    $(LDLIBS)
.PHONY: unit-emu512 clean-emu512
check: unit-emu512
unit-emu512: tests/unit-emu512
	tests/unit-emu512 --jobs 2
clean: clean-emu512
clean-emu512:
	rm -f tests/unit-emu512

cli: all
	$(if $(CLI_TESTS),prove -e 'sh' $(CLI_TESTS),@echo "no CLI tests")

# Both renderers a reader meets: mandoc, and groff as Debian's man(1)
# runs it (80 columns); any warning of either fails.
lint:
	mandoc -Tlint -Wwarning $(MANS)
	@command -v groff >/dev/null || { echo "lint: groff not installed"; exit 1; }
	@bad=; for m in $(MANS); do \
		w=$$(groff -mandoc -Tutf8 -ww -z -rLL=78n -rLT=78n $$m 2>&1); \
		[ -z "$$w" ] || { printf '%s\n' "$$w"; bad="$$bad $$m"; }; \
	done; [ -z "$$bad" ] || { echo "lint: groff warnings in:$$bad"; exit 1; }

# `make install PREFIX=... [DESTDIR=...]`: programs; the scripts under
# rq- names (rq-fetch-data, rq-cremad-manifest, rq-slurm-tables), their
# man pages renamed to match; rq-train-mpi when built; librq.a, rq.h and
# rq.pc for C users; LICENSE and README under DOCDIR.
SCRIPT_NAMES := $(notdir $(SCRIPTS))
# installed man pages call the scripts by their installed names
MAN_RENAME = $(foreach s,$(SCRIPT_NAMES),-e 's,scripts/$(s),rq-$(s),g' \
	-e 's,^\.Nm $(s)\>,.Nm rq-$(s),' -e 's,Xr $(s)\>,Xr rq-$(s),g' \
	-e 's,^\.Dt $(shell echo $(s) | tr a-z- A-Z-) ,.Dt RQ-$(shell echo $(s) | tr a-z- A-Z-) ,')
RQ_PC_VERSION = $(or $(RQ_RELEASE),0.1.0)

.PHONY: rq.pc
rq.pc: rq.pc.in
	sed -e 's,@PREFIX@,$(PREFIX),' -e 's,@LIBDIR@,$(LIBDIR),' \
	    -e 's,@INCLUDEDIR@,$(INCLUDEDIR),' -e 's,@VERSION@,$(RQ_PC_VERSION),' \
	    -e 's,@LIBS@,$(PKG_LIBS) -lm -lpthread,' rq.pc.in > $@.tmp
	mv $@.tmp $@

install: all rq.pc
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DOCDIR)
	for b in $(BINS) $(if $(filter 1,$(MPI)),bin/rq-train-mpi); do \
		install -m 755 $$b $(DESTDIR)$(BINDIR)/; done
	for s in $(SCRIPT_NAMES); do \
		install -m 755 scripts/$$s $(DESTDIR)$(BINDIR)/rq-$$s; done
	install -m 644 lib/librq.a $(DESTDIR)$(LIBDIR)/
	install -m 644 lib/rq.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 rq.pc $(DESTDIR)$(PKGCONFIGDIR)/
	for m in $(MANS); do \
		b=$${m#man/}; case " $(SCRIPT_NAMES) " in \
		*" $${b%.*} "*) b=rq-$$b ;; esac; \
		sed $(MAN_RENAME) $$m > $(DESTDIR)$(MANDIR)/man$${m##*.}/$$b; \
	done
	install -m 644 LICENSE README.md $(DESTDIR)$(DOCDIR)/

uninstall:
	for b in $(notdir $(BINS)) rq-train-mpi $(SCRIPT_NAMES:%=rq-%); do \
		rm -f $(DESTDIR)$(BINDIR)/$$b; done
	for m in $(notdir $(MANS)); do \
		case " $(SCRIPT_NAMES) " in *" $${m%.*} "*) m=rq-$$m ;; esac; \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m; done
	rm -f $(DESTDIR)$(LIBDIR)/librq.a $(DESTDIR)$(INCLUDEDIR)/rq.h \
	    $(DESTDIR)$(PKGCONFIGDIR)/rq.pc $(DESTDIR)$(DOCDIR)/LICENSE \
	    $(DESTDIR)$(DOCDIR)/README.md
	-rmdir $(DESTDIR)$(DOCDIR)

clean:
	rm -f lib/*.o lib/commit-*.d lib/librq.a $(BINS) tests/*.o tests/unit rq.pc
	rm -rf tests/tmp

# --- reliability (issue 9): fuzzing, sanitizer and valgrind runs -----------
# `make fuzz` builds one libFuzzer target per parser (fuzz/fuzz_*.c, with the
# library compiled by clang under ASan+UBSan into fuzz/out/) and runs each
# for FUZZ_SECONDS, seeded from testdata/fuzz/<target>/; new inputs go to
# fuzz/out/corpus/<target>/, crashes to fuzz/out/crashes/.  fuzz_ckpt_fields
# (issue 16) mutates the fields of valid checkpoints and rewrites their
# checksums; its inputs are mutation scripts, and the crashes it found are
# kept as testdata/fuzz/crashes/ckpt_fields-* (replay one with
# `fuzz/out/fuzz_ckpt_fields FILE`; doc/RELIABILITY.md).  `make check-asan`
# and `make check-valgrind` run the whole suite in copies of the tree
# (build-asan/, build-valgrind/) so the normal build is never touched.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = $(WARN) -Ilib $(PKG_CFLAGS) -g -O1 -fno-omit-frame-pointer \
	$(FUZZ_SAN)
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRC:fuzz/%.c=fuzz/out/%)
FUZZ_OBJ := $(LIB_SRC:lib/%.c=fuzz/out/lib/%.o)
ASAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
# Leaks are valgrind's job (check-valgrind): LSan flags memory still held
# by main's frame when errx(3) exits (the optimiser drops the frame), and
# unit tests leak on a failed cr_assert.  malloc may return NULL, as in
# libc, for the RLIMIT_AS tests.  A .t script that compiles a helper
# against lib/librq.a must add $RQ_SANFLAGS to its cc line.
ASAN_OPTS = allocator_may_return_null=1:abort_on_error=0
UBSAN_OPTS = print_stacktrace=1:halt_on_error=1
TREE_COPY = { git ls-files -co --exclude-standard; } | \
	grep -v -e '^build-' -e '^fuzz/out/' | \
	while read f; do [ -f "$$f" ] && echo "$$f"; done | tar -cf - -T - | \
	tar -xf - -C

.PHONY: fuzz fuzz-build check-asan check-valgrind

fuzz/out/lib/%.o: lib/%.c lib/rq.h
	@mkdir -p fuzz/out/lib
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

fuzz/out/librq.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJ)

fuzz/out/fuzz_%: fuzz/fuzz_%.c fuzz/memfile.h fuzz/out/librq.a lib/rq.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< fuzz/out/librq.a \
	    $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@mkdir -p fuzz/out/crashes fuzz/out/logs
	@bad=; for f in $(FUZZ_BINS); do \
		t=$${f#fuzz/out/fuzz_}; mkdir -p fuzz/out/corpus/$$t; \
		seeds=; [ -d testdata/fuzz/$$t ] && seeds=testdata/fuzz/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s (log fuzz/out/logs/$$t.log)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
		    -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 \
		    -artifact_prefix=fuzz/out/crashes/$$t- \
		    fuzz/out/corpus/$$t $$seeds >fuzz/out/logs/$$t.log 2>&1 || \
		    bad="$$bad $$t"; \
		grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed|ERROR|SUMMARY' \
		    fuzz/out/logs/$$t.log; \
	done; [ -z "$$bad" ] || { echo "fuzz: crashes in:$$bad (fuzz/out/crashes/)"; exit 1; }

check-asan:
	rm -rf build-asan && mkdir build-asan
	$(TREE_COPY) build-asan
	$(MAKE) -C build-asan SANFLAGS='$(ASAN_FLAGS)' all tests/unit \
	    tests/unit-emu512
	cd build-asan && RQ_SANFLAGS='$(ASAN_FLAGS)' \
	    ASAN_OPTIONS=$(ASAN_OPTS):detect_leaks=0 \
	    UBSAN_OPTIONS=$(UBSAN_OPTS) tests/unit --jobs 2
	cd build-asan && ASAN_OPTIONS=$(ASAN_OPTS):detect_leaks=0 \
	    UBSAN_OPTIONS=$(UBSAN_OPTS) tests/unit-emu512 --jobs 2
	cd build-asan && RQ_SANFLAGS='$(ASAN_FLAGS)' \
	    ASAN_OPTIONS=$(ASAN_OPTS):detect_leaks=0 \
	    UBSAN_OPTIONS=$(UBSAN_OPTS) $(if $(CLI_TESTS),prove -e sh \
	    $(CLI_TESTS),echo "no CLI tests")

# each bin/rq-* of build-valgrind/ becomes a script running the real
# program under valgrind; exit 99 marks a memory error or a definite leak
VG_FLAGS = --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect
# training under valgrind is slow: e.g. make check-valgrind VG_TESTS=tests/faults.t
VG_TESTS ?= $(CLI_TESTS)
check-valgrind:
	rm -rf build-valgrind && mkdir build-valgrind
	$(TREE_COPY) build-valgrind
	$(MAKE) -C build-valgrind OPT=-O1 all
	cd build-valgrind && mkdir -p bin/.real && for b in $(notdir $(BINS)); do \
		head -c 4 bin/$$b 2>/dev/null | grep -q ELF || continue; \
		mv bin/$$b bin/.real/$$b; \
		printf '#!/bin/sh\nOPENBLAS_NUM_THREADS=1 exec valgrind -q $(VG_FLAGS) "$$(dirname "$$0")/.real/%s" "$$@"\n' $$b > bin/$$b; \
		chmod +x bin/$$b; done
	cd build-valgrind && $(if $(VG_TESTS),prove -e sh $(VG_TESTS),echo "no CLI tests")

# issue 7 (rq-noise, rq-pearson): tests/test_stats.c runs these two
# programs, so the unit binary waits for them.
unit: bin/rq-noise bin/rq-pearson

# --- data (issue 4): AV-MNIST-FSDD streams in data/avmnist/ -------------
# `make data` links or downloads FSDD and MNIST (scripts/fetch-data) and
# builds data/avmnist/{train,val,test}.rqt.  AVMNIST_FLAGS sets the
# degradation; the default is the benchmark the tables use (per-sample audio
# SNR in [-6, 12] dB over the whole window, per-image noise std in
# [0.2, 0.8], blur 1 px: each
# unimodal model in 40-80%, audio the stronger, fusion 5+ points above;
# chosen on validation by experiments/calibrate.sh, see README).  Clean
# data: make data AVMNIST_FLAGS=
AVMNIST_FLAGS ?= --snr=-6:12 --noise 0.2:0.8 --blur 1
.PHONY: data
data: bin/rq-avmnist
	scripts/fetch-data data
	mkdir -p data/avmnist
	bin/rq-avmnist $(AVMNIST_FLAGS) --dir data/avmnist data/fsdd data/mnist

# --- bench (issue 8): rq against PyTorch, `make bench`; see bench/run-bench.sh
BENCH_TOOLS = bench/model-step bench/sgemm-peak bench/step-ab bench/jmtpmr-step \
    bench/fuse-ab
$(BENCH_TOOLS): bench/%: bench/%.c bench/bench.h lib/librq.a lib/rq.h
	$(CC) $(ALL_CFLAGS) -o $@ $< lib/librq.a $(LDLIBS)
.PHONY: bench bench-clean
bench: all $(BENCH_TOOLS)
	sh bench/run-bench.sh
clean: bench-clean
bench-clean:
	rm -f $(BENCH_TOOLS)
# bench/xsmm-ab (issue 21): OpenBLAS, rq_gemm, libxsmm and BLIS at the
# model's shapes, run by hand.  Only with libxsmm (Debian: libxsmm-dev);
# BLIS's side (libblis-dev) only where its blis.h is found.  Neither is
# needed by `make all` or `make check`.
XSMM_OK := $(shell pkg-config --exists libxsmm 2>/dev/null && echo ok)
BLIS_H := $(firstword $(wildcard /usr/include/*/blis-*/blis.h \
    /usr/include/blis/blis.h /usr/local/include/blis/blis.h))
ifeq ($(XSMM_OK),ok)
bench/xsmm-ab: bench/xsmm-ab.c bench/bench.h lib/librq.a lib/rq.h
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags libxsmm) \
	    $(if $(BLIS_H),-DXAB_BLIS -idirafter $(dir $(BLIS_H))) \
	    -o $@ $< lib/librq.a \
	    $(shell pkg-config --libs libxsmm) $(LDLIBS) \
	    $(if $(BLIS_H),-lblis)
else
bench/xsmm-ab:
	@echo "bench/xsmm-ab: libxsmm not found (pkg-config libxsmm; Debian: libxsmm-dev)" >&2; exit 1
endif
clean: xsmm-ab-clean
xsmm-ab-clean:
	rm -f bench/xsmm-ab
.PHONY: xsmm-ab-clean

# --- MPI (issue 10): data-parallel bin/rq-train-mpi ------------------------
# Built when mpicc is found (or with `make MPI=1`; `make MPI=0` skips it).
# The same bin/rq-train.c, compiled by mpicc and linked with lib/dist-mpi.o
# (lib/dist.c with -DRQ_MPI) ahead of librq.a, whose lib/dist.o holds the
# one-process stubs: bin/rq-train itself is built exactly as without MPI.
# Run it with mpirun/srun; see rq-train(1) and man/cluster-section.txt.
MPICC ?= mpicc
MPI ?= $(if $(filter clean lint,$(MAKECMDGOALS)),0,$(shell \
	command -v $(MPICC) >/dev/null 2>&1 && echo 1 || echo 0))
.PHONY: mpi mpi-clean install-mpi
ifeq ($(MPI),1)
all: bin/rq-train-mpi
endif
mpi: bin/rq-train-mpi
lib/dist-mpi.o: lib/dist.c lib/rq.h
	$(MPICC) $(ALL_CFLAGS) -DRQ_MPI -c -o $@ lib/dist.c
bin/rq-train-mpi: bin/rq-train.c lib/dist-mpi.o lib/librq.a lib/rq.h
	$(MPICC) $(ALL_CFLAGS) -DRQ_MPI -o $@ bin/rq-train.c lib/dist-mpi.o \
	    lib/librq.a $(LDLIBS)
install-mpi: bin/rq-train-mpi
	mkdir -p $(DESTDIR)$(BINDIR)
	cp bin/rq-train-mpi $(DESTDIR)$(BINDIR)/
clean: mpi-clean
mpi-clean:
	rm -f bin/rq-train-mpi lib/dist-mpi.o

# --- experiments (issue 7): the paper's tables as pipelines -------------
# make table1 | table2 | table3 | table4 | tables   (make -j2 runs seeds in
# parallel).  DATASET defaults to avmnist when ../shared/data holds FSDD
# and MNIST, else to the synthetic set.  Finished runs are never redone:
# results/DATASET/METHOD/sSEED/result is each run's target.
DATASET ?= $(if $(wildcard ../shared/data/fsdd ../shared/data/mnist),avmnist,synth)
SEEDS ?= 0 1 2
T1_METHODS ?= audio visual concat ogm pmr mt mt-rq mt-rq3 mtstar-rq jmt mbt mmml mmml-rq
SYNTH_N ?= 2000
RESULTS ?= results
override RESULTS := $(abspath $(RESULTS))
export DATASET SEEDS T1_METHODS RESULTS TRAIN_FLAGS
T1_RUNS = $(foreach m,$(T1_METHODS),$(foreach s,$(SEEDS),$(RESULTS)/$(DATASET)/$(m)/s$(s)/result))
MT_RUNS = $(foreach m,mt mt-rq,$(foreach s,$(SEEDS),$(RESULTS)/$(DATASET)/$(m)/s$(s)/result))
# the runs of the goal, for run-one.sh's "run k of N" and ETA
RQ_RUN_LIST = $(sort $(if $(filter tables table1,$(MAKECMDGOALS)),$(T1_RUNS)) \
	$(if $(filter tables table2 table3,$(MAKECMDGOALS)),$(MT_RUNS)))
export RQ_RUN_LIST

.PHONY: tables table1 table2 table3 table4 demo
# the stamp names a checksum of AVMNIST_FLAGS, so other flags rebuild the
# data (and experiments/run-one.sh refuses to mix runs of other data)
# (and of the recipe: window-2 is noise over the whole window, issue 18)
AVMNIST_SUM := $(shell printf '%s' 'window-2 $(AVMNIST_FLAGS)' | cksum | cut -d' ' -f1)
data/avmnist/.done-$(AVMNIST_SUM): | bin/rq-avmnist
	rm -f data/avmnist/.done*
	$(MAKE) data
	touch $@
# the stamp names the size, so make demo (1000) and make tables (2000)
# each regenerate data/synth when the other changed it
DATA_STAMP = $(if $(filter synth,$(DATASET)),data/synth/.done-$(SYNTH_N),$(if $(filter avmnist,$(DATASET)),data/avmnist/.done-$(AVMNIST_SUM),data/$(DATASET)/.done))
data/synth/.done-$(SYNTH_N): | bin/rq-synth
	rm -f data/synth/.done-*
	mkdir -p data/synth
	bin/rq-synth -n $(SYNTH_N) -s 1 --split train -o data/synth/train.rqt
	bin/rq-synth -n $$(($(SYNTH_N) / 4)) -s 1 --split val -o data/synth/val.rqt
	bin/rq-synth -n $$(($(SYNTH_N) / 4)) -s 1 --split test -o data/synth/test.rqt
	touch $@
# --- CMU-MOSEI, vision + text (issue 19) --------------------------------
# DATASET=mosei: data/mosei from the public pickle by scripts/mosei-import
# (MOSEI_PKL=path/to/mosei_senti_data_noalign.pkl, MOSEI_FLAGS its
# options; without MOSEI_PKL, streams already in data/mosei are used).
# DATASET=mosei-synth: the MOSEI-shaped stand-in, rq-synth --preset mosei
# (MOSEI_SYNTH_N training samples, a quarter as many for val and test).
# Table 1's rows for both, unless T1_METHODS is given:
MOSEI_T1 = vision text concat mt mt-rq mut mut-rq
MOSEI_SYNTH_N ?= 600
ifneq ($(filter mosei mosei-synth,$(DATASET)),)
ifeq ($(origin T1_METHODS),file)
T1_METHODS = $(MOSEI_T1)
endif
endif
MOSEI_SUM := $(shell printf '%s' '$(MOSEI_FLAGS) $(MOSEI_PKL)' | cksum | cut -d' ' -f1)
ifeq ($(DATASET),mosei)
DATA_STAMP = data/mosei/.done-$(MOSEI_SUM)
endif
ifeq ($(DATASET),mosei-synth)
DATA_STAMP = data/mosei-synth/.done-$(MOSEI_SYNTH_N)
endif
data/mosei/.done-$(MOSEI_SUM):
	@if [ -n "$(MOSEI_PKL)" ]; then \
		[ -f "$(MOSEI_PKL)" ] || { echo "mosei: MOSEI_PKL=$(MOSEI_PKL): no such file" >&2; exit 1; }; \
		rm -f data/mosei/.done-*; \
		echo scripts/mosei-import $(MOSEI_FLAGS) "$(MOSEI_PKL)" data/mosei; \
		scripts/mosei-import $(MOSEI_FLAGS) "$(MOSEI_PKL)" data/mosei || exit 1; \
	elif [ -f data/mosei/train.rqt ] && [ -f data/mosei/val.rqt ] && [ -f data/mosei/test.rqt ]; then \
		echo "mosei: using the streams in data/mosei (no MOSEI_PKL given)"; \
	else \
		echo "mosei: no data/mosei; give MOSEI_PKL=path/to/mosei_senti_data_noalign.pkl, the public CMU-MOSEI unaligned pickle (README: CMU-MOSEI (vision + text))" >&2; \
		exit 1; \
	fi
	touch $@
data/mosei-synth/.done-$(MOSEI_SYNTH_N): | bin/rq-synth
	rm -f data/mosei-synth/.done-*
	mkdir -p data/mosei-synth
	bin/rq-synth --preset mosei -n $(MOSEI_SYNTH_N) -s 1 --split train -o data/mosei-synth/train.rqt
	bin/rq-synth --preset mosei -n $$(($(MOSEI_SYNTH_N) / 4)) -s 1 --split val -o data/mosei-synth/val.rqt
	bin/rq-synth --preset mosei -n $$(($(MOSEI_SYNTH_N) / 4)) -s 1 --split test -o data/mosei-synth/test.rqt
	touch $@
# the data stamp is a real prerequisite: after new data, run-one.sh checks
# each finished run's data checksum (and refuses a run of other data)
$(RESULTS)/$(DATASET)/%/result: $(DATA_STAMP) | all
	experiments/run-one.sh $(DATASET)/$*

table1: $(T1_RUNS)
	experiments/table1.sh
table2: $(MT_RUNS)
	experiments/table2.sh
table3: $(MT_RUNS)
	experiments/table3.sh
table4: all
	experiments/table4.sh
tables: table1 table2 table3 table4

# The README's main command: the whole pipeline on the synthetic set that
# rq generates itself (no download): about a minute on 2 vCPUs.
demo:
	$(MAKE) DATASET=synth SYNTH_N=1000 \
	    TRAIN_FLAGS="-e 6 -w 1 -l 0.05 -b 64" RESULTS=results/demo \
	    T1_METHODS="audio visual concat pmr mt mt-rq jmt mbt mmml mmml-rq" tables
