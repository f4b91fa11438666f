// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Probe placement: synthetic byte sequences for each rule, then the real
 * Debian 12 glibc 2.36 allocator entries.
 */
#include <errno.h>
#include "harness.h"
#include "base/fmt.h"
#include "stack/elf_sym.h"
#include "stack/probe_place.h"

#define LIBC		     "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define ENTRY		     0x1000
#define ARGS_1		     LW_ARG_RDI
#define ARGS_3		     (LW_ARG_RDI | LW_ARG_RSI | LW_ARG_RDX)
#define FIND(code, args, pp) probe_place__find_code((code), sizeof(code), ENTRY, (args), (pp))

static int classify(const uint8_t *code, size_t len, bool *emulated, char *text, size_t tlen)
{
	*emulated = !*emulated; /* so a call that forgets to set it is caught */
	return probe_place__classify(code, len, ENTRY, emulated, text, tlen);
}

LW_TEST(probe_place_push_rbp_entry_not_moved)
{
	static const uint8_t code[] = {0x55, 0x48, 0x89, 0xe5, 0xc3}; /* push %rbp; mov; ret */
	struct probe_place pp;

	ASSERT_EQ(FIND(code, ARGS_1, &pp), 0, "find");
	ASSERT_EQ(pp.offset, ENTRY, "offset");
	ASSERT_EQ(pp.entry_offset, ENTRY, "entry_offset");
	ASSERT_TRUE(pp.emulated, "emulated");
	ASSERT_TRUE(!pp.moved, "not moved");
	ASSERT_CONTAINS(pp.why, "is emulated", "why");
}

/* free(): test %rdi,%rdi only reads rdi; the je is a branch the kernel emulates */
LW_TEST(probe_place_test_je_moves_to_je)
{
	static const uint8_t code[] = {
	    0x48, 0x85, 0xff, /* test %rdi,%rdi */
	    0x74, 0x01,	      /* je +1 (to the push) */
	    0xc3,	      /* ret */
	    0x55,	      /* push %rbp */
	    0xc3,
	};
	struct probe_place pp;

	ASSERT_EQ(FIND(code, ARGS_1, &pp), 0, "find");
	ASSERT_EQ(pp.offset, ENTRY + 3, "offset on the je");
	ASSERT_TRUE(pp.emulated, "emulated");
	ASSERT_TRUE(pp.moved, "moved");
	ASSERT_CONTAINS(pp.why, "moved 3 bytes to emulated 'je", "why");
}

LW_TEST(probe_place_skipped_write_to_read_arg_keeps_entry)
{
	static const uint8_t code[] = {
	    0x48, 0x89, 0xf7, /* mov %rsi,%rdi */
	    0x55,	      /* push %rbp */
	    0xc3,
	};
	struct probe_place pp;

	ASSERT_EQ(FIND(code, ARGS_1, &pp), 0, "find rdi read");
	ASSERT_EQ(pp.offset, ENTRY, "offset");
	ASSERT_TRUE(!pp.emulated, "not emulated");
	ASSERT_TRUE(!pp.moved, "not moved");
	ASSERT_CONTAINS(pp.why, "writes argument register %rdi", "why");
	/* rdi not read by the program: the same move is harmless */
	ASSERT_EQ(FIND(code, LW_ARG_RSI, &pp), 0, "find rsi read");
	ASSERT_EQ(pp.offset, ENTRY + 3, "moved when rdi is not read");
	ASSERT_TRUE(pp.moved, "moved");
}

/* mimalloc 2.0.9's malloc (Debian 12 libmimalloc2.0): the size is copied to
 * %rsi before %rdi gets the thread's heap; the probe moves to the ja and
 * reads the size from %rsi
 */
