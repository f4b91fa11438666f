// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The fd detector: routes fd records to corr_fd, keeps --last-touch stacks
 * user space finished, reconciles with /proc in attach mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/hmap.h"
#include "base/procfs.h"
#include "detect/detector.h"
#include "detect/fd/corr_fd.h"
#include "detect/fd/det_fd.h"
#include "detect/fd/fd_live.h"
#include "detect/fd/fd_reconcile.h"
#include "detect/fd/touch_label.h"
#include "report/kinds.h"
#include "report/report.h"

struct lw_det {
	struct lw_det_env env;
	struct corr_fd *corr;
	struct hmap *touches; /* (tgid, fd) → struct lw_touch * finished in user space */
	uint64_t reconciled;
	uint64_t believed; /* attach: fds believed open when reconciled */
	char reason[128];  /* why the correction makes the report incomplete */
};

static int fd_open(struct lw_det **out, const struct lw_det_env *env)
{
	const struct lw_opts *o = env->opts;
	struct corr_fd_opts co = {
	    .attach_mode = o->mode == LW_MODE_ATTACH,
	    .min_age_ns = o->min_age_ns,
	    .strict = o->strict_fds,
	    .allow_inherit = o->allow_inherit,
	    .nr_allow_inherit = o->nr_allow_inherit,
	    .proc = lw_procs__lookup,
	    .proc_ctx = (void *)env->io->procs,
	};
	struct lw_det *d = calloc(1, sizeof(*d));

	*out = d;
	if (!d)
		return -ENOMEM;
	d->env = *env;
	d->corr = corr_fd__new(&co);
	d->touches = hmap__new();
	return d->corr && d->touches ? 0 : -ENOMEM;
}

static void fd_free(struct lw_det *d)
{
	if (!d)
		return;
	corr_fd__free(d->corr);
	hmap__free_ptrs(d->touches);
	free(d);
}

static int fd_seed(struct lw_det *d, pid_t pid)
{
	struct lw_proc_fd *fds;
	int n = d->env.io->proc_fds ? d->env.io->proc_fds(d->env.io->ctx, pid, &fds) : -ENOSYS;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		corr_fd__seed(d->corr, pid, fds[i].fd, fds[i].target, fds[i].cloexec);
	free(fds);
	return 0;
}

/* The finished stack of a touch whose kernel copy is cut short. */
static int keep_touch(struct lw_det *d, const struct lw_ev_fd_touch *tv)
{
	uint64_t key = (uint64_t)tv->hdr.tgid << 32 | (uint32_t)tv->fd;
	bool added;
	uint64_t *slot = hmap__put(d->touches, key, &added);
	struct lw_touch *t;

	if (!slot)
		return 0;
	t = added ? calloc(1, sizeof(*t)) : (struct lw_touch *)(uintptr_t)*slot;
	if (!t) {
		hmap__del(d->touches, key, NULL);
		return 0;
	}
	*slot = (uintptr_t)t;
	t->nr = tv->nr;
	t->ts_ns = tv->hdr.ts_ns;
	t->nr_ips = tv->stack.nr > LW_TOUCH_FRAMES ? LW_TOUCH_FRAMES : tv->stack.nr;
	memcpy(t->ips, tv->stack.ips, t->nr_ips * sizeof(t->ips[0]));
	return 0;
}

static int fd_on_event(struct lw_det *d, const struct lw_ev_hdr *h, size_t size)
{
	if (h->type == LW_EV_FD_TOUCH)
		return size >= sizeof(struct lw_ev_fd_touch)
			   ? keep_touch(d, (const struct lw_ev_fd_touch *)h)
			   : 0;
	return corr_fd__feed(d->corr, h);
}

static int fd_on_fork(struct lw_det *d, const struct lw_proc *parent, const struct lw_proc *child,
		      const struct lw_ev_proc_fork *ev)
{
	(void)parent, (void)child;
	return corr_fd__feed(d->corr, &ev->hdr);
}

static int fd_on_exec(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exec *ev)
{
	(void)p;
	return corr_fd__feed(d->corr, &ev->hdr);
}

static int fd_on_exit(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exit *ev)
{
	if (lw_det__exit_ends_observation(d->env.opts, p))
		return 0;
	return corr_fd__feed(d->corr, &ev->hdr);
}

static enum lw_fd_liveness probe_fd(void *pidfd, int fd, const char **why)
{
	return fd_live__probe(*(const int *)pidfd, fd, why);
}

/* Held still: is each fd it may answer for still of use to it? */
static int fd_on_frozen(struct lw_det *d, const struct lw_frozen *fr)
{
	int pidfd = fr->pidfd;

	/* no pidfd: no verdicts, the fds stay "unknown" */
	if (pidfd < 0 || d->env.opts->strict_fds)
		return 0;
	corr_fd__probe_live(d->corr, (uint32_t)fr->pid, probe_fd, &pidfd);
	return 0;
}

static void fd_on_growing(struct lw_det *d, struct lw_finding *f)
{
	(void)d;
	corr_fd__regrade_growing(f);
}

int det_fd__open_count(struct lw_det *d, uint32_t tgid)
{
	int *fds, n;

	if (!d)
		return -ENOENT;
	n = corr_fd__open_fds_all(d->corr, tgid, &fds);
	free(fds);
	return n;
}

