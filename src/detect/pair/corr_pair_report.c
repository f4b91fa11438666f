// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pair correlator: grouping leaked handles and underflows into findings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/vec.h"
#include "detect/pair/corr_pair_internal.h"

/* ---- findings ---- */

struct cand {
	uint32_t tgid, res;
	uint64_t end_ns;
	const struct phandle *h;
};

static int ips_cmp(const struct lw_ips *a, const struct lw_ips *b)
{
	if (a->nr != b->nr)
		return a->nr < b->nr ? -1 : 1;
	for (uint32_t i = 0; i < a->nr && i < LW_STACK_MAX; i++)
		if (a->ips[i] != b->ips[i])
			return a->ips[i] < b->ips[i] ? -1 : 1;
	return 0;
}

/* by pid, then resource name (not index: the order must not depend on the
 * order of the spec's lines)
 */
static int key_cmp(const char **names, uint32_t ta, uint32_t ra, uint32_t tb, uint32_t rb)
{
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return ra == rb ? 0 : strcmp(names[ra], names[rb]);
}

static int cand_cmp(const void *pa, const void *pb, void *names)
{
	const struct cand *a = pa, *b = pb;
	int d = key_cmp(names, a->tgid, a->res, b->tgid, b->res);

	if (!d)
		d = ips_cmp(&a->h->first.stack, &b->h->first.stack);
	if (!d)
		d = a->h->seq < b->h->seq ? -1 : a->h->seq > b->h->seq;
	return d;
}

/* A group is a run [start, start + n) of sorted candidates or underflows. */
struct run {
	size_t start, n;
};

struct run_ctx {
	const char **names;
	const void *v; /* struct cand or struct under array */
};

static int cand_run_cmp(const void *pa, const void *pb, void *arg)
{
	const struct run_ctx *x = arg;
	const struct cand *a = (const struct cand *)x->v + ((const struct run *)pa)->start;
	const struct cand *b = (const struct cand *)x->v + ((const struct run *)pb)->start;
	int d = key_cmp(x->names, a->tgid, a->res, b->tgid, b->res);

	if (!d && a->h->handle != b->h->handle)
		d = a->h->handle < b->h->handle ? -1 : 1;
	if (!d)
		d = a->h->seq < b->h->seq ? -1 : a->h->seq > b->h->seq;
	return d;
}

static void fill_comm(const struct corr_pair *c, uint32_t tgid, char *comm)
{
	const struct lw_proc *p = c->o.proc ? c->o.proc(c->o.proc_ctx, tgid) : NULL;

	if (p)
		memcpy(comm, p->comm, LW_COMM_LEN);
}

static int emit_leak(struct corr_pair *c, const struct cand *v, size_t n, struct lw_findings *out)
{
	const struct phandle *h = v[0].h, *newest = NULL;
	struct lw_finding *f = lw_findings__add(out);
	uint64_t age = 0;

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct phandle *m = v[i].h;

		if (v[i].end_ns > m->first.ts && v[i].end_ns - m->first.ts > age)
			age = v[i].end_ns - m->first.ts;
		if (m->retained && (!newest || m->retain.ts > newest->retain.ts ||
				    (m->retain.ts == newest->retain.ts && m->seq > newest->seq)))
			newest = m;
	}
	f->kind = "pair-leak";
	f->pid = v[0].tgid;
	f->tid = h->first.tid;
	fill_comm(c, v[0].tgid, f->comm);
	f->count = n;
	f->age_ms = age / 1000000;
	snprintf(f->resource, sizeof(f->resource), "%s (balance +%llu)", c->res_name[v[0].res],
		 (unsigned long long)h->balance);
	f->stack = h->first.stack;
	if (newest) {
		f->extra[0].label = "last retained at";
		f->extra[0].stack = newest->retain.stack;
		f->nr_extra = 1;
	}
	return 0;
}

