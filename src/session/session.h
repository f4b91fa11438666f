/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One observation: BPF events → stack completion → correlator, an epoll loop
 * over the ring buffer, signals, the target's pidfd and timers, and the final
 * report.
 */
#ifndef LW_SESSION_H
#define LW_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include "cli/options.h"
#include "report/report.h"

struct lw_session;

/* Loads BPF, opens the report sinks; nothing is attached yet. */
int session__new(struct lw_session **out, const struct lw_opts *opts);
void session__free(struct lw_session *s);
/* First error message recorded (for "leakwatch: error: ..."). */
const char *session__error(const struct lw_session *s);

int session__add_target(struct lw_session *s, pid_t pid, bool root);
int session__attach(struct lw_session *s);
/* Each enabled detector's probes on the target: pid (attach) or the
 * command argv (run, before exec). mem resolves the allocator that serves
 * it, pair each rule's function; an error names what is missing.
 */
int session__attach_detectors(struct lw_session *s, pid_t pid, char **argv);
/* What pid held before observation began (fd: its open fds, from /proc),
 * which is never its leak.
 */
int session__seed(struct lw_session *s, pid_t pid);
/* run: follow the command (forked, not yet exec'd) and its children with
 * ptrace, so each process is held at its exit while the detectors look at
 * what it still holds. Off with --no-freeze; a failure to follow is said
 * once and leaves the looks off. 0 or -ENOMEM.
 */
int session__follow(struct lw_session *s, pid_t child);
/* Let the followed processes go on untraced (the loop does it at its end). */
void session__release_stops(struct lw_session *s);
/* Learn pid's mappings now, while it is alive. */
void session__snapshot_maps(struct lw_session *s, pid_t pid);

/* The signals that end observation with a report: SIGINT, SIGTERM, SIGHUP
 * and SIGQUIT. Blocked from before the command is forked, read through a
 * signalfd, so none of them can end leakwatch without its report.
 */
void session__end_signals(sigset_t *set);

/* Run the loop until the root exits, an end signal, or --duration.
 * root_pidfd is polled for exit. run_child: forward SIGTERM, SIGHUP, SIGQUIT
 * (and SIGINT that was not sent by a terminal) to it and collect its status;
 * at --duration send it SIGTERM, then SIGKILL --kill-after seconds later.
 */
int session__loop(struct lw_session *s, int root_pidfd, pid_t run_child);

/* Drain, correlate, symbolize, suppress and write the report. Returns the
 * number of findings not suppressed, or -errno.
 */
int session__report(struct lw_session *s);

/* session__report in two steps: collect returns the number of findings not
 * suppressed that gate the exit (or -errno) and fills fs (the caller frees
 * it) and m (whose strings live as long as s); write emits a report
 * (findings of other sessions too: --fault-sweep) and detaches. 0 or -errno.
 */
int session__collect(struct lw_session *s, struct lw_findings *fs, struct lw_report_meta *m);
int session__write(struct lw_session *s, const struct lw_report_meta *m,
		   const struct lw_findings *fs);

/* Remove every probe now (write does it too): a sweep keeps its clean
 * run's session for the report while the faulted runs go on.
 */
void session__stop(struct lw_session *s);
/* Symbolize f's stacks with s's view of the processes (sweep sites). */
int session__symbolize(struct lw_session *s, struct lw_finding *f);

/* Called by collect after the detectors' findings are in and before they
 * are symbolized: it may add findings (raw stacks) and fill m's fault part.
 * child_status: the run command's wait status, -1 if not collected.
 */
typedef int (*lw_report_hook_fn)(void *ctx, struct lw_findings *fs, struct lw_report_meta *m,
				 int child_status);
void session__set_report_hook(struct lw_session *s, lw_report_hook_fn fn, void *ctx);

/* The first end signal (SIGINT, ...) the loop read, 0 when none came. */
int session__end_signal(const struct lw_session *s);
/* run mode: --duration's end came before the command's. */
bool session__duration_hit(const struct lw_session *s);
/* run mode: the child's wait status, -1 if not collected. */
int session__child_status(const struct lw_session *s);
void session__set_command(struct lw_session *s, const char *cmdline);

#endif