LW_TEST(probe_place_copied_argument_moves_with_its_copy)
{
	static const uint8_t code[] = {
	    0x48, 0x8b, 0x05, 0x49, 0xb4, 0x00, 0x00, /* mov 0xb449(%rip),%rax */
	    0x48, 0x89, 0xfe,			      /* mov %rdi,%rsi */
	    0x64, 0x48, 0x8b, 0x38,		      /* mov %fs:(%rax),%rdi */
	    0x48, 0x81, 0xfe, 0x00, 0x04, 0x00, 0x00, /* cmp $0x400,%rsi */
	    0x77, 0x29,				      /* ja */
	    0xc3,
	};
	struct probe_place pp;

	ASSERT_EQ(FIND(code, ARGS_1, &pp), 0, "find");
	ASSERT_EQ(pp.offset, ENTRY + 21, "offset on the ja");
	ASSERT_TRUE(pp.emulated && pp.moved, "emulated, moved");
	ASSERT_TRUE(pp.remapped, "remapped");
	ASSERT_EQ(pp.arg_reg[0], 6, "the size from %rsi");
	ASSERT_CONTAINS(pp.why, "reads %rsi for %rdi", "why");
	/* at the entry nothing moved */
	ASSERT_EQ(FIND(code, 0, &pp), 0, "find, no argument read");
	ASSERT_TRUE(!pp.remapped, "no argument, nothing remapped");
}

/* mimalloc's realloc(ptr, size): size to %rdx, ptr to %rsi, then %rdi gets
 * the heap and a tail jump follows: both arguments move
 */
LW_TEST(probe_place_two_arguments_move_to_a_tail_jump)
{
	static const uint8_t code[] = {
	    0x48, 0x8b, 0x05, 0x49, 0xa9, 0x00, 0x00, /* mov 0xa949(%rip),%rax */
	    0x48, 0x89, 0xf2,			      /* mov %rsi,%rdx */
	    0x48, 0x89, 0xfe,			      /* mov %rdi,%rsi */
	    0x64, 0x48, 0x8b, 0x00,		      /* mov %fs:(%rax),%rax */
	    0x48, 0x89, 0xc7,			      /* mov %rax,%rdi */
	    0xe9, 0xf7, 0x4e, 0xff, 0xff,	      /* jmp */
	};
	struct probe_place pp;

	ASSERT_EQ(FIND(code, LW_ARG_RDI | LW_ARG_RSI, &pp), 0, "find");
	ASSERT_EQ(pp.offset, ENTRY + 20, "offset on the jmp");
	ASSERT_TRUE(pp.moved && pp.remapped, "moved, remapped");
	ASSERT_EQ(pp.arg_reg[0], 6, "ptr from %rsi");
	ASSERT_EQ(pp.arg_reg[1], 2, "size from %rdx");
	ASSERT_CONTAINS(pp.why, "reads %rsi for %rdi, %rdx for %rsi", "why");
}

/* only a full 64-bit move is a copy; a copy overwritten is gone */
LW_TEST(probe_place_lost_copies_keep_entry)
{
	static const uint8_t movl[] = {
	    0x89, 0xfe,	      /* mov %edi,%esi: the upper half is lost */
	    0x48, 0x31, 0xff, /* xor %rdi,%rdi */
	    0x55,	      /* push %rbp */
	    0xc3,
	};
	static const uint8_t gone[] = {
	    0x48, 0x89, 0xfe, /* mov %rdi,%rsi */
	    0x31, 0xf6,	      /* xor %esi,%esi */
	    0x31, 0xff,	      /* xor %edi,%edi */
	    0x55, 0xc3,
	};
	struct probe_place pp;

	ASSERT_EQ(FIND(movl, ARGS_1, &pp), 0, "find movl");
	ASSERT_EQ(pp.offset, ENTRY, "movl: kept at entry");
	ASSERT_CONTAINS(pp.why, "writes argument register %rdi, its last copy", "movl: why");
	ASSERT_TRUE(!pp.remapped && pp.arg_reg[0] == 7, "movl: rdi as at the entry");
	ASSERT_EQ(FIND(gone, ARGS_1, &pp), 0, "find gone");
	ASSERT_EQ(pp.offset, ENTRY, "gone: kept at entry");
	ASSERT_CONTAINS(pp.why,
			"'xorl %edi, %edi' at +5 writes argument register %rdi, its last copy",
			"gone: why");
}

