// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reachability on synthetic memory images: globals, stacks, registers,
 * interior pointers, chains and cycles of lost blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include "harness.h"
#include "detect/mem/reach.h"

/* A fake address space: a few segments of words. */
struct image {
	struct {
		uint64_t addr;
		uint64_t words[64];
		size_t nr;
	} seg[8];
	size_t nr;
};

static ssize_t image_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct image *im = ctx;

	for (size_t i = 0; i < im->nr; i++) {
		uint64_t s = im->seg[i].addr, e = s + im->seg[i].nr * 8;

		if (addr >= s && addr < e) {
			size_t n = e - addr < len ? e - addr : len;

			memcpy(buf, (uint8_t *)im->seg[i].words + (addr - s), n);
			return (ssize_t)n;
		}
	}
	return -1;
}

/* segment at addr of nr words, zeroed; returns its words */
static uint64_t *seg(struct image *im, uint64_t addr, size_t nr)
{
	im->seg[im->nr].addr = addr;
	im->seg[im->nr].nr = nr;
	memset(im->seg[im->nr].words, 0, sizeof(im->seg[im->nr].words));
	return im->seg[im->nr++].words;
}

#define GLOBALS 0x10000ull
#define HEAP	0x20000ull

static int scan(struct image *im, struct lw_reach_block *b, size_t n, const uint64_t *regs,
		size_t nr_regs, struct lw_reach_stats *st)
{
	struct lw_reach_region roots[] = {{GLOBALS, GLOBALS + 8 * 8}};
	struct lw_reach_io io = {.read = image_read, .ctx = im};

	return reach__scan(b, n, roots, 1, regs, nr_regs, &io, st);
}

LW_TEST(reach_global_pointer_keeps_block_reachable)
{
	struct image im = {};
	uint64_t *g = seg(&im, GLOBALS, 8);
	struct lw_reach_block b[] = {{.addr = HEAP, .size = 32}, {.addr = HEAP + 64, .size = 16}};
	struct lw_reach_stats st;

	seg(&im, HEAP, 12);
	g[3] = HEAP;
	ASSERT_EQ(scan(&im, b, 2, NULL, 0, &st), 0, "scan");
	ASSERT_EQ(b[0].cls, LW_REACH_REACHABLE, "pointed-to block");
	ASSERT_EQ(b[1].cls, LW_REACH_DEFINITE, "block nothing points to");
	ASSERT_EQ(st.counts[LW_REACH_DEFINITE], 1, "definite count");
	ASSERT_EQ(st.bytes[LW_REACH_DEFINITE], 16, "definite bytes");
	ASSERT_EQ(st.root_bytes, 64, "root bytes scanned");
}

LW_TEST(reach_interior_pointer_is_possible)
{
	struct image im = {};
	uint64_t *g = seg(&im, GLOBALS, 8);
	struct lw_reach_block b[] = {{.addr = HEAP, .size = 32}};
	struct lw_reach_stats st;

	seg(&im, HEAP, 4);
	g[0] = HEAP + 8;
	ASSERT_EQ(scan(&im, b, 1, NULL, 0, &st), 0, "scan");
	ASSERT_EQ(b[0].cls, LW_REACH_POSSIBLE, "only an interior pointer");
	/* one past the end is not inside */
	g[0] = HEAP + 32;
	ASSERT_EQ(scan(&im, b, 1, NULL, 0, &st), 0, "scan");
	ASSERT_EQ(b[0].cls, LW_REACH_DEFINITE, "pointer just past the end");
}

LW_TEST(reach_chain_and_register_roots)
{
	struct image im = {};
	uint64_t *h;
	struct lw_reach_block b[] = {{.addr = HEAP, .size = 16},
				     {.addr = HEAP + 16, .size = 16},
				     {.addr = HEAP + 32, .size = 16}};
	uint64_t regs[] = {0, HEAP + 32, 7};
	struct lw_reach_stats st;

	seg(&im, GLOBALS, 8)[5] = HEAP;
	h = seg(&im, HEAP, 6);
	h[0] = HEAP + 16; /* A -> B */
	ASSERT_EQ(scan(&im, b, 3, regs, 3, &st), 0, "scan");
	ASSERT_EQ(b[0].cls, LW_REACH_REACHABLE, "A from a global");
	ASSERT_EQ(b[1].cls, LW_REACH_REACHABLE, "B through A");
	ASSERT_EQ(b[2].cls, LW_REACH_REACHABLE, "C from a register");
	ASSERT_EQ(st.counts[LW_REACH_REACHABLE], 3, "all reachable");
}

