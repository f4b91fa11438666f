// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Tail-jump wrappers (see tail_jump.h). A body that makes no call, no
 * syscall and no indirect jump cannot allocate or free by itself: every
 * block it hands out comes from where its jumps out of the body land. When
 * they all land on a probed entry point, that probe sees the call.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <capstone/capstone.h>
#include "base/fmt.h"
#include "stack/elf_sym.h"
#include "stack/tail_jump.h"

#define TJ_MAX_BODY 4096 /* a wrapper is short: a longer body is no wrapper */
#define TJ_STUB	    16	 /* bytes of a PLT stub decoded */

static void add_exit(struct tail_scan *s, uint64_t target)
{
	for (uint32_t i = 0; i < s->nexits; i++)
		if (s->exit[i] == target)
			return;
	if (s->nexits < LW_TAIL_EXITS)
		s->exit[s->nexits++] = target;
	else
		s->more = true;
}

/* A decoder with operand details and one instruction to decode into. */
static int tj_open(csh *h, cs_insn **in)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, h) != CS_ERR_OK)
		return -EINVAL;
	cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
	*in = cs_malloc(*h);
	if (!*in) {
		cs_close(h);
		return -ENOMEM;
	}
	return 0;
}

static void tj_close(csh *h, cs_insn *in)
{
	cs_free(in, 1);
	cs_close(h);
}

static bool in_group(const cs_insn *in, uint8_t group)
{
	for (uint8_t i = 0; i < in->detail->groups_count; i++)
		if (in->detail->groups[i] == group)
			return true;
	return false;
}

/* One instruction's part in the scan: false when it disqualifies the body. */
static bool scan_insn(const cs_insn *in, uint64_t lo, uint64_t hi, struct tail_scan *s)
{
	const cs_x86 *x = &in->detail->x86;

	if (in_group(in, CS_GRP_CALL) || in_group(in, CS_GRP_INT) || in->id == X86_INS_SYSCALL ||
	    in->id == X86_INS_SYSENTER) {
		lw_fmt(s->why, sizeof(s->why), "'%s %s' at +%" PRIu64, in->mnemonic, in->op_str,
		       in->address - lo);
		return false;
	}
	if (!in_group(in, CS_GRP_JUMP))
		return true;
	if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM) {
		lw_fmt(s->why, sizeof(s->why), "indirect '%s %s' at +%" PRIu64, in->mnemonic,
		       in->op_str, in->address - lo);
		return false;
	}
	if ((uint64_t)x->operands[0].imm < lo || (uint64_t)x->operands[0].imm >= hi)
		add_exit(s, (uint64_t)x->operands[0].imm);
	return true;
}

int tail_jump__scan_code(const uint8_t *code, size_t len, uint64_t vaddr, struct tail_scan *out)
{
	const uint8_t *p = code;
	uint64_t addr = vaddr;
	size_t left = len;
	cs_insn *in;
	csh h;
	int err;

	memset(out, 0, sizeof(*out));
	err = tj_open(&h, &in);
	if (err)
		return err;
	while (left && cs_disasm_iter(h, &p, &left, &addr, in))
		if (!scan_insn(in, vaddr, vaddr + len, out)) {
			out->calls = true;
			break;
		}
	out->undecodable = left && !out->calls;
	if (out->undecodable)
		lw_fmt(out->why, sizeof(out->why), "does not decode at +%" PRIu64, addr - vaddr);
	tj_close(&h, in);
	return 0;
}

/* The section holding vaddr, and its name. */
static Elf_Scn *section_at(Elf *e, uint64_t vaddr, GElf_Shdr *sh, const char **name)
{
	size_t shstrndx;
	Elf_Scn *s = NULL;

	if (elf_getshdrstrndx(e, &shstrndx))
		return NULL;
	while ((s = elf_nextscn(e, s)))
		if (gelf_getshdr(s, sh) && sh->sh_type == SHT_PROGBITS && sh->sh_addr <= vaddr &&
		    vaddr < sh->sh_addr + sh->sh_size) {
			*name = elf_strptr(e, shstrndx, sh->sh_name);
			return s;
		}
	return NULL;
}

/* The GOT slot a PLT stub at vaddr jumps through ("jmp *disp(%rip)", after
 * an endbr64 in .plt.sec), 0 when vaddr is no such stub.
 */