LW_TEST(probe_place_rsp_and_rbp_writes_keep_entry)
{
	static const uint8_t sub_rsp[] = {0x48, 0x83, 0xec, 0x08, 0x55, 0xc3}; /* sub $8,%rsp */
	static const uint8_t lea_rsp[] = {0x48, 0x8d, 0x64,
					  0x24, 0xf8, 0x55};		 /* lea -8(%rsp),%rsp */
	static const uint8_t mov_rbp[] = {0x48, 0x89, 0xe5, 0x55, 0xc3}; /* mov %rsp,%rbp */
	struct probe_place pp;

	ASSERT_EQ(FIND(sub_rsp, ARGS_1, &pp), 0, "find sub");
	ASSERT_EQ(pp.offset, ENTRY, "sub rsp: offset");
	ASSERT_TRUE(!pp.moved && !pp.emulated, "sub rsp: fallback");
	ASSERT_EQ(FIND(lea_rsp, ARGS_1, &pp), 0, "find lea");
	ASSERT_EQ(pp.offset, ENTRY, "lea rsp: offset");
	ASSERT_CONTAINS(pp.why, "touches %rsp", "lea rsp: why");
	ASSERT_EQ(FIND(mov_rbp, ARGS_1, &pp), 0, "find mov rbp");
	ASSERT_EQ(pp.offset, ENTRY, "mov rbp: offset");
	ASSERT_CONTAINS(pp.why, "%rbp", "mov rbp: why");
}

LW_TEST(probe_place_memory_write_keeps_entry)
{
	static const uint8_t code[] = {0x48, 0x89, 0x38, 0x55, 0xc3}; /* mov %rdi,(%rax) */
	struct probe_place pp;

	ASSERT_EQ(FIND(code, 0, &pp), 0, "find");
	ASSERT_EQ(pp.offset, ENTRY, "offset");
	ASSERT_CONTAINS(pp.why, "writes memory", "why");
}

/* posix_memalign/valloc/pvalloc: a RIP-relative compare only reads memory */
LW_TEST(probe_place_riprel_cmpb_moves_to_push_r12)
{
	static const uint8_t code[] = {
	    0x80, 0x3d, 0x10, 0x00, 0x00, 0x00, 0x00, /* cmpb $0x0,0x10(%rip) */
	    0x41, 0x54,				      /* push %r12 */
	    0xc3,
	};
	struct probe_place pp;

	ASSERT_EQ(FIND(code, ARGS_3, &pp), 0, "find");
	ASSERT_EQ(pp.offset, ENTRY + 7, "offset on push %r12");
	ASSERT_TRUE(pp.emulated && pp.moved, "emulated, moved");
	ASSERT_CONTAINS(pp.why, "moved 7 bytes to emulated 'pushq %r12'", "why");
}

LW_TEST(probe_place_unskippable_entry_falls_back)
{
	static const uint8_t add[] = {0x48, 0xf7, 0xe6, 0x55, 0xc3}; /* mul %rsi */
	static const uint8_t ret[] = {0x48, 0x89, 0xf8, 0xc3};	     /* mov %rdi,%rax; ret */
	static const uint8_t
	    far[] =
		{
		    0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0,
		    0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0,
		    0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x55, /* 13x xor %eax,%eax, then push %rbp
							       */
		};
	struct probe_place pp;

	ASSERT_EQ(FIND(add, ARGS_1, &pp), 0, "find add");
	ASSERT_EQ(pp.offset, ENTRY, "add: offset");
	ASSERT_TRUE(!pp.emulated && !pp.moved, "add: fallback");
	ASSERT_CONTAINS(pp.why, "single-stepped", "add: why");
	ASSERT_EQ(FIND(ret, ARGS_1, &pp), 0, "find ret");
	ASSERT_EQ(pp.offset, ENTRY, "ret: not moved onto or past a ret");
	ASSERT_CONTAINS(pp.why, "transfers control", "ret: why");
	ASSERT_EQ(FIND(far, ARGS_1, &pp), 0, "find far");
	ASSERT_EQ(pp.offset, ENTRY, "far: push beyond the window");
	ASSERT_CONTAINS(pp.why, "no emulated instruction within 12", "far: why");
}

