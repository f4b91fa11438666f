// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The mem detector: allocator uprobes, streamed blocks and bad frees, the
 * anonymous-mapping class, and the BPF maps read at the end.
 */
#include <leakwatch/hash.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/fmt.h"
#include "base/hmap.h"
#include "base/vec.h"
#include "detect/fd/corr_fd.h"
#include "detect/mem/alloc_code.h"
#include "detect/mem/corr_mem.h"
#include "detect/mem/det_mem.h"
#include "detect/mem/mem_scan.h"
#include "report/report.h"
#include "report/kinds.h"
#include "stack/probe_place.h"
#include "stack/symbolize.h"
#include "stack/tail_jump.h"

struct lw_det {
	struct lw_det_env env;
	struct corr_mem *mem;
	struct mem_scan_stats scan;
	uint64_t scan_errors;
	struct alloc_code *code; /* the allocators it probed */
	/* forked, no exec since: the parent's blocks are in its heap too,
	 * untracked (the live-block map is per process)
	 */
	struct hmap *inherited;
};

static const struct mem_probe {
	enum lw_alloc_fn fn;
	const char *prog;
	unsigned args; /* registers the entry program reads */
	/* where its arguments are, the cookie of the one session program
	 * that may stand for prog; 0 (free): no return value wanted
	 */
	enum lw_mem_entry how;
	/* the entry point it may only wrap: when its body makes no call and
	 * only jumps there, that probe sees its calls (LW_FN__MAX: none)
	 */
	enum lw_alloc_fn wraps;
} mem_probes[] = {
    {LW_FN_MALLOC, "mem_malloc", LW_ARG_RDI, LW_ME_MALLOC, LW_FN__MAX},
    {LW_FN_CALLOC, "mem_calloc", LW_ARG_RDI | LW_ARG_RSI, LW_ME_CALLOC, LW_FN__MAX},
    {LW_FN_REALLOC, "mem_realloc", LW_ARG_RDI | LW_ARG_RSI, LW_ME_REALLOC, LW_FN__MAX},
    {LW_FN_REALLOCARRAY, "mem_reallocarray", LW_ARG_RDI | LW_ARG_RSI | LW_ARG_RDX,
     LW_ME_REALLOCARRAY, LW_FN_REALLOC},
    {LW_FN_FREE, "mem_free", LW_ARG_RDI, 0, LW_FN__MAX},
    {LW_FN_POSIX_MEMALIGN, "mem_posix_memalign", LW_ARG_RDI | LW_ARG_RSI | LW_ARG_RDX,
     LW_ME_POSIX_MEMALIGN, LW_FN__MAX},
    {LW_FN_ALIGNED_ALLOC, "mem_memalign", LW_ARG_RDI | LW_ARG_RSI, LW_ME_MEMALIGN, LW_FN__MAX},
    {LW_FN_MEMALIGN, "mem_memalign", LW_ARG_RDI | LW_ARG_RSI, LW_ME_MEMALIGN, LW_FN__MAX},
    {LW_FN_VALLOC, "mem_valloc", LW_ARG_RDI, LW_ME_MALLOC, LW_FN__MAX},
    {LW_FN_PVALLOC, "mem_valloc", LW_ARG_RDI, LW_ME_MALLOC, LW_FN__MAX},
};

static int mem_open(struct lw_det **out, const struct lw_det_env *env)
{
	const struct lw_opts *o = env->opts;
	struct corr_mem_opts mo = {
	    .attach_mode = o->mode == LW_MODE_ATTACH,
	    .min_age_ns = o->min_age_ns,
	    .sample_every = o->sample_every,
	    .show_reachable = o->show_reachable,
	    .proc = lw_procs__lookup,
	    .proc_ctx = (void *)env->io->procs,
	};
	struct lw_det *d = calloc(1, sizeof(*d));

	*out = d;
	if (!d)
		return -ENOMEM;
	d->env = *env;
	d->mem = corr_mem__new(&mo);
	d->code = alloc_code__new();
	d->inherited = hmap__new();
	return d->mem && d->code && d->inherited ? 0 : -ENOMEM;
}

static void mem_free(struct lw_det *d)
{
	if (!d)
		return;
	corr_mem__free(d->mem);
	hmap__free(d->inherited);
	alloc_code__free(d->code);
	free(d);
}

