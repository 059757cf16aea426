# resin: one GNU Makefile, no other build system.
#
#   make                      library, harness/train, harness/predict, benches
#   make check                every test (see the check target below)
#   make freestanding         link check of kernels/ nn/ sched/ without libc
#   make bench                kernel and training benchmarks (build/bench/)
#   make demo                 the workflow on Fashion-MNIST
#   make CROSS=aarch64-linux-gnu-   the same build for an AArch64 Linux board
#
# Variants (VARIANT=release|check|asan) differ only in flags and build folder.

.DEFAULT_GOAL := all
.SECONDARY:
SHELL := /bin/bash

CROSS ?=
VARIANT ?= release
ifeq ($(origin CC),default)
CC := $(CROSS)gcc
endif
AR := $(CROSS)ar
PKG_CONFIG ?= $(if $(CROSS),$(CROSS)pkg-config,pkg-config)
ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)

BUILD := build/$(if $(CROSS),$(ARCH)-)$(VARIANT)

# --- flags ---------------------------------------------------------------------
WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
        -Werror=implicit-function-declaration -Werror=incompatible-pointer-types
CFLAGS_release := -O2 -DNDEBUG
CFLAGS_check := -O2
CFLAGS_asan := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
LDFLAGS_asan := -fsanitize=address,undefined
ARCH_CFLAGS_aarch64 := -march=armv8-a
# gcc may turn loops into memcpy/memset calls: the core must not depend on it.
CORE_CFLAGS := -fno-tree-loop-distribute-patterns
CFLAGS := -std=c11 -g $(WARN) -I. -D_GNU_SOURCE $(CFLAGS_$(VARIANT)) \
          $(ARCH_CFLAGS_$(ARCH)) $(EXTRA_CFLAGS)
LDFLAGS := $(LDFLAGS_$(VARIANT)) $(EXTRA_LDFLAGS)
# Only *-avx2.c files are compiled for AVX2+FMA; dispatch checks both bits.
AVX2_CFLAGS := -mavx2 -mfma
# *-avx512.c files: x86-64-v4's AVX-512 subsets (F, DQ, BW, VL), checked too.
AVX512_CFLAGS := $(AVX2_CFLAGS) -mavx512f -mavx512dq -mavx512bw -mavx512vl

LIBS_CORE := -lsleef -lm
LIBS_HOST := $(shell $(PKG_CONFIG) --libs libturbojpeg libpcre2-8 cairo 2>/dev/null || \
               echo -lturbojpeg -lpcre2-8 -lcairo) -lpthread
LIBS_TEST := $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null || echo -lcriterion)

