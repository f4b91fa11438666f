// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The radix sort behind the reachability scan's address order. */
#include <stdlib.h>
#include "harness.h"
#include "base/radix_sort.h"

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ascending, and equal keys in their input order (val holds the index) */
static int sorted_and_stable(const struct lw_kv *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (v[i - 1].key > v[i].key ||
		    (v[i - 1].key == v[i].key && v[i - 1].val > v[i].val))
			return 0;
	return 1;
}

static uint64_t key_sum(const struct lw_kv *v, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i].key * 31 + v[i].val;
	return s;
}

LW_TEST(radix_sort_orders_heap_like_addresses_stably)
{
	size_t sizes[] = {0, 1, 2, 63, 64, 65, 1000, 100000};
	uint64_t seed = 88172645463325252ull;

	for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		size_t n = sizes[t];
		struct lw_kv *v = malloc((n ? n : 1) * sizeof(*v));
		uint64_t before;

		ASSERT_TRUE(v != NULL, "alloc");
		for (size_t i = 0; i < n; i++) {
			/* a 64 MiB heap of 16-byte-aligned blocks: the top bytes
			 * are shared (skipped passes), and some keys repeat
			 */
			v[i].key = 0x7f3a00000000ull + ((next_rand(&seed) % (1u << 22)) << 4);
			v[i].val = i;
		}
		before = key_sum(v, n);
		ASSERT_EQ(lw_radix_sort(v, n), 0, "sorted");
		ASSERT_TRUE(sorted_and_stable(v, n), "ascending and stable");
		ASSERT_TRUE(key_sum(v, n) == before, "a permutation of the input");
		free(v);
	}
}

LW_TEST(radix_sort_handles_keys_differing_in_any_byte)
{
	enum { N = 4096 };
	static struct lw_kv v[N];
	uint64_t seed = 7;

	for (size_t i = 0; i < N; i++) {
		/* full 64-bit keys, a few in each extreme, many duplicates */
		v[i].key = i % 7 == 0	 ? ~0ull
			   : i % 11 == 0 ? 0
					 : next_rand(&seed) % 5000 * 0x0101010101010101ull;
		v[i].val = i;
	}
	ASSERT_EQ(lw_radix_sort(v, N), 0, "sorted");
	ASSERT_TRUE(sorted_and_stable(v, N), "ascending and stable");
	ASSERT_TRUE(v[0].key == 0 && v[N - 1].key == ~0ull, "extremes at the ends");
}
