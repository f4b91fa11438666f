// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The mount detector: mount-namespace records to corr_mount, after two
 * facts only the live system has (whether a mount joined a shared peer
 * group, whether its namespace is one a traced process created).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/hmap.h"
#include "detect/detector.h"
#include "detect/mount/corr_mount.h"
#include "detect/mount/det_mount.h"

struct lw_det {
	struct lw_det_env env;
	struct corr_mount *mnt;
	struct hmap *new_ns; /* mount namespaces traced processes created */
};

static int mount_open(struct lw_det **out, const struct lw_det_env *env)
{
	struct corr_mount_opts mo = {
	    .attach_mode = env->opts->mode == LW_MODE_ATTACH,
	    .proc = lw_procs__lookup,
	    .proc_ctx = (void *)env->io->procs,
	};
	struct lw_det *d = calloc(1, sizeof(*d));

	*out = d;
	if (!d)
		return -ENOMEM;
	d->env = *env;
	d->mnt = corr_mount__new(&mo);
	d->new_ns = hmap__new();
	return d->mnt && d->new_ns ? 0 : -ENOMEM;
}

static void mount_free(struct lw_det *d)
{
	if (!d)
		return;
	corr_mount__free(d->mnt);
	hmap__free(d->new_ns);
	free(d);
}

static int mount_on_target(struct lw_det *d, const struct lw_proc *p)
{
	uint32_t ns;

	if (!p->root || !d->env.io->mnt_ns)
		return 0;
	/* the namespace the root starts in: a new one made later is told
	 * apart from it (mount-propagation-leak)
	 */
	ns = d->env.io->mnt_ns(d->env.io->ctx, p->pid);
	return ns ? corr_mount__set_ns(d->mnt, p->pid, ns) : 0;
}

void det_mount__flags(struct lw_det *d, struct lw_ev_mount *mv)
{
	const struct lw_det_io *io = d->env.io;
	unsigned what = corr_mount__classify(mv);
	bool makes = mv->ret == 0 && mv->target[0] && (what & LW_MNTC_OP) &&
		     (what & (LW_MNTC_MAKES | LW_MNTC_MOVES));

	if (mv->ret == 0 && (mv->nr == LW_NR_unshare || mv->nr == LW_NR_clone))
		hmap__put(d->new_ns, mv->mnt_ns, NULL);
	if (hmap__get(d->new_ns, mv->mnt_ns))
		mv->flags |= LW_MNT_NEW_NS;
	/* BPF read it at mount time; mountinfo is the fallback for kernels
	 * before 6.8 (a propagated umount may already have removed it)
	 */
	if (makes && !(mv->flags & LW_MNT_PROPAGATES) && io->mount_shared &&
	    io->mount_shared(io->ctx, mv->hdr.tgid, mv->target) == 1)
		mv->flags |= LW_MNT_PROPAGATES;
	if (d->env.opts->verbose)
		fprintf(stderr,
			"leakwatch: mount syscall %u by pid %u in ns %u: %s ret %d flags %#x\n",
			mv->nr, mv->hdr.tgid, mv->mnt_ns, mv->target, mv->ret, mv->flags);
}

static int mount_on_event(struct lw_det *d, const struct lw_ev_hdr *h, size_t size)
{
	struct lw_ev_mount mv;
	struct lw_ips ips = {};

	if (size < sizeof(mv))
		return -EINVAL;
	memcpy(&mv, h, sizeof(mv)); /* the flags are ours to add */
	lw_stack__ips(&mv.stack, &ips);
	det_mount__flags(d, &mv);
	return corr_mount__feed(d->mnt, &mv, ips.nr ? &ips : NULL);
}

static int mount_on_fork(struct lw_det *d, const struct lw_proc *parent,
			 const struct lw_proc *child, const struct lw_ev_proc_fork *ev)
{
	(void)parent;
	corr_mount__fork(d->mnt, ev->hdr.tgid, child->pid, ev->hdr.ts_ns);
	return 0;
}

static int mount_on_exit(struct lw_det *d, const struct lw_proc *p,
			 const struct lw_ev_proc_exit *ev)
{
	corr_mount__exit(d->mnt, p->pid, ev->hdr.ts_ns);
	return 0;
}

static bool still_mounted(void *ctx, uint32_t mnt_ns, const char *target)
{
	const struct lw_det_io *io = ctx;

	return io->still_mounted && io->still_mounted(io->ctx, mnt_ns, target);
}

static int mount_finish(struct lw_det *d, uint64_t now_ns, struct lw_findings *out)
{
	return corr_mount__finish(d->mnt, now_ns, still_mounted, (void *)d->env.io, out);
}

static const uint16_t mount_types[] = {LW_EV_MOUNT, 0};

const struct lw_detector_ops det_mount_ops = {
    .name = "mount",
    .ev_types = mount_types,
    .default_on = true,
    .help = "mounts: escaping, racing, left behind",
    .open = mount_open,
    .on_target = mount_on_target,
    .on_event = mount_on_event,
    .on_fork = mount_on_fork,
    .on_exit = mount_on_exit,
    .finish = mount_finish,
    .free = mount_free,
};
