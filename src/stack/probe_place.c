// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Probe placement: move an allocator uprobe off a single-stepped entry
 * instruction onto the first instruction the kernel emulates, when nothing in
 * between can change what the BPF program reads: the skipped instructions are
 * compares, tests, moves and register arithmetic (jemalloc's free derives an
 * rtree cache slot in nine of them before its first branch) writing neither
 * memory nor rsp or rbp, leaving a copy of each argument the program reads
 * (mimalloc's malloc moves its size to %rsi and loads its heap into %rdi
 * before its first branch: the program then reads %rsi), and loading nothing
 * through a register that holds a value computed from an argument.
 *
 * What x86-64 uprobes emulate (arch/x86/kernel/uprobes.c,
 * arch_uprobe_analyze_insn() -> branch_setup_xol_ops(), push_setup_xol_ops();
 * read in the 6.1..6.18 tree and current mainline): an instruction gets
 * ->emulate ops, i.e. no out-of-line single step, only when
 *  - branch_setup_xol_ops(): jmp rel8 (eb), jmp rel32 (e9), call rel32 (e8),
 *    jcc rel8 (70-7f), jcc rel32 (0f 80-8f), any of them WITHOUT a 0x66
 *    prefix (with one the probe is refused, -ENOTSUPP); and nops: up to 6.15
 *    "case 0x90" (90 with any prefixes), since 6.16 (commit "uprobes/x86: Add
 *    support to emulate nop instructions", Jiri Olsa, 2025) the exact
 *    x86_nops[insn->length] byte patterns (90, 66 90, 0f 1f 00, ...). Only 90
 *    and 66 90 are emulated on every 6.x, so only those count here.
 *  - push_setup_xol_ops(): push %reg, opcode 50-57 of length 1 (rax..rdi,
 *    also push %rsp/%rbp), or length 2 with exactly the REX prefix 0x41
 *    (push %r8..%r15). Other prefixes (48 50, 66 50, ...) fall through to
 *    single-step. It is commit e7ed9d9bd0375 "uprobes/x86: Emulate push insns
 *    for uprobe on x86" (4.x era, absent from 4.14), so every 6.x has it; it
 *    was not added in a 6.x release.
 * Everything else is single-stepped out of line (default_xol_ops), including
 * RIP-relative instructions (riprel_analyze() rewrites them to use a scratch
 * register, still single-stepped), endbr64 (f3 0f 1e fa: in good_2byte_insns,
 * no emulate op) and multi-byte nops before 6.16. Not relied on: the 6.18
 * nop5 -> "call trampoline" optimisation (can_optimize(), nops only, our
 * allocators do not start with one) and the mov/sub emulation of Jiri Olsa's
 * "uprobe/x86: Add support to optimize on top of emulated instructions" RFC
 * (Nov 2025, not merged in 6.18).
 *
 * The classification below is conservative: when unsure it says
 * single-stepped, which only costs speed, never correctness.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <capstone/capstone.h>
#include "base/fmt.h"
#include "stack/elf_sym.h"
#include "stack/probe_place.h"

/* Bytes read when the function's size is unknown: enough for the entry and
 * LW_PROBE_MAX_SKIP skipped instructions (15 bytes at most each).
 */
#define PP_WINDOW   192
#define PP_MAX_BODY (64 * 1024)
#define PP_TEXT	    48

/* General-purpose register families, in x86 encoding order. */
enum pp_gpr {
	GPR_NONE = -1,
	GPR_AX,
	GPR_CX,
	GPR_DX,
	GPR_BX,
	GPR_SP,
	GPR_BP,
	GPR_SI,
	GPR_DI,
	GPR_R8,
	GPR_R9,
	GPR_R10,
	GPR_R11,
	GPR_R12,
	GPR_R13,
	GPR_R14,
	GPR_R15,
};

static const char *const gpr_names[] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					"r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

/* LW_ARG_* bit i -> register family, SysV argument order. */
static const enum pp_gpr arg_gprs[] = {GPR_DI, GPR_SI, GPR_DX, GPR_CX, GPR_R8, GPR_R9};

/* Every name of each general register (0 ends a row: X86_REG_INVALID). */
static const uint16_t gpr_regs[][5] = {
    [GPR_AX] = {X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH},
    [GPR_CX] = {X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH},
    [GPR_DX] = {X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH},
    [GPR_BX] = {X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH},
    [GPR_SP] = {X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL},
    [GPR_BP] = {X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL},
    [GPR_SI] = {X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL},
    [GPR_DI] = {X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL},
    [GPR_R8] = {X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B},
    [GPR_R9] = {X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B},
    [GPR_R10] = {X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B},
    [GPR_R11] = {X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B},
    [GPR_R12] = {X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B},
    [GPR_R13] = {X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B},
    [GPR_R14] = {X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B},
    [GPR_R15] = {X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B},
};

static enum pp_gpr gpr_family(unsigned reg)
{
	for (unsigned f = 0; f < sizeof(gpr_regs) / sizeof(gpr_regs[0]); f++)
		for (unsigned i = 0; i < 5 && gpr_regs[f][i]; i++)
			if (gpr_regs[f][i] == reg)
				return (enum pp_gpr)f;
	return GPR_NONE;
}

/* Does arch_uprobe_analyze_insn() give these n bytes (one instruction)
 * emulate ops on every 6.x kernel? See the comment at the top.
 */
static bool kernel_emulates(const uint8_t *b, size_t n)
{
	/* nop: 90 and 66 90 are both "prefix* + 0x90" (<= 6.15) and x86_nops[] (>= 6.16) */
	if ((n == 1 && b[0] == 0x90) || (n == 2 && b[0] == 0x66 && b[1] == 0x90))
		return true;
	/* push_setup_xol_ops(): 50+r, or 41 50+r */
	if (n == 1 && b[0] >= 0x50 && b[0] <= 0x57)
		return true;
	if (n == 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57)
		return true;
	/* branch_setup_xol_ops(): no prefixes at all (0x66 is refused; REX,
	 * bnd and the rest are never emitted on these, so we do not guess).
	 */
	if ((b[0] == 0xeb || (b[0] >= 0x70 && b[0] <= 0x7f)) && n == 2)
		return true;
	if ((b[0] == 0xe9 || b[0] == 0xe8) && n == 5)
		return true;
	if (b[0] == 0x0f && n == 6 && b[1] >= 0x80 && b[1] <= 0x8f)
		return true;
	return false;
}

static int pp_open(csh *h)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, h) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
	cs_option(*h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	return 0;
}

