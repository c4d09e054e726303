# nerve — GNU make build.
#   make             build/nerve (the CLI) and build/libnerve.a
#   make MPI=1       ... and build/nerve-mpi, for mpirun (OpenMPI)
#   make run         install missing packages, build, run the default job
#   make test        install missing packages, then build and run the tests
#                    twice: plainly and under ASan + UBSan
#   make deps        install the Debian packages in scripts/debian-packages.txt
#   make fuzz        build the libFuzzer harnesses (fuzz/) with clang into
#                    build/fuzz and run each for FUZZ_TIME seconds
#   make check-layers  fail if a room includes a header of a room below it
#   make alloc-fail  fail each allocation in turn through small workloads
# Variables: BUILD (output folder), SAN=1 (sanitizer build), FUZZ=1 (clang,
# libFuzzer instrumentation; set by `make fuzz`), CFLAGS, WERROR.

BUILD   ?= build
CC      ?= gcc
# LINKED are linked; LOADED are opened by the first call into them
# (src/*/lazy_*.c), so a command loads only what it uses.
LINKED  := jansson stb zlib libprotobuf-c libpng libjpeg
LOADED  := libzip openblas lapacke fftw3 libmicrohttpd
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
WERROR  ?= -Werror
CFLAGS  ?= -O3 -g

ifeq ($(SAN),1)
CFLAGS   = -O1 -g
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# A small quarantine, so that the server's memory under load measures leaks
# rather than ASan's 256 MB of freed-but-held blocks filling up.
SANENV   = ASAN_OPTIONS=quarantine_size_mb=8
endif

# The fuzz build: clang, the library instrumented for libFuzzer's coverage
# and checked by ASan + UBSan; each harness adds -fsanitize=fuzzer (main).
ifeq ($(FUZZ),1)
CC       = clang
CFLAGS   = -O1 -g
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# An instrumented loop cannot always honour `omp simd`; clang says so as a
# warning. Clang's sometimes-uninitialized (GCC has no such check) is
# shown, not fatal.
CFLAGS  += -Wno-pass-failed -Wno-error=sometimes-uninitialized
endif

# Recursive (=) so pkg-config runs only when something is compiled, after
# `make deps` had its chance to install the packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(LINKED) $(LOADED))
PKG_LIBS   = $(shell pkg-config --libs $(LINKED))
ALL_CFLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $(WERROR) -fopenmp \
             -Iinclude -I$(BUILD)/gen $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS) -MMD -MP
LDLIBS     = $(PKG_LIBS) -lm
LDFLAGS    = -fopenmp $(SANFLAGS)

