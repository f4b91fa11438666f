// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/vec.h"
#include <leakwatch/hash.h>
#include "detect/mem/corr_mem.h"
#include "base/hmap.h"
#include "detect/mem/reach.h"

/* What only this correlator knows of a process (comm and exec generation
 * are the session's process table's).
 */
struct mproc {
	uint32_t tgid;
	bool dead;	 /* its exit was seen (attach: not the root's) */
	uint64_t end_ns; /* exit time, for ages in run mode */
	bool scanned;	 /* reachability known for scan_gen's blocks */
	uint32_t scan_gen;
};

/* A scanned block's class (enum lw_reach_class) */
struct verdict {
	uint8_t cls;
	uint64_t indirect_bytes, indirect_count;
};

/* what emit_leaks does with a block; the first four are lw_reach_class */
#define CLS_UNSCANNED 4

struct block {
	uint32_t tgid, tid;
	uint32_t exec_gen;
	uint64_t addr, size, ts_ns;
	uint64_t stack_id;   /* 0: stack below */
	uint32_t mark;	     /* user-held: seen in the block table by this round */
	uint32_t stack_lost; /* its record was dropped: no stack */
	struct lw_ips stack;
};

struct bad {
	struct lw_ev_mem_bad_free ev;
	struct lw_ips stack;
};

#define LW_FREED_RING 1024 /* recently freed user-tracked blocks, for bad-free evidence */

struct corr_mem {
	struct corr_mem_opts o;
	struct block *freed[LW_FREED_RING];
	size_t freed_next;
	struct hmap *procs;  /* tgid → struct mproc * */
	struct hmap *stacks; /* stack id → struct lw_ips * */
	struct hmap *user;   /* user-tracked block key → struct block * */
	struct block *live;  /* blocks from the block table */
	size_t nr_live, cap_live;
	struct bad *bads;
	size_t nr_bads, cap_bads;
	struct block *maps; /* anonymous mappings: addr..addr+size, page-aligned */
	size_t nr_maps, cap_maps;
	struct hmap *verdicts; /* block key → index + 1 in verdict */
	struct verdict *verdict;
	size_t nr_verdict, cap_verdict;
	uint64_t reachable_blocks, reachable_bytes;
	uint32_t mark; /* the round of corr_mem__user_seen/_sweep */
	uint64_t swept;
};

static uint64_t user_key(uint32_t tgid, uint32_t gen, uint64_t addr)
{
	/* addresses are user-space (< 2^47): fold tgid and gen into one key */
	return (addr * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)tgid << 32 | gen);
}

struct corr_mem *corr_mem__new(const struct corr_mem_opts *o)
{
	struct corr_mem *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->o = *o;
	if (!c->o.sample_every)
		c->o.sample_every = 1;
	c->procs = hmap__new();
	c->stacks = hmap__new();
	c->user = hmap__new();
	c->verdicts = hmap__new();
	if (!c->procs || !c->stacks || !c->user || !c->verdicts) {
		corr_mem__free(c);
		return NULL;
	}
	return c;
}

void corr_mem__free(struct corr_mem *c)
{
	if (!c)
		return;
	hmap__free_ptrs(c->procs);
	hmap__free_ptrs(c->stacks);
	hmap__free_ptrs(c->user);
	hmap__free(c->verdicts);
	free(c->verdict);
	for (size_t i = 0; i < LW_FREED_RING; i++)
		free(c->freed[i]);
	free(c->live);
	free(c->bads);
	free(c->maps);
	free(c);
}

static struct mproc *proc_get(struct corr_mem *c, uint32_t tgid)
{
	bool added;
	uint64_t *slot = hmap__put(c->procs, tgid, &added);
	struct mproc *p;

	if (!slot)
		return NULL;
	if (!added)
		return (struct mproc *)(uintptr_t)*slot;
	p = calloc(1, sizeof(*p));
	if (!p) {
		hmap__del(c->procs, tgid, NULL);
		return NULL;
	}
	p->tgid = tgid;
	*slot = (uintptr_t)p;
	return p;
}

void corr_mem__exit(struct corr_mem *c, uint32_t tgid, uint64_t ts_ns)
{
	struct mproc *p = proc_get(c, tgid);

	if (p) {
		p->dead = true;
		p->end_ns = ts_ns;
	}
}

