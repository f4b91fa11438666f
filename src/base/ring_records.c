// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "base/ring_records.h"

void ring_records__walk(struct ring_walk *w, const uint8_t *data, uint64_t mask, uint64_t prod,
			uint64_t limit, ring_record_fn fn, void *ctx)
{
	uint64_t start = w->cons;

	w->nr = 0;
	w->err = 0;
	w->busy = 0;
	while (w->cons < prod && w->cons - start < limit) {
		const uint32_t *hdr = (const uint32_t *)(data + (w->cons & mask));
		/* acquire: the record's bytes are complete once BUSY is clear */
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		uint32_t size = len & ~(LW_RING_BUSY | LW_RING_DISCARD);

		if (len & LW_RING_BUSY) {
			w->busy = 1;
			return;
		}
		w->cons += (LW_RING_HDR_SZ + size + 7) & ~7ull;
		if (len & LW_RING_DISCARD)
			continue;
		w->nr++;
		int err = fn(ctx, (void *)((const uint8_t *)hdr + LW_RING_HDR_SZ), size);

		if (err < 0) {
			w->err = err;
			return;
		}
	}
}
