// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator: replays fd and process events with the kernel's fd-table
 * semantics (shared tables for CLONE_FILES, copies for fork, unshare on exec
 * and close_range(CLOSE_RANGE_UNSHARE)) and says which fds leaked.
 *
 * Ownership: an fd is a leak of the process that created it when it is still
 * open as the last user of its table goes away. Each table lists the processes
 * that answer for what they created in it ("members"): its creator, its
 * CLONE_FILES children, minus those that unshared. So copies a plain fork
 * inherited and seeded fds are never leaks of the holder, and a CLONE_FILES
 * child's fds are reported when the last sharer exits, attributed to the child.
 *
 * This file keeps the tables; corr_fd_close.c remembers closes (double
 * close), corr_fd_xfer.c follows fds across sockets and exec, and
 * corr_fd_group.c turns it all into findings.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <leakwatch/syscalls.h>
#include "detect/fd/corr_fd_internal.h"

/* ---- records and stacks ---- */

static struct rec *rec_new(const char *resource)
{
	size_t len = strnlen(resource, LW_RESOURCE_MAX - 1);
	struct rec *r = calloc(1, sizeof(*r) + len + 1);

	if (!r)
		return NULL;
	r->refs = 1;
	memcpy(r->resource, resource, len);
	return r;
}

const struct stk *corr_fd_stk_intern(struct corr_fd *c, const struct lw_stack *s)
{
	uint32_t nr = s->nr > LW_STACK_MAX ? LW_STACK_MAX : s->nr;
	size_t bytes = nr * sizeof(s->ips[0]);
	uint64_t h = fnv1a(fnv1a(FNV_BASIS, &nr, sizeof(nr)), s->ips, bytes);

	/* a 64-bit collision between different stacks probes the next key */
	for (uint64_t key = h ? h : 1;; key = key + 1 ? key + 1 : 1) {
		uint64_t *v = hmap__put(c->stks, key, NULL);
		struct stk *k;

		if (!v)
			return NULL;
		k = (struct stk *)(uintptr_t)*v;
		if (k && k->ips.nr == nr && !memcmp(k->ips.ips, s->ips, bytes))
			return k;
		if (k)
			continue;
		k = calloc(1, sizeof(*k));
		if (!k)
			return NULL;
		k->hash = h;
		k->ips.nr = nr;
		k->ips.flags = s->flags;
		memcpy(k->ips.ips, s->ips, bytes);
		*v = (uintptr_t)k;
		return k;
	}
}

/* ---- fd tables ---- */

static void tab_free(struct fdtab *t)
{
	struct hmap_iter it = {0};

	if (!t)
		return;
	while (hmap__next(t->fds, &it))
		rec_put(ent_rec(*it.val));
	hmap__free(t->fds);
	hist_free(t->hist);
	free(t->members);
	free(t);
}

/* A new table, empty or a copy of src (whose records it then references too). */
static struct fdtab *tab_new(const struct fdtab *src, uint64_t member)
{
	struct fdtab *t = calloc(1, sizeof(*t));
	struct hmap_iter it = {0};

	if (!t)
		return NULL;
	t->refs = 1;
	t->fds = src ? hmap__clone(src->fds) : hmap__new();
	if (!t->fds || lw_vec_grow((void **)&t->members, &t->cap_members, 1, sizeof(*t->members))) {
		hmap__free(t->fds);
		free(t);
		return NULL;
	}
	t->members[t->nr_members++] = member;
	t->uring = src && src->uring;
	while (hmap__next(t->fds, &it))
		ent_rec(*it.val)->refs++;
	return t;
}

/* Takes over the caller's reference to rec; an fd already there is replaced. */
static int tab_put(struct fdtab *t, int fd, bool cloexec, struct rec *rec)
{
	uint64_t *v = hmap__put(t->fds, (uint64_t)fd + 1, NULL);

	if (!v)
		return -ENOMEM;
	rec_put(ent_rec(*v));
	*v = (uintptr_t)rec | (cloexec ? ENT_CLOEXEC : 0);
	return 0;
}