LW_TEST(reach_lost_block_holds_indirect_ones)
{
	struct image im = {};
	uint64_t *h;
	/* given out of address order on purpose */
	struct lw_reach_block b[] = {{.addr = HEAP + 32, .size = 24},
				     {.addr = HEAP, .size = 16},
				     {.addr = HEAP + 16, .size = 16}};
	struct lw_reach_stats st;

	seg(&im, GLOBALS, 8);
	h = seg(&im, HEAP, 8);
	h[0] = HEAP + 16;     /* A(HEAP) -> B(HEAP+16) */
	h[2] = HEAP + 32 + 8; /* B -> inside C: still holds it */
	ASSERT_EQ(scan(&im, b, 3, NULL, 0, &st), 0, "scan");
	ASSERT_EQ(b[1].cls, LW_REACH_DEFINITE, "A leads");
	ASSERT_EQ(b[2].cls, LW_REACH_INDIRECT, "B under A");
	ASSERT_EQ(b[0].cls, LW_REACH_INDIRECT, "C under A");
	ASSERT_EQ(b[2].leader, 1, "B's leader");
	ASSERT_EQ(b[0].leader, 1, "C's leader");
	ASSERT_EQ(b[1].indirect_bytes, 40, "bytes A keeps lost");
	ASSERT_EQ(b[1].indirect_count, 2, "blocks A keeps lost");
}

LW_TEST(reach_cycle_of_lost_blocks_has_one_leader)
{
	struct image im = {};
	uint64_t *h;
	struct lw_reach_block b[] = {{.addr = HEAP, .size = 16},
				     {.addr = HEAP + 16, .size = 16},
				     {.addr = HEAP + 32, .size = 16}};
	struct lw_reach_stats st;

	seg(&im, GLOBALS, 8);
	h = seg(&im, HEAP, 6);
	h[0] = HEAP + 16; /* X -> Y */
	h[2] = HEAP;	  /* Y -> X: a cycle */
	h[4] = HEAP;	  /* Z -> X: Z, found last, holds the whole cycle */
	ASSERT_EQ(scan(&im, b, 3, NULL, 0, &st), 0, "scan");
	ASSERT_EQ(b[2].cls, LW_REACH_DEFINITE, "Z leads");
	ASSERT_EQ(b[0].cls, LW_REACH_INDIRECT, "X joins Z's clique");
	ASSERT_EQ(b[1].cls, LW_REACH_INDIRECT, "Y too");
	ASSERT_EQ(b[0].leader, 2, "X's leader");
	ASSERT_EQ(b[1].leader, 2, "Y's leader");
	ASSERT_EQ(b[2].indirect_bytes, 32, "Z keeps the cycle");
	ASSERT_EQ(st.counts[LW_REACH_DEFINITE], 1, "one definite");
	ASSERT_EQ(st.counts[LW_REACH_INDIRECT], 2, "two indirect");
}

LW_TEST(reach_possible_spreads_and_reachable_wins)
{
	struct image im = {};
	uint64_t *g = seg(&im, GLOBALS, 8), *h;
	struct lw_reach_block b[] = {{.addr = HEAP, .size = 16}, {.addr = HEAP + 16, .size = 16}};
	struct lw_reach_stats st;

	h = seg(&im, HEAP, 4);
	g[0] = HEAP + 8;  /* interior -> A possible */
	h[0] = HEAP + 16; /* A -> B: B is no better than A */
	ASSERT_EQ(scan(&im, b, 2, NULL, 0, &st), 0, "scan");
	ASSERT_EQ(b[0].cls, LW_REACH_POSSIBLE, "A");
	ASSERT_EQ(b[1].cls, LW_REACH_POSSIBLE, "B through a possible block");
	g[1] = HEAP; /* a start pointer later in the roots raises A, then B */
	ASSERT_EQ(scan(&im, b, 2, NULL, 0, &st), 0, "scan");
	ASSERT_EQ(b[0].cls, LW_REACH_REACHABLE, "A raised");
	ASSERT_EQ(b[1].cls, LW_REACH_REACHABLE, "B raised with it");
}

