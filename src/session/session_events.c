// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <sys/mount.h>
#include "session/session_internal.h"

/* ---- event handling ---- */

static void rule_remember(struct lw_session *s, const struct lw_cfi_key *k)
{
	if (s->rules.n == s->rules.cap) {
		size_t cap = s->rules.cap ? s->rules.cap * 2 : 256;
		struct lw_cfi_key *v = realloc(s->rules.v, cap * sizeof(*v));

		if (!v)
			return;
		s->rules.v = v;
		s->rules.cap = cap;
	}
	s->rules.v[s->rules.n++] = *k;
}

static void rules_forget(struct lw_session *s, uint32_t tgid)
{
	size_t j = 0;

	for (size_t i = 0; i < s->rules.n; i++) {
		if (s->rules.v[i].tgid == tgid)
			lw_loader__del_rule(s->ld, &s->rules.v[i]);
		else
			s->rules.v[j++] = s->rules.v[i];
	}
	s->rules.n = j;
}

/* The module a CFI miss or mapping record names, joined from its dentries. */
static void learn_mapping(struct lw_session *s, const struct lw_ev_cfi_miss *ev)
{
	char path[LW_PATH_DEPTH * LW_COMP_LEN + LW_PATH_DEPTH + 1];
	size_t off = 0;

	path[0] = 0;
	for (int i = (int)ev->nr_comps - 1; i >= 0 && i < LW_PATH_DEPTH; i--)
		off += snprintf(path + off, sizeof(path) - off, "/%.*s", LW_COMP_LEN, ev->comps[i]);
	symbolizer__add_mapping(s->sym, ev->hdr.tgid, ev->vm_start, ev->vm_end, ev->vm_pgoff * 4096,
				path);
}

#define LW_MISS_RETRIES 3

/* bpf_find_vma only try-locks the mm: under contention a miss names no
 * mapping. Caching END for that pc would cut every later stack through it,
 * so remove the pending entry and let BPF ask again, a few times, before
 * believing the pc is in no file (JIT code, say).
 */
static bool retry_later(struct lw_session *s, const struct lw_cfi_key *key)
{
	uint64_t h = ((uint64_t)key->tgid << 32 ^ key->exec_gen) * 0x9E3779B97F4A7C15ULL ^ key->pc;
	bool added;
	uint64_t *tries = hmap__put(s->miss_retries, h, &added);

	if (!tries || ++*tries > LW_MISS_RETRIES)
		return false;
	lw_loader__del_rule(s->ld, key);
	return true;
}

static void handle_cfi_miss(struct lw_session *s, const struct lw_ev_cfi_miss *ev)
{
	struct lw_cfi_key key = {.tgid = ev->hdr.tgid, .exec_gen = ev->exec_gen, .pc = ev->pc};
	struct lw_cfi_rule rule = {.kind = LW_CFI_END};

	if (ev->hdr.type == LW_EV_MAPPING) {
		if (ev->found && ev->nr_comps)
			learn_mapping(s, ev);
		if (s->opts->verbose && ev->found)
			fprintf(stderr, "leakwatch: mapping for pid %u at 0x%llx (%u path parts)\n",
				ev->hdr.tgid, (unsigned long long)ev->vm_start, ev->nr_comps);
		return;
	}
	if (!ev->found && !symbolizer__find(s->sym, ev->hdr.tgid, ev->pc) && retry_later(s, &key))
		return; /* BPF asks again at the next stack through this pc */
	if (!ev->found || ev->nr_comps) {
		if (ev->found)
			learn_mapping(s, ev);
		if (cfi_rule_for_pc(s->cfi, s->sym, ev->hdr.tgid, ev->pc, &rule))
			rule = (struct lw_cfi_rule){
			    .kind = LW_CFI_BP, .cfa_off = 16, .bp_saved = 1, .bp_off = -16};
	}
	if (s->opts->verbose)
		fprintf(stderr, "leakwatch: unwind rule for pid %u pc 0x%llx: kind %u cfa %+d%s\n",
			ev->hdr.tgid, (unsigned long long)ev->pc, rule.kind, rule.cfa_off,
			ev->found ? "" : " (no file mapping)");
	if (lw_loader__set_rule(s->ld, &key, &rule) == 0)
		rule_remember(s, &key);
}

/* Finish a stack BPF left partial, on a private copy of the record. */
/* User space just unwound frames from..nr of a stack BPF could not finish:
 * hand BPF the rule of every one of them, so the next stack through this
 * call site is unwound in the kernel instead of one frame per event.
 */
