// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Conservative reachability over a frozen process's memory, as memcheck's
 * leak checker does it: mark from the roots, then group the blocks nothing
 * reached into cliques, each led by a definitely lost block that keeps the
 * rest (indirectly lost) alive.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/radix_sort.h"
#include "base/vec.h"
#include "detect/mem/reach.h"

#define CHUNK	 (64u << 10)
#define NO_BLOCK ((size_t)-1)
#define RED_ZONE 128 /* x86-64 leaf functions may keep data below sp */

/* mark levels, ordered: a block only ever rises */
enum { UNSEEN = 0, POSSIBLE = 1, REACHABLE = 2 };

struct scan {
	struct lw_reach_block *b;
	size_t n;
	size_t *by_addr;   /* block indices sorted by address */
	uint64_t *starts;  /* their addresses, in that order (a flat binary search) */
	uint64_t lo, span; /* every block lies in [lo, lo + span): the cheap test first */
	uint8_t *level;
	size_t *clique; /* lost phase: the leader each lost block was reached from */
	size_t *stack;	/* work list */
	size_t top;
	const struct lw_reach_io *io;
	struct lw_reach_stats *st;
	uint8_t *buf;
	uint64_t win; /* buf holds [win, win + win_len) of the process */
	size_t win_len;
};

int reach__addr_order(const struct lw_reach_block *b, size_t n, size_t *order)
{
	struct lw_kv *kv;
	bool sorted = true;

	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		sorted = sorted && (!i || b[i - 1].addr <= b[i].addr);
	}
	if (sorted)
		return 0;
	kv = malloc(n * sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		kv[i] = (struct lw_kv){.key = b[i].addr, .val = i};
	if (lw_radix_sort(kv, n)) {
		free(kv);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (size_t)kv[i].val;
	free(kv);
	return 0;
}

/* The block whose [addr, addr + size) holds v (malloc(0) blocks hold their
 * own address); *start tells whether v is its first byte.
 */
static size_t find_block(const struct scan *sc, uint64_t v, bool *start)
{
	const uint64_t *a = sc->starts;
	size_t lo = 0, n = sc->n;

	if (v - sc->lo >= sc->span)
		return NO_BLOCK; /* most words: not even near the heap */
	/* branch-light lower bound: the last start <= v */
	while (n > 1) {
		size_t half = n / 2;

		lo = a[lo + half] <= v ? lo + half : lo;
		n -= half;
	}
	if (a[lo] > v)
		return NO_BLOCK;
	{
		const struct lw_reach_block *bl = &sc->b[sc->by_addr[lo]];
		uint64_t size = bl->size ? bl->size : 1;

		if (v - bl->addr >= size)
			return NO_BLOCK;
		*start = v == bl->addr;
		return sc->by_addr[lo];
	}
}

/* Up to len bytes at addr, at *p: from the last read when it holds them,
 * else read through to the end of addr + len's page (at most CHUNK). Heap
 * blocks are small and a page holds many: a syscall per 64-byte block made
 * process_vm_readv 61% of the time a 1M-block report took, and a read costs
 * per call and per page, hardly per byte. The process is held still: what
 * was read stays true.
 */
static ssize_t read_at(struct scan *sc, uint64_t addr, size_t len, const uint8_t **p)
{
	/* whole pages: the marking visits blocks from a work stack, as often
	 * downwards as upwards
	 */
	uint64_t from = addr & ~4095ull, to = (addr + len + 4095) & ~4095ull;
	ssize_t got;

	if (sc->win_len && addr >= sc->win && addr + len <= sc->win + sc->win_len) {
		*p = sc->buf + (addr - sc->win);
		return (ssize_t)len;
	}
	if (to - from > CHUNK)
		from = addr, to = addr + CHUNK;
	got = sc->io->read(sc->io->ctx, from, sc->buf, to - from);
	/* the page before addr may be unreadable when addr's is not */
	if (got <= 0 && from != addr) {
		from = addr;
		got = sc->io->read(sc->io->ctx, from, sc->buf, len);
	}
	sc->win = from;
	sc->win_len = got > 0 ? (size_t)got : 0;
	if (got <= 0 || addr >= from + (uint64_t)got) {
		sc->win_len = 0;
		return got <= 0 ? got : 0;
	}
	*p = sc->buf + (addr - from);
	got -= (ssize_t)(addr - from);
	return got > (ssize_t)len ? (ssize_t)len : got;
}

/* Every 8-byte-aligned word of [start, end), handed to fn. */
static void scan_words(struct scan *sc, uint64_t start, uint64_t end, uint64_t *counter,
		       void (*fn)(struct scan *, uint64_t word, void *arg), void *arg)
{
	start = (start + 7) & ~7ull;
	while (start + 8 <= end) {
		size_t len = end - start > CHUNK ? CHUNK : (size_t)((end - start) & ~7ull);
		const uint8_t *data;
		ssize_t got = read_at(sc, start, len, &data);

		if (got <= 0) {
			/* skip to the next page: part of a range may be unmapped */
			uint64_t next = (start | 4095) + 1;

			sc->st->unreadable += (next < end ? next : end) - start;
			start = next;
			continue;
		}
		*counter += (uint64_t)got;
		for (size_t off = 0; off + 8 <= (size_t)got; off += 8) {
			uint64_t w;

			memcpy(&w, data + off, 8);
			if (w - sc->lo < sc->span)
				fn(sc, w, arg);
		}
		start += (uint64_t)got & ~7ull;
		if (!((uint64_t)got & ~7ull))
			break;
	}
}

static void raise_to(struct scan *sc, size_t bi, uint8_t level)
{
	if (sc->level[bi] >= level)
		return;
	sc->level[bi] = level;
	sc->stack[sc->top++] = bi; /* at most two pushes each: stack holds 2n */
}

/* arg: the level of the memory the word was found in */
static void mark_word(struct scan *sc, uint64_t w, void *arg)
{
	uint8_t from = *(uint8_t *)arg;
	bool start;
	size_t bi = find_block(sc, w, &start);

	if (bi != NO_BLOCK)
		raise_to(sc, bi, from == REACHABLE && start ? REACHABLE : POSSIBLE);
}

static void drain_marks(struct scan *sc)
{
	while (sc->top) {
		size_t bi = sc->stack[--sc->top];
		uint8_t level = sc->level[bi];

		scan_words(sc, sc->b[bi].addr, sc->b[bi].addr + sc->b[bi].size,
			   &sc->st->block_bytes, mark_word, &level);
	}
}

static size_t leader_of(const struct scan *sc, size_t bi)
{
	while (sc->clique[bi] != bi)
		bi = sc->clique[bi];
	return bi;
}

/* arg: the leader whose clique is being flooded */
static void clique_word(struct scan *sc, uint64_t w, void *arg)
{
	size_t leader = *(size_t *)arg;
	bool start;
	size_t bi = find_block(sc, w, &start);

	if (bi == NO_BLOCK || bi == leader || sc->level[bi] != UNSEEN)
		return;
	if (sc->clique[bi] == NO_BLOCK) {
		sc->clique[bi] = leader;
		sc->stack[sc->top++] = bi;
	} else if (sc->clique[bi] == bi) {
		/* an earlier leader this one reaches: its clique joins ours */
		sc->clique[bi] = leader;
	}
}

static void find_cliques(struct scan *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		size_t leader = sc->by_addr[i];

		if (sc->level[leader] != UNSEEN || sc->clique[leader] != NO_BLOCK)
			continue;
		sc->clique[leader] = leader;
		sc->stack[sc->top++] = leader;
		while (sc->top) {
			size_t bi = sc->stack[--sc->top];

			scan_words(sc, sc->b[bi].addr, sc->b[bi].addr + sc->b[bi].size,
				   &sc->st->block_bytes, clique_word, &leader);
		}
	}
}