int corr_mem__user_alloc(struct corr_mem *c, const struct lw_ev_mem_alloc *ev,
			 const struct lw_ips *stack)
{
	uint32_t tgid = ev->owner ? ev->owner : ev->hdr.tgid; /* a vfork child's: its parent's */
	uint64_t key = user_key(tgid, ev->exec_gen, ev->addr);
	struct block *b = calloc(1, sizeof(*b));
	bool added;
	uint64_t *slot;

	if (!b)
		return -ENOMEM;
	*b = (struct block){.tgid = tgid,
			    .tid = ev->hdr.tid,
			    .exec_gen = ev->exec_gen,
			    .addr = ev->addr,
			    .size = ev->size,
			    .ts_ns = ev->hdr.ts_ns};
	b->stack = *stack;
	slot = hmap__put(c->user, key, &added);
	if (!slot) {
		free(b);
		return -ENOMEM;
	}
	if (!added)
		free((void *)(uintptr_t)*slot);
	*slot = (uintptr_t)b;
	return 0;
}

void corr_mem__user_free(struct corr_mem *c, const struct lw_ev_mem_free_user *ev)
{
	struct block **slot;
	uint64_t val;

	if (!hmap__del(c->user, user_key(ev->hdr.tgid, ev->exec_gen, ev->addr), &val))
		return;
	/* kept a while: a double free of it wants to say where it came from */
	slot = &c->freed[c->freed_next++ % LW_FREED_RING];
	free(*slot);
	*slot = (struct block *)(uintptr_t)val;
}

static const struct block *recently_freed(const struct corr_mem *c, uint32_t tgid, uint32_t gen,
					  uint64_t addr)
{
	for (size_t i = 0; i < LW_FREED_RING; i++) {
		const struct block *b = c->freed[i];

		if (b && b->tgid == tgid && b->exec_gen == gen && b->addr == addr)
			return b;
	}
	return NULL;
}

int corr_mem__bad_free(struct corr_mem *c, const struct lw_ev_mem_bad_free *ev,
		       const struct lw_ips *stack)
{
	if (lw_vec_grow((void **)&c->bads, &c->cap_bads, c->nr_bads + 1, sizeof(*c->bads)))
		return -ENOMEM;
	memcpy(&c->bads[c->nr_bads].ev, ev, sizeof(*ev));
	c->bads[c->nr_bads].stack = *stack;
	c->nr_bads++;
	return 0;
}

#define LW_PAGE 4096ULL

/* The process's current exec generation (lw_target.exec_gen's mirror). */
static uint32_t cur_gen(const struct corr_mem *c, uint32_t tgid)
{
	const struct lw_proc *p = c->o.proc ? c->o.proc(c->o.proc_ctx, tgid) : NULL;

	return p ? p->exec_gen : 0;
}

/* Remove [start, end) from every mapping of (tgid, gen) it overlaps: whole
 * mappings go, a prefix or suffix trims one, the middle splits it in two.
 */
static int unmap_range(struct corr_mem *c, uint32_t tgid, uint32_t gen, uint64_t start,
		       uint64_t end)
{
	size_t i = 0;

	while (i < c->nr_maps) {
		struct block *m = &c->maps[i];
		uint64_t ms = m->addr, me = m->addr + m->size;

		if (m->tgid != tgid || m->exec_gen != gen || end <= ms || start >= me) {
			i++;
			continue;
		}
		if (start <= ms && end >= me) { /* all of it */
			*m = c->maps[--c->nr_maps];
			continue;
		}
		if (start <= ms) { /* a prefix */
			m->addr = end;
			m->size = me - end;
		} else if (end >= me) { /* a suffix */
			m->size = start - ms;
		} else { /* the middle: keep both sides */
			struct block tail;

			if (lw_vec_grow((void **)&c->maps, &c->cap_maps, c->nr_maps + 1,
					sizeof(*c->maps)))
				return -ENOMEM;
			m = &c->maps[i];
			tail = *m;
			tail.addr = end;
			tail.size = me - end;
			m->size = start - ms;
			c->maps[c->nr_maps++] = tail;
		}
		i++;
	}
	return 0;
}

