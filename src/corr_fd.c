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
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "corr_fd.h"

/* Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so lookups stay short under open/close churn). Key 0 is empty.
 */
struct hmap {
	uint64_t *keys, *vals;
	uint32_t n, cap; /* cap: 0 or a power of two */
};

/* An interned creation stack: grouping compares pointers, not 32 frames. */
struct stk {
	uint64_t hash;
	struct lw_ips ips;
};

/* One fd creation. Refcounted because a plain fork's copy of a table points at
 * the same record: a creation is reported at most once.
 */
struct rec {
	uint32_t refs;
	uint32_t tgid, tid;
	uint32_t syscall_nr;
	uint64_t ts_ns;
	uint64_t owner;		 /* serial of the creating process incarnation */
	uint64_t gen;		 /* dedupe stamp of the current finish/sites walk */
	const struct stk *stack; /* NULL when seeded */
	uint16_t res_kind;
	bool seeded, reported;
	char resource[];
};

/* fds map fd + 1 → (uintptr_t)rec | ENT_CLOEXEC; recs are malloc-aligned. */
#define ENT_CLOEXEC 1ull

struct fdtab {
	struct hmap fds;
	uint32_t refs; /* live processes using it */
	uint64_t gen;
	uint64_t *members; /* process serials, see the top of the file */
	size_t nr_members, cap_members;
};

/* Kept after exit (tab NULL) so the report still has the comm. */
struct proc {
	uint32_t tgid, parent;
	uint64_t serial; /* tgids are reused; serials are not */
	struct fdtab *tab;
	char comm[LW_COMM_LEN];
};

struct item {
	struct rec *rec;
	int fd;
	uint64_t end_ns; /* exit time, or now for fds still open */
};

struct corr_fd {
	struct corr_fd_opts opts;
	struct hmap procs;  /* tgid → struct proc * */
	struct hmap stks;   /* stack hash (+ probe on collision) → struct stk * */
	struct item *leaks; /* recorded at table death; each holds a rec reference */
	size_t nr_leaks, cap_leaks;
	uint64_t next_serial, gen;
	uint64_t failed_closes;
};

