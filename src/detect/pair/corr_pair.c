// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pair correlator: replaying acquire, retain, release and destroy calls per process. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/vec.h"
#include "detect/pair/corr_pair_internal.h"

static void proc_clear(struct corr_pair *c, struct pproc *p)
{
	for (uint32_t r = 0; r < c->nres; r++) {
		hmap__free_ptrs(p->live[r]);
		p->live[r] = NULL;
	}
	hmap__free_ptrs(p->threads);
	p->threads = NULL;
}

void corr_pair__free(struct corr_pair *c)
{
	struct hmap_iter it = {0};

	if (!c)
		return;
	while (c->procs && hmap__next(c->procs, &it)) {
		struct pproc *p = (struct pproc *)(uintptr_t)*it.val;

		proc_clear(c, p);
		free(p->live);
		free(p);
	}
	hmap__free(c->procs);
	free(c->res_of);
	free(c->res_name);
	free(c->rec);
	free(c->unders);
	free(c);
}

struct corr_pair *corr_pair__new(const struct corr_pair_opts *opts)
{
	const struct lw_pair_spec *spec = opts->spec;
	size_t n = spec ? spec->n : 0;
	struct corr_pair *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->o = *opts;
	c->procs = hmap__new();
	c->res_of = calloc(n ? n : 1, sizeof(*c->res_of));
	c->res_name = calloc(n ? n : 1, sizeof(*c->res_name));
	if (!c->procs || !c->res_of || !c->res_name) {
		corr_pair__free(c);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t r;

		for (r = 0; r < c->nres && strcmp(c->res_name[r], spec->v[i].resource); r++)
			;
		if (r == c->nres)
			c->res_name[c->nres++] = spec->v[i].resource;
		c->res_of[i] = r;
	}
	return c;
}

static struct pproc *proc_get(struct corr_pair *c, uint32_t tgid)
{
	bool added;
	uint64_t *slot = hmap__put(c->procs, tgid, &added);
	struct pproc *p;

	if (!slot)
		return NULL;
	if (!added)
		return (struct pproc *)(uintptr_t)*slot;
	p = calloc(1, sizeof(*p));
	if (p)
		p->live = calloc(c->nres ? c->nres : 1, sizeof(*p->live));
	if (!p || !p->live) {
		free(p);
		hmap__del(c->procs, tgid, NULL);
		return NULL;
	}
	p->tgid = tgid;
	*slot = (uintptr_t)p;
	return p;
}

static struct pproc *proc_find(const struct corr_pair *c, uint32_t tgid)
{
	uint64_t *slot = hmap__get(c->procs, tgid);

	return slot ? (struct pproc *)(uintptr_t)*slot : NULL;
}

static int record(struct corr_pair *c, uint32_t tgid, uint32_t res, uint64_t end_ns,
		  const struct phandle *h)
{
	if (lw_vec_grow((void **)&c->rec, &c->cap_rec, c->nr_rec + 1, sizeof(*c->rec)))
		return -ENOMEM;
	c->rec[c->nr_rec++] =
	    (struct recorded){.tgid = tgid, .res = res, .end_ns = end_ns, .h = *h};
	return 0;
}

static void forget_ended(struct corr_pair *c, uint32_t tgid)
{
	for (size_t i = 0; i < LW_PAIR_ENDED_RING; i++)
		if (c->ended[i].tgid == tgid)
			c->ended[i].valid = false;
}

/* The image's handles are gone: leaks at end_ns when leaks is set. */
static int proc_end(struct corr_pair *c, struct pproc *p, bool leaks, uint64_t end_ns)
{
	int err = 0;

	for (uint32_t r = 0; r < c->nres && leaks; r++) {
		struct hmap_iter it = {0};

		while (!err && p->live[r] && hmap__next(p->live[r], &it))
			err = record(c, p->tgid, r, end_ns,
				     (const struct phandle *)(uintptr_t)*it.val);
	}
	proc_clear(c, p);
	forget_ended(c, p->tgid);
	return err;
}

