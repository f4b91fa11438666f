// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator: fds in flight.
 *
 * A successful SCM_RIGHTS send does not hand fds to a process: the kernel
 * queues them on the receiving socket until a recvmsg installs them. When
 * that socket goes away first (its last fd closed in every table: close,
 * close_range, dup2 over it, exec of a close-on-exec copy, the exit of its
 * process) the queue is purged and the fds are closed unseen: whatever
 * they were meant for (a connection handed to a worker) silently never
 * happens. Reported as fd-in-flight-lost at the send, with the close as
 * evidence, attributed to the process that dropped the socket.
 *
 * Receives carry no socket, only the inode of each file installed; they
 * are paired with the oldest pending fd of that inode, whatever the peer.
 */
#include <stdio.h>
#include <string.h>
#include "detect/fd/corr_fd_internal.h"

_Static_assert(LW_RIGHTS_MAX <= 16, "flight_msg.pending bits");

/* Add d to the counter at key; at zero the key goes. */
static int count_add(struct hmap *m, uint64_t key, int d)
{
	uint64_t *v = d > 0 ? hmap__put(m, key, NULL) : hmap__get(m, key);

	if (!v)
		return d > 0 ? -ENOMEM : 0;
	*v += (uint64_t)(int64_t)d;
	if (!*v)
		hmap__del(m, key, NULL);
	return 0;
}

static struct flight_msg *slot_at(const struct flight *fl, uint32_t n)
{
	/* LW_FLIGHT_MAX divides 2^32: the counters wrap seamlessly */
	return &fl->v[n % LW_FLIGHT_MAX];
}

/* Forget message m and its counters; the oldest live one becomes head. */
static void msg_clear(struct flight *fl, struct flight_msg *m)
{
	for (unsigned i = 0; i < m->nr; i++)
		if (m->pending & (1u << i))
			count_add(fl->by_ino, m->inos[i], -1);
	count_add(fl->by_peer, m->peer_ino, -1);
	*m = (struct flight_msg){0};
	while (fl->head != fl->next && !slot_at(fl, fl->head)->peer_ino)
		fl->head++;
}

static int flight_init(struct flight *fl)
{
	if (fl->v)
		return 0;
	fl->v = calloc(LW_FLIGHT_MAX, sizeof(*fl->v));
	fl->by_peer = hmap__new();
	fl->by_ino = hmap__new();
	if (fl->v && fl->by_peer && fl->by_ino)
		return 0;
	free(fl->v);
	hmap__free(fl->by_peer);
	hmap__free(fl->by_ino);
	*fl = (struct flight){0};
	return -ENOMEM;
}

int flight_send(struct corr_fd *c, const struct lw_ev_fd_send *ev, const struct stk *stack,
		unsigned delivered)
{
	unsigned n = ev->nr_fds < LW_RIGHTS_MAX ? ev->nr_fds : LW_RIGHTS_MAX;
	struct flight *fl = &c->flight;
	struct flight_msg msg = {.peer_ino = ev->peer_ino, .ts_ns = ev->hdr.ts_ns};
	struct flight_msg *m;
	unsigned want;
	int err;

	msg.stack = stack;
	msg.tgid = ev->hdr.tgid;
	msg.nr = (uint16_t)n;
	for (unsigned i = 0; i < n; i++) {
		msg.fds[i] = ev->fds[i];
		msg.inos[i] = ev->inos[i];
		/* a file we cannot name cannot be paired with its receive */
		if (ev->inos[i] && !(delivered & (1u << i)))
			msg.pending |= (uint16_t)(1u << i);
	}
	if (ev->ret < 0 || !ev->peer_ino || !msg.pending)
		return 0;
	if ((err = flight_init(fl)))
		return err;
	if (fl->next - fl->head == LW_FLIGHT_MAX)
		msg_clear(fl, slot_at(fl, fl->head)); /* the oldest is forgotten */
	m = slot_at(fl, fl->next++);
	*m = msg;
	/* count what is counted so far, so that msg_clear can undo it */
	want = m->pending;
	m->pending = 0;
	if ((err = count_add(fl->by_peer, m->peer_ino, 1))) {
		*m = (struct flight_msg){0};
		fl->next--;
		return err;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!(want & (1u << i)))
			continue;
		if ((err = count_add(fl->by_ino, m->inos[i], 1))) {
			msg_clear(fl, m);
			return err;
		}
		m->pending |= (uint16_t)(1u << i);
	}
	return 0;
}

