// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The live-block table as user space reads it, and the sizing and tag that
 * decide whether a server's blocks fit in it.
 */
#include <stdlib.h>
#include "harness.h"
#include "detect/mem/blk_table.h"
#include <leakwatch/hash.h>

struct seen {
	unsigned n;
	uint64_t addr_sum, size_sum;
};

static int count_block(void *ctx, const struct lw_alloc_key *k, const struct lw_alloc_val *v)
{
	struct seen *s = ctx;

	s->n++;
	s->addr_sum += k->addr;
	s->size_sum += v->size;
	return 0;
}

static int stop_at_second(void *ctx, const struct lw_alloc_key *k, const struct lw_alloc_val *v)
{
	(void)k;
	(void)v;
	return ++*(unsigned *)ctx == 2 ? -7 : 0;
}

static void put(struct lw_blk_bucket *b, unsigned i, uint64_t addr, uint64_t size)
{
	b->tag[i] = lw_blk_tag(10, 1, addr);
	b->e[i].k = (struct lw_alloc_key){.tgid = 10, .exec_gen = 1, .addr = addr};
	b->e[i].v = (struct lw_alloc_val){.size = size, .stack_id = 5};
}

/* A free tag, or a tagged slot whose addr is not written yet (BPF between
 * its claim and its last store), holds no block; every other slot does.
 */
LW_TEST(blk_table_walk_reads_whole_blocks_only)
{
	struct lw_blk_bucket *t = calloc(4, sizeof(*t));
	struct seen s = {0};
	unsigned calls = 0;

	put(&t[0], 0, 0x1000, 16);
	put(&t[0], 7, 0x2000, 32);
	put(&t[3], 3, 0x3000, 64);
	put(&t[2], 1, 0x4000, 128);
	t[2].e[1].k.addr = 0;	   /* claimed, not yet filled */
	t[1].e[5].k.addr = 0x5000; /* a stale addr under a free tag */
	ASSERT_EQ(blk_table__each(t, 4, count_block, &s), 0, "walk");
	ASSERT_EQ(s.n, 3, "blocks");
	ASSERT_EQ(s.addr_sum, 0x6000, "addresses");
	ASSERT_EQ(s.size_sum, 112, "sizes");
	ASSERT_EQ(blk_table__each(t, 4, stop_at_second, &calls), -7, "callback's error");
	ASSERT_EQ(calls, 2, "stopped at the error");
	free(t);
}

LW_TEST(blk_table_sizing_leaves_a_third_spare)
{
	ASSERT_EQ(blk_table__buckets(LW_MEM_DEFAULT_BLOCKS), 1 << 18, "default 1 Mi blocks");
	ASSERT_EQ(blk_table__buckets(100000), 1 << 15, "100 k");
	ASSERT_EQ(blk_table__buckets(1024), 256, "smallest");
	for (uint32_t n = 1024; n <= 1 << 24; n = n * 3 / 2) {
		uint64_t slots = (uint64_t)blk_table__buckets(n) * LW_BLK_WAYS;

		ASSERT_TRUE(slots * 2 >= (uint64_t)n * 3, "at most two thirds full");
		ASSERT_TRUE(slots <= (uint64_t)n * 3 + 2 * LW_BLK_WAYS, "at most a third full");
	}
}

/* The placement BPF makes (bpf/blocks.bpf.h: the emptier of the two
 * buckets the tag picks) on the tag the BPF side computes: a million
 * blocks of one process, 80 bytes apart as a heap lays them out, all fit
 * in the default table, and so do blocks of many processes at the same
 * addresses.
 */
static unsigned place(uint8_t *fill, uint32_t mask, uint32_t tgid, uint32_t gen, uint64_t addr)
{
	uint64_t tag = lw_blk_tag(tgid, gen, addr);
	uint32_t a = (uint32_t)tag & mask, b = (uint32_t)(tag >> 32) & mask;
	uint32_t n = fill[b] < fill[a] ? b : a;

	if (!(tag >> 63))
		return 1; /* a tag that reads as free */
	if (fill[n] == LW_BLK_WAYS)
		return 1;
	fill[n]++;
	return 0;
}

LW_TEST(blk_table_holds_a_million_heap_blocks)
{
	uint32_t nb = blk_table__buckets(LW_MEM_DEFAULT_BLOCKS);
	uint8_t *fill = calloc(nb, 1);
	unsigned lost = 0;

	for (uint64_t i = 0; i < 1000000; i++)
		lost += place(fill, nb - 1, 4242, 1, 0x55d5a0000000ull + i * 80);
	ASSERT_EQ(lost, 0, "one heap: blocks without a slot");
	free(fill);
	fill = calloc(nb, 1);
	for (uint32_t p = 0; p < 100; p++)
		for (uint64_t i = 0; i < 10000; i++)
			lost += place(fill, nb - 1, 1000 + p, 1, 0x7f0000000000ull + i * 32);
	ASSERT_EQ(lost, 0, "100 processes, same addresses: blocks without a slot");
	free(fill);
}