int corr_mem__mmap(struct corr_mem *c, const struct lw_ev_mmap_anon *ev, const struct lw_ips *stack)
{
	uint32_t gen = cur_gen(c, ev->hdr.tgid);
	uint64_t len = (ev->len + LW_PAGE - 1) & ~(LW_PAGE - 1);
	struct block *b;

	if (!len)
		return 0;
	/* MAP_FIXED replaces whatever was there */
	if (unmap_range(c, ev->hdr.tgid, gen, ev->addr, ev->addr + len))
		return -ENOMEM;
	if (lw_vec_grow((void **)&c->maps, &c->cap_maps, c->nr_maps + 1, sizeof(*c->maps)))
		return -ENOMEM;
	b = &c->maps[c->nr_maps++];
	*b = (struct block){.tgid = ev->hdr.tgid,
			    .tid = ev->hdr.tid,
			    .exec_gen = gen,
			    .addr = ev->addr,
			    .size = len,
			    .ts_ns = ev->hdr.ts_ns};
	b->stack = *stack;
	return 0;
}

int corr_mem__munmap(struct corr_mem *c, const struct lw_ev_munmap *ev)
{
	uint64_t len = (ev->len + LW_PAGE - 1) & ~(LW_PAGE - 1);
	uint64_t start = ev->addr & ~(LW_PAGE - 1);

	if (!len)
		return 0;
	return unmap_range(c, ev->hdr.tgid, cur_gen(c, ev->hdr.tgid), start, ev->addr + len);
}

int corr_mem__stack(struct corr_mem *c, uint64_t stack_id, const struct lw_stack_ips *ips)
{
	struct lw_ips *s;
	bool added;
	uint64_t *slot = hmap__put(c->stacks, stack_id, &added);

	if (!slot)
		return -ENOMEM;
	if (!added)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s) {
		hmap__del(c->stacks, stack_id, NULL);
		return -ENOMEM;
	}
	s->nr = ips->nr > LW_STACK_MAX ? LW_STACK_MAX : ips->nr;
	s->flags = ips->flags;
	memcpy(s->ips, ips->ips, s->nr * sizeof(s->ips[0]));
	*slot = (uintptr_t)s;
	return 0;
}

int corr_mem__live(struct corr_mem *c, const struct lw_alloc_key *k, const struct lw_alloc_val *v)
{
	struct block *b;

	if (v->flags & LW_ALLOC_USER) {
		corr_mem__user_seen(c, k); /* its stack is in c->user */
		return 0;
	}
	if (lw_vec_grow((void **)&c->live, &c->cap_live, c->nr_live + 1, sizeof(*c->live)))
		return -ENOMEM;
	b = &c->live[c->nr_live++];
	memset(b, 0, sizeof(*b));
	b->tgid = k->tgid;
	b->exec_gen = k->exec_gen;
	b->addr = k->addr;
	b->size = v->size;
	b->ts_ns = v->ts_ns;
	b->tid = v->tid;
	b->stack_id = v->stack_id;
	b->stack_lost = !!(v->flags & LW_ALLOC_STACK_LOST);
	return 0;
}

void corr_mem__user_seen(struct corr_mem *c, const struct lw_alloc_key *k)
{
	uint64_t *slot = hmap__get(c->user, user_key(k->tgid, k->exec_gen, k->addr));

	if (slot)
		((struct block *)(uintptr_t)*slot)->mark = c->mark + 1;
}

uint64_t corr_mem__user_sweep(struct corr_mem *c, uint32_t tgid, uint32_t gen, bool all)
{
	struct hmap_iter it = {0};
	uint64_t n = 0;

	while (hmap__next(c->user, &it)) {
		struct block *b = (struct block *)(uintptr_t)*it.val;

		if ((all || (b->tgid == tgid && b->exec_gen == gen)) && b->mark != c->mark + 1) {
			hmap__iter_del(c->user, &it);
			free(b);
			n++;
		}
	}
	c->mark++;
	c->swept += n;
	return n;
}

uint64_t corr_mem__swept(const struct corr_mem *c)
{
	return c->swept;
}

/* ---- reachability ---- */

int corr_mem__own_blocks(const struct corr_mem *c, uint32_t tgid, uint32_t gen,
			 int (*cb)(void *ctx, uint64_t addr, uint64_t size), void *ctx)
{
	struct hmap_iter it = {0};
	int err = 0;

	while (!err && hmap__next(c->user, &it)) {
		const struct block *b = (const struct block *)(uintptr_t)*it.val;

		if (b->tgid == tgid && b->exec_gen == gen)
			err = cb(ctx, b->addr, b->size);
	}
	for (size_t i = 0; i < c->nr_maps && !err; i++)
		if (c->maps[i].tgid == tgid && c->maps[i].exec_gen == gen)
			err = cb(ctx, c->maps[i].addr, c->maps[i].size);
	return err;
}