LW_TEST(reach_unreadable_and_empty_blocks)
{
	struct image im = {};
	struct lw_reach_block b[] = {{.addr = HEAP, .size = 0}, {.addr = 0x90000, .size = 4096}};
	struct lw_reach_stats st;

	seg(&im, GLOBALS, 8)[2] = HEAP; /* malloc(0) still has its address */
	ASSERT_EQ(scan(&im, b, 2, NULL, 0, &st), 0, "scan");
	ASSERT_EQ(b[0].cls, LW_REACH_REACHABLE, "zero-size block");
	ASSERT_EQ(b[1].cls, LW_REACH_DEFINITE, "unreadable block is still classified");
	ASSERT_EQ(st.unreadable, 4096, "unreadable bytes counted");
	ASSERT_EQ(scan(&im, NULL, 0, NULL, 0, &st), 0, "no blocks at all");
}

LW_TEST(reach_roots_skip_heap_and_special_maps)
{
	struct lw_reach_map maps[] = {
	    {.start = 0x1000, .end = 0x2000, .readable = true, .writable = true}, /* .data */
	    {.start = 0x2000, .end = 0x9000, .readable = true, .writable = true}, /* heap */
	    {.start = 0x9000, .end = 0xa000, .readable = true},			  /* .rodata */
	    {.start = 0xa000, .end = 0xb000, .readable = true, .writable = true, .special = true},
	    {.start = 0x10000, .end = 0x20000, .readable = true, .writable = true}, /* stack */
	};
	struct lw_reach_block sorted[] = {{.addr = 0x3000, .size = 64},
					  {.addr = 0x4000, .size = 8}};
	uint64_t sps[] = {0x18000, 0x1c000};
	struct lw_reach_region *out = NULL;
	size_t n = 0;

	ASSERT_EQ(reach__pick_roots(maps, 5, sorted, 2, sps, 2, false, &out, &n), 0, "pick");
	ASSERT_EQ(n, 2, "roots: .data and the stack");
	ASSERT_EQ(out[0].start, 0x1000, ".data start");
	ASSERT_EQ(out[1].start, 0x18000 - 128, "stack from the lowest sp, red zone included");
	ASSERT_EQ(out[1].end, 0x20000, "stack end");
	free(out);
	/* attach: what lies between known blocks may be blocks from before */
	ASSERT_EQ(reach__pick_roots(maps, 5, sorted, 2, sps, 2, true, &out, &n), 0, "pick");
	ASSERT_EQ(n, 5, "roots: .data, three heap gaps, the stack");
	ASSERT_EQ(out[1].start, 0x2000, "gap before the first block");
	ASSERT_EQ(out[1].end, 0x3000, "up to it");
	ASSERT_EQ(out[2].start, 0x3040, "gap after the first block");
	ASSERT_EQ(out[2].end, 0x4000, "up to the second");
	ASSERT_EQ(out[3].start, 0x4008, "gap after the last block");
	ASSERT_EQ(out[3].end, 0x9000, "to the end of the heap");
	free(out);
}

LW_TEST(reach_parse_maps_lines)
{
	struct lw_reach_map m;

	ASSERT_EQ(reach__parse_map("7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n", &m), 0,
		  "anonymous");
	ASSERT_TRUE(m.readable && m.writable && !m.special, "anonymous rw");
	ASSERT_EQ(m.end - m.start, 0x21000, "size");
	ASSERT_EQ(reach__parse_map("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  "
				   "                [vsyscall]",
				   &m),
		  0, "vsyscall");
	ASSERT_TRUE(m.special && !m.readable, "vsyscall is special");
	ASSERT_EQ(reach__parse_map("7f1-7f2 rw-s 00000000 00:05 12 /dev/dri/card0", &m), 0, "dev");
	ASSERT_TRUE(m.special, "device memory is not read");
	ASSERT_EQ(reach__parse_map("7f1-7f2 rw-s 00000000 00:01 12 /dev/zero (deleted)", &m), 0,
		  "shared anonymous");
	ASSERT_TRUE(!m.special, "/dev/zero is plain memory");
	ASSERT_EQ(reach__parse_map("garbage", &m), -EINVAL, "garbage rejected");
	ASSERT_EQ(reach__parse_map("2000-1000 rw-p 0 00:00 0", &m), -EINVAL, "end before start");
}

