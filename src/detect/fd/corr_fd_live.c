// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator, liveness: an fd still open at the end is a leak when the
 * program can no longer use it (its other end is gone), or when its site
 * keeps growing; whatever else is still held is listed as fd-held. The
 * verdicts come from a probe of the process while it is held still (run:
 * at its exit, attach: at report time) and stay on the fd's record.
 */
#include "detect/fd/corr_fd_internal.h"

int corr_fd__probe_live(struct corr_fd *c, uint32_t tgid, corr_fd_probe_fn probe, void *ctx)
{
	uint64_t *v = c && probe ? hmap__get(c->procs, tgid) : NULL;
	struct proc *p = v ? (struct proc *)(uintptr_t)*v : NULL;
	struct hmap_iter it = {0};
	int n = 0;

	if (!p || !p->tab)
		return 0;
	/* only what could become a finding: a table of 10k inherited or
	 * seeded fds costs nothing
	 */
	while (hmap__next(p->tab->fds, &it)) {
		struct rec *r = ent_rec(*it.val);
		const char *why = NULL;
		enum lw_fd_liveness l;

		if (!leak_candidate(p->tab, it.key, *it.val))
			continue;
		l = probe(ctx, ent_fd(it.key), &why);
		r->live = (uint8_t)(1 + l);
		r->live_why = why && why[0] ? why : NULL;
		n++;
	}
	return n;
}

void live_classify(const struct corr_fd *c, struct item *it)
{
	const struct rec *r = it->rec;

	it->kind = leak_kind(r);
	it->cls = it->why = NULL;
	/* fd-send-failed-leak and fd-uncertain keep their meaning */
	if (r->uring || r->send_failed)
		return;
	if (c->opts.strict) {
		it->cls = "strict";
		return;
	}
	if (r->live == 1 + LW_FD_DEAD) {
		it->cls = "dead";
		it->why = r->live_why;
		return;
	}
	it->kind = "fd-held";
	if (r->live == 1 + LW_FD_HELD) {
		it->cls = "held";
		return;
	}
	it->cls = "unknown";
	it->why = r->live == LIVE_NONE ? "not held still" : r->live_why;
}

void corr_fd__regrade_growing(struct lw_finding *f)
{
	if (!f || !f->kind || strcmp(f->kind, "fd-held"))
		return;
	f->kind = "fd-leak";
	f->cls = "growing";
	f->why = "its site's live count kept rising";
}
