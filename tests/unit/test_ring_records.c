// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ring walk on a synthetic ring laid out as the kernel lays it out:
 * padding, discarded and still-busy records, the batch limit, a failing
 * callback, and a record that ends past the end of the first mapping.
 */
#include <errno.h>
#include <string.h>
#include "harness.h"
#include "base/ring_records.h"

#define RING 256 /* bytes of data; the test maps it "twice" by copying */

struct ring {
	uint8_t bytes[RING];	/* the ring itself */
	uint8_t data[2 * RING]; /* as mapped: bytes twice */
	uint64_t prod;
};

/* Append a record of size bytes filled with tag; its header gets bits. */
static void put(struct ring *r, uint32_t size, uint8_t tag, uint32_t bits)
{
	uint32_t hdr[2] = {size | bits, 0};
	uint8_t rec[LW_RING_HDR_SZ + RING];

	memcpy(rec, hdr, sizeof(hdr));
	memset(rec + LW_RING_HDR_SZ, tag, size);
	for (uint32_t i = 0; i < LW_RING_HDR_SZ + size; i++)
		r->bytes[(r->prod + i) & (RING - 1)] = rec[i];
	r->prod += (LW_RING_HDR_SZ + size + 7) & ~7u;
	memcpy(r->data, r->bytes, RING);
	memcpy(r->data + RING, r->bytes, RING);
}

struct seen {
	int n;
	uint8_t tags[16];
	size_t sizes[16];
	int fail_at; /* the n-th record (1-based) returns -EIO; 0: never */
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	uint8_t tag = size ? *(uint8_t *)data : 0;

	for (size_t i = 0; i < size; i++)
		if (((uint8_t *)data)[i] != tag)
			return -EINVAL; /* torn: the test fails on w.err */
	s->tags[s->n] = tag;
	s->sizes[s->n] = size;
	return ++s->n == s->fail_at ? -EIO : 0;
}

/* One walk of r from w's position, taking at most limit bytes. */
static void walk(struct ring_walk *w, const struct ring *r, uint64_t limit, struct seen *s)
{
	ring_records__walk(w, r->data, RING - 1, r->prod, limit, on_record, s);
}

LW_TEST(ring_walk_takes_records_in_order_with_padding)
{
	struct ring r = {};
	struct seen s = {};
	struct ring_walk w = {};

	put(&r, 5, 'a', 0);
	put(&r, 16, 'b', 0);
	put(&r, 1, 'c', 0);
	walk(&w, &r, ~0ull, &s);
	ASSERT_EQ(w.nr, 3, "three records");
	ASSERT_EQ(s.tags[0], 'a', "first");
	ASSERT_EQ(s.sizes[0], 5, "its length, not the padded one");
	ASSERT_EQ(s.tags[2], 'c', "last");
	ASSERT_EQ(w.cons, r.prod, "consumed up to the producer");
	ASSERT_EQ(w.cons, 16 + 24 + 16, "each record 8-aligned with its header");
	ASSERT_EQ(w.busy, 0, "not busy");
	ASSERT_EQ(w.err, 0, "no error");
}

LW_TEST(ring_walk_skips_discarded_and_stops_at_busy)
{
	struct ring r = {};
	struct seen s = {};
	struct ring_walk w = {};
	uint64_t busy_at;

	put(&r, 8, 'a', LW_RING_DISCARD);
	put(&r, 8, 'b', 0);
	busy_at = r.prod;
	put(&r, 8, 'c', LW_RING_BUSY);
	put(&r, 8, 'd', 0);
	walk(&w, &r, ~0ull, &s);
	ASSERT_EQ(w.nr, 1, "the discarded one is skipped, not handed over");
	ASSERT_EQ(s.tags[0], 'b', "the submitted one");
	ASSERT_EQ(w.busy, 1, "stopped at the record being written");
	ASSERT_EQ(w.cons, busy_at, "and did not pass it");
}

LW_TEST(ring_walk_stops_at_the_batch_limit)
{
	struct ring r = {};
	struct seen s = {};
	struct ring_walk w = {};

	for (int i = 0; i < 4; i++)
		put(&r, 8, (uint8_t)('a' + i), 0);
	walk(&w, &r, 20, &s);
	ASSERT_EQ(w.nr, 2, "the record that crosses the limit is the last taken");
	ASSERT_EQ(w.cons, 32, "two 16-byte records");
	walk(&w, &r, 20, &s);
	ASSERT_EQ(w.nr, 2, "the next batch takes the rest");
	ASSERT_EQ(s.tags[3], 'd', "in order");
	ASSERT_EQ(w.cons, r.prod, "all of it");
}

LW_TEST(ring_walk_stops_at_a_failing_callback_past_its_record)
{
	struct ring r = {};
	struct seen s = {.fail_at = 2};
	struct ring_walk w = {};

	for (int i = 0; i < 3; i++)
		put(&r, 8, (uint8_t)('a' + i), 0);
	walk(&w, &r, ~0ull, &s);
	ASSERT_EQ(w.err, -EIO, "the callback's error");
	ASSERT_EQ(w.nr, 2, "two handed over");
	ASSERT_EQ(w.cons, 32, "the failing record counts as taken");
}

LW_TEST(ring_walk_reads_a_record_across_the_wrap)
{
	struct ring r = {};
	struct seen s = {};
	struct ring_walk w = {};

	/* fill to 24 bytes before the end, consume, then a 48-byte record */
	for (int i = 0; i < 9; i++)
		put(&r, 16, 'x', 0);
	put(&r, 8, 'y', 0);
	walk(&w, &r, ~0ull, &s);
	ASSERT_EQ(w.cons, RING - 24, "near the end");
	s.n = 0;
	put(&r, 40, 'z', 0);
	walk(&w, &r, ~0ull, &s);
	ASSERT_EQ(s.n, 1, "one record");
	ASSERT_EQ(s.tags[0], 'z', "whole, from the second mapping");
	ASSERT_EQ(s.sizes[0], 40, "its length");
	ASSERT_EQ(w.err, 0, "not torn");
	ASSERT_EQ(w.cons, r.prod, "past it");
}