static void tab_del(struct fdtab *t, int fd)
{
	uint64_t v;

	if (hmap__del(t->fds, (uint64_t)fd + 1, &v))
		rec_put(ent_rec(v));
}

/* Close fds in [first, last] of process p, or with mark set their
 * close-on-exec flag; cloexec_only limits it to fds already close-on-exec.
 * by: the close_range record whose closes the history keeps (at stack).
 * One pass over the table: close_range and exec are rare next to open/close.
 */
static int tab_sweep(struct corr_fd *c, struct proc *p, int first, int last, bool cloexec_only,
		     bool mark, const struct lw_ev_hdr *by, const struct stk *stack)
{
	struct hmap_iter it = {0};
	int err = 0;

	while (hmap__next(p->tab->fds, &it)) {
		int fd = ent_fd(it.key), e;

		if (fd < first || fd > last || (cloexec_only && !(*it.val & ENT_CLOEXEC)))
			continue;
		if (mark) {
			*it.val |= ENT_CLOEXEC;
			continue;
		}
		if ((e = flight_note(c, ent_rec(*it.val), p->tgid, fd)) && !err)
			err = e; /* the close happens all the same */
		if (!by)
			rec_put(ent_rec(*it.val));
		else if ((e = hist_add(c, p->tab, p->serial, fd, stack, ent_rec(*it.val))) && !err)
			err = e;
		hmap__iter_del(p->tab->fds, &it);
	}
	return err;
}

/* ---- processes ---- */

static struct proc *proc_slot(struct corr_fd *c, uint32_t tgid, bool create)
{
	uint64_t *v;
	struct proc *p;

	if (!tgid) /* the idle task is never traced */
		return NULL;
	v = create ? hmap__put(c->procs, tgid, NULL) : hmap__get(c->procs, tgid);
	if (!v)
		return NULL;
	if (!*v && (p = calloc(1, sizeof(*p)))) {
		p->tgid = tgid;
		*v = (uintptr_t)p;
	}
	return (struct proc *)(uintptr_t)*v;
}

static struct proc *proc_live(struct corr_fd *c, uint32_t tgid)
{
	struct proc *p = proc_slot(c, tgid, false);

	return p && p->tab ? p : NULL;
}

/* A new incarnation of p using tab (shared) or, when NULL, a copy of from or
 * an empty table.
 */
static int proc_start(struct corr_fd *c, struct proc *p, struct fdtab *tab,
		      const struct fdtab *from)
{
	uint64_t serial = ++c->next_serial;

	if (tab) {
		if (lw_vec_grow((void **)&tab->members, &tab->cap_members, tab->nr_members + 1,
				sizeof(*tab->members)))
			return -ENOMEM;
		tab->members[tab->nr_members++] = serial;
		tab->refs++;
	} else if (!(tab = tab_new(from, serial))) {
		return -ENOMEM;
	}
	p->serial = serial;
	p->tab = tab;
	return 0;
}

/* The process on first sight gets an empty table of its own. */
static struct proc *proc_get(struct corr_fd *c, uint32_t tgid)
{
	struct proc *p = proc_slot(c, tgid, true);

	if (p && !p->tab && proc_start(c, p, NULL, NULL))
		return NULL;
	return p;
}

/* unshare_files(): the process gets a private copy and answers only for it. */
static int proc_unshare(struct proc *p)
{
	struct fdtab *old = p->tab, *t;

	if (old->refs <= 1)
		return 0;
	t = tab_new(old, p->serial);
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < old->nr_members; i++) {
		if (old->members[i] == p->serial) {
			old->members[i] = old->members[--old->nr_members];
			break;
		}
	}
	old->refs--;
	p->tab = t;
	return 0;
}

/* The process is gone; when it was its table's last user, what the members
 * created and left open leaked.
 */
