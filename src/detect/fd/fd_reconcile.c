// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "detect/fd/fd_reconcile.h"

static int real_cmp(const void *a, const void *b)
{
	int x = ((const struct lw_proc_fd *)a)->fd, y = ((const struct lw_proc_fd *)b)->fd;

	return (x > y) - (x < y);
}

static bool is_open(const struct lw_proc_fd *real, int nr, int fd)
{
	int lo = 0, hi = nr;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (real[mid].fd == fd)
			return true;
		if (real[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int fd_reconcile__stale(const int *believed, int nb, struct lw_proc_fd *real, int nr, int *stale)
{
	int n = 0;

	if (nr > 1)
		qsort(real, nr, sizeof(*real), real_cmp);
	for (int b = 0; b < nb; b++)
		if (!is_open(real, nr > 0 ? nr : 0, believed[b]))
			stale[n++] = believed[b];
	return n;
}

bool fd_reconcile__too_many(uint64_t stale, uint64_t believed)
{
	return stale > LW_RECONCILE_MIN_STALE &&
	       stale * 1000 > believed * LW_RECONCILE_MIN_PERMILLE;
}
