/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* fd correlator internals shared by corr_fd.c (replaying events into fd
 * tables), corr_fd_close.c (closed-fd history, double close), corr_fd_xfer.c
 * (fds crossing a boundary: SCM_RIGHTS sends and receives, exec inheritance),
 * corr_fd_flight.c (fds queued on a socket that went away unread) and
 * corr_fd_group.c (turning all of it into findings and sites).
 * Not part of the API: only corr_fd*.c include it.
 */
#ifndef LW_CORR_FD_INTERNAL_H
#define LW_CORR_FD_INTERNAL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/vec.h"
#include <leakwatch/hash.h>
#include "detect/fd/corr_fd.h"
#include "base/hmap.h"

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
	/* the latest send carrying it failed (NULL: none, or a later one went
	 * through): the sender still owned it, so its leak is a send-failed leak
	 */
	const struct stk *send_failed;
	/* arrived with SCM_RIGHTS from a send we saw (NULL: unknown origin) */
	const struct stk *from_stack;
	uint32_t from_tgid;
	int32_t from_fd;
	uint64_t inherited_into; /* serial it was last reported inherited into */
	uint64_t ino;		 /* of the open file (0: unknown); dups share it */
	uint16_t res_kind;
	uint8_t live;	      /* LIVE_*: the last probe's verdict */
	const char *live_why; /* its reason (static), NULL when none */
	bool seeded, reported;
	bool uring; /* a leak candidate in a table that used io_uring */
	char resource[];
};

static inline void rec_put(struct rec *r)
{
	if (r && --r->refs == 0)
		free(r);
}

/* rec.live: not probed, or 1 + enum lw_fd_liveness */
#define LIVE_NONE 0

/* fds map fd + 1 → (uintptr_t)rec | ENT_CLOEXEC; recs are malloc-aligned. */
#define ENT_CLOEXEC 1ull

/* Successful closes of one table, for double-close findings: fd → the last
 * close of that number not followed by a reopen. Slots form an LRU list in
 * close order; indices, not pointers, so the array can grow.
 */
struct closed {
	int fd;
	uint32_t prev, next; /* HIST_NONE ends the list */
	uint64_t serial;     /* the closing process incarnation */
	const struct stk *stack;
	struct rec *rec; /* what was closed (a reference); NULL when never seen open */
};

#define HIST_NONE UINT32_MAX

struct close_hist {
	struct hmap *by_fd; /* fd + 1 → slot index */
	struct closed *slots;
	size_t nr_slots, cap_slots;
	uint32_t head, tail; /* newest, oldest */
	uint32_t free_list;  /* chained through next */
};

struct fdtab {
	struct hmap *fds;
	uint32_t refs; /* live processes using it */
	uint64_t gen;
	uint64_t *members; /* process serials, see the top of corr_fd.c */
	size_t nr_members, cap_members;
	struct close_hist *hist; /* NULL until the first close */
	/* a member submitted to an io_uring (io_uring_enter): IORING_OP_CLOSE is not traced,
	 * so what looks open here may not be (kept across fork, like the ring)
	 */
	bool uring;
};

/* A process's fd table (NULL once it exited); comm and parent are the
 * session's process table's.
 */
struct proc {
	uint32_t tgid;
	uint64_t serial; /* tgids are reused; serials are not */
	struct fdtab *tab;
};

struct item {
	struct rec *rec;
	int fd;
	uint64_t end_ns; /* exit time, or now for fds still open */
	/* what it is reported as (live_classify): static strings, cls and
	 * why NULL for kinds that say it all
	 */
	const char *kind, *cls, *why;
};

/* Findings that are events rather than leaks (fd-double-close,
 * fd-inherited), grouped as they happen: memory is per distinct group.
 */
struct xgroup {
	const char *kind;
	uint32_t tgid, tid;
	int fd; /* smallest member; resource and extra follow it */
	uint64_t count;
	unsigned nr_fds;
	int fds[LW_FINDING_FDS_MAX]; /* distinct, ascending, the smallest kept */
	const struct stk *stack;
	unsigned nr_extra;
	const char *labels[LW_FINDING_EXTRA_MAX];
	const struct stk *extra[LW_FINDING_EXTRA_MAX];
	char resource[LW_RESOURCE_MAX];
	char filename[LW_NAME_MAX + 1]; /* fd-inherited: part of the key */
};

