// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detect/proc/corr_storm.h"
#include "base/hmap.h"

#define NS_PER_SEC 1000000000ull

/* What a storm needs beyond the process table's entry. */
struct sproc {
	/* its fork was seen: the table's ppid is its parent (a root's ppid,
	 * read from /proc, is not one whose children we watch)
	 */
	bool forked;
	bool execd;
	char prog[LW_NAME_MAX]; /* last exec filename */
};

struct sexit {
	uint64_t ts;
	uint64_t seq; /* arrival order: ties sort stably */
	int32_t status;
};

/* One (parent, program): its newest non-zero exits. */
struct skey {
	uint32_t parent;
	char prog[LW_NAME_MAX];
	char pcomm[LW_COMM_LEN];
	uint64_t first_seq; /* report order */
	struct sexit *exits;
	size_t n, cap;
};

struct ssample {
	uint64_t ts;
	uint64_t fds;
};

struct sfds {
	struct ssample *v;
	size_t n, cap;
};

struct corr_storm {
	struct corr_storm_opts o;
	uint64_t seq;
	struct hmap *procs;   /* tgid → struct sproc * */
	struct hmap *samples; /* parent tgid → struct sfds * */
	struct skey **keys;
	size_t nr_keys, cap_keys;
};

struct corr_storm *corr_storm__new(const struct corr_storm_opts *opts)
{
	struct corr_storm *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (opts)
		c->o = *opts;
	if (!c->o.min_exits)
		c->o.min_exits = 5;
	if (!c->o.window_ns)
		c->o.window_ns = 10 * NS_PER_SEC;
	c->procs = hmap__new();
	c->samples = hmap__new();
	if (!c->procs || !c->samples) {
		corr_storm__free(c);
		return NULL;
	}
	return c;
}

void corr_storm__free(struct corr_storm *c)
{
	struct hmap_iter it = {0};

	if (!c)
		return;
	while (c->procs && hmap__next(c->procs, &it))
		free((void *)(uintptr_t)*it.val);
	memset(&it, 0, sizeof(it));
	while (c->samples && hmap__next(c->samples, &it)) {
		struct sfds *s = (void *)(uintptr_t)*it.val;

		free(s->v);
		free(s);
	}
	hmap__free(c->procs);
	hmap__free(c->samples);
	for (size_t i = 0; i < c->nr_keys; i++) {
		free(c->keys[i]->exits);
		free(c->keys[i]);
	}
	free(c->keys);
	free(c);
}

static struct sproc *proc_find(struct corr_storm *c, uint32_t tgid)
{
	uint64_t *v = hmap__get(c->procs, tgid);

	return v ? (void *)(uintptr_t)*v : NULL;
}

/* The process's record, a fresh one when absent or when fresh is set
 * (a new process under a reused tgid). NULL on ENOMEM.
 */
static struct sproc *proc_get(struct corr_storm *c, uint32_t tgid, bool fresh)
{
	struct sproc *p = proc_find(c, tgid);
	uint64_t *v;

	if (p) {
		if (fresh)
			memset(p, 0, sizeof(*p));
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	v = hmap__put(c->procs, tgid, NULL);
	if (!v) {
		free(p);
		return NULL;
	}
	*v = (uintptr_t)p;
	return p;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%.*s", (int)size - 1, src ? src : "");
}

static const struct lw_proc *lookup(const struct corr_storm *c, uint32_t tgid)
{
	return c->o.proc ? c->o.proc(c->o.proc_ctx, tgid) : NULL;
}

int corr_storm__fork(struct corr_storm *c, uint32_t parent_tgid, uint32_t child_tgid,
		     uint64_t ts_ns)
{
	struct sproc *child;

	(void)parent_tgid, (void)ts_ns;
	child = proc_get(c, child_tgid, true);
	if (!child)
		return -ENOMEM;
	child->forked = true;
	return 0;
}

int corr_storm__exec(struct corr_storm *c, uint32_t tgid, const char *filename, uint64_t ts_ns)
{
	struct sproc *p = proc_get(c, tgid, false);

	(void)ts_ns;
	if (!p)
		return -ENOMEM;
	p->execd = true;
	copy_str(p->prog, sizeof(p->prog), filename);
	return 0;
}

static struct skey *key_get(struct corr_storm *c, uint32_t parent, const char *prog)
{
	struct skey *k;

