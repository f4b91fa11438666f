/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* uint64 → uint64 hash map for correlator state (fds, processes, stacks,
 * later memory blocks and pair handles). Pointers go in as (uintptr_t).
 * Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so lookups stay short under insert/delete churn. Every key,
 * 0 included, is valid. Pure: no I/O, deterministic.
 */
#ifndef LW_HMAP_H
#define LW_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap;

/* An empty map (no slots allocated until the first put); NULL on ENOMEM. */
struct hmap *hmap__new(void);
/* NULL-safe. Values are the caller's: free what they point at first. */
void hmap__free(struct hmap *m);
/* For maps whose values are malloc'ed pointers: free those, then the map. */
void hmap__free_ptrs(struct hmap *m);
/* A copy with the same entries; NULL on ENOMEM. */
struct hmap *hmap__clone(const struct hmap *m);
size_t hmap__count(const struct hmap *m);

/* The value pointers below stay valid until the next put or delete, either
 * of which may move entries.
 */

/* Value of key, or NULL when absent. */
uint64_t *hmap__get(const struct hmap *m, uint64_t key);
/* Value of key, inserted as 0 when new (*added tells which, added may be
 * NULL); NULL on ENOMEM.
 */
uint64_t *hmap__put(struct hmap *m, uint64_t key, bool *added);
/* Remove key; its value goes to *val (may be NULL). False when absent. */
bool hmap__del(struct hmap *m, uint64_t key, uint64_t *val);

/* Iteration in no particular order:
 *
 *	struct hmap_iter it = {0};
 *
 *	while (hmap__next(m, &it))
 *		if (done_with(it.key, *it.val))
 *			hmap__iter_del(m, &it);
 *
 * Every entry is visited exactly once, also when the loop deletes the
 * current entry with hmap__iter_del. Any other put or delete during the
 * walk is not allowed. Values may be changed through it.val.
 */
struct hmap_iter {
	uint64_t key;
	uint64_t *val; /* NULL after hmap__iter_del or at the end */
	/* private */
	uint32_t start; /* an empty slot: the walk starts after it */
	uint32_t pos;	/* next position: 0 the key-0 entry, then slots */
	uint32_t cur;	/* position of the current entry */
};

bool hmap__next(struct hmap *m, struct hmap_iter *it);
/* Delete the entry hmap__next returned last; the walk goes on correctly. */
void hmap__iter_del(struct hmap *m, struct hmap_iter *it);

#endif
