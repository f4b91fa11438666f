// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "base/hmap.h"
#include "base/proc_table.h"

void lw_procs__free(struct lw_procs *t)
{
	if (!t)
		return;
	free(t->v);
	hmap__free(t->newest);
	memset(t, 0, sizeof(*t));
}

const struct lw_proc *lw_procs__find(const struct lw_procs *t, uint32_t tgid)
{
	uint64_t *i = t && t->newest ? hmap__get(t->newest, tgid) : NULL;

	return i ? &t->v[*i] : NULL;
}

const struct lw_proc *lw_procs__lookup(void *ctx, uint32_t tgid)
{
	return lw_procs__find(ctx, tgid);
}

struct lw_proc *lw_procs__get(struct lw_procs *t, uint32_t tgid)
{
	uint64_t *slot;
	struct lw_proc *p;

	if (!t->newest && !(t->newest = hmap__new()))
		return NULL;
	slot = hmap__get(t->newest, tgid);
	if (slot && !t->v[*slot].exited)
		return &t->v[*slot];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct lw_proc *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	slot = hmap__put(t->newest, tgid, NULL);
	if (!slot)
		return NULL;
	*slot = t->n;
	p = &t->v[t->n++];
	memset(p, 0, sizeof(*p));
	p->pid = tgid;
	p->serial = (uint32_t)t->n;
	return p;
}

static void set_comm(struct lw_proc *p, const char *comm)
{
	if (comm && comm[0])
		memcpy(p->comm, comm, sizeof(p->comm));
}

struct lw_proc *lw_procs__fork(struct lw_procs *t, uint32_t parent, uint32_t child,
			       const char *comm)
{
	struct lw_proc *p = lw_procs__get(t, child);

	if (p) {
		p->ppid = parent;
		set_comm(p, comm);
	}
	return p;
}

struct lw_proc *lw_procs__exec(struct lw_procs *t, uint32_t tgid, const char *comm)
{
	struct lw_proc *p = lw_procs__get(t, tgid);

	if (p) {
		p->exec_gen++;
		set_comm(p, comm);
	}
	return p;
}

struct lw_proc *lw_procs__exit(struct lw_procs *t, uint32_t tgid, int exit_code, const char *comm)
{
	struct lw_proc *p = lw_procs__get(t, tgid);

	if (p) {
		set_comm(p, comm);
		p->exited = 1;
		p->exit_code = exit_code;
	}
	return p;
}
