/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where to put a uprobe on a function so the kernel emulates the probed
 * instruction instead of single-stepping it (about 1 us against 14 us a hit
 * on 6.18). Pure: capstone and libelf, no libbpf. See probe_place.c for the
 * list of instructions x86 uprobes emulate and the kernel source it is from.
 */
#ifndef LW_PROBE_PLACE_H
#define LW_PROBE_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Argument registers the BPF program reads at the probe (SysV order). */
#define LW_ARG_RDI (1u << 0)
#define LW_ARG_RSI (1u << 1)
#define LW_ARG_RDX (1u << 2)
#define LW_ARG_RCX (1u << 3)
#define LW_ARG_R8  (1u << 4)
#define LW_ARG_R9  (1u << 5)

/* Skipped instructions at most between the entry and the probe point. */
#define LW_PROBE_MAX_SKIP 12

/* Argument i (LW_ARG_* bit i) of a moved probe is in register arg_reg[i],
 * numbered as x86 encodes them (rax 0, rcx 1, rdx 2, rbx 3, rsi 6, rdi 7,
 * r8-r15 8-15): where a skipped "mov %rdi,%rsi" copied it before something
 * overwrote the original. remapped says some argument moved.
 */
#define LW_NR_ARGS 6

struct probe_place {
	uint64_t offset;       /* file offset to attach at */
	uint64_t entry_offset; /* file offset of the function entry */
	bool emulated;	       /* the kernel emulates the instruction at offset */
	bool moved;	       /* offset != entry_offset */
	bool remapped;	       /* an argument is read from another register */
	uint8_t arg_reg[LW_NR_ARGS];
	char why[192]; /* the decision in words */
};

/* Choose the probe point for the function whose entry is at file offset
 * func_file_offset of elf_path. When moved, the probe still fires exactly
 * once per call, before anything touches rsp or rbp, overwrites the last
 * copy of an argument in arg_regs_used (LW_ARG_*; a full-width register move
 * makes a copy, see arg_reg), writes memory, or loads through a value
 * computed from those arguments (which could fault on a wild pointer before
 * the probe saw it): the return address is at [rsp] and the CFA is
 * rsp + 8, as at the entry. The kernel's own "uprobe at function entry"
 * stack heuristic (is_uprobe_at_func_entry, push %rbp / endbr64 at the
 * probe) no longer applies, so callers that want the direct caller read
 * [rsp] themselves.
 * 0 (out filled, also when falling back to the entry) or -errno: -ENOENT
 * file unreadable, -EINVAL not ELF / offset in no loadable segment / entry
 * not decodable (out->why says which).
 */
int probe_place__find(const char *elf_path, uint64_t func_file_offset, unsigned arg_regs_used,
		      struct probe_place *out);

/* Same on bytes already read: code[0..len) is the function from its entry
 * (the whole body if known: direct branches in it into the skipped prologue
 * veto a move), entry_offset is the file offset of code[0].
 */
int probe_place__find_code(const uint8_t *code, size_t len, uint64_t entry_offset,
			   unsigned arg_regs_used, struct probe_place *out);

/* Decode one instruction at code (address addr, for branch targets in text):
 * *emulated says whether x86 uprobes emulate it, text gets "mnemonic operands"
 * (AT&T). Length of the instruction, or -EINVAL when it does not decode.
 */
int probe_place__classify(const uint8_t *code, size_t len, uint64_t addr, bool *emulated,
			  char *text, size_t textlen);

#endif
