// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "session/session_internal.h"

/* ---- the loop ---- */

static int timer_fd(double seconds, bool periodic)
{
	struct itimerspec its = {};
	int fd;

	if (seconds <= 0)
		return -1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -1;
	its.it_value.tv_sec = (time_t)seconds;
	its.it_value.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (periodic)
		its.it_interval = its.it_value;
	timerfd_settime(fd, 0, &its, NULL);
	return fd;
}

static void print_site_line(struct lw_session *s, const struct corr_fd_site *site, int64_t delta,
			    const char *what)
{
	const char *where = "??";
	struct lw_sym_frame fr = {};
	char buf[256];

	/* first frame outside libc says more than open64 */
	for (uint32_t i = 0; i < site->stack.nr; i++) {
		memset(&fr, 0, sizeof(fr));
		if (symbolizer__resolve(s->sym, site->pid, site->stack.ips[i], i > 0, &fr))
			continue;
		if (fr.symbol && (!fr.module || !strstr(fr.module, "/libc.so"))) {
			snprintf(buf, sizeof(buf), "%s+0x%llx", fr.symbol,
				 (unsigned long long)fr.offset);
			where = buf;
			free(fr.module);
			free(fr.symbol);
			free(fr.file);
			break;
		}
		free(fr.module);
		free(fr.symbol);
		free(fr.file);
	}
	fprintf(stderr, "  pid %u: %llu live %s (%+lld) from %s%s  %s\n", site->pid,
		(unsigned long long)site->live, what, (long long)delta, where,
		trend__is_growing(s->trend, site->key) ? "  GROWING" : "", site->resource);
}

static void tick_header(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "leakwatch: %s\n", line);
}

static void tick_site(void *ctx, const struct corr_fd_site *site, const char *what, bool show)
{
	struct lw_session *s = ctx;
	int64_t d = trend__sample(s->trend, site->key, site->live);

	if (show)
		print_site_line(s, site, d, what);
}

static void interval_tick(struct lw_session *s)
{
	struct lw_det_tick t = {
	    .ctx = s,
	    .t_s = (double)(mono_ns() - s->start_ns) / 1e9,
	    .header = tick_header,
	    .site = tick_site,
	};

	ring_reader__consume(s->rb);
	for (size_t i = 0; i < s->nr_dets; i++)
		if (s->dets[i].ops->tick)
			s->dets[i].ops->tick(s->dets[i].d, &t);
	trend__end_round(s->trend);
}

static void status_line(struct lw_session *s)
{
	struct lw_stats st;

	lw_loader__stats(s->ld, &st);
	fprintf(stderr, "\rleakwatch: pid %d: %llu events, %llu dropped, %.0fs   ", s->root,
		(unsigned long long)st.events, (unsigned long long)st.dropped,
		(double)(mono_ns() - s->start_ns) / 1e9);
}

enum { SRC_RB = 1, SRC_SIG, SRC_PIDFD, SRC_DURATION, SRC_INTERVAL, SRC_STATUS, SRC_KILL, SRC_CHLD };

void session__end_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

