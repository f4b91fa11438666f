// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leakwatch attach -p PID: watch a running process and its descendants. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "cli/cmd.h"
#include "base/procfs.h"
#include "session/session.h"

static bool exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

int cmd_attach(const struct lw_opts *o, char *err, size_t errlen)
{
	struct lw_session *s = NULL;
	pid_t *kids = NULL;
	int rc = LW_EXIT_INTERNAL, e, pidfd, nkids = 0, found;
	sigset_t block;

	if (o->pid == getpid()) {
		snprintf(err, errlen, "cannot attach to leakwatch itself (pid %d)", o->pid);
		return LW_EXIT_USAGE;
	}
	/* its exits and closes are leakwatch's own: it would observe itself */
	if (procfs__is_ancestor(o->pid, getpid())) {
		snprintf(err, errlen,
			 "cannot attach to pid %d: it is an ancestor of leakwatch (pid %d)", o->pid,
			 getpid());
		return LW_EXIT_USAGE;
	}
	if (procfs__is_kthread(o->pid) == 1) {
		snprintf(err, errlen,
			 "cannot attach to pid %d: it is a kernel thread (no user space to watch)",
			 o->pid);
		return LW_EXIT_TARGET;
	}
	/* an end signal during attach is read by the loop, which then reports */
	session__end_signals(&block);
	sigprocmask(SIG_BLOCK, &block, NULL);
	pidfd = syscall(SYS_pidfd_open, o->pid, 0);
	if (pidfd < 0) {
		snprintf(err, errlen, "no such process: %d", o->pid);
		return LW_EXIT_TARGET;
	}
	e = session__new(&s, o);
	if (e) {
		snprintf(err, errlen, "%s", session__error(s));
		rc = e == -EINVAL ? LW_EXIT_USAGE : LW_EXIT_ENV;
		goto out;
	}
	if (session__add_target(s, o->pid, true)) {
		snprintf(err, errlen, "%s", session__error(s));
		goto out;
	}
	if (!o->no_follow) {
		nkids = procfs__descendants(o->pid, &kids);
		for (int i = 0; i < nkids; i++)
			session__add_target(s, kids[i], false);
	}
	if (session__attach(s)) {
		snprintf(err, errlen, "%s", session__error(s));
		rc = LW_EXIT_ENV;
		goto out;
	}
	if (session__attach_detectors(s, o->pid, NULL)) {
		snprintf(err, errlen, "%s", session__error(s));
		rc = LW_EXIT_TARGET;
		goto out;
	}
	/* after attach, so no fd slips between the snapshot and the probes */
	if (session__seed(s, o->pid) || exited(pidfd)) {
		snprintf(err, errlen, "process %d exited during attach", o->pid);
		rc = LW_EXIT_TARGET;
		goto out;
	}
	session__snapshot_maps(s, o->pid);
	for (int i = 0; i < nkids; i++) {
		session__seed(s, kids[i]);
		session__snapshot_maps(s, kids[i]);
	}
	if (!o->quiet)
		fprintf(stderr, "leakwatch: attached to pid %d (%d descendant%s)%s\n", o->pid,
			nkids > 0 ? nkids : 0, nkids == 1 ? "" : "s",
			o->duration_s > 0 ? "" : "; Ctrl-C to report");
	if (session__loop(s, pidfd, 0)) {
		snprintf(err, errlen, "%s", session__error(s));
		goto out;
	}
	found = session__report(s);
	if (found < 0) {
		snprintf(err, errlen, "%s", session__error(s));
		goto out;
	}
	rc = found > 0 ? o->error_exitcode : LW_EXIT_OK;
out:
	free(kids);
	close(pidfd);
	session__free(s);
	return rc;
}
