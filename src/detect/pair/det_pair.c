// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pair detector: the rule table from --pair, --pair-file and
 * --pair-profile, a uprobe per rule function, and corr_pair.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detect/detector.h"
#include "detect/pair/corr_pair.h"
#include "detect/pair/pair_spec.h"
#include "stack/sym_resolve.h"

struct lw_det {
	struct lw_det_env env;
	struct lw_pair_spec spec;
	size_t first_profile_rule; /* rules from here on came from --pair-profile */
	struct corr_pair *pair;
};

/* --pair, --pair-file, --pair-profile into one rule table; a bad rule is a
 * usage error (-EINVAL) with the parser's line.
 */
static int load_pairs(struct lw_det *d, const struct lw_opts *o, char *err, size_t errlen)
{
	char buf[128], *save = NULL, *name;
	int e = 0;

	for (unsigned i = 0; i < o->nr_pairs && !e; i++)
		e = pair_spec__parse_compact(&d->spec, o->pairs[i], err, errlen);
	if (!e && o->pair_file)
		e = pair_spec__parse_file(&d->spec, o->pair_file, err, errlen);
	d->first_profile_rule = d->spec.n;
	if (!e && o->pair_profiles) {
		snprintf(buf, sizeof(buf), "%s", o->pair_profiles);
		for (name = strtok_r(buf, ",", &save); name && !e;
		     name = strtok_r(NULL, ",", &save)) {
			const char *text = pair_spec__profile(name);

			if (!text) {
				snprintf(err, errlen,
					 "unknown --pair-profile '%s' (see leakwatch --help)",
					 name);
				return -EINVAL;
			}
			e = pair_spec__parse_text(&d->spec, name, text, err, errlen);
		}
	}
	if (!e && d->spec.n)
		e = pair_spec__validate(&d->spec, err, errlen);
	return e ? -EINVAL : 0;
}

static int pair_open(struct lw_det **out, const struct lw_det_env *env)
{
	const struct lw_opts *o = env->opts;
	struct lw_det *d = calloc(1, sizeof(*d));
	struct corr_pair_opts po = {
	    .attach_mode = o->mode == LW_MODE_ATTACH,
	    .min_age_ns = o->min_age_ns,
	    .proc = lw_procs__lookup,
	    .proc_ctx = (void *)env->io->procs,
	};
	int err;

	*out = d;
	if (!d)
		return -ENOMEM;
	d->env = *env;
	/* the parser's message wins over any earlier one: it names the line */
	err = load_pairs(d, o, env->err, env->errlen);
	if (err)
		return err;
	if (!d->spec.n)
		return lw_det__error(env, -EINVAL,
				     "--only pair needs --pair, --pair-file or --pair-profile");
	po.spec = &d->spec;
	d->pair = corr_pair__new(&po);
	return d->pair ? 0 : -ENOMEM;
}

static void pair_free(struct lw_det *d)
{
	if (!d)
		return;
	corr_pair__free(d->pair);
	pair_spec__free(&d->spec);
	free(d);
}

/* Resolve each function (executable, then its libraries) and put uprobes on
 * it; profile rules whose library is absent are skipped.
 */
static int pair_attach(struct lw_det *d, pid_t pid, char **argv)
{
	extern char **environ;
	const struct lw_det_io *io = d->env.io;
	unsigned attached = 0;
	char err[512];

	for (size_t i = 0; i < d->spec.n; i++) {
		const struct lw_pair_rule *r = &d->spec.v[i];
		struct lw_sym_target t;
		uint64_t cookie = LW_PAIR_COOKIE(i, r->how, r->argn);
		int e;

		e = argv ? sym_resolve__command(argv[0], environ, r->func, r->module, &t, err,
						sizeof(err))
			 : sym_resolve__pid(pid, r->func, r->module, &t, err, sizeof(err));
		if (e) {
			/* a profile names libraries the target may not use */
			if (i >= d->first_profile_rule) {
				if (d->env.opts->verbose)
					fprintf(stderr, "leakwatch: pair: skipped: %s\n", err);
				continue;
			}
			return lw_det__error(&d->env, e, "pair %s: %s", r->resource, err);
		}
		if (d->env.opts->verbose)
			fprintf(stderr, "leakwatch: pair: %s %s at %s+0x%llx\n", r->resource,
				r->func, t.shown, (unsigned long long)t.offset);
		e = io->attach_pair ? io->attach_pair(io->ctx, "pair_entry", t.path, t.offset,
						      cookie, err, sizeof(err))
				    : -ENOSYS;
		if (!e && r->how != LW_PAIR_H_ARG)
			e = io->attach_pair(io->ctx, "pair_ret", t.path, t.offset, cookie, err,
					    sizeof(err));
		if (e)
			return lw_det__error(&d->env, e, "pair %s: %s", r->resource, err);
		attached++;
	}
	if (d->spec.n && !attached)
		return lw_det__error(&d->env, -ENOENT,
				     "pair: none of the profile's functions is in the target");
	return 0;
}

static int pair_on_event(struct lw_det *d, const struct lw_ev_hdr *h, size_t size)
{
	const struct lw_ev_pair *ev = (const void *)h;
	struct lw_ips ips = {};

	(void)size;
	lw_stack__ips(&ev->stack, &ips);
	return corr_pair__feed(d->pair, ev, &ips);
}

static int pair_on_fork(struct lw_det *d, const struct lw_proc *parent, const struct lw_proc *child,
			const struct lw_ev_proc_fork *ev)
{
	(void)parent, (void)child;
	/* as before: a fork's bookkeeping is best effort, not an event lost */
	corr_pair__fork(d->pair, ev->hdr.tgid, ev->child_tgid);
	return 0;
}

static int pair_on_exec(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exec *ev)
{
	(void)ev;
	corr_pair__exec(d->pair, p->pid);
	return 0;
}

static int pair_on_exit(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exit *ev)
{
	if (!lw_det__exit_ends_observation(d->env.opts, p))
		corr_pair__exit(d->pair, p->pid, ev->hdr.ts_ns);
	return 0;
}

static int pair_finish(struct lw_det *d, uint64_t now_ns, struct lw_findings *out)
{
	return corr_pair__finish(d->pair, now_ns, out);
}

static bool pair_implied(const struct lw_opts *o)
{
	return o->nr_pairs || o->pair_file || o->pair_profiles;
}

static const uint16_t pair_types[] = {LW_EV_PAIR, 0};

const struct lw_detector_ops det_pair_ops = {
    .name = "pair",
    .ev_types = pair_types,
    .default_on = false,
    .implied = pair_implied,
    .help = "acquire/release pairs; on with --pair* rules",
    .open = pair_open,
    .attach = pair_attach,
    .on_event = pair_on_event,
    .on_fork = pair_on_fork,
    .on_exec = pair_on_exec,
    .on_exit = pair_on_exit,
    .finish = pair_finish,
    .free = pair_free,
};
