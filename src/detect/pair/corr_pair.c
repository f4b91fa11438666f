// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/vec.h"
#include "detect/pair/corr_pair.h"
#include "base/hmap.h"

/* One call that made or kept a reference. */
struct pent {
	uint64_t ts;
	uint32_t tid;
	struct lw_ips stack;
};

struct phandle {
	uint64_t handle;
	uint64_t seq; /* creation order: ties and "first handle" */
	uint64_t balance;
	bool acquired; /* else known from a retain of an untraced creation */
	bool retained;
	struct pent first;  /* creation */
	struct pent retain; /* newest retain */
};

/* The last pair call of a thread: tells nested calls from real ones. */
struct tlast {
	uint32_t res;
	uint32_t op;
	uint64_t handle;
	bool ended; /* that call ended the handle */
};

struct pproc {
	uint32_t tgid;
	bool inherited; /* forked, not exec'd: holds handles we never saw */
	uint64_t last_ts;
	struct hmap **live;   /* [resource]: handle → struct phandle *, lazily */
	struct hmap *threads; /* tid → struct tlast * */
};

/* A handle leaked before finish: lost to address reuse, exit or exec. */
struct recorded {
	uint32_t tgid;
	uint32_t res;
	uint64_t end_ns;
	struct phandle h;
};

struct under {
	uint32_t tgid, tid;
	uint32_t res;
	uint64_t handle, seq;
	struct lw_ips stack;
	bool have_prev; /* the handle ended recently: prev_* and acq_stack are set */
	uint32_t prev_op;
	struct lw_ips prev_stack, acq_stack;
};

#define LW_PAIR_ENDED_RING 64 /* recently ended handles, for underflow evidence */

struct ended {
	bool valid;
	uint32_t tgid, res, op;
	uint64_t handle;
	struct lw_ips stack; /* the call that ended it */
	struct lw_ips created;
};

struct corr_pair {
	struct corr_pair_opts o;
	uint32_t *res_of;      /* rule → resource index */
	const char **res_name; /* resource index → name (in the spec) */
	uint32_t nres;
	uint64_t seq;
	struct hmap *procs; /* tgid → struct pproc * */
	struct recorded *rec;
	size_t nr_rec, cap_rec;
	struct under *unders;
	size_t nr_unders, cap_unders;
	struct ended ended[LW_PAIR_ENDED_RING];
	size_t ended_next;
};

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

/* ---- findings ---- */

struct cand {
	uint32_t tgid, res;
	uint64_t end_ns;
	const struct phandle *h;
};

static int ips_cmp(const struct lw_ips *a, const struct lw_ips *b)
{
	if (a->nr != b->nr)
		return a->nr < b->nr ? -1 : 1;
	for (uint32_t i = 0; i < a->nr && i < LW_STACK_MAX; i++)
		if (a->ips[i] != b->ips[i])
			return a->ips[i] < b->ips[i] ? -1 : 1;
	return 0;
}

/* by pid, then resource name (not index: the order must not depend on the
 * order of the spec's lines)
 */
static int key_cmp(const char **names, uint32_t ta, uint32_t ra, uint32_t tb, uint32_t rb)
{
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return ra == rb ? 0 : strcmp(names[ra], names[rb]);
}

static int cand_cmp(const void *pa, const void *pb, void *names)
{
	const struct cand *a = pa, *b = pb;
	int d = key_cmp(names, a->tgid, a->res, b->tgid, b->res);

	if (!d)
		d = ips_cmp(&a->h->first.stack, &b->h->first.stack);
	if (!d)
		d = a->h->seq < b->h->seq ? -1 : a->h->seq > b->h->seq;
	return d;
}

/* A group is a run [start, start + n) of sorted candidates or underflows. */
struct run {
	size_t start, n;
};

struct run_ctx {
	const char **names;
	const void *v; /* struct cand or struct under array */
};

static int cand_run_cmp(const void *pa, const void *pb, void *arg)
{
	const struct run_ctx *x = arg;
	const struct cand *a = (const struct cand *)x->v + ((const struct run *)pa)->start;
	const struct cand *b = (const struct cand *)x->v + ((const struct run *)pb)->start;
	int d = key_cmp(x->names, a->tgid, a->res, b->tgid, b->res);

	if (!d && a->h->handle != b->h->handle)
		d = a->h->handle < b->h->handle ? -1 : 1;
	if (!d)
		d = a->h->seq < b->h->seq ? -1 : a->h->seq > b->h->seq;
	return d;
}

static void fill_comm(const struct corr_pair *c, uint32_t tgid, char *comm)
{
	const struct lw_proc *p = c->o.proc ? c->o.proc(c->o.proc_ctx, tgid) : NULL;

	if (p)
		memcpy(comm, p->comm, LW_COMM_LEN);
}

static int emit_leak(struct corr_pair *c, const struct cand *v, size_t n, struct lw_findings *out)
{
	const struct phandle *h = v[0].h, *newest = NULL;
	struct lw_finding *f = lw_findings__add(out);
	uint64_t age = 0;

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct phandle *m = v[i].h;

		if (v[i].end_ns > m->first.ts && v[i].end_ns - m->first.ts > age)
			age = v[i].end_ns - m->first.ts;
		if (m->retained && (!newest || m->retain.ts > newest->retain.ts ||
				    (m->retain.ts == newest->retain.ts && m->seq > newest->seq)))
			newest = m;
	}
	f->kind = "pair-leak";
	f->pid = v[0].tgid;
	f->tid = h->first.tid;
	fill_comm(c, v[0].tgid, f->comm);
	f->count = n;
	f->age_ms = age / 1000000;
	snprintf(f->resource, sizeof(f->resource), "%s (balance +%llu)", c->res_name[v[0].res],
		 (unsigned long long)h->balance);
	f->stack = h->first.stack;
	if (newest) {
		f->extra[0].label = "last retained at";
		f->extra[0].stack = newest->retain.stack;
		f->nr_extra = 1;
	}
	return 0;
}