static void insn_text(const cs_insn *in, char *text, size_t textlen)
{
	if (!text || !textlen)
		return;
	if (in->op_str[0])
		lw_fmt(text, textlen, "%s %s", in->mnemonic, in->op_str);
	else
		lw_fmt(text, textlen, "%s", in->mnemonic);
}

/* Decode one instruction at code[0..len) into in (cs_malloc'd). */
static bool decode_one(csh h, const uint8_t *code, size_t len, uint64_t addr, cs_insn *in)
{
	const uint8_t *p = code;
	size_t n = len;
	uint64_t a = addr;

	return cs_disasm_iter(h, &p, &n, &a, in);
}

int probe_place__classify(const uint8_t *code, size_t len, uint64_t addr, bool *emulated,
			  char *text, size_t textlen)
{
	cs_insn *in;
	csh h;
	int err;

	if (text && textlen)
		text[0] = '\0';
	if (!code || !len)
		return -EINVAL;
	err = pp_open(&h);
	if (err)
		return err;
	in = cs_malloc(h);
	if (!in) {
		cs_close(&h);
		return -ENOMEM;
	}
	if (!decode_one(h, code, len, addr, in)) {
		err = -EINVAL;
	} else {
		err = in->size;
		if (emulated)
			*emulated = kernel_emulates(in->bytes, in->size);
		insn_text(in, text, textlen);
	}
	cs_free(in, 1);
	cs_close(&h);
	return err;
}

static bool is_control_transfer(const cs_insn *in)
{
	const cs_detail *d = in->detail;

	for (unsigned i = 0; i < d->groups_count; i++) {
		switch (d->groups[i]) {
		case X86_GRP_JUMP:
		case X86_GRP_CALL:
		case X86_GRP_RET:
		case X86_GRP_INT:
		case X86_GRP_IRET:
		case X86_GRP_BRANCH_RELATIVE:
			return true;
		}
	}
	switch (in->id) {
	case X86_INS_SYSCALL:
	case X86_INS_SYSENTER:
	case X86_INS_UD2:
	case X86_INS_HLT:
		return true;
	default:
		return false;
	}
}

