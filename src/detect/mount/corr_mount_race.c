// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mount correlator: race rules (cross-namespace collisions, propagated umounts). */
#include "detect/mount/corr_mount_internal.h"

static bool race_errno(int32_t ret)
{
	return ret == -ENOENT || ret == -EINVAL || ret == -EBUSY;
}

struct rgroup *rgroup_get(struct corr_mount *c, int kind, const char *target, bool *added)
{
	struct rgroup *g;

	*added = false;
	for (size_t i = 0; i < c->nr_rg; i++)
		if (c->rg[i].kind == kind && !strcmp(c->rg[i].main.target, target))
			return &c->rg[i];
	if (c->nr_rg == LW_MNT_GROUPS_MAX)
		return NULL;
	g = grow((void **)&c->rg, c->nr_rg, &c->cap_rg, sizeof(*g));
	if (!g)
		return NULL;
	c->nr_rg++;
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	*added = true;
	return g;
}

/* x is about to join the ring: pair it with the closest operation on the
 * same target in another namespace within the window, when either failed
 * the way a lost race fails. Namespaces that share no propagation there
 * cannot collide: a mount made where its namespace is private (the fixed
 * seed-001 worker made / MS_REC|MS_PRIVATE first) pairs with nothing.
 */
int race_check(struct corr_mount *c, struct mop *x)
{
	struct mop *best = NULL, *fail, *other;
	uint64_t best_dt = 0;
	struct rgroup *g;
	bool added;

	if (x->isolated)
		return 0;
	for (size_t i = 0; i < LW_MNT_OPS_MAX; i++) {
		struct mop *y = &c->ops[i];
		uint64_t dt;

		if (!y->valid || !y->ns || y->ns == x->ns || y->isolated)
			continue;
		dt = y->ts > x->ts ? y->ts - x->ts : x->ts - y->ts;
		if (dt > c->o.race_window_ns || (!race_errno(x->ret) && !race_errno(y->ret)))
			continue;
		if (strcmp(y->target, x->target))
			continue;
		if (!best || dt < best_dt || (dt == best_dt && y->seq > best->seq)) {
			best = y;
			best_dt = dt;
		}
	}
	if (!best)
		return 0;
	/* the failing one is the evidence; when both failed, the earlier */
	if (!race_errno(x->ret) || (race_errno(best->ret) && best->ts <= x->ts))
		fail = best;
	else
		fail = x;
	other = fail == x ? best : x;
	g = rgroup_get(c, RACE_COLLISION, x->target, &added);
	if (!g)
		return c->nr_rg == LW_MNT_GROUPS_MAX ? 0 : -ENOMEM;
	if (added) {
		g->main = *fail;
		g->other = *other;
		g->gap = best_dt;
	}
	for (int i = 0; i < 2; i++) {
		struct mop *o = i ? best : x;

		if (race_errno(o->ret) && !o->counted) {
			g->count++;
			o->counted = true;
		}
	}
	return 0;
}

static const char *op_name(uint32_t nr)
{
	switch (nr) {
	case LW_NR_mount:
		return "mount";
	case LW_NR_umount2:
		return "umount2";
	case LW_NR_move_mount:
		return "move_mount";
	}
	return "mount call";
}

static const char *ret_name(int32_t ret, char *buf, size_t size)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {{ENOENT, "ENOENT"}, {EINVAL, "EINVAL"},   {EBUSY, "EBUSY"},
		     {EPERM, "EPERM"},	 {EACCES, "EACCES"},   {ENOTDIR, "ENOTDIR"},
		     {ENODEV, "ENODEV"}, {EEXIST, "EEXIST"},   {ENOMEM, "ENOMEM"},
		     {ELOOP, "ELOOP"},	 {ENOTBLK, "ENOTBLK"}, {EROFS, "EROFS"}};

	if (ret == 0)
		return "ok";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (-ret == names[i].err)
			return names[i].name;
	snprintf(buf, size, "errno %d", -ret);
	return buf;
}

static void gap_text(uint64_t gap, char *buf, size_t size)
{
	if (gap < MS_NS)
		snprintf(buf, size, "%llu us", (unsigned long long)(gap / 1000));
	else
		snprintf(buf, size, "%llu ms", (unsigned long long)(gap / MS_NS));
}

int race_finding(const struct rgroup *g, struct lw_findings *out)
{
	struct lw_finding *f = lw_findings__add(out);
	char b1[24], b2[24], gap[32];
	const struct mop *a, *b;

	if (!f)
		return -ENOMEM;
	finding_from(f, "mount-race", g->main.tgid, g->main.tid, g->main.comm, &g->main.stack);
	f->count = g->count;
	f->nr_extra = 1;
	if (g->kind == RACE_PROPAGATED_UMOUNT) {
		fmt(f->resource, sizeof(f->resource),
		    "%s: umount2 in ns %u (pid %u) removed a mount made in ns %u (pid %u): "
		    "host umount2 of a propagated mount",
		    g->main.target, g->main.ns, g->main.tgid, g->made.src_ns, g->made.tgid);
		f->extra[0].label = "propagated mount made at";
		f->extra[0].stack = g->made.stack;
		return 0;
	}
	a = &g->main;
	b = &g->other;
	if (b->ts < a->ts || (b->ts == a->ts && b->seq < a->seq)) {
		a = &g->other;
		b = &g->main;
	}
	gap_text(g->gap, gap, sizeof(gap));
	fmt(f->resource, sizeof(f->resource),
	    "%s: %s in ns %u (pid %u, %s) then %s in ns %u (pid %u, %s) %s apart", g->main.target,
	    op_name(a->nr), a->ns, a->tgid, ret_name(a->ret, b1, sizeof(b1)), op_name(b->nr), b->ns,
	    b->tgid, ret_name(b->ret, b2, sizeof(b2)), gap);
	f->age_ms = g->gap / MS_NS;
	f->extra[0].label = "colliding operation at";
	f->extra[0].stack = g->other.stack;
	return 0;
}
