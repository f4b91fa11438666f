/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* run mode: every process of the command, followed through clone, fork and
 * vfork with ptrace, is held at its exit (PTRACE_EVENT_EXIT: after its
 * atexit handlers, before the kernel tears down its memory and fd table)
 * while the detectors look at what it still holds. Signals are passed on,
 * group stops kept, so the command behaves as it would untraced.
 */
#ifndef LW_EXIT_STOP_H
#define LW_EXIT_STOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct lw_freeze;
struct exit_stops;

/* The whole thread group tgid is at its exit; fz has every stopped
 * thread's registers. Called from exit_stops__poll.
 */
typedef void (*exit_stop_fn)(void *ctx, pid_t tgid, struct lw_freeze *fz);

/* A new process of the command, seen stopped before it runs any code. */
typedef void (*exit_new_fn)(void *ctx, pid_t tgid);

struct exit_stop_stats {
	uint64_t held;	       /* processes held at their exit */
	uint64_t pause_ns;     /* total time they were held */
	uint64_t pause_max_ns; /* the longest */
	uint64_t timed_out;    /* held past the wait for their other threads */
};

int exit_stops__new(struct exit_stops **out, exit_stop_fn fn, exit_new_fn on_new, void *ctx);
void exit_stops__free(struct exit_stops *x);
/* Follow pid (not yet exec'd). 0 or -errno. */
int exit_stops__seize(struct exit_stops *x, pid_t pid);
/* Handle every pending ptrace stop without blocking. The wait status of
 * run_child, when it is reaped here, goes to *status.
 */
void exit_stops__poll(struct exit_stops *x, pid_t run_child, int *status);
/* Let go of every tracee (observation ended early: --keep-running). */
void exit_stops__release(struct exit_stops *x);
const struct exit_stop_stats *exit_stops__stats(const struct exit_stops *x);

#endif