# --- sources -------------------------------------------------------------------
ISA_SKIP_x86_64 := %-neon.c
ISA_SKIP_aarch64 := %-avx2.c %-avx512.c
CORE_SRC := $(filter-out $(ISA_SKIP_$(ARCH)), \
              $(wildcard kernels/*.c kernels/*/*.c nn/*.c nn/*/*.c sched/*.c))
PROG_SRC := $(wildcard harness/train.c harness/predict.c harness/mkfashion.c)
HOST_SRC := $(filter-out $(PROG_SRC) $(ISA_SKIP_$(ARCH)), \
              $(wildcard data/*.c harness/*.c))
TEST_SUPPORT_SRC := $(wildcard tests/support/*.c)
TEST_SRC := $(shell find tests -name 'test-*.c' 2>/dev/null | sort)
# Tests of the freestanding layers: these also run for AArch64 under qemu.
CORE_TEST_SRC := $(filter tests/kernels/% tests/nn/% tests/sched/%, $(TEST_SRC))
BENCH_SUPPORT_SRC := $(wildcard bench/support/*.c)
BENCH_SRC := $(shell find bench -name 'bench-*.c' 2>/dev/null | sort)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_OBJ := $(call obj,$(CORE_SRC))
HOST_OBJ := $(call obj,$(HOST_SRC))
LIB_CORE := $(BUILD)/libresin.a
LIB_HOST := $(BUILD)/libresin-host.a

# bench/kernels/gemm/bench-f32-gemm.c -> build/bench/gemm (release only)
bench_name = $(patsubst bench-%,%,$(patsubst bench-f32-%,%,$(basename $(notdir $(1)))))
BENCH_BIN := $(foreach s,$(BENCH_SRC),build/bench/$(call bench_name,$(s)))
TEST_BIN := $(patsubst %.c,$(BUILD)/%,$(TEST_SRC))
CORE_TEST_BIN := $(patsubst %.c,$(BUILD)/%,$(CORE_TEST_SRC))

# Optional anchors for the benches only.
HAVE_OPENBLAS := $(shell $(PKG_CONFIG) --exists openblas 2>/dev/null && echo 1)
HAVE_DNNL := $(shell test -f /usr/include/dnnl.h && echo 1)
BENCH_DEFS := $(if $(HAVE_OPENBLAS),-DRESIN_HAVE_OPENBLAS $(shell $(PKG_CONFIG) --cflags openblas)) \
              $(if $(HAVE_DNNL),-DRESIN_HAVE_DNNL)
BENCH_LIBS := $(if $(HAVE_OPENBLAS),$(shell $(PKG_CONFIG) --libs openblas)) \
              $(if $(HAVE_DNNL),-ldnnl)

# --- rules ---------------------------------------------------------------------
.PHONY: deps-cross all lib programs benches tests check check-native check-asan \
        check-aarch64 freestanding bench demo deps clean data-pets weights

ifeq ($(VARIANT),release)
all: $(if $(CROSS),deps-cross,deps) lib programs $(if $(CROSS),,benches)
else
all: lib
endif
lib: $(LIB_CORE) $(LIB_HOST)
# Native programs live beside their sources (harness/train); cross-built ones
# go under the build folder so they never overwrite the native ones.
PROG_DIR := $(if $(CROSS),$(BUILD)/bin,harness)
PROGRAMS := $(patsubst harness/%.c,$(PROG_DIR)/%,$(PROG_SRC))
programs: $(PROGRAMS)
benches: $(BENCH_BIN)
tests: $(TEST_BIN)
core-tests: $(CORE_TEST_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(if $(filter kernels/% nn/% sched/%,$<),$(CORE_CFLAGS)) \
	  $(if $(filter %-avx2.c,$<),$(AVX2_CFLAGS)) \
	  $(if $(filter %-avx512.c,$<),$(AVX512_CFLAGS)) -MMD -MP -c $< -o $@

# gcc's scheduling before register allocation hoists the per-pixel loads of
# the NEON convolution kernels above their FMAs, so 24 accumulators + the
# weights + 6 inputs outgrow the 32 vector registers and the inner loops spill
# (objdump: the backward-weights loop has 44 instructions per pixel, 6 of
# them stack accesses; without it 38 and none; kernels/README.md).
$(BUILD)/obj/kernels/conv/f32-conv2d-6x16-neon.o: CFLAGS += -fno-schedule-insns

$(LIB_CORE): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(LIB_HOST): $(HOST_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $(if $^,$^,)

$(PROGRAMS): $(PROG_DIR)/%: $(BUILD)/obj/harness/%.o $(LIB_HOST) $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(LIBS_HOST) $(LIBS_CORE)

# Test binaries: natively against Criterion; cross-compiled against the shim.
ifeq ($(CROSS),)
TEST_LINK := $(call obj,$(TEST_SUPPORT_SRC))
TEST_LIBS := $(LIBS_TEST) $(LIBS_HOST)
TEST_INC :=
else
TEST_LINK := $(call obj,$(TEST_SUPPORT_SRC) tests/support/shim/crshim.c)
TEST_LIBS := -lpthread
TEST_INC := -Itests/support/shim
$(BUILD)/obj/tests/%.o: CFLAGS += $(TEST_INC)
endif
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LINK) $(LIB_HOST) $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(filter %.o %.a,$^) -o $@ $(TEST_LIBS) $(LIBS_CORE)

# Benches: release build only.
define bench_rule
build/bench/$(call bench_name,$(1)): $(1:%.c=build/release/obj/%.o) \
    $(BENCH_SUPPORT_SRC:%.c=build/release/obj/%.o) $(LIB_HOST) $(LIB_CORE)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$(filter %.o %.a,$$^) -o $$@ $$(BENCH_LIBS) $$(LIBS_HOST) $$(LIBS_CORE)
endef
$(foreach s,$(BENCH_SRC),$(eval $(call bench_rule,$(s))))
build/release/obj/bench/%.o: CFLAGS += $(BENCH_DEFS)

# --- check ---------------------------------------------------------------------
# make check = dependencies, native Criterion tests, the freestanding link
# check, the core tests cross-compiled for AArch64 and run under qemu, and the
# native tests again under ASan+UBSan. scripts/run-tests prints one summary line
# per suite and the total; it fails on any failure and on a run of zero tests.
check:
	@scripts/deps build test cross
	@rm -f build/check-results.txt
	$(MAKE) VARIANT=check check-native
	$(MAKE) freestanding
	$(MAKE) check-aarch64
	$(MAKE) VARIANT=asan check-native
	@scripts/run-tests --total build/check-results.txt

check-native: tests
	scripts/run-tests --label $(ARCH)-$(VARIANT) --results build/check-results.txt $(TEST_BIN)

check-aarch64:
	$(MAKE) CROSS=aarch64-linux-gnu- VARIANT=check core-tests
	scripts/run-tests --qemu aarch64 --label aarch64-qemu \
	  --results build/check-results.txt \
	  $(patsubst %.c,build/aarch64-check/%,$(CORE_TEST_SRC))

# --- freestanding link check ---------------------------------------------------
# kernels/ nn/ sched/ are compiled with -ffreestanding -nostdlib for x86-64
# (gcc), AArch64 Linux (gcc) and AArch64 bare metal (clang), linked into one
# relocatable object each, and every undefined symbol must be on this list.
# memcpy/memset/memmove come from tests/support/freestanding-mem.c.
FREESTANDING_ALLOW := Sleef_expf8_u10avx2 Sleef_logf8_u10avx2 \
    Sleef_expf4_u10advsimd Sleef_logf4_u10advsimd
FS_SRC_x86_64 := $(filter-out %-neon.c,$(wildcard kernels/*.c kernels/*/*.c nn/*.c nn/*/*.c sched/*.c))
FS_SRC_aarch64 := $(filter-out %-avx2.c %-avx512.c,$(wildcard kernels/*.c kernels/*/*.c nn/*.c nn/*/*.c sched/*.c))
FS_FLAGS := -std=c11 -O2 -DNDEBUG -I. -ffreestanding -nostdlib -fno-pie \
            -Werror=implicit-function-declaration

freestanding:
	@scripts/freestanding-check "x86_64-gcc" "gcc $(FS_FLAGS) $(CORE_CFLAGS)" \
	  "$(AVX2_CFLAGS)" "$(AVX512_CFLAGS)" \
	  "$(FREESTANDING_ALLOW)" $(FS_SRC_x86_64)
	@scripts/freestanding-check "aarch64-linux-gcc" \
	  "aarch64-linux-gnu-gcc $(FS_FLAGS) $(CORE_CFLAGS) -march=armv8-a" "" "" \
	  "$(FREESTANDING_ALLOW)" $(FS_SRC_aarch64)
	@scripts/freestanding-check "aarch64-none-elf-clang" \
	  "clang --target=aarch64-none-elf $(FS_FLAGS) -march=armv8-a" "" "" \
	  "$(FREESTANDING_ALLOW)" $(FS_SRC_aarch64)

# --- bench, demo, data -----------------------------------------------------------
bench:
	@scripts/deps build bench
	$(MAKE) VARIANT=release benches
	scripts/run-bench

demo: all
	@scripts/deps build demo
	scripts/demo

DEPS_GROUPS ?= build
deps:
	@scripts/deps $(DEPS_GROUPS)
deps-cross:
	@scripts/deps build cross crosshost

data-pets:
	scripts/fetch-pets

weights:
	scripts/fetch-weights

clean:
	rm -rf build harness/train harness/predict harness/mkfashion

-include $(shell find build -name '*.d' 2>/dev/null)