/* Files by inode that crossed a socket, bounded: the newest LW_XFER_MAX. */
struct ino_ent {
	uint64_t ino;
	uint64_t ts_ns;
	const struct stk *stack; /* the send */
	struct rec *rec;	 /* a receive waiting for its send (a reference) */
	uint32_t tgid;
	int32_t fd;
};

struct ino_ring {
	struct hmap *by_ino; /* ino → slot + 1 */
	struct ino_ent *v;   /* LW_XFER_MAX slots, allocated on first use */
	uint32_t next;
};

#define LW_XFER_MAX	  4096
#define LW_HIST_MAX	  1024 /* closed fd numbers remembered per table */
#define LW_RANGE_EXPLICIT 64   /* close_range spans judged for double closes */
#define LW_FLIGHT_MAX	  4096 /* messages with fds in flight */

/* A successful SCM_RIGHTS send to a connected AF_UNIX socket: its fds wait
 * in the receiving socket's queue until a recvmsg installs them.
 */
struct flight_msg {
	uint64_t peer_ino; /* the receiving socket; 0: free slot */
	uint64_t ts_ns;
	const struct stk *stack; /* the send */
	uint32_t tgid;		 /* the sender */
	uint16_t nr;		 /* fds carried */
	uint16_t pending;	 /* bit i: fds[i] not received yet */
	int32_t fds[LW_RIGHTS_MAX];
	uint64_t inos[LW_RIGHTS_MAX];
};

/* Messages with fds not yet received, oldest first, bounded: beyond
 * LW_FLIGHT_MAX the oldest is forgotten (never reported).
 */
struct flight {
	struct flight_msg *v; /* LW_FLIGHT_MAX slots, allocated on first use */
	uint32_t head, next;  /* counters: oldest live message, next slot */
	struct hmap *by_peer; /* receiving socket ino → messages pending on it */
	struct hmap *by_ino;  /* carried ino → fds of it pending anywhere */
};

/* A removed fd entry of a socket that has fds in flight to it: once the
 * event is replayed, whether any table still holds that socket decides.
 */
struct gone {
	uint64_t ino;
	uint32_t tgid;
	int fd;
};

struct corr_fd {
	struct corr_fd_opts opts; /* allow_inherit points at our copy */
	struct hmap *procs;	  /* tgid → struct proc * (NULL when its calloc failed) */
	struct hmap *stks;	  /* stack hash (+ probe on collision) → struct stk * */
	struct item *leaks;	  /* recorded at table death; each holds a rec reference */
	size_t nr_leaks, cap_leaks;
	uint64_t next_serial, gen;
	uint64_t failed_closes;
	struct xgroup *xgroups;
	size_t nr_xgroups, cap_xgroups;
	struct hmap *xg_index; /* key hash (+ probe) → xgroup index + 1 */
	struct ino_ring sent;  /* successful sends: provenance for receives */
	struct ino_ring recvd; /* receives seen before their send (ringbuf order) */
	struct flight flight;  /* fds sent, not received yet */
	struct gone *gone;     /* removed during the current event */
	size_t nr_gone, cap_gone;
};

#define FNV_BASIS LW_FNV_BASIS
#define fnv1a	  lw_fnv1a

static inline struct rec *ent_rec(uint64_t v)
{
	return (struct rec *)(uintptr_t)(v & ~ENT_CLOEXEC);
}

static inline int ent_fd(uint64_t key)
{
	return (int)(key - 1);
}

static inline bool tab_is_member(const struct fdtab *t, uint64_t serial)
{
	/* a handful of CLONE_FILES sharers at most */
	for (size_t i = 0; i < t->nr_members; i++)
		if (t->members[i] == serial)
			return true;
	return false;
}

/* Does the fd entry (key, val) of t count as a leak of its creator? */
static inline bool leak_candidate(const struct fdtab *t, uint64_t key, uint64_t val)
{
	const struct rec *r = ent_rec(val);

	return ent_fd(key) > 2 && !r->seeded && !r->reported && tab_is_member(t, r->owner);
}