/* jemalloc 5.3 free(): nine instructions derive an rtree cache slot from the
 * pointer's high bits and compare; the first emulated one is the jne at +48.
 * Its loads go through rip, %fs and the masked slot index, never through a
 * copy of the pointer.
 */
LW_TEST(probe_place_jemalloc_free_prefix)
{
	static const uint8_t code[] = {
	    0x48, 0x89, 0xf8,				    /* +0  mov %rdi,%rax */
	    0x48, 0x8b, 0x15, 0x0e, 0x53, 0x0a, 0x00,	    /* +3  mov 0xa530e(%rip),%rdx */
	    0x48, 0x89, 0xf9,				    /* +10 mov %rdi,%rcx */
	    0x48, 0xc1, 0xe8, 0x1a,			    /* +13 shr $0x1a,%rax */
	    0x48, 0x81, 0xe1, 0x00, 0x00, 0x00, 0xc0,	    /* +17 and $-0x40000000,%rcx */
	    0x25, 0xf0, 0x00, 0x00, 0x00,		    /* +24 and $0xf0,%eax */
	    0x64, 0x48, 0x03, 0x04, 0x25, 0,	0,    0, 0, /* +29 add %fs:0x0,%rax */
	    0x48, 0x01, 0xd0,				    /* +38 add %rdx,%rax */
	    0x48, 0x3b, 0x88, 0xb0, 0x01, 0x00, 0x00,	    /* +41 cmp 0x1b0(%rax),%rcx */
	    0x0f, 0x85, 0x8a, 0x00, 0x00, 0x00,		    /* +48 jne */
	    0xc3,
	};
	struct probe_place pp;

	ASSERT_EQ(FIND(code, ARGS_1, &pp), 0, "find");
	ASSERT_EQ(pp.offset, ENTRY + 48, "on the jne");
	ASSERT_TRUE(pp.moved && pp.emulated, "moved, emulated");
	ASSERT_CONTAINS(pp.why, "moved 48 bytes to emulated 'jne", "why");
}

/* A skipped load through the argument (or a copy of it) could fault on a
 * wild pointer before the moved probe saw the call: such a load ends the
 * prefix. A masked copy (a small index) is not the pointer any more.
 */
