// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CFI → compact unwind rules for BPF, and the user-space slice unwinder.
 * x86-64 only: DWARF reg 6 is rbp, 7 is rsp, 16 is the return address.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stack/cfi.h"

#define REG_BP	   6
#define REG_SP	   7
#define REG_RA	   16
#define EVAL_STACK 8

/* One ELF file: its CFI stays loaded, rules are asked for pc after pc. */
struct cfi_mod {
	char *path;
	bool debug_tried;
	Elf *elf; /* NULL: unreadable or not ELF */
	GElf_Phdr *loads;
	size_t nr_loads;
	Dwarf_CFI *eh;	  /* .eh_frame (dwarf_getcfi_elf), ours to end */
	Dwarf *dw;	  /* owns debug */
	Dwarf_CFI *debug; /* .debug_frame */
};

struct cfi_cache {
	struct cfi_mod **mods; /* sorted by path */
	size_t nr, cap;
};

static const struct lw_cfi_rule fp_rule = {
    .kind = LW_CFI_BP,
    .cfa_off = 16,
    .bp_saved = 1,
    .bp_off = -16,
};
static const struct lw_cfi_rule end_rule = {.kind = LW_CFI_END};

struct cfi_cache *cfi_cache__new(void)
{
	elf_version(EV_CURRENT);
	return calloc(1, sizeof(struct cfi_cache));
}

static void mod_free(struct cfi_mod *m)
{
	if (!m)
		return;
	if (m->eh)
		dwarf_cfi_end(m->eh);
	if (m->dw)
		dwarf_end(m->dw);
	if (m->elf)
		elf_end(m->elf);
	free(m->loads);
	free(m->path);
	free(m);
}

void cfi_cache__free(struct cfi_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nr; i++)
		mod_free(c->mods[i]);
	free(c->mods);
	free(c);
}

static void mod_open(struct cfi_mod *m)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	size_t nphdr;

	if (fd < 0)
		return;
	/* mmapped and fd dropped: the cache may hold hundreds of modules */
	m->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (m->elf && (elf_kind(m->elf) != ELF_K_ELF || elf_cntl(m->elf, ELF_C_FDREAD) ||
		       elf_getphdrnum(m->elf, &nphdr))) {
		elf_end(m->elf);
		m->elf = NULL;
	}
	close(fd);
	if (!m->elf)
		return;
	m->loads = calloc(nphdr ? nphdr : 1, sizeof(*m->loads));
	if (!m->loads) {
		elf_end(m->elf);
		m->elf = NULL;
		return;
	}
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(m->elf, i, &ph) && ph.p_type == PT_LOAD)
			m->loads[m->nr_loads++] = ph;
	}
	m->eh = dwarf_getcfi_elf(m->elf); /* NULL without .eh_frame */
}

/* Find or open the module for path; NULL only on ENOMEM. */
static struct cfi_mod *mod_get(struct cfi_cache *c, const char *path)
{
	size_t lo = 0, hi = c->nr;
	struct cfi_mod *m;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->mods[mid]->path, path);

		if (!cmp)
			return c->mods[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (c->nr == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct cfi_mod **v = realloc(c->mods, cap * sizeof(*v));

		if (!v)
			return NULL;
		c->mods = v;
		c->cap = cap;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path))) {
		free(m);
		return NULL;
	}
	mod_open(m);
	memmove(&c->mods[lo + 1], &c->mods[lo], (c->nr - lo) * sizeof(*c->mods));
	c->mods[lo] = m;
	c->nr++;
	return m;
}

static Dwarf_CFI *mod_debug_cfi(struct cfi_mod *m)
{
	if (!m->debug_tried) {
		m->debug_tried = true;
		/* fails cleanly (NULL) when there are no .debug_* sections */
		m->dw = dwarf_begin_elf(m->elf, DWARF_C_READ, NULL);
		if (m->dw)
			m->debug = dwarf_getcfi(m->dw);
	}
	return m->debug;
}

struct eval_val {
	int base; /* 0 constant, REG_SP or REG_BP: value is that register + k */
	int64_t k;
};