bool flight_receive(struct corr_fd *c, uint64_t ino)
{
	struct flight *fl = &c->flight;

	if (!ino || !fl->v || !hmap__get(fl->by_ino, ino))
		return false;
	for (uint32_t n = fl->head; n != fl->next; n++) {
		struct flight_msg *m = slot_at(fl, n);

		for (unsigned i = 0; m->peer_ino && i < m->nr; i++) {
			if (!(m->pending & (1u << i)) || m->inos[i] != ino)
				continue;
			m->pending &= (uint16_t) ~(1u << i);
			count_add(fl->by_ino, ino, -1);
			if (!m->pending)
				msg_clear(fl, m);
			return true;
		}
	}
	return false;
}

void flight_free(struct corr_fd *c)
{
	free(c->flight.v);
	hmap__free(c->flight.by_peer);
	hmap__free(c->flight.by_ino);
	c->flight = (struct flight){0};
	free(c->gone);
	c->gone = NULL;
	c->nr_gone = c->cap_gone = 0;
}

int flight_note(struct corr_fd *c, const struct rec *r, uint32_t tgid, int fd)
{
	if (!r->ino || !c->flight.v || !hmap__get(c->flight.by_peer, r->ino))
		return 0;
	if (lw_vec_grow((void **)&c->gone, &c->cap_gone, c->nr_gone + 1, sizeof(*c->gone)))
		return -ENOMEM;
	c->gone[c->nr_gone++] = (struct gone){.ino = r->ino, .tgid = tgid, .fd = fd};
	return 0;
}

/* Does any live table still hold the socket? (rare: only for noted ones) */
static bool ino_open(struct corr_fd *c, uint64_t ino)
{
	uint64_t gen = ++c->gen;
	struct hmap_iter pi = {0};

	while (hmap__next(c->procs, &pi)) {
		struct proc *p = (struct proc *)(uintptr_t)*pi.val;
		struct fdtab *t = p ? p->tab : NULL;
		struct hmap_iter fi = {0};

		if (!t || t->gen == gen)
			continue;
		t->gen = gen;
		while (hmap__next(t->fds, &fi))
			if (ent_rec(*fi.val)->ino == ino)
				return true;
	}
	return false;
}

static unsigned pending_count(const struct flight_msg *m)
{
	return (unsigned)__builtin_popcount(m->pending);
}

/* The first fd of m that was not received, as the sender numbered it. */
static int first_pending(const struct flight_msg *m)
{
	for (unsigned i = 0; i < m->nr; i++)
		if (m->pending & (1u << i))
			return m->fds[i];
	return -1;
}

/* The socket of g is gone: every fd pending on it is lost. One member per
 * send stack, worth all the fds lost from it (a loop of sends is one bug),
 * named after the oldest message.
 */
static int lose(struct corr_fd *c, const struct gone *g, uint32_t tid, const struct stk *stack)
{
	struct flight *fl = &c->flight;
	int err = 0;

	for (uint32_t n = fl->head; n != fl->next && !err; n++) {
		struct flight_msg *m = slot_at(fl, n);
		struct xgroup x = {.kind = "fd-in-flight-lost"};
		unsigned lost;

		if (m->peer_ino != g->ino)
			continue;
		x.tgid = g->tgid;
		x.tid = tid;
		x.fd = g->fd;
		x.stack = m->stack;
		lost = pending_count(m);
		/* later messages from the same call site join this one */
		for (uint32_t k = n + 1; k != fl->next; k++) {
			struct flight_msg *o = slot_at(fl, k);

			if (o->peer_ino == g->ino && o->stack == m->stack) {
				lost += pending_count(o);
				msg_clear(fl, o);
			}
		}
		x.count = lost;
		if (stack && stack->ips.nr) { /* close_range, exec, exit: no stack */
			x.labels[x.nr_extra] = "receiving socket closed at";
			x.extra[x.nr_extra++] = stack;
		}
		/* labels are static strings: the sender goes in the resource */
		snprintf(x.resource, sizeof(x.resource),
			 "socket:[%llu] closed with %u fd(s) in flight from pid %u fd %d",
			 (unsigned long long)g->ino, lost, m->tgid, first_pending(m));
		msg_clear(fl, m);
		err = xgroup_add(c, &x);
	}
	return err;
}

int flight_settle(struct corr_fd *c, const struct lw_ev_hdr *ev, const struct stk *stack)
{
	int err = 0;

	for (size_t i = 0; i < c->nr_gone && !err; i++) {
		const struct gone *g = &c->gone[i];

		/* already lost (two fds of it went in one event), or still held */
		if (!hmap__get(c->flight.by_peer, g->ino) || ino_open(c, g->ino))
			continue;
		err = lose(c, g, g->tgid == ev->tgid ? ev->tid : g->tgid, stack);
	}
	c->nr_gone = 0;
	return err;
}