int det_mem__attach_target(const struct lw_det_env *env, const struct lw_alloc_target *t)
{
	const struct lw_opts *o = env->opts;
	const struct lw_det_io *io = env->io;
	char err[256] = "", why[192];
	int e;

	if (!t->found[LW_FN_MALLOC] || !t->found[LW_FN_FREE])
		return lw_det__error(env, -ENOENT, "mem: %s: no malloc/free found", t->shown);
	if (o->verbose)
		fprintf(stderr, "leakwatch: mem: allocator %s (%s)\n", t->shown, t->why);
	for (size_t i = 0; i < sizeof(mem_probes) / sizeof(mem_probes[0]); i++) {
		const struct mem_probe *mp = &mem_probes[i];
		struct probe_place pp = {.offset = t->offset[mp->fn]};
		uint64_t cookie = mp->how;
		bool dup = false;

		if (!t->found[mp->fn])
			continue;
		/* aliases (one function under two names) get one probe */
		for (size_t j = 0; j < i; j++)
			dup |= t->found[mem_probes[j].fn] &&
			       t->offset[mem_probes[j].fn] == t->offset[mp->fn];
		if (dup)
			continue;
		/* a wrapper that only tail-jumps to another probed entry point:
		 * that probe sees its calls, without a single step at its own entry
		 */
		if (mp->wraps != LW_FN__MAX && t->found[mp->wraps] && !o->probe_at_entry &&
		    tail_jump__only_to(t->path, t->offset[mp->fn], t->offset[mp->wraps],
				       alloc_fn_name(mp->wraps), why, sizeof(why)) == 1) {
			if (o->verbose)
				fprintf(stderr, "leakwatch: mem: %s at +0x%llx: not probed: %s\n",
					alloc_fn_name(mp->fn),
					(unsigned long long)t->offset[mp->fn], why);
			continue;
		}
		/* where the entry instruction would be single-stepped, probe the
		 * first equivalent instruction the kernel emulates
		 */
		if (o->probe_at_entry)
			lw_fmt(pp.why, sizeof(pp.why), "at its entry (--probe-at-entry)");
		if (o->probe_at_entry ||
		    probe_place__find(t->path, t->offset[mp->fn], mp->args, &pp))
			pp.offset = t->offset[mp->fn];
		/* past copies of its arguments: the program reads the copies */
		if (pp.remapped) {
			cookie |= LW_ME_ARGMAP;
			for (unsigned a = 0; a < LW_NR_ARGS; a++)
				cookie |= (uint64_t)(pp.arg_reg[a] & 0xf)
					  << (LW_ME_ARGMAP_SHIFT + 4 * a);
		}
		if (o->verbose)
			fprintf(stderr, "leakwatch: mem: %s at +0x%llx: %s\n",
				alloc_fn_name(mp->fn), (unsigned long long)pp.offset, pp.why);
		e = io->attach_uprobe ? io->attach_uprobe(io->ctx, mp->prog, t->path, pp.offset,
							  false, cookie, err, sizeof(err))
				      : -ENOSYS;
		/* The uretprobe hijacks the return address at [rsp]: a moved
		 * probe is reached once per call with rsp as at the entry
		 * (probe_place.h), so it goes there too, where it shares the
		 * emulated breakpoint instead of single-stepping the entry.
		 */
		if (!e && mp->how)
			e = io->attach_uprobe(io->ctx, "mem_ret", t->path, pp.offset, true, 0, err,
					      sizeof(err));
		if (e)
			return lw_det__error(env, e, "mem: %s", err);
	}
	return 0;
}

static int mem_attach(struct lw_det *d, pid_t pid, char **argv)
{
	extern char **environ;
	struct lw_alloc_target *t = calloc(1, sizeof(*t));
	char err[256] = "";
	int e;

	if (!t)
		return -ENOMEM;
	e = argv ? alloc_resolve__command(argv[0], environ, t, err, sizeof(err))
		 : alloc_resolve__pid(pid, t, err, sizeof(err));
	/* on by default in run, not asked for: a command whose allocator
	 * cannot be found (not there at all, static, stripped) still runs,
	 * and the exec says what is wrong with it
	 */
	if (!e && (!t->found[LW_FN_MALLOC] || !t->found[LW_FN_FREE])) {
		snprintf(err, sizeof(err), "%.200s: no malloc/free found", t->shown);
		e = -ENOENT;
	}
	if (e && !d->env.opts->detectors_given) {
		/* a command that is not there: its exec says so, in one line */
		if (!d->env.opts->quiet && !strstr(err, "command not found"))
			fprintf(stderr, "leakwatch: mem: %s: the heap is not checked\n", err);
		free(t);
		return 0;
	}
	e = e ? lw_det__error(&d->env, e, "mem: %s", err) : det_mem__attach_target(&d->env, t);
	/* its own mappings are not the program's (det_mem__keep_mmap) */
	if (!e)
		e = alloc_code__learn(d->code, t->shown, t->path);
	free(t);
	return e;
}