int corr_pair__exec(struct corr_pair *c, uint32_t tgid)
{
	struct pproc *p = proc_get(c, tgid);

	if (!p)
		return -ENOMEM;
	p->inherited = false;
	return proc_end(c, p, !c->o.attach_mode, p->last_ts);
}

int corr_pair__exit(struct corr_pair *c, uint32_t tgid, uint64_t ts_ns)
{
	struct pproc *p = proc_get(c, tgid);

	if (!p)
		return -ENOMEM;
	p->inherited = false; /* a process that reuses the pid starts clean */
	return proc_end(c, p, !c->o.attach_mode, ts_ns);
}

int corr_pair__fork(struct corr_pair *c, uint32_t parent_tgid, uint32_t child_tgid)
{
	struct pproc *parent = proc_find(c, parent_tgid), *child = proc_get(c, child_tgid);

	if (!child)
		return -ENOMEM;
	(void)parent;
	child->inherited = true;
	return 0;
}

static void ips_copy(struct lw_ips *dst, const struct lw_ips *src)
{
	dst->nr = src->nr > LW_STACK_MAX ? LW_STACK_MAX : src->nr;
	dst->flags = src->flags;
	memcpy(dst->ips, src->ips, dst->nr * sizeof(dst->ips[0]));
	memset(dst->ips + dst->nr, 0, (LW_STACK_MAX - dst->nr) * sizeof(dst->ips[0]));
}

static struct pent entry(const struct lw_ev_pair *ev, const struct lw_ips *stack)
{
	struct pent e = {.ts = ev->hdr.ts_ns, .tid = ev->hdr.tid};

	ips_copy(&e.stack, stack);
	return e;
}

static struct phandle *handle_new(struct corr_pair *c, struct pproc *p, uint32_t res,
				  const struct lw_ev_pair *ev, const struct lw_ips *stack,
				  bool acquired)
{
	struct phandle *h;
	uint64_t *slot;

	if (!p->live[res] && !(p->live[res] = hmap__new()))
		return NULL;
	h = calloc(1, sizeof(*h));
	slot = h ? hmap__put(p->live[res], ev->handle, NULL) : NULL;
	if (!slot) {
		free(h);
		return NULL;
	}
	free((void *)(uintptr_t)*slot); /* 0 when new */
	h->handle = ev->handle;
	h->seq = ++c->seq;
	h->balance = 1;
	h->acquired = acquired;
	h->first = entry(ev, stack);
	if (!acquired) {
		h->retained = true;
		h->retain = h->first;
	}
	*slot = (uintptr_t)h;
	return h;
}

/* The handle is gone; remember how, for a later underflow's evidence. */
static void handle_end(struct corr_pair *c, struct pproc *p, uint32_t res, struct phandle *h,
		       uint32_t op, const struct lw_ips *stack)
{
	struct ended *e = &c->ended[c->ended_next++ % LW_PAIR_ENDED_RING];

	*e = (struct ended){
	    .valid = true, .tgid = p->tgid, .res = res, .op = op, .handle = h->handle};
	ips_copy(&e->stack, stack);
	e->created = h->first.stack;
	hmap__del(p->live[res], h->handle, NULL);
	free(h);
}

static int underflow(struct corr_pair *c, const struct lw_ev_pair *ev, uint32_t res,
		     const struct lw_ips *stack)
{
	struct under *u;

	if (lw_vec_grow((void **)&c->unders, &c->cap_unders, c->nr_unders + 1, sizeof(*c->unders)))
		return -ENOMEM;
	u = &c->unders[c->nr_unders++];
	*u = (struct under){.tgid = ev->hdr.tgid,
			    .tid = ev->hdr.tid,
			    .res = res,
			    .handle = ev->handle,
			    .seq = ++c->seq};
	ips_copy(&u->stack, stack);
	/* newest first: the release that ended the handle last */
	for (size_t i = 0; i < LW_PAIR_ENDED_RING; i++) {
		size_t k = (c->ended_next - 1 - i) % LW_PAIR_ENDED_RING;
		const struct ended *e = &c->ended[k];

		if (e->valid && e->tgid == u->tgid && e->res == res && e->handle == u->handle) {
			u->have_prev = true;
			u->prev_op = e->op;
			u->prev_stack = e->stack;
			u->acq_stack = e->created;
			break;
		}
	}
	return 0;
}

