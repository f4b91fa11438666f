// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "session/session_internal.h"
#include "report/output.h"

/* ---- the report ---- */

static void proc_comm(const struct lw_session *s, uint32_t pid, char *comm)
{
	for (size_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].pid == pid && s->procs[i].comm[0])
			memcpy(comm, s->procs[i].comm, LW_COMM_LEN);
}

/* mount-leftover: is that mount still there (our own namespace's view)? */
static bool still_mounted(void *ctx, uint32_t mnt_ns, const char *target)
{
	(void)ctx;
	/* another namespace: gone with it, or not ours to see */
	if (mnt_ns != procfs__mnt_ns(0))
		return false;
	return procfs__mount_shared(getpid(), target) >= 0;
}

/* attach: what /proc says wins over what we believe; count the corrections. */
static void reconcile(struct lw_session *s)
{
	for (size_t i = 0; i < s->nr_procs; i++) {
		struct lw_proc_fd *real;
		int believed[4096], nb, nr;

		if (s->procs[i].exited)
			continue;
		nr = procfs__fds(s->procs[i].pid, &real);
		if (nr < 0)
			continue;
		nb = corr_fd__open_fds(s->corr, s->procs[i].pid, believed, 4096);
		for (int b = 0; b < nb; b++) {
			bool open = false;

			for (int r = 0; r < nr && !open; r++)
				open = real[r].fd == believed[b];
			if (!open) {
				corr_fd__forget(s->corr, s->procs[i].pid, believed[b]);
				s->reconciled++;
			}
		}
		free(real);
	}
}

static const char *incomplete_reason(const struct lw_stats *st, uint64_t user_errors, char *buf,
				     size_t len)
{
	size_t off = 0;

	if (st->dropped)
		off += snprintf(buf + off, len - off, "%llu events dropped (ring buffer full); ",
				(unsigned long long)st->dropped);
	if (st->stash_full)
		off += snprintf(buf + off, len - off, "%llu syscalls missed (stash map full); ",
				(unsigned long long)st->stash_full);
	if (st->target_full && off < len)
		off += snprintf(buf + off, len - off, "%llu processes untraced (target map full); ",
				(unsigned long long)st->target_full);
	if (st->cfi_full && off < len)
		off += snprintf(buf + off, len - off, "%llu stacks cut short (unwind map full); ",
				(unsigned long long)st->cfi_full);
	if (st->alloc_full && off < len)
		off += snprintf(buf + off, len - off, "%llu blocks untracked (allocs map full); ",
				(unsigned long long)st->alloc_full);
	if (st->stackmap_full && off < len)
		off += snprintf(buf + off, len - off,
				"%llu allocation stacks lost (stacks map full); ",
				(unsigned long long)st->stackmap_full);
	if (st->mem_pending_full && off < len)
		off += snprintf(buf + off, len - off,
				"%llu allocator calls missed (pending map full); ",
				(unsigned long long)st->mem_pending_full);
	if (user_errors && off < len)
		off += snprintf(buf + off, len - off, "%llu events not processed; ",
				(unsigned long long)user_errors);
	if (!off)
		return NULL;
	if (off >= 2 && off < len)
		buf[off - 2] = 0;
	return buf;
}

/* The BPF side's stack id: FNV-1a over the ips (bpf/mem.bpf.c stack_hash). */
static uint64_t ips_key(const struct lw_ips *st)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < st->nr && i < LW_STACK_MAX; i++)
		h = (h ^ st->ips[i]) * 0x100000001b3ULL;
	return h ? h : 1;
}

/* --last-touch: what last used the leaked fd (its first member), and where */
static void add_last_touch(struct lw_session *s, struct lw_finding *f)
{
	uint64_t *slot = hmap__get(s->touches, (uint64_t)f->pid << 32 | (uint32_t)f->fd);
	const struct lw_touch *u = slot ? (const struct lw_touch *)(uintptr_t)*slot : NULL;
	struct lw_evidence *x;
	struct lw_touch t;

	if (strncmp(f->kind, "fd-", 3) || f->fd < 0 || f->nr_extra >= LW_FINDING_EXTRA_MAX ||
	    !strcmp(f->kind, "fd-double-close"))
		return;
	if (lw_loader__touch(s->ld, f->pid, f->fd, &t)) {
		if (!u)
			return;
		t = *u;
	} else if (u && u->ts_ns == t.ts_ns) {
		t = *u; /* the same touch, finished in user space */
	}
	x = &f->extra[f->nr_extra++];
	x->label = touch_label(t.nr);
	x->stack.nr = t.nr_ips > LW_TOUCH_FRAMES ? LW_TOUCH_FRAMES : t.nr_ips;
	memcpy(x->stack.ips, t.ips, x->stack.nr * sizeof(x->stack.ips[0]));
}

