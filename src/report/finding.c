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

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* One pid, kind, class and evidence: findings that may be one site. */
static bool same_kind(const struct lw_finding *a, const struct lw_finding *b)
{
	return a->pid == b->pid && !strcmp(a->kind, b->kind) && same_str(a->cls, b->cls) &&
	       same_str(a->why, b->why);
}

/* b's stack continues a's: a was cut where the copy ended, b went on. */
static bool continues(const struct lw_finding *a, const struct lw_finding *b)
{
	return a != b && b->kind && same_kind(a, b) && !(b->stack.flags & LW_STK_SLICE_END) &&
	       b->stack.nr > a->stack.nr &&
	       !memcmp(a->stack.ips, b->stack.ips, a->stack.nr * sizeof(a->stack.ips[0]));
}

static int int_cmp(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;

	return (a > b) - (a < b);
}

/* Fold a into b: counts add up, fds merge (the smallest kept). */
static void fold(struct lw_finding *b, const struct lw_finding *a)
{
	unsigned n = b->nr_fds;

	for (unsigned i = 0; i < a->nr_fds; i++) {
		bool dup = false;

		for (unsigned j = 0; j < b->nr_fds && !dup; j++)
			dup = b->fds[j] == a->fds[i];
		if (dup)
			continue;
		if (n < LW_FINDING_FDS_MAX) {
			b->fds[n++] = a->fds[i];
		} else {
			/* full: keep the smallest */
			unsigned max = 0;

			for (unsigned j = 1; j < n; j++)
				if (b->fds[j] > b->fds[max])
					max = j;
			if (a->fds[i] < b->fds[max])
				b->fds[max] = a->fds[i];
		}
	}
	b->nr_fds = n;
	qsort(b->fds, b->nr_fds, sizeof(b->fds[0]), int_cmp);
	if (a->fd >= 0 && (b->fd < 0 || a->fd < b->fd)) {
		/* the resource and creating thread follow the first fd */
		b->fd = a->fd;
		b->tid = a->tid;
		memcpy(b->resource, a->resource, sizeof(b->resource));
	}
	b->count += a->count;
	b->bytes += a->bytes;
	b->age_ms = a->age_ms > b->age_ms ? a->age_ms : b->age_ms;
	b->growing |= a->growing;
}

static bool same_ips(const struct lw_ips *a, const struct lw_ips *b)
{
	return a->nr == b->nr && !memcmp(a->ips, b->ips, a->nr * sizeof(a->ips[0]));
}

size_t lw_findings__merge_truncated(struct lw_findings *fs)
{
	size_t out = 0, merged = 0;

	/* the same frames whether BPF or user space finished them (the flags
	 * differ, so the correlator kept them apart): one site
	 */
	for (size_t i = 0; i < fs->n; i++)
		for (size_t j = i + 1; fs->v[i].kind && j < fs->n; j++) {
			struct lw_finding *a = &fs->v[j], *b = &fs->v[i];

			if (!a->kind || !same_kind(a, b) || !same_ips(&a->stack, &b->stack))
				continue;
			fold(b, a);
			a->kind = NULL;
			merged++;
		}
	for (size_t i = 0; i < fs->n; i++) {
		struct lw_finding *a = &fs->v[i], *into = NULL;
		size_t nr = 0;

		if (!a->kind || !(a->stack.flags & LW_STK_SLICE_END) || !a->stack.nr)
			continue;
		for (size_t j = 0; j < fs->n; j++)
			if (continues(a, &fs->v[j]) &&
			    (!into || !same_ips(&into->stack, &fs->v[j].stack)))
				into = &fs->v[j], nr++;
		if (nr != 1)
			continue; /* none, or callers that differ past the cut: keep it */
		fold(into, a);
		a->kind = NULL; /* removed below */
		merged++;
	}
	for (size_t i = 0; i < fs->n; i++) {
		if (!fs->v[i].kind) {
			lw_frames__free(fs->v[i].frames, fs->v[i].nr_frames);
			continue;
		}
		if (out != i)
			fs->v[out] = fs->v[i];
		out++;
	}
	fs->n = out;
	return merged;
}

/* Addresses differ from run to run (ASLR): a frame is its symbol and offset,
 * else its module and module-relative offset.
 */
static bool same_frames(const struct lw_sym_frame *a, unsigned na, const struct lw_sym_frame *b,
			unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++) {
		const struct lw_sym_frame *x = &a[i], *y = &b[i];

		if (!!x->symbol != !!y->symbol || !!x->module != !!y->module)
			return false;
		if (x->symbol && strcmp(x->symbol, y->symbol))
			return false;
		if (x->module && strcmp(x->module, y->module))
			return false;
		if ((x->symbol || x->module) && x->offset != y->offset)
			return false;
	}
	return true;
}

bool lw_finding__same_across_runs(const struct lw_finding *a, const struct lw_finding *b)
{
	if (strcmp(a->kind, b->kind) || !same_str(a->cls, b->cls))
		return false;
	if (!a->nr_frames && !b->nr_frames)
		return !strcmp(a->resource, b->resource);
	return same_frames(a->frames, a->nr_frames, b->frames, b->nr_frames);
}
