// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* uint64 hash map: linear probing, backward-shift deletion. A key of 0 marks
 * an empty slot in the arrays, so the key-0 entry lives beside them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/hmap.h"

#define HMAP_MIN_CAP 16

struct hmap {
	uint64_t *keys, *vals;
	uint32_t n, cap; /* n: slots in use; cap: 0 or a power of two */
	bool has_zero;
	uint64_t zero_val;
};

static uint32_t home(const struct hmap *m, uint64_t key)
{
	/* Fibonacci hashing: fds and tgids are small and dense */
	return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

/* Index of key (non-zero), or of the empty slot where it would go. cap != 0. */
static uint32_t slot(const struct hmap *m, uint64_t key)
{
	uint32_t i = home(m, key);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Fill dst (cap slots, zeroed) with src's slot entries. */
static int rebuild(struct hmap *dst, const struct hmap *src, uint32_t cap)
{
	dst->keys = calloc(cap, sizeof(*dst->keys));
	dst->vals = calloc(cap, sizeof(*dst->vals));
	if (!dst->keys || !dst->vals) {
		free(dst->keys);
		free(dst->vals);
		return -ENOMEM;
	}
	dst->cap = cap;
	dst->n = src->n;
	for (uint32_t i = 0; i < src->cap; i++) {
		if (src->keys[i]) {
			uint32_t j = slot(dst, src->keys[i]);

			dst->keys[j] = src->keys[i];
			dst->vals[j] = src->vals[i];
		}
	}
	return 0;
}

struct hmap *hmap__new(void)
{
	return calloc(1, sizeof(struct hmap));
}

void hmap__free(struct hmap *m)
{
	if (!m)
		return;
	free(m->keys);
	free(m->vals);
	free(m);
}

struct hmap *hmap__clone(const struct hmap *m)
{
	struct hmap *c;

	if (!m)
		return NULL;
	c = hmap__new();
	if (!c)
		return NULL;
	c->has_zero = m->has_zero;
	c->zero_val = m->zero_val;
	if (m->cap && rebuild(c, m, m->cap)) {
		free(c);
		return NULL;
	}
	return c;
}

size_t hmap__count(const struct hmap *m)
{
	return m ? m->n + m->has_zero : 0;
}

uint64_t *hmap__get(const struct hmap *m, uint64_t key)
{
	uint32_t i;

	if (!m)
		return NULL;
	if (!key)
		return m->has_zero ? (uint64_t *)&m->zero_val : NULL;
	if (!m->cap)
		return NULL;
	i = slot(m, key);
	return m->keys[i] ? &m->vals[i] : NULL;
}

uint64_t *hmap__put(struct hmap *m, uint64_t key, bool *added)
{
	uint32_t i;

	if (added)
		*added = false;
	if (!m)
		return NULL;
	if (!key) {
		if (!m->has_zero) {
			m->has_zero = true;
			m->zero_val = 0;
			if (added)
				*added = true;
		}
		return &m->zero_val;
	}
	if (m->cap) {
		i = slot(m, key);
		if (m->keys[i])
			return &m->vals[i];
	}
	/* at most 3/4 full: probe runs stay short and an empty slot always exists */
	if (((uint64_t)m->n + 1) * 4 > (uint64_t)m->cap * 3) {
		struct hmap nm = {0};
		uint32_t cap = m->cap ? m->cap * 2 : HMAP_MIN_CAP;

		if (!cap || rebuild(&nm, m, cap))
			return NULL;
		free(m->keys);
		free(m->vals);
		m->keys = nm.keys;
		m->vals = nm.vals;
		m->cap = nm.cap;
	}
	i = slot(m, key);
	m->keys[i] = key;
	m->vals[i] = 0;
	m->n++;
	if (added)
		*added = true;
	return &m->vals[i];
}

/* Empty slot i and pull later entries of its probe run back over the hole.
 * Entries only move from later to earlier in the run, never past an empty
 * slot: the iterator relies on both.
 */
static void del_at(struct hmap *m, uint32_t i)
{
	uint32_t mask = m->cap - 1, j = i, k;

	m->n--;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->keys[j])
			break;
		k = home(m, m->keys[j]);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue; /* its home lies between the hole and j: stays */
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		i = j;
	}
	m->keys[i] = 0;
	m->vals[i] = 0;
}

bool hmap__del(struct hmap *m, uint64_t key, uint64_t *val)
{
	uint64_t *v = hmap__get(m, key);

	if (!v)
		return false;
	if (val)
		*val = *v;
	if (!key) {
		m->has_zero = false;
		m->zero_val = 0;
	} else {
		del_at(m, (uint32_t)(v - m->vals));
	}
	return true;
}

/* The walk covers the slots after an empty one, around to it. No probe run
 * crosses that slot and deletions never fill it, so backward shifts only
 * move entries the walk has not reached into the slot it is on.
 */
bool hmap__next(struct hmap *m, struct hmap_iter *it)
{
	if (!it->pos) {
		it->pos = 1;
		it->start = 0;
		while (m->cap && m->keys[it->start])
			it->start++;
		if (m->has_zero) {
			it->cur = 0;
			it->key = 0;
			it->val = &m->zero_val;
			return true;
		}
	}
	while (it->pos < m->cap) {
		uint32_t i = (it->start + it->pos) & (m->cap - 1);

		it->cur = it->pos++;
		if (m->keys[i]) {
			it->key = m->keys[i];
			it->val = &m->vals[i];
			return true;
		}
	}
	it->val = NULL;
	return false;
}

void hmap__iter_del(struct hmap *m, struct hmap_iter *it)
{
	if (!it->val)
		return;
	it->val = NULL;
	if (!it->cur) {
		m->has_zero = false;
		m->zero_val = 0;
		return;
	}
	del_at(m, (it->start + it->cur) & (m->cap - 1));
	it->pos = it->cur; /* a later entry may have moved into this slot */
}

void hmap__free_ptrs(struct hmap *m)
{
	struct hmap_iter it = {0};

	while (m && hmap__next(m, &it))
		free((void *)(uintptr_t)*it.val);
	hmap__free(m);
}
