// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Tail-jump wrappers: synthetic bodies for each rule, then Debian 12's
 * glibc 2.36, whose reallocarray jumps to realloc through its PLT slot.
 */
#include <errno.h>
#include "harness.h"
#include "stack/elf_sym.h"
#include "stack/tail_jump.h"

#define LIBC  "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define VADDR 0x1000

#define SCAN(code, s) tail_jump__scan_code((code), sizeof(code), VADDR, (s))

/* glibc's shape: multiply, branch on overflow inside, jump out, error path */
LW_TEST(tail_jump_scan_wrapper_one_exit)
{
	static const uint8_t code[] = {
	    0x48, 0x89, 0xf0,		  /* mov %rsi,%rax */
	    0x48, 0xf7, 0xe2,		  /* mul %rdx */
	    0x48, 0x89, 0xc6,		  /* mov %rax,%rsi */
	    0x70, 0x05,			  /* jo +5 (inside) */
	    0xe9, 0xf0, 0x0f, 0x00, 0x00, /* jmp 0x2000 (outside) */
	    0x31, 0xc0,			  /* xor %eax,%eax */
	    0xc3,			  /* ret */
	};
	struct tail_scan s;

	ASSERT_EQ(SCAN(code, &s), 0, "scan");
	ASSERT_TRUE(!s.undecodable, "decoded");
	ASSERT_TRUE(!s.calls, "no call");
	ASSERT_EQ(s.nexits, 1, "one exit");
	ASSERT_EQ(s.exit[0], 0x2000, "exit target");
}

LW_TEST(tail_jump_scan_call_disqualifies)
{
	static const uint8_t code[] = {
	    0xe8, 0x00, 0x01, 0x00, 0x00, /* call 0x1105 */
	    0xe9, 0xf6, 0x0f, 0x00, 0x00, /* jmp 0x2000 */
	};
	struct tail_scan s;

	ASSERT_EQ(SCAN(code, &s), 0, "scan");
	ASSERT_TRUE(s.calls, "a call");
	ASSERT_CONTAINS(s.why, "call", "why");
}

LW_TEST(tail_jump_scan_indirect_and_syscall_disqualify)
{
	static const uint8_t ind[] = {0xff, 0xe0};	 /* jmp *%rax */
	static const uint8_t sys[] = {0x0f, 0x05, 0xc3}; /* syscall; ret */
	struct tail_scan s;

	ASSERT_EQ(SCAN(ind, &s), 0, "scan indirect");
	ASSERT_TRUE(s.calls, "indirect jump");
	ASSERT_CONTAINS(s.why, "indirect", "why");
	ASSERT_EQ(SCAN(sys, &s), 0, "scan syscall");
	ASSERT_TRUE(s.calls, "syscall");
}

LW_TEST(tail_jump_scan_distinct_exits_counted_once)
{
	static const uint8_t code[] = {
	    0x74, 0x10,			  /* je 0x1012 (outside: body is 12 bytes) */
	    0x74, 0x0e,			  /* je 0x1012 again */
	    0xe9, 0xf7, 0x0f, 0x00, 0x00, /* jmp 0x2000 */
	    0x90, 0x90, 0xc3,		  /* nop; nop; ret */
	};
	struct tail_scan s;

	ASSERT_EQ(SCAN(code, &s), 0, "scan");
	ASSERT_EQ(s.nexits, 2, "two distinct exits");
	ASSERT_EQ(s.exit[0], 0x1012, "first");
	ASSERT_EQ(s.exit[1], 0x2000, "second");
}

LW_TEST(tail_jump_scan_undecodable_is_not_decoded)
{
	static const uint8_t code[] = {0x90, 0x06}; /* nop; (invalid in 64-bit) */
	struct tail_scan s;

	ASSERT_EQ(SCAN(code, &s), 0, "scan");
	ASSERT_TRUE(s.undecodable, "not decoded");
}

static uint64_t libc_off(const char *name)
{
	struct elf_file f;
	uint64_t off = 0;

	if (elf_file__open(&f, LIBC))
		return 0;
	if (elf_file__func_off(&f, name, &off))
		off = 0;
	elf_file__close(&f);
	return off;
}

LW_TEST(tail_jump_glibc_reallocarray_to_realloc)
{
	uint64_t ra = libc_off("reallocarray"), re = libc_off("realloc"), ma = libc_off("malloc");
	char why[192];

	ASSERT_TRUE(ra && re && ma, "libc symbols");
	ASSERT_EQ(tail_jump__only_to(LIBC, ra, re, "realloc", why, sizeof(why)), 1, why);
	ASSERT_CONTAINS(why, "through its PLT slot", "why");
	/* the slot is bound to realloc, not to whatever is asked */
	ASSERT_EQ(tail_jump__only_to(LIBC, ra, ma, "malloc", why, sizeof(why)), 0, why);
	ASSERT_CONTAINS(why, "not to malloc", "why not");
	/* realloc itself does the work: calls */
	ASSERT_EQ(tail_jump__only_to(LIBC, re, re, "realloc", why, sizeof(why)), 0, why);
	ASSERT_EQ(tail_jump__only_to("/nonexistent", ra, re, "realloc", why, sizeof(why)), -ENOENT,
		  "missing file");
}
