// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Symbolizer: the per-process mapping table, fed from /proc/PID/maps, forks and execs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/vec.h"
#include "stack/proc_file.h"
#include "stack/symbolize_internal.h"

/* Index of tgid, or where it would be inserted. */
static size_t proc_lower(const struct symbolizer *s, uint32_t tgid)
{
	size_t lo = 0, hi = s->nr_procs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->procs[mid].tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Pointers into s->procs are invalidated when create adds a process. */
static struct sym_proc *proc_get(struct symbolizer *s, uint32_t tgid, bool create)
{
	size_t i = proc_lower(s, tgid);

	if (i < s->nr_procs && s->procs[i].tgid == tgid)
		return &s->procs[i];
	if (!create ||
	    lw_vec_grow((void **)&s->procs, &s->cap_procs, s->nr_procs + 1, sizeof(*s->procs)))
		return NULL;
	memmove(&s->procs[i + 1], &s->procs[i], (s->nr_procs - i) * sizeof(*s->procs));
	memset(&s->procs[i], 0, sizeof(s->procs[i]));
	s->procs[i].tgid = tgid;
	proc_file__root(tgid, s->procs[i].root, sizeof(s->procs[i].root));
	s->nr_procs++;
	return &s->procs[i];
}

/* 1: added, 0: already known (its generation is refreshed), -errno. */
static int proc_add(struct sym_proc *p, const struct lw_mapping *nm, unsigned gen)
{
	struct sym_map *m;

	for (size_t i = 0; i < p->nr; i++) {
		m = &p->maps[i];
		if (m->m.start == nm->start && m->m.end == nm->end &&
		    m->m.file_off == nm->file_off && m->m.file == nm->file) {
			if (m->gen < gen)
				m->gen = gen;
			return 0;
		}
	}
	if (lw_vec_grow((void **)&p->maps, &p->cap, p->nr + 1, sizeof(*p->maps)))
		return -ENOMEM;
	m = &p->maps[p->nr++];
	m->m = *nm;
	m->gen = gen;
	return 1;
}

static int add_mapping(struct symbolizer *s, uint32_t tgid, uint64_t start, uint64_t end,
		       uint64_t file_off, const char *path)
{
	char buf[PATH_MAX + 32];
	struct sym_mod *mod;
	struct sym_proc *p;
	const char *file;

	if (!s || !path || !*path || start >= end)
		return -EINVAL;
	if (!(p = proc_get(s, tgid, true)))
		return -ENOMEM;
	file = proc_file__own(p->root, path, buf, sizeof(buf));
	if (!(mod = mod_get(s, file, path)))
		return -ENOMEM;
	/* /proc/TGID/root goes with the process: read the file now */
	if (file == buf && !mod->tried)
		mod_load(mod);
	return proc_add(p,
			&(struct lw_mapping){.start = start,
					     .end = end,
					     .file_off = file_off,
					     .path = mod->shown,
					     .file = mod->path},
			p->gen);
}

int symbolizer__add_mapping(struct symbolizer *s, uint32_t tgid, uint64_t start, uint64_t end,
			    uint64_t file_off, const char *path)
{
	int err = add_mapping(s, tgid, start, end, file_off, path);

	return err < 0 ? err : 0;
}

int symbolizer__load_maps_file(struct symbolizer *s, uint32_t tgid, const char *maps_path)
{
	char *line = NULL;
	size_t len = 0;
	int added = 0, err = 0;
	FILE *f;

	if (!s || !maps_path)
		return -EINVAL;
	f = fopen(maps_path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &len, f) > 0) {
		unsigned long long start, end, off;
		char perms[8], *path;
		int pos = 0, n;
		size_t plen;

		/* start-end perms offset dev inode   path */
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off, &pos) <
			4 ||
		    !pos)
			continue;
		path = line + pos;
		plen = strlen(path);
		while (plen && (path[plen - 1] == '\n' || path[plen - 1] == ' '))
			path[--plen] = '\0';
		/* [vdso], [heap], anonymous JIT code: no file to read symbols from */
		if (strlen(perms) < 3 || perms[2] != 'x' || path[0] != '/')
			continue;
		n = add_mapping(s, tgid, start, end, off, path);
		if (n < 0) {
			err = n;
			break;
		}
		added += n;
	}
	free(line);
	fclose(f);
	return err ? err : added;
}

int symbolizer__snapshot_maps(struct symbolizer *s, uint32_t tgid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%u/maps", tgid);
	return symbolizer__load_maps_file(s, tgid, path);
}

int symbolizer__fork(struct symbolizer *s, uint32_t parent, uint32_t child)
{
	struct sym_proc *c, *p;

	if (!s)
		return -EINVAL;
	if (parent == child || !proc_get(s, parent, false))
		return 0;
	c = proc_get(s, child, true);
	p = proc_get(s, parent, false); /* re-fetch: creating the child may move it */
	if (!c || !p)
		return -ENOMEM;
	if (c->gen < p->gen)
		c->gen = p->gen;
	for (size_t i = 0; i < p->nr; i++) {
		const struct sym_map *m = &p->maps[i];
		int err = proc_add(c, &m->m, m->gen);

		if (err < 0)
			return err;
	}
	return 0;
}

void symbolizer__exec(struct symbolizer *s, uint32_t tgid)
{
	struct sym_proc *p = s ? proc_get(s, tgid, true) : NULL;

	/* Old mappings stay: stacks recorded before the exec still need them. */
	if (p) {
		p->gen++;
		proc_file__root(tgid, p->root, sizeof(p->root));
	}
}

const struct lw_mapping *symbolizer__find(struct symbolizer *s, uint32_t tgid, uint64_t addr)
{
	const struct sym_map *best = NULL;
	struct sym_proc *p = s ? proc_get(s, tgid, false) : NULL;

	if (!p)
		return NULL;
	for (size_t i = 0; i < p->nr; i++) {
		const struct sym_map *m = &p->maps[i];

		/* >=: at equal generation the most recently learnt wins */
		if (addr >= m->m.start && addr < m->m.end && (!best || m->gen >= best->gen))
			best = m;
	}
	return best ? &best->m : NULL;
}