static int emit_leaks(struct corr_pair *c, uint64_t now_ns, struct lw_findings *out)
{
	struct cand *v = NULL;
	struct run *runs = NULL;
	size_t n = 0, cap = 0, nr_runs = 0, cap_runs = 0;
	struct hmap_iter pit = {0};
	int err = 0;

	for (size_t i = 0; i < c->nr_rec && !err; i++) {
		err = lw_vec_grow((void **)&v, &cap, n + 1, sizeof(*v));
		if (!err)
			v[n++] = (struct cand){c->rec[i].tgid, c->rec[i].res, c->rec[i].end_ns,
					       &c->rec[i].h};
	}
	while (!err && hmap__next(c->procs, &pit)) {
		struct pproc *p = (struct pproc *)(uintptr_t)*pit.val;

		for (uint32_t r = 0; r < c->nres && !err; r++) {
			struct hmap_iter it = {0};

			while (!err && p->live[r] && hmap__next(p->live[r], &it)) {
				const struct phandle *h =
				    (const struct phandle *)(uintptr_t)*it.val;

				if (c->o.attach_mode && (now_ns < h->first.ts ||
							 now_ns - h->first.ts < c->o.min_age_ns))
					continue;
				err = lw_vec_grow((void **)&v, &cap, n + 1, sizeof(*v));
				if (!err)
					v[n++] = (struct cand){p->tgid, r, now_ns, h};
			}
		}
	}
	if (!err && n)
		qsort_r(v, n, sizeof(*v), cand_cmp, c->res_name);
	for (size_t i = 0; i < n && !err; i++) {
		if (nr_runs &&
		    !key_cmp(c->res_name, v[i].tgid, v[i].res, v[i - 1].tgid, v[i - 1].res) &&
		    !ips_cmp(&v[i].h->first.stack, &v[i - 1].h->first.stack)) {
			runs[nr_runs - 1].n++;
			continue;
		}
		err = lw_vec_grow((void **)&runs, &cap_runs, nr_runs + 1, sizeof(*runs));
		if (!err)
			runs[nr_runs++] = (struct run){i, 1};
	}
	if (!err && nr_runs)
		qsort_r(runs, nr_runs, sizeof(*runs), cand_run_cmp,
			&(struct run_ctx){c->res_name, v});
	for (size_t i = 0; i < nr_runs && !err; i++)
		err = emit_leak(c, v + runs[i].start, runs[i].n, out);
	free(runs);
	free(v);
	return err;
}

static int under_cmp(const void *pa, const void *pb, void *names)
{
	const struct under *a = pa, *b = pb;
	int d = key_cmp(names, a->tgid, a->res, b->tgid, b->res);

	if (!d)
		d = ips_cmp(&a->stack, &b->stack);
	if (!d)
		d = a->seq < b->seq ? -1 : a->seq > b->seq;
	return d;
}

static int under_run_cmp(const void *pa, const void *pb, void *arg)
{
	const struct run_ctx *x = arg;
	const struct under *a = (const struct under *)x->v + ((const struct run *)pa)->start;
	const struct under *b = (const struct under *)x->v + ((const struct run *)pb)->start;
	int d = key_cmp(x->names, a->tgid, a->res, b->tgid, b->res);

	return d ? d : a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int emit_underflows(struct corr_pair *c, struct lw_findings *out)
{
	struct under *v = c->unders;
	struct run *runs = NULL;
	size_t nr_runs = 0, cap_runs = 0;
	int err = 0;

	if (c->nr_unders)
		qsort_r(v, c->nr_unders, sizeof(*v), under_cmp, c->res_name);
	for (size_t i = 0; i < c->nr_unders && !err; i++) {
		if (nr_runs &&
		    !key_cmp(c->res_name, v[i].tgid, v[i].res, v[i - 1].tgid, v[i - 1].res) &&
		    !ips_cmp(&v[i].stack, &v[i - 1].stack)) {
			runs[nr_runs - 1].n++;
			continue;
		}
		err = lw_vec_grow((void **)&runs, &cap_runs, nr_runs + 1, sizeof(*runs));
		if (!err)
			runs[nr_runs++] = (struct run){i, 1};
	}
	if (!err && nr_runs)
		qsort_r(runs, nr_runs, sizeof(*runs), under_run_cmp,
			&(struct run_ctx){c->res_name, v});
	for (size_t i = 0; i < nr_runs && !err; i++) {
		const struct under *u = &v[runs[i].start];
		struct lw_finding *f = lw_findings__add(out);

		if (!f) {
			err = -ENOMEM;
			break;
		}
		f->kind = "pair-underflow";
		f->pid = u->tgid;
		f->tid = u->tid;
		fill_comm(c, u->tgid, f->comm);
		f->count = runs[i].n;
		snprintf(f->resource, sizeof(f->resource), "%s handle 0x%llx", c->res_name[u->res],
			 (unsigned long long)u->handle);
		f->stack = u->stack;
		if (u->have_prev) {
			f->extra[0].label = u->prev_op == LW_PAIR_DESTROY
						? "previously destroyed at"
						: "previously released at";
			f->extra[0].stack = u->prev_stack;
			f->extra[1].label = "acquired at";
			f->extra[1].stack = u->acq_stack;
			f->nr_extra = 2;
		}
	}
	free(runs);
	return err;
}

int corr_pair__finish(struct corr_pair *c, uint64_t now_ns, struct lw_findings *out)
{
	int err = emit_leaks(c, now_ns, out);

	return err ? err : emit_underflows(c, out);
}
