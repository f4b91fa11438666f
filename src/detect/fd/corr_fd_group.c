// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator, output side: groups what leaked (and what is still open)
 * by (pid, creation stack[, resource kind, leak kind]) into findings and
 * growth sites, and keeps the event findings (double close, inherited fds,
 * fds lost in flight) grouped as they come. Tables are left as they are (only walk stamps
 * change), so finish and sites can run any number of times.
 */
#include <stdio.h>
#include <string.h>
#include "detect/fd/corr_fd_internal.h"

static int stk_cmp(const struct stk *a, const struct stk *b)
{
	if (a == b)
		return 0;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	if (a->ips.nr != b->ips.nr)
		return a->ips.nr < b->ips.nr ? -1 : 1;
	return memcmp(a->ips.ips, b->ips.ips, a->ips.nr * sizeof(a->ips.ips[0]));
}

static int str_cmp(const char *a, const char *b)
{
	if (a == b)
		return 0;
	if (!a || !b)
		return a ? 1 : -1;
	return strcmp(a, b);
}

/* What the items are reported as: kind, class, evidence (live_classify). */
static int class_cmp(const struct item *a, const struct item *b)
{
	int d = str_cmp(a->kind, b->kind);

	if (!d)
		d = str_cmp(a->cls, b->cls);
	return d ? d : str_cmp(a->why, b->why);
}

/* pid, stack, resource kind and class (when with_kind), then fd inside a group */
static int item_cmp(const void *pa, const void *pb, void *with_kind)
{
	const struct item *a = pa, *b = pb;
	int d;

	if (a->rec->tgid != b->rec->tgid)
		return a->rec->tgid < b->rec->tgid ? -1 : 1;
	if ((d = stk_cmp(a->rec->stack, b->rec->stack)))
		return d;
	if (with_kind && a->rec->res_kind != b->rec->res_kind)
		return a->rec->res_kind < b->rec->res_kind ? -1 : 1;
	if (with_kind && (d = class_cmp(a, b)))
		return d;
	if (a->fd != b->fd)
		return a->fd < b->fd ? -1 : 1;
	return a->rec->ts_ns < b->rec->ts_ns ? -1 : a->rec->ts_ns > b->rec->ts_ns;
}

struct group {
	size_t start, len;
};

/* Sort items and cut them into runs of one (pid, stack[, kinds]). */
static int group_items(struct item *v, size_t n, bool with_kind, struct group **gs, size_t *ng)
{
	size_t cap = 0;

	*gs = NULL;
	*ng = 0;
	if (n)
		qsort_r(v, n, sizeof(*v), item_cmp, with_kind ? (void *)1 : NULL);
	for (size_t i = 0; i < n; i++) {
		const struct rec *a = i ? v[i - 1].rec : NULL, *b = v[i].rec;

		if (a && a->tgid == b->tgid && a->stack == b->stack &&
		    (!with_kind || (a->res_kind == b->res_kind && !class_cmp(&v[i - 1], &v[i])))) {
			(*gs)[*ng - 1].len++;
			continue;
		}
		if (lw_vec_grow((void **)gs, &cap, *ng + 1, sizeof(**gs)))
			return -ENOMEM;
		(*gs)[(*ng)++] = (struct group){.start = i, .len = 1};
	}
	return 0;
}