#define FNV_BASIS 0xcbf29ce484222325ull

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 16;
	void *nv;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	nv = realloc(*v, c * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

/* ---- hash map ---- */

static uint32_t hm_home(const struct hmap *m, uint64_t key)
{
	return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

/* Index of key, or of the empty slot where it would go. cap must be non-zero. */
static uint32_t hm_slot(const struct hmap *m, uint64_t key)
{
	uint32_t i = hm_home(m, key);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static uint64_t *hm_find(const struct hmap *m, uint64_t key)
{
	uint32_t i;

	if (!m->cap)
		return NULL;
	i = hm_slot(m, key);
	return m->keys[i] ? &m->vals[i] : NULL;
}

/* dst = src's entries in a fresh table of cap slots (a copy when cap equals src's). */
static int hm_build(struct hmap *dst, const struct hmap *src, uint32_t cap)
{
	*dst =
	    (struct hmap){.keys = calloc(cap, 8), .vals = calloc(cap, 8), .n = src->n, .cap = cap};
	if (!dst->keys || !dst->vals) {
		free(dst->keys);
		free(dst->vals);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < src->cap; i++) {
		if (src->keys[i]) {
			uint32_t j = hm_slot(dst, src->keys[i]);

			dst->keys[j] = src->keys[i];
			dst->vals[j] = src->vals[i];
		}
	}
	return 0;
}

static void hm_free(struct hmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* Value slot of key, inserted as 0 when new; NULL on ENOMEM. */
static uint64_t *hm_put(struct hmap *m, uint64_t key)
{
	uint32_t i;

	if ((m->n + 1) * 4 > m->cap * 3) {
		struct hmap nm;

		if (hm_build(&nm, m, m->cap ? m->cap * 2 : 16))
			return NULL;
		hm_free(m);
		*m = nm;
	}
	i = hm_slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->vals[i] = 0;
		m->n++;
	}
	return &m->vals[i];
}

/* Only slots at or after i move, and only towards i: a caller walking the
 * array can delete as it goes if it looks at slot i again.
 */
static void hm_del_at(struct hmap *m, uint32_t i)
{
	uint32_t mask = m->cap - 1, j = i, k;

	m->n--;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->keys[j])
			break;
		k = hm_home(m, m->keys[j]);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue; /* its home lies between the hole and j: stays */
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		i = j;
	}
	m->keys[i] = 0;
	m->vals[i] = 0;
}

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

static void rec_put(struct rec *r)
{
	if (r && --r->refs == 0)
		free(r);
}

static const struct stk *stk_intern(struct corr_fd *c, const struct lw_stack *s)
{
	uint32_t nr = s->nr > LW_STACK_MAX ? LW_STACK_MAX : s->nr;
	size_t bytes = nr * sizeof(s->ips[0]);
	uint64_t h = fnv1a(fnv1a(FNV_BASIS, &nr, sizeof(nr)), s->ips, bytes);

	/* a 64-bit collision between different stacks probes the next key */
	for (uint64_t key = h ? h : 1;; key = key + 1 ? key + 1 : 1) {
		uint64_t *v = hm_put(&c->stks, key);
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

static struct rec *ent_rec(uint64_t v)
{
	return (struct rec *)(uintptr_t)(v & ~ENT_CLOEXEC);
}

static int ent_fd(const struct fdtab *t, uint32_t i)
{
	return (int)(t->fds.keys[i] - 1);
}

static void tab_free(struct fdtab *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->fds.cap; i++)
		if (t->fds.keys[i])
			rec_put(ent_rec(t->fds.vals[i]));
	hm_free(&t->fds);
	free(t->members);
	free(t);
}

/* A new table, empty or a copy of src (whose records it then references too). */
static struct fdtab *tab_new(const struct fdtab *src, uint64_t member)
{
	struct fdtab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->refs = 1;
	if ((src && src->fds.cap && hm_build(&t->fds, &src->fds, src->fds.cap)) ||
	    grow((void **)&t->members, &t->cap_members, 1, sizeof(*t->members))) {
		hm_free(&t->fds);
		free(t);
		return NULL;
	}
	t->members[t->nr_members++] = member;
	for (uint32_t i = 0; i < t->fds.cap; i++)
		if (t->fds.keys[i])
			ent_rec(t->fds.vals[i])->refs++;
	return t;
}

static bool tab_is_member(const struct fdtab *t, uint64_t serial)
{
	/* a handful of CLONE_FILES sharers at most */
	for (size_t i = 0; i < t->nr_members; i++)
		if (t->members[i] == serial)
			return true;
	return false;
}

/* Takes over the caller's reference to rec; an fd already there is replaced. */
static int tab_put(struct fdtab *t, int fd, bool cloexec, struct rec *rec)
{
	uint64_t *v = hm_put(&t->fds, (uint64_t)fd + 1);

	if (!v)
		return -ENOMEM;
	rec_put(ent_rec(*v));
	*v = (uintptr_t)rec | (cloexec ? ENT_CLOEXEC : 0);
	return 0;
}

static void tab_del_at(struct fdtab *t, uint32_t i)
{
	rec_put(ent_rec(t->fds.vals[i]));
	hm_del_at(&t->fds, i);
}

static void tab_del(struct fdtab *t, int fd)
{
	uint64_t *v = hm_find(&t->fds, (uint64_t)fd + 1);

	if (v)
		tab_del_at(t, (uint32_t)(v - t->fds.vals));
}

/* Close fds in [first, last], or with mark set their close-on-exec flag;
 * cloexec_only limits it to fds already close-on-exec. One pass over the
 * slots: close_range and exec are rare next to open/close.
 */
static void tab_sweep(struct fdtab *t, int first, int last, bool cloexec_only, bool mark)
{
	for (uint32_t i = 0; i < t->fds.cap;) {
		int fd = ent_fd(t, i);

		if (!t->fds.keys[i] || fd < first || fd > last ||
		    (cloexec_only && !(t->fds.vals[i] & ENT_CLOEXEC))) {
			i++;
		} else if (mark) {
			t->fds.vals[i] |= ENT_CLOEXEC;
			i++;
		} else {
			tab_del_at(t, i); /* slot i may now hold a moved entry: look again */
		}
	}
}

/* Does the fd in slot i count as a leak of its creator? */
static bool leak_candidate(const struct fdtab *t, uint32_t i)
{
	const struct rec *r = ent_rec(t->fds.vals[i]);

	return t->fds.keys[i] && ent_fd(t, i) > 2 && !r->seeded && !r->reported &&
	       tab_is_member(t, r->owner);
}

/* ---- processes ---- */

static struct proc *proc_slot(struct corr_fd *c, uint32_t tgid, bool create)
{
	uint64_t *v;
	struct proc *p;

	if (!tgid) /* the idle task is never traced; and key 0 marks empty slots */
		return NULL;
	v = create ? hm_put(&c->procs, tgid) : hm_find(&c->procs, tgid);
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
		if (grow((void **)&tab->members, &tab->cap_members, tab->nr_members + 1,
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

static void set_comm(struct proc *p, const char *comm)
{
	memcpy(p->comm, comm, LW_COMM_LEN);
	p->comm[LW_COMM_LEN - 1] = '\0';
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
	int err = 0;

	p->tab = NULL;
	if (--t->refs)
		return 0; /* a CLONE_FILES sharer still lives: its exit decides */
	for (uint32_t i = 0; i < t->fds.cap && !err; i++) {
		struct rec *r = ent_rec(t->fds.vals[i]);

		if (!leak_candidate(t, i))
			continue;
		err = grow((void **)&c->leaks, &c->cap_leaks, c->nr_leaks + 1, sizeof(*c->leaks));
		if (err)
			break;
		r->refs++;
		r->reported = true;
		c->leaks[c->nr_leaks++] =
		    (struct item){.rec = r, .fd = ent_fd(t, i), .end_ns = end_ns};
	}
	tab_free(t);
	return err;
}

/* ---- events ---- */

static int on_open(struct corr_fd *c, const struct lw_ev_fd_open *ev)
{
	char res[LW_RESOURCE_MAX] = "";
	struct proc *p = proc_get(c, ev->hdr.tgid);
	uint16_t kind = ev->res_kind;
	const struct stk *stack;
	struct rec *r;
	int err;

	if (!p)
		return -ENOMEM;
	if (ev->fd < 0)
		return 0;
	if ((ev->fd_flags & LW_FD_DUP) && ev->src_fd >= 0) {
		uint64_t *src = hm_find(&p->tab->fds, (uint64_t)ev->src_fd + 1);

		if (src && ev->src_fd == ev->fd)
			return 0; /* dup2(fd, fd) changes nothing */
		if (src) {
			snprintf(res, sizeof(res), "%s", ent_rec(*src)->resource);
			kind = ent_rec(*src)->res_kind;
		}
	}
	if (!res[0])
		corr_fd__describe(ev, res, sizeof(res));
	stack = stk_intern(c, &ev->stack);
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
	/* an fd already there was closed by dup2/dup3 (or we missed its close) */
	err = tab_put(p->tab, ev->fd, ev->fd_flags & LW_FD_CLOEXEC, r);
	if (err)
		rec_put(r);
	return err;
}

static int on_close(struct corr_fd *c, const struct lw_ev_fd_close *ev)
{
	struct proc *p = proc_live(c, ev->hdr.tgid);

	if (ev->ret != 0)
		c->failed_closes++;
	else if (p && ev->fd >= 0)
		tab_del(p->tab, ev->fd);
	return 0;
}

static int on_close_range(struct corr_fd *c, const struct lw_ev_fd_close_range *ev)
{
	struct proc *p = proc_live(c, ev->hdr.tgid);
	int err;

	if (!p || ev->first > ev->last || ev->first > (uint32_t)INT_MAX)
		return 0;
	if ((ev->flags & LW_CLOSE_RANGE_UNSHARE) && (err = proc_unshare(p)))
		return err;
	tab_sweep(p->tab, (int)ev->first, ev->last > (uint32_t)INT_MAX ? INT_MAX : (int)ev->last,
		  false, ev->flags & LW_CLOSE_RANGE_CLOEXEC);
	return 0;
}

static int on_cloexec(struct corr_fd *c, const struct lw_ev_fd_cloexec *ev)
{
	struct proc *p = proc_live(c, ev->hdr.tgid);
	uint64_t *v = p && ev->fd >= 0 ? hm_find(&p->tab->fds, (uint64_t)ev->fd + 1) : NULL;

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
	if (!parent->comm[0])
		set_comm(parent, ev->comm);
	set_comm(child, ev->comm);
	/* the tgid is still live for us: its exit was lost and the tgid reused */
	if (child->tab && (err = proc_end(c, child, ev->hdr.ts_ns)))
		return err;
	if (ev->fork_flags & LW_FORK_SHARED_FILES)
		err = proc_start(c, child, parent->tab, NULL);
	else
		err = proc_start(c, child, NULL, parent->tab);
	child->parent = parent->tgid;
	return err;
}

static int on_proc_exec(struct corr_fd *c, const struct lw_ev_proc_exec *ev)
{
	struct proc *p = proc_slot(c, ev->hdr.tgid, true);
	int err;

	if (!p)
		return -ENOMEM;
	set_comm(p, ev->comm);
	if (!p->tab)
		return 0;
	if ((err = proc_unshare(p)))
		return err;
	tab_sweep(p->tab, 0, INT_MAX, true, false);
	return 0;
}

static int on_proc_exit(struct corr_fd *c, const struct lw_ev_proc_exit *ev)
{
	struct proc *p = proc_live(c, ev->hdr.tgid);

	if (!p)
		return 0;
	if (!p->comm[0]) /* the exiting thread's name: better than nothing */
		set_comm(p, ev->comm);
	return proc_end(c, p, ev->hdr.ts_ns);
}

/* ---- public API ---- */

struct corr_fd *corr_fd__new(const struct corr_fd_opts *opts)
{
	struct corr_fd *c = calloc(1, sizeof(*c));

	if (c && opts)
		c->opts = *opts;
	return c;
}

void corr_fd__free(struct corr_fd *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->procs.cap; i++) {
		struct proc *p = (struct proc *)(uintptr_t)c->procs.vals[i];

		if (p && p->tab && --p->tab->refs == 0)
			tab_free(p->tab);
		free(p);
	}
	for (uint32_t i = 0; i < c->stks.cap; i++)
		free((void *)(uintptr_t)c->stks.vals[i]);
	for (size_t i = 0; i < c->nr_leaks; i++)
		rec_put(c->leaks[i].rec);
	hm_free(&c->procs);
	hm_free(&c->stks);
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
	};

	if (!c || !ev)
		return -EINVAL;
	if (ev->type >= LW_EV__MAX || !min_size[ev->type])
		return 0;
	if (ev->size < min_size[ev->type] || !ev->tgid)
		return -EINVAL;
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
	}
	return 0;
}

uint64_t corr_fd__failed_closes(const struct corr_fd *c)
{
	return c ? c->failed_closes : 0;
}

/* ---- grouping ---- */

static uint64_t age_ns(const struct item *it)
{
	return it->end_ns > it->rec->ts_ns ? it->end_ns - it->rec->ts_ns : 0;
}

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

	for (uint32_t s = 0; s < c->procs.cap; s++) {
		struct proc *p = (struct proc *)(uintptr_t)c->procs.vals[s];
		struct fdtab *t = p ? p->tab : NULL;

		if (!t || t->gen == gen)
			continue;
		t->gen = gen;
		for (uint32_t i = 0; i < t->fds.cap; i++) {
			struct item it = {.rec = ent_rec(t->fds.vals[i]), .end_ns = now_ns};

			if (!leak_candidate(t, i) || it.rec->gen == gen)
				continue;
			it.rec->gen = gen;
			it.fd = ent_fd(t, i);
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
	struct proc *p;

	if (!f)
		return -ENOMEM;
	for (size_t i = 1; i < g->len; i++)
		if (age_ns(&v[g->start + i]) > age_ns(oldest))
			oldest = &v[g->start + i];
	f->kind = "fd-leak";
	f->pid = first->rec->tgid;
	f->tid = oldest->rec->tid;
	if ((p = proc_slot(c, f->pid, false)))
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

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int corr_fd__open_fds(struct corr_fd *c, uint32_t tgid, int *fds, int max)
{
	struct proc *p = c ? proc_live(c, tgid) : NULL;
	size_t n = 0;
	int *all;

	if (!p || max <= 0 || !fds || !p->tab->fds.n)
		return 0;
	all = malloc(p->tab->fds.n * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->tab->fds.cap; i++)
		if (p->tab->fds.keys[i])
			all[n++] = ent_fd(p->tab, i);
	qsort(all, n, sizeof(*all), int_cmp);
	if (n > (size_t)max)
		n = (size_t)max;
	memcpy(fds, all, n * sizeof(*fds));
	free(all);
	return (int)n;
}

void corr_fd__forget(struct corr_fd *c, uint32_t tgid, int fd)
{
	struct proc *p = c ? proc_live(c, tgid) : NULL;

	if (p && fd >= 0)
		tab_del(p->tab, fd);
}

static const char *family_name(unsigned f)
{
	return f == AF_UNIX	 ? "AF_UNIX"
	       : f == AF_INET	 ? "AF_INET"
	       : f == AF_INET6	 ? "AF_INET6"
	       : f == AF_NETLINK ? "AF_NETLINK"
	       : f == AF_PACKET	 ? "AF_PACKET"
				 : NULL;
}

static const char *socktype_name(unsigned t)
{
	t &= ~(unsigned)(SOCK_NONBLOCK | SOCK_CLOEXEC);
	return t == SOCK_STREAM	     ? "SOCK_STREAM"
	       : t == SOCK_DGRAM     ? "SOCK_DGRAM"
	       : t == SOCK_SEQPACKET ? "SOCK_SEQPACKET"
	       : t == SOCK_RAW	     ? "SOCK_RAW"
				     : NULL;
}

void corr_fd__describe(const struct lw_ev_fd_open *ev, char *buf, size_t len)
{
	char name[LW_NAME_MAX + 1];
	unsigned long long ino;
	const char *fam, *typ;
	size_t n;

	if (!buf || !len)
		return;
	if (!ev) {
		snprintf(buf, len, "unknown");
		return;
	}
	n = strnlen(ev->name, LW_NAME_MAX); /* BPF may fill all of it */
	memcpy(name, ev->name, n);
	name[n] = '\0';
	ino = ev->ino;
	switch (ev->res_kind) {
	case LW_RES_SOCKET:
		fam = family_name(ev->sock_family);
		typ = socktype_name(ev->sock_type);
		if (fam || typ)
			snprintf(buf, len, "socket:[%llu] (%s%s%s)", ino, fam ? fam : "",
				 fam && typ ? ", " : "", typ ? typ : "");
		else
			snprintf(buf, len, "socket:[%llu]", ino);
		break;
	case LW_RES_PIPE:
		snprintf(buf, len, "pipe:[%llu]", ino);
		break;
	case LW_RES_ANON:
		snprintf(buf, len, "anon_inode:%s", name);
		break;
	default: /* LW_RES_FILE: the path argument */
		snprintf(buf, len, "%s", n ? name : "unknown");
		break;
	}
}
