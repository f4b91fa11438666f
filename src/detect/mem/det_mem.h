/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The mem detector's policy, exposed for its unit tests (the detector
 * itself is det_mem_ops, detect/detector.h).
 */
#ifndef LW_DET_MEM_H
#define LW_DET_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include "detect/detector.h"
#include "detect/mem/alloc_resolve.h"

#define LW_MEM_SITE_TAG 0x6d656d0000000000ULL /* keeps mem sites apart from fd sites */

struct alloc_code;

/* An anonymous mapping. The C library and the dynamic loader map memory for
 * themselves and unmap it when done; an allocator keeps its arenas, extents
 * and caches mapped for reuse. None is the program's leak: false (drop it)
 * when the frame right after the mmap wrapper (ips[1]) is inside libc.so*
 * or ld-linux*, when ips[0] or ips[1] is allocator code or any frame is
 * inside an allocator entry point (ac: the allocators probed, may be NULL;
 * see alloc_code.h). When the innermost frame is the wrapper (in libc) it
 * is cut, so the caller is innermost, as for heap blocks.
 */
bool det_mem__keep_mmap(const struct lw_det_io *io, const struct alloc_code *ac, uint32_t tgid,
			struct lw_ips *ips);

/* --top N: keep the N largest unsuppressed mem-leak groups (corr_mem emits
 * them largest first), suppress the rest; returns how many it suppressed.
 * 0 keeps all.
 */
size_t det_mem__apply_top(struct lw_findings *fs, unsigned top);

/* Put the mem programs on the allocator t names: one uprobe per distinct
 * entry point (aliases share one), a uretprobe at the entry of those whose
 * return value matters, at the placement probe_place chooses unless
 * opts->probe_at_entry. 0 or -errno with env->err set.
 */
int det_mem__attach_target(const struct lw_det_env *env, const struct lw_alloc_target *t);

/* The BPF side's stack id: FNV-1a over the ips (bpf/mem.bpf.c stack_hash). */
uint64_t det_mem__stack_key(const struct lw_ips *st);

#endif