static struct tlast *thread_get(struct pproc *p, uint32_t tid)
{
	bool added;
	uint64_t *slot;
	struct tlast *t;

	if (!p->threads && !(p->threads = hmap__new()))
		return NULL;
	slot = hmap__put(p->threads, tid, &added);
	if (!slot)
		return NULL;
	if (!added)
		return (struct tlast *)(uintptr_t)*slot;
	t = calloc(1, sizeof(*t));
	if (!t) {
		hmap__del(p->threads, tid, NULL);
		return NULL;
	}
	*slot = (uintptr_t)t;
	return t;
}

int corr_pair__feed(struct corr_pair *c, const struct lw_ev_pair *ev, const struct lw_ips *stack)
{
	const struct lw_pair_spec *spec = c->o.spec;
	const struct lw_pair_rule *rule;
	struct tlast *t, prev;
	struct phandle *h;
	struct pproc *p;
	uint64_t *slot;
	uint32_t res;
	bool same, ended = false, unknown_ok;
	int err = 0;

	if (!spec || ev->rule >= spec->n)
		return -EINVAL;
	if (!ev->handle)
		return 0;
	rule = &spec->v[ev->rule];
	res = c->res_of[ev->rule];
	p = proc_get(c, ev->hdr.tgid);
	t = p ? thread_get(p, ev->hdr.tid) : NULL;
	if (!t)
		return -ENOMEM;
	if (ev->hdr.ts_ns > p->last_ts)
		p->last_ts = ev->hdr.ts_ns;
	slot = p->live[res] ? hmap__get(p->live[res], ev->handle) : NULL;
	h = slot ? (struct phandle *)(uintptr_t)*slot : NULL;
	prev = *t;
	same = prev.res == res && prev.handle == ev->handle;
	unknown_ok = c->o.attach_mode || p->inherited;

	switch (rule->op) {
	case LW_PAIR_ACQUIRE:
		if (h && same && prev.op == LW_PAIR_ACQUIRE && !prev.ended)
			break; /* a traced constructor inside another */
		if (h && !h->acquired) {
			/* references taken before the constructor returned */
			h->acquired = true;
			h->first = entry(ev, stack);
			h->balance++;
			break;
		}
		if (h && (err = record(c, p->tgid, res, ev->hdr.ts_ns, h)))
			break;
		if (!handle_new(c, p, res, ev, stack, true))
			err = -ENOMEM;
		break;
	case LW_PAIR_RETAIN:
		if (h) {
			h->balance++;
			h->retained = true;
			h->retain = entry(ev, stack);
		} else if (!unknown_ok && !handle_new(c, p, res, ev, stack, false)) {
			err = -ENOMEM;
		}
		break;
	case LW_PAIR_RELEASE:
		if (h && --h->balance == 0) {
			handle_end(c, p, res, h, rule->op, stack);
			ended = true;
		} else if (!h && !unknown_ok) {
			err = underflow(c, ev, res, stack);
		}
		break;
	case LW_PAIR_DESTROY:
		if (h) {
			handle_end(c, p, res, h, rule->op, stack);
			ended = true;
		} else if (same && prev.op == LW_PAIR_RELEASE && prev.ended) {
			/* the release ended it and calls the destroy itself */
		} else if (!unknown_ok) {
			err = underflow(c, ev, res, stack);
		}
		break;
	}
	*t = (struct tlast){.res = res, .op = rule->op, .handle = ev->handle, .ended = ended};
	return err;
}
