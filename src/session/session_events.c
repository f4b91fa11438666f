// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "session/session_internal.h"

/* ---- event handling ---- */

static uint64_t rule_hash(const struct lw_cfi_key *k)
{
	return ((uint64_t)k->tgid << 32 ^ k->exec_gen) * 0x9E3779B97F4A7C15ULL ^ k->pc;
}

/* BPF has the rule for k now (it never overwrites one): remember it, to
 * delete it with its process and so that no later stack teaches it again.
 */
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
	hmap__put(s->rules_set, rule_hash(k), NULL);
}

static void rules_forget(struct lw_session *s, uint32_t tgid)
{
	size_t j = 0;

	for (size_t i = 0; i < s->rules.n; i++) {
		if (s->rules.v[i].tgid == tgid) {
			lw_loader__del_rule(s->ld, &s->rules.v[i]);
			hmap__del(s->rules_set, rule_hash(&s->rules.v[i]), NULL);
		} else {
			s->rules.v[j++] = s->rules.v[i];
		}
	}
	if (j < s->rules.n)
		lw_loader__rules_removed(s->ld);
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
	uint64_t h = rule_hash(key);
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

/* User space just unwound frames from..nr of a stack BPF could not finish:
 * hand BPF the rule of every one of them, so the next stack through this
 * call site is unwound in the kernel instead of one frame per event. A
 * startup's burst streams thousands of stacks through the same frames
 * before the first rule lands: each rule is taught once, not once per
 * stack (a map update syscall each, which kept user space behind the
 * burst and the ring full).
 */
static void teach_rules(struct lw_session *s, uint32_t tgid, uint32_t from,
			const struct lw_ips *ips)
{
	const struct lw_proc *p = lw_procs__find(&s->procs, tgid);
	struct lw_cfi_key key = {.tgid = tgid, .exec_gen = p ? p->exec_gen : 0};

	for (uint32_t i = from; i < ips->nr && i < LW_STACK_MAX; i++) {
		struct lw_cfi_rule rule;

		key.pc = ips->ips[i];
		if (hmap__get(s->rules_set, rule_hash(&key)) ||
		    cfi_rule_for_pc(s->cfi, s->sym, tgid, ips->ips[i], &rule))
			continue;
		if (lw_loader__set_rule(s->ld, &key, &rule) == 0)
			rule_remember(s, &key);
	}
}

/* A private, writable copy of any stack-carrying record. */
union lw_ev_copy {
	struct lw_ev_hdr hdr;
	uint8_t bytes[LW_SLICE_OFFSET];
};

/* Where each stack-carrying record keeps its stack: a row per record type
 * (base: the record's size without the slice).
 */
#define LW_STACK_ROW(type, rec) [type] = {sizeof(struct rec), offsetof(struct rec, stack)}
static const struct {
	size_t base, off;
} stack_rows[LW_EV__MAX] = {
    LW_STACK_ROW(LW_EV_FD_OPEN, lw_ev_fd_open),
    LW_STACK_ROW(LW_EV_FD_CLOSE, lw_ev_fd_close),
    LW_STACK_ROW(LW_EV_FD_CLOSE_RANGE, lw_ev_fd_close_range),
    LW_STACK_ROW(LW_EV_FD_SEND, lw_ev_fd_send),
    LW_STACK_ROW(LW_EV_FD_TOUCH, lw_ev_fd_touch),
    LW_STACK_ROW(LW_EV_PAIR, lw_ev_pair),
    LW_STACK_ROW(LW_EV_MOUNT, lw_ev_mount),
    LW_STACK_ROW(LW_EV_MEM_ALLOC, lw_ev_mem_alloc),
    LW_STACK_ROW(LW_EV_MEM_BAD_FREE, lw_ev_mem_bad_free),
    LW_STACK_ROW(LW_EV_MMAP_ANON, lw_ev_mmap_anon),
};

static size_t stack_offset(uint16_t type, size_t *base)
{
	*base = type < LW_EV__MAX ? stack_rows[type].base : 0;
	return *base ? stack_rows[type].off : 0;
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

/* A record as detectors take it: stack complete, a finished stack that
 * streamed only the frames it has (LW_EMIT_SHORT: successful closes, opens)
 * padded to full size. NULL: too short.
 */
static const struct lw_ev_hdr *normalize(struct lw_session *s, const void *data, size_t *size,
					 union lw_ev_copy *copy)
{
	const struct lw_ev_hdr *h = data;
	size_t base, off = stack_offset(h->type, &base);

	if (base && *size < base && !(h->flags & LW_F_STACK_PARTIAL) &&
	    off + sizeof(struct lw_stack) == base &&
	    *size >= off + offsetof(struct lw_stack, ips) && base <= sizeof(*copy)) {
		memset(copy, 0, base);
		memcpy(copy, data, *size);
		copy->hdr.size = *size = base;
		return &copy->hdr;
	}
	if (!base || !(h->flags & LW_F_STACK_PARTIAL))
		return *size >= base ? h : NULL;
	h = complete_stack(s, data, *size, copy);
	return h == data ? NULL : h;
}

/* fork, exec, exit: the process table first, then every detector. */
static void on_proc_event(struct lw_session *s, const struct lw_ev_hdr *h, size_t size)
{
	const struct lw_proc *p = NULL, *parent = NULL;
	int err = 0;

	switch (h->type) {
	case LW_EV_PROC_FORK: {
		const struct lw_ev_proc_fork *ev = (const void *)h;

		if (size < sizeof(*ev))
			break;
		/* as early as we can: it is running (ptrace, where it holds
		 * the command, got here first)
		 */
		session_watch(s, ev->child_tgid);
		symbolizer__fork(s->sym, ev->hdr.tgid, ev->child_tgid);
		p = lw_procs__fork(&s->procs, ev->hdr.tgid, ev->child_tgid, ev->comm);
		parent = lw_procs__find(&s->procs, ev->hdr.tgid);
		for (size_t i = 0; p && i < s->nr_dets; i++)
			if (s->dets[i].ops->on_fork)
				err |= s->dets[i].ops->on_fork(s->dets[i].d, parent, p, ev);
		break;
	}
	case LW_EV_PROC_EXEC: {
		const struct lw_ev_proc_exec *ev = (const void *)h;

		if (size < sizeof(*ev))
			break;
		symbolizer__exec(s->sym, ev->hdr.tgid);
		symbolizer__snapshot_maps(s->sym, ev->hdr.tgid);
		p = lw_procs__exec(&s->procs, ev->hdr.tgid, ev->comm);
		for (size_t i = 0; p && i < s->nr_dets; i++)
			if (s->dets[i].ops->on_exec)
				err |= s->dets[i].ops->on_exec(s->dets[i].d, p, ev);
		break;
	}
	case LW_EV_PROC_EXIT: {
		const struct lw_ev_proc_exit *ev = (const void *)h;

		if (size < sizeof(*ev))
			break;
		/* reported twice (threads racing to the end): the first counts */
		p = lw_procs__find(&s->procs, ev->hdr.tgid);
		if (p && p->exited)
			break;
		lw_loader__unwatch(s->ld, ev->hdr.tgid);
		p = lw_procs__exit(&s->procs, ev->hdr.tgid, ev->exit_code, ev->comm);
		rules_forget(s, ev->hdr.tgid);
		for (size_t i = 0; p && i < s->nr_dets; i++)
			if (s->dets[i].ops->on_exit)
				err |= s->dets[i].ops->on_exit(s->dets[i].d, p, ev);
		break;
	}
	}
	if (!p || err)
		s->user_errors++;
}

int on_event(void *ctx, void *data, size_t size)
{
	struct lw_session *s = ctx;
	const struct lw_ev_hdr *h = data;
	union lw_ev_copy copy;
	bool wanted = false;

	if (!s->phase.first_event) {
		s->phase.first_event = mono_ns();
		session__phase_line(s, "first event", s->start_ns, s->phase.first_event,
				    " after start");
	}
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
	case LW_EV_PROC_FORK:
	case LW_EV_PROC_EXEC:
	case LW_EV_PROC_EXIT:
		on_proc_event(s, h, size);
		return 0;
	}
	for (size_t i = 0; i < s->nr_dets && !wanted; i++)
		wanted = lw_detector__wants(s->dets[i].ops, h->type);
	if (!wanted) /* a detector that is off */
		return 0;
	h = normalize(s, data, &size, &copy);
	if (!h) {
		s->user_errors++; /* short record */
		return 0;
	}
	for (size_t i = 0; i < s->nr_dets; i++)
		if (lw_detector__wants(s->dets[i].ops, h->type) &&
		    s->dets[i].ops->on_event(s->dets[i].d, h, size))
			s->user_errors++;
	return 0;
}