/* Leak candidates still open in live tables, each creation once. */
static int collect_live(struct corr_fd *c, uint64_t now_ns, uint64_t min_age, struct item **v,
			size_t *n, size_t *cap)
{
	uint64_t gen = ++c->gen;
	struct hmap_iter pi = {0};

	while (hmap__next(c->procs, &pi)) {
		struct proc *p = (struct proc *)(uintptr_t)*pi.val;
		struct fdtab *t = p ? p->tab : NULL; /* NULL: its calloc failed */
		struct hmap_iter fi = {0};

		if (!t || t->gen == gen)
			continue;
		t->gen = gen;
		while (hmap__next(t->fds, &fi)) {
			struct item it = {.rec = ent_rec(*fi.val), .end_ns = now_ns};

			if (!leak_candidate(t, fi.key, *fi.val) || it.rec->gen == gen)
				continue;
			it.rec->gen = gen;
			it.rec->uring |= t->uring;
			it.fd = ent_fd(fi.key);
			if (age_ns(&it) < min_age)
				continue;
			if (lw_vec_grow((void **)v, cap, *n + 1, sizeof(**v)))
				return -ENOMEM;
			(*v)[(*n)++] = it;
		}
	}
	return 0;
}

/* Findings come out by pid, then smallest fd. */
static int group_cmp(const void *pa, const void *pb, void *items)
{
	const struct group *a = pa, *b = pb;
	const struct item *x = (const struct item *)items + a->start;
	const struct item *y = (const struct item *)items + b->start;

	if (x->rec->tgid != y->rec->tgid)
		return x->rec->tgid < y->rec->tgid ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	return a->start < b->start ? -1 : 1;
}

static void add_extra(struct lw_finding *f, const char *label, const struct stk *s)
{
	if (!s || f->nr_extra >= LW_FINDING_EXTRA_MAX)
		return;
	f->extra[f->nr_extra].label = label;
	f->extra[f->nr_extra++].stack = s->ips;
}

static struct lw_finding *finding_new(struct corr_fd *c, struct lw_findings *out, uint32_t tgid)
{
	struct lw_finding *f = lw_findings__add(out);
	const struct lw_proc *p = f && c->opts.proc ? c->opts.proc(c->opts.proc_ctx, tgid) : NULL;

	if (p)
		memcpy(f->comm, p->comm, LW_COMM_LEN);
	if (f)
		f->pid = tgid;
	return f;
}

static int emit(struct corr_fd *c, const struct item *v, const struct group *g,
		struct lw_findings *out)
{
	const struct item *first = &v[g->start], *oldest = first;
	struct lw_finding *f = finding_new(c, out, first->rec->tgid);
	const struct rec *r = first->rec;
	char from[64];

	if (!f)
		return -ENOMEM;
	for (size_t i = 1; i < g->len; i++)
		if (age_ns(&v[g->start + i]) > age_ns(oldest))
			oldest = &v[g->start + i];
	f->kind = first->kind;
	f->cls = first->cls;
	f->why = first->why;
	f->tid = oldest->rec->tid;
	f->fd = first->fd;
	snprintf(f->resource, sizeof(f->resource), "%s", r->resource);
	f->count = g->len;
	f->age_ms = age_ns(oldest) / 1000000;
	f->nr_fds = g->len < LW_FINDING_FDS_MAX ? (unsigned)g->len : LW_FINDING_FDS_MAX;
	for (unsigned i = 0; i < f->nr_fds; i++)
		f->fds[i] = v[g->start + i].fd;
	f->stack = r->stack->ips;
	add_extra(f, "send failed at", r->send_failed);
	if (r->from_stack) {
		/* labels are static strings: who sent it goes in the resource */
		add_extra(f, "sent with SCM_RIGHTS at", r->from_stack);
		snprintf(from, sizeof(from), " (received from pid %u fd %d)", r->from_tgid,
			 r->from_fd);
		res_suffix(f->resource, sizeof(f->resource), from);
	}
	if (r->uring)
		res_suffix(f->resource, sizeof(f->resource),
			   " (process used io_uring: IORING_OP_CLOSE is not traced)");
	return 0;
}

/* ---- event findings ---- */

static bool xgroup_same(const struct xgroup *a, const struct xgroup *b)
{
	return a->tgid == b->tgid && a->stack == b->stack && !strcmp(a->kind, b->kind) &&
	       !strcmp(a->filename, b->filename);
}

