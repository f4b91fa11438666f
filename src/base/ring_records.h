/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Walking the records of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) as the
 * kernel lays them out: an 8-byte header (u32 length with the BUSY and
 * DISCARD bits, u32 page offset), the record, padding to 8 bytes. The data
 * area is mapped twice in a row, so a record never wraps. Pure: the caller
 * maps the ring and publishes the consumer position.
 */
#ifndef LW_RING_RECORDS_H
#define LW_RING_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define LW_RING_HDR_SZ	8
#define LW_RING_BUSY	(1u << 31) /* reserved, not yet submitted */
#define LW_RING_DISCARD (1u << 30)

/* Called per submitted record; a negative return stops the walk. */
typedef int (*ring_record_fn)(void *ctx, void *data, size_t size);

struct ring_walk {
	uint64_t cons; /* in: where to start; out: past the last record taken */
	int nr;	       /* records handed to fn */
	int err;       /* fn's negative return, else 0 */
	int busy;      /* stopped at a record still being written */
};

/* Take the records of data (mask + 1 bytes, mapped twice) from w->cons up
 * to prod, or until limit bytes were taken, a record is still BUSY, or fn
 * fails (that record counts as taken). Discarded records are skipped.
 */
void ring_records__walk(struct ring_walk *w, const uint8_t *data, uint64_t mask, uint64_t prod,
			uint64_t limit, ring_record_fn fn, void *ctx);

#endif
