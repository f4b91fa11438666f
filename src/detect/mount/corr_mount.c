// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mount correlator: namespaces, the mounts we believe exist, propagation leaks and leftovers. */
#include "detect/mount/corr_mount_internal.h"

struct corr_mount *corr_mount__new(const struct corr_mount_opts *opts)
{
	struct corr_mount *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (opts)
		c->o = *opts;
	if (!c->o.race_window_ns)
		c->o.race_window_ns = 2000 * MS_NS;
	c->procs = hmap__new();
	c->nss = hmap__new();
	c->ops = calloc(LW_MNT_OPS_MAX, sizeof(*c->ops));
	if (!c->procs || !c->nss || !c->ops) {
		corr_mount__free(c);
		return NULL;
	}
	return c;
}

static void map_free(struct hmap *m)
{
	struct hmap_iter it = {0};

	while (m && hmap__next(m, &it))
		free((void *)(uintptr_t)*it.val);
	hmap__free(m);
}

void corr_mount__free(struct corr_mount *c)
{
	if (!c)
		return;
	map_free(c->procs);
	map_free(c->nss);
	free(c->ops);
	free(c->mounts);
	free(c->pg);
	free(c->rg);
	free(c);
}

/* "/r/proc/" and "/r/proc" name one mount point; "/" stays "/". */
static void norm_path(char *dst, const char *src)
{
	size_t len = strnlen(src, LW_NAME_MAX - 1);

	while (len > 1 && src[len - 1] == '/')
		len--;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static bool beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/' && path[1];
	return !strncmp(path, dir, n) && path[n] == '/';
}

static void *map_obj(struct hmap *m, uint64_t key)
{
	uint64_t *v = hmap__get(m, key);

	return v ? (void *)(uintptr_t)*v : NULL;
}

/* The map's object for key, a zeroed new one when absent; NULL on ENOMEM. */
static void *map_obj_get(struct hmap *m, uint64_t key, size_t size)
{
	void *o = map_obj(m, key);
	uint64_t *v;

	if (o)
		return o;
	o = calloc(1, size);
	if (!o)
		return NULL;
	v = hmap__put(m, key, NULL);
	if (!v) {
		free(o);
		return NULL;
	}
	*v = (uintptr_t)o;
	return o;
}

static void mount_del(struct corr_mount *c, size_t i)
{
	memmove(&c->mounts[i], &c->mounts[i + 1], (c->nr_mounts - i - 1) * sizeof(c->mounts[0]));
	c->nr_mounts--;
}

/* The namespace died: its mounts, own and copies, went with it. */
static void ns_reap(struct corr_mount *c, uint32_t ns)
{
	for (size_t i = c->nr_mounts; i-- > 0;)
		if (c->mounts[i].ns == ns)
			mount_del(c, i);
}

static void ns_leave(struct corr_mount *c, uint32_t ns)
{
	struct mns *m = ns ? map_obj(c->nss, ns) : NULL;
	uint64_t v;

	if (!m || !m->nprocs)
		return;
	if (--m->nprocs || !m->created)
		return;
	ns_reap(c, ns);
	if (hmap__del(c->nss, ns, &v))
		free((void *)(uintptr_t)v);
}