static int emit_leaks(struct corr_pair *c, uint64_t now_ns, struct lw_findings *out)
{
	struct cand *v = NULL;
	struct run *runs = NULL;
	size_t n = 0, cap = 0, nr_runs = 0, cap_runs = 0;
	struct hmap_iter pit = {0};
	int err = 0;

	for (size_t i = 0; i < c->nr_rec && !err; i++) {
		err = lw_vec_grow((void **)&v, &cap, n + 1, sizeof(*v));
		if (!err)
			v[n++] = (struct cand){c->rec[i].tgid, c->rec[i].res, c->rec[i].end_ns,
					       &c->rec[i].h};
	}
	while (!err && hmap__next(c->procs, &pit)) {
		struct pproc *p = (struct pproc *)(uintptr_t)*pit.val;

		for (uint32_t r = 0; r < c->nres && !err; r++) {
			struct hmap_iter it = {0};

			while (!err && p->live[r] && hmap__next(p->live[r], &it)) {
				const struct phandle *h =
				    (const struct phandle *)(uintptr_t)*it.val;

				if (c->o.attach_mode && (now_ns < h->first.ts ||
							 now_ns - h->first.ts < c->o.min_age_ns))
					continue;
				err = lw_vec_grow((void **)&v, &cap, n + 1, sizeof(*v));
				if (!err)
					v[n++] = (struct cand){p->tgid, r, now_ns, h};
			}
		}
	}
	if (!err && n)
		qsort_r(v, n, sizeof(*v), cand_cmp, c->res_name);
	for (size_t i = 0; i < n && !err; i++) {
		if (nr_runs &&
		    !key_cmp(c->res_name, v[i].tgid, v[i].res, v[i - 1].tgid, v[i - 1].res) &&
		    !ips_cmp(&v[i].h->first.stack, &v[i - 1].h->first.stack)) {
			runs[nr_runs - 1].n++;
			continue;
		}
		err = lw_vec_grow((void **)&runs, &cap_runs, nr_runs + 1, sizeof(*runs));
		if (!err)
			runs[nr_runs++] = (struct run){i, 1};
	}
	if (!err && nr_runs)
		qsort_r(runs, nr_runs, sizeof(*runs), cand_run_cmp,
			&(struct run_ctx){c->res_name, v});
	for (size_t i = 0; i < nr_runs && !err; i++)
		err = emit_leak(c, v + runs[i].start, runs[i].n, out);
	free(runs);
	free(v);
	return err;
}

static int under_cmp(const void *pa, const void *pb, void *names)
{
	const struct under *a = pa, *b = pb;
	int d = key_cmp(names, a->tgid, a->res, b->tgid, b->res);

	if (!d)
		d = ips_cmp(&a->stack, &b->stack);
	if (!d)
		d = a->seq < b->seq ? -1 : a->seq > b->seq;
	return d;
}

static int under_run_cmp(const void *pa, const void *pb, void *arg)
{
	const struct run_ctx *x = arg;
	const struct under *a = (const struct under *)x->v + ((const struct run *)pa)->start;
	const struct under *b = (const struct under *)x->v + ((const struct run *)pb)->start;
	int d = key_cmp(x->names, a->tgid, a->res, b->tgid, b->res);

	return d ? d : a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int emit_underflows(struct corr_pair *c, struct lw_findings *out)
{
	struct under *v = c->unders;
	struct run *runs = NULL;
	size_t nr_runs = 0, cap_runs = 0;
	int err = 0;

	if (c->nr_unders)
		qsort_r(v, c->nr_unders, sizeof(*v), under_cmp, c->res_name);
	for (size_t i = 0; i < c->nr_unders && !err; i++) {
		if (nr_runs &&
		    !key_cmp(c->res_name, v[i].tgid, v[i].res, v[i - 1].tgid, v[i - 1].res) &&
		    !ips_cmp(&v[i].stack, &v[i - 1].stack)) {
			runs[nr_runs - 1].n++;
			continue;
		}
		err = lw_vec_grow((void **)&runs, &cap_runs, nr_runs + 1, sizeof(*runs));
		if (!err)
			runs[nr_runs++] = (struct run){i, 1};
	}
	if (!err && nr_runs)
		qsort_r(runs, nr_runs, sizeof(*runs), under_run_cmp,
			&(struct run_ctx){c->res_name, v});
	for (size_t i = 0; i < nr_runs && !err; i++) {
		const struct under *u = &v[runs[i].start];
		struct lw_finding *f = lw_findings__add(out);

		if (!f) {
			err = -ENOMEM;
			break;
		}
		f->kind = "pair-underflow";
		f->pid = u->tgid;
		f->tid = u->tid;
		fill_comm(c, u->tgid, f->comm);
		f->count = runs[i].n;
		snprintf(f->resource, sizeof(f->resource), "%s handle 0x%llx", c->res_name[u->res],
			 (unsigned long long)u->handle);
		f->stack = u->stack;
		if (u->have_prev) {
			f->extra[0].label = u->prev_op == LW_PAIR_DESTROY
						? "previously destroyed at"
						: "previously released at";
			f->extra[0].stack = u->prev_stack;
			f->extra[1].label = "acquired at";
			f->extra[1].stack = u->acq_stack;
			f->nr_extra = 2;
		}
	}
	free(runs);
	return err;
}

int corr_pair__finish(struct corr_pair *c, uint64_t now_ns, struct lw_findings *out)
{
	int err = emit_leaks(c, now_ns, out);

	return err ? err : emit_underflows(c, out);
}
