// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator, output side: groups what leaked (and what is still open)
 * by (pid, creation stack[, resource kind]) into findings and growth sites.
 * Tables are left as they are (only walk stamps change), so finish and sites
 * can run any number of times.
 */
#include <stdio.h>
#include <string.h>
#include "corr_fd_internal.h"

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

/* pid, stack, resource kind (when with_kind), then fd inside a group */
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
	if (a->fd != b->fd)
		return a->fd < b->fd ? -1 : 1;
	return a->rec->ts_ns < b->rec->ts_ns ? -1 : a->rec->ts_ns > b->rec->ts_ns;
}

struct group {
	size_t start, len;
};

/* Sort items and cut them into runs of one (pid, stack[, kind]). */
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
		    (!with_kind || a->res_kind == b->res_kind)) {
			(*gs)[*ng - 1].len++;
			continue;
		}
		if (grow((void **)gs, &cap, *ng + 1, sizeof(**gs)))
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
			it.fd = ent_fd(fi.key);
			if (age_ns(&it) < min_age)
				continue;
			if (grow((void **)v, cap, *n + 1, sizeof(**v)))
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

static int emit(struct corr_fd *c, const struct item *v, const struct group *g,
		struct lw_findings *out)
{
	const struct item *first = &v[g->start], *oldest = first;
	struct lw_finding *f = lw_findings__add(out);
	uint64_t *slot = hmap__get(c->procs, first->rec->tgid);
	const struct proc *p = slot ? (const struct proc *)(uintptr_t)*slot : NULL;

	if (!f)
		return -ENOMEM;
	for (size_t i = 1; i < g->len; i++)
		if (age_ns(&v[g->start + i]) > age_ns(oldest))
			oldest = &v[g->start + i];
	f->kind = "fd-leak";
	f->pid = first->rec->tgid;
	f->tid = oldest->rec->tid;
	if (p)
		memcpy(f->comm, p->comm, LW_COMM_LEN);
	f->fd = first->fd;
	snprintf(f->resource, sizeof(f->resource), "%s", first->rec->resource);
	f->count = g->len;
	f->age_ms = age_ns(oldest) / 1000000;
	f->nr_fds = g->len < LW_FINDING_FDS_MAX ? (unsigned)g->len : LW_FINDING_FDS_MAX;
	for (unsigned i = 0; i < f->nr_fds; i++)
		f->fds[i] = v[g->start + i].fd;
	f->stack = first->rec->stack->ips;
	return 0;
}

int corr_fd__finish(struct corr_fd *c, uint64_t now_ns, struct lw_findings *out)
{
	struct item *v = NULL;
	struct group *gs = NULL;
	size_t n = 0, cap = 0, ng = 0;
	uint64_t min_age;
	int err = 0;

	if (!c || !out)
		return -EINVAL;
	min_age = c->opts.attach_mode ? c->opts.min_age_ns : 0;
	for (size_t i = 0; i < c->nr_leaks && !err; i++) {
		if (age_ns(&c->leaks[i]) < min_age)
			continue;
		err = grow((void **)&v, &cap, n + 1, sizeof(*v));
		if (!err)
			v[n++] = c->leaks[i];
	}
	/* run mode: whoever is still alive exits now; nothing is changed, so
	 * finish can be called again later
	 */
	if (!err)
		err = collect_live(c, now_ns, min_age, &v, &n, &cap);
	if (!err)
		err = group_items(v, n, true, &gs, &ng);
	if (!err && ng)
		qsort_r(gs, ng, sizeof(*gs), group_cmp, v);
	for (size_t i = 0; i < ng && !err; i++)
		err = emit(c, v, &gs[i], out);
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
