// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The allocator's own code: names, families, and what is learnt from real
 * ELF files (this test binary, libc).
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include "harness.h"
#include "detect/mem/alloc_code.h"
#include "detect/mem/alloc_resolve.h"

/* what a statically linked jemalloc's symbols look like (global, so they
 * are in .symtab with their sizes)
 */
LW_NOIPA int je_test_extent_alloc(int x)
{
	return x * 3 + 1;
}

LW_NOIPA int pages_test_map(int x)
{
	return x * 5 + 2;
}

LW_NOIPA int test_program_fn(int x)
{
	return x * 7 + 3;
}

LW_TEST(alloc_code_names)
{
	ASSERT_TRUE(alloc_code__internal_name("je_pages_map", 0), "je_ always");
	ASSERT_TRUE(alloc_code__internal_name("jemalloc_prefork", 0), "jemalloc always");
	ASSERT_TRUE(alloc_code__internal_name("_int_malloc", 0), "glibc's");
	ASSERT_TRUE(alloc_code__internal_name("sysmalloc", 0), "glibc's sysmalloc");
	ASSERT_TRUE(!alloc_code__internal_name("pages_map", 0), "pages_ needs jemalloc");
	ASSERT_TRUE(alloc_code__internal_name("pages_map", ALLOC_FAM_JEMALLOC), "with jemalloc");
	ASSERT_TRUE(alloc_code__internal_name("extent_alloc_mmap", ALLOC_FAM_JEMALLOC), "extent_");
	ASSERT_TRUE(alloc_code__internal_name("arena_new", ALLOC_FAM_JEMALLOC), "arena_");
	ASSERT_TRUE(!alloc_code__internal_name("arena_new", ALLOC_FAM_TCMALLOC), "not tcmalloc's");
	ASSERT_TRUE(alloc_code__internal_name("tc_malloc", ALLOC_FAM_TCMALLOC), "tc_");
	ASSERT_TRUE(alloc_code__internal_name("_ZN8tcmalloc8PageHeap3NewEm", ALLOC_FAM_TCMALLOC),
		    "tcmalloc::PageHeap::New");
	ASSERT_TRUE(alloc_code__internal_name("mi_heap_malloc", ALLOC_FAM_MIMALLOC), "mi_");
	ASSERT_TRUE(!alloc_code__internal_name("main", ~0u), "main");
	ASSERT_TRUE(!alloc_code__internal_name("map_pages", ~0u), "a program's own");
	ASSERT_EQ(alloc_code__family_of("je_malloc"), ALLOC_FAM_JEMALLOC, "je_malloc");
	ASSERT_EQ(alloc_code__family_of("_ZN8tcmalloc6Static4initEv"), ALLOC_FAM_TCMALLOC,
		  "tcmalloc");
	ASSERT_EQ(alloc_code__family_of("mi_malloc"), ALLOC_FAM_MIMALLOC, "mimalloc");
	ASSERT_EQ(alloc_code__family_of("pages_map"), 0, "no family by itself");
	ASSERT_TRUE(alloc_code__entry_name("malloc") && alloc_code__entry_name("free") &&
			alloc_code__entry_name("posix_memalign") && alloc_code__entry_name("_Znwm"),
		    "entry points");
	ASSERT_TRUE(!alloc_code__entry_name("mallocx") && !alloc_code__entry_name("freeaddrinfo"),
		    "not entry points");
}

LW_TEST(alloc_code_classify)
{
	struct alloc_code *ac = alloc_code__new();
	const char *je = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

	ASSERT_EQ(alloc_code__classify(NULL, je, 0x1234), ALLOC_CODE_INTERNAL, "by name, no ac");
	ASSERT_EQ(alloc_code__classify(NULL, "/usr/lib/libtcmalloc.so.4", 0), ALLOC_CODE_INTERNAL,
		  "tcmalloc");
	ASSERT_EQ(alloc_code__classify(NULL, "/srv/app", 0), ALLOC_CODE_NONE, "a program");
	ASSERT_EQ(alloc_code__classify(NULL, NULL, 0), ALLOC_CODE_NONE, "no module");
	ASSERT_EQ(alloc_code__add_range(ac, je, 0x100, 0x140, ALLOC_CODE_ENTRY), 0, "malloc");
	ASSERT_EQ(alloc_code__classify(ac, je, 0x120), ALLOC_CODE_ENTRY, "entry beats module");
	ASSERT_EQ(alloc_code__classify(ac, je, 0x140), ALLOC_CODE_INTERNAL, "past its end");
	ASSERT_EQ(alloc_code__add_module(ac, "/srv/app", false), 0, "a module, not whole");
	ASSERT_EQ(alloc_code__add_module(ac, "/srv/app", false), 0, "twice");
	ASSERT_EQ(alloc_code__classify(ac, "/srv/app", 0x120), ALLOC_CODE_NONE, "not whole");
	alloc_code__free(ac);
}

/* This test binary, learnt as if it were its own allocator (a PIE with
 * je_ symbols: jemalloc linked in), and libc, learnt as the usual one.
 */
LW_TEST(alloc_code_learn_elf)
{
	struct alloc_code *ac = alloc_code__new();
	char exe[PATH_MAX];
	uint64_t je, pages, prog, mal;
	Dl_info di;

	ASSERT_TRUE(realpath("/proc/self/exe", exe), "realpath");
	ASSERT_EQ(elf_symbol_file_offset(exe, "je_test_extent_alloc", &je), 0, "je_ symbol");
	ASSERT_EQ(elf_symbol_file_offset(exe, "pages_test_map", &pages), 0, "pages_ symbol");
	ASSERT_EQ(elf_symbol_file_offset(exe, "test_program_fn", &prog), 0, "program symbol");
	ASSERT_EQ(alloc_code__learn(ac, exe, exe), 0, "learn the executable");
	ASSERT_EQ(alloc_code__classify(ac, exe, je + 1), ALLOC_CODE_INTERNAL, "je_ function");
	ASSERT_EQ(alloc_code__classify(ac, exe, pages + 1), ALLOC_CODE_INTERNAL,
		  "pages_: the binary has jemalloc's je_ symbols");
	ASSERT_EQ(alloc_code__classify(ac, exe, prog + 1), ALLOC_CODE_NONE, "the program's code");
	ASSERT_EQ(alloc_code__learn(ac, exe, exe), 0, "learnt once");

	ASSERT_TRUE(dladdr((void *)malloc, &di) && di.dli_fname, "libc");
	ASSERT_EQ(elf_symbol_file_offset(di.dli_fname, "malloc", &mal), 0, "malloc in libc");
	ASSERT_EQ(alloc_code__learn(ac, di.dli_fname, di.dli_fname), 0, "learn libc");
	ASSERT_EQ(alloc_code__classify(ac, di.dli_fname, mal + 8), ALLOC_CODE_ENTRY, "in malloc");
	ASSERT_EQ(alloc_code__classify(ac, di.dli_fname, 0x10), ALLOC_CODE_NONE,
		  "the rest of libc is not allocator code here");
	ASSERT_EQ(alloc_code__learn(ac, "/nonexistent/libfoo.so", "/nonexistent/libfoo.so"), 0,
		  "unreadable: learnt by name");
	ASSERT_EQ(alloc_code__classify(ac, "/nonexistent/libfoo.so", 0), ALLOC_CODE_INTERNAL,
		  "a shared object: all of it");
	alloc_code__free(ac);
}
