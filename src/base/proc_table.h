/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The one process table: every traced process the session saw, in order of
 * first sight (the report lists them), with what fork, exec and exit said.
 * The session owns it and updates it before the detectors hear of an event;
 * detectors read it (lw_proc_lookup_fn) and keep only their own state.
 * Pure: no I/O.
 */
#ifndef LW_PROC_TABLE_H
#define LW_PROC_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <leakwatch/events.h>

struct lw_proc {
	uint32_t pid;  /* tgid */
	uint32_t ppid; /* 0 when unknown */
	char comm[LW_COMM_LEN];
	int exited;
	int exit_code;	   /* raw wait status when exited */
	uint32_t exec_gen; /* execs seen: mirrors the BPF target's, part of rule keys */
	uint32_t serial;   /* 1-based order of first sight: a reused tgid gets a new one */
	bool root;	   /* the process the session was started on */
};

/* The newest entry for tgid (live, or the last that exited); NULL when
 * never seen. The pointer is valid until the table next changes.
 */
typedef const struct lw_proc *(*lw_proc_lookup_fn)(void *ctx, uint32_t tgid);

struct lw_procs {
	struct lw_proc *v;
	size_t n, cap;
	struct hmap *newest; /* tgid → index of its newest entry */
};

void lw_procs__free(struct lw_procs *t);
/* The live entry for tgid, a new zeroed one when it has none (first sight,
 * or its last one exited); NULL on ENOMEM.
 */
struct lw_proc *lw_procs__get(struct lw_procs *t, uint32_t tgid);
const struct lw_proc *lw_procs__find(const struct lw_procs *t, uint32_t tgid);
/* lw_proc_lookup_fn over a struct lw_procs (ctx). */
const struct lw_proc *lw_procs__lookup(void *ctx, uint32_t tgid);

/* The record's updates; each returns the entry (NULL on ENOMEM). */
struct lw_proc *lw_procs__fork(struct lw_procs *t, uint32_t parent, uint32_t child,
			       const char *comm);
struct lw_proc *lw_procs__exec(struct lw_procs *t, uint32_t tgid, const char *comm);
struct lw_proc *lw_procs__exit(struct lw_procs *t, uint32_t tgid, int exit_code, const char *comm);

#endif