LW_TEST(probe_place_load_through_argument_keeps_entry)
{
	static const uint8_t direct[] = {
	    0x48, 0x8b, 0x47, 0xf8, /* mov -0x8(%rdi),%rax */
	    0x55, 0xc3,
	};
	static const uint8_t copy[] = {
	    0x48, 0x89, 0xf8,	    /* mov %rdi,%rax */
	    0x48, 0x83, 0xc0, 0x10, /* add $0x10,%rax */
	    0x48, 0x8b, 0x08,	    /* mov (%rax),%rcx */
	    0x55, 0xc3,
	};
	static const uint8_t index[] = {
	    0x48, 0x89, 0xf8,		  /* mov %rdi,%rax */
	    0x48, 0x8b, 0x0c, 0xc5, 0, 0, /* mov 0x0(,%rax,8),%rcx */
	    0,	  0,	0x55, 0xc3,
	};
	static const uint8_t masked[] = {
	    0x48, 0x89, 0xf8,		  /* mov %rdi,%rax */
	    0x25, 0xf0, 0x00, 0x00, 0x00, /* and $0xf0,%eax */
	    0x48, 0x8b, 0x48, 0x10,	  /* mov 0x10(%rax),%rcx */
	    0x55, 0xc3,
	};
	static const uint8_t rewritten[] = {
	    0x48, 0x89, 0xf8,			      /* mov %rdi,%rax */
	    0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, /* mov 0x10(%rip),%rax */
	    0x48, 0x8b, 0x08,			      /* mov (%rax),%rcx */
	    0x55, 0xc3,
	};
	static const uint8_t partial[] = {
	    0x48, 0x89, 0xf8, /* mov %rdi,%rax */
	    0xb0, 0x01,	      /* mov $1,%al: the upper bits are still the pointer's */
	    0x8b, 0x08,	      /* mov (%rax),%ecx */
	    0x55, 0xc3,
	};
	static const uint8_t cmov[] = {
	    0x48, 0x89, 0xf8,	    /* mov %rdi,%rax */
	    0x48, 0x0f, 0x44, 0xc1, /* cmove %rcx,%rax: may keep the pointer */
	    0x8b, 0x08,		    /* mov (%rax),%ecx */
	    0x55, 0xc3,
	};
	struct probe_place pp;

	ASSERT_EQ(FIND(cmov, ARGS_1, &pp), 0, "find cmov");
	ASSERT_EQ(pp.offset, ENTRY, "cmov: kept");
	ASSERT_CONTAINS(pp.why, "loads through %rax", "cmov: why");
	ASSERT_EQ(FIND(direct, ARGS_1, &pp), 0, "find direct");
	ASSERT_EQ(pp.offset, ENTRY, "direct: kept");
	ASSERT_CONTAINS(pp.why, "loads through %rdi", "direct: why");
	/* a size argument is not dereferenced by callers we know, but the rule is the same */
	ASSERT_EQ(FIND(direct, LW_ARG_RSI, &pp), 0, "find direct, rdi unread");
	ASSERT_EQ(pp.offset, ENTRY + 4, "direct: moved when rdi is not an argument read");
	ASSERT_EQ(FIND(copy, ARGS_1, &pp), 0, "find copy");
	ASSERT_EQ(pp.offset, ENTRY, "copy: kept");
	ASSERT_CONTAINS(pp.why, "loads through %rax", "copy: why");
	ASSERT_EQ(FIND(index, ARGS_1, &pp), 0, "find index");
	ASSERT_EQ(pp.offset, ENTRY, "index: kept");
	ASSERT_EQ(FIND(masked, ARGS_1, &pp), 0, "find masked");
	ASSERT_EQ(pp.offset, ENTRY + 12, "masked: moved onto the push");
	ASSERT_TRUE(pp.moved && pp.emulated, "masked: moved");
	ASSERT_EQ(FIND(rewritten, ARGS_1, &pp), 0, "find rewritten");
	ASSERT_EQ(pp.offset, ENTRY + 13, "rewritten: rax no longer the pointer");
	ASSERT_EQ(FIND(partial, ARGS_1, &pp), 0, "find partial");
	ASSERT_EQ(pp.offset, ENTRY, "partial: kept");
	ASSERT_CONTAINS(pp.why, "loads through %rax", "partial: why");
}

/* Register arithmetic with a register destination is skippable like a move;
 * a memory destination or an argument destination is not.
 */
