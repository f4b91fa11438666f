/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unwind rules from a module's CFI (.eh_frame, .debug_frame), in the compact
 * form BPF applies (struct lw_cfi_rule), plus the user-space unwinder that
 * finishes stacks BPF handed over with a stack slice.
 */
#ifndef LW_CFI_H
#define LW_CFI_H

#include "report/finding.h"
#include "stack/symbolize.h"

struct cfi_cache;

struct cfi_cache *cfi_cache__new(void);
void cfi_cache__free(struct cfi_cache *c);

/* Rule for the instruction at file offset file_off of the ELF file path.
 * Callers pass the offset of pc - 1 for return addresses. A pc the CFI does
 * not cover gets the frame-pointer rule (CFA = bp + 16, bp at CFA - 16); a pc
 * whose return address is undefined (_start) gets LW_CFI_END.
 * 0 or -errno (-ENOENT: file unreadable or not ELF).
 */
int cfi_cache__rule(struct cfi_cache *c, const char *path, uint64_t file_off,
		    struct lw_cfi_rule *out);

/* Rule for a pc of a process (mapping looked up in sym); LW_CFI_END when the
 * pc is in no known mapping.
 */
int cfi_rule_for_pc(struct cfi_cache *c, struct symbolizer *sym, uint32_t tgid, uint64_t pc,
		    struct lw_cfi_rule *out);

/* Finish a stack BPF left partial: continue from ips[nr-1] with sp/bp, reading
 * memory from slice (which starts at stk->sp). Appends frames to out until a
 * rule says END, memory runs out of the slice, or LW_STACK_MAX. Running out
 * of the slice sets LW_STK_SLICE_END in out->flags (the stack is cut short).
 */
int unwind__complete(struct cfi_cache *c, struct symbolizer *sym, uint32_t tgid,
		     const struct lw_stack *stk, const uint8_t *slice, uint32_t slice_len,
		     struct lw_ips *out);

#endif
