// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: the user-space unwinder (stack/cfi.c unwind__complete) on
 * hostile stack slices, with the real CFI of this process's own modules.
 *
 * Input: a header (start pc selector, sp, bp, trampoline, pending returns)
 * and the slice. A slice word whose top byte is 0xAA becomes an address in
 * one of this process's executable mappings, so return addresses reach real
 * CFI instead of stopping at the first unknown pc.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stack/cfi.h"

struct hdr {
	uint64_t pc_sel, sp, bp, tramp;
	uint64_t ret_pending[LW_RET_PENDING];
	uint32_t nr_ret_pending;
	uint32_t flags;
};

struct text {
	uint64_t start, len;
};

static struct symbolizer *sym;
static struct cfi_cache *cfi;
static struct text texts[64];
static size_t nr_texts;

static void setup(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	sym = symbolizer__new();
	cfi = cfi_cache__new();
	if (!sym || !cfi || !f || symbolizer__snapshot_maps(sym, getpid()) <= 0)
		abort();
	while (fgets(line, sizeof(line), f) && nr_texts < 64) {
		unsigned long long a, b;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s", &a, &b, perms) == 3 && perms[2] == 'x' &&
		    strchr(line, '/'))
			texts[nr_texts++] = (struct text){a, b - a};
	}
	fclose(f);
	if (!nr_texts)
		abort();
}

static uint64_t text_addr(uint64_t sel)
{
	const struct text *t = &texts[(sel >> 32) % nr_texts];

	return t->start + (sel & 0xffffffffu) % t->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t slice[LW_SLICE_MAX];
	struct lw_stack stk = {};
	struct lw_ips out;
	struct hdr h = {};
	uint32_t len;

	if (!sym)
		setup();
	memcpy(&h, data, size < sizeof(h) ? size : sizeof(h));
	data += size < sizeof(h) ? size : sizeof(h);
	size -= size < sizeof(h) ? size : sizeof(h);
	len = size < sizeof(slice) ? (uint32_t)size : (uint32_t)sizeof(slice);
	memcpy(slice, data, len);
	for (uint32_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, slice + i, 8);
		if (w >> 56 == 0xaa) {
			w = text_addr(w);
			memcpy(slice + i, &w, 8);
		}
	}
	stk.nr = 1 + (h.flags >> 8) % LW_STACK_MAX;
	stk.flags = (h.flags & 1) ? 0 : LW_STK_PARTIAL;
	stk.sp = h.sp;
	/* bp near sp (low bit set) or anything */
	stk.bp = h.flags & 2 ? h.sp + (h.bp & 0xfff) : h.bp;
	for (unsigned i = 0; i < stk.nr; i++)
		stk.ips[i] = text_addr(h.pc_sel + i);
	stk.tramp = h.flags & 4 ? text_addr(h.tramp) : h.tramp;
	memcpy(stk.ret_pending, h.ret_pending, sizeof(stk.ret_pending));
	stk.nr_ret_pending = h.nr_ret_pending;
	stk.slice_len = len;
	if (unwind__complete(cfi, sym, getpid(), &stk, slice, len, &out) == 0 &&
	    out.nr > LW_STACK_MAX)
		abort();
	return 0;
}
