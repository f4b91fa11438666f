// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator: successful closes per table, so that a close() failing with
 * -EBADF on a number the same process closed and has not reopened since is
 * reported as fd-double-close with both earlier stacks (valgrind 3.23 prints
 * "Previously closed" and "Originally opened" the same way). close_range()
 * succeeds over closed numbers: see hist_range_close for when it is one.
 *
 * Memory is bounded: an entry goes when its number is reused (any open into
 * the table, dup2 over it included), at exec, and beyond LW_HIST_MAX entries
 * per table the oldest close is forgotten first.
 */
#include <stdio.h>
#include <string.h>
#include "detect/fd/corr_fd_internal.h"

void hist_free(struct close_hist *h)
{
	if (!h)
		return;
	for (uint32_t i = h->head; i != HIST_NONE; i = h->slots[i].next)
		rec_put(h->slots[i].rec);
	hmap__free(h->by_fd);
	free(h->slots);
	free(h);
}

static void hist_unlink(struct close_hist *h, uint32_t i)
{
	struct closed *e = &h->slots[i];

	if (e->prev != HIST_NONE)
		h->slots[e->prev].next = e->next;
	else
		h->head = e->next;
	if (e->next != HIST_NONE)
		h->slots[e->next].prev = e->prev;
	else
		h->tail = e->prev;
}

/* Unlink slot i and put it on the free list; the caller fixed by_fd. */
static void hist_drop(struct close_hist *h, uint32_t i)
{
	hist_unlink(h, i);
	rec_put(h->slots[i].rec);
	h->slots[i].rec = NULL;
	h->slots[i].next = h->free_list;
	h->free_list = i;
}

void hist_forget(struct fdtab *t, int fd)
{
	uint64_t i;

	if (t->hist && hmap__del(t->hist->by_fd, (uint64_t)fd + 1, &i))
		hist_drop(t->hist, (uint32_t)i);
}

static struct close_hist *hist_get(struct fdtab *t)
{
	struct close_hist *h = t->hist;

	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->by_fd = hmap__new())) {
		free(h);
		return NULL;
	}
	h->head = h->tail = h->free_list = HIST_NONE;
	t->hist = h;
	return h;
}

/* A slot for a new entry: a free one, a new one, or the oldest close. */
static int hist_slot(struct close_hist *h, uint32_t *out)
{
	uint32_t i = h->free_list;

	if (i != HIST_NONE) {
		h->free_list = h->slots[i].next;
	} else if (h->nr_slots < LW_HIST_MAX) {
		if (lw_vec_grow((void **)&h->slots, &h->cap_slots, h->nr_slots + 1,
				sizeof(*h->slots)))
			return -ENOMEM;
		i = (uint32_t)h->nr_slots++;
	} else {
		i = h->tail;
		hmap__del(h->by_fd, (uint64_t)h->slots[i].fd + 1, NULL);
		hist_unlink(h, i);
		rec_put(h->slots[i].rec);
	}
	*out = i;
	return 0;
}

int hist_add(struct corr_fd *c, struct fdtab *t, uint64_t serial, int fd, const struct stk *stack,
	     struct rec *r)
{
	struct close_hist *h = stack ? hist_get(t) : NULL;
	uint64_t *v;
	uint32_t i;

	(void)c;
	hist_forget(t, fd); /* a close we never saw reopened: keep the newest */
	if (!h || hist_slot(h, &i)) {
		rec_put(r);
		return -ENOMEM;
	}
	h->slots[i] = (struct closed){
	    .fd = fd,
	    .prev = HIST_NONE,
	    .next = h->head,
	    .serial = serial,
	    .stack = stack,
	    .rec = r,
	};
	if (h->head != HIST_NONE)
		h->slots[h->head].prev = i;
	else
		h->tail = i;
	h->head = i;
	v = hmap__put(h->by_fd, (uint64_t)fd + 1, NULL);
	if (!v) {
		hist_drop(h, i);
		return -ENOMEM;
	}
	*v = i;
	return 0;
}

int hist_close(struct corr_fd *c, struct fdtab *t, uint64_t serial, const struct lw_ev_fd_close *ev)
{
	struct rec *r = NULL;
	uint64_t ent;

	if (hmap__del(t->fds, (uint64_t)ev->fd + 1, &ent))
		r = ent_rec(ent); /* its table reference moves to the history */
	return hist_add(c, t, serial, ev->fd, corr_fd_stk_intern(c, &ev->stack), r);
}

/* The last close of fd in t when serial made it and fd was not reopened. */
static const struct closed *closed_by(const struct fdtab *t, uint64_t serial, int fd)
{
	uint64_t *i = t->hist ? hmap__get(t->hist->by_fd, (uint64_t)fd + 1) : NULL;
	const struct closed *e = i ? &t->hist->slots[*i] : NULL;

	/* never closed here, or by another process sharing the table */
	return e && e->serial == serial ? e : NULL;
}

static int double_close(struct corr_fd *c, const struct closed *e, const struct lw_ev_hdr *hdr,
			int fd, const struct lw_stack *stack)
{
	struct xgroup g = {.kind = "fd-double-close"};

	g.tgid = hdr->tgid;
	g.tid = hdr->tid;
	g.fd = fd;
	g.stack = corr_fd_stk_intern(c, stack);
	if (!g.stack)
		return -ENOMEM;
	if (e->stack->ips.nr) { /* a close whose stack was not kept adds nothing */
		g.labels[g.nr_extra] = "previously closed at";
		g.extra[g.nr_extra++] = e->stack;
	}
	if (e->rec && e->rec->stack) {
		g.labels[g.nr_extra] = "originally opened at";
		g.extra[g.nr_extra++] = e->rec->stack;
	}
	snprintf(g.resource, sizeof(g.resource), "%s", e->rec ? e->rec->resource : "unknown");
	return xgroup_add(c, &g);
}

int hist_bad_close(struct corr_fd *c, const struct fdtab *t, uint64_t serial,
		   const struct lw_ev_fd_close *ev)
{
	const struct closed *e = closed_by(t, serial, ev->fd);

	return e ? double_close(c, e, &ev->hdr, ev->fd, &ev->stack) : 0;
}

int hist_range_close(struct corr_fd *c, const struct fdtab *t, uint64_t serial,
		     const struct lw_ev_fd_close_range *ev)
{
	int64_t first = ev->first, last = ev->last, fd;
	unsigned closed = 0;
	int err = 0;

	if (!t->hist || first > last || last - first >= LW_RANGE_EXPLICIT)
		return 0;
	for (fd = first; fd <= last; fd++) {
		if (hmap__get(t->fds, (uint64_t)fd + 1))
			continue;
		if (!closed_by(t, serial, (int)fd))
			return 0; /* a number it does not know: a sweep */
		closed++;
	}
	for (fd = first; closed && fd <= last && !err; fd++) {
		const struct closed *e =
		    hmap__get(t->fds, (uint64_t)fd + 1) ? NULL : closed_by(t, serial, (int)fd);

		if (e)
			err = double_close(c, e, &ev->hdr, (int)fd, &ev->stack);
	}
	return err;
}
