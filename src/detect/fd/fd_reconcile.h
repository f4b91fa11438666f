/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* attach: /proc/PID/fd against the fds the model believes open, any number of
 * them, and when the corrections are too many for the report to be trusted.
 */
#ifndef LW_FD_RECONCILE_H
#define LW_FD_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>
#include "base/procfs.h"

/* Above both, the model missed closes wholesale (io_uring, a lost event
 * stream): the report says complete: false. A few corrections are normal:
 * fds closed by a syscall racing the attach, before the probes were live.
 */
#define LW_RECONCILE_MIN_STALE	  16 /* more than this many fds ... */
#define LW_RECONCILE_MIN_PERMILLE 10 /* ... and more than 1% of believed-open */

/* Sort real[] by fd and write to stale[] (room for nb) every believed[] fd
 * absent from it; returns how many. believed[] need not be sorted.
 */
int fd_reconcile__stale(const int *believed, int nb, struct lw_proc_fd *real, int nr, int *stale);
/* Whether stale corrections out of believed open fds make the report incomplete. */
bool fd_reconcile__too_many(uint64_t stale, uint64_t believed);

#endif