static int ns_enter(struct corr_mount *c, struct mproc *p, uint32_t ns)
{
	struct mns *m;

	if (!ns || p->ns == ns)
		return 0;
	m = map_obj_get(c->nss, ns, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->nprocs++;
	ns_leave(c, p->ns);
	p->ns = ns;
	return 0;
}

int corr_mount__fork(struct corr_mount *c, uint32_t parent_tgid, uint32_t child_tgid,
		     uint64_t ts_ns)
{
	struct mproc *pp, *ch;

	(void)ts_ns;
	pp = map_obj_get(c->procs, parent_tgid, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	ch = map_obj_get(c->procs, child_tgid, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	/* a reused tgid: the old process is gone */
	ns_leave(c, ch->ns);
	ch->ns = 0;
	ch->rerooted = pp->rerooted;
	return ns_enter(c, ch, pp->ns);
}

int corr_mount__exit(struct corr_mount *c, uint32_t tgid, uint64_t ts_ns)
{
	struct mproc *p = map_obj(c->procs, tgid);
	uint64_t v;

	(void)ts_ns;
	if (!p)
		return 0;
	ns_leave(c, p->ns);
	if (hmap__del(c->procs, tgid, &v))
		free((void *)(uintptr_t)v);
	return 0;
}

int corr_mount__set_ns(struct corr_mount *c, uint32_t tgid, uint32_t mnt_ns)
{
	struct mproc *p = map_obj_get(c->procs, tgid, sizeof(*p));

	return p ? ns_enter(c, p, mnt_ns) : -ENOMEM;
}

static struct mmount *mount_add(struct corr_mount *c)
{
	struct mmount *m;

	if (c->nr_mounts == LW_MNT_TRACK_MAX)
		mount_del(c, 0);
	m = grow((void **)&c->mounts, c->nr_mounts, &c->cap_mounts, sizeof(*m));
	if (!m)
		return NULL;
	c->nr_mounts++;
	memset(m, 0, sizeof(*m));
	return m;
}

static int track_mount(struct corr_mount *c, const struct lw_ev_mount *ev, const struct mop *x,
		       uint32_t origin)
{
	struct mmount *m = mount_add(c), *cp;

	if (!m)
		return -ENOMEM;
	m->ts = x->ts;
	m->ns = m->src_ns = x->ns;
	m->tgid = x->tgid;
	m->tid = x->tid;
	memcpy(m->comm, x->comm, sizeof(m->comm));
	memcpy(m->target, x->target, sizeof(m->target));
	copy_str(m->fstype, sizeof(m->fstype), ev->fstype);
	m->stack = x->stack;
	if (!(ev->flags & LW_MNT_PROPAGATES) || !origin || origin == x->ns)
		return 0;
	m->propagated = true;
	cp = mount_add(c);
	if (!cp)
		return -ENOMEM;
	/* mount_add may have moved m (realloc, or the oldest dropped at the
	 * cap); it is the entry just before the copy either way
	 */
	*cp = c->mounts[c->nr_mounts - 2];
	cp->ns = origin;
	cp->copy = true;
	cp->propagated = false;
	return 0;
}

static void track_move(struct corr_mount *c, uint32_t ns, const char *from, const char *to)
{
	char path[LW_NAME_MAX];

	for (size_t i = 0; i < c->nr_mounts; i++) {
		struct mmount *m = &c->mounts[i];

		if (m->ns != ns)
			continue;
		if (!strcmp(m->target, from)) {
			copy_str(m->target, sizeof(m->target), to);
		} else if (beneath(m->target, from)) {
			fmt(path, sizeof(path), "%s%s", strcmp(to, "/") ? to : "",
			    m->target + strlen(from));
			memcpy(m->target, path, sizeof(path));
		}
	}
}

/* Remove the newest own (not copied) mount of target in ns: an umount of
 * a copy propagates back to the peer it came from.
 */
static void drop_origin_peer(struct corr_mount *c, uint32_t ns, const char *target)
{
	for (size_t i = c->nr_mounts; i-- > 0;) {
		struct mmount *m = &c->mounts[i];

		if (m->ns == ns && !m->copy && m->propagated && !strcmp(m->target, target)) {
			mount_del(c, i);
			return;
		}
	}
}

static int track_umount(struct corr_mount *c, const struct mop *x)
{
	struct mmount gone;
	struct rgroup *g;
	bool added;
	size_t i;

	for (i = c->nr_mounts; i-- > 0;)
		if (c->mounts[i].ns == x->ns && !strcmp(c->mounts[i].target, x->target))
			break;
	if (i != (size_t)-1) {
		gone = c->mounts[i];
		mount_del(c, i);
		if (gone.copy) {
			/* the origin undid a mount it never made */
			drop_origin_peer(c, gone.src_ns, gone.target);
			g = rgroup_get(c, RACE_PROPAGATED_UMOUNT, x->target, &added);
			if (!g && c->nr_rg != LW_MNT_GROUPS_MAX)
				return -ENOMEM;
			if (g && added) {
				g->main = *x;
				g->made = gone;
			}
			if (g)
				g->count++;
		} else if (gone.propagated) {
			/* the umount propagates to the copy as well */
			for (size_t j = c->nr_mounts; j-- > 0;)
				if (c->mounts[j].copy && c->mounts[j].src_ns == x->ns &&
				    !strcmp(c->mounts[j].target, x->target)) {
					mount_del(c, j);
					break;
				}
		}
	}
	for (i = c->nr_mounts; i-- > 0;)
		if (c->mounts[i].ns == x->ns && beneath(c->mounts[i].target, x->target))
			mount_del(c, i);
	return 0;
}

static int propagation_leak(struct corr_mount *c, const struct mop *x, const char *fstype)
{
	struct pgroup *g;

	for (size_t i = 0; i < c->nr_pg; i++) {
		g = &c->pg[i];
		if (g->first.stack.nr == x->stack.nr &&
		    !memcmp(g->first.stack.ips, x->stack.ips,
			    x->stack.nr * sizeof(x->stack.ips[0])) &&
		    !strcmp(g->first.target, x->target)) {
			g->count++;
			return 0;
		}
	}
	if (c->nr_pg == LW_MNT_GROUPS_MAX)
		return 0;
	g = grow((void **)&c->pg, c->nr_pg, &c->cap_pg, sizeof(*g));
	if (!g)
		return -ENOMEM;
	c->nr_pg++;
	memset(g, 0, sizeof(*g));
	g->count = 1;
	g->first.ts = x->ts;
	g->first.ns = g->first.src_ns = x->ns;
	g->first.tgid = x->tgid;
	g->first.tid = x->tid;
	memcpy(g->first.comm, x->comm, sizeof(g->first.comm));
	memcpy(g->first.target, x->target, sizeof(g->first.target));
	copy_str(g->first.fstype, sizeof(g->first.fstype), fstype);
	g->first.stack = x->stack;
	return 0;
}

/* Namespace bookkeeping of one record: a namespace created (with the
 * caller's previous one as origin), entered, or a changed root.
 */
static int feed_ns(struct corr_mount *c, const struct lw_ev_mount *ev, struct mproc *p)
{
	uint32_t prev = p->ns, ns = ev->mnt_ns;
	bool creates = false;
	struct mns *m;

	switch (ev->nr) {
	case LW_NR_unshare:
		creates = ev->ret == 0 && (ev->arg_flags & LW_CLONE_NEWNS);
		break;
	case LW_NR_clone:
	case LW_NR_clone3:
		creates = ev->ret == 0 && (prev ? ns != prev : !!(ev->arg_flags & LW_CLONE_NEWNS));
		break;
	case LW_NR_chroot:
	case LW_NR_pivot_root:
		if (ev->ret == 0)
			p->rerooted = true;
		break;
	}
	if (creates && ns && ns != prev) {
		m = map_obj_get(c->nss, ns, sizeof(*m));
		if (!m)
			return -ENOMEM;
		m->created = true;
		if (prev)
			m->origin = prev;
	}
	return ns_enter(c, p, ns);
}

unsigned corr_mount__classify(const struct lw_ev_mount *ev)
{
	switch (ev->nr) {
	case LW_NR_mount:
		if (ev->arg_flags & (LW_MS_REMOUNT | LW_MS_PROPAGATION))
			return 0;
		return LW_MNTC_OP | (ev->arg_flags & LW_MS_MOVE ? LW_MNTC_MOVES : LW_MNTC_MAKES);
	case LW_NR_move_mount:
		return LW_MNTC_OP | LW_MNTC_MAKES;
	case LW_NR_fsmount:
		return LW_MNTC_MAKES;
	case LW_NR_umount2:
		return LW_MNTC_OP;
	}
	return 0;
}

int corr_mount__feed(struct corr_mount *c, const struct lw_ev_mount *ev, const struct lw_ips *stack)
{
	unsigned what = corr_mount__classify(ev);
	struct mproc *p = map_obj_get(c->procs, ev->hdr.tgid, sizeof(*p));
	const struct lw_proc *lp;
	bool op = what & LW_MNTC_OP, makes = what & LW_MNTC_MAKES, moves = what & LW_MNTC_MOVES;
	struct mop x = {.valid = true};
	struct mns *m;
	int err;

	if (!p)
		return -ENOMEM;
	err = feed_ns(c, ev, p);
	if (err)
		return err;
	if (!op && !makes)
		return 0;
	x.ts = ev->hdr.ts_ns;
	x.seq = ++c->seq;
	x.tgid = ev->hdr.tgid;
	x.tid = ev->hdr.tid;
	x.ns = p->ns;
	x.nr = ev->nr;
	x.ret = ev->ret;
	x.isolated = ev->flags & LW_MNT_ISOLATED;
	/* the comm at the call: an exec later does not rename it */
	lp = c->o.proc ? c->o.proc(c->o.proc_ctx, ev->hdr.tgid) : NULL;
	if (lp)
		memcpy(x.comm, lp->comm, sizeof(x.comm));
	norm_path(x.target, ev->target);
	if (stack)
		x.stack = *stack;
	if (x.stack.nr > LW_STACK_MAX)
		x.stack.nr = LW_STACK_MAX;

	if (ev->ret == 0 && (makes || moves) &&
	    (ev->flags & (LW_MNT_PROPAGATES | LW_MNT_NEW_NS)) ==
		(LW_MNT_PROPAGATES | LW_MNT_NEW_NS)) {
		err = propagation_leak(c, &x, ev->fstype);
		if (err)
			return err;
	}
	if (!op || !x.target[0] || !x.ns || p->rerooted)
		return 0;
	err = race_check(c, &x);
	if (!err && ev->ret == 0) {
		if (makes) {
			m = map_obj(c->nss, x.ns);
			err = track_mount(c, ev, &x, m ? m->origin : 0);
		} else if (moves) {
			char from[LW_NAME_MAX];

			norm_path(from, ev->source);
			track_move(c, x.ns, from, x.target);
		} else {
			err = track_umount(c, &x);
		}
	}
	c->ops[c->ops_head] = x;
	c->ops_head = (c->ops_head + 1) % LW_MNT_OPS_MAX;
	return err;
}

int corr_mount__finish(struct corr_mount *c, uint64_t now_ns, corr_mount_mounted_fn still_mounted,
		       void *ctx, struct lw_findings *out)
{
	struct lw_finding *f;
	int err;

	for (size_t i = 0; i < c->nr_pg; i++) {
		const struct mmount *m = &c->pg[i].first;

		f = lw_findings__add(out);
		if (!f)
			return -ENOMEM;
		finding_from(f, "mount-propagation-leak", m->tgid, m->tid, m->comm, &m->stack);
		f->count = c->pg[i].count;
		fmt(f->resource, sizeof(f->resource),
		    "%s (%s) propagates out of mount namespace %u", m->target,
		    m->fstype[0] ? m->fstype : "?", m->ns);
	}
	for (size_t i = 0; i < c->nr_rg; i++) {
		err = race_finding(&c->rg[i], out);
		if (err)
			return err;
	}
	if (c->o.attach_mode)
		return 0;
	for (size_t i = 0; i < c->nr_mounts; i++) {
		const struct mmount *m = &c->mounts[i];

		if (still_mounted && !still_mounted(ctx, m->ns, m->target))
			continue;
		f = lw_findings__add(out);
		if (!f)
			return -ENOMEM;
		finding_from(f, "mount-leftover", m->tgid, m->tid, m->comm, &m->stack);
		f->count = 1;
		f->age_ms = now_ns > m->ts ? (now_ns - m->ts) / MS_NS : 0;
		if (m->copy)
			fmt(f->resource, sizeof(f->resource),
			    "%s (%s) still mounted in ns %u (propagated from ns %u)", m->target,
			    m->fstype[0] ? m->fstype : "?", m->ns, m->src_ns);
		else
			fmt(f->resource, sizeof(f->resource), "%s (%s) still mounted in ns %u",
			    m->target, m->fstype[0] ? m->fstype : "?", m->ns);
	}
	return 0;
}
