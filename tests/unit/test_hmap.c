// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* hmap: operations, growth, backward-shift deletion, iteration while deleting,
 * and a random workload checked against a direct-addressed model.
 */
#include <stdlib.h>
#include "harness.h"
#include "base/hmap.h"

/* Keys whose home slots in a fresh 16-slot map are 14, 15, 0 and 1 (three
 * each): their probe run wraps around the end of the array, the case
 * backward shift gets wrong most easily. Mirrors hmap.c's hash; if that
 * changes these are still valid keys, only the wrap coverage is lost.
 */
static int wrapping_keys(uint64_t *keys, int n)
{
	static const unsigned homes[] = {14, 15, 0, 1};
	int got = 0;

	for (int h = 0; h < 4; h++)
		for (uint64_t k = 1, left = n / 4; left; k++)
			if ((((k * 0x9E3779B97F4A7C15ull) >> 32) & 15) == homes[h]) {
				keys[got++] = k;
				left--;
			}
	return got;
}

LW_TEST(hmap_put_get_del)
{
	struct hmap *m = hmap__new();
	uint64_t *v, old = 0;
	bool added = false;

	ASSERT_TRUE(m, "new");
	ASSERT_EQ(hmap__count(m), 0, "empty");
	ASSERT_TRUE(!hmap__get(m, 5), "get on empty");
	ASSERT_TRUE(!hmap__del(m, 5, NULL), "del on empty");
	v = hmap__put(m, 5, &added);
	ASSERT_TRUE(v && added && *v == 0, "new key starts at 0");
	*v = 55;
	v = hmap__put(m, 5, &added);
	ASSERT_TRUE(v && !added && *v == 55, "existing key keeps value");
	/* 0 and the all-ones key are ordinary keys */
	*hmap__put(m, 0, &added) = 100;
	ASSERT_TRUE(added, "key 0 added");
	*hmap__put(m, UINT64_MAX, NULL) = 200;
	ASSERT_EQ(hmap__count(m), 3, "count");
	ASSERT_EQ(*hmap__get(m, 0), 100, "key 0");
	ASSERT_EQ(*hmap__get(m, UINT64_MAX), 200, "key max");
	ASSERT_TRUE(hmap__del(m, 0, &old), "del key 0");
	ASSERT_EQ(old, 100, "old value of key 0");
	ASSERT_TRUE(!hmap__get(m, 0), "key 0 gone");
	ASSERT_TRUE(hmap__del(m, 5, &old) && old == 55, "del 5");
	ASSERT_TRUE(!hmap__del(m, 5, &old), "del 5 again");
	ASSERT_EQ(hmap__count(m), 1, "count after deletes");
	hmap__free(m);
	hmap__free(NULL);
	ASSERT_EQ(hmap__count(NULL), 0, "NULL count");
	ASSERT_TRUE(!hmap__get(NULL, 1), "NULL get");
}

LW_TEST(hmap_growth_keeps_entries)
{
	struct hmap *m = hmap__new();
	const uint64_t n = 100000;

	ASSERT_TRUE(m, "new");
	for (uint64_t k = 0; k < n; k++) {
		uint64_t *v = hmap__put(m, k * 7919, NULL);

		ASSERT_TRUE(v, "put");
		*v = k;
	}
	ASSERT_EQ(hmap__count(m), n, "count");
	for (uint64_t k = 0; k < n; k++) {
		uint64_t *v = hmap__get(m, k * 7919);

		ASSERT_TRUE(v, "present after growth");
		ASSERT_EQ(*v, k, "value after growth");
	}
	ASSERT_TRUE(!hmap__get(m, 7919 * n), "absent key");
	hmap__free(m);
}

LW_TEST(hmap_backshift_across_wrap)
{
	struct hmap *m = hmap__new();
	uint64_t keys[12];

	ASSERT_EQ(wrapping_keys(keys, 12), 12, "keys");
	/* delete each position of a full wrapped run in turn, then refill */
	for (int d = 0; d < 12; d++) {
		for (int i = 0; i < 12; i++)
			*hmap__put(m, keys[i], NULL) = keys[i] + 1;
		ASSERT_TRUE(hmap__del(m, keys[d], NULL), "del");
		for (int i = 0; i < 12; i++) {
			uint64_t *v = hmap__get(m, keys[i]);

			if (i == d) {
				ASSERT_TRUE(!v, "deleted key absent");
				continue;
			}
			ASSERT_TRUE(v, "run still reachable after shift");
			ASSERT_EQ(*v, keys[i] + 1, "value moved with key");
		}
		ASSERT_EQ(hmap__count(m), 11, "count");
	}
	hmap__free(m);
}

LW_TEST(hmap_iterate_visits_each_once)
{
	struct hmap *m = hmap__new();
	struct hmap_iter it = {0};
	static unsigned char seen[1000];
	size_t visits = 0;

	memset(seen, 0, sizeof(seen));
	for (uint64_t k = 0; k < 1000; k++)
		*hmap__put(m, k, NULL) = k * 2;
	while (hmap__next(m, &it)) {
		ASSERT_TRUE(it.key < 1000, "key in range");
		ASSERT_EQ(*it.val, it.key * 2, "value");
		seen[it.key]++;
		*it.val += 1; /* values may change during the walk */
		visits++;
	}
	ASSERT_EQ(visits, 1000, "visits");
	for (int k = 0; k < 1000; k++)
		ASSERT_EQ(seen[k], 1, "each key once");
	ASSERT_EQ(*hmap__get(m, 10), 21, "value changed through iterator");
	ASSERT_TRUE(!hmap__next(m, &it), "ended walk stays ended");
	hmap__free(m);

	m = hmap__new();
	it = (struct hmap_iter){0};
	ASSERT_TRUE(!hmap__next(m, &it), "empty map");
	hmap__free(m);
}