/* What the skipped prefix has done to the registers so far. tainted: the
 * families (bit per enum pp_gpr) holding a value computed from an argument,
 * which may be a wild pointer: a skipped load through one could fault before
 * the probe saw the call (the entry probe would have reported the bad free).
 */
struct pp_state {
	unsigned arg_mask; /* LW_ARG_* the program reads */
	uint32_t tainted;
	/* per argument read, the families still holding its entry value */
	uint32_t holders[LW_NR_ARGS];
};

static void state_init(struct pp_state *st, unsigned arg_mask)
{
	st->arg_mask = arg_mask;
	st->tainted = 0;
	for (unsigned a = 0; a < LW_NR_ARGS; a++) {
		st->holders[a] = (arg_mask & (1u << a)) ? 1u << arg_gprs[a] : 0;
		st->tainted |= st->holders[a];
	}
}

/* mov %src,%dst between two full 64-bit registers: dst becomes a copy. */
static bool full_copy(const cs_insn *in, enum pp_gpr *src, enum pp_gpr *dst)
{
	const cs_x86 *x = &in->detail->x86;
	const cs_x86_op *s, *d;

	if (in->id != X86_INS_MOV || x->op_count != 2)
		return false;
	/* the access flags, not the operand order, say which is written */
	s = &x->operands[0];
	d = &x->operands[1];
	if (s->access & CS_AC_WRITE) {
		s = &x->operands[1];
		d = &x->operands[0];
	}
	if (s->type != X86_OP_REG || d->type != X86_OP_REG || s->size != 8 || d->size != 8)
		return false;
	*src = gpr_family(s->reg);
	*dst = gpr_family(d->reg);
	return *src != GPR_NONE && *dst != GPR_NONE;
}

static bool tainted(const struct pp_state *st, unsigned reg)
{
	enum pp_gpr f = gpr_family(reg);

	return f != GPR_NONE && (st->tainted & (1u << f));
}

/* Writing reg keeps the family's upper bits (8- and 16-bit names; 32-bit
 * writes zero-extend).
 */
static bool partial_write(unsigned reg)
{
	enum pp_gpr f = gpr_family(reg);

	return f != GPR_NONE && reg != gpr_regs[f][0] && reg != gpr_regs[f][1];
}

enum skip_kind {
	SKIP_NO,
	SKIP_FLAGS, /* writes EFLAGS only: test, cmp, bt, nops */
	SKIP_REG,   /* writes an explicit register operand (and maybe EFLAGS) */
};

static bool is_setcc(unsigned id)
{
	switch (id) {
	case X86_INS_SETA:
	case X86_INS_SETAE:
	case X86_INS_SETB:
	case X86_INS_SETBE:
	case X86_INS_SETE:
	case X86_INS_SETG:
	case X86_INS_SETGE:
	case X86_INS_SETL:
	case X86_INS_SETLE:
	case X86_INS_SETNE:
		return true;
	default:
		return false;
	}
}

static bool is_cmov(unsigned id)
{
	switch (id) {
	case X86_INS_CMOVA:
	case X86_INS_CMOVAE:
	case X86_INS_CMOVB:
	case X86_INS_CMOVBE:
	case X86_INS_CMOVE:
	case X86_INS_CMOVG:
	case X86_INS_CMOVGE:
	case X86_INS_CMOVL:
	case X86_INS_CMOVLE:
	case X86_INS_CMOVNE:
	case X86_INS_CMOVNS:
	case X86_INS_CMOVS:
		return true;
	default:
		return false;
	}
}

static enum skip_kind skip_kind(unsigned id)
{
	if (is_cmov(id) || is_setcc(id))
		return SKIP_REG;
	switch (id) {
	case X86_INS_TEST:
	case X86_INS_CMP:
	case X86_INS_BT:
	case X86_INS_NOP:
	case X86_INS_ENDBR64:
		return SKIP_FLAGS;
	case X86_INS_MOV:
	case X86_INS_MOVABS:
	case X86_INS_MOVZX:
	case X86_INS_MOVSX:
	case X86_INS_MOVSXD:
	case X86_INS_LEA:
	case X86_INS_XOR:
	case X86_INS_AND:
	case X86_INS_OR:
	case X86_INS_ADD:
	case X86_INS_SUB:
	case X86_INS_SHL:
	case X86_INS_SHR:
	case X86_INS_SAR:
	case X86_INS_ROL:
	case X86_INS_ROR:
	case X86_INS_NOT:
	case X86_INS_NEG:
	case X86_INS_INC:
	case X86_INS_DEC:
	case X86_INS_IMUL: /* the one-operand form has no register operand written: refused */
	case X86_INS_BSWAP:
		return SKIP_REG;
	default:
		return SKIP_NO;
	}
}

