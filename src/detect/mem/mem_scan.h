/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The mem detector's look at a frozen process: the blocks it has live
 * (the BPF map, the ones user space holds, anonymous mappings), its
 * mappings and threads as roots, a reachability scan (reach.h), and each
 * block's class handed to the correlator.
 */
#ifndef LW_MEM_SCAN_H
#define LW_MEM_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include "detect/detector.h"
#include "detect/mem/corr_mem.h"

struct mem_scan_stats {
	uint64_t scans, scanned_bytes, scan_ns;
};

/* unknown_heap: blocks may be missing from the list (attach: allocated
 * before leakwatch came; sampling, size filters, a full map), so the gaps
 * between known blocks count as roots. 0 or -errno.
 */
int mem_scan__frozen(struct corr_mem *c, const struct lw_det_io *io, const struct lw_frozen *fr,
		     uint32_t gen, bool unknown_heap, struct mem_scan_stats *st);

#endif