static int proc_end(struct corr_fd *c, struct proc *p, uint64_t end_ns)
{
	struct fdtab *t = p->tab;
	struct hmap_iter it = {0};
	int err = 0, lost = 0;

	p->tab = NULL;
	if (--t->refs)
		return 0; /* a CLONE_FILES sharer still lives: its exit decides */
	/* its sockets close too: fds in flight to them may be lost */
	while (hmap__next(t->fds, &it))
		if (!lost)
			lost = flight_note(c, ent_rec(*it.val), p->tgid, ent_fd(it.key));
	it = (struct hmap_iter){0};
	/* attach: a leak is an fd still open when observation ends, and exit
	 * closed these (the session never feeds the exit that ends observation)
	 */
	if (c->opts.attach_mode) {
		tab_free(t);
		return lost;
	}
	while (!err && hmap__next(t->fds, &it)) {
		struct rec *r = ent_rec(*it.val);

		if (!leak_candidate(t, it.key, *it.val))
			continue;
		err = lw_vec_grow((void **)&c->leaks, &c->cap_leaks, c->nr_leaks + 1,
				  sizeof(*c->leaks));
		if (err)
			break;
		r->refs++;
		r->reported = true;
		r->uring |= t->uring;
		c->leaks[c->nr_leaks++] =
		    (struct item){.rec = r, .fd = ent_fd(it.key), .end_ns = end_ns};
	}
	tab_free(t);
	return err ? err : lost;
}

/* ---- events ---- */

static int on_open(struct corr_fd *c, const struct lw_ev_fd_open *ev)
{
	char res[LW_RESOURCE_MAX] = "";
	struct proc *p = proc_get(c, ev->hdr.tgid);
	uint16_t kind = ev->res_kind;
	uint64_t ino = ev->ino, *old;
	const struct stk *stack;
	struct rec *r;
	int err, lost = 0;

	if (!p)
		return -ENOMEM;
	/* BPF's once-per-process record of a submission (fd -1) */
	if (ev->syscall_nr == LW_NR_io_uring_enter)
		p->tab->uring = true;
	if (ev->fd < 0)
		return 0;
	if ((ev->fd_flags & LW_FD_DUP) && ev->src_fd >= 0) {
		uint64_t *src = hmap__get(p->tab->fds, (uint64_t)ev->src_fd + 1);

		if (src && ev->src_fd == ev->fd)
			return 0; /* dup2(fd, fd) changes nothing */
		if (src) {
			snprintf(res, sizeof(res), "%s", ent_rec(*src)->resource);
			kind = ent_rec(*src)->res_kind;
			ino = ent_rec(*src)->ino;
		}
	}
	/* an fd already there is closed by dup2/dup3 (or we missed its close) */
	old = hmap__get(p->tab->fds, (uint64_t)ev->fd + 1);
	if (old)
		lost = flight_note(c, ent_rec(*old), p->tgid, ev->fd);
	if (!res[0])
		corr_fd__describe(ev, res, sizeof(res));
	stack = corr_fd_stk_intern(c, &ev->stack);
	r = stack ? rec_new(res) : NULL;
	if (!r)
		return -ENOMEM;
	r->tgid = ev->hdr.tgid;
	r->tid = ev->hdr.tid;
	r->ts_ns = ev->hdr.ts_ns;
	r->syscall_nr = ev->syscall_nr;
	r->owner = p->serial;
	r->stack = stack;
	r->res_kind = kind;
	r->ino = ino;
	/* the number is in use again: an earlier close of it is no evidence */
	hist_forget(p->tab, ev->fd);
	err = tab_put(p->tab, ev->fd, ev->fd_flags & LW_FD_CLOEXEC, r);
	if (err) {
		rec_put(r);
		return err;
	}
	/* the table holds r now: a failure here only loses the provenance */
	if ((ev->fd_flags & LW_FD_RECEIVED) && ev->ino)
		err = xfer_receive(c, r, ev->ino);
	return err ? err : lost;
}