static void classify(struct scan *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		struct lw_reach_block *bl = &sc->b[i];

		bl->indirect_bytes = bl->indirect_count = 0;
		bl->leader = i;
	}
	for (size_t i = 0; i < sc->n; i++) {
		struct lw_reach_block *bl = &sc->b[i];

		if (sc->level[i] == REACHABLE)
			bl->cls = LW_REACH_REACHABLE;
		else if (sc->level[i] == POSSIBLE)
			bl->cls = LW_REACH_POSSIBLE;
		else if (sc->clique[i] == i)
			bl->cls = LW_REACH_DEFINITE;
		else {
			bl->cls = LW_REACH_INDIRECT;
			bl->leader = leader_of(sc, i);
			sc->b[bl->leader].indirect_bytes += bl->size;
			sc->b[bl->leader].indirect_count++;
		}
		sc->st->counts[bl->cls]++;
		sc->st->bytes[bl->cls] += bl->size;
	}
}

int reach__scan(struct lw_reach_block *blocks, size_t n, const struct lw_reach_region *roots,
		size_t nr_roots, const uint64_t *regs, size_t nr_regs, const struct lw_reach_io *io,
		struct lw_reach_stats *st)
{
	struct scan sc = {.b = blocks, .n = n, .io = io, .st = st};
	uint8_t root_level = REACHABLE;
	int err = -ENOMEM;

