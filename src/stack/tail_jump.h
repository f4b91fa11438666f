/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Whether an allocator entry point is only a wrapper that tail-jumps to
 * another one (glibc's reallocarray multiplies, checks the overflow and
 * jumps to realloc through its PLT slot). Such a wrapper needs no probe of
 * its own: the target's probe sees each of its calls, with the wrapper's
 * caller at [rsp]. Probing it anyway costs a single step per call where its
 * entry is not an instruction x86 uprobes emulate (~14 us against ~1 us).
 * Pure: capstone and libelf, no libbpf.
 */
#ifndef LW_TAIL_JUMP_H
#define LW_TAIL_JUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_TAIL_EXITS 4 /* distinct jump targets outside the body kept */

/* What a function's body does on its way out. */
struct tail_scan {
	bool calls;	  /* a call, syscall or indirect jump: it may do anything */
	bool undecodable; /* an instruction before the end does not decode */
	uint32_t nexits;  /* direct jumps that leave the body, by target */
	uint64_t exit[LW_TAIL_EXITS];
	bool more;     /* more distinct targets than exit[] holds */
	char why[160]; /* the first thing that disqualifies it, in words */
};

/* Scan code[0..len), the whole body of a function at virtual address
 * vaddr. 0, or -EINVAL when capstone cannot start.
 */
int tail_jump__scan_code(const uint8_t *code, size_t len, uint64_t vaddr, struct tail_scan *out);

/* 1 when the function at file offset fn_off of path makes no call and every
 * jump out of it lands on the function at file offset to_off, directly or
 * through a PLT stub whose GOT slot is bound to to_name; 0 when not (why
 * says what else it does), -errno when path cannot be read as ELF.
 */
int tail_jump__only_to(const char *path, uint64_t fn_off, uint64_t to_off, const char *to_name,
		       char *why, size_t whylen);

#endif
