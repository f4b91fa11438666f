// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libbpf loads an object's programs one after the other, and the verifier
 * spends most of startup on the few that unwind stacks (a few hundred ms
 * each). Those load from copies of the object instead, all at once, each
 * copy reusing every map of the main object, so the programs share their
 * maps, globals and rodata as if they had been loaded with it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <leakwatch/events.h>
#include "session/load_parts.h"
#include "leakwatch.skel.h"

/* the programs that carry the unwinder */
static const char *const slow_programs[] = {
    "lw_sys_exit", "mem_ret", "mem_alloc", "mem_bad_free", "pair_entry", "pair_ret",
};

#define LW_PARTS_MAX (sizeof(slow_programs) / sizeof(slow_programs[0]))

struct lw_part {
	struct lw_bpf *skel;
	const char *name;
	enum bpf_attach_type attach_type;
	pthread_t thread;
	int err;
};

struct lw_parts {
	struct lw_part part[LW_PARTS_MAX];
	int n;
};

struct lw_parts *lw_parts__split(struct lw_bpf *main)
{
	struct lw_parts *p;
	size_t slow = 0;

	/* one slow program alone gains nothing and costs a copy's setup */
	for (size_t i = 0; i < LW_PARTS_MAX; i++) {
		struct bpf_program *prog =
		    bpf_object__find_program_by_name(main->obj, slow_programs[i]);

		slow += prog && bpf_program__autoload(prog);
	}
	if (slow < 2 || !(p = calloc(1, sizeof(*p))))
		return NULL;
	for (size_t i = 0; i < LW_PARTS_MAX; i++) {
		struct bpf_program *prog =
		    bpf_object__find_program_by_name(main->obj, slow_programs[i]);
		struct lw_part *part = &p->part[p->n];

		if (!prog || !bpf_program__autoload(prog))
			continue;
		part->skel = lw_bpf__open();
		if (!part->skel)
			continue; /* main loads it, as before */
		part->name = slow_programs[i];
		part->attach_type = bpf_program__expected_attach_type(prog);
		/* what the loader configured: the verifier prunes by it */
		memcpy(part->skel->rodata, main->rodata, sizeof(*main->rodata));
		bpf_program__set_autoload(prog, false);
		p->n++;
	}
	return p;
}

static void *load_one(void *arg)
{
	struct lw_part *part = arg;

	part->err = lw_bpf__load(part->skel);
	return NULL;
}

/* part's programs off but its own, its maps main's */
static int prepare(struct lw_part *part, struct lw_bpf *main)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int e;

	bpf_object__for_each_program(prog, part->skel->obj)
	{
		bool mine = !strcmp(bpf_program__name(prog), part->name);

		bpf_program__set_autoload(prog, mine);
		if (mine)
			bpf_program__set_expected_attach_type(prog, part->attach_type);
	}
	bpf_object__for_each_map(map, part->skel->obj)
	{
		struct bpf_map *m = bpf_object__find_map_by_name(main->obj, bpf_map__name(map));
		int fd = m ? bpf_map__fd(m) : -1;

		if (fd < 0) {
			bpf_map__set_autocreate(map, false);
			continue;
		}
		e = bpf_map__reuse_fd(map, fd);
		if (e)
			return e;
	}
	return 0;
}

int lw_parts__load(struct lw_parts *p, struct lw_bpf *main, char *err, size_t errlen)
{
	int started = 0;

	if (!p)
		return 0;
	for (int i = 0; i < p->n; i++) {
		struct lw_part *part = &p->part[i];

		part->err = prepare(part, main);
		if (part->err)
			continue;
		/* no thread: load it here */
		if (pthread_create(&part->thread, NULL, load_one, part))
			load_one(part);
		else
			started |= 1 << i;
	}
	for (int i = 0; i < p->n; i++)
		if (started & (1 << i))
			pthread_join(p->part[i].thread, NULL);
	for (int i = 0; i < p->n; i++) {
		if (!p->part[i].err)
			continue;
		snprintf(err, errlen,
			 "cannot load BPF program %s: %s (run with -v for the verifier log)",
			 p->part[i].name, strerror(-p->part[i].err));
		return p->part[i].err;
	}
	return 0;
}

struct bpf_program *lw_parts__find(struct lw_parts *p, const char *name)
{
	for (int i = 0; p && i < p->n; i++)
		if (!strcmp(p->part[i].name, name))
			return bpf_object__find_program_by_name(p->part[i].skel->obj, name);
	return NULL;
}

void lw_parts__free(struct lw_parts *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++)
		lw_bpf__destroy(p->part[i].skel);
	free(p);
}