	memset(st, 0, sizeof(*st));
	sc.by_addr = malloc((n ? n : 1) * sizeof(*sc.by_addr));
	sc.starts = malloc((n ? n : 1) * sizeof(*sc.starts));
	sc.level = calloc(n ? n : 1, 1);
	sc.clique = malloc((n ? n : 1) * sizeof(*sc.clique));
	sc.stack = malloc((2 * n + 1) * sizeof(*sc.stack));
	sc.buf = malloc(CHUNK);
	if (!sc.by_addr || !sc.starts || !sc.level || !sc.clique || !sc.stack || !sc.buf)
		goto out;
	for (size_t i = 0; i < n; i++)
		sc.clique[i] = NO_BLOCK;
	if (reach__addr_order(blocks, n, sc.by_addr))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct lw_reach_block *bl = &blocks[sc.by_addr[i]];
		uint64_t end = bl->addr + (bl->size ? bl->size : 1);

		sc.starts[i] = bl->addr;
		if (!i)
			sc.lo = bl->addr; /* the lowest: sorted */
		if (end - sc.lo > sc.span)
			sc.span = end - sc.lo;
	}

	for (size_t i = 0; i < nr_regs; i++)
		mark_word(&sc, regs[i], &root_level);
	for (size_t i = 0; i < nr_roots; i++) {
		scan_words(&sc, roots[i].start, roots[i].end, &st->root_bytes, mark_word,
			   &root_level);
		drain_marks(&sc);
	}
	drain_marks(&sc);
	find_cliques(&sc);
	classify(&sc);
	err = 0;
out:
	free(sc.by_addr);
	free(sc.starts);
	free(sc.level);
	free(sc.clique);
	free(sc.stack);
	free(sc.buf);
	return err;
}

const char *reach__class_name(enum lw_reach_class c)
{
	static const char *const names[] = {
	    [LW_REACH_DEFINITE] = "definitely lost",
	    [LW_REACH_INDIRECT] = "indirectly lost",
	    [LW_REACH_POSSIBLE] = "possibly lost",
	    [LW_REACH_REACHABLE] = "still reachable",
	};

	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

/* The first block at or after addr. */
static size_t first_from(const struct lw_reach_block *sorted, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sorted[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int add_root(struct lw_reach_region **v, size_t *n, size_t *cap, uint64_t start,
		    uint64_t end)
{
	if (end <= start)
		return 0;
	if (lw_vec_grow((void **)v, cap, *n + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = (struct lw_reach_region){.start = start, .end = end};
	return 0;
}

/* The stretches of a heap mapping between known blocks. */
static int add_gaps(const struct lw_reach_map *m, const struct lw_reach_block *sorted, size_t n,
		    size_t first, struct lw_reach_region **v, size_t *nr, size_t *cap)
{
	uint64_t at = m->start;
	int err = 0;

	for (size_t i = first; i < n && sorted[i].addr < m->end && !err; i++) {
		err = add_root(v, nr, cap, at, sorted[i].addr);
		at = sorted[i].addr + sorted[i].size;
	}
	return err ? err : add_root(v, nr, cap, at, m->end);
}

int reach__pick_roots(const struct lw_reach_map *maps, size_t nr_maps,
		      const struct lw_reach_block *sorted_blocks, size_t nr_blocks,
		      const uint64_t *sps, size_t nr_sps, bool unknown_heap,
		      struct lw_reach_region **out, size_t *nr_out)
{
	struct lw_reach_region *v = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < nr_maps && !err; i++) {
		const struct lw_reach_map *m = &maps[i];
		size_t first = first_from(sorted_blocks, nr_blocks, m->start);
		uint64_t start = m->start;

		if (!m->readable || !m->writable || m->special)
			continue;
		if (first < nr_blocks && sorted_blocks[first].addr < m->end) {
			if (unknown_heap)
				err = add_gaps(m, sorted_blocks, nr_blocks, first, &v, &n, &cap);
			continue;
		}
		for (size_t j = 0; j < nr_sps; j++) {
			if (sps[j] >= m->start && sps[j] < m->end) {
				uint64_t from = sps[j] - RED_ZONE;

				/* threads sharing a mapping: keep the lowest */
				if (from > m->start && (start == m->start || from < start))
					start = from;
			}
		}
		err = add_root(&v, &n, &cap, start, m->end);
	}
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*nr_out = n;
	return 0;
}

int reach__parse_map(const char *line, struct lw_reach_map *m)
{
	unsigned long long start, end, ino;
	char perms[8], path[256] = "";
	unsigned maj, min;
	int pos = 0;

	if (sscanf(line, "%llx-%llx %7s %*x %x:%x %llu %n", &start, &end, perms, &maj, &min, &ino,
		   &pos) < 6 ||
	    end < start || strlen(perms) < 4)
		return -EINVAL;
	if (pos > 0)
		sscanf(line + pos, "%255[^\n]", path);
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->readable = perms[0] == 'r';
	m->writable = perms[1] == 'w';
	/* kernel pages, and device memory whose read may have side effects */
	m->special = !strcmp(path, "[vvar]") || !strcmp(path, "[vsyscall]") ||
		     !strcmp(path, "[uprobes]") ||
		     (!strncmp(path, "/dev/", 5) && strncmp(path, "/dev/zero", 9));
	return 0;
}