static int mem_on_stack(void *ctx, uint64_t id, const struct lw_stack_ips *ips)
{
	return corr_mem__stack(ctx, id, ips);
}

static int mem_on_block(void *ctx, const struct lw_alloc_key *k, const struct lw_alloc_val *v)
{
	return corr_mem__live(ctx, k, v);
}

/* --top N: keep the N largest mem-leak groups (corr_mem emits them largest
 * first); the rest are counted as suppressed.
 */
static size_t apply_top(struct lw_findings *fs, unsigned top)
{
	size_t seen = 0, cut = 0;

	for (size_t i = 0; i < fs->n && top; i++) {
		if (strcmp(fs->v[i].kind, "mem-leak") || fs->v[i].suppressed)
			continue;
		if (++seen > top) {
			fs->v[i].suppressed = true;
			cut++;
		}
	}
	return cut;
}

int session__report(struct lw_session *s)
{
	const struct reporter_ops *ops = reporter__find(s->opts->format);
	struct lw_findings fs = {};
	struct lw_report_meta m = {};
	char reason[512];
	FILE *out = output__stream(s->opts->out);
	size_t shown = 0, cut;
	uint64_t now;
	int err;

	/* everything the kernel produced before we stopped. Probes stay
	 * attached until the report is out: each uprobe's removal waits for an
	 * SRCU grace period (~0.1 s), and the user waits for the report.
	 */
	while (ring_buffer__consume(s->rb) > 0)
		;
	if (s->opts->mode == LW_MODE_ATTACH)
		reconcile(s);
	now = mono_ns();
	err = s->opts->det_fd ? corr_fd__finish(s->corr, now, &fs) : 0;
	if (!err && s->mem) {
		err = lw_loader__read_mem(s->ld, mem_on_stack, mem_on_block, s->mem);
		if (!err)
			err = corr_mem__finish(s->mem, now, &fs);
	}
	if (!err && s->pair)
		err = corr_pair__finish(s->pair, now, &fs);
	if (!err)
		err = corr_mount__finish(s->mnt, now, still_mounted, s, &fs);
	if (!err)
		err = corr_storm__finish(s->storm, &fs);
	if (err)
		return set_error(s, err, "cannot correlate events: %s", strerror(-err));
	for (size_t i = 0; i < fs.n; i++) {
		struct lw_finding *f = &fs.v[i];

		if (s->opts->last_touch)
			add_last_touch(s, f);
		symbolizer__finding(s->sym, f);
		if (!f->comm[0]) /* no exec or fork named it: the attach target */
			proc_comm(s, f->pid, f->comm);
		f->growing = trend__is_growing(s->trend, corr_fd__site_key(f->pid, &f->stack)) ||
			     (!strcmp(f->kind, "mem-leak") &&
			      trend__is_growing(s->trend, ips_key(&f->stack) ^ LW_MEM_SITE_TAG));
		if ((s->supp && suppress__match(s->supp, f)) ||
		    (s->builtin && suppress__match(s->builtin, f))) {
			f->suppressed = true;
			m.nr_suppressed++;
		} else {
			shown++;
		}
	}
	cut = apply_top(&fs, s->opts->top);
	m.nr_suppressed += cut;
	shown -= cut;
	lw_findings__sort(&fs);

	m.tool_version = LW_VERSION;
	m.mode = s->opts->mode == LW_MODE_RUN ? "run" : "attach";
	m.command = s->command;
	m.pid = s->root;
	m.duration_ms = (mono_ns() - s->start_ns) / 1000000;
	m.procs = s->procs;
	m.nr_procs = s->nr_procs;
	lw_loader__stats(s->ld, &m.stats);
	m.reconciled = s->reconciled;
	m.incomplete_reason = incomplete_reason(&m.stats, s->user_errors, reason, sizeof(reason));

	/* opened before the run (report/output.c); renamed into place here */
	err = output__commit(s->opts->out, report__write(ops, out, &m, &fs));
	if (err)
		set_error(s, err, "cannot write the report to %s: %s", output__name(s->opts->out),
			  strerror(-err));
	lw_findings__free(&fs);
	lw_loader__detach(s->ld);
	return err ? err : (int)shown;
}