int corr_mem__set_class(struct corr_mem *c, uint32_t tgid, uint32_t gen, uint64_t addr,
			unsigned cls, uint64_t indirect_bytes, uint64_t indirect_count)
{
	bool added;
	uint64_t *slot;

	/* Reachable is what a scanned block without a verdict is: most blocks
	 * of a healthy process need no entry (a 1M-block scan made 1M of
	 * them), only one an earlier scan left needs overwriting.
	 */
	if (cls == LW_REACH_REACHABLE) {
		slot = hmap__get(c->verdicts, user_key(tgid, gen, addr));
		if (slot)
			c->verdict[*slot - 1] = (struct verdict){.cls = (uint8_t)cls};
		return 0;
	}
	slot = hmap__put(c->verdicts, user_key(tgid, gen, addr), &added);
	if (!slot)
		return -ENOMEM;
	if (added) {
		if (lw_vec_grow((void **)&c->verdict, &c->cap_verdict, c->nr_verdict + 1,
				sizeof(*c->verdict))) {
			hmap__del(c->verdicts, user_key(tgid, gen, addr), NULL);
			return -ENOMEM;
		}
		*slot = ++c->nr_verdict;
	}
	c->verdict[*slot - 1] = (struct verdict){.cls = (uint8_t)cls,
						 .indirect_bytes = indirect_bytes,
						 .indirect_count = indirect_count};
	return 0;
}

void corr_mem__scanned(struct corr_mem *c, uint32_t tgid, uint32_t gen)
{
	struct mproc *p = proc_get(c, tgid);

	if (p) {
		p->scanned = true;
		p->scan_gen = gen;
	}
}

int corr_mem__each_user_block(const struct corr_mem *c,
			      int (*cb)(void *ctx, const struct lw_ips *stack, uint64_t size),
			      void *ctx)
{
	struct hmap_iter it = {0};
	int err = 0;

	while (!err && hmap__next(c->user, &it)) {
		const struct block *b = (const struct block *)(uintptr_t)*it.val;

		err = cb(ctx, &b->stack, b->size);
	}
	return err;
}

void corr_mem__reachable(const struct corr_mem *c, uint64_t *blocks, uint64_t *bytes)
{
	*blocks = c->reachable_blocks;
	*bytes = c->reachable_bytes;
}

/* The block's class; a block of a scanned process that the scan did not
 * see was born after it (attach) and is not lost.
 */
static const struct verdict *block_verdict(const struct corr_mem *c, const struct block *b,
					   unsigned *cls)
{
	uint64_t *slot = hmap__get(c->procs, b->tgid);
	const struct mproc *p = slot ? (const struct mproc *)(uintptr_t)*slot : NULL;
	uint64_t *v;

	if (!p || !p->scanned || p->scan_gen != b->exec_gen) {
		*cls = CLS_UNSCANNED;
		return NULL;
	}
	v = hmap__get(c->verdicts, user_key(b->tgid, b->exec_gen, b->addr));
	if (!v) {
		*cls = LW_REACH_REACHABLE;
		return NULL;
	}
	*cls = c->verdict[*v - 1].cls;
	return &c->verdict[*v - 1];
}

/* ---- findings ---- */

struct group {
	uint32_t tgid;
	uint64_t key; /* stack id, or hash of a user-held stack */
	const struct lw_ips *stack;
	uint64_t bytes, count, oldest_ts;
	uint32_t tid;
	bool anon;    /* anonymous mappings: never merged with heap blocks */
	unsigned cls; /* lw_reach_class or CLS_UNSCANNED: never merged either */
	uint64_t indirect_bytes, indirect_count;
};

/* the BPF side's stack id, so groups of both sides merge */
static uint64_t ips_hash(const struct lw_ips *s)
{
	return lw_hash_ips(s->ips, s->nr, LW_STACK_MAX);
}

/* Does this block count as leaked at now_ns? */
static bool counts(struct corr_mem *c, const struct block *b, uint64_t now_ns, uint64_t *end)
{
	uint64_t *slot = hmap__get(c->procs, b->tgid);
	struct mproc *p = slot ? (struct mproc *)(uintptr_t)*slot : NULL;
	uint32_t gen = cur_gen(c, b->tgid);

	if (b->exec_gen != gen)
		return false; /* the image it belonged to was replaced by exec */
	*end = p && p->dead ? p->end_ns : now_ns;
	if (c->o.attach_mode) {
		if (p && p->dead)
			return false; /* exit freed it */
		return *end - b->ts_ns >= c->o.min_age_ns;
	}
	return true;
}

