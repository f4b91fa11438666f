// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/radix_sort.h"

#define SMALL 64 /* below this, insertion sort beats the passes' setup */

static void insertion_sort(struct lw_kv *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct lw_kv x = v[i];
		size_t j = i;

		for (; j && v[j - 1].key > x.key; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

int lw_radix_sort(struct lw_kv *v, size_t n)
{
	size_t(*count)[256];
	struct lw_kv *tmp, *src = v, *dst;

	if (n < SMALL) {
		insertion_sort(v, n);
		return 0;
	}
	count = calloc(8, sizeof(*count));
	tmp = malloc(n * sizeof(*tmp));
	if (!count || !tmp) {
		free(count);
		free(tmp);
		return -ENOMEM;
	}
	/* every byte's histogram in one read of the keys */
	for (size_t i = 0; i < n; i++)
		for (unsigned b = 0; b < 8; b++)
			count[b][(v[i].key >> (8 * b)) & 0xff]++;
	dst = tmp;
	for (unsigned b = 0; b < 8; b++) {
		size_t sum = 0, *c = count[b];

		if (c[(v[0].key >> (8 * b)) & 0xff] == n)
			continue; /* every key has this byte: the pass would copy */
		for (unsigned d = 0; d < 256; d++) {
			size_t k = c[d];

			c[d] = sum;
			sum += k;
		}
		for (size_t i = 0; i < n; i++)
			dst[c[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
		dst = src;
		src = src == v ? tmp : v;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(count);
	free(tmp);
	return 0;
}
