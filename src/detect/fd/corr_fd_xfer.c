// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator: fds that cross a boundary.
 *
 * SCM_RIGHTS: a send that fails leaves every fd it carried with the sender,
 * which then often forgets to close it (FreeUnit's nxt_port_socket_write
 * error path): such a creation is marked with the failed send's stack and
 * its leak becomes fd-send-failed-leak. A send that goes through clears the
 * mark (the sender must still close its copy: a plain fd-leak) and is
 * remembered by inode, so the receiving fd learns where it came from, and
 * handed to corr_fd_flight.c until it is received (fd-in-flight-lost).
 *
 * exec: fds another process created that survive an exec were handed to a
 * program that did not ask for them (a supervisor's bootstrap socket in its
 * sandboxed child): fd-inherited.
 */
#include <stdio.h>
#include <string.h>
#include "detect/fd/corr_fd_internal.h"

/* ---- inode rings: the newest LW_XFER_MAX entries by inode ---- */

static struct ino_ent *ring_get(const struct ino_ring *g, uint64_t ino)
{
	uint64_t *v = g->by_ino ? hmap__get(g->by_ino, ino) : NULL;

	return v ? &g->v[*v - 1] : NULL;
}

/* Empty slot e, dropping its index entry when the index still points at it. */
static void ring_clear(struct ino_ring *g, struct ino_ent *e)
{
	uint64_t *v = e->ino ? hmap__get(g->by_ino, e->ino) : NULL;

	if (v && *v == (uint64_t)(e - g->v) + 1)
		hmap__del(g->by_ino, e->ino, NULL);
	rec_put(e->rec);
	*e = (struct ino_ent){0};
}

/* Copy e into the oldest slot; takes a reference to e->rec. */
static int ring_put(struct ino_ring *g, const struct ino_ent *e)
{
	struct ino_ent *slot;
	uint64_t *v;

	if (!g->v) {
		g->v = calloc(LW_XFER_MAX, sizeof(*g->v));
		g->by_ino = g->v ? hmap__new() : NULL;
		if (!g->by_ino) {
			free(g->v);
			g->v = NULL;
			return -ENOMEM;
		}
	}
	/* LW_XFER_MAX divides 2^32: the counter wraps seamlessly */
	slot = &g->v[g->next++ % LW_XFER_MAX];
	ring_clear(g, slot);
	v = hmap__put(g->by_ino, e->ino, NULL);
	if (!v)
		return -ENOMEM;
	*v = (uint64_t)(slot - g->v) + 1; /* a newer entry of the same inode wins */
	*slot = *e;
	if (slot->rec)
		slot->rec->refs++;
	return 0;
}

static void ring_free(struct ino_ring *g)
{
	for (size_t i = 0; g->v && i < LW_XFER_MAX; i++)
		rec_put(g->v[i].rec);
	free(g->v);
	hmap__free(g->by_ino);
	*g = (struct ino_ring){0};
}

void xfer_free(struct corr_fd *c)
{
	ring_free(&c->sent);
	ring_free(&c->recvd);
}

/* ---- SCM_RIGHTS ---- */

static void set_origin(struct rec *r, const struct ino_ent *send)
{
	r->from_tgid = send->tgid;
	r->from_fd = send->fd;
	r->from_stack = send->stack;
}

int xfer_send(struct corr_fd *c, struct fdtab *t, const struct lw_ev_fd_send *ev)
{
	unsigned n = ev->nr_fds < LW_RIGHTS_MAX ? ev->nr_fds : LW_RIGHTS_MAX;
	const struct stk *stack = corr_fd_stk_intern(c, &ev->stack);
	unsigned delivered = 0; /* bit i: fds[i] was received already */
	int err = 0;

	if (!stack)
		return -ENOMEM;
	for (unsigned i = 0; i < n && !err; i++) {
		int fd = ev->fds[i];
		uint64_t *v = t && fd >= 0 ? hmap__get(t->fds, (uint64_t)fd + 1) : NULL;
		struct rec *r = v ? ent_rec(*v) : NULL;
		struct ino_ent sent = {
		    .ino = ev->inos[i],
		    .ts_ns = ev->hdr.ts_ns,
		    .stack = stack,
		    .tgid = ev->hdr.tgid,
		    .fd = fd,
		};
		struct ino_ent *early;

		/* only the copy its creator answers for: a fork child's failed
		 * send does not make the parent's leak a send-failed one
		 */
		if (r && tab_is_member(t, r->owner))
			r->send_failed = ev->ret < 0 ? stack : NULL;
		if (ev->ret < 0 || !sent.ino)
			continue;
		/* the receiver's recvmsg can return before our sendmsg exit is
		 * traced: its fd waits in recvd for this send
		 */
		early = ring_get(&c->recvd, sent.ino);
		if (early) {
			if (!early->rec->from_stack)
				set_origin(early->rec, &sent);
			ring_clear(&c->recvd, early);
			delivered |= 1u << i;
		}
		err = ring_put(&c->sent, &sent);
	}
	return err ? err : flight_send(c, ev, stack, delivered);
}

int xfer_receive(struct corr_fd *c, struct rec *r, uint64_t ino)
{
	const struct ino_ent *send = ring_get(&c->sent, ino);
	struct ino_ent wait = {.ino = ino, .rec = r};
	bool in_flight = flight_receive(c, ino);

	if (send)
		set_origin(r, send);
	/* no send pending: either none seen yet (ringbuf order; the send of
	 * the same file seen is an older one), or one we do not track. Wait
	 * for it, so that it does not count as in flight when it comes.
	 */
	if (in_flight || (send && !c->flight.v))
		return 0;
	return ring_put(&c->recvd, &wait);
}

/* ---- exec ---- */

static bool allowed(const struct corr_fd *c, int fd)
{
	for (unsigned i = 0; i < c->opts.nr_allow_inherit; i++)
		if (c->opts.allow_inherit[i] == fd)
			return true;
	return false;
}

int xfer_exec(struct corr_fd *c, struct proc *p, const struct lw_ev_proc_exec *ev)
{
	size_t len = strnlen(ev->filename, LW_NAME_MAX); /* BPF may fill all of it */
	struct hmap_iter it = {0};
	struct xgroup g = {.kind = "fd-inherited"};
	char suffix[LW_NAME_MAX + 16];
	int err = 0;

	memcpy(g.filename, ev->filename, len);
	g.filename[len] = '\0';
	snprintf(suffix, sizeof(suffix), " (into %s)", g.filename);
	g.tgid = p->tgid;
	g.tid = ev->hdr.tid;
	while (!err && hmap__next(p->tab->fds, &it)) {
		struct rec *r = ent_rec(*it.val);
		int fd = ent_fd(it.key);

		/* what the process created itself it passes on knowingly (and
		 * answers for as fd-leak); seeded fds predate us
		 */
		if (fd <= 2 || r->seeded || !r->stack || r->owner == p->serial ||
		    r->inherited_into == p->serial || allowed(c, fd))
			continue;
		r->inherited_into = p->serial; /* once per process, not per exec */
		g.fd = fd;
		g.stack = r->stack;
		snprintf(g.resource, sizeof(g.resource), "%s", r->resource);
		if (len)
			res_suffix(g.resource, sizeof(g.resource), suffix);
		err = xgroup_add(c, &g);
	}
	return err;
}
