# rq: one flat Makefile.  `make` builds lib/librq.a and bin/rq-*;
# `make check` runs the unit (Criterion) and CLI (TAP, prove) tests.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CC ?= cc
OPT ?= -O2 -march=native
CFLAGS ?= $(OPT) -g
WARN = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
       -Wall -Wextra -Wshadow -Wno-unused-parameter
PKGS = gsl libpng sndfile zlib openblas

# Probe the packages; a failed probe installs them (scripts/install-deps).
ifeq ($(filter clean lint,$(MAKECMDGOALS)),)
PROBE := $(shell pkg-config --exists $(PKGS) criterion && \
	command -v prove mandoc gnuplot >/dev/null && echo ok)
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

lib/%.o: lib/%.c lib/rq.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

lib/librq.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

bin/rq-%: bin/rq-%.c lib/librq.a lib/rq.h
	$(CC) $(ALL_CFLAGS) -o $@ $< lib/librq.a $(LDLIBS)

tests/%.o: tests/%.c lib/rq.h
	$(CC) $(ALL_CFLAGS) -Wno-missing-field-initializers -c -o $@ $<

tests/unit: $(TEST_OBJ) lib/librq.a
	$(CC) $(ALL_CFLAGS) -o $@ $(TEST_OBJ) lib/librq.a $(CRIT_LIBS) $(LDLIBS)

check: unit cli

unit: tests/unit
	tests/unit --jobs 2

cli: all
	$(if $(CLI_TESTS),prove -e 'sh' $(CLI_TESTS),@echo "no CLI tests")

lint:
	mandoc -Tlint -Wwarning $(MANS)

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	cp $(BINS) $(SCRIPTS) $(DESTDIR)$(BINDIR)/
	for m in $(MANS); do \
		s=$${m##*.}; cp $$m $(DESTDIR)$(MANDIR)/man$$s/; done

uninstall:
	for b in $(notdir $(BINS) $(SCRIPTS)); do rm -f $(DESTDIR)$(BINDIR)/$$b; done
	for m in $(notdir $(MANS)); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m; done

clean:
	rm -f lib/*.o lib/librq.a $(BINS) tests/*.o tests/unit
	rm -rf tests/tmp
