# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# leakwatch: out-of-tree build in build/; `make V=1` prints commands.

OUTPUT ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
VERSION := 0.1.0

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := x86

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -DLW_VERSION='"$(VERSION)"' \
	  -Iinclude -Isrc -I$(OUTPUT) -MMD -MP
# capstone decodes allocator entry instructions to place uprobes where the
# kernel emulates instead of single-stepping (see src/stack/probe_place.c);
# libiberty (static) demangles C++/Rust names, liblzma unpacks MiniDebugInfo
# (.gnu_debugdata); libdebuginfod is dlopen'ed, only with DEBUGINFOD_URLS
# (src/stack/debuginfo.c)
PURE_LIBS := -ldw -lelf -lz -lcapstone -liberty -llzma
LDLIBS += -lbpf $(PURE_LIBS)
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Iinclude -MMD -MP

# One BPF source per concern, linked into one object and one skeleton
# (struct lw_bpf); shared maps and globals are __weak in bpf/common.bpf.h.
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_OBJ := $(OUTPUT)/leakwatch.bpf.o
SKELS := $(OUTPUT)/leakwatch.skel.h

# Code that talks to the kernel; everything else is pure and unit-tested.
# src/ is grouped by stage: cli, session (the only code that talks to the
# kernel), detect/<name> (correlators), stack, report, base.
KERNEL_SRCS := $(wildcard src/session/*.c src/cli/*.c)
SRCS := $(sort $(shell find src -name '*.c'))
PURE_SRCS := $(filter-out $(KERNEL_SRCS),$(SRCS))
OBJS := $(patsubst src/%.c,$(OUTPUT)/src/%.o,$(SRCS))
PURE_OBJS := $(patsubst src/%.c,$(OUTPUT)/src/%.o,$(PURE_SRCS))

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%.o,$(UNIT_SRCS))
FIXTURE_SRCS := $(wildcard tests/fixtures/*.c)
FIXTURE_CXX_SRCS := $(wildcard tests/fixtures/*.cc)
FIXTURES := $(patsubst tests/fixtures/%.c,$(OUTPUT)/fixtures/%,$(FIXTURE_SRCS)) \
	    $(patsubst tests/fixtures/%.cc,$(OUTPUT)/fixtures/%,$(FIXTURE_CXX_SRCS))
CXX ?= c++

.DELETE_ON_ERROR:
.PHONY: all clean check unit e2e bench install vmlinux format demo fixtures fuzz

# BPF objects are named so make keeps them (the skeleton embeds the linked
# one; bpftool inspects them)
all: $(BPF_OBJ) $(OUTPUT)/leakwatch $(FIXTURES) $(OUTPUT)/liblwinject.so

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/tests/unit $(OUTPUT)/fixtures:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@

# bpftool's static linker resolves the __weak and extern symbols the
# sources share (and shrinks the result a lot).
$(BPF_OBJ): $(BPF_OBJS)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKELS): $(BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name lw_bpf > $@

KERNEL_OBJS := $(patsubst src/%.c,$(OUTPUT)/src/%.o,$(KERNEL_SRCS))
# Kernel-facing objects include skeletons; generate those first.
$(KERNEL_OBJS): $(SKELS)

$(OUTPUT)/src/%.o: src/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/leakwatch: $(OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The LD_PRELOAD half of --inject (not under src/: it is not part of the
# binary). Only the wrappers are exported; libgcc_s is linked so the stack
# walk needs no dlopen; no builtins, so gcc never turns the bootstrap into
# calls back into the wrappers.
$(OUTPUT)/liblwinject.so: inject/lwinject.c | $(OUTPUT)
	$(call msg,SHLIB,$@)
	$(Q)$(CC) -O2 -g -fPIC -shared -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -std=gnu11 \
		-fvisibility=hidden -fno-builtin -MMD -MP $< -o $@ -ldl -lgcc_s

# Fixtures keep frame pointers and debug info: tests assert function names.
FIXTURE_LIBS_pair_openssl := -lssl -lcrypto
FIXTURE_LIBS_pair_gnutls := -lgnutls
FIXTURE_CFLAGS_pair_glib := $(shell pkg-config --cflags gobject-2.0)
# the stack memo's paths both ways: every CFA from sp, and (_fp) from bp
FIXTURE_CFLAGS_mem_memo_paths := -fomit-frame-pointer
FIXTURE_LIBS_pair_glib := $(shell pkg-config --libs gobject-2.0)
$(OUTPUT)/fixtures/fault_router_fixed: tests/fixtures/fault_router.c
$(OUTPUT)/fixtures/mem_memo_paths_fp: tests/fixtures/mem_memo_paths.c
$(OUTPUT)/fixtures/%: tests/fixtures/%.c | $(OUTPUT)/fixtures
	$(call msg,FIXTURE,$@)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $(FIXTURE_CFLAGS_$*) $< -o $@ $(FIXTURE_LIBS_$*)

# C++ fixtures: reports name their frames demangled
$(OUTPUT)/fixtures/%: tests/fixtures/%.cc | $(OUTPUT)/fixtures
	$(call msg,FIXTURE,$@)
	$(Q)$(CXX) -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror -pthread $< -o $@

$(OUTPUT)/tests/unit/%.o: tests/unit/%.c | $(OUTPUT)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# cfi_fp_fn must have a frame-pointer frame, with gcc and clang alike
$(OUTPUT)/tests/unit/test_cfi.o: CFLAGS += -fno-omit-frame-pointer

$(OUTPUT)/unit-tests: $(UNIT_OBJS) $(PURE_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(PURE_LIBS) -o $@

$(OUTPUT)/bench/%: bench/%.c
	$(call msg,BENCH,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror $< -o $@

# the reachability scan on a real frozen process: links the scan and the freeze
$(OUTPUT)/bench/reach_scan: bench/reach_scan.c $(OUTPUT)/src/detect/mem/reach.o $(OUTPUT)/src/base/radix_sort.o \
			    $(OUTPUT)/src/detect/mem/freeze.o $(OUTPUT)/src/base/procfs.o
	$(call msg,BENCH,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc $^ -o $@

# the floor: no-op programs on leakwatch's hooks, its own skeleton; the
# loader links the pure objects for det_mem's probe placement
$(OUTPUT)/bench/floor.bpf.o: bench/floor.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $(@:.o=.tmp.o)
	$(Q)$(BPFTOOL) gen object $@ $(@:.o=.tmp.o)

$(OUTPUT)/bench/floor.skel.h: $(OUTPUT)/bench/floor.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@

$(OUTPUT)/bench/floor: bench/floor.c $(OUTPUT)/bench/floor.skel.h $(PURE_OBJS) \
		       $(OUTPUT)/src/session/uprobe_links.o
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/bench $< $(PURE_OBJS) $(OUTPUT)/src/session/uprobe_links.o \
		$(LDLIBS) -o $@

unit: $(OUTPUT)/unit-tests $(FIXTURES)
	$(Q)$(OUTPUT)/unit-tests

e2e: $(OUTPUT)/leakwatch $(FIXTURES)
	$(Q)LEAKWATCH=$(OUTPUT)/leakwatch FIXTURES=$(OUTPUT)/fixtures bash tests/e2e/run.sh

# Unit tests, then the real-BPF end-to-end tests (root).
check: all $(OUTPUT)/unit-tests
	$(Q)bash tests/check.sh $(OUTPUT)

bench: all $(OUTPUT)/bench/fd_openclose $(OUTPUT)/bench/mem_pairs $(OUTPUT)/bench/reach_scan \
       $(OUTPUT)/bench/floor
	$(Q)bash bench/run.sh $(OUTPUT)

# libFuzzer harnesses (tests/fuzz) over the pure code, built by clang with
# ASan and UBSan (libFuzzer: libclang-rt-14-dev, see tools/install-fuzz-deps.sh).
# `make fuzz FUZZ_SECONDS=60` runs each harness that long from its seed corpus.
FUZZ_SECONDS ?= 10
FUZZ_TARGETS := suppress pair_spec maps unwind
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE \
	       -DLW_VERSION='"$(VERSION)"' -Iinclude -Isrc -MMD -MP
FUZZ_OBJS := $(patsubst src/%.c,$(OUTPUT)/fuzz/obj/%.o,$(PURE_SRCS))
FUZZ_BINS := $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZ_TARGETS))

$(OUTPUT)/fuzz/obj/%.o: src/%.c
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUTPUT)/fuzz/libpure.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(OUTPUT)/fuzz/libpure.a
	$(call msg,FUZZER,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(OUTPUT)/fuzz/libpure.a \
		$(PURE_LIBS) -o $@

fuzz: $(FUZZ_BINS)
	$(Q)bash tests/fuzz/run.sh $(OUTPUT)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: all
	$(Q)$(OUTPUT)/leakwatch run -- $(OUTPUT)/fixtures/demo_leaky_server

install: $(OUTPUT)/leakwatch $(OUTPUT)/liblwinject.so
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(OUTPUT)/leakwatch $(DESTDIR)$(BINDIR)/leakwatch
	install -d $(DESTDIR)$(PREFIX)/lib/leakwatch
	install -m 0644 $(OUTPUT)/liblwinject.so $(DESTDIR)$(PREFIX)/lib/leakwatch/liblwinject.so
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 docs/leakwatch.1 $(DESTDIR)$(MANDIR)/man1/leakwatch.1

# The only way vmlinux/ is regenerated.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

format:
	clang-format -i $(SRCS) $(wildcard bpf/*.h) $(shell find src -name '*.h') include/leakwatch/*.h $(BPF_SRCS) $(UNIT_SRCS) $(FIXTURE_SRCS) $(FIXTURE_CXX_SRCS) $(wildcard tests/fuzz/*.c) inject/lwinject.c

clean:
	rm -rf $(OUTPUT)

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
