/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LW_CMD_H
#define LW_CMD_H

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include "cli/options.h"

/* Each returns the process exit code; on failure err holds one line. */
int cmd_run(const struct lw_opts *o, char *err, size_t errlen);
int cmd_attach(const struct lw_opts *o, char *err, size_t errlen);
/* run --fault-sweep (cmd_sweep.c) */
int cmd_sweep(const struct lw_opts *o, char *err, size_t errlen);

struct lw_fault_plan;
struct lw_fault_run;
struct lw_session;
/* One run of o->argv under observation, with fr's faults when fr is set
 * (prepared here from plan, or o->faults when plan is NULL), in pre when
 * given (a session__new(o) made ahead; run_once owns it), else a new one. 0 with *sp ready for
 * session__collect/report (the caller frees it), or an exit code with err set. orig: the signal
 * mask the command gets (NULL: the caller's).
 */
int run_once(const struct lw_opts *o, const struct lw_fault_plan *plan, struct lw_fault_run *fr,
	     const sigset_t *orig, struct lw_session *pre, struct lw_session **sp, char *err,
	     size_t errlen);
/* The command's wait status as run's exit code (-1: not collected). */
int run_status_code(int status, bool keep_running);

#endif