# src/study/dist_mpi.c is only in nerve-mpi (MPI=1), in dist.c's place.
MPI_SRC  := src/study/dist_mpi.c
LIB_SRC  := $(filter-out $(MPI_SRC),$(wildcard src/*/*.c))
CLI_SRC  := $(wildcard cli/*.c)
# tests/alloc/ is the allocation-failure injection, linked only into nerve-failalloc.
TEST_SRC := $(filter-out tests/alloc/%,$(wildcard tests/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/onnx.pb-c.o $(BUILD)/obj/src/serve/web_assets.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all deps run test tests check check-layers clean fuzz fuzz-build fuzz-harnesses alloc-fail
all: $(BUILD)/nerve $(BUILD)/libnerve.a

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The ONNX protobuf code is generated from Debian's onnx.proto at build time.
$(BUILD)/gen/onnx.pb-c.c $(BUILD)/gen/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen
	cp $(ONNX_PROTO) $(BUILD)/gen/onnx.proto
	cd $(BUILD)/gen && protoc-c --c_out=. onnx.proto

$(BUILD)/obj/gen/onnx.pb-c.o: $(BUILD)/gen/onnx.pb-c.c
	@mkdir -p $(@D)
	$(CC) -std=c17 -O2 -g -w $(PKG_CFLAGS) $(SANFLAGS) -c $< -o $@

$(LIB_OBJ) $(TEST_OBJ): | $(BUILD)/gen/onnx.pb-c.h

# The viewer: web/ and d3 (from the npm registry, fetched once into build/web
# for every build folder) are compiled into the binary.
D3_VERSION := 7.9.0
D3_JS      := build/web/d3.min.js
WEB_FILES  := web/index.html web/app.js web/style.css web/offline.js web/findings.js web/featvis.js \
              web/scatter.js web/embed.js web/select.js web/urlstate.js web/graphcanvas.js

$(D3_JS):
	@command -v npm >/dev/null || { echo "nerve: the viewer needs d3 from the npm registry: install npm" >&2; exit 1; }
	@mkdir -p $(@D)
	cd $(@D) && npm pack --silent d3@$(D3_VERSION) >/dev/null && tar -xzf d3-$(D3_VERSION).tgz package/dist/d3.min.js \
	    && mv package/dist/d3.min.js d3.min.js && rm -rf package d3-$(D3_VERSION).tgz

$(BUILD)/obj/src/serve/web_assets.o: src/serve/web_assets.S $(WEB_FILES) $(D3_JS)
	@mkdir -p $(@D)
	$(CC) -c -Wa,-Iweb -Wa,-I$(dir $(D3_JS)) $< -o $@

# Tests build paths in fixed buffers generously sized; truncation is not a risk worth the noise.
$(TEST_OBJ): CFLAGS += -Wno-format-truncation

$(BUILD)/libnerve.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/nerve: $(CLI_OBJ) $(BUILD)/libnerve.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libnerve.a $(LDLIBS)

$(BUILD)/nerve-tests: $(TEST_OBJ) $(BUILD)/libnerve.a
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/libnerve.a $(LDLIBS) $(shell pkg-config --libs criterion)

# MPI=1: also build/nerve-mpi, the CLI with dist_mpi.c (OpenMPI, from
# libopenmpi-dev), which the linker takes before libnerve.a's dist.o.
# Run it as mpirun -n K build/nerve-mpi run ...; nerve itself has no MPI.
ifeq ($(MPI),1)
all: $(BUILD)/nerve-mpi
endif
$(BUILD)/obj/src/study/dist_mpi.o: src/study/dist_mpi.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell mpicc --showme:compile) -c $< -o $@

$(BUILD)/nerve-mpi: $(CLI_OBJ) $(BUILD)/obj/src/study/dist_mpi.o $(BUILD)/libnerve.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/obj/src/study/dist_mpi.o $(BUILD)/libnerve.a $(LDLIBS) \
	    $(shell mpicc --showme:link)

deps:
	@scripts/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/nerve run
	@echo "view it: $(BUILD)/nerve serve   (or $(BUILD)/nerve report -o report.html)"

tests: $(BUILD)/nerve-tests

# One build's suite; `make test` runs it for both builds and sums them.
# One test at a time: the tests use every core through OpenMP already, so
# parallel workers only slow the suite down (11 s against 32 s under ASan),
# and Criterion 2.4's runner leaks a little when it runs workers in parallel.
# The sanitizer build's suite also sweeps allocation failures through a few
# small workloads (tests/nn, tests/ph), with nerve-failalloc.
check: $(BUILD)/nerve $(BUILD)/nerve-tests $(if $(filter 1,$(SAN)),$(BUILD)/nerve-failalloc)
	$(SANENV) NERVE_BIN=$(BUILD)/nerve NERVE_TESTDATA=tests/fixtures NERVE_LINKED="$(LINKED)" \
	    $(BUILD)/nerve-tests --jobs 1 $(TESTFLAGS)

test: deps
	@scripts/run-tests.sh

# The room rule of docs/DESIGN.md: a room includes only the headers of the
# rooms above it (make test runs it too).
check-layers:
	@scripts/check-layers.sh

clean:
	rm -rf build

# ---- allocation failures ----------------------------------------------------
# nerve-failalloc is nerve with every allocation of its own code routed
# through tests/alloc/fail_alloc.c, which fails the n-th when
# NERVE_FAIL_ALLOC=n. tests/alloc/alloc-fail.sh runs a small workload of
# each command for every n (ALLOC_STRIDE=k: every k-th; ALLOC_SAMPLE=K:
# about K n per command, as make test does) and reports each n that
# crashed, leaked, hung or ended without a clean error. Meant for the
# sanitizer build: make BUILD=build/san SAN=1 alloc-fail.
ALLOC_STRIDE ?= 1
ALLOC_SAMPLE ?= 0
ALLOC_WRAP   := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=posix_memalign,--wrap=strdup,--wrap=strndup
$(BUILD)/nerve-failalloc: $(CLI_OBJ) $(BUILD)/obj/tests/alloc/fail_alloc.o $(BUILD)/libnerve.a
	$(CC) $(LDFLAGS) $(ALLOC_WRAP) -o $@ $(CLI_OBJ) $(BUILD)/obj/tests/alloc/fail_alloc.o $(BUILD)/libnerve.a $(LDLIBS)

alloc-fail: $(BUILD)/nerve $(BUILD)/nerve-failalloc
	$(SANENV) ALLOC_STRIDE=$(ALLOC_STRIDE) ALLOC_SAMPLE=$(ALLOC_SAMPLE) tests/alloc/alloc-fail.sh $(BUILD)/nerve-failalloc $(ALLOC_COMMANDS)

# ---- fuzzing ----------------------------------------------------------------
# Each fuzz/fuzz_<parser>.c is a libFuzzer harness, built in the fuzz build
# (FUZZ=1: clang, its own objects in build/fuzz, the gcc builds untouched)
# and run by fuzz/run.sh on its seed corpus fuzz/corpus/<parser>/.
FUZZ_BUILD   ?= build/fuzz
FUZZ_TIME    ?= 60
FUZZ_SRC     := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/%)
FUZZ_SUPPORT := $(BUILD)/obj/fuzz/support.o

ifeq ($(FUZZ),1)
fuzz-harnesses: $(FUZZ_BIN)
# Kept, so that a rebuild relinks only what changed.
.SECONDARY: $(FUZZ_SRC:fuzz/%.c=$(BUILD)/obj/fuzz/%.o)
$(FUZZ_BIN) $(FUZZ_SUPPORT): | $(BUILD)/gen/onnx.pb-c.h
# The HTTP query harness calls the serve room's internal parser.
$(BUILD)/obj/fuzz/fuzz_query.o: CFLAGS += -Isrc/serve
$(BUILD)/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(FUZZ_SUPPORT) $(BUILD)/libnerve.a
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $(filter %.o,$^) $(BUILD)/libnerve.a $(LDLIBS)
-include $(FUZZ_SRC:fuzz/%.c=$(BUILD)/obj/fuzz/%.d) $(FUZZ_SUPPORT:.o=.d)
endif

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) FUZZ=1 fuzz-harnesses

# Every harness for FUZZ_TIME seconds; new inputs go to build/fuzz/corpus,
# crashes to build/fuzz/findings.
fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD) -max_total_time=$(FUZZ_TIME)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/obj/src/study/dist_mpi.d
