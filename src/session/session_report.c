// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "report/kinds.h"
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include "session/session_internal.h"
#include "report/output.h"
#include "report/stats.h"

/* ---- the report ---- */

/* The detector a finding came from (the kinds table says which). */
static const struct lw_det_slot *finding_det(const struct lw_session *s, const struct lw_finding *f)
{
	const struct lw_kind *k = lw_kind__find(f->kind);

	for (size_t i = 0; k && i < s->nr_dets; i++)
		if (!strcmp(s->dets[i].ops->name, k->detector))
			return &s->dets[i];
	return NULL;
}

static bool is_growing(const struct lw_session *s, const struct lw_finding *f)
{
	const struct lw_det_slot *d = finding_det(s, f);
	uint64_t key = d && d->ops->site_key ? d->ops->site_key(d->d, f) : 0;

	return key && trend__is_growing(s->trend, key);
}

/* A site that kept growing: its detector has the last word on the kind
 * (fd-held becomes fd-leak).
 */
static void regrade_growing(const struct lw_session *s, struct lw_finding *f)
{
	const struct lw_det_slot *d = finding_det(s, f);

	if (d && d->ops->on_growing)
		d->ops->on_growing(d->d, f);
}

/* What was lost, in the words of the text report's loss line, events user
 * space could not process, processes whose uprobes could not go in, and
 * what a detector said (det, may be NULL).
 */
static const char *incomplete_reason(const struct lw_stats *st, uint64_t user_errors,
				     uint64_t watch_failed, const char *det, char *buf, size_t len)
{
	size_t off = lw_stats__losses(st, buf, len);

	if (user_errors && off < len)
		off += snprintf(buf + off, len - off, "%s%llu events not processed",
				off ? "; " : "", (unsigned long long)user_errors);
	if (watch_failed && off < len)
		off += snprintf(buf + off, len - off, "%s%llu processes without their uprobes",
				off ? "; " : "", (unsigned long long)watch_failed);
	if (det && off < len)
		off += snprintf(buf + off, len - off, "%s%s", off ? "; " : "", det);
	return off ? buf : NULL;
}

/* A second end signal while the report is made: the signal, or 0. */
static int report_signal(struct lw_session *s)
{
	struct signalfd_siginfo si;

	if (s->sigfd >= 0 && read(s->sigfd, &si, sizeof(si)) == sizeof(si))
		return (int)si.ssi_signo;
	return 0;
}

/* Write the rendered report to a pipe, terminal or FIFO in pieces the kernel
 * takes without blocking, so that a reader who stopped reading cannot hold
 * leakwatch: a second end signal stops the write. 0, -EINTR (*sig set) or
 * -errno.
 */
