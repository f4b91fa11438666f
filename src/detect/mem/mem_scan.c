// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/vec.h"
#include "detect/mem/freeze.h"
#include "detect/mem/mem_scan.h"
#include "detect/mem/reach.h"

struct collect {
	struct corr_mem *c;
	uint32_t tgid, gen;
	struct lw_reach_block *v;
	size_t n, cap;
};

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int add(struct collect *col, uint64_t addr, uint64_t size)
{
	if (lw_vec_grow((void **)&col->v, &col->cap, col->n + 1, sizeof(*col->v)))
		return -ENOMEM;
	col->v[col->n++] = (struct lw_reach_block){.addr = addr, .size = size ? size : 1};
	return 0;
}

static int own_block(void *ctx, uint64_t addr, uint64_t size)
{
	return add(ctx, addr, size);
}

static int map_block(void *ctx, const struct lw_alloc_key *k, const struct lw_alloc_val *v)
{
	struct collect *col = ctx;

	if (k->tgid != col->tgid || k->exec_gen != col->gen)
		return 0;
	if (v->flags & LW_ALLOC_USER) {
		corr_mem__user_seen(col->c, k);
		return 0;
	}
	return add(col, k->addr, v->size);
}

/* Sorted, and no block overlapping the one before it (a mapping that
 * holds heap blocks is listed once, as its blocks).
 */
static int sort_blocks(struct collect *col)
{
	struct lw_reach_block *sorted;
	size_t *order, out = 0;

	if (!col->n)
		return 0;
	order = malloc(col->n * sizeof(*order));
	sorted = malloc(col->n * sizeof(*sorted));
	if (!order || !sorted || reach__addr_order(col->v, col->n, order)) {
		free(order);
		free(sorted);
		return -ENOMEM;
	}
	col->cap = col->n;
	for (size_t i = 0; i < col->n; i++) {
		const struct lw_reach_block *b = &col->v[order[i]];

		if (out && b->addr < sorted[out - 1].addr + sorted[out - 1].size)
			continue;
		sorted[out++] = *b;
	}
	free(order);
	free(col->v);
	col->v = sorted;
	col->n = out;
	return 0;
}

static bool holds(const struct lw_reach_map *m, const uint64_t *sps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sps[i] >= m->start && sps[i] < m->end)
			return true;
	return false;
}

/* The stack of a thread that ended is no root, unless a live thread got
 * it from glibc's cache since.
 */
static void drop_dead_stacks(struct lw_reach_map *maps, size_t n, const struct lw_freeze *fz)
{
	for (size_t i = 0; i < n && fz->nr_dead_sps; i++)
		if (holds(&maps[i], fz->dead_sps, fz->nr_dead_sps) &&
		    !holds(&maps[i], fz->sps, fz->nr_sps))
			maps[i].special = true;
}

int mem_scan__frozen(struct corr_mem *c, const struct lw_det_io *io, const struct lw_frozen *fr,
		     uint32_t gen, bool unknown_heap, struct mem_scan_stats *st)
{
	struct collect col = {.c = c, .tgid = (uint32_t)fr->pid, .gen = gen};
	struct lw_reach_io rio = {.read = freeze__read, .ctx = (void *)fr->fz};
	struct lw_reach_region *roots = NULL;
	struct lw_reach_map *maps = NULL;
	struct lw_reach_stats rs = {};
	size_t nr_roots = 0;
	uint64_t t0 = mono_now();
	int nr_maps, err;

	if (!io->proc_maps || !fr->fz)
		return -ENOSYS;
	err = io->read_mem ? io->read_mem(io->ctx, NULL, map_block, &col) : 0;
	if (!err && io->read_mem)
		corr_mem__user_sweep(c, col.tgid, gen, false);
	if (!err)
		err = corr_mem__own_blocks(c, col.tgid, gen, own_block, &col);
	nr_maps = err ? err : io->proc_maps(io->ctx, col.tgid, &maps);
	if (nr_maps < 0) {
		err = nr_maps;
		goto out;
	}
	err = sort_blocks(&col);
	if (err)
		goto out;
	drop_dead_stacks(maps, (size_t)nr_maps, fr->fz);
	err = reach__pick_roots(maps, (size_t)nr_maps, col.v, col.n, fr->fz->sps, fr->fz->nr_sps,
				unknown_heap, &roots, &nr_roots);
	if (!err)
		err = reach__scan(col.v, col.n, roots, nr_roots, fr->fz->regs, fr->fz->nr_regs,
				  &rio, &rs);
	for (size_t i = 0; i < col.n && !err; i++)
		err = corr_mem__set_class(c, col.tgid, gen, col.v[i].addr, col.v[i].cls,
					  col.v[i].indirect_bytes, col.v[i].indirect_count);
	if (!err) {
		corr_mem__scanned(c, col.tgid, gen);
		st->scans++;
		st->scanned_bytes += rs.root_bytes + rs.block_bytes;
		st->scan_ns += mono_now() - t0;
	}
out:
	free(col.v);
	free(roots);
	free(maps);
	return err;
}
