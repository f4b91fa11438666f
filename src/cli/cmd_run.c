// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leakwatch run -- CMD: the CI leak gate. The command is forked, held until
 * every probe is attached, then exec'd, so nothing it does early is missed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "cli/cmd.h"
#include "fault/fault_run.h"
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

/* Who the command runs as: leakwatch itself stays root to load BPF. */
struct run_user {
	bool drop;
	uid_t uid;
	gid_t gid;
	char name[64]; /* empty: a uid with no passwd entry */
};

/* -u NAME|UID, else $SUDO_UID/$SUDO_GID (sudo leakwatch run -- make test runs
 * the tests as the user who typed it), else stay root. 0 or -EINVAL.
 */
static int resolve_run_user(const char *spec, struct run_user *ru, char *err, size_t errlen)
{
	const char *sudo_uid = getenv("SUDO_UID"), *sudo_gid = getenv("SUDO_GID");
	struct passwd *pw = NULL;
	char *end;
	unsigned long id;

	memset(ru, 0, sizeof(*ru));
	if (!spec && (!sudo_uid || !*sudo_uid))
		return 0;
	errno = 0;
	id = strtoul(spec ? spec : sudo_uid, &end, 10);
	if (spec && (*end || end == spec || errno)) {
		pw = getpwnam(spec);
		if (!pw) {
			snprintf(err, errlen, "-u: no such user '%s'", spec);
			return -EINVAL;
		}
	} else if (*end || end == (spec ? spec : sudo_uid) || errno || id > 0x7fffffff) {
		snprintf(err, errlen, "%s: invalid uid '%s'", spec ? "-u" : "SUDO_UID",
			 spec ? spec : sudo_uid);
		return -EINVAL;
	} else {
		pw = getpwuid((uid_t)id);
	}
	ru->uid = pw ? pw->pw_uid : (uid_t)id;
	ru->gid = pw ? pw->pw_gid : (gid_t)ru->uid;
	if (!spec && sudo_gid && *sudo_gid)
		ru->gid = (gid_t)strtoul(sudo_gid, NULL, 10);
	if (pw)
		snprintf(ru->name, sizeof(ru->name), "%s", pw->pw_name);
	ru->drop = ru->uid != 0;
	return 0;
}

static int drop_to(const struct run_user *ru)
{
	if (!ru->drop)
		return 0;
	if (ru->name[0] ? initgroups(ru->name, ru->gid) : setgroups(1, &ru->gid))
		return -errno;
	if (setgid(ru->gid) || setuid(ru->uid))
		return -errno;
	return 0;
}