	for (size_t i = 0; i < c->nr_keys; i++)
		if (c->keys[i]->parent == parent && !strcmp(c->keys[i]->prog, prog))
			return c->keys[i];
	if (c->nr_keys == LW_STORM_KEYS_MAX)
		return NULL;
	if (c->nr_keys == c->cap_keys) {
		size_t cap = c->cap_keys ? c->cap_keys * 2 : 16;
		struct skey **v = realloc(c->keys, cap * sizeof(*v));

		if (!v)
			return NULL;
		c->keys = v;
		c->cap_keys = cap;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->parent = parent;
	copy_str(k->prog, sizeof(k->prog), prog);
	k->first_seq = c->seq;
	c->keys[c->nr_keys++] = k;
	return k;
}

/* Room for one more element in a bounded array: past max, the oldest
 * quarter goes (the newest activity is what a storm report is about).
 */
static int bounded_grow(void **v, size_t *n, size_t *cap, size_t elem, size_t max)
{
	if (*n == max) {
		size_t drop = max / 4;

		memmove(*v, (char *)*v + drop * elem, (*n - drop) * elem);
		*n -= drop;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *nv;

		if (ncap > max)
			ncap = max;
		nv = realloc(*v, ncap * elem);
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	return 0;
}

int corr_storm__exit(struct corr_storm *c, uint32_t tgid, int32_t exit_code, uint64_t ts_ns)
{
	struct sproc *p = proc_find(c, tgid);
	const struct lw_proc *lp = lookup(c, tgid), *parent;
	struct skey *k;
	uint64_t v;
	int err = 0;

	c->seq++;
	if (!p)
		return 0;
	if (p->forked && lp && lp->ppid && exit_code != 0) {
		k = key_get(c, lp->ppid, p->execd ? p->prog : lp->comm);
		if (!k) {
			err = c->nr_keys == LW_STORM_KEYS_MAX ? 0 : -ENOMEM;
		} else if (!(err = bounded_grow((void **)&k->exits, &k->n, &k->cap,
						sizeof(k->exits[0]), LW_STORM_EXITS_MAX))) {
			k->exits[k->n++] = (struct sexit){ts_ns, c->seq, exit_code};
			parent = lookup(c, k->parent);
			if (parent && parent->comm[0])
				memcpy(k->pcomm, parent->comm, sizeof(k->pcomm));
		}
	}
	if (hmap__del(c->procs, tgid, &v))
		free((void *)(uintptr_t)v);
	return err;
}

int corr_storm__parent_fds(struct corr_storm *c, uint32_t parent_tgid, uint64_t ts_ns,
			   uint64_t open_fds)
{
	uint64_t *v = hmap__get(c->samples, parent_tgid);
	struct sfds *s;

	if (!v) {
		if (hmap__count(c->samples) >= LW_STORM_KEYS_MAX)
			return 0;
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		v = hmap__put(c->samples, parent_tgid, NULL);
		if (!v) {
			free(s);
			return -ENOMEM;
		}
		*v = (uintptr_t)s;
	}
	s = (void *)(uintptr_t)*v;
	if (bounded_grow((void **)&s->v, &s->n, &s->cap, sizeof(s->v[0]), LW_STORM_SAMPLES_MAX))
		return -ENOMEM;
	s->v[s->n++] = (struct ssample){ts_ns, open_fds};
	return 0;
}

static int exit_cmp(const void *a, const void *b)
{
	const struct sexit *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int key_cmp(const void *a, const void *b)
{
	const struct skey *x = *(struct skey *const *)a, *y = *(struct skey *const *)b;

	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/* Exit codes ascending, then signals ascending: "1 x7, signal 9 x1". */
static int status_order(int32_t st)
{
	return st & 0x7f ? 0x10000 + (st & 0x7f) : (st >> 8) & 0xff;
}

static int status_cmp(const void *a, const void *b)
{
	return status_order(*(const int32_t *)a) - status_order(*(const int32_t *)b);
}

static size_t append(char *buf, size_t size, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t append(char *buf, size_t size, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len >= size)
		return len;
	va_start(ap, fmt);
	n = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	return n < 0 ? len : len + (size_t)n;
}

static void codes_text(char *buf, size_t size, size_t *len, const struct sexit *e, size_t n)
{
	int32_t st[LW_STORM_EXITS_MAX];

	for (size_t i = 0; i < n; i++)
		st[i] = e[i].status;
	qsort(st, n, sizeof(st[0]), status_cmp);
	*len = append(buf, size, *len, " (codes: ");
	for (size_t i = 0, j; i < n; i = j) {
		int ord = status_order(st[i]);

		for (j = i; j < n && status_order(st[j]) == ord; j++)
			;
		if (st[i] & 0x7f)
			*len = append(buf, size, *len, "%ssignal %d x%zu", i ? ", " : "",
				      st[i] & 0x7f, j - i);
		else
			*len = append(buf, size, *len, "%s%d x%zu", i ? ", " : "",
				      (st[i] >> 8) & 0xff, j - i);
	}
	*len = append(buf, size, *len, ")");
}

static void fds_text(struct corr_storm *c, uint32_t parent, uint64_t from, uint64_t to, char *buf,
		     size_t size, size_t *len)
{
	uint64_t *v = hmap__get(c->samples, parent);
	const struct ssample *first = NULL, *last = NULL;
	const struct sfds *s;

	if (!v)
		return;
	s = (const void *)(uintptr_t)*v;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].ts < from || s->v[i].ts > to)
			continue;
		if (!first || s->v[i].ts < first->ts)
			first = &s->v[i];
		if (!last || s->v[i].ts >= last->ts)
			last = &s->v[i];
	}
	if (!first)
		return;
	if (first == last)
		*len = append(buf, size, *len, "; parent fds %llu", (unsigned long long)first->fds);
	else
		*len = append(buf, size, *len, "; parent fds %llu -> %llu",
			      (unsigned long long)first->fds, (unsigned long long)last->fds);
}

static int key_finish(struct corr_storm *c, struct skey *k, struct lw_findings *out)
{
	size_t best_i = 0, best_n = 0, len = 0;
	struct lw_finding *f;
	uint64_t span;

	qsort(k->exits, k->n, sizeof(k->exits[0]), exit_cmp);
	for (size_t i = 0, j = 0; i < k->n; i++) {
		if (j < i)
			j = i;
		while (j + 1 < k->n && k->exits[j + 1].ts - k->exits[i].ts <= c->o.window_ns)
			j++;
		if (j - i + 1 > best_n) {
			best_n = j - i + 1;
			best_i = i;
		}
	}
	if (best_n < c->o.min_exits)
		return 0;
	f = lw_findings__add(out);
	if (!f)
		return -ENOMEM;
	span = k->exits[best_i + best_n - 1].ts - k->exits[best_i].ts;
	f->kind = "respawn-storm";
	f->pid = f->tid = k->parent;
	memcpy(f->comm, k->pcomm, sizeof(f->comm));
	f->count = best_n;
	f->age_ms = span / 1000000;
	len = append(f->resource, sizeof(f->resource), len, "%s: %zu non-zero exits in %llu.%llus",
		     k->prog, best_n, (unsigned long long)(span / NS_PER_SEC),
		     (unsigned long long)(span % NS_PER_SEC / (NS_PER_SEC / 10)));
	codes_text(f->resource, sizeof(f->resource), &len, &k->exits[best_i], best_n);
	fds_text(c, k->parent, k->exits[best_i].ts, k->exits[best_i + best_n - 1].ts, f->resource,
		 sizeof(f->resource), &len);
	return 0;
}

int corr_storm__finish(struct corr_storm *c, struct lw_findings *out)
{
	int err;

	if (c->nr_keys > 1)
		qsort(c->keys, c->nr_keys, sizeof(c->keys[0]), key_cmp);
	for (size_t i = 0; i < c->nr_keys; i++) {
		err = key_finish(c, c->keys[i], out);
		if (err)
			return err;
	}
	return 0;
}