/* Keep fds distinct and ascending; a full array keeps the smallest. */
static void xgroup_fd(struct xgroup *x, int fd)
{
	unsigned i = 0, last;

	while (i < x->nr_fds && x->fds[i] < fd)
		i++;
	if ((i < x->nr_fds && x->fds[i] == fd) || i == LW_FINDING_FDS_MAX)
		return;
	last = x->nr_fds < LW_FINDING_FDS_MAX ? x->nr_fds : LW_FINDING_FDS_MAX - 1;
	memmove(&x->fds[i + 1], &x->fds[i], (last - i) * sizeof(x->fds[0]));
	x->fds[i] = fd;
	if (x->nr_fds < LW_FINDING_FDS_MAX)
		x->nr_fds++;
}

int xgroup_add(struct corr_fd *c, const struct xgroup *g)
{
	uint64_t h = fnv1a(FNV_BASIS, g->kind, strlen(g->kind));
	struct xgroup *x;

	h = fnv1a(h, &g->tgid, sizeof(g->tgid));
	h = fnv1a(h, &g->stack->hash, sizeof(g->stack->hash));
	h = fnv1a(h, g->filename, strlen(g->filename));
	/* a 64-bit collision between different groups probes the next key */
	for (uint64_t key = h;; key++) {
		uint64_t *v = hmap__put(c->xg_index, key, NULL);

		if (!v)
			return -ENOMEM;
		if (*v && !xgroup_same(&c->xgroups[*v - 1], g))
			continue;
		x = *v ? &c->xgroups[*v - 1] : NULL;
		if (!x) {
			if (lw_vec_grow((void **)&c->xgroups, &c->cap_xgroups, c->nr_xgroups + 1,
					sizeof(*c->xgroups))) {
				hmap__del(c->xg_index, key, NULL);
				return -ENOMEM;
			}
			x = &c->xgroups[c->nr_xgroups++];
			*x = *g;
			x->count = 0;
			x->nr_fds = 0;
			*v = c->nr_xgroups;
		} else if (g->fd < x->fd) {
			/* the smallest fd speaks for the group, as for leaks */
			x->fd = g->fd;
			x->tid = g->tid;
			x->nr_extra = g->nr_extra;
			memcpy(x->labels, g->labels, sizeof(x->labels));
			memcpy(x->extra, g->extra, sizeof(x->extra));
			memcpy(x->resource, g->resource, sizeof(x->resource));
		}
		x->count += g->count ? g->count : 1;
		xgroup_fd(x, g->fd);
		return 0;
	}
}

void xgroup_free(struct corr_fd *c)
{
	free(c->xgroups);
	hmap__free(c->xg_index);
	c->xgroups = NULL;
	c->xg_index = NULL;
	c->nr_xgroups = c->cap_xgroups = 0;
}

static int emit_xgroup(struct corr_fd *c, const struct xgroup *x, struct lw_findings *out)
{
	struct lw_finding *f = finding_new(c, out, x->tgid);

	if (!f)
		return -ENOMEM;
	f->kind = x->kind;
	f->tid = x->tid;
	f->fd = x->fd;
	memcpy(f->resource, x->resource, sizeof(f->resource));
	f->count = x->count;
	f->nr_fds = x->nr_fds;
	memcpy(f->fds, x->fds, sizeof(f->fds));
	f->stack = x->stack->ips;
	for (unsigned i = 0; i < x->nr_extra; i++)
		add_extra(f, x->labels[i], x->extra[i]);
	return 0;
}

/* kind, pid, fd; then the stack and resource so ties come out the same way */
static int finding_cmp(const void *pa, const void *pb)
{
	const struct lw_finding *a = pa, *b = pb;
	int d = strcmp(a->kind, b->kind);

	if (d)
		return d;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->fd != b->fd)
		return a->fd < b->fd ? -1 : 1;
	if (a->stack.nr != b->stack.nr)
		return a->stack.nr < b->stack.nr ? -1 : 1;
	d = memcmp(a->stack.ips, b->stack.ips, a->stack.nr * sizeof(a->stack.ips[0]));
	return d ? d : strcmp(a->resource, b->resource);
}

