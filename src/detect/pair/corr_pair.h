/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Pair correlator: replays acquire/retain/release/destroy calls of the
 * user-declared resources (pair_spec.h) and says which handles were never
 * released (pair-leak) and which were released more often than acquired
 * (pair-underflow). Pure: no libbpf, no /proc, no clock.
 *
 * A handle is (process, resource, handle value) with a balance: acquire
 * makes it 1, retain adds 1, release takes 1 (at 0 it is gone), destroy
 * ends it whatever the balance. Handle 0 is ignored (SSL_free(NULL)).
 *
 * Semantics worth knowing:
 *  - acquire of a live handle: the address was reused, so a release was
 *    missed: the old handle is recorded as a leak and a fresh one starts.
 *    Two exceptions: a constructor calling another traced constructor
 *    (BIO_new → BIO_new_ex) returns the same handle twice in a row on one
 *    thread, which is one acquire; and a handle known only from a retain
 *    (below) takes the acquire as its creation and adds 1.
 *  - retain of an unknown handle: attach mode ignores it (made before
 *    attach); run mode takes it as a retain of a creation we did not trace
 *    (a constructor missing from the spec, or a reference taken inside the
 *    constructor before it returned) and starts the handle at balance 1.
 *  - release or destroy of an unknown handle: attach mode ignores it; run
 *    mode reports pair-underflow, except in a forked child that has not
 *    exec'd (corr_pair__fork: it inherited handles we do not copy) and for
 *    a destroy that a release-to-0 calls itself (nxt_mp_release →
 *    nxt_mp_destroy: same thread, same handle, next traced call).
 *  - a release cannot say which reference it drops, so the creation stack
 *    and the newest retain stack stay with a handle while it lives.
 */
#ifndef LW_CORR_PAIR_H
#define LW_CORR_PAIR_H

#include <stdbool.h>
#include "report/finding.h"
#include "base/proc_table.h"
#include "detect/pair/pair_spec.h"

struct corr_pair_opts {
	/* run mode (false): every handle live at exit, exec or finish leaked.
	 * attach mode: exit and exec end handles without findings; handles
	 * live at finish leak when their creation is at least min_age old.
	 */
	bool attach_mode;
	uint64_t min_age_ns; /* attach mode only */
	/* the session's rule table, lw_ev_pair.rule indexes it; must outlive
	 * the correlator
	 */
	const struct lw_pair_spec *spec;
	/* the session's process table: findings take comm from it */
	lw_proc_lookup_fn proc;
	void *proc_ctx;
};

struct corr_pair;

struct corr_pair *corr_pair__new(const struct corr_pair_opts *opts);
void corr_pair__free(struct corr_pair *c);

/* One LW_EV_PAIR record and its complete stack. 0, -EINVAL when ev->rule
 * is not in the table, or -ENOMEM.
 */
int corr_pair__feed(struct corr_pair *c, const struct lw_ev_pair *ev, const struct lw_ips *stack);

/* Process lifecycle, from the same events as the fd correlator.
 * exec: the old image's handles are gone: leaks of that image in run mode
 * (aged to the process's last pair event), dropped in attach mode.
 * exit: live handles leak in run mode, are dropped in attach mode.
 * fork: the child starts with copies of the parent's handles, which we do
 * not track: until it execs, its releases of unknown handles are no
 * underflow (and what it inherited is never its leak).
 * exec and exit return 0 or -ENOMEM.
 */
int corr_pair__exec(struct corr_pair *c, uint32_t tgid);
int corr_pair__exit(struct corr_pair *c, uint32_t tgid, uint64_t ts_ns);
int corr_pair__fork(struct corr_pair *c, uint32_t parent_tgid, uint32_t child_tgid);

/* Findings appended to out (now_ns on the events' clock), in order
 * (kind, pid, resource, first handle):
 *  pair-leak: leaked handles grouped by (pid, resource, creation stack);
 *	count = handles; resource "RESOURCE (balance +N)" of the earliest
 *	created; stack = its creation; extra "last retained at" (the newest
 *	retain of the group's members) when any member was retained.
 *	Handles lost to address reuse are reported in both modes, at any age.
 *  pair-underflow: releases/destroys of unknown handles (run mode) grouped
 *	by (pid, resource, stack of the call); count = calls; resource
 *	"RESOURCE handle 0x..." of the first; extra "previously released at"
 *	(or "previously destroyed at") and "acquired at" when the handle ended
 *	recently.
 * Callers that sort all findings must keep this order within a pid
 * (lw_findings__sort compares kind, pid, fd only and fd is -1 here).
 */
int corr_pair__finish(struct corr_pair *c, uint64_t now_ns, struct lw_findings *out);

#endif