/* The result of in is bounded whatever its inputs (not a pointer): and with
 * a small immediate, a zero idiom, a zero-extended byte or word, a setcc.
 */
static bool bounded_result(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	if (is_setcc(in->id))
		return true;
	switch (in->id) {
	case X86_INS_AND:
		for (unsigned i = 0; i < x->op_count; i++)
			if (x->operands[i].type == X86_OP_IMM && x->operands[i].imm >= 0 &&
			    x->operands[i].imm <= 0xffff)
				return true;
		return false;
	case X86_INS_XOR:
	case X86_INS_SUB:
		return x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		       x->operands[1].type == X86_OP_REG &&
		       x->operands[0].reg == x->operands[1].reg;
	case X86_INS_MOVZX: /* from a byte or word */
		for (unsigned i = 0; i < x->op_count; i++)
			if (!(x->operands[i].access & CS_AC_WRITE))
				return x->operands[i].size <= 2;
		return false;
	default:
		return false;
	}
}

/* NULL when executing in before the probe changes nothing the probe sees:
 * only EFLAGS and general registers other than rsp, rbp and the arguments
 * in st->arg_mask are written, nothing in memory, and no memory is read
 * through a value computed from an argument. st is then updated past in.
 * Else why not, in words.
 */
static const char *cannot_skip(csh h, const cs_insn *in, struct pp_state *st, char *buf,
			       size_t buflen)
{
	enum skip_kind kind = skip_kind(in->id);
	bool reg_dest = kind == SKIP_REG, src_tainted = false, copy;
	uint32_t holders[LW_NR_ARGS];
	enum pp_gpr csrc = GPR_NONE, cdst = GPR_NONE;
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;

	if (is_control_transfer(in))
		return "transfers control";
	if (kind == SKIP_NO)
		return "is not a compare, move or register arithmetic";
	/* Operand order in detail follows the syntax (AT&T: destination last);
	 * the access flags do not depend on it.
	 */
	for (unsigned i = 0; i < in->detail->x86.op_count; i++) {
		const cs_x86_op *op = &in->detail->x86.operands[i];

		if (op->type == X86_OP_MEM && (op->access & CS_AC_WRITE))
			return "writes memory";
		if (op->type == X86_OP_REG && (op->access & CS_AC_WRITE))
			reg_dest = false;
		/* lea and nopl only name an address */
		if (op->type == X86_OP_MEM && in->id != X86_INS_LEA && in->id != X86_INS_NOP &&
		    (tainted(st, op->mem.base) || tainted(st, op->mem.index))) {
			lw_fmt(buf, buflen, "loads through %%%s (from an argument)",
			       cs_reg_name(h, tainted(st, op->mem.base) ? op->mem.base
									: op->mem.index));
			return buf;
		}
	}
	if (reg_dest)
		return "has no register destination";
	if (cs_regs_access(h, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return "has unknown register effects";
	copy = full_copy(in, &csrc, &cdst);
	memcpy(holders, st->holders, sizeof(holders));
	for (unsigned i = 0; i < nwr; i++) {
		enum pp_gpr f = gpr_family(wr[i]);

		if (wr[i] == X86_REG_EFLAGS)
			continue;
		if (f == GPR_NONE) {
			lw_fmt(buf, buflen, "writes %%%s", cs_reg_name(h, wr[i]));
			return buf;
		}
		if (f == GPR_SP)
			return "touches %rsp";
		if (f == GPR_BP)
			return "writes %rbp (frame pointer)";
		for (unsigned a = 0; a < LW_NR_ARGS; a++) {
			if (!(holders[a] & (1u << f)))
				continue;
			/* a copy onto itself or from another holder keeps it */
			if (copy && f == cdst && (holders[a] & (1u << csrc)))
				continue;
			holders[a] &= ~(1u << f);
			if (!holders[a]) {
				lw_fmt(buf, buflen, "writes argument register %%%s, its last copy",
				       gpr_names[f]);
				return buf;
			}
		}
	}
	/* a full copy of a holder holds the argument too */
	for (unsigned a = 0; copy && a < LW_NR_ARGS; a++)
		if (holders[a] & (1u << csrc))
			holders[a] |= 1u << cdst;
	if (!bounded_result(in))
		for (unsigned i = 0; i < nrd; i++)
			src_tainted |= tainted(st, rd[i]);
	for (unsigned i = 0; i < nwr; i++) {
		enum pp_gpr f = gpr_family(wr[i]);
		/* a cmov may leave the old value, a byte or word write its upper bits */
		bool keep = (partial_write(wr[i]) || is_cmov(in->id)) && (st->tainted & (1u << f));

		if (f == GPR_NONE)
			continue;
		if (src_tainted || keep)
			st->tainted |= 1u << f;
		else
			st->tainted &= ~(1u << f);
	}
	memcpy(st->holders, holders, sizeof(holders));
	return NULL;
}

/* Where each argument read is at the probe: its own register while it
 * still holds it, else the lowest-numbered copy. The registers it moved
 * to, in words, go to buf (empty when none).
 */
static void place_args(const struct pp_state *st, struct probe_place *out, char *buf, size_t buflen)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned a = 0; a < LW_NR_ARGS; a++) {
		uint32_t h = st->holders[a];
		enum pp_gpr f = arg_gprs[a];

		if (h && !(h & (1u << f))) {
			f = (enum pp_gpr)__builtin_ctz(h);
			out->remapped = true;
			lw_fmt(buf + n, buflen - n, "%s%%%s for %%%s", n ? ", " : "", gpr_names[f],
			       gpr_names[arg_gprs[a]]);
			n += strlen(buf + n);
		}
		out->arg_reg[a] = (uint8_t)f;
	}
}