/* Evaluate a CFA location as reg + constant. Handles the synthesized
 * DW_OP_bregx of plain rules and small expressions such as the PLT's
 * "rsp + 8 + ((rip & 15) >= 11) << 3"; rip is known here because the rule is
 * computed for one pc (load bias is page aligned, so vaddr & 15 == pc & 15).
 */
static int cfa_eval(const Dwarf_Op *ops, size_t nops, uint64_t vaddr, struct eval_val *res)
{
	struct eval_val st[EVAL_STACK];
	size_t sp = 0;

	for (size_t i = 0; i < nops; i++) {
		uint8_t op = ops[i].atom;
		struct eval_val a, b;
		int64_t reg = -1, off = 0;

		if (op == DW_OP_bregx) {
			reg = ops[i].number;
			off = (int64_t)ops[i].number2;
		} else if (op >= DW_OP_breg0 && op <= DW_OP_breg31) {
			reg = op - DW_OP_breg0;
			off = (int64_t)ops[i].number;
		}
		if (reg >= 0) {
			if (sp == EVAL_STACK)
				return -E2BIG;
			if (reg == REG_SP || reg == REG_BP)
				st[sp++] = (struct eval_val){.base = reg, .k = off};
			else if (reg == REG_RA) /* rip */
				st[sp++] = (struct eval_val){.k = (int64_t)vaddr + off};
			else
				return -ENOTSUP;
			continue;
		}
		if (op <= DW_OP_lit31 && op >= DW_OP_lit0) {
			if (sp == EVAL_STACK)
				return -E2BIG;
			st[sp++] = (struct eval_val){.k = op - DW_OP_lit0};
			continue;
		}
		switch (op) {
		case DW_OP_const1u:
		case DW_OP_const2u:
		case DW_OP_const4u:
		case DW_OP_const8u:
		case DW_OP_constu:
		case DW_OP_const1s:
		case DW_OP_const2s:
		case DW_OP_const4s:
		case DW_OP_const8s:
		case DW_OP_consts:
			/* libdw already sign-extended the signed forms */
			if (sp == EVAL_STACK)
				return -E2BIG;
			st[sp++] = (struct eval_val){.k = (int64_t)ops[i].number};
			continue;
		case DW_OP_plus_uconst:
			if (!sp)
				return -EINVAL;
			st[sp - 1].k += (int64_t)ops[i].number;
			continue;
		case DW_OP_dup:
			if (!sp || sp == EVAL_STACK)
				return -EINVAL;
			st[sp] = st[sp - 1];
			sp++;
			continue;
		}
		if (sp < 2)
			return -ENOTSUP;
		b = st[--sp];
		a = st[--sp];
		if (op == DW_OP_plus && (!a.base || !b.base)) {
			st[sp++] = (struct eval_val){.base = a.base | b.base, .k = a.k + b.k};
			continue;
		}
		if (op == DW_OP_minus && !b.base) {
			st[sp++] = (struct eval_val){.base = a.base, .k = a.k - b.k};
			continue;
		}
		if (a.base || b.base) /* anything else on a register is not reg + const */
			return -ENOTSUP;
		switch (op) {
		case DW_OP_plus:
			a.k += b.k;
			break;
		case DW_OP_minus:
			a.k -= b.k;
			break;
		case DW_OP_mul:
			a.k = (int64_t)((uint64_t)a.k * (uint64_t)b.k);
			break;
		case DW_OP_and:
			a.k &= b.k;
			break;
		case DW_OP_or:
			a.k |= b.k;
			break;
		case DW_OP_xor:
			a.k ^= b.k;
			break;
		case DW_OP_shl:
			a.k = b.k >= 0 && b.k < 64 ? (int64_t)((uint64_t)a.k << b.k) : 0;
			break;
		case DW_OP_shr:
			a.k = b.k >= 0 && b.k < 64 ? (int64_t)((uint64_t)a.k >> b.k) : 0;
			break;
		case DW_OP_ge:
			a.k = a.k >= b.k;
			break;
		case DW_OP_gt:
			a.k = a.k > b.k;
			break;
		case DW_OP_le:
			a.k = a.k <= b.k;
			break;
		case DW_OP_lt:
			a.k = a.k < b.k;
			break;
		case DW_OP_eq:
			a.k = a.k == b.k;
			break;
		case DW_OP_ne:
			a.k = a.k != b.k;
			break;
		default:
			return -ENOTSUP;
		}
		st[sp++] = a;
	}
	if (sp != 1 || !st[0].base)
		return -ENOTSUP;
	*res = st[0];
	return 0;
}