static int add_to_groups(struct group **gs, size_t *n, size_t *cap, const struct block *b,
			 uint64_t key, const struct lw_ips *stack, bool anon, unsigned cls,
			 const struct verdict *v)
{
	uint64_t ib = v ? v->indirect_bytes : 0, ic = v ? v->indirect_count : 0;

	for (size_t i = 0; i < *n; i++) {
		struct group *g = &(*gs)[i];

		if (g->tgid == b->tgid && g->key == key && g->anon == anon && g->cls == cls) {
			g->bytes += b->size;
			g->count++;
			g->indirect_bytes += ib;
			g->indirect_count += ic;
			if (b->ts_ns < g->oldest_ts) {
				g->oldest_ts = b->ts_ns;
				g->tid = b->tid;
			}
			return 0;
		}
	}
	if (lw_vec_grow((void **)gs, cap, *n + 1, sizeof(**gs)))
		return -ENOMEM;
	(*gs)[(*n)++] = (struct group){.tgid = b->tgid,
				       .key = key,
				       .stack = stack,
				       .bytes = b->size,
				       .count = 1,
				       .oldest_ts = b->ts_ns,
				       .tid = b->tid,
				       .anon = anon,
				       .cls = cls,
				       .indirect_bytes = ib,
				       .indirect_count = ic};
	return 0;
}

/* One block into its group, by class: still-reachable ones are only
 * counted unless asked for.
 */
static int add_block(struct corr_mem *c, struct group **gs, size_t *n, size_t *cap,
		     const struct block *b, uint64_t key, const struct lw_ips *stack, bool anon)
{
	unsigned cls;
	const struct verdict *v = block_verdict(c, b, &cls);

	if (cls == LW_REACH_REACHABLE) {
		c->reachable_blocks++;
		c->reachable_bytes += b->size;
		if (!c->o.show_reachable)
			return 0;
	}
	return add_to_groups(gs, n, cap, b, key, stack, anon, cls, v);
}

static int group_cmp(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->anon != b->anon)
		return a->anon ? 1 : -1;
	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	return a->key < b->key ? -1 : a->key > b->key;
}

static void fill_comm(const struct corr_mem *c, uint32_t tgid, char *comm)
{
	const struct lw_proc *p = c->o.proc ? c->o.proc(c->o.proc_ctx, tgid) : NULL;

	if (p)
		memcpy(comm, p->comm, LW_COMM_LEN);
}

/* valgrind's classes: definitely and indirectly lost are leaks; possibly
 * lost (only interior pointers) and still reachable are listed, not gating.
 */
static void set_kind(struct lw_finding *f, unsigned cls)
{
	switch (cls) {
	case LW_REACH_DEFINITE:
		f->kind = "mem-leak";
		f->cls = "definite";
		f->why = "no pointer to it is left in the process";
		break;
	case LW_REACH_INDIRECT:
		f->kind = "mem-leak";
		f->cls = "indirect";
		f->why = "pointed to only from lost blocks";
		break;
	case LW_REACH_POSSIBLE:
		f->kind = "mem-possibly-lost";
		f->cls = "possible";
		f->why = "only pointers into its middle are left";
		break;
	case LW_REACH_REACHABLE:
		f->kind = "mem-reachable";
		f->cls = "reachable";
		f->why = "a pointer chain from the process's roots reaches it";
		break;
	default:
		f->kind = "mem-leak";
		f->cls = "unscanned";
		f->why = "still allocated (the process was not held still to scan it)";
	}
}