static int write_out(struct lw_session *s, int fd, const char *buf, size_t len, size_t *done,
		     int *sig)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLOUT}, {.fd = s->sigfd, .events = POLLIN}};

	for (*done = 0; *done < len;) {
		ssize_t n;

		if (poll(p, s->sigfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if ((p[1].revents & POLLIN) && (*sig = report_signal(s)))
			return -EINTR;
		if (!(p[0].revents & (POLLOUT | POLLERR | POLLHUP)))
			continue;
		n = write(fd, buf + *done, len - *done < PIPE_BUF ? len - *done : PIPE_BUF);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		*done += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

/* Render the report in memory, then hand it to its destination: a regular
 * file never blocks; anything else goes through write_out.
 */
static int emit(struct lw_session *s, const struct reporter_ops *ops, FILE *out,
		const struct lw_report_meta *m, const struct lw_findings *fs)
{
	char *buf = NULL;
	size_t len = 0, done = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct stat st;
	int err, sig = 0;

	if (!mem)
		return -errno;
	err = report__write(ops, mem, m, fs);
	if (fclose(mem) && !err)
		err = -ENOMEM;
	if (!err && !fstat(fileno(out), &st) && S_ISREG(st.st_mode)) {
		if (fwrite(buf, 1, len, out) != len)
			err = -EIO;
	} else if (!err && !(err = fflush(out) ? -errno : 0)) {
		err = write_out(s, fileno(out), buf, len, &done, &sig);
		if (err == -EINTR)
			set_error(s, err, "report cut short by %s: %zu of %zu bytes written to %s",
				  strsignal(sig), done, len, output__name(s->opts->out));
	}
	free(buf);
	return err;
}

int session__collect(struct lw_session *s, struct lw_findings *out, struct lw_report_meta *mo)
{
	struct lw_findings fs = {};
	struct lw_report_meta m = {};
	char *reason = s->reason;
	size_t unsymbolized = 0;
	int sig = 0;
	size_t shown = 0;
	uint64_t now;
	int err;

	/* everything the kernel produced before we stopped. Probes stay
	 * attached until the report is out: each uprobe's removal waits for an
	 * SRCU grace period (~0.1 s), and the user waits for the report.
	 */
	while (ring_reader__consume(s->rb) > 0)
		;
	/* attach: what the targets hold is looked at while they are still */
	session__freeze_targets(s);
	now = mono_ns();
	err = 0;
	for (size_t i = 0; i < s->nr_dets && !err; i++)
		err = s->dets[i].ops->finish(s->dets[i].d, now, &fs);
	if (err)
		return set_error(s, err, "cannot correlate events: %s", strerror(-err));
	lw_findings__merge_truncated(&fs);
	/* run --inject: the faults made, crashes and hangs under them */
	if (s->report_hook && (err = s->report_hook(s->report_ctx, &fs, &m, s->child_status))) {
		lw_findings__free(&fs);
		return set_error(s, err, "cannot read the fault log: %s", strerror(-err));
	}
	for (size_t i = 0; i < fs.n; i++) {
		struct lw_finding *f = &fs.v[i];

		/* a second signal: what is left keeps its raw addresses */
		if (!sig && !(i % 16))
			sig = report_signal(s);
		if (sig)
			unsymbolized++;
		else
			symbolizer__finding(s->sym, f);
		if (!f->comm[0]) { /* no exec or fork named it: the attach target */
			const struct lw_proc *p = lw_procs__find(&s->procs, f->pid);

			if (p && p->comm[0])
				memcpy(f->comm, p->comm, LW_COMM_LEN);
		}
		f->growing = is_growing(s, f);
		if (f->growing)
			regrade_growing(s, f);
		if ((s->supp && suppress__match(s->supp, f)) ||
		    (s->builtin && suppress__match(s->builtin, f))) {
			f->suppressed = true;
			m.nr_suppressed++;
		}
	}
	for (size_t i = 0; i < s->nr_dets; i++)
		if (s->dets[i].ops->trim)
			m.nr_suppressed += s->dets[i].ops->trim(s->dets[i].d, &fs);
	for (size_t i = 0; i < fs.n; i++)
		shown += !fs.v[i].suppressed && lw_kind__gates(fs.v[i].kind);
	lw_findings__sort(&fs);

	m.tool_version = LW_VERSION;
	m.mode = s->opts->mode == LW_MODE_RUN ? "run" : "attach";
	m.command = s->command;
	m.pid = s->root;
	m.duration_ms = (mono_ns() - s->start_ns) / 1000000;
	m.procs = s->procs.v;
	m.nr_procs = s->procs.n;
	lw_loader__stats(s->ld, &m.stats);
	m.scan = s->scan;
	m.scan.off_by_option = s->opts->no_freeze;
	m.scan.listed_reachable = s->opts->show_reachable;
	for (size_t i = 0; i < s->nr_dets; i++)
		if (s->dets[i].ops->meta)
			s->dets[i].ops->meta(s->dets[i].d, &m);
	m.incomplete_reason = incomplete_reason(&m.stats, s->user_errors, s->watch_failed,
						m.incomplete_reason, reason, sizeof(s->reason));
	if (unsymbolized) {
		size_t off = m.incomplete_reason ? strlen(reason) : 0;

		snprintf(reason + off, sizeof(s->reason) - off,
			 "%sreport cut short by %s: %zu of %zu findings not symbolized",
			 off ? "; " : "", strsignal(sig), unsymbolized, fs.n);
		m.incomplete_reason = reason;
	}
	*out = fs;
	*mo = m;
	return (int)shown;
}

int session__write(struct lw_session *s, const struct lw_report_meta *m,
		   const struct lw_findings *fs)
{
	const struct reporter_ops *ops = reporter__find(s->opts->format);
	FILE *out = output__stream(s->opts->out);
	int err;

	/* opened before the run (report/output.c); renamed into place here */
	err = output__commit(s->opts->out, emit(s, ops, out, m, fs));
	if (err)
		set_error(s, err, "cannot write the report to %s: %s", output__name(s->opts->out),
			  strerror(-err));
	session__detach(s);
	return err;
}

int session__report(struct lw_session *s)
{
	struct lw_findings fs = {};
	struct lw_report_meta m = {};
	int shown = session__collect(s, &fs, &m), err;

	if (shown < 0)
		return shown;
	err = session__write(s, &m, &fs);
	lw_findings__free(&fs);
	return err ? err : shown;
}

void session__set_report_hook(struct lw_session *s, lw_report_hook_fn fn, void *ctx)
{
	s->report_hook = fn;
	s->report_ctx = ctx;
}

bool session__duration_hit(const struct lw_session *s)
{
	return s->duration_hit;
}

void session__stop(struct lw_session *s)
{
	session__detach(s);
}

int session__symbolize(struct lw_session *s, struct lw_finding *f)
{
	return symbolizer__finding(s->sym, f);
}

int session__end_signal(const struct lw_session *s)
{
	return s->end_signal;
}