int corr_fd__finish(struct corr_fd *c, uint64_t now_ns, struct lw_findings *out)
{
	struct item *v = NULL;
	struct group *gs = NULL;
	size_t n = 0, cap = 0, ng = 0, start;
	uint64_t min_age;
	int err = 0;

	if (!c || !out)
		return -EINVAL;
	start = out->n;
	min_age = c->opts.attach_mode ? c->opts.min_age_ns : 0;
	for (size_t i = 0; i < c->nr_leaks && !err; i++) {
		if (age_ns(&c->leaks[i]) < min_age)
			continue;
		err = lw_vec_grow((void **)&v, &cap, n + 1, sizeof(*v));
		if (!err)
			v[n++] = c->leaks[i];
	}
	/* run mode: whoever is still alive exits now; nothing is changed, so
	 * finish can be called again later
	 */
	if (!err)
		err = collect_live(c, now_ns, min_age, &v, &n, &cap);
	for (size_t i = 0; i < n && !err; i++)
		live_classify(c, &v[i]);
	if (!err)
		err = group_items(v, n, true, &gs, &ng);
	if (!err && ng)
		qsort_r(gs, ng, sizeof(*gs), group_cmp, v);
	for (size_t i = 0; i < ng && !err; i++)
		err = emit(c, v, &gs[i], out);
	/* events: both modes, whatever their age */
	for (size_t i = 0; i < c->nr_xgroups && !err; i++)
		err = emit_xgroup(c, &c->xgroups[i], out);
	if (!err && out->n - start > 1)
		qsort(out->v + start, out->n - start, sizeof(out->v[0]), finding_cmp);
	free(gs);
	free(v);
	return err;
}

static int site_cmp(const void *pa, const void *pb)
{
	const struct corr_fd_site *a = pa, *b = pb;

	if (a->live != b->live)
		return a->live > b->live ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->key < b->key ? -1 : a->key > b->key;
}

uint64_t corr_fd__site_key(uint32_t pid, const struct lw_ips *stack)
{
	uint32_t nr = stack->nr > LW_STACK_MAX ? LW_STACK_MAX : stack->nr;

	return fnv1a(fnv1a(FNV_BASIS, &pid, sizeof(pid)), stack->ips, nr * sizeof(stack->ips[0]));
}

int corr_fd__sites(struct corr_fd *c, struct corr_fd_site *sites, int max)
{
	struct corr_fd_site *all = NULL;
	struct group *gs = NULL;
	struct item *v = NULL;
	size_t n = 0, cap = 0, ng = 0;
	int err;

	if (!c || max < 0 || (max && !sites))
		return -EINVAL;
	err = collect_live(c, 0, 0, &v, &n, &cap);
	if (!err)
		err = group_items(v, n, false, &gs, &ng);
	if (!err && ng && !(all = calloc(ng, sizeof(*all))))
		err = -ENOMEM;
	for (size_t i = 0; i < ng && !err; i++) {
		const struct rec *r = v[gs[i].start].rec;

		all[i].key = corr_fd__site_key(r->tgid, &r->stack->ips);
		all[i].pid = r->tgid;
		all[i].live = gs[i].len;
		all[i].stack = r->stack->ips;
		snprintf(all[i].resource, sizeof(all[i].resource), "%s", r->resource);
	}
	if (!err && ng) {
		/* the biggest sites first, so a short array keeps what matters */
		qsort(all, ng, sizeof(*all), site_cmp);
		n = ng < (size_t)max ? ng : (size_t)max;
		memcpy(sites, all, n * sizeof(*all));
	}
	free(all);
	free(gs);
	free(v);
	return err ? err : ng ? (int)n : 0;
}