static void teach_rules(struct lw_session *s, uint32_t tgid, uint32_t from,
			const struct lw_ips *ips)
{
	struct lw_cfi_key key = {.tgid = tgid};
	uint64_t *gen = hmap__get(s->exec_gens, tgid);

	key.exec_gen = gen ? (uint32_t)*gen : 0;
	for (uint32_t i = from; i < ips->nr && i < LW_STACK_MAX; i++) {
		struct lw_cfi_rule rule;

		if (cfi_rule_for_pc(s->cfi, s->sym, tgid, ips->ips[i], &rule))
			continue;
		key.pc = ips->ips[i];
		if (lw_loader__set_rule(s->ld, &key, &rule) == 0)
			rule_remember(s, &key);
	}
}

/* A private, writable copy of any stack-carrying record. */
union lw_ev_copy {
	struct lw_ev_hdr hdr;
	uint8_t bytes[LW_SLICE_OFFSET];
};

/* Where each stack-carrying record keeps its stack. */
static size_t stack_offset(uint16_t type, size_t *base)
{
	switch (type) {
	case LW_EV_FD_OPEN:
		*base = sizeof(struct lw_ev_fd_open);
		return offsetof(struct lw_ev_fd_open, stack);
	case LW_EV_FD_CLOSE:
		*base = sizeof(struct lw_ev_fd_close);
		return offsetof(struct lw_ev_fd_close, stack);
	case LW_EV_FD_SEND:
		*base = sizeof(struct lw_ev_fd_send);
		return offsetof(struct lw_ev_fd_send, stack);
	case LW_EV_PAIR:
		*base = sizeof(struct lw_ev_pair);
		return offsetof(struct lw_ev_pair, stack);
	case LW_EV_MOUNT:
		*base = sizeof(struct lw_ev_mount);
		return offsetof(struct lw_ev_mount, stack);
	case LW_EV_FD_TOUCH:
		*base = sizeof(struct lw_ev_fd_touch);
		return offsetof(struct lw_ev_fd_touch, stack);
	case LW_EV_MEM_ALLOC:
		*base = sizeof(struct lw_ev_mem_alloc);
		return offsetof(struct lw_ev_mem_alloc, stack);
	case LW_EV_MEM_BAD_FREE:
		*base = sizeof(struct lw_ev_mem_bad_free);
		return offsetof(struct lw_ev_mem_bad_free, stack);
	case LW_EV_MMAP_ANON:
		*base = sizeof(struct lw_ev_mmap_anon);
		return offsetof(struct lw_ev_mmap_anon, stack);
	}
	*base = 0;
	return 0;
}

/* Copy a stack-carrying record and finish its stack from the slice that
 * follows it (at LW_SLICE_OFFSET) when BPF could not.
 */
static const struct lw_ev_hdr *complete_stack(struct lw_session *s, const void *data, size_t size,
					      union lw_ev_copy *copy)
{
	const struct lw_ev_hdr *h = data;
	size_t base, off = stack_offset(h->type, &base);
	const uint8_t *slice = (const uint8_t *)data + LW_SLICE_OFFSET;
	struct lw_ips ips = {};
	struct lw_stack *st;
	uint32_t slice_len;

	if (!base || size < base)
		return h;
	memcpy(copy, data, base);
	if (!(h->flags & LW_F_STACK_PARTIAL))
		return &copy->hdr;
	st = (struct lw_stack *)((uint8_t *)copy + off);
	slice_len = st->slice_len;
	if (size < LW_SLICE_OFFSET + slice_len)
		slice_len = size > LW_SLICE_OFFSET ? size - LW_SLICE_OFFSET : 0;
	if (unwind__complete(s->cfi, s->sym, h->tgid, st, slice, slice_len, &ips) == 0) {
		teach_rules(s, h->tgid, st->nr ? st->nr - 1 : 0, &ips);
		st->nr = ips.nr;
		st->flags = ips.flags & ~LW_STK_PARTIAL;
		memcpy(st->ips, ips.ips, sizeof(st->ips));
	}
	copy->hdr.flags &= ~LW_F_STACK_PARTIAL;
	return &copy->hdr;
}

static void stack_to_ips(const struct lw_stack *st, struct lw_ips *ips)
{
	ips->nr = st->nr > LW_STACK_MAX ? LW_STACK_MAX : st->nr;
	ips->flags = st->flags;
	memcpy(ips->ips, st->ips, ips->nr * sizeof(ips->ips[0]));
}

