/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Freeze a process with ptrace for a reachability scan, read its memory and
 * registers from outside, and thaw it exactly as it was (a signal that was
 * being delivered when it stopped is delivered on detach).
 */
#ifndef LW_FREEZE_H
#define LW_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lw_frozen_thread {
	pid_t tid;
	int resig; /* a signal to deliver on detach, 0 for none */
};

struct lw_freeze {
	pid_t pid;
	struct lw_frozen_thread *threads; /* seized */
	size_t nr_threads, cap_threads;
	uint64_t *regs; /* every general register of every stopped thread */
	size_t nr_regs, cap_regs;
	uint64_t *sps; /* each stopped thread's stack pointer */
	size_t nr_sps, cap_sps;
	/* run mode: stack pointers of threads that ended before the process
	 * (their stacks stay mapped in glibc's cache, full of stale pointers)
	 */
	uint64_t *dead_sps;
	size_t nr_dead_sps, cap_dead_sps;
	size_t unstopped; /* threads that would not stop in time (stacks read whole) */
	uint64_t stop_ns; /* CLOCK_MONOTONIC when the first thread stopped */
};

/* Stop every thread of pid. 0, or -errno with one line in err: -EPERM when
 * the process is already being traced (by a debugger, strace, ...), -ESRCH
 * when it is gone.
 */
int freeze__stop(pid_t pid, struct lw_freeze *f, char *err, size_t errlen);
/* Resume every stopped thread; returns how long the process was stopped. */
uint64_t freeze__thaw(struct lw_freeze *f);
/* Registers and stack pointer of one thread that is already in a ptrace stop
 * of ours (run mode's exit stop); appended to f.
 */
int freeze__add_stopped(struct lw_freeze *f, pid_t tid);
/* Memory of the frozen process (a struct lw_reach_io read callback; ctx is
 * the struct lw_freeze).
 */
ssize_t freeze__read(void *ctx, uint64_t addr, void *buf, size_t len);
void freeze__free(struct lw_freeze *f);

#endif
