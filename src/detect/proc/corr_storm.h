/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Respawn-storm correlator: a parent keeps starting the same program and
 * the children keep failing (the supervisor loop behind many fd leaks: each
 * failed generation leaves the parent a few descriptors it never closes).
 * Pure: no libbpf, no /proc, no clock; fed from the process events.
 *
 * Semantics:
 *  - a child belongs to (parent tgid, program); program is the filename of
 *    the child's last exec, or its comm when it never exec'd (a forked
 *    worker of the same binary). Children whose fork was not seen have no
 *    known parent and are ignored.
 *  - only non-zero exits count: WIFEXITED with a code other than 0, or a
 *    termination by a signal. A healthy restart (exit 0) never counts.
 *  - a storm is >= min_exits such exits of one (parent, program) within one
 *    window_ns window (the window is inclusive: last - first <= window_ns).
 *    The densest window wins; ties go to the earliest.
 *  - memory is bounded: the newest LW_STORM_EXITS_MAX non-zero exits per
 *    (parent, program), LW_STORM_KEYS_MAX keys, LW_STORM_SAMPLES_MAX fd
 *    samples per parent for LW_STORM_KEYS_MAX parents.
 */
#ifndef LW_CORR_STORM_H
#define LW_CORR_STORM_H

#include <stdint.h>
#include "base/proc_table.h"
#include "report/finding.h"

#define LW_STORM_EXITS_MAX   4096
#define LW_STORM_KEYS_MAX    4096
#define LW_STORM_SAMPLES_MAX 4096

struct corr_storm_opts {
	unsigned min_exits; /* 0: 5 */
	uint64_t window_ns; /* 0: 10 s */
	/* the session's process table, updated before each call below: comm
	 * and parent come from it (NULL: no comm, every parent unknown)
	 */
	lw_proc_lookup_fn proc;
	void *proc_ctx;
};

struct corr_storm;

/* opts may be NULL (defaults). NULL on ENOMEM. */
struct corr_storm *corr_storm__new(const struct corr_storm_opts *opts);
void corr_storm__free(struct corr_storm *c);

/* Process events, after the process table has them. Each returns 0 or
 * -ENOMEM.
 * fork: the child's parent is known (the table's ppid) from now on.
 * exec: the process runs filename now (its program).
 * exit: exit_code is the raw wait status ((code << 8) | signal); the
 *	program of a child that never exec'd is its comm in the table then,
 *	and the parent's comm then is the one a finding shows. The process
 *	is forgotten afterwards.
 */
int corr_storm__fork(struct corr_storm *c, uint32_t parent_tgid, uint32_t child_tgid,
		     uint64_t ts_ns);
int corr_storm__exec(struct corr_storm *c, uint32_t tgid, const char *filename, uint64_t ts_ns);
int corr_storm__exit(struct corr_storm *c, uint32_t tgid, int32_t exit_code, uint64_t ts_ns);

/* Optional: the parent's open fd count at ts_ns (the session samples it
 * from the fd correlator when a child exits). A finding states the first
 * and the last sample inside its window.
 */
int corr_storm__parent_fds(struct corr_storm *c, uint32_t parent_tgid, uint64_t ts_ns,
			   uint64_t open_fds);

/* Appends one "respawn-storm" finding per (parent, program) whose densest
 * window holds >= min_exits non-zero exits, in order of first exit:
 *  pid = tid = the parent, comm = its comm at the last exit, fd = -1,
 *  count = non-zero exits in the densest window, age_ms = that window's
 *  span (first to last exit), no stack, resource
 *  "PROGRAM: N non-zero exits in S.Ss (codes: 1 x7, signal 9 x1)" with
 *  exit codes ascending then signals ascending, plus "; parent fds A -> B"
 *  (first and last sample in the window; "; parent fds A" with one sample).
 * 0 or -ENOMEM.
 */
int corr_storm__finish(struct corr_storm *c, struct lw_findings *out);

#endif