static int on_close(struct corr_fd *c, const struct lw_ev_fd_close *ev)
{
	struct proc *p;
	uint64_t *v;
	int err, lost = 0;

	if (ev->ret != 0) {
		c->failed_closes++;
		p = proc_live(c, ev->hdr.tgid);
		if (ev->ret == -EBADF && p && ev->fd >= 0)
			return hist_bad_close(c, p->tab, p->serial, ev);
		return 0;
	}
	if (ev->fd < 0)
		return 0;
	/* a first sight: remember the close even of an fd we never saw open */
	p = proc_get(c, ev->hdr.tgid);
	if (!p)
		return -ENOMEM;
	v = hmap__get(p->tab->fds, (uint64_t)ev->fd + 1);
	if (v)
		lost = flight_note(c, ent_rec(*v), p->tgid, ev->fd);
	err = hist_close(c, p->tab, p->serial, ev);
	return err ? err : lost;
}

static int on_send(struct corr_fd *c, const struct lw_ev_fd_send *ev)
{
	struct proc *p = proc_live(c, ev->hdr.tgid);

	return xfer_send(c, p ? p->tab : NULL, ev);
}

static int on_close_range(struct corr_fd *c, const struct lw_ev_fd_close_range *ev)
{
	struct proc *p = proc_live(c, ev->hdr.tgid);
	bool mark = ev->flags & LW_CLOSE_RANGE_CLOEXEC;
	const struct stk *stack = NULL;
	int err = 0, e;

	if (!p || ev->first > ev->last || ev->first > (uint32_t)INT_MAX)
		return 0;
	if ((ev->flags & LW_CLOSE_RANGE_UNSHARE) && (err = proc_unshare(p)))
		return err;
	if (!mark) {
		err = hist_range_close(c, p->tab, p->serial, ev);
		stack = corr_fd_stk_intern(c, &ev->stack);
		if (!stack && !err)
			err = -ENOMEM;
	}
	/* the closes happen all the same; the history keeps them when it can */
	e = tab_sweep(c, p, (int)ev->first, ev->last > (uint32_t)INT_MAX ? INT_MAX : (int)ev->last,
		      false, mark, stack ? &ev->hdr : NULL, stack);
	return err ? err : e;
}

static int on_cloexec(struct corr_fd *c, const struct lw_ev_fd_cloexec *ev)
{
	struct proc *p = proc_live(c, ev->hdr.tgid);
	uint64_t *v = p && ev->fd >= 0 ? hmap__get(p->tab->fds, (uint64_t)ev->fd + 1) : NULL;

	if (v)
		*v = ev->cloexec ? *v | ENT_CLOEXEC : *v & ~ENT_CLOEXEC;
	return 0;
}

static int on_proc_fork(struct corr_fd *c, const struct lw_ev_proc_fork *ev)
{
	struct proc *parent, *child;
	int err;

	if (ev->child_tgid == ev->hdr.tgid)
		return 0; /* a thread: same table already */
	parent = proc_get(c, ev->hdr.tgid);
	child = parent ? proc_slot(c, ev->child_tgid, true) : NULL;
	if (!child)
		return ev->child_tgid ? -ENOMEM : 0;
	/* the tgid is still live for us: its exit was lost and the tgid reused */
	if (child->tab && (err = proc_end(c, child, ev->hdr.ts_ns)))
		return err;
	if (ev->fork_flags & LW_FORK_SHARED_FILES)
		return proc_start(c, child, parent->tab, NULL);
	return proc_start(c, child, NULL, parent->tab);
}

static int on_proc_exec(struct corr_fd *c, const struct lw_ev_proc_exec *ev)
{
	struct proc *p = proc_live(c, ev->hdr.tgid);
	int err;

	if (!p)
		return 0;
	if ((err = proc_unshare(p)) || (err = tab_sweep(c, p, 0, INT_MAX, true, false, NULL, NULL)))
		return err;
	/* the old image's closes mean nothing to the new one (nor do its pcs) */
	hist_free(p->tab->hist);
	p->tab->hist = NULL;
	return xfer_exec(c, p, ev);
}