static void child_main(int go_fd, int err_fd, const struct lw_opts *o, const sigset_t *old,
		       const struct run_user *ru, pid_t leakwatch, char **envp)
{
	char **argv = o->argv;
	char c;
	int e;

	/* a sweep's faulted runs: the command's output would bury the report */
	if (o->command_quiet) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (nul >= 0) {
			dup2(nul, 1);
			dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
	}

	sigprocmask(SIG_SETMASK, old, NULL);
	/* EOF without a byte: leakwatch died before attaching; do not run untraced */
	if (read(go_fd, &c, 1) != 1)
		_exit(127);
	e = drop_to(ru);
	/* after the uid change, which clears it: the command never outlives
	 * leakwatch untraced (SIGKILL of leakwatch included) unless asked
	 */
	if (!e && !o->keep_running && prctl(PR_SET_PDEATHSIG, SIGKILL))
		e = -errno;
	/* leakwatch died between the go byte and the prctl */
	if (!e && !o->keep_running && getppid() != leakwatch)
		_exit(127);
	if (!e)
		execvpe(argv[0], argv, envp ? envp : environ);
	e = e ? -e : errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Fault rules need the library in the command: prepare it before the fork. */
static int prepare_faults(const struct lw_opts *o, const struct lw_fault_plan *plan,
			  const struct run_user *ru, struct lw_fault_run *fr, char *err,
			  size_t errlen)
{
	int e = fault_run__prepare(fr, plan, o->argv, environ, ru->drop ? ru->uid : 0,
				   ru->drop ? ru->gid : 0, err, errlen);

	if (e == -ENOENT)
		return LW_EXIT_ENV;
	if (e == -EINVAL)
		return LW_EXIT_USAGE;
	if (e)
		return LW_EXIT_TARGET;
	if (!fault_run__envp(fr, environ)) {
		snprintf(err, errlen, "out of memory");
		return LW_EXIT_INTERNAL;
	}
	fr->timeout_s = o->fault_timeout_s;
	return 0;
}

int run_once(const struct lw_opts *o, const struct lw_fault_plan *plan, struct lw_fault_run *fr,
	     const sigset_t *orig, struct lw_session *pre, struct lw_session **sp, char *err,
	     size_t errlen)
{
	struct lw_session *s = NULL;
	int go[2] = {-1, -1}, ep[2] = {-1, -1};
	int rc = LW_EXIT_INTERNAL, e, pidfd = -1, child_errno = 0, status;
	sigset_t block, old;
	struct run_user ru;
	char *cmdline;
	pid_t child, self;

	*sp = NULL;
	if (resolve_run_user(o->user, &ru, err, errlen)) {
		session__free(pre);
		return LW_EXIT_USAGE;
	}
	if (fr && (rc = prepare_faults(o, plan ? plan : o->faults, &ru, fr, err, errlen))) {
		session__free(pre);
		return rc;
	}
	rc = LW_EXIT_INTERNAL;
	/* from here on an end signal is read by the loop, which then reports:
	 * one that comes while BPF loads ends the run right after it starts
	 */
	session__end_signals(&block);
	sigaddset(&block, SIGCHLD); /* read by the loop when it follows the command */
	sigprocmask(SIG_BLOCK, &block, &old);
	/* a sweep's later runs: the command gets the mask leakwatch started with */
	if (orig)
		old = *orig;
	/* a sweep loads the next run's BPF while this one runs */
	s = pre;
	e = s ? 0 : session__new(&s, o);
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
	self = getpid();
	child = fork();
	if (child < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (child == 0)
		child_main(go[0], ep[1], o, &old, &ru, self, fr ? fr->envp : NULL);
	close(go[0]);
	close(ep[1]);
	go[0] = ep[1] = -1;

	if (fr) {
		if ((e = fault_run__write_conf(fr, child))) {
			snprintf(err, errlen, "--inject: cannot write %s: %s", fr->conf,
				 strerror(-e));
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			goto out;
		}
		session__set_report_hook(s, fault_run__report_hook, fr);
	}
	pidfd = syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0 || session__add_target(s, child, true) || session__attach(s)) {
		snprintf(err, errlen, "%s", pidfd < 0 ? strerror(errno) : session__error(s));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		rc = LW_EXIT_ENV;
		goto out;
	}
	/* no allocator, stripped binary, symbol missing: the target's problem */
	if (session__attach_detectors(s, child, o->argv)) {
		snprintf(err, errlen, "%s", session__error(s));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		rc = LW_EXIT_TARGET;
		goto out;
	}
	/* what the command inherits is not its leak */
	session__seed(s, child);
	if (session__follow(s, child)) {
		snprintf(err, errlen, "%s", session__error(s));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		goto out;
	}
	if (write(go[1], "g", 1) != 1) {
		snprintf(err, errlen, "cannot start the command: %s", strerror(errno));
		goto out;
	}
	close(go[1]);
	go[1] = -1;
	if (read(ep[0], &child_errno, sizeof(child_errno)) == sizeof(child_errno)) {
		session__release_stops(s);
		waitpid(child, NULL, 0);
		snprintf(err, errlen, "cannot run %s: %s", o->argv[0], strerror(child_errno));
		rc = LW_EXIT_TARGET;
		goto out;
	}

	session__loop(s, pidfd, child);
	status = session__child_status(s);
	if (status < 0 && o->keep_running) {
		fprintf(stderr, "leakwatch: %s (pid %d) keeps running, untraced (--keep-running)\n",
			o->argv[0], child);
	} else if (status < 0) {
		/* stopped early (second signal): end the command, then report */
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (fr)
		fr->timed_out = o->fault_timeout_s > 0 && o->duration_s == o->fault_timeout_s &&
				session__duration_hit(s);
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (rc) {
		session__free(s);
		return rc;
	}
	*sp = s;
	return 0;
}

/* The command's status as run's own: what it exited with, 128 + a signal. */
int run_status_code(int status, bool keep_running)
{
	if (status < 0)
		return keep_running ? LW_EXIT_OK : 128 + SIGKILL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return LW_EXIT_OK;
}

int cmd_run(const struct lw_opts *o, char *err, size_t errlen)
{
	struct lw_fault_run *fr = NULL;
	struct lw_session *s;
	int rc, found;

	if (o->faults && o->sweep)
		return cmd_sweep(o, err, errlen);
	if (o->faults && !(fr = calloc(1, sizeof(*fr)))) {
		snprintf(err, errlen, "out of memory");
		return LW_EXIT_INTERNAL;
	}
	rc = run_once(o, NULL, fr, NULL, NULL, &s, err, errlen);
	if (rc)
		goto out;
	found = session__report(s);
	if (found < 0) {
		snprintf(err, errlen, "%s", session__error(s));
		rc = LW_EXIT_INTERNAL;
	} else if (found > 0) {
		rc = o->error_exitcode;
	} else {
		rc = run_status_code(session__child_status(s), o->keep_running);
	}
	if (fr && !fr->log.n)
		fprintf(stderr, "leakwatch: --inject: the fault library never ran in the command "
				"(a static or set-id program, or LD_PRELOAD reset on the way)\n");
	else if (fr && !fault_run__fired(fr))
		fprintf(stderr, "leakwatch: --inject: no call matched, no fault was made\n");
	session__free(s);
out:
	if (fr)
		fault_run__free(fr);
	free(fr);
	return rc;
}
