/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* fd correlator internals shared by corr_fd.c (replaying events into fd
 * tables) and corr_fd_group.c (turning what leaked into findings and sites).
 * Not part of the API: only corr_fd*.c include it.
 */
#ifndef LW_CORR_FD_INTERNAL_H
#define LW_CORR_FD_INTERNAL_H

#include <errno.h>
#include <stdlib.h>
#include "corr_fd.h"
#include "hmap.h"

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
	struct hmap *fds;
	uint32_t refs; /* live processes using it */
	uint64_t gen;
	uint64_t *members; /* process serials, see the top of corr_fd.c */
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
	struct hmap *procs; /* tgid → struct proc * (NULL when its calloc failed) */
	struct hmap *stks;  /* stack hash (+ probe on collision) → struct stk * */
	struct item *leaks; /* recorded at table death; each holds a rec reference */
	size_t nr_leaks, cap_leaks;
	uint64_t next_serial, gen;
	uint64_t failed_closes;
};

#define FNV_BASIS 0xcbf29ce484222325ull

static inline uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static inline int grow(void **v, size_t *cap, size_t need, size_t elem)
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

static inline uint64_t age_ns(const struct item *it)
{
	return it->end_ns > it->rec->ts_ns ? it->end_ns - it->rec->ts_ns : 0;
}

#endif