/* Did the mount this record made join a shared peer group, and was it made
 * in a namespace a traced process created? (LW_MNT_*, from mountinfo while
 * the caller is most likely still alive)
 */
static void mount_flags(struct lw_session *s, struct lw_ev_mount *mv)
{
	bool makes =
	    mv->ret == 0 && mv->target[0] && (mv->nr == LW_NR_mount || mv->nr == LW_NR_move_mount);

	if (mv->ret == 0 && (mv->nr == LW_NR_unshare || mv->nr == LW_NR_clone)) {
		bool added;

		hmap__put(s->new_ns, mv->mnt_ns, &added);
	}
	if (hmap__get(s->new_ns, mv->mnt_ns))
		mv->flags |= LW_MNT_NEW_NS;
	/* remounts and propagation changes make no mount */
	if (makes && mv->nr == LW_NR_mount &&
	    (mv->arg_flags & (MS_REMOUNT | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)))
		makes = false;
	/* BPF read it at mount time; mountinfo is the fallback for kernels
	 * before 6.8 (a propagated umount may already have removed it)
	 */
	if (makes && !(mv->flags & LW_MNT_PROPAGATES) &&
	    procfs__mount_shared(mv->hdr.tgid, mv->target) == 1)
		mv->flags |= LW_MNT_PROPAGATES;
	if (s->opts->verbose)
		fprintf(stderr,
			"leakwatch: mount syscall %u by pid %u in ns %u: %s ret %d flags %#x\n",
			mv->nr, mv->hdr.tgid, mv->mnt_ns, mv->target, mv->ret, mv->flags);
}

/* A child exited: sample its parent's open fds for a respawn storm's story. */
static void storm_parent_fds(struct lw_session *s, uint32_t child, uint64_t ts)
{
	for (size_t i = 0; i < s->nr_procs; i++) {
		if (s->procs[i].pid == child && s->procs[i].ppid) {
			int fds[4096], n = corr_fd__open_fds(s->corr, s->procs[i].ppid, fds, 4096);

			if (n >= 0)
				corr_storm__parent_fds(s->storm, s->procs[i].ppid, ts, (uint64_t)n);
			return;
		}
	}
}

static bool in_libc(struct lw_session *s, uint32_t tgid, uint64_t ip)
{
	const struct lw_mapping *m = symbolizer__find(s->sym, tgid, ip);
	const char *base;

	if (!m || !m->path)
		return false;
	base = strrchr(m->path, '/');
	base = base ? base + 1 : m->path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "ld-linux", 8);
}

/* An anonymous mapping. The C library and the dynamic loader map memory for
 * themselves (malloc's large chunks and arenas, thread stacks, ld.so's
 * segments and TLS) and unmap it when they are done: those are the heap
 * detector's business or nobody's. Rule: drop the mapping when the frame
 * right after the mmap wrapper (ips[1]) is inside libc.so* or ld-linux*.
 * The wrapper's own frame (ips[0], in libc) is left out of the stack, like
 * the allocator's frame of a heap block, so the caller is innermost.
 */
static void on_mmap_anon(struct lw_session *s, const void *data, size_t size)
{
	union lw_ev_copy copy;
	const struct lw_ev_hdr *h = complete_stack(s, data, size, &copy);
	const struct lw_ev_mmap_anon *ev;
	struct lw_ips ips = {};

	if (h == data) {
		s->user_errors++; /* short record */
		return;
	}
	ev = (const struct lw_ev_mmap_anon *)h;
	stack_to_ips(&ev->stack, &ips);
	if (ips.nr >= 2 && in_libc(s, ev->hdr.tgid, ips.ips[1]))
		return;
	if (ips.nr >= 2 && in_libc(s, ev->hdr.tgid, ips.ips[0])) {
		memmove(ips.ips, ips.ips + 1, (ips.nr - 1) * sizeof(ips.ips[0]));
		ips.nr--;
		ips.flags |= LW_STK_ALL_RETURN;
	}
	if (corr_mem__mmap(s->mem, ev, &ips))
		s->user_errors++;
}