static int emit_leaks(struct corr_mem *c, uint64_t now_ns, struct lw_findings *out)
{
	static const struct lw_ips no_stack;
	struct group *gs = NULL;
	size_t n = 0, cap = 0;
	struct hmap_iter it = {0};
	uint64_t end, max_end;
	int err = 0;

	c->reachable_blocks = c->reachable_bytes = 0;
	for (size_t i = 0; i < c->nr_live && !err; i++) {
		struct block *b = &c->live[i];
		uint64_t *s = hmap__get(c->stacks, b->stack_id);

		if (!counts(c, b, now_ns, &end))
			continue;
		err = add_block(c, &gs, &n, &cap, b, b->stack_id,
				s ? (const struct lw_ips *)(uintptr_t)*s : &no_stack, false);
	}
	while (!err && hmap__next(c->user, &it)) {
		struct block *b = (struct block *)(uintptr_t)*it.val;

		if (counts(c, b, now_ns, &end))
			err = add_block(c, &gs, &n, &cap, b, ips_hash(&b->stack), &b->stack, false);
	}
	/* still mapped: counted like blocks, but never sampled */
	for (size_t i = 0; i < c->nr_maps && !err; i++) {
		struct block *b = &c->maps[i];

		if (counts(c, b, now_ns, &end))
			err = add_block(c, &gs, &n, &cap, b, ips_hash(&b->stack), &b->stack, true);
	}
	if (n)
		qsort(gs, n, sizeof(*gs), group_cmp);
	for (size_t i = 0; i < n && !err; i++) {
		struct lw_finding *f = lw_findings__add(out);
		uint64_t *slot = hmap__get(c->procs, gs[i].tgid);
		uint32_t scale = gs[i].anon ? 1 : c->o.sample_every;

		if (!f) {
			err = -ENOMEM;
			break;
		}
		max_end = slot && ((struct mproc *)(uintptr_t)*slot)->dead
			      ? ((struct mproc *)(uintptr_t)*slot)->end_ns
			      : now_ns;
		set_kind(f, gs[i].cls);
		f->indirect_bytes = gs[i].indirect_bytes * scale;
		f->indirect_count = gs[i].indirect_count * scale;
		f->pid = gs[i].tgid;
		f->tid = gs[i].tid;
		fill_comm(c, gs[i].tgid, f->comm);
		f->count = gs[i].count * scale;
		f->bytes = gs[i].bytes * scale;
		f->age_ms = max_end > gs[i].oldest_ts ? (max_end - gs[i].oldest_ts) / 1000000 : 0;
		f->stack = *gs[i].stack;
		if (gs[i].anon)
			snprintf(f->resource, sizeof(f->resource), "anonymous mmap");
		else if (!gs[i].key)
			snprintf(
			    f->resource, sizeof(f->resource),
			    "stack lost: the allocation's record was dropped (event ring full)");
		else if (c->o.sample_every > 1)
			snprintf(f->resource, sizeof(f->resource), "estimated from 1 in %u blocks",
				 c->o.sample_every);
	}
	free(gs);
	return err;
}

static int emit_bad_frees(struct corr_mem *c, struct lw_findings *out)
{
	for (size_t i = 0; i < c->nr_bads; i++) {
		const struct lw_ev_mem_bad_free *ev = &c->bads[i].ev;
		struct lw_finding *f = lw_findings__add(out);
		uint64_t *s;

		if (!f)
			return -ENOMEM;
		f->kind = ev->kind == LW_BAD_FREE_DOUBLE ? "mem-double-free" : "mem-invalid-free";
		f->pid = ev->hdr.tgid;
		f->tid = ev->hdr.tid;
		fill_comm(c, ev->hdr.tgid, f->comm);
		f->count = 1;
		f->bytes = ev->size;
		/* a double free's age: how long the block had lived */
		if (ev->alloc_ts && ev->hdr.ts_ns > ev->alloc_ts)
			f->age_ms = (ev->hdr.ts_ns - ev->alloc_ts) / 1000000;
		snprintf(f->resource, sizeof(f->resource), "address 0x%llx%s",
			 (unsigned long long)ev->addr,
			 ev->call == LW_BAD_FREE_BY_REALLOC ? " passed to realloc" : "");
		f->stack = c->bads[i].stack;
		s = ev->alloc_stack_id ? hmap__get(c->stacks, ev->alloc_stack_id) : NULL;
		if (s) {
			f->extra[f->nr_extra].label = "allocated at";
			f->extra[f->nr_extra++].stack = *(const struct lw_ips *)(uintptr_t)*s;
		} else if (ev->kind == LW_BAD_FREE_DOUBLE) {
			const struct block *b =
			    recently_freed(c, ev->hdr.tgid, ev->exec_gen, ev->addr);

			if (b) {
				f->extra[f->nr_extra].label = "allocated at";
				f->extra[f->nr_extra++].stack = b->stack;
			}
		}
		if (ev->prev_free_caller) {
			struct lw_evidence *x = &f->extra[f->nr_extra++];

			x->label = "previously freed from";
			x->stack.nr = 1; /* a return address (no LW_STK_EXACT_PC) */
			x->stack.ips[0] = ev->prev_free_caller;
		}
	}
	return 0;
}

int corr_mem__finish(struct corr_mem *c, uint64_t now_ns, struct lw_findings *out)
{
	int err = emit_leaks(c, now_ns, out);

	return err ? err : emit_bad_frees(c, out);
}
