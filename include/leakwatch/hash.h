/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* FNV-1a, for BPF and user space alike: the mem stack id BPF computes must
 * equal the one user space computes for the same ips.
 */
#ifndef LEAKWATCH_HASH_H
#define LEAKWATCH_HASH_H

#ifndef __BPF__
#include <stddef.h>
#include <linux/types.h>
#endif

#define LW_FNV_BASIS 0xcbf29ce484222325ULL
#define LW_FNV_PRIME 0x100000001b3ULL

/* Byte-wise, seeded with LW_FNV_BASIS or a previous result. */
static inline __attribute__((always_inline)) __u64 lw_fnv1a(__u64 h, const void *p, __u64 n)
{
	const unsigned char *b = p;

	for (__u64 i = 0; i < n; i++)
		h = (h ^ b[i]) * LW_FNV_PRIME;
	return h;
}

/* A stack's id: one round per whole ip (nr at most max), never 0. */
static inline __attribute__((always_inline)) __u64 lw_hash_ips(const void *ips, __u32 nr, __u32 max)
{
	const __u64 *ip = ips;
	__u64 h = LW_FNV_BASIS;

	for (__u32 i = 0; i < max; i++) {
		if (i >= nr)
			break;
		h = (h ^ ip[i]) * LW_FNV_PRIME;
	}
	return h ? h : 1;
}

/* A live block's tag (struct lw_blk_bucket): a mix of its whole key, never
 * LW_BLK_FREE; the low 32 bits choose its first bucket and the high 32 its
 * second.
 */
static inline __attribute__((always_inline)) __u64 lw_blk_tag(__u32 tgid, __u32 exec_gen,
							      __u64 addr)
{
	__u64 h = addr ^ ((__u64)tgid << 40 | (__u64)exec_gen << 8);

	h = (h ^ (h >> 31)) * 0x7FB5D329728EA185ULL;
	h = (h ^ (h >> 27)) * 0x81DADEF4BC2DD44DULL;
	h ^= h >> 33;
	return h | 1ULL << 63; /* a bit neither bucket index uses */
}

#endif /* LEAKWATCH_HASH_H */