static uint64_t plt_slot(Elf *e, uint64_t vaddr)
{
	const char *name = NULL;
	uint64_t slot = 0, addr = vaddr;
	const uint8_t *p;
	size_t left;
	GElf_Shdr sh;
	Elf_Data *d;
	Elf_Scn *s = section_at(e, vaddr, &sh, &name);
	cs_insn *in;
	csh h;

	if (!s || !name || strncmp(name, ".plt", 4) || !(d = elf_getdata(s, NULL)) || !d->d_buf ||
	    vaddr - sh.sh_addr + TJ_STUB > d->d_size)
		return 0;
	if (tj_open(&h, &in))
		return 0;
	p = (const uint8_t *)d->d_buf + (vaddr - sh.sh_addr);
	left = TJ_STUB;
	while (cs_disasm_iter(h, &p, &left, &addr, in)) {
		const cs_x86_op *op = &in->detail->x86.operands[0];

		if (in->id == X86_INS_ENDBR64)
			continue;
		if (in->id == X86_INS_JMP && in->detail->x86.op_count == 1 &&
		    op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP &&
		    op->mem.index == X86_REG_INVALID)
			slot = addr + (uint64_t)op->mem.disp; /* addr: the next instruction */
		break;
	}
	tj_close(&h, in);
	return slot;
}

/* Whether the GOT slot is bound to name by a JUMP_SLOT or GLOB_DAT
 * relocation.
 */
static bool slot_bound_to(Elf *e, uint64_t slot, const char *name)
{
	Elf_Scn *s = NULL;
	GElf_Shdr sh, symsh;

	while ((s = elf_nextscn(e, s))) {
		Elf_Data *d, *symd;
		Elf_Scn *syms;

		if (!gelf_getshdr(s, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize ||
		    !(d = elf_getdata(s, NULL)) || !(syms = elf_getscn(e, sh.sh_link)) ||
		    !gelf_getshdr(syms, &symsh) || !(symd = elf_getdata(syms, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			const char *sym_name;
			GElf_Rela r;
			GElf_Sym sym;

			if (!gelf_getrela(d, (int)i, &r) || r.r_offset != slot ||
			    (GELF_R_TYPE(r.r_info) != R_X86_64_JUMP_SLOT &&
			     GELF_R_TYPE(r.r_info) != R_X86_64_GLOB_DAT) ||
			    !gelf_getsym(symd, (int)GELF_R_SYM(r.r_info), &sym))
				continue;
			sym_name = elf_strptr(e, symsh.sh_link, sym.st_name);
			return sym_name && !strcmp(sym_name, name);
		}
	}
	return false;
}

/* Whether every exit of s lands on to_vaddr or a PLT stub bound to to_name. */
static bool exits_only_to(Elf *e, const struct tail_scan *s, uint64_t to_vaddr, const char *to_name,
			  char *why, size_t whylen)
{
	if (!s->nexits) {
		lw_fmt(why, whylen, "no jump out of its body");
		return false;
	}
	if (s->more) {
		lw_fmt(why, whylen, "jumps to more than %d places", LW_TAIL_EXITS);
		return false;
	}
	for (uint32_t i = 0; i < s->nexits; i++) {
		uint64_t slot;

		if (s->exit[i] == to_vaddr)
			continue;
		slot = plt_slot(e, s->exit[i]);
		if (!slot || !slot_bound_to(e, slot, to_name)) {
			lw_fmt(why, whylen, "jumps to 0x%" PRIx64 ", not to %s", s->exit[i],
			       to_name);
			return false;
		}
	}
	lw_fmt(why, whylen, "makes no call and only jumps to %s%s", to_name,
	       s->exit[0] == to_vaddr ? "" : " (through its PLT slot)");
	return true;
}

int tail_jump__only_to(const char *path, uint64_t fn_off, uint64_t to_off, const char *to_name,
		       char *why, size_t whylen)
{
	uint64_t vaddr, to_vaddr, size;
	struct tail_scan s = {0};
	struct elf_file f;
	uint8_t *code = NULL;
	int err = elf_file__open(&f, path);

	lw_fmt(why, whylen, "cannot read %s as ELF", path);
	if (err)
		return err;
	err = -EINVAL;
	if (elf_off_to_vaddr(f.e, fn_off, &vaddr) || elf_off_to_vaddr(f.e, to_off, &to_vaddr))
		goto out;
	size = elf_func_size(f.e, vaddr);
	err = 0;
	if (!size || size > TJ_MAX_BODY) {
		lw_fmt(why, whylen,
		       size ? "its body is too long for a wrapper" : "its size is unknown");
		goto out;
	}
	code = malloc(size);
	if (!code) {
		err = -ENOMEM;
		goto out;
	}
	if (pread(f.fd, code, size, (off_t)fn_off) != (ssize_t)size) {
		lw_fmt(why, whylen, "cannot read its code");
		goto out;
	}
	err = tail_jump__scan_code(code, size, vaddr, &s);
	if (err)
		goto out;
	if (s.calls || s.undecodable)
		lw_fmt(why, whylen, "%s", s.why);
	else
		err = exits_only_to(f.e, &s, to_vaddr, to_name, why, whylen);
out:
	free(code);
	elf_file__close(&f);
	return err;
}