/* Memory records go to the memory correlator only. */
static void on_mem_event(struct lw_session *s, const void *data, size_t size)
{
	const struct lw_ev_hdr *h = data;
	union lw_ev_copy copy;
	struct lw_ips ips = {};

	switch (h->type) {
	case LW_EV_MEM_ALLOC: {
		const struct lw_ev_mem_alloc *ev;

		h = complete_stack(s, data, size, &copy);
		if (h == data)
			break; /* short record */
		ev = (const struct lw_ev_mem_alloc *)h;
		stack_to_ips(&ev->stack, &ips);
		if (corr_mem__user_alloc(s->mem, ev, &ips))
			s->user_errors++;
		return;
	}
	case LW_EV_MEM_FREE_USER:
		if (size >= sizeof(struct lw_ev_mem_free_user))
			corr_mem__user_free(s->mem, data);
		return;
	case LW_EV_MMAP_ANON:
		on_mmap_anon(s, data, size);
		return;
	case LW_EV_MUNMAP:
		if (size < sizeof(struct lw_ev_munmap))
			break;
		if (corr_mem__munmap(s->mem, data))
			s->user_errors++;
		return;
	case LW_EV_MEM_BAD_FREE: {
		const struct lw_ev_mem_bad_free *ev;

		h = complete_stack(s, data, size, &copy);
		if (h == data)
			break;
		ev = (const struct lw_ev_mem_bad_free *)h;
		stack_to_ips(&ev->stack, &ips);
		if (corr_mem__bad_free(s->mem, ev, &ips))
			s->user_errors++;
		return;
	}
	}
	s->user_errors++;
}