static int on_proc_exit(struct corr_fd *c, const struct lw_ev_proc_exit *ev)
{
	struct proc *p = proc_live(c, ev->hdr.tgid);

	if (!p)
		return 0;
	return proc_end(c, p, ev->hdr.ts_ns);
}

/* ---- public API ---- */

struct corr_fd *corr_fd__new(const struct corr_fd_opts *opts)
{
	struct corr_fd *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (opts)
		c->opts = *opts;
	c->opts.allow_inherit = NULL;
	c->opts.nr_allow_inherit = 0;
	if (opts && opts->allow_inherit && opts->nr_allow_inherit) {
		int *allow = calloc(opts->nr_allow_inherit, sizeof(*allow));

		if (allow) {
			memcpy(allow, opts->allow_inherit, opts->nr_allow_inherit * sizeof(*allow));
			c->opts.allow_inherit = allow;
			c->opts.nr_allow_inherit = opts->nr_allow_inherit;
		}
	}
	c->procs = hmap__new();
	c->stks = hmap__new();
	c->xg_index = hmap__new();
	if (!c->procs || !c->stks || !c->xg_index ||
	    (opts && opts->nr_allow_inherit && opts->allow_inherit && !c->opts.allow_inherit)) {
		corr_fd__free(c);
		return NULL;
	}
	return c;
}

void corr_fd__free(struct corr_fd *c)
{
	struct hmap_iter it = {0};

	if (!c)
		return;
	while (c->procs && hmap__next(c->procs, &it)) {
		struct proc *p = (struct proc *)(uintptr_t)*it.val;

		if (p && p->tab && --p->tab->refs == 0)
			tab_free(p->tab);
		free(p);
	}
	it = (struct hmap_iter){0};
	while (c->stks && hmap__next(c->stks, &it))
		free((void *)(uintptr_t)*it.val);
	for (size_t i = 0; i < c->nr_leaks; i++)
		rec_put(c->leaks[i].rec);
	xfer_free(c);
	flight_free(c);
	xgroup_free(c);
	free((void *)c->opts.allow_inherit);
	hmap__free(c->procs);
	hmap__free(c->stks);
	free(c->leaks);
	free(c);
}

int corr_fd__seed(struct corr_fd *c, uint32_t tgid, int fd, const char *resource, bool cloexec)
{
	struct proc *p;
	struct rec *r;
	int err;

	if (!c || fd < 0)
		return -EINVAL;
	p = proc_get(c, tgid);
	r = p ? rec_new(resource ? resource : "unknown") : NULL;
	if (!r)
		return tgid ? -ENOMEM : -EINVAL;
	r->tgid = tgid;
	r->owner = p->serial;
	r->seeded = true;
	err = tab_put(p->tab, fd, cloexec, r);
	if (err)
		rec_put(r);
	return err;
}

static int dispatch(struct corr_fd *c, const struct lw_ev_hdr *ev)
{
	switch (ev->type) {
	case LW_EV_FD_OPEN:
		return on_open(c, (const struct lw_ev_fd_open *)ev);
	case LW_EV_FD_CLOSE:
		return on_close(c, (const struct lw_ev_fd_close *)ev);
	case LW_EV_FD_CLOSE_RANGE:
		return on_close_range(c, (const struct lw_ev_fd_close_range *)ev);
	case LW_EV_FD_CLOEXEC:
		return on_cloexec(c, (const struct lw_ev_fd_cloexec *)ev);
	case LW_EV_PROC_FORK:
		return on_proc_fork(c, (const struct lw_ev_proc_fork *)ev);
	case LW_EV_PROC_EXEC:
		return on_proc_exec(c, (const struct lw_ev_proc_exec *)ev);
	case LW_EV_PROC_EXIT:
		return on_proc_exit(c, (const struct lw_ev_proc_exit *)ev);
	case LW_EV_FD_SEND:
		return on_send(c, (const struct lw_ev_fd_send *)ev);
	}
	return 0;
}