LW_TEST(probe_place_register_arithmetic)
{
	static const uint8_t tc_memalign[] = {
	    0x48, 0x8d, 0x46, 0xff, /* lea -0x1(%rsi),%rax (tcmalloc posix_memalign) */
	    0x48, 0x83, 0xc8, 0x07, /* or $0x7,%rax */
	    0x48, 0x85, 0xf0,	    /* test %rsi,%rax */
	    0x75, 0x2b,		    /* jne */
	    0xc3,
	};
	static const uint8_t add_mem[] = {0x48, 0x01, 0x38, 0x55, 0xc3}; /* add %rdi,(%rax) */
	static const uint8_t shl_rdi[] = {0x48, 0xd1, 0xe7, 0x55, 0xc3}; /* shl %rdi */
	static const uint8_t div_rcx[] = {0x48, 0xf7, 0xf1, 0x55, 0xc3}; /* div %rcx */
	static const uint8_t sete_al[] = {0x0f, 0x94, 0xc0, 0x55, 0xc3}; /* sete %al */
	struct probe_place pp;

	ASSERT_EQ(FIND(tc_memalign, ARGS_3, &pp), 0, "find tc");
	ASSERT_EQ(pp.offset, ENTRY + 11, "tc: on the jne");
	ASSERT_TRUE(pp.moved && pp.emulated, "tc: moved");
	ASSERT_EQ(FIND(add_mem, 0, &pp), 0, "find add mem");
	ASSERT_EQ(pp.offset, ENTRY, "add mem: kept");
	ASSERT_CONTAINS(pp.why, "writes memory", "add mem: why");
	ASSERT_EQ(FIND(shl_rdi, ARGS_1, &pp), 0, "find shl");
	ASSERT_EQ(pp.offset, ENTRY, "shl rdi: kept");
	ASSERT_CONTAINS(pp.why, "writes argument register %rdi", "shl: why");
	ASSERT_EQ(FIND(div_rcx, 0, &pp), 0, "find div");
	ASSERT_EQ(pp.offset, ENTRY, "div: kept (can fault, writes rdx:rax)");
	ASSERT_EQ(FIND(sete_al, ARGS_1, &pp), 0, "find sete");
	ASSERT_EQ(pp.offset, ENTRY + 3, "sete: moved");
}

LW_TEST(probe_place_branch_into_prologue_keeps_entry)
{
	static const uint8_t code[] = {
	    0x48, 0x85, 0xff, /* +0 test %rdi,%rdi */
	    0x74, 0x03,	      /* +3 je +3 */
	    0x55,	      /* +5 push %rbp */
	    0xeb, 0xfa,	      /* +6 jmp +2: back onto the je, not via the entry */
	    0xc3,	      /* +8 ret */
	};
	struct probe_place pp;

	ASSERT_EQ(FIND(code, ARGS_1, &pp), 0, "find");
	ASSERT_EQ(pp.offset, ENTRY, "offset");
	ASSERT_TRUE(!pp.moved, "not moved");
	ASSERT_CONTAINS(pp.why, "branch at +6", "why");
}

LW_TEST(probe_place_classify_pushes)
{
	static const uint8_t r12[] = {0x41, 0x54}, rbx[] = {0x53};
	static const uint8_t rexw[] = {0x48, 0x50}, push16[] = {0x66, 0x50};
	static const uint8_t rex_wb[] = {0x49, 0x54}; /* REX.WB push %r12: not 0x41 */
	char text[48];
	bool emu = false;

	ASSERT_EQ(classify(r12, sizeof(r12), &emu, text, sizeof(text)), 2, "push r12 len");
	ASSERT_TRUE(emu, "push %r12 (41 54) emulated");
	ASSERT_STREQ(text, "pushq %r12", "text");
	ASSERT_EQ(classify(rbx, sizeof(rbx), &emu, text, sizeof(text)), 1, "push rbx len");
	ASSERT_TRUE(emu, "push %rbx emulated");
	ASSERT_EQ(classify(rexw, sizeof(rexw), &emu, text, sizeof(text)), 2, "48 50 len");
	ASSERT_TRUE(!emu, "48 50: only REX 0x41 is emulated");
	ASSERT_EQ(classify(rex_wb, sizeof(rex_wb), &emu, text, sizeof(text)), 2, "49 54 len");
	ASSERT_TRUE(!emu, "49 54 single-stepped");
	ASSERT_EQ(classify(push16, sizeof(push16), &emu, text, sizeof(text)), 2, "66 50 len");
	ASSERT_TRUE(!emu, "pushw single-stepped");
}