/* The lookup's edges: below the lowest block, in the gaps, one past the
 * highest, a malloc(0) block on top, every block count up to 40 (the
 * binary search's halving), blocks given in any order.
 */
LW_TEST(reach_lookup_edges)
{
	for (size_t n = 1; n <= 40; n++) {
		struct image im = {};
		struct lw_reach_block b[41];
		uint64_t regs[3 * 41 + 4];
		size_t nr = 0;
		struct lw_reach_stats st;

		seg(&im, GLOBALS, 8);
		for (size_t i = 0; i < n; i++) /* highest first */
			b[i] = (struct lw_reach_block){.addr = HEAP + 64 * (n - 1 - i), .size = 32};
		b[n] = (struct lw_reach_block){.addr = HEAP + 64 * n, .size = 0};
		for (size_t i = 0; i < n; i++) {
			if (i % 3 == 0)
				regs[nr++] = HEAP + 64 * i; /* a start */
			regs[nr++] = HEAP + 64 * i + 40;    /* a gap */
		}
		regs[nr++] = HEAP - 8;		       /* below them all */
		regs[nr++] = HEAP + 64 * n + 1;	       /* past malloc(0)'s own byte */
		regs[nr++] = HEAP + 64 * (n - 1) + 31; /* the last byte of the top sized one */
		ASSERT_EQ(scan(&im, b, n + 1, regs, nr, &st), 0, "scan");
		for (size_t i = 0; i < n; i++) {
			size_t k = n - 1 - i; /* b[i] is the k-th from the bottom */
			uint8_t want = k % 3 == 0   ? LW_REACH_REACHABLE
				       : k == n - 1 ? LW_REACH_POSSIBLE
						    : LW_REACH_DEFINITE;

			ASSERT_EQ(b[i].cls, want, "class by position");
		}
		ASSERT_EQ(b[n].cls, LW_REACH_DEFINITE,
			  "malloc(0) on top: only its own address counts");
	}
}

struct counted {
	struct image im;
	unsigned reads;
};

static ssize_t counted_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct counted *c = ctx;

	c->reads++;
	return image_read(&c->im, addr, buf, len);
}

LW_TEST(reach_small_blocks_of_a_page_take_one_read)
{
	struct counted c = {};
	uint64_t *g = seg(&c.im, GLOBALS, 8), *h = seg(&c.im, HEAP, 64);
	struct lw_reach_block b[16];
	struct lw_reach_region roots[] = {{GLOBALS, GLOBALS + 8 * 8}};
	struct lw_reach_io io = {.read = counted_read, .ctx = &c};
	struct lw_reach_stats st;

	/* a list: the global points to block 0, each block to the next; the
	 * last points back into the middle of block 7 (read from the window)
	 */
	g[0] = HEAP;
	for (int i = 0; i < 16; i++) {
		b[i] = (struct lw_reach_block){.addr = HEAP + 32 * i, .size = 32};
		h[4 * i] = i < 15 ? HEAP + 32 * (i + 1) : HEAP + 32 * 7 + 8;
	}
	ASSERT_EQ(reach__scan(b, 16, roots, 1, NULL, 0, &io, &st), 0, "scan");
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(b[i].cls, LW_REACH_REACHABLE, "every block of the list");
	ASSERT_EQ(st.counts[LW_REACH_REACHABLE], 16, "reachable count");
	ASSERT_TRUE(c.reads <= 2, "the roots and one read of the heap's page");
}

/* The scan's address order: identity for sorted input, ascending for any */
LW_TEST(reach_addr_order_sorts_unsorted_blocks)
{
	enum { N = 1000 };
	static struct lw_reach_block b[N];
	static size_t order[N];

	for (size_t i = 0; i < N; i++)
		b[i] = (struct lw_reach_block){.addr = 0x10000 + 16 * i, .size = 16};
	ASSERT_EQ(reach__addr_order(b, N, order), 0, "sorted input");
	for (size_t i = 0; i < N; i++)
		if (order[i] != i)
			ASSERT_TRUE(0, "identity for sorted input");
	for (size_t i = 0; i < N; i++)
		b[i].addr = 0x10000 + 16 * ((i * 617) % N); /* a permutation */
	ASSERT_EQ(reach__addr_order(b, N, order), 0, "unsorted input");
	for (size_t i = 0; i < N; i++)
		if (b[order[i]].addr != 0x10000 + 16 * i)
			ASSERT_TRUE(0, "ascending");
}