/* A direct jump or call in code[0..len) into (entry, probe]: such a path
 * would hit the moved probe without passing the entry (or twice).
 */
static bool branch_into(csh h, cs_insn *in, const uint8_t *code, size_t len, uint64_t entry,
			uint64_t probe, uint64_t *from)
{
	const uint8_t *p = code;
	size_t n = len;
	uint64_t a = entry;

	while (n) {
		if (!cs_disasm_iter(h, &p, &n, &a, in)) {
			/* data or padding capstone cannot decode: resync a byte later */
			p++;
			n--;
			a++;
			continue;
		}
		const cs_x86 *x = &in->detail->x86;
		bool branch = false;

		for (unsigned i = 0; i < in->detail->groups_count; i++)
			if (in->detail->groups[i] == X86_GRP_JUMP ||
			    in->detail->groups[i] == X86_GRP_CALL)
				branch = true;
		if (!branch || x->op_count < 1 || x->operands[0].type != X86_OP_IMM)
			continue;
		uint64_t t = (uint64_t)x->operands[0].imm;
		if (t > entry && t <= probe) {
			*from = in->address;
			return true;
		}
	}
	return false;
}

static void place_entry(struct probe_place *out, uint64_t entry, bool emulated)
{
	out->offset = entry;
	out->entry_offset = entry;
	out->emulated = emulated;
	out->moved = false;
	out->remapped = false;
	for (unsigned a = 0; a < LW_NR_ARGS; a++)
		out->arg_reg[a] = (uint8_t)arg_gprs[a];
}