LW_TEST(probe_place_classify_branches_and_nops)
{
	static const struct {
		uint8_t b[8];
		size_t n;
		bool emulated;
		const char *what;
	} cases[] = {
	    {{0xe8, 0, 0, 0, 0}, 5, true, "call rel32"},
	    {{0xe9, 0, 0, 0, 0}, 5, true, "jmp rel32"},
	    {{0xeb, 0x00}, 2, true, "jmp rel8"},
	    {{0x75, 0x10}, 2, true, "jne rel8"},
	    {{0x0f, 0x84, 0, 0, 0, 0}, 6, true, "je rel32"},
	    {{0x66, 0x0f, 0x84, 0, 0}, 5, false, "66-prefixed jcc (refused)"},
	    {{0x90}, 1, true, "nop"},
	    {{0x66, 0x90}, 2, true, "66 nop"},
	    {{0x0f, 0x1f, 0x00}, 3, false, "nopl (emulated from 6.16 only)"},
	    {{0xf3, 0x90}, 2, false, "pause"},
	    {{0xff, 0xe0}, 2, false, "jmp *%rax"},
	    {{0xc3}, 1, false, "ret"},
	    {{0xe3, 0x00}, 2, false, "jrcxz"},
	    {{0x48, 0x8b, 0x05, 0, 0, 0, 0}, 7, false, "RIP-relative mov"},
	    {{0x48, 0x85, 0xff}, 3, false, "test"},
	};
	char text[48];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool emu = !cases[i].emulated;
		int n =
		    probe_place__classify(cases[i].b, cases[i].n, ENTRY, &emu, text, sizeof(text));

		ASSERT_EQ(n, cases[i].n, cases[i].what);
		ASSERT_EQ(emu, cases[i].emulated, cases[i].what);
	}
}

/* endbr64 is single-stepped (no emulate op); it changes no register, so the
 * probe moves past it onto the push.
 */
LW_TEST(probe_place_endbr64)
{
	static const uint8_t code[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0xc3};
	struct probe_place pp;
	char text[48];
	bool emu = true;

	ASSERT_EQ(classify(code, sizeof(code), &emu, text, sizeof(text)), 4, "len");
	ASSERT_TRUE(!emu, "endbr64 single-stepped");
	ASSERT_STREQ(text, "endbr64", "text");
	ASSERT_EQ(FIND(code, ARGS_3, &pp), 0, "find");
	ASSERT_EQ(pp.offset, ENTRY + 4, "moved past endbr64");
	ASSERT_TRUE(pp.moved && pp.emulated, "moved, emulated");
}

LW_TEST(probe_place_bad_input)
{
	static const uint8_t junk[] = {0x06}; /* push %es: invalid in 64-bit mode */
	struct probe_place pp;
	bool emu;

	ASSERT_EQ(probe_place__classify(junk, sizeof(junk), 0, &emu, NULL, 0), -EINVAL,
		  "classify junk");
	ASSERT_EQ(FIND(junk, 0, &pp), -EINVAL, "find junk");
	ASSERT_CONTAINS(pp.why, "cannot decode", "why");
	ASSERT_EQ(probe_place__find("/nonexistent", 0, 0, &pp), -ENOENT, "missing file");
	ASSERT_EQ(probe_place__find(LIBC, 1ull << 40, 0, &pp), -EINVAL, "offset out of file");
}

/* The file offset of libc's exported function fn, as alloc_resolve finds it. */
static int libc_func_off(const char *fn, uint64_t *off)
{
	struct elf_file f;
	int err = elf_file__open(&f, LIBC);

	if (err)
		return err;
	err = elf_file__func_off(&f, fn, off);
	elf_file__close(&f);
	return err;
}

static void libc_place(const char *fn, unsigned args, struct probe_place *pp, uint64_t *off,
		       int *err)
{
	*err = libc_func_off(fn, off);
	if (!*err)
		*err = probe_place__find(LIBC, *off, args, pp);
}