static void rule_from_frame(Dwarf_Frame *fr, uint64_t vaddr, struct lw_cfi_rule *out)
{
	Dwarf_Op mem[3], *ops;
	struct eval_val cfa;
	size_t nops;

	/* libdw 0.188: undefined gives nops 0 with ops == mem, same-value nops 0
	 * with ops NULL (as documented). Neither leaves an address on the stack
	 * to read, so both end the walk (_start marks rip undefined).
	 */
	if (dwarf_frame_register(fr, REG_RA, mem, &ops, &nops) || !nops) {
		*out = end_rule;
		return;
	}
	if (dwarf_frame_cfa(fr, &ops, &nops) || cfa_eval(ops, nops, vaddr, &cfa) ||
	    cfa.k < INT32_MIN || cfa.k > INT32_MAX) {
		*out = fp_rule;
		return;
	}
	*out = (struct lw_cfi_rule){
	    .kind = cfa.base == REG_SP ? LW_CFI_SP : LW_CFI_BP,
	    .cfa_off = (int32_t)cfa.k,
	};
	/* offset(N) comes back as DW_OP_call_frame_cfa [DW_OP_plus_uconst N] */
	if (!dwarf_frame_register(fr, REG_BP, mem, &ops, &nops) && ops &&
	    (nops == 1 || nops == 2) && ops[0].atom == DW_OP_call_frame_cfa &&
	    (nops == 1 || ops[1].atom == DW_OP_plus_uconst)) {
		int64_t k = nops == 2 ? (int64_t)ops[1].number : 0;

		if (k >= INT16_MIN && k <= INT16_MAX) {
			out->bp_saved = 1;
			out->bp_off = (int16_t)k;
		}
	}
}

int cfi_cache__rule(struct cfi_cache *c, const char *path, uint64_t file_off,
		    struct lw_cfi_rule *out)
{
	Dwarf_Frame *fr = NULL;
	Dwarf_CFI *debug;
	struct cfi_mod *m;
	uint64_t vaddr = 0;
	bool in_load = false;

	if (!c || !path || !out)
		return -EINVAL;
	m = mod_get(c, path);
	if (!m)
		return -ENOMEM;
	if (!m->elf)
		return -ENOENT;
	for (size_t i = 0; i < m->nr_loads; i++) {
		const GElf_Phdr *ph = &m->loads[i];

		if (file_off >= ph->p_offset && file_off - ph->p_offset < ph->p_filesz) {
			vaddr = file_off - ph->p_offset + ph->p_vaddr;
			in_load = true;
			break;
		}
	}
	*out = fp_rule;
	if (!in_load)
		return 0;
	if (!m->eh || dwarf_cfi_addrframe(m->eh, vaddr, &fr)) {
		fr = NULL;
		debug = mod_debug_cfi(m);
		if (debug && dwarf_cfi_addrframe(debug, vaddr, &fr))
			fr = NULL;
	}
	if (!fr)
		return 0; /* no FDE: hope the code keeps frame pointers */
	rule_from_frame(fr, vaddr, out);
	free(fr);
	return 0;
}

/* On an error other than ENOMEM, *out still holds the frame-pointer rule. */
int cfi_rule_for_pc(struct cfi_cache *c, struct symbolizer *sym, uint32_t tgid, uint64_t pc,
		    struct lw_cfi_rule *out)
{
	const struct lw_mapping *m;
	uint64_t look;
	int err;

	if (!c || !out)
		return -EINVAL;
	*out = end_rule;
	if (!pc)
		return 0;
	/* BPF keys on return addresses, and the innermost pc sits right after
	 * a syscall instruction: pc - 1 is inside the right function for both.
	 */
	look = pc - 1;
	m = symbolizer__find(sym, tgid, look);
	if (!m)
		return 0;
	err = cfi_cache__rule(c, m->file, look - m->start + m->file_off, out);
	if (err)
		*out = fp_rule;
	return err;
}

