# Makefile - builds libllmos (static and shared), the tools, the host unit
# tests and the VM selftests; `make module` builds llmos.ko through Kbuild.
#
#   make              library, tools and unit tests into build/
#   make module       llmos.ko against the VM kernel's headers (or KDIR=...)
#   make module KERNEL=debug   the same against the debug kernel (build/debug/)
#   make check        unit tests on the host
#   make ARCH=arm64 [check|module|vm-test]  the same for arm64, cross-built
#                     into build-arm64/: unit tests under qemu-aarch64 on three
#                     CPUs, selftests in qemu-system-aarch64 (Documentation/arm64.md)
#   make vm-test      selftests, scenarios and the kill storm inside the VM
#                     (needs tools/setup-deps once)
#   make vm-test-debug  the same, then the UAPI fuzzer, in the debug VM (KASAN,
#                     lockdep, kmemleak; FUZZ_SECONDS=60, FUZZ_SEED=N)
#   make check-san    unit tests again, with ASan and UBSan (build-san/)
#   make test         check, check-san, vm-test, vm-test-debug, then the arm64
#                     check and vm-test
#   make run          the README's main job: generate text (MODEL=, PROMPT=, N=)
#   make vm-info      what the module reports, inside the VM
#   make vm-shell     an interactive shell in the VM with the module loaded
#   make SAN=1 ...    build with ASan and UBSan into build-san/
#   make V=1 ...      show full commands

VERSION := 0.1.0
SOVERSION := 0

LLMOS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/llmos
-include $(LLMOS_CACHE)/deps.mk

# The target: the host's architecture, or ARCH=arm64 on an x86-64 host, which
# cross-builds with aarch64-linux-gnu-gcc into build-arm64/ and runs the unit tests under
# qemu-aarch64 (Documentation/arm64.md).  Kernel files are chosen by target.
HOST_ARCH := $(shell uname -m | sed -e 's/^x86_64$$/x86/' -e 's/^aarch64$$/arm64/')
ARCH ?= $(HOST_ARCH)
CROSS := $(filter-out $(HOST_ARCH),$(ARCH))
# A native build (on a board too) goes into build/, a cross build beside it.
BUILD_BASE := build$(if $(CROSS),-$(CROSS))

ifeq ($(SAN),1)
BUILD ?= $(BUILD_BASE)-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= $(BUILD_BASE)
SANFLAGS :=
endif

ifeq ($(CROSS),arm64)
# Debian's cross compiler, with the arm64 multiarch libraries.
CC := aarch64-linux-gnu-gcc
AR := aarch64-linux-gnu-ar
# Unit tests run emulated: on max (dotprod and i8mm), on cortex-a76 (dotprod,
# no i8mm) and on cortex-a53 (neither).  On QEMU_QUICK_CPUS the slowest tests
# that start the tools take a subset (LLMOS_TEST_QUICK: test_arch's first
# model of each weight type): the kernels are what differs between those
# runs, and the kernel tests run whole on each.
QEMU_CPUS ?= max cortex-a76 cortex-a53
QEMU_QUICK_CPUS ?= cortex-a76 cortex-a53
endif

CC ?= gcc
CFLAGS ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS := -std=gnu11 $(WARNFLAGS) $(CFLAGS) $(SANFLAGS) -fPIC -pthread \
	-Iinclude -Iinclude/uapi -Ilib -Ikernels -MMD -MP
LDLIBS := -luring -lnuma -lpcre2-32 -lm -pthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

# arm64 compilers fuse a * b + c into one rounding unless told not to, and
# x86-64's base instruction set cannot: off, so that portable C (quantizers,
# the scalar kernels, the forward pass) gives the same bits on both.  The
# NEON kernels write their fused multiply-adds out where the AVX2 ones have
# them.
ifeq ($(ARCH),arm64)
ALL_CFLAGS += -ffp-contract=off
endif

