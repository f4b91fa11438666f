// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <string.h>
#include "detect/mem/blk_table.h"

uint32_t blk_table__buckets(uint32_t n)
{
	uint64_t want = ((uint64_t)n + n / 2) / LW_BLK_WAYS + 1, b = 1;

	while (b < want && b < (1u << 28))
		b <<= 1;
	return (uint32_t)b;
}

/* BPF writes a block's addr last and clears it first (bpf/blocks.bpf.h):
 * a slot whose tag and addr read the same before and after the copy held
 * that one block throughout.
 */
static bool read_slot(const struct lw_blk_bucket *b, uint32_t i, struct lw_alloc_ent *out)
{
	const volatile struct lw_blk_bucket *vb = b;
	uint64_t tag = vb->tag[i], addr = vb->e[i].k.addr;

	if (tag == LW_BLK_FREE || !addr)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	memcpy(out, (const void *)&b->e[i], sizeof(*out));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return vb->tag[i] == tag && vb->e[i].k.addr == addr && out->k.addr == addr;
}

int blk_table__each(const struct lw_blk_bucket *t, size_t nb, blk_table_fn cb, void *ctx)
{
	struct lw_alloc_ent e;
	int err = 0;

	for (size_t b = 0; b < nb && !err; b++)
		for (uint32_t i = 0; i < LW_BLK_WAYS && !err; i++)
			if (read_slot(&t[b], i, &e))
				err = cb(ctx, &e.k, &e.v);
	return err;
}