/* Debian 12 glibc 2.36; see objdump -d at each symbol. */
LW_TEST(probe_place_libc_allocators)
{
	struct probe_place pp;
	uint64_t off;
	int err;

	ASSERT_EQ(libc_func_off("no_such_function_lw", &off), -ENOENT, "missing");

	libc_place("free", ARGS_1, &pp, &off, &err);
	ASSERT_EQ(err, 0, "free");
	ASSERT_EQ(pp.entry_offset, off, "free entry");
	ASSERT_EQ(pp.offset, off + 3, "free: on the je after test %rdi,%rdi");
	ASSERT_TRUE(pp.moved && pp.emulated, "free moved, emulated");
	ASSERT_CONTAINS(pp.why, "'je ", "free why");

	libc_place("malloc", ARGS_1, &pp, &off, &err);
	ASSERT_EQ(err, 0, "malloc");
	ASSERT_EQ(pp.offset, off, "malloc: push %r12 at entry");
	ASSERT_TRUE(!pp.moved && pp.emulated, "malloc emulated in place");

	libc_place("posix_memalign", ARGS_3, &pp, &off, &err);
	ASSERT_EQ(err, 0, "posix_memalign");
	ASSERT_EQ(pp.offset, off + 7, "posix_memalign: past the cmpb onto push %r12");
	ASSERT_TRUE(pp.moved && pp.emulated, "posix_memalign moved, emulated");
	ASSERT_CONTAINS(pp.why, "'pushq %r12'", "posix_memalign why");

	libc_place("memalign", LW_ARG_RDI | LW_ARG_RSI, &pp, &off, &err);
	ASSERT_EQ(err, 0, "memalign");
	ASSERT_EQ(pp.offset, off + 7, "memalign: past the cmpb onto the je");
	ASSERT_TRUE(pp.moved && pp.emulated, "memalign moved, emulated");
}

/* Every probe point in lib must be emulated (moved or not). */
static void lib_all_emulated(const char *lib, const char *const *fns, const unsigned *args,
			     size_t n, int *bad, char *which, size_t whichlen)
{
	struct elf_file f;

	*bad = elf_file__open(&f, lib);
	if (*bad) {
		lw_fmt(which, whichlen, "cannot open %s", lib);
		return;
	}
	for (size_t i = 0; i < n && !*bad; i++) {
		struct probe_place pp;
		uint64_t off;

		if (elf_file__func_off(&f, fns[i], &off))
			continue; /* not exported by this allocator */
		if (probe_place__find(lib, off, args[i], &pp) || !pp.emulated) {
			*bad = -1;
			lw_fmt(which, whichlen, "%s: %s", fns[i], pp.why);
		}
	}
	elf_file__close(&f);
}

/* Debian 12 libjemalloc2 5.3.0, libtcmalloc-minimal4 2.10 and
 * libmimalloc2.0 2.0.9 (tools/install-deps.sh): every entry point det_mem
 * probes lands on an emulated instruction, jemalloc's free 48 bytes in (see
 * the prefix test), mimalloc's malloc, calloc and realloc reading copies.
 */
LW_TEST(probe_place_preloaded_allocators_all_emulated)
{
	static const char *const fns[] = {
	    "malloc",	      "calloc",	       "realloc",  "reallocarray", "free",
	    "posix_memalign", "aligned_alloc", "memalign", "valloc",	   "pvalloc"};
	static const unsigned args[] = {
	    ARGS_1, LW_ARG_RDI | LW_ARG_RSI, LW_ARG_RDI | LW_ARG_RSI, ARGS_3, ARGS_1,
	    ARGS_3, LW_ARG_RDI | LW_ARG_RSI, LW_ARG_RDI | LW_ARG_RSI, ARGS_1, ARGS_1};
	static const char *const libs[] = {"/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
					   "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
					   "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"};
	char which[192] = "";
	int bad;

	for (size_t l = 0; l < sizeof(libs) / sizeof(libs[0]); l++) {
		lib_all_emulated(libs[l], fns, args, sizeof(fns) / sizeof(fns[0]), &bad, which,
				 sizeof(which));
		ASSERT_EQ(bad, 0, which);
	}
}
