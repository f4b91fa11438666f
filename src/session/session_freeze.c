// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Holding processes still for the detectors' look from outside: run mode
 * at each process's exit (exit_stop.c), attach mode at report time
 * (freeze.c). Reachability of heap blocks and liveness of fds need it.
 */
#include <sys/syscall.h>
#include "detect/mem/freeze.h"
#include "session/exit_stop.h"
#include "session/session_internal.h"

static bool wants_freeze(const struct lw_session *s)
{
	if (s->opts->no_freeze)
		return false;
	for (size_t i = 0; i < s->nr_dets; i++)
		if (s->dets[i].ops->on_frozen)
			return true;
	return false;
}

static void freeze_off(struct lw_session *s, const char *why)
{
	s->scan.not_frozen++;
	if (!s->scan.off[0]) {
		snprintf(s->scan.off, sizeof(s->scan.off), "%s", why);
		if (!s->opts->quiet)
			fprintf(stderr, "leakwatch: %s: reachability and fd liveness are off\n",
				why);
	}
}

/* Every detector looks at the frozen process; the records it made before
 * it stopped are all in the ring buffer by now.
 */
static void look(struct lw_session *s, pid_t pid, const struct lw_freeze *fz, bool at_exit)
{
	struct lw_frozen fr = {.pid = pid, .fz = fz, .at_exit = at_exit};

	while (ring_reader__consume(s->rb) > 0)
		;
	fr.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (size_t i = 0; i < s->nr_dets; i++)
		if (s->dets[i].ops->on_frozen && s->dets[i].ops->on_frozen(s->dets[i].d, &fr))
			s->user_errors++;
	if (fr.pidfd >= 0)
		close(fr.pidfd);
}

static void on_exit_stop(void *ctx, pid_t tgid, struct lw_freeze *fz)
{
	look(ctx, tgid, fz, true);
}

static void on_new_process(void *ctx, pid_t tgid)
{
	session_watch(ctx, (uint32_t)tgid);
}

int session__follow(struct lw_session *s, pid_t child)
{
	char why[160];
	int e;

	if (!wants_freeze(s))
		return 0;
	e = exit_stops__new(&s->xs, on_exit_stop, on_new_process, s);
	if (e)
		return set_error(s, e, "out of memory");
	e = exit_stops__seize(s->xs, child);
	if (e) {
		exit_stops__free(s->xs);
		s->xs = NULL;
		snprintf(why, sizeof(why), "cannot follow the command with ptrace: %s",
			 strerror(-e));
		freeze_off(s, why);
	}
	return 0;
}

void session__poll_stops(struct lw_session *s, pid_t run_child)
{
	if (s->xs)
		exit_stops__poll(s->xs, run_child, &s->child_status);
}

void session__release_stops(struct lw_session *s)
{
	const struct exit_stop_stats *st;

	if (!s->xs)
		return;
	exit_stops__release(s->xs);
	st = exit_stops__stats(s->xs);
	s->scan.frozen += st->held;
	s->scan.pause_ns += st->pause_ns;
	if (st->pause_max_ns > s->scan.pause_max_ns)
		s->scan.pause_max_ns = st->pause_max_ns;
	exit_stops__free(s->xs);
	s->xs = NULL;
}

void session__freeze_targets(struct lw_session *s)
{
	if (!wants_freeze(s) || s->opts->mode != LW_MODE_ATTACH)
		return;
	for (size_t i = 0; i < s->procs.n; i++) {
		const struct lw_proc *p = &s->procs.v[i];
		struct lw_freeze fz;
		char err[160] = "";
		uint64_t pause;

		/* the newest entry of a live process only */
		if (p->exited || lw_procs__find(&s->procs, p->pid) != p)
			continue;
		if (freeze__stop((pid_t)p->pid, &fz, err, sizeof(err))) {
			freeze__free(&fz);
			freeze_off(s, err);
			continue;
		}
		look(s, (pid_t)p->pid, &fz, false);
		pause = freeze__thaw(&fz);
		freeze__free(&fz);
		s->scan.frozen++;
		s->scan.pause_ns += pause;
		if (pause > s->scan.pause_max_ns)
			s->scan.pause_max_ns = pause;
	}
}