/* The stack of the call that removed fds, when the record has one. */
static const struct lw_stack *event_stack(const struct lw_ev_hdr *ev)
{
	if (ev->type == LW_EV_FD_CLOSE)
		return &((const struct lw_ev_fd_close *)ev)->stack;
	if (ev->type == LW_EV_FD_OPEN) /* dup2 over an open fd */
		return &((const struct lw_ev_fd_open *)ev)->stack;
	if (ev->type == LW_EV_FD_CLOSE_RANGE)
		return &((const struct lw_ev_fd_close_range *)ev)->stack;
	return NULL;
}

int corr_fd__feed(struct corr_fd *c, const struct lw_ev_hdr *ev)
{
	static const size_t min_size[LW_EV__MAX] = {
	    [LW_EV_FD_OPEN] = sizeof(struct lw_ev_fd_open),
	    [LW_EV_FD_CLOSE] = sizeof(struct lw_ev_fd_close),
	    [LW_EV_FD_CLOSE_RANGE] = sizeof(struct lw_ev_fd_close_range),
	    [LW_EV_FD_CLOEXEC] = sizeof(struct lw_ev_fd_cloexec),
	    [LW_EV_PROC_FORK] = sizeof(struct lw_ev_proc_fork),
	    [LW_EV_PROC_EXEC] = sizeof(struct lw_ev_proc_exec),
	    [LW_EV_PROC_EXIT] = sizeof(struct lw_ev_proc_exit),
	    [LW_EV_FD_SEND] = sizeof(struct lw_ev_fd_send),
	};
	int err;

	if (!c || !ev)
		return -EINVAL;
	if (ev->type >= LW_EV__MAX || !min_size[ev->type])
		return 0;
	if (ev->size < min_size[ev->type] || !ev->tgid)
		return -EINVAL;
	err = dispatch(c, ev);
	if (c->nr_gone) {
		/* the removal is done: now see whether the socket is gone */
		const struct lw_stack *s = event_stack(ev);
		const struct stk *stack = s ? corr_fd_stk_intern(c, s) : NULL;
		int e = s && !stack ? -ENOMEM : flight_settle(c, ev, stack);

		c->nr_gone = 0;
		if (!err)
			err = e;
	}
	return err;
}

uint64_t corr_fd__failed_closes(const struct corr_fd *c)
{
	return c ? c->failed_closes : 0;
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int corr_fd__open_fds_all(struct corr_fd *c, uint32_t tgid, int **out)
{
	struct proc *p = c ? proc_live(c, tgid) : NULL;
	size_t n = 0, count = p ? hmap__count(p->tab->fds) : 0;
	struct hmap_iter it = {0};
	int *all;

	*out = NULL;
	if (!count)
		return 0;
	all = malloc(count * sizeof(*all));
	if (!all)
		return -ENOMEM;
	while (hmap__next(p->tab->fds, &it))
		all[n++] = ent_fd(it.key);
	qsort(all, n, sizeof(*all), int_cmp);
	*out = all;
	return (int)n;
}

int corr_fd__open_fds(struct corr_fd *c, uint32_t tgid, int *fds, int max)
{
	int *all, n;

	if (max <= 0 || !fds)
		return 0;
	n = corr_fd__open_fds_all(c, tgid, &all);
	if (n <= 0)
		return n;
	if (n > max)
		n = max;
	memcpy(fds, all, n * sizeof(*fds));
	free(all);
	return n;
}

void corr_fd__forget(struct corr_fd *c, uint32_t tgid, int fd)
{
	struct proc *p = c ? proc_live(c, tgid) : NULL;

	if (p && fd >= 0)
		tab_del(p->tab, fd);
}