/* Which leak kind a creation is reported as. */
static inline const char *leak_kind(const struct rec *r)
{
	if (r->uring)
		return "fd-uncertain";
	return r->send_failed ? "fd-send-failed-leak" : "fd-leak";
}

static inline uint64_t age_ns(const struct item *it)
{
	return it->end_ns > it->rec->ts_ns ? it->end_ns - it->rec->ts_ns : 0;
}

/* Append suffix to the resource string in buf when all of it fits. */
static inline void res_suffix(char *buf, size_t len, const char *suffix)
{
	size_t n = strnlen(buf, len), k = strlen(suffix);

	if (n + k < len)
		memcpy(buf + n, suffix, k + 1);
}

/* corr_fd_live.c: the kind, class and evidence of a leak candidate */
void live_classify(const struct corr_fd *c, struct item *it);

/* corr_fd.c */
const struct stk *corr_fd_stk_intern(struct corr_fd *c, const struct lw_stack *s);

/* corr_fd_close.c: closed-fd history and double close */
void hist_free(struct close_hist *h);
void hist_forget(struct fdtab *t, int fd); /* the number is open again */
/* fd, already out of t, was closed by serial at stack (NULL: ENOMEM):
 * remember it; takes r's reference (NULL when never seen open)
 */
int hist_add(struct corr_fd *c, struct fdtab *t, uint64_t serial, int fd, const struct stk *stack,
	     struct rec *r);
/* close(fd) succeeded: takes the fd out of t and remembers who closed what */
int hist_close(struct corr_fd *c, struct fdtab *t, uint64_t serial,
	       const struct lw_ev_fd_close *ev);
/* close(fd) failed with -EBADF: a double close when serial closed it last */
int hist_bad_close(struct corr_fd *c, const struct fdtab *t, uint64_t serial,
		   const struct lw_ev_fd_close *ev);
/* close_range(first, last) (not CLOEXEC), before its sweep: it returns 0
 * over closed numbers, and is a double close only when the range is
 * explicit: fewer than LW_RANGE_EXPLICIT numbers, every one open now or
 * closed by serial and not reopened since; each of the latter is one.
 * A sweep over numbers never had (close_range(3, ~0U)) is the idiom.
 */
int hist_range_close(struct corr_fd *c, const struct fdtab *t, uint64_t serial,
		     const struct lw_ev_fd_close_range *ev);

/* corr_fd_xfer.c: fds crossing a boundary */
int xfer_send(struct corr_fd *c, struct fdtab *t, const struct lw_ev_fd_send *ev);
int xfer_receive(struct corr_fd *c, struct rec *r, uint64_t ino);
/* after exec's sweep: fds of others that the new image got */
int xfer_exec(struct corr_fd *c, struct proc *p, const struct lw_ev_proc_exec *ev);
void xfer_free(struct corr_fd *c);

/* corr_fd_flight.c: fds in flight on AF_UNIX sockets. delivered: bit i of
 * ev->fds was already received (its receive came first in the ringbuf).
 */
int flight_send(struct corr_fd *c, const struct lw_ev_fd_send *ev, const struct stk *stack,
		unsigned delivered);
/* A received fd of that inode: the oldest pending one is delivered. */
bool flight_receive(struct corr_fd *c, uint64_t ino);
/* Table entry (tgid, fd) → r is going away: remember it if r is a receiving
 * socket with fds pending (cheap otherwise).
 */
int flight_note(struct corr_fd *c, const struct rec *r, uint32_t tgid, int fd);
/* After each event: a noted socket no table holds any more lost its queue.
 * stack: the event's (a close, a dup2), NULL when it has none.
 */
int flight_settle(struct corr_fd *c, const struct lw_ev_hdr *ev, const struct stk *stack);
void flight_free(struct corr_fd *c);

/* corr_fd_group.c: event findings. g is the new member, worth g->count
 * (0 counts as 1); an existing group of the same key adds it, else g starts one.
 */
int xgroup_add(struct corr_fd *c, const struct xgroup *g);
void xgroup_free(struct corr_fd *c);

#endif
