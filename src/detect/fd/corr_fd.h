/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* fd correlator: replays fd/process events with the kernel's semantics and
 * says which fds leaked. Pure: no libbpf, no /proc, no clock.
 */
#ifndef LW_CORR_FD_H
#define LW_CORR_FD_H

#include <stdbool.h>
#include "base/proc_table.h"
#include "detect/fd/fd_live.h"
#include "report/finding.h"

struct corr_fd_opts {
	/* leaks = created after attach, still open at finish, age >= min_age;
	 * a process's exit closes its fds, so exits record no leaks
	 */
	bool attach_mode;
	uint64_t min_age_ns; /* attach mode only */
	/* valgrind's rule: every fd still open is an fd-leak (class "strict");
	 * otherwise only dead ones are, the rest fd-held (see corr_fd__probe_live)
	 */
	bool strict;
	/* fd numbers a program may hand to the programs it execs on purpose:
	 * no fd-inherited finding for them (0-2 never give one). Copied.
	 */
	const int *allow_inherit;
	unsigned nr_allow_inherit;
	/* the session's process table: a finding's comm is its process's at
	 * finish (NULL: no comm)
	 */
	lw_proc_lookup_fn proc;
	void *proc_ctx;
};

struct corr_fd;

struct corr_fd *corr_fd__new(const struct corr_fd_opts *opts);
void corr_fd__free(struct corr_fd *c);

/* An fd that existed before observation began (attach snapshot, or fds the
 * command inherited at start). Never a leak of that process.
 */
int corr_fd__seed(struct corr_fd *c, uint32_t tgid, int fd, const char *resource, bool cloexec);

/* Feed one record (struct lw_ev_*, header first). Stacks must be complete
 * (the session finishes partial ones first). Unknown types are ignored.
 * Returns 0 or -errno (ENOMEM).
 */
int corr_fd__feed(struct corr_fd *c, const struct lw_ev_hdr *ev);

/* Findings at the end of observation, appended to out ordered by (kind, pid,
 * fd). now_ns is on the events' clock.
 *  fd-leak, fd-held, fd-send-failed-leak: creations still open as above,
 *	grouped by (pid, creation stack, resource kind, finding kind, class,
 *	why). An fd the program can no longer use (its liveness probe said
 *	dead) is an fd-leak of class "dead" with the probe's reason as why;
 *	any other is fd-held, class "held", or "unknown" when no probe could
 *	tell (why: the probe's reason, or "not held still" when the process
 *	was never probed). With opts.strict all are fd-leak, class "strict".
 *	Growth turns fd-held into fd-leak after the fact
 *	(corr_fd__regrade_growing). A send-failed leak
 *	was carried by a send that failed (extra: "send failed at"); a received
 *	fd whose send we saw has extra "sent with SCM_RIGHTS at" and its
 *	resource ends in " (received from pid N fd M)".
 *  fd-double-close: close() gave -EBADF on a number the same process closed
 *	and did not reopen; per (pid, stack of that close), count = events;
 *	extra "previously closed at", "originally opened at".
 *  fd-inherited: an fd another process created survived an exec (fd > 2,
 *	not seeded, not allowed); per (pid, creation stack, file executed).
 *  fd-in-flight-lost: fds a successful SCM_RIGHTS send queued on an AF_UNIX
 *	socket that went away (its last fd in any table closed, replaced,
 *	swept by exec or close_range, or its process exited) before a
 *	recvmsg took them; per (pid that dropped the socket, send stack),
 *	count = fds lost; extra "receiving socket closed at" when that call
 *	has a stack. A socket still held at finish has lost nothing yet.
 * The last three are events: reported in both modes, whatever their age.
 */
int corr_fd__finish(struct corr_fd *c, uint64_t now_ns, struct lw_findings *out);

/* Whether fd of the held-still process is still of use (fd_live__probe
 * in life, a table in tests).
 */
typedef enum lw_fd_liveness (*corr_fd_probe_fn)(void *ctx, int fd, const char **why);

/* tgid is held still (run: at its exit; attach: at report time): probe
 * every fd it would answer for as a leak and keep the verdict for finish.
 * A later probe of the same fd replaces it. Returns how many were probed.
 */
int corr_fd__probe_live(struct corr_fd *c, uint32_t tgid, corr_fd_probe_fn probe, void *ctx);

/* The finding's site kept growing (--interval): an fd-held one is an
 * fd-leak after all, class "growing". Other kinds are left as they are.
 */
void corr_fd__regrade_growing(struct lw_finding *f);

/* Live fds per creation site right now, for --interval growth tracking. */
struct corr_fd_site {
	uint64_t key; /* stable hash of (pid, stack) */
	uint32_t pid;
	uint64_t live;
	struct lw_ips stack;
	char resource[LW_RESOURCE_MAX]; /* of one member */
};
/* Returns number of sites written (at most max, biggest live count first),
 * or -errno. Sites are per (pid, stack): unlike findings, the resource kind
 * does not split them, so keys are unique.
 */
int corr_fd__sites(struct corr_fd *c, struct corr_fd_site *sites, int max);
/* The site key of a finding or site: FNV-1a over pid, then stack->ips[0..nr). */
uint64_t corr_fd__site_key(uint32_t pid, const struct lw_ips *stack);

/* How many fds of process tgid the correlator believes open (for the
 * /proc/PID/fd reconciliation), written to fds[] up to max; returns count.
 */
int corr_fd__open_fds(struct corr_fd *c, uint32_t tgid, int *fds, int max);
/* All of them, sorted, in *out (the caller frees it); returns count. */
int corr_fd__open_fds_all(struct corr_fd *c, uint32_t tgid, int **out);
/* Reconciliation: fd is not open in reality: drop it silently. */
void corr_fd__forget(struct corr_fd *c, uint32_t tgid, int fd);

/* close() calls that failed (-EBADF...), double closes or not. */
uint64_t corr_fd__failed_closes(const struct corr_fd *c);

/* Describe a resource from an open record, e.g. "socket:[1234] (AF_INET, SOCK_STREAM)". */
void corr_fd__describe(const struct lw_ev_fd_open *ev, char *buf, size_t len);

#endif
