// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "report/kinds.h"
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

static bool gates_exit(const struct lw_finding *f)
{
	const struct lw_kind *k = lw_kind__find(f->kind);

	return !k || k->gates_exit;
}

/* What was lost, in the words of the text report's loss line, events user
 * space could not process, and what a detector said (det, may be NULL).
 */
static const char *incomplete_reason(const struct lw_stats *st, uint64_t user_errors,
				     const char *det, char *buf, size_t len)
{
	size_t off = lw_stats__losses(st, buf, len);

	if (user_errors && off < len)
		off += snprintf(buf + off, len - off, "%s%llu events not processed",
				off ? "; " : "", (unsigned long long)user_errors);
	if (det && off < len)
		off += snprintf(buf + off, len - off, "%s%s", off ? "; " : "", det);
	return off ? buf : NULL;
}

int session__report(struct lw_session *s)
{
	const struct reporter_ops *ops = reporter__find(s->opts->format);
	struct lw_findings fs = {};
	struct lw_report_meta m = {};
	char reason[512];
	FILE *out = output__stream(s->opts->out);
	size_t shown = 0;
	uint64_t now;
	int err;

	/* everything the kernel produced before we stopped. Probes stay
	 * attached until the report is out: each uprobe's removal waits for an
	 * SRCU grace period (~0.1 s), and the user waits for the report.
	 */
	while (ring_buffer__consume(s->rb) > 0)
		;
	now = mono_ns();
	err = 0;
	for (size_t i = 0; i < s->nr_dets && !err; i++)
		err = s->dets[i].ops->finish(s->dets[i].d, now, &fs);
	if (err)
		return set_error(s, err, "cannot correlate events: %s", strerror(-err));
	lw_findings__merge_truncated(&fs);
	for (size_t i = 0; i < fs.n; i++) {
		struct lw_finding *f = &fs.v[i];

		symbolizer__finding(s->sym, f);
		if (!f->comm[0]) { /* no exec or fork named it: the attach target */
			const struct lw_proc *p = lw_procs__find(&s->procs, f->pid);

			if (p && p->comm[0])
				memcpy(f->comm, p->comm, LW_COMM_LEN);
		}
		f->growing = is_growing(s, f);
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
		shown += !fs.v[i].suppressed && gates_exit(&fs.v[i]);
	lw_findings__sort(&fs);

	m.tool_version = LW_VERSION;
	m.mode = s->opts->mode == LW_MODE_RUN ? "run" : "attach";
	m.command = s->command;
	m.pid = s->root;
	m.duration_ms = (mono_ns() - s->start_ns) / 1000000;
	m.procs = s->procs.v;
	m.nr_procs = s->procs.n;
	lw_loader__stats(s->ld, &m.stats);
	for (size_t i = 0; i < s->nr_dets; i++)
		if (s->dets[i].ops->meta)
			s->dets[i].ops->meta(s->dets[i].d, &m);
	m.incomplete_reason = incomplete_reason(&m.stats, s->user_errors, m.incomplete_reason,
						reason, sizeof(reason));

	/* opened before the run (report/output.c); renamed into place here */
	err = output__commit(s->opts->out, report__write(ops, out, &m, &fs));
	if (err)
		set_error(s, err, "cannot write the report to %s: %s", output__name(s->opts->out),
			  strerror(-err));
	lw_findings__free(&fs);
	lw_loader__detach(s->ld);
	return err ? err : (int)shown;
}
