// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The proc detector: process lifecycles into corr_storm (respawn storms),
 * with the parent's open fd count sampled at each child's exit.
 */
#include <errno.h>
#include <stdlib.h>
#include "detect/detector.h"
#include "detect/proc/corr_storm.h"

struct lw_det {
	struct lw_det_env env;
	struct corr_storm *storm;
};

static int proc_open(struct lw_det **out, const struct lw_det_env *env)
{
	struct lw_det *d = calloc(1, sizeof(*d));

	*out = d;
	if (!d)
		return -ENOMEM;
	d->env = *env;
	d->storm = corr_storm__new(&(struct corr_storm_opts){
	    .proc = lw_procs__lookup,
	    .proc_ctx = (void *)env->io->procs,
	});
	return d->storm ? 0 : -ENOMEM;
}

static void proc_free(struct lw_det *d)
{
	if (!d)
		return;
	corr_storm__free(d->storm);
	free(d);
}

static int proc_on_fork(struct lw_det *d, const struct lw_proc *parent, const struct lw_proc *child,
			const struct lw_ev_proc_fork *ev)
{
	(void)parent;
	corr_storm__fork(d->storm, ev->hdr.tgid, child->pid, ev->hdr.ts_ns);
	return 0;
}

static int proc_on_exec(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exec *ev)
{
	corr_storm__exec(d->storm, p->pid, ev->filename, ev->hdr.ts_ns);
	return 0;
}

static int proc_on_exit(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exit *ev)
{
	const struct lw_det_io *io = d->env.io;

	corr_storm__exit(d->storm, p->pid, ev->exit_code, ev->hdr.ts_ns);
	/* a child exited: sample its parent's open fds for the storm's story */
	if (p->ppid && io->open_fds) {
		int n = io->open_fds(io->ctx, p->ppid);

		if (n >= 0)
			corr_storm__parent_fds(d->storm, p->ppid, ev->hdr.ts_ns, (uint64_t)n);
	}
	return 0;
}

static int proc_finish(struct lw_det *d, uint64_t now_ns, struct lw_findings *out)
{
	(void)now_ns;
	return corr_storm__finish(d->storm, out);
}

const struct lw_detector_ops det_proc_ops = {
    .name = "proc",
    .default_on = true,
    .help = "process lifecycles: respawn storms (alias: storm)",
    .open = proc_open,
    .on_fork = proc_on_fork,
    .on_exec = proc_on_exec,
    .on_exit = proc_on_exit,
    .finish = proc_finish,
    .free = proc_free,
};
