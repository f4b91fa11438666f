/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The live-block table BPF keeps (struct lw_blk_bucket), as user space sees
 * it: how many buckets hold a number of blocks, and a walk of the blocks
 * while BPF goes on adding and removing them.
 */
#ifndef LW_BLK_TABLE_H
#define LW_BLK_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <leakwatch/events.h>

/* The blocks the table is sized for without --max-blocks */
#define LW_MEM_DEFAULT_BLOCKS (1u << 20)

/* Buckets for n blocks: a power of two, at most two thirds full. */
uint32_t blk_table__buckets(uint32_t n);

typedef int (*blk_table_fn)(void *ctx, const struct lw_alloc_key *k, const struct lw_alloc_val *v);

/* Call cb for each block in the nb buckets at t, copied whole (a slot that
 * changes while it is read is skipped: its block came or went meanwhile);
 * stops at cb's first non-zero return, which it returns.
 */
int blk_table__each(const struct lw_blk_bucket *t, size_t nb, blk_table_fn cb, void *ctx);

#endif