static const struct lw_mapping *mapping_of(const struct lw_det_io *io, uint32_t tgid, uint64_t ip)
{
	return io->mapping ? io->mapping(io->ctx, tgid, ip) : NULL;
}

static bool in_libc(const struct lw_det_io *io, uint32_t tgid, uint64_t ip)
{
	const struct lw_mapping *m = mapping_of(io, tgid, ip);
	const char *base;

	if (!m || !m->path)
		return false;
	base = strrchr(m->path, '/');
	base = base ? base + 1 : m->path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "ld-linux", 8);
}

/* What allocator code ip is (ip - 1: return addresses point past the call). */
static enum alloc_code_kind code_kind(const struct lw_det_io *io, const struct alloc_code *ac,
				      uint32_t tgid, uint64_t ip)
{
	const struct lw_mapping *m = mapping_of(io, tgid, ip);

	if (!m || !m->path || ip <= m->start)
		return ALLOC_CODE_NONE;
	return alloc_code__classify(ac, m->path, ip - 1 - m->start + m->file_off);
}

bool det_mem__keep_mmap(const struct lw_det_io *io, const struct alloc_code *ac, uint32_t tgid,
			struct lw_ips *ips)
{
	/* malloc's large chunks and arenas, thread stacks, ld.so's segments
	 * and TLS: the heap detector's business or nobody's
	 */
	if (ips->nr >= 2 && in_libc(io, tgid, ips->ips[1]))
		return false;
	/* another allocator's extents, spans and caches: the mapping itself
	 * (ips[0], a raw syscall) or its caller is allocator code, or it is
	 * made inside malloc and friends
	 */
	for (uint32_t i = 0; i < ips->nr; i++) {
		enum alloc_code_kind k = code_kind(io, ac, tgid, ips->ips[i]);

		if (k == ALLOC_CODE_ENTRY || (k == ALLOC_CODE_INTERNAL && i < 2))
			return false;
	}
	if (ips->nr >= 2 && in_libc(io, tgid, ips->ips[0])) {
		memmove(ips->ips, ips->ips + 1, (ips->nr - 1) * sizeof(ips->ips[0]));
		ips->nr--;
		ips->flags &= ~LW_STK_EXACT_PC; /* the caller's frame: a return address */
	}
	return true;
}

static int mem_on_event(struct lw_det *d, const struct lw_ev_hdr *h, size_t size)
{
	struct lw_ips ips = {};

	switch (h->type) {
	case LW_EV_MEM_ALLOC: {
		const struct lw_ev_mem_alloc *ev = (const void *)h;

		lw_stack__ips(&ev->stack, &ips);
		return corr_mem__user_alloc(d->mem, ev, &ips);
	}
	case LW_EV_MEM_FREE_USER:
		if (size >= sizeof(struct lw_ev_mem_free_user))
			corr_mem__user_free(d->mem, (const void *)h);
		return 0;
	case LW_EV_MMAP_ANON: {
		const struct lw_ev_mmap_anon *ev = (const void *)h;

		lw_stack__ips(&ev->stack, &ips);
		if (!det_mem__keep_mmap(d->env.io, d->code, h->tgid, &ips))
			return 0;
		return corr_mem__mmap(d->mem, ev, &ips);
	}
	case LW_EV_MUNMAP:
		if (size < sizeof(struct lw_ev_munmap))
			return -EINVAL;
		return corr_mem__munmap(d->mem, (const void *)h);
	case LW_EV_MEM_BAD_FREE: {
		const struct lw_ev_mem_bad_free *ev = (const void *)h;

		lw_stack__ips(&ev->stack, &ips);
		return corr_mem__bad_free(d->mem, ev, &ips);
	}
	}
	return -EINVAL;
}

static int mem_on_fork(struct lw_det *d, const struct lw_proc *parent, const struct lw_proc *child,
		       const struct lw_ev_proc_fork *ev)
{
	(void)parent, (void)ev;
	return hmap__put(d->inherited, child->pid, NULL) ? 0 : -ENOMEM;
}