int on_event(void *ctx, void *data, size_t size)
{
	struct lw_session *s = ctx;
	const struct lw_ev_hdr *h = data;
	union lw_ev_copy copy;
	struct lw_proc_info *pi;
	int err;

	if (size < sizeof(*h) || h->type == 0 || h->type >= LW_EV__MAX) {
		s->user_errors++;
		return 0;
	}
	switch (h->type) {
	case LW_EV_CFI_MISS:
	case LW_EV_MAPPING:
		if (size >= sizeof(struct lw_ev_cfi_miss))
			handle_cfi_miss(s, data);
		return 0;
	case LW_EV_FD_CLOSE:
		if (size < sizeof(struct lw_ev_fd_close) && !(h->flags & LW_F_STACK_PARTIAL)) {
			/* a successful close streams only the frames it has */
			memset(&copy, 0, sizeof(struct lw_ev_fd_close));
			memcpy(&copy, data, size < sizeof(copy) ? size : sizeof(copy));
			copy.hdr.size = sizeof(struct lw_ev_fd_close);
			h = &copy.hdr;
			break;
		}
		/* fall through */
	case LW_EV_FD_OPEN:
	case LW_EV_FD_SEND:
		if (h->flags & LW_F_STACK_PARTIAL)
			h = complete_stack(s, data, size, &copy);
		break;
	case LW_EV_MEM_ALLOC:
	case LW_EV_MEM_FREE_USER:
	case LW_EV_MEM_BAD_FREE:
	case LW_EV_MMAP_ANON:
	case LW_EV_MUNMAP:
		if (s->mem)
			on_mem_event(s, data, size);
		return 0;
	case LW_EV_FD_TOUCH: {
		const struct lw_ev_fd_touch *tv;
		uint64_t key;
		struct lw_touch *t;
		bool added;
		uint64_t *slot;

		h = complete_stack(s, data, size, &copy);
		if (h == data)
			return 0;
		tv = (const struct lw_ev_fd_touch *)h;
		/* the finished stack of a touch whose kernel copy is cut short */
		key = (uint64_t)tv->hdr.tgid << 32 | (uint32_t)tv->fd;
		slot = hmap__put(s->touches, key, &added);
		if (!slot)
			return 0;
		t = added ? calloc(1, sizeof(*t)) : (struct lw_touch *)(uintptr_t)*slot;
		if (!t) {
			hmap__del(s->touches, key, NULL);
			return 0;
		}
		*slot = (uintptr_t)t;
		t->nr = tv->nr;
		t->ts_ns = tv->hdr.ts_ns;
		t->nr_ips = tv->stack.nr > LW_TOUCH_FRAMES ? LW_TOUCH_FRAMES : tv->stack.nr;
		memcpy(t->ips, tv->stack.ips, t->nr_ips * sizeof(t->ips[0]));
		return 0;
	}
	case LW_EV_MOUNT: {
		struct lw_ips ips = {};
		struct lw_ev_mount *mv;

		h = complete_stack(s, data, size, &copy);
		if (h == data) {
			s->user_errors++;
			return 0;
		}
		mv = (struct lw_ev_mount *)h;
		stack_to_ips(&mv->stack, &ips);
		mount_flags(s, mv);
		if (corr_mount__feed(s->mnt, mv, ips.nr ? &ips : NULL))
			s->user_errors++;
		return 0;
	}
	case LW_EV_PAIR:
		if (s->pair) {
			struct lw_ips ips = {};

			h = complete_stack(s, data, size, &copy);
			if (h == data) {
				s->user_errors++;
				return 0;
			}
			stack_to_ips(&((const struct lw_ev_pair *)h)->stack, &ips);
			if (corr_pair__feed(s->pair, (const struct lw_ev_pair *)h, &ips))
				s->user_errors++;
		}
		return 0;
	case LW_EV_PROC_FORK: {
		const struct lw_ev_proc_fork *ev = data;

		symbolizer__fork(s->sym, ev->hdr.tgid, ev->child_tgid);
		if (s->mem)
			corr_mem__comm(s->mem, ev->child_tgid, ev->comm);
		if (s->pair) {
			corr_pair__fork(s->pair, ev->hdr.tgid, ev->child_tgid);
			corr_pair__comm(s->pair, ev->child_tgid, ev->comm);
		}
		corr_mount__fork(s->mnt, ev->hdr.tgid, ev->child_tgid, ev->hdr.ts_ns);
		corr_mount__comm(s->mnt, ev->child_tgid, ev->comm);
		corr_storm__fork(s->storm, ev->hdr.tgid, ev->child_tgid, ev->hdr.ts_ns);
		corr_storm__comm(s->storm, ev->child_tgid, ev->comm);
		pi = proc_get(s, ev->child_tgid);
		if (pi) {
			pi->ppid = ev->hdr.tgid;
			memcpy(pi->comm, ev->comm, sizeof(pi->comm));
		}
		break;
	}
	case LW_EV_PROC_EXEC: {
		const struct lw_ev_proc_exec *ev = data;
		uint64_t *slot;
		bool added;

		symbolizer__exec(s->sym, ev->hdr.tgid);
		symbolizer__snapshot_maps(s->sym, ev->hdr.tgid);
		if (s->mem) {
			corr_mem__exec(s->mem, ev->hdr.tgid);
			corr_mem__comm(s->mem, ev->hdr.tgid, ev->comm);
		}
		if (s->pair) {
			corr_pair__exec(s->pair, ev->hdr.tgid);
			corr_pair__comm(s->pair, ev->hdr.tgid, ev->comm);
		}
		corr_mount__comm(s->mnt, ev->hdr.tgid, ev->comm);
		corr_storm__exec(s->storm, ev->hdr.tgid, ev->filename, ev->comm, ev->hdr.ts_ns);
		pi = proc_get(s, ev->hdr.tgid);
		if (pi)
			memcpy(pi->comm, ev->comm, sizeof(pi->comm));
		/* mirrors the BPF target's exec_gen, part of every rule key */
		slot = hmap__put(s->exec_gens, ev->hdr.tgid, &added);
		if (slot)
			(*slot)++;
		break;
	}
	case LW_EV_PROC_EXIT: {
		const struct lw_ev_proc_exit *ev = data;

		pi = proc_get(s, ev->hdr.tgid);
		if (pi) {
			pi->exited = 1;
			pi->exit_code = ev->exit_code;
			memcpy(pi->comm, ev->comm, sizeof(pi->comm));
		}
		rules_forget(s, ev->hdr.tgid);
		corr_storm__comm(s->storm, ev->hdr.tgid, ev->comm);
		corr_storm__exit(s->storm, ev->hdr.tgid, ev->exit_code, ev->hdr.ts_ns);
		storm_parent_fds(s, ev->hdr.tgid, ev->hdr.ts_ns);
		corr_mount__comm(s->mnt, ev->hdr.tgid, ev->comm);
		corr_mount__exit(s->mnt, ev->hdr.tgid, ev->hdr.ts_ns);
		/* attach: the target's exit ends observation; what it held then
		 * is still open at the end, so the correlator must not see it go
		 */
		if (s->opts->mode == LW_MODE_ATTACH && ev->hdr.tgid == (uint32_t)s->root)
			return 0;
		if (s->mem)
			corr_mem__exit(s->mem, ev->hdr.tgid, ev->hdr.ts_ns);
		if (s->pair)
			corr_pair__exit(s->pair, ev->hdr.tgid, ev->hdr.ts_ns);
		break;
	}
	default:
		break;
	}
	err = corr_fd__feed(s->corr, h);
	if (err)
		s->user_errors++;
	return 0;
}