/* 8 bytes at user address addr, if the slice holds them. */
static bool slice_read(uint64_t base, const uint8_t *slice, uint32_t len, uint64_t addr,
		       uint64_t *val)
{
	if (!slice || len < 8 || addr < base || addr - base > len - 8)
		return false;
	memcpy(val, slice + (addr - base), 8);
	return true;
}

/* ra, or behind an active uretprobe's trampoline the real address BPF sent
 * (the next of them): false when it sent no more
 */
static bool real_ra(const struct lw_stack *stk, uint32_t *next_ret, uint64_t *ra)
{
	if (!stk->tramp || *ra != stk->tramp)
		return true;
	if (*next_ret >= stk->nr_ret_pending || *next_ret >= LW_RET_PENDING)
		return false;
	*ra = stk->ret_pending[(*next_ret)++];
	return true;
}

int unwind__complete(struct cfi_cache *c, struct symbolizer *sym, uint32_t tgid,
		     const struct lw_stack *stk, const uint8_t *slice, uint32_t slice_len,
		     struct lw_ips *out)
{
	uint64_t pc, sp, bp;
	unsigned nr;

	if (!c || !stk || !out)
		return -EINVAL;
	nr = stk->nr < LW_STACK_MAX ? stk->nr : LW_STACK_MAX;
	memset(out, 0, sizeof(*out));
	memcpy(out->ips, stk->ips, nr * sizeof(out->ips[0]));
	out->nr = nr;
	out->flags = stk->flags & ~LW_STK_PARTIAL;
	/* a stack BPF finished (or truncated) must not grow frames */
	if (!nr || !(stk->flags & LW_STK_PARTIAL))
		return 0;

	pc = stk->ips[nr - 1];
	sp = stk->sp;
	bp = stk->bp;
	uint32_t next_ret = 0;
	/* BPF left the walk at a function's entry (the pc is the probed
	 * instruction, not a return address): nothing is pushed yet, the
	 * return address is at sp, and a pc - 1 lookup would find the
	 * function before
	 */
	if (nr == 1 && (stk->flags & LW_STK_EXACT_PC)) {
		uint64_t ra;

		if (!slice_read(stk->sp, slice, slice_len, sp, &ra) || !ra)
			return 0;
		if (!real_ra(stk, &next_ret, &ra))
			return 0;
		out->ips[out->nr++] = ra;
		sp += 8;
		pc = ra;
	}
	for (;;) {
		struct lw_cfi_rule r;
		uint64_t cfa, ra, nbp = bp;
		bool bp_ok = true;
		int err = cfi_rule_for_pc(c, sym, tgid, pc, &r);

		if (err == -ENOMEM || err == -EINVAL)
			return err;
		if (r.kind != LW_CFI_SP && r.kind != LW_CFI_BP)
			break;
		if (out->nr == LW_STACK_MAX) {
			out->flags |= LW_STK_TRUNCATED;
			break;
		}
		cfa = (r.kind == LW_CFI_SP ? sp : bp) + (int64_t)r.cfa_off;
		if (cfa <= sp) /* the stack only grows towards callers: a loop */
			break;
		if (!slice_read(stk->sp, slice, slice_len, cfa - 8, &ra)) {
			/* a frame larger than the copy: outer frames are missing */
			if (cfa - 8 >= stk->sp)
				out->flags |= LW_STK_SLICE_END;
			break;
		}
		if (!ra)
			break;
		if (!real_ra(stk, &next_ret, &ra))
			break;
		if (r.bp_saved)
			bp_ok =
			    slice_read(stk->sp, slice, slice_len, cfa + (int64_t)r.bp_off, &nbp);
		out->ips[out->nr++] = ra;
		/* without the caller's bp its frame may still be sp-based; a
		 * bp-based rule then fails the slice bounds or the loop guard
		 */
		bp = bp_ok ? nbp : 0;
		sp = cfa;
		pc = ra;
	}
	return 0;
}
