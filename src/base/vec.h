/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LW_VEC_H
#define LW_VEC_H

#include <errno.h>
#include <stdlib.h>

/* Make room for need elements of elem bytes in *v (capacity *cap),
 * doubling. 0 or -ENOMEM (*v untouched).
 */
static inline int lw_vec_grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 16;
	void *nv;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	nv = realloc(*v, c * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

#endif