/* Deleting the current entry pulls later ones back over it; with the run
 * wrapping past the array's end, a naive walk would see an entry twice.
 */
LW_TEST(hmap_iterate_while_deleting)
{
	uint64_t keys[12];

	ASSERT_EQ(wrapping_keys(keys, 12), 12, "keys");
	for (int mode = 0; mode < 3; mode++) {
		struct hmap *m = hmap__new();
		struct hmap_iter it = {0};
		unsigned char seen[13] = {0};
		size_t visits = 0, kept = 0;

		for (int i = 0; i < 12; i++)
			*hmap__put(m, keys[i], NULL) = (uint64_t)i;
		*hmap__put(m, 0, NULL) = 12; /* the key-0 entry takes part too */
		while (hmap__next(m, &it)) {
			uint64_t i = *it.val;

			ASSERT_TRUE(i < 13, "value");
			seen[i]++;
			visits++;
			/* mode 0: delete all; 1: even ones; 2: odd ones */
			if (mode == 0 || (int)(i & 1) == mode - 1)
				hmap__iter_del(m, &it);
			else
				kept++;
			ASSERT_TRUE(!it.val || mode, "val cleared by iter_del");
		}
		ASSERT_EQ(visits, 13, "every entry visited");
		for (int i = 0; i < 13; i++)
			ASSERT_EQ(seen[i], 1, "exactly once");
		ASSERT_EQ(hmap__count(m), kept, "count after walk");
		for (int i = 0; i < 13; i++) {
			uint64_t k = i < 12 ? keys[i] : 0;
			bool deleted = mode == 0 || (i & 1) == mode - 1;

			ASSERT_EQ(!!hmap__get(m, k), !deleted, "survivors reachable");
		}
		hmap__free(m);
	}
}

LW_TEST(hmap_clone_is_independent)
{
	struct hmap *m = hmap__new(), *c;

	for (uint64_t k = 0; k < 50; k++)
		*hmap__put(m, k, NULL) = k + 1000;
	c = hmap__clone(m);
	ASSERT_TRUE(c, "clone");
	ASSERT_EQ(hmap__count(c), 50, "clone count");
	ASSERT_TRUE(hmap__del(m, 3, NULL), "del in original");
	*hmap__get(m, 4) = 0;
	ASSERT_EQ(*hmap__get(c, 3), 1003, "clone keeps deleted key");
	ASSERT_EQ(*hmap__get(c, 4), 1004, "clone keeps value");
	ASSERT_EQ(*hmap__get(c, 0), 1000, "clone has key 0");
	hmap__free(m);
	hmap__free(c);
	m = hmap__new();
	c = hmap__clone(m);
	ASSERT_TRUE(c && hmap__count(c) == 0, "clone of empty");
	hmap__free(m);
	hmap__free(c);
}

/* Churn over a small key space (long runs, many shifts) against a model. */
LW_TEST(hmap_random_ops_match_model)
{
	enum { KEYS = 600, OPS = 300000 };
	static uint64_t model[KEYS]; /* 0: absent, else value */
	struct hmap *m = hmap__new();
	unsigned seed = 12345;
	size_t live = 0;

	memset(model, 0, sizeof(model));
	for (int op = 0; op < OPS; op++) {
		uint64_t k = (uint64_t)(rand_r(&seed) % KEYS), *v, old;
		int what = rand_r(&seed) % 8;

		if (what < 4) {
			bool added;

			v = hmap__put(m, k, &added);
			ASSERT_TRUE(v, "put");
			ASSERT_EQ(added, !model[k], "added iff absent");
			live += added;
			*v = model[k] = (uint64_t)op + 1;
		} else if (what < 7) {
			bool had = hmap__del(m, k, &old);

			ASSERT_EQ(had, !!model[k], "del iff present");
			if (had) {
				ASSERT_EQ(old, model[k], "deleted value");
				model[k] = 0;
				live--;
			}
		} else {
			/* sweep: drop every entry whose value is divisible by 3 */
			struct hmap_iter it = {0};
			size_t visits = 0, before = live;

			while (hmap__next(m, &it)) {
				ASSERT_EQ(*it.val, model[it.key], "walk value");
				visits++;
				if (*it.val % 3 == 0) {
					model[it.key] = 0;
					live--;
					hmap__iter_del(m, &it);
				}
			}
			ASSERT_EQ(visits, before, "walk sees every entry once");
		}
		ASSERT_EQ(hmap__count(m), live, "count");
	}
	for (uint64_t k = 0; k < KEYS; k++) {
		uint64_t *v = hmap__get(m, k);

		ASSERT_EQ(v ? *v : 0, model[k], "final contents");
	}
	hmap__free(m);
}
