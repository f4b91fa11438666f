// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report/finding.h"

struct lw_finding *lw_findings__add(struct lw_findings *fs)
{
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 16;
		struct lw_finding *v = realloc(fs->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		fs->v = v;
		fs->cap = cap;
	}
	memset(&fs->v[fs->n], 0, sizeof(fs->v[0]));
	fs->v[fs->n].fd = -1;
	return &fs->v[fs->n++];
}

void lw_frames__free(struct lw_sym_frame *frames, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		free(frames[i].module);
		free(frames[i].symbol);
		free(frames[i].file);
	}
	free(frames);
}

static void frames_free(struct lw_finding *f)
{
	lw_frames__free(f->frames, f->nr_frames);
	f->frames = NULL;
	f->nr_frames = 0;
	for (unsigned i = 0; i < f->nr_extra && i < LW_FINDING_EXTRA_MAX; i++) {
		lw_frames__free(f->extra[i].frames, f->extra[i].nr_frames);
		f->extra[i].frames = NULL;
		f->extra[i].nr_frames = 0;
	}
}

void lw_findings__free(struct lw_findings *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n; i++)
		frames_free(&fs->v[i]);
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

static int finding_cmp(const void *a, const void *b)
{
	const struct lw_finding *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);

	if (c)
		return c;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd - y->fd;
	/* fd-less kinds (mem, pairs): largest first, then by resource */
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return strcmp(x->resource, y->resource);
}

void lw_findings__sort(struct lw_findings *fs)
{
	if (fs->n > 1)
		qsort(fs->v, fs->n, sizeof(fs->v[0]), finding_cmp);
}