/* attach: what /proc says wins over what we believe; count the corrections. */
static void reconcile(struct lw_det *d)
{
	const struct lw_procs *t = d->env.io->procs;

	if (!t || !d->env.io->proc_fds)
		return;
	for (size_t i = 0; i < t->n; i++) {
		struct lw_proc_fd *real;
		int *believed, nb, nr, ns;

		if (t->v[i].exited)
			continue;
		nr = d->env.io->proc_fds(d->env.io->ctx, t->v[i].pid, &real);
		if (nr < 0)
			continue;
		nb = corr_fd__open_fds_all(d->corr, t->v[i].pid, &believed);
		/* stale fds overwrite believed[] in place: stale[k] is written
		 * after believed[k] was read, as ns <= b
		 */
		ns = nb > 0 ? fd_reconcile__stale(believed, nb, real, nr, believed) : 0;
		for (int k = 0; k < ns; k++)
			corr_fd__forget(d->corr, t->v[i].pid, believed[k]);
		d->reconciled += (uint64_t)ns;
		d->believed += nb > 0 ? (uint64_t)nb : 0;
		free(believed);
		free(real);
	}
	if (fd_reconcile__too_many(d->reconciled, d->believed))
		snprintf(d->reason, sizeof(d->reason),
			 "%llu fds the model believed open were not (reconciled against /proc)",
			 (unsigned long long)d->reconciled);
}

void det_fd__last_touch(struct lw_det *d, struct lw_finding *f)
{
	uint64_t *slot = hmap__get(d->touches, (uint64_t)f->pid << 32 | (uint32_t)f->fd);
	const struct lw_touch *u = slot ? (const struct lw_touch *)(uintptr_t)*slot : NULL;
	const struct lw_kind *k = lw_kind__find(f->kind);
	struct lw_evidence *x;
	struct lw_touch t;

	if (!k || !k->last_touch || f->fd < 0 || f->nr_extra >= LW_FINDING_EXTRA_MAX)
		return;
	if (!d->env.io->touch || d->env.io->touch(d->env.io->ctx, f->pid, f->fd, &t)) {
		if (!u)
			return;
		t = *u;
	} else if (u && u->ts_ns == t.ts_ns) {
		t = *u; /* the same touch, finished in user space */
	}
	x = &f->extra[f->nr_extra++];
	x->label = touch_label(t.nr);
	x->stack.nr = t.nr_ips > LW_TOUCH_FRAMES ? LW_TOUCH_FRAMES : t.nr_ips;
	memcpy(x->stack.ips, t.ips, x->stack.nr * sizeof(x->stack.ips[0]));
}

static int fd_finish(struct lw_det *d, uint64_t now_ns, struct lw_findings *out)
{
	size_t first = out->n;
	int err;

	if (d->env.opts->mode == LW_MODE_ATTACH)
		reconcile(d);
	err = corr_fd__finish(d->corr, now_ns, out);
	/* --last-touch: what last used the leaked fd (its first member), and where */
	for (size_t i = first; !err && d->env.opts->last_touch && i < out->n; i++)
		det_fd__last_touch(d, &out->v[i]);
	return err;
}

static void fd_tick(struct lw_det *d, const struct lw_det_tick *t)
{
	struct corr_fd_site *sites = calloc(LW_SITES_MAX, sizeof(*sites));
	char line[128];
	int n;

	if (!sites)
		return;
	n = corr_fd__sites(d->corr, sites, LW_SITES_MAX);
	snprintf(line, sizeof(line), "+%.1fs: %d fd creation site(s) with live fds", t->t_s,
		 n > 0 ? n : 0);
	t->header(t->ctx, line);
	for (int i = 0; i < n; i++)
		t->site(t->ctx, &sites[i], "fds", true);
	free(sites);
}

static uint64_t fd_site_key(struct lw_det *d, const struct lw_finding *f)
{
	(void)d;
	return corr_fd__site_key(f->pid, &f->stack);
}

static void fd_meta(struct lw_det *d, struct lw_report_meta *m)
{
	m->reconciled = d->reconciled;
	if (d->reason[0])
		m->incomplete_reason = d->reason;
}

static const uint16_t fd_types[] = {
    LW_EV_FD_OPEN,
    LW_EV_FD_CLOSE,
    LW_EV_FD_CLOSE_RANGE,
    LW_EV_FD_CLOEXEC,
    LW_EV_FD_SEND,
    LW_EV_FD_TOUCH,
    0,
};

const struct lw_detector_ops det_fd_ops = {
    .name = "fd",
    .ev_types = fd_types,
    .default_on = true,
    .help = "fds: every syscall that creates, passes or closes one",
    .open = fd_open,
    .seed = fd_seed,
    .on_event = fd_on_event,
    .on_fork = fd_on_fork,
    .on_exec = fd_on_exec,
    .on_exit = fd_on_exit,
    .tick = fd_tick,
    .on_frozen = fd_on_frozen,
    .finish = fd_finish,
    .site_key = fd_site_key,
    .on_growing = fd_on_growing,
    .meta = fd_meta,
    .free = fd_free,
};
