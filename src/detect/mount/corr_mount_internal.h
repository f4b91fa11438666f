/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* mount correlator internals shared by corr_mount.c (namespaces, the mounts
 * we believe exist, findings) and corr_mount_race.c (collision and race rules).
 * Not part of the API: only corr_mount*.c include it.
 */
#ifndef LW_CORR_MOUNT_INTERNAL_H
#define LW_CORR_MOUNT_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detect/mount/corr_mount.h"
#include "base/hmap.h"

#define LW_CLONE_NEWNS 0x20000ull

/* linux/mount.h: calls that change an existing mount instead of making one */
#define LW_MS_REMOUNT	  0x20ull
#define LW_MS_MOVE	  0x2000ull
#define LW_MS_PROPAGATION (0x20000ull | 0x40000ull | 0x80000ull | 0x100000ull)

#define MS_NS 1000000ull

/* What the mount model adds to the process table's entry. */
struct mproc {
	uint32_t ns; /* 0: not known yet */
	bool rerooted;
};

struct mns {
	uint32_t origin; /* namespace it was created from, 0 unknown */
	bool created;	 /* we saw it made: it dies with its last process */
	uint32_t nprocs;
};

/* A mount, umount2 or move_mount, kept for races. */
struct mop {
	bool valid;
	bool counted;  /* a failing op already counted in a race group */
	bool isolated; /* LW_MNT_ISOLATED: races nothing of another namespace */
	uint64_t ts, seq;
	uint32_t tgid, tid, ns, nr;
	int32_t ret;
	char comm[LW_COMM_LEN];
	char target[LW_NAME_MAX];
	struct lw_ips stack;
};

/* A mount we believe exists. */
struct mmount {
	uint64_t ts;
	uint32_t ns;	 /* where it is */
	uint32_t src_ns; /* where it was made (== ns unless copy) */
	uint32_t tgid, tid;
	bool copy;	 /* arrived in ns by propagation */
	bool propagated; /* own mount that put a copy in its origin */
	char comm[LW_COMM_LEN];
	char target[LW_NAME_MAX];
	char fstype[32];
	struct lw_ips stack;
};

struct pgroup {
	struct mmount first;
	uint64_t count;
};

enum { RACE_COLLISION, RACE_PROPAGATED_UMOUNT };

struct rgroup {
	int kind;
	uint64_t count;
	uint64_t gap;
	struct mop main, other; /* other: collision only */
	struct mmount made;	/* propagated umount only: the copy */
};

struct corr_mount {
	struct corr_mount_opts o;
	uint64_t seq;
	struct hmap *procs; /* tgid → struct mproc * */
	struct hmap *nss;   /* mnt_ns → struct mns * */
	struct mop *ops;    /* ring of LW_MNT_OPS_MAX */
	size_t ops_head;
	struct mmount *mounts;
	size_t nr_mounts, cap_mounts;
	struct pgroup *pg;
	size_t nr_pg, cap_pg;
	struct rgroup *rg;
	size_t nr_rg, cap_rg;
};

/* snprintf that may truncate: resources are bounded, paths may not be */
static inline void fmt(char *dst, size_t size, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static inline void fmt(char *dst, size_t size, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(dst, size, f, ap);
	va_end(ap);
}

static inline void copy_str(char *dst, size_t size, const char *src)
{
	fmt(dst, size, "%s", src ? src : "");
}

static inline void *grow(void **v, size_t n, size_t *cap, size_t elem)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return (char *)*v + n * elem;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return NULL;
	*v = nv;
	*cap = ncap;
	return (char *)nv + n * elem;
}

static inline void finding_from(struct lw_finding *f, const char *kind, uint32_t tgid, uint32_t tid,
				const char *comm, const struct lw_ips *stack)
{
	f->kind = kind;
	f->pid = tgid;
	f->tid = tid;
	memcpy(f->comm, comm, sizeof(f->comm));
	f->stack = *stack;
}

/* corr_mount_race.c */
struct rgroup *rgroup_get(struct corr_mount *c, int kind, const char *target, bool *added);
int race_check(struct corr_mount *c, struct mop *x);
int race_finding(const struct rgroup *g, struct lw_findings *out);

#endif