ifeq ($(ARCH),arm64)
KERNEL_SRCS := $(filter-out %_avx2.c %_avx512.c,$(wildcard kernels/*.c))
else
KERNEL_SRCS := $(filter-out %_neon.c %_dotprod.c %_i8mm.c,$(wildcard kernels/*.c))
endif
LIB_SRCS := $(wildcard lib/*.c) $(KERNEL_SRCS)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TOOL_NAMES := llmos llmosctl
TOOLS := $(TOOL_NAMES:%=$(BUILD)/bin/%)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
SELFTESTS := $(patsubst tests/selftests/%.c,$(BUILD)/selftests/%,$(wildcard tests/selftests/*_test.c))
# Stress programs run in the VM after the selftests (tests/fuzz/uapi_fuzz.c,
# tests/selftests/killstorm.c), and helpers of the scenarios
# (tests/selftests/npu_flood.c); built like the selftests.
STRESS := $(BUILD)/selftests/uapi_fuzz $(BUILD)/selftests/killstorm $(BUILD)/selftests/npu_flood
STATIC_LIB := $(BUILD)/lib/libllmos.a
SHARED_LIB := $(BUILD)/lib/libllmos.so.$(VERSION)

# Per-architecture kernels are compiled for their instruction set only;
# kernels/dispatch picks them at run time by CPUID.
$(BUILD)/obj/kernels/%_avx2.o: ALL_CFLAGS += -mavx2 -mfma -mf16c
$(BUILD)/obj/kernels/%_avx512.o: ALL_CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx512dq \
	-mavx512vnni -mavx512bf16 -mfma -mf16c -mavx2
# arm64: NEON is every armv8-a CPU's; the dot-product and i8mm kernels are built for
# those extensions and used only where HWCAP / HWCAP2 say the CPU has them (the
# i8mm ones only with LLMOS_I8MM=1).
$(BUILD)/obj/kernels/%_dotprod.o: ALL_CFLAGS += -march=armv8.2-a+dotprod
$(BUILD)/obj/kernels/%_i8mm.o: ALL_CFLAGS += -march=armv8.2-a+dotprod+i8mm

.PHONY: all lib tools tests module selftests check check-san vm-test vm-test-debug check-arm64 \
	vm-test-arm64 test run vm-info vm-shell clean help
.SECONDARY:
all: lib tools tests

lib: $(STATIC_LIB) $(SHARED_LIB)
tools: $(TOOLS)
tests: $(UNIT_TESTS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS) lib/libllmos.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -shared -Wl,-soname,libllmos.so.$(SOVERSION) \
		-Wl,--version-script=lib/libllmos.map -o $@ $(LIB_OBJS) $(LDLIBS)
	$(Q)ln -sf libllmos.so.$(VERSION) $(BUILD)/lib/libllmos.so.$(SOVERSION)
	$(Q)ln -sf libllmos.so.$(SOVERSION) $(BUILD)/lib/libllmos.so

# Tools and tests link the static library: a binary copied anywhere (the VM
# included) needs only the system's shared libraries.
# Each tool is the C files of tools/<name>/.
define tool_rule
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/$(1)/*.c)) $(STATIC_LIB)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(SANFLAGS) -o $$@ $$(filter %.o,$$^) $$(STATIC_LIB) $$(LDLIBS)
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call tool_rule,$(t))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $< $(STATIC_LIB) -lcmocka $(LDLIBS)

# test_vnpu_dot builds the module's arithmetic (kmod/llmos_vnpu_dot.c) on the host,
# with kernel names from tests/unit/kshim and no contraction, as Kbuild builds it.
$(BUILD)/obj/tests/unit/test_vnpu_dot.o: ALL_CFLAGS += -Itests/unit/kshim -Iinclude -ffp-contract=off

# kselftest_harness.h itself trips -Wclobbered (setjmp in its TEST_F wrapper).
$(BUILD)/obj/tests/selftests/%.o: ALL_CFLAGS += -isystem $(KSFT_INCLUDE) -Wno-missing-prototypes -Wno-clobbered
$(BUILD)/selftests/%: $(BUILD)/obj/tests/selftests/%.o $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $< $(STATIC_LIB) $(LDLIBS)

$(BUILD)/obj/tests/fuzz/uapi_fuzz.o: ALL_CFLAGS += -Itests/selftests -isystem $(KSFT_INCLUDE) -Wno-missing-prototypes
$(BUILD)/selftests/uapi_fuzz: $(BUILD)/obj/tests/fuzz/uapi_fuzz.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $< $(LDLIBS)

# The 32-bit (compat) caller of the ioctls: static, so the VM needs no i386 libc.
# Built with gcc-12-multilib, not the gcc-multilib package (which conflicts
# with the arm64 cross compiler and only adds /usr/include/asm): the x86 asm
# headers, which serve -m32 too, are found through a directory of one link.
COMPAT32_ASM := $(BUILD)/compat32-include/asm
$(COMPAT32_ASM):
	@mkdir -p $(dir $@)
	$(Q)ln -sfn /usr/include/x86_64-linux-gnu/asm $@

$(BUILD)/selftests/compat32_test: tests/selftests/compat32/compat32_test.c include/uapi/linux/llmos.h \
		| $(COMPAT32_ASM)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC32    $@")
	$(Q)$(CC) -m32 -static -std=gnu11 $(WARNFLAGS) -Wno-missing-prototypes -Wno-clobbered \
		-O2 -Iinclude/uapi -Itests/selftests -isystem $(KSFT_INCLUDE) \
		-idirafter $(BUILD)/compat32-include -o $@ $<

# The 32-bit caller is an x86 test (arm64 kernels may lack 32-bit userspace).
COMPAT32 := $(if $(filter x86,$(ARCH)),$(BUILD)/selftests/compat32_test)
selftests: check-deps $(SELFTESTS) $(STRESS) $(COMPAT32)

check-deps:
	@test -n "$(KDIR)" -a -n "$(KSFT_INCLUDE)" || \
		{ echo "error: kernel headers unknown: run tools/setup-deps (or pass KDIR=...)"; exit 1; }
.PHONY: check-deps

# Kbuild leaves its objects beside the sources (out-of-tree builds of 6.12
# have no separate output directory); the module is copied into build/, or
# build/debug/ for the debug kernel (KERNEL=debug).  Kbuild rebuilds every
# object when the kernel changes, as their command lines differ.
ifeq ($(KERNEL),debug)
# Built (once, cached) the first time it is needed.
KDIR_DEBUG ?= $(shell tools/debug-kernel/build)
MOD_KDIR = $(KDIR_DEBUG)
MOD_OUT = $(BUILD)/debug/llmos.ko
else ifeq ($(CROSS),arm64)
# Debian's arm64 headers (tools/setup-deps), with the cross compiler.
MOD_KDIR = $(KDIR_ARM64)
MOD_OUT = $(BUILD)/llmos.ko
MOD_FLAGS := ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
else
MOD_KDIR = $(KDIR)
MOD_OUT = $(BUILD)/llmos.ko
endif
module:
	@test -n "$(MOD_KDIR)" || { echo "error: no kernel headers for this target: run tools/setup-deps (or pass KDIR=...)"; exit 1; }
	$(Q)$(MAKE) -C $(MOD_KDIR) M=$(CURDIR) $(MOD_FLAGS) $(if $(Q),,V=1) modules
	@mkdir -p $(dir $(MOD_OUT))
	$(Q)cp llmos.ko $(MOD_OUT)

ifeq ($(CROSS),arm64)
# Each test program runs under qemu-aarch64 once per CPU of QEMU_CPUS; the
# tools the tests start run through tools/qemu-wrap the same way.
check: tests tools uapi-check $(SHARED_LIB)
	$(Q)NM=aarch64-linux-gnu-nm tools/check-exports $(SHARED_LIB)
	$(Q)set -e; for cpu in $(QEMU_CPUS); do \
		echo "== qemu-aarch64 -cpu $$cpu"; \
		tools/qemu-wrap --setup $(BUILD)/qemu-$$cpu $$cpu $(BUILD)/bin; \
		quick=$$(case " $(QEMU_QUICK_CPUS) " in *" $$cpu "*) echo 1;; esac); \
		LLMOS_TEST_QUICK=$$quick LLMOS_BIN=$(BUILD)/qemu-$$cpu \
			LLMOS_TEST_RUNNER="qemu-aarch64 -cpu $$cpu" tools/run-unit-tests $(UNIT_TESTS); \
	done
else
check: tests tools uapi-check $(SHARED_LIB)
	$(Q)tools/check-exports $(SHARED_LIB)
	$(Q)LLMOS_BIN=$(BUILD)/bin tools/run-unit-tests $(UNIT_TESTS)
endif

# The UAPI header must stand alone and compile as C90 (as kernel UAPI does).
uapi-check:
	$(Q)$(CC) -std=c90 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c \
		-include include/uapi/linux/llmos.h /dev/null
.PHONY: uapi-check

# Scenario scripts (tests/selftests/scenario-*) run in the same boot, with
# the reference model files they need when ../shared/models has them.
SCENARIOS := $(wildcard tests/selftests/scenario-*)
TEST_MODELS ?= $(or $(LLMOS_TEST_MODELS),../shared/models)
SCENARIO_FILES := $(wildcard $(TEST_MODELS)/stories260K-f32.gguf \
	$(TEST_MODELS)/stories260K-greedy.txt)
VM_FILES = $(foreach t,$(SELFTESTS) $(STRESS) $(COMPAT32),--file $(t)) \
	--file tests/selftests/run-all $(foreach f,$(SCENARIOS) $(SCENARIO_FILES),--file $(f))
KILLSTORM_CLIENTS ?= 1000
FUZZ_SECONDS ?= 60
FUZZ_SEED ?= $(shell date +%s)

vm-test: module selftests tools
	$(Q)BUILD=$(BUILD) tools/vm-run --arch $(ARCH) --timeout 600 $(VM_FILES) \
		-- sh run-all $(notdir $(SELFTESTS) $(COMPAT32)) \
		"killstorm -n $(KILLSTORM_CLIENTS)"

# The debug kernel is slower (KASAN, lockdep): longer timeout; then the
# fuzzer for FUZZ_SECONDS (a seed reproduces a run: FUZZ_SEED=...).
vm-test-debug: selftests tools
	@test "$(ARCH)" = x86 || { echo "error: the debug kernel is x86 only"; exit 1; }
	$(Q)kdir=$$(tools/debug-kernel/build) && \
	$(MAKE) --no-print-directory module KERNEL=debug KDIR_DEBUG=$$kdir && \
	BUILD=$(BUILD) VM_KERNEL_DEBUG=$$kdir/arch/x86/boot/bzImage \
		tools/vm-run --kernel debug --timeout $$(( 1500 + $(FUZZ_SECONDS) )) \
		$(VM_FILES) -- sh run-all $(notdir $(SELFTESTS) $(COMPAT32)) \
		"killstorm -n $(KILLSTORM_CLIENTS)" \
		"uapi_fuzz --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED)"

# The sanitizer run of the unit tests, in its own build directory.
check-san:
	$(Q)$(MAKE) --no-print-directory SAN=1 check

# The arm64 target: unit tests under qemu-aarch64, selftests in the arm64 VM.
check-arm64:
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 check
vm-test-arm64:
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 vm-test

test: check check-san vm-test vm-test-debug check-arm64 vm-test-arm64

# The README's main job: generate text from MODEL (the first GGUF in the
# git-ignored models/ folder, else the shared reference model).
MODEL ?= $(firstword $(wildcard models/*.gguf) $(wildcard ../shared/models/stories260K-f32.gguf))
PROMPT ?= Once upon a time
N ?= 200
CTX ?= 256
TEMP ?= 0.8
run: tools
	@if [ -z "$(MODEL)" ]; then \
		echo "make run: no model found. Put a GGUF file (llama architecture, e.g. a"; \
		echo "TinyStories or Llama model in f32/f16/bf16/q8_0/q4_0/q4_1) into models/,"; \
		echo "or give one: make run MODEL=path/to/model.gguf"; exit 1; fi
	$(Q)$(BUILD)/bin/llmos run -m "$(MODEL)" -p "$(PROMPT)" -n $(N) -c $(CTX) --temp $(TEMP)

# What the module reports, from inside the VM.
vm-info: tools module
	$(Q)BUILD=$(BUILD) tools/vm-run --arch $(ARCH) -- llmosctl info

vm-shell: module tools selftests
	$(Q)BUILD=$(BUILD) tools/vm-run --arch $(ARCH) --interactive \
		$(foreach t,$(SELFTESTS),--file $(t))

clean:
	$(Q)rm -rf build build-san build-arm64
	$(Q)$(if $(KDIR),$(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null 2>&1 || true)
	$(Q)rm -f llmos.ko kmod/*.o kmod/.*.cmd llmos.mod* .llmos* modules.order Module.symvers

help:
	@sed -n '2,/^$$/s/^# \{0,1\}//p' Makefile

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
