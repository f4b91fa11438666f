// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leakwatch run -- CMD: the CI leak gate. The command is forked, held until
 * every probe is attached, then exec'd, so nothing it does early is missed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "cli/cmd.h"
#include "session/session.h"

static char *join_argv(char **argv)
{
	size_t len = 1;
	char *s;

	for (char **a = argv; *a; a++)
		len += strlen(*a) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (char **a = argv; *a; a++) {
		if (a != argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

static void child_main(int go_fd, int err_fd, char **argv, const sigset_t *old)
{
	char c;
	int e;

	sigprocmask(SIG_SETMASK, old, NULL);
	/* EOF without a byte: leakwatch died before attaching; do not run untraced */
	if (read(go_fd, &c, 1) != 1)
		_exit(127);
	execvp(argv[0], argv);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int cmd_run(const struct lw_opts *o, char *err, size_t errlen)
{
	struct lw_session *s = NULL;
	int go[2] = {-1, -1}, ep[2] = {-1, -1};
	int rc = LW_EXIT_INTERNAL, e, pidfd = -1, child_errno = 0, status, found;
	sigset_t block, old;
	char *cmdline;
	pid_t child;

	e = session__new(&s, o);
	if (e) {
		snprintf(err, errlen, "%s", session__error(s));
		rc = e == -EINVAL ? LW_EXIT_USAGE : LW_EXIT_ENV;
		goto out;
	}
	cmdline = join_argv(o->argv);
	if (cmdline) {
		session__set_command(s, cmdline);
		free(cmdline);
	}
	if (pipe2(go, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	/* signals arrive through the session's signalfd */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	child = fork();
	if (child < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (child == 0)
		child_main(go[0], ep[1], o->argv, &old);
	close(go[0]);
	close(ep[1]);
	go[0] = ep[1] = -1;

	pidfd = syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0 || session__add_target(s, child, true) || session__attach(s)) {
		snprintf(err, errlen, "%s", pidfd < 0 ? strerror(errno) : session__error(s));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		rc = LW_EXIT_ENV;
		goto out;
	}
	/* no allocator, stripped binary, symbol missing: the target's problem */
	if (session__attach_mem(s, child, o->argv) || session__attach_pairs(s, child, o->argv)) {
		snprintf(err, errlen, "%s", session__error(s));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		rc = LW_EXIT_TARGET;
		goto out;
	}
	/* what the command inherits is not its leak */
	session__seed_fds(s, child);
	if (write(go[1], "g", 1) != 1) {
		snprintf(err, errlen, "cannot start the command: %s", strerror(errno));
		goto out;
	}
	close(go[1]);
	go[1] = -1;
	if (read(ep[0], &child_errno, sizeof(child_errno)) == sizeof(child_errno)) {
		waitpid(child, NULL, 0);
		snprintf(err, errlen, "cannot run %s: %s", o->argv[0], strerror(child_errno));
		rc = LW_EXIT_TARGET;
		goto out;
	}

	e = session__loop(s, pidfd, child);
	if (session__child_status(s) < 0) {
		/* stopped early (second signal): end the command, then report */
		kill(child, SIGKILL);
		if (waitpid(child, &status, 0) != child)
			status = SIGKILL; /* as the wait status of the kill above */
	} else {
		status = session__child_status(s);
	}
	found = session__report(s);
	if (found < 0) {
		snprintf(err, errlen, "%s", session__error(s));
		rc = LW_EXIT_INTERNAL;
		goto out;
	}
	if (found > 0)
		rc = o->error_exitcode;
	else if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	else
		rc = LW_EXIT_OK;
	(void)e;
out:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	session__free(s);
	return rc;
}