static int mem_on_exec(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exec *ev)
{
	(void)ev;
	hmap__del(d->inherited, p->pid, NULL);
	return 0;
}

static int mem_on_exit(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exit *ev)
{
	if (!lw_det__exit_ends_observation(d->env.opts, p))
		corr_mem__exit(d->mem, p->pid, ev->hdr.ts_ns);
	return 0;
}

static int mem_on_frozen(struct lw_det *d, const struct lw_frozen *fr)
{
	const struct lw_opts *o = d->env.opts;
	const struct lw_proc *p = lw_procs__find(d->env.io->procs, (uint32_t)fr->pid);
	/* blocks the list may lack: their contents are not scanned, so what
	 * only they point to would look lost; treat the gaps as roots
	 */
	bool unknown = o->mode == LW_MODE_ATTACH || o->sample_every > 1 || o->min_size ||
		       o->max_size || hmap__get(d->inherited, (uint64_t)fr->pid);
	int err = mem_scan__frozen(d->mem, d->env.io, fr, p ? p->exec_gen : 0, unknown, &d->scan);

	d->scan_errors += err != 0;
	return err;
}

static void mem_meta(struct lw_det *d, struct lw_report_meta *m)
{
	m->scan.mem_scans += d->scan.scans;
	m->scan.mem_scanned_bytes += d->scan.scanned_bytes;
	m->scan.mem_scan_ns += d->scan.scan_ns;
	m->scan.mem_scan_failed += d->scan_errors;
	corr_mem__reachable(d->mem, &m->scan.reachable_blocks, &m->scan.reachable_bytes);
}

static int on_stack(void *ctx, uint64_t id, const struct lw_stack_ips *ips)
{
	return corr_mem__stack(ctx, id, ips);
}

static int on_block(void *ctx, const struct lw_alloc_key *k, const struct lw_alloc_val *v)
{
	return corr_mem__live(ctx, k, v);
}

static int mem_finish(struct lw_det *d, uint64_t now_ns, struct lw_findings *out)
{
	const struct lw_det_io *io = d->env.io;
	int err = io->read_mem ? io->read_mem(io->ctx, on_stack, on_block, d->mem) : 0;

	if (!err && io->read_mem)
		corr_mem__user_sweep(d->mem, 0, 0, true);
	if (d->env.opts->verbose && corr_mem__swept(d->mem))
		fprintf(stderr,
			"leakwatch: mem: %llu held blocks were freed (their records dropped)\n",
			(unsigned long long)corr_mem__swept(d->mem));
	return err ? err : corr_mem__finish(d->mem, now_ns, out);
}

/* The blocks user space holds, summed per stack id: the block table's
 * totals leave them out (their stack is not in BPF), so a site would show
 * fewer live blocks each round than the report counts.
 */
struct user_site {
	uint64_t count, bytes;
	const struct lw_ips *stack;
	bool shown;
};

struct tick_ctx {
	const struct lw_det_tick *t;
	uint32_t root;
	unsigned shown;
	struct hmap *user_idx; /* stack id → index in user */
	struct user_site *user;
	size_t nr_user, cap_user;
};

static int add_user_block(void *ctx, const struct lw_ips *stack, uint64_t size)
{
	struct tick_ctx *tc = ctx;
	bool added;
	uint64_t *i = hmap__put(tc->user_idx, det_mem__stack_key(stack), &added);

	if (!i || (added && lw_vec_grow((void **)&tc->user, &tc->cap_user, tc->nr_user + 1,
					sizeof(*tc->user))))
		return -ENOMEM;
	if (added) {
		*i = tc->nr_user;
		tc->user[tc->nr_user++] = (struct user_site){.stack = stack};
	}
	tc->user[*i].count++;
	tc->user[*i].bytes += size;
	return 0;
}

static void show_site(struct tick_ctx *tc, uint64_t id, uint64_t count, uint64_t bytes,
		      const void *ips, uint32_t nr)
{
	struct corr_fd_site site = {.key = id ^ LW_MEM_SITE_TAG, .pid = tc->root};

	site.stack.nr = ips && nr ? (nr > LW_STACK_MAX ? LW_STACK_MAX : nr) : 0;
	if (site.stack.nr)
		memcpy(site.stack.ips, ips, site.stack.nr * sizeof(site.stack.ips[0]));
	site.live = count;
	snprintf(site.resource, sizeof(site.resource), "%llu bytes", (unsigned long long)bytes);
	tc->t->site(tc->t->ctx, &site, "blocks", tc->shown++ < 20);
}