static int epoll_add(int ep, int fd, int tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	if (fd < 0)
		return 0;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int session__loop(struct lw_session *s, int root_pidfd, pid_t run_child)
{
	bool interactive = !s->opts->quiet && s->opts->mode == LW_MODE_ATTACH && isatty(2) &&
			   s->opts->interval_s <= 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int dur = timer_fd(s->opts->duration_s, false);
	int itv = timer_fd(s->opts->interval_s, true);
	int stat = interactive ? timer_fd(1, true) : -1;
	int kill_timer = -1, sfd, cfd = -1, err = 0, interrupts = 0;
	sigset_t mask, chld;
	bool done = false;

	session__end_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ep < 0 || sfd < 0)
		return set_error(s, -errno, "cannot set up the event loop: %s", strerror(errno));
	/* ptrace stops of the processes held at their exit come as SIGCHLD */
	if (s->xs) {
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, NULL);
		cfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
		if (cfd < 0)
			return set_error(s, -errno, "cannot set up the event loop: %s",
					 strerror(errno));
		session__poll_stops(s, run_child);
	}
	if ((err = epoll_add(ep, ring_reader__fd(s->rb), SRC_RB)) ||
	    (err = epoll_add(ep, cfd, SRC_CHLD)) || (err = epoll_add(ep, sfd, SRC_SIG)) ||
	    (err = epoll_add(ep, root_pidfd, SRC_PIDFD)) ||
	    (err = epoll_add(ep, dur, SRC_DURATION)) || (err = epoll_add(ep, itv, SRC_INTERVAL)) ||
	    (err = epoll_add(ep, stat, SRC_STATUS)))
		goto out;

	while (!done) {
		struct epoll_event evs[8];
		/* BPF wakes us only per batch: poll for the rest */
		int n = epoll_wait(ep, evs, 8, LW_POLL_MS);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = set_error(s, -errno, "epoll_wait: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			ring_reader__consume(s->rb);
			session__poll_stops(s, run_child); /* groups waited for */
		}
		for (int i = 0; i < n; i++) {
			uint64_t ticks;

			switch (evs[i].data.u32) {
			case SRC_RB:
				ring_reader__consume(s->rb);
				break;
			case SRC_CHLD: {
				struct signalfd_siginfo si;

				while (read(cfd, &si, sizeof(si)) == sizeof(si))
					;
				session__poll_stops(s, run_child);
				break;
			}
			case SRC_SIG: {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					break;
				if (!s->end_signal)
					s->end_signal = (int)si.ssi_signo;
				/* run: the command decides when it is done; a second
				 * signal, or none to forward, ends observation now.
				 */
				if (run_child > 0 && interrupts++ == 0) {
					/* a terminal's ^C reached the command's group already */
					if (si.ssi_signo != SIGINT || si.ssi_code == SI_USER)
						kill(run_child, si.ssi_signo);
				} else {
					done = true;
				}
				break;
			}
			case SRC_PIDFD:
				done = true;
				break;
			case SRC_DURATION:
				if (read(dur, &ticks, sizeof(ticks)) <= 0 || !run_child) {
					done = !run_child;
					break;
				}
				kill(run_child, SIGTERM);
				s->duration_hit = true;
				if (kill_timer < 0) {
					kill_timer = timer_fd(s->opts->kill_after_s, false);
					if ((err = epoll_add(ep, kill_timer, SRC_KILL)))
						done = true;
				}
				break;
			case SRC_KILL:
				if (read(kill_timer, &ticks, sizeof(ticks)) <= 0)
					break;
				fprintf(stderr,
					"leakwatch: the command did not exit %.3g s after SIGTERM "
					"(--duration); sending SIGKILL\n",
					s->opts->kill_after_s);
				kill(run_child, SIGKILL);
				break;
			case SRC_INTERVAL:
				if (read(itv, &ticks, sizeof(ticks)) > 0)
					interval_tick(s);
				break;
			case SRC_STATUS:
				if (read(stat, &ticks, sizeof(ticks)) > 0)
					status_line(s);
				break;
			}
		}
	}
	if (interactive)
		fputc('\n', stderr);
	if (run_child > 0) {
		int status;

		/* reaped already when it was followed */
		session__poll_stops(s, run_child);
		if (s->child_status < 0 && waitpid(run_child, &status, WNOHANG) == run_child)
			s->child_status = status;
	}
	/* whatever is still running goes on untraced */
	session__release_stops(s);
out:
	close(ep);
	if (cfd >= 0)
		close(cfd);
	/* the report reads it: a second signal there cuts the report short */
	s->sigfd = sfd;
	if (dur >= 0)
		close(dur);
	if (itv >= 0)
		close(itv);
	if (stat >= 0)
		close(stat);
	if (kill_timer >= 0)
		close(kill_timer);
	return err;
}