int probe_place__find_code(const uint8_t *code, size_t len, uint64_t entry_offset,
			   unsigned arg_regs_used, struct probe_place *out)
{
	char first[PP_TEXT], cur[PP_TEXT], reason[64], args[64];
	uint64_t pos = 0, from;
	struct pp_state st;
	cs_insn *in;
	csh h;
	int err;

	if (!code || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	place_entry(out, entry_offset, false);
	err = pp_open(&h);
	if (err)
		return err;
	in = cs_malloc(h);
	if (!in) {
		cs_close(&h);
		return -ENOMEM;
	}
	if (!len || !decode_one(h, code, len, entry_offset, in)) {
		lw_fmt(out->why, sizeof(out->why), "cannot decode the entry at 0x%" PRIx64,
		       entry_offset);
		err = -EINVAL;
		goto out;
	}
	insn_text(in, first, sizeof(first));
	if (kernel_emulates(in->bytes, in->size)) {
		out->emulated = true;
		lw_fmt(out->why, sizeof(out->why), "entry '%s' is emulated", first);
		goto out;
	}
	state_init(&st, arg_regs_used);
	for (int skipped = 0; skipped < LW_PROBE_MAX_SKIP; skipped++) {
		const char *no = cannot_skip(h, in, &st, reason, sizeof(reason));

		insn_text(in, cur, sizeof(cur));
		if (no) {
			if (skipped)
				lw_fmt(out->why, sizeof(out->why),
				       "entry '%s' is single-stepped; '%s' at +%" PRIu64
				       " %s; kept at entry",
				       first, cur, pos, no);
			else
				lw_fmt(out->why, sizeof(out->why),
				       "entry '%s' is single-stepped and %s; kept at entry", first,
				       no);
			goto out;
		}
		pos += in->size;
		if (pos >= len || !decode_one(h, code + pos, len - pos, entry_offset + pos, in))
			break;
		if (!kernel_emulates(in->bytes, in->size))
			continue;
		insn_text(in, cur, sizeof(cur));
		if (branch_into(h, in, code, len, entry_offset, entry_offset + pos, &from)) {
			lw_fmt(out->why, sizeof(out->why),
			       "entry '%s' is single-stepped; branch at +%" PRIu64
			       " enters the prologue; kept at entry",
			       first, from - entry_offset);
			goto out;
		}
		out->offset = entry_offset + pos;
		out->emulated = true;
		out->moved = true;
		place_args(&st, out, args, sizeof(args));
		lw_fmt(out->why, sizeof(out->why),
		       "entry '%s' is single-stepped; moved %" PRIu64 " bytes to emulated '%s'%s%s",
		       first, pos, cur, args[0] ? "; reads " : "", args);
		goto out;
	}
	lw_fmt(out->why, sizeof(out->why),
	       "entry '%s' is single-stepped; no emulated instruction within %d; kept at entry",
	       first, LW_PROBE_MAX_SKIP);
out:
	cs_free(in, 1);
	cs_close(&h);
	return err;
}

/* ELF side: file offsets <-> virtual addresses through PT_LOAD. */

struct pp_elf {
	int fd;
	Elf *e;
};

static int pp_elf_open(const char *path, struct pp_elf *pe)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	pe->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pe->fd < 0)
		return -ENOENT;
	pe->e = elf_begin(pe->fd, ELF_C_READ, NULL);
	if (!pe->e || elf_kind(pe->e) != ELF_K_ELF) {
		if (pe->e)
			elf_end(pe->e);
		close(pe->fd);
		return -EINVAL;
	}
	return 0;
}

static void pp_elf_close(struct pp_elf *pe)
{
	elf_end(pe->e);
	close(pe->fd);
}

int probe_place__find(const char *elf_path, uint64_t func_file_offset, unsigned arg_regs_used,
		      struct probe_place *out)
{
	uint64_t vaddr, size;
	struct pp_elf pe;
	uint8_t *code;
	size_t want;
	ssize_t got;
	int err;

	if (!elf_path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	place_entry(out, func_file_offset, false);
	err = pp_elf_open(elf_path, &pe);
	if (err) {
		lw_fmt(out->why, sizeof(out->why), "cannot read %s as ELF", elf_path);
		return err;
	}
	err = elf_off_to_vaddr(pe.e, func_file_offset, &vaddr) ? -EINVAL : 0;
	if (err) {
		lw_fmt(out->why, sizeof(out->why), "offset 0x%" PRIx64 " is in no PT_LOAD",
		       func_file_offset);
		goto out;
	}
	/* The symbol's size bounds the inbound-branch scan; without one only
	 * the window we decode is scanned.
	 */
	size = elf_func_size(pe.e, vaddr);
	want = size ? (size < PP_MAX_BODY ? size : PP_MAX_BODY) : PP_WINDOW;
	code = malloc(want);
	if (!code) {
		err = -ENOMEM;
		goto out;
	}
	got = pread(pe.fd, code, want, (off_t)func_file_offset);
	if (got <= 0) {
		lw_fmt(out->why, sizeof(out->why), "cannot read code at 0x%" PRIx64,
		       func_file_offset);
		err = -EINVAL;
	} else {
		err =
		    probe_place__find_code(code, (size_t)got, func_file_offset, arg_regs_used, out);
	}
	free(code);
out:
	pp_elf_close(&pe);
	return err;
}