static int site_tick(void *ctx, uint64_t id, const struct lw_mem_total *total,
		     const struct lw_stack_ips *ips)
{
	struct tick_ctx *tc = ctx;
	uint64_t *i = hmap__get(tc->user_idx, id);
	struct user_site *u = i ? &tc->user[*i] : NULL;
	uint64_t count = total->live_count, bytes = total->live_bytes;

	if (u) {
		count += u->count;
		bytes += u->bytes;
		u->shown = true;
	}
	if (count)
		show_site(tc, id, count, bytes, ips ? ips->ips : NULL, ips ? ips->nr : 0);
	return 0;
}

static void mem_tick(struct lw_det *d, const struct lw_det_tick *t)
{
	const struct lw_det_io *io = d->env.io;
	struct tick_ctx tc = {.t = t, .user_idx = hmap__new()};
	struct hmap_iter it = {0};
	char line[128];

	for (size_t i = 0; io->procs && i < io->procs->n; i++)
		if (io->procs->v[i].root)
			tc.root = io->procs->v[i].pid;
	snprintf(line, sizeof(line), "+%.1fs: allocation sites with live blocks:", t->t_s);
	t->header(t->ctx, line);
	/* out of memory: the block table's totals alone, as before (a key
	 * added before its site grew would index nothing)
	 */
	if (tc.user_idx && corr_mem__each_user_block(d->mem, add_user_block, &tc)) {
		hmap__free(tc.user_idx);
		tc.user_idx = NULL;
	}
	if (io->read_mem_totals)
		io->read_mem_totals(io->ctx, site_tick, &tc);
	/* sites whose every live block user space holds */
	while (tc.user_idx && hmap__next(tc.user_idx, &it)) {
		const struct user_site *u = &tc.user[*it.val];

		if (!u->shown)
			show_site(&tc, it.key, u->count, u->bytes, u->stack->ips, u->stack->nr);
	}
	hmap__free(tc.user_idx);
	free(tc.user);
}

/* The BPF side's stack id (bpf/mem.bpf.c) */
uint64_t det_mem__stack_key(const struct lw_ips *st)
{
	return lw_hash_ips(st->ips, st->nr, LW_STACK_MAX);
}

static uint64_t mem_site_key(struct lw_det *d, const struct lw_finding *f)
{
	const struct lw_kind *k = lw_kind__find(f->kind);

	(void)d;
	return k && k->is_leak ? det_mem__stack_key(&f->stack) ^ LW_MEM_SITE_TAG : 0;
}

size_t det_mem__apply_top(struct lw_findings *fs, unsigned top)
{
	size_t seen = 0, cut = 0;

	for (size_t i = 0; i < fs->n && top; i++) {
		const struct lw_kind *k = lw_kind__find(fs->v[i].kind);

		if (!k || strcmp(k->detector, "mem") || !k->is_leak || fs->v[i].suppressed)
			continue;
		if (++seen > top) {
			fs->v[i].suppressed = true;
			cut++;
		}
	}
	return cut;
}

static size_t mem_trim(struct lw_det *d, struct lw_findings *fs)
{
	return det_mem__apply_top(fs, d->env.opts->top);
}

static const uint16_t mem_types[] = {
    LW_EV_MEM_ALLOC, LW_EV_MEM_FREE_USER, LW_EV_MEM_BAD_FREE, LW_EV_MMAP_ANON, LW_EV_MUNMAP, 0,
};

const struct lw_detector_ops det_mem_ops = {
    .name = "mem",
    .ev_types = mem_types,
    .default_on = false,
    /* run checks the heap as LeakSanitizer does; attached to a server the
     * probes cost it throughput, so there it is asked for
     */
    .default_in_run = true,
    .help = "heap blocks (allocator uprobes), anonymous mmaps",
    .open = mem_open,
    .attach = mem_attach,
    .on_event = mem_on_event,
    .on_fork = mem_on_fork,
    .on_exec = mem_on_exec,
    .on_exit = mem_on_exit,
    .tick = mem_tick,
    .on_frozen = mem_on_frozen,
    .finish = mem_finish,
    .meta = mem_meta,
    .site_key = mem_site_key,
    .trim = mem_trim,
    .free = mem_free,
};
