/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The live-block table (struct lw_blk_bucket): found, added and removed
 * without a lock. Concurrent changes never touch one block: a block goes in
 * at its allocator's return, before the program has the address, and comes
 * out at its free, before the allocator may hand the address out again.
 */
#ifndef LW_BLOCKS_BPF_H
#define LW_BLOCKS_BPF_H

#include "common.bpf.h"

/* buckets - 1: the loader sizes the table and sets both */
const volatile __u32 blk_mask = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* sized by the loader */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct lw_blk_bucket);
} blocks SEC(".maps");

/* Where a block is: bucket << 3 | way, as the functions below take and
 * give it (-1: nowhere). They are global functions, verified once each:
 * inlined, their unrolled scans multiplied the states of every caller.
 */
#define LW_BLK_AT(bucket, way) ((__s64)(bucket) << 3 | (way))

static __always_inline struct lw_alloc_ent *lw_blk_ent(__s64 at)
{
	__u32 n = (__u32)(at >> 3);
	struct lw_blk_bucket *b = bpf_map_lookup_elem(&blocks, &n);

	return b ? &b->e[at & (LW_BLK_WAYS - 1)] : NULL;
}

/* Search bucket n for a block; *free counts its free slots. */
static __always_inline __s64 lw_blk_scan(__u32 n, __u64 tag, __u32 tgid, __u32 gen, __u64 addr,
					 __u32 *free)
{
	struct lw_blk_bucket *b = bpf_map_lookup_elem(&blocks, &n);

	*free = 0;
	if (!b)
		return -1;
#pragma unroll
	for (__u32 i = 0; i < LW_BLK_WAYS; i++) {
		__u64 t = b->tag[i];

		if (t == tag && b->e[i].k.addr == addr && b->e[i].k.tgid == tgid &&
		    b->e[i].k.exec_gen == gen)
			return LW_BLK_AT(n, i);
		/* a tag has its top bit set (lw_blk_tag): arithmetic, where
		 * a compare would double the paths the verifier walks
		 */
		*free += 1 - (t >> 63);
	}
	return -1;
}

/* The live block (tgid, gen, addr), -1 when there is none. */
__noinline __s64 lw_blk_find(__u32 tgid, __u32 gen, __u64 addr)
{
	__u64 tag = lw_blk_tag(tgid, gen, addr);
	__u32 free;
	__s64 at = lw_blk_scan((__u32)tag & blk_mask, tag, tgid, gen, addr, &free);

	if (at >= 0)
		return at;
	return lw_blk_scan((__u32)(tag >> 32) & blk_mask, tag, tgid, gen, addr, &free);
}

/* Claim a free slot of bucket n for tag; -1 when it has none left. */
static __always_inline __s64 lw_blk_claim(__u32 n, __u64 tag)
{
	struct lw_blk_bucket *b = bpf_map_lookup_elem(&blocks, &n);

	if (!b)
		return -1;
#pragma unroll
	for (__u32 i = 0; i < LW_BLK_WAYS; i++) {
		/* another CPU may take the slot first: then the next one */
		if (b->tag[i] == LW_BLK_FREE &&
		    __sync_val_compare_and_swap(&b->tag[i], LW_BLK_FREE, tag) == LW_BLK_FREE)
			return LW_BLK_AT(n, i);
	}
	return -1;
}

/* Add block k with v (or replace it: an address the allocator handed out
 * again when its free was not seen); 0, or -1 when both its buckets are full.
 * It goes to the emptier of its buckets (the first on a tie).
 */
__noinline int lw_blk_add(const struct lw_alloc_key *k, const struct lw_alloc_val *v)
{
	__u32 n1, n2, free1, free2;
	struct lw_alloc_ent *e;
	__u64 tag;
	__s64 at;

	if (!k || !v)
		return -1;
	tag = lw_blk_tag(k->tgid, k->exec_gen, k->addr);
	n1 = (__u32)tag & blk_mask;
	n2 = (__u32)(tag >> 32) & blk_mask;
	/* scans, not a call of lw_blk_find: that frame would be one too many
	 * under the unwind
	 */
	at = lw_blk_scan(n1, tag, k->tgid, k->exec_gen, k->addr, &free1);
	if (at < 0)
		at = lw_blk_scan(n2, tag, k->tgid, k->exec_gen, k->addr, &free2);
	if (at < 0) {
		if (free2 > free1) {
			__u32 t = n1;

			n1 = n2;
			n2 = t;
		}
		at = lw_blk_claim(n1, tag);
		if (at < 0)
			at = lw_blk_claim(n2, tag);
	}
	e = at >= 0 ? lw_blk_ent(at) : NULL;
	if (!e)
		return -1;
	/* a reader skips a slot without addr: it is set last (x86 keeps
	 * stores in order; the barriers keep the compiler from moving them)
	 */
	e->k.addr = 0;
	asm volatile("" ::: "memory");
	e->v = *v;
	e->k.tgid = k->tgid;
	e->k.exec_gen = k->exec_gen;
	asm volatile("" ::: "memory");
	e->k.addr = k->addr;
	return 0;
}

/* Remove the block at at (from lw_blk_find). */
static __always_inline void lw_blk_remove(__s64 at)
{
	__u32 n = (__u32)(at >> 3);
	struct lw_blk_bucket *b = bpf_map_lookup_elem(&blocks, &n);

	if (!b)
		return;
	b->e[at & (LW_BLK_WAYS - 1)].k.addr = 0;
	asm volatile("" ::: "memory");
	b->tag[at & (LW_BLK_WAYS - 1)] = LW_BLK_FREE;
}

#endif
