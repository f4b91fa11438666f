/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* User-stack unwinding from CFI rules that user space computes from each
 * module's .eh_frame. Debian's glibc has no frame pointers and uses rbp as a
 * general register, so frame-pointer walks from a syscall lose the caller;
 * the rules say where each frame's return address really is.
 *
 * A pc without a rule yet is requested once (LW_EV_CFI_MISS, carrying the
 * module it lies in); until user space answers, stacks through that pc are
 * handed over PARTIAL with a copy of the stack so user space can finish them.
 */
#ifndef LW_UNWIND_BPF_H
#define LW_UNWIND_BPF_H

#include "common.bpf.h"
#include "path.bpf.h"

#define LW_CFI_RULES_MAX 65536

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_CFI_RULES_MAX);
	/* read per frame, written once per pc: allocated as rules come */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lw_cfi_key);
	__type(value, struct lw_cfi_rule);
} cfi_rules __weak SEC(".maps");

/* A per-CPU, direct-mapped copy of the final rules this CPU used: an array
 * slot and a few compares where a hash lookup per frame was most of an
 * unwind's cost. A slot is valid while its check matches its members and
 * the rules epoch, which user space bumps after it removes rules (an exited
 * process's, whose pid a new process may take): a slot torn by a preempting
 * writer or left over from removed rules does not match.
 */
#define LW_RC_SLOTS 1024 /* 32 KiB: the most a per-CPU value may be */
#define LW_RC_MUL   0x9E3779B97F4A7C15ULL

struct lw_rc_slot {
	__u64 pc;
	__u32 tgid, exec_gen;
	struct lw_cfi_rule rule;
	__u64 check;
};

struct lw_rule_cache {
	struct lw_rc_slot s[LW_RC_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_rule_cache);
} cfi_cache __weak SEC(".maps");

volatile __u64 lw_rules_epoch __weak = 0;

static __always_inline __u64 lw_rc_check(const struct lw_cfi_key *k, const struct lw_cfi_rule *r,
					 __u64 epoch)
{
	__u64 rv = (__u64)r->kind | (__u64)r->bp_saved << 8 | (__u64)(__u16)r->bp_off << 16 |
		   (__u64)(__u32)r->cfa_off << 32;

	/* never 0: an empty slot matches nothing */
	return ((k->pc ^ ((__u64)k->tgid << 32 | k->exec_gen) ^ epoch << 40) * LW_RC_MUL ^ rv) | 1;
}

static __always_inline __u32 lw_rc_index(const struct lw_cfi_key *k)
{
	return (__u32)(((k->pc ^ k->tgid) * LW_RC_MUL) >> 54) & (LW_RC_SLOTS - 1);
}

struct lw_vma_info {
	__u64 start, end, pgoff;
	__u64 file; /* struct file *, as a scalar for the later CO-RE reads */
};

static long lw_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct lw_vma_info *vi = data;

	vi->start = BPF_CORE_READ(vma, vm_start);
	vi->end = BPF_CORE_READ(vma, vm_end);
	vi->pgoff = BPF_CORE_READ(vma, vm_pgoff);
	vi->file = (__u64)BPF_CORE_READ(vma, vm_file);
	return 0;
}

/* File name first, then each parent, crossing mount points upward. */
static __always_inline void lw_fill_path(struct lw_ev_cfi_miss *ev, struct file *file)
{
	struct lw_path_walk w;

	lw_walk_path(&w, file);
	for (int i = 0; i < LW_PATH_DEPTH; i++) {
		if (i >= w.n)
			break;
		bpf_probe_read_kernel_str(ev->comps[i], LW_COMP_LEN, (void *)w.names[i]);
	}
	ev->nr_comps = w.n;
}

/* Global (not static) subprograms are verified once, on their own, instead
 * of once per call site per loop iteration; __weak: every source includes
 * this, the linker keeps one.
 */
__weak __noinline int lw_emit_vma(__u32 type, __u32 exec_gen, __u64 pc)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct lw_vma_info vi = {};
	struct lw_ev_cfi_miss *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		lw_count_drop();
		return 0;
	}
	lw_hdr_init(&ev->hdr, type, sizeof(*ev));
	ev->pc = pc;
	ev->found = 0;
	ev->nr_comps = 0;
	ev->vm_start = ev->vm_end = ev->vm_pgoff = ev->ino = 0;
	ev->dev = 0;
	ev->exec_gen = exec_gen;
	if (bpf_find_vma(task, pc, lw_vma_cb, &vi, 0) == 0 && vi.file) {
		struct file *file = (struct file *)vi.file;

		ev->found = 1;
		ev->vm_start = vi.start;
		ev->vm_end = vi.end;
		ev->vm_pgoff = vi.pgoff;
		ev->ino = BPF_CORE_READ(file, f_inode, i_ino);
		ev->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
		lw_fill_path(ev, file);
	}
	lw_count_event();
	/* the traced thread's next stacks wait on this answer: wake now */
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

#define LW_UNWIND_AT_ENTRY 1	      /* regs are at a function's entry (a uprobe) */
#define LW_UNWIND_MAX(n)   ((n) << 8) /* stop after n frames (0: LW_STACK_MAX) */

/* The registers an unwind starts from; callers copy them out of whatever
 * context they have (syscall pt_regs in kernel memory, a uprobe's ctx).
 */
struct lw_regs {
	__u64 ip, sp, bp;
	__u32 exec_gen, gen_known; /* the caller's image, when it read it already */
};

static __always_inline void lw_regs_from_sys(struct lw_regs *r, const struct lw_sys_args *sa)
{
	r->ip = sa->ip;
	r->sp = sa->sp;
	r->bp = sa->bp;
	r->exec_gen = sa->exec_gen;
	r->gen_known = 1;
}

static __always_inline void lw_regs_from_ctx(struct lw_regs *r, struct pt_regs *ctx)
{
	r->ip = PT_REGS_IP(ctx);
	r->sp = PT_REGS_SP(ctx);
	r->bp = PT_REGS_FP(ctx);
	r->gen_known = 0;
}

/* The stack above sp, read with one copy: a read per frame costs a helper
 * call and a hardened-usercopy check each. A server's stacks pass 2 KiB,
 * a shallow program's need a few hundred bytes: the copy is sized by where
 * the thread's last full walk ended (its outermost frame does not move).
 * Frames beyond the copy are read one by one.
 */
#define LW_WIN_BYTES 4096
#define LW_WIN_SMALL 512
#define LW_WIN_HINTS 64

struct lw_win_hint {
	__u32 tid, tgid, exec_gen, __pad;
	__u64 end; /* the last full walk's outermost CFA */
};

struct lw_stack_win {
	/* bytes of b filled: kept here, not in the walk state, so the
	 * verifier checks the walk once for any length, not per length
	 */
	__u64 len;
	struct lw_win_hint hint[LW_WIN_HINTS]; /* by tid, direct-mapped */
	/* this walk: where frame i's return address lay, from sp (a memo) */
	__u16 offs[LW_STACK_MAX];
	__u8 b[LW_WIN_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_stack_win);
} stack_win __weak SEC(".maps");

/* Stacks walked before, per CPU, by where the walk starts (pc and depth
 * below the thread's outermost frame) and where each frame's return
 * address lay. The same pc at the same depth, with the same return address
 * at each of those places in this stack, unwinds to the same frames: a
 * frame of another size this time (alloca, a frame pointer's frame)
 * moves every return address above it, and the check reads other words
 * there. Checking is a load and a compare per frame where the walk takes a
 * rule and a computation; most allocations and opens come from a few places.
 */
#define LW_MEMO_SLOTS 64

struct lw_stack_memo {
	__u64 check; /* of the members below and the rules epoch; 0 while written */
	__u64 pc, depth;
	__u32 tgid, exec_gen;
	__u32 nr, __pad;
	__u16 offs[LW_STACK_MAX];
	__u64 ips[LW_STACK_MAX];
};

struct lw_memo_table {
	__u32 busy; /* a writer on this CPU: a program preempting it does not write */
	__u32 __pad;
	struct lw_stack_memo m[LW_MEMO_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_memo_table);
} stack_memo __weak SEC(".maps");

static __always_inline __u64 lw_smemo_check(__u64 pc, __u64 depth, __u32 tgid, __u32 gen, __u32 nr,
					    __u64 epoch)
{
	return (((pc ^ depth << 40) * LW_RC_MUL ^ ((__u64)tgid << 32 | gen)) * LW_RC_MUL ^
		(epoch << 8 | nr)) |
	       1;
}

static __always_inline __u32 lw_smemo_index(__u64 pc, __u64 depth, __u32 tgid)
{
	return (__u32)(((pc ^ depth << 24 ^ tgid) * LW_RC_MUL) >> 58) & (LW_MEMO_SLOTS - 1);
}

/* This CPU's memo table and stack window; false when a map is missing. */
static __always_inline bool lw_memo_maps(struct lw_memo_table **mt, struct lw_stack_win **win)
{
	__u32 zero = 0;

	*mt = bpf_map_lookup_elem(&stack_memo, &zero);
	*win = bpf_map_lookup_elem(&stack_win, &zero);
	return *mt && *win;
}

/* st from the memo when the stack from sp (in the window, len bytes of it)
 * is one walked before: 1, else 0. who: tgid << 32 | exec_gen.
 */
__weak __noinline int lw_memo_get(struct lw_stack *st, __u64 who, __u64 pc, __u64 depth,
				  __u64 epoch)
{
	__u32 tgid = who >> 32, gen = (__u32)who, nr;
	struct lw_memo_table *mt;
	struct lw_stack_win *win;
	struct lw_stack_memo *m;

	if (!st || !lw_memo_maps(&mt, &win))
		return 0;
	m = &mt->m[lw_smemo_index(pc, depth, tgid)];
	nr = m->nr;
	if (m->pc != pc || m->depth != depth || m->tgid != tgid || m->exec_gen != gen || !nr ||
	    nr > LW_STACK_MAX || m->check != lw_smemo_check(pc, depth, tgid, gen, nr, epoch))
		return 0;
	for (__u32 i = 1; i < LW_STACK_MAX; i++) {
		__u32 off;

		if (i >= nr)
			break;
		off = m->offs[i];
		if (off + 8 > win->len || off > LW_WIN_BYTES - 8 ||
		    *(__u64 *)(win->b + off) != m->ips[i])
			return 0;
	}
	__builtin_memcpy(st->ips, m->ips, sizeof(st->ips));
	st->nr = nr;
	lw_count_pcpu(LW_PCPU_STACK_MEMO);
	return 1;
}

/* Remember st, a finished walk from pc at depth (its frames' return
 * addresses at win->offs) under the rules of epoch; bits of depth above
 * the low 32 say the walk is not for the memo.
 */
__weak __noinline int lw_memo_put(const struct lw_stack *st, __u64 who, __u64 pc, __u64 depth,
				  __u64 epoch)
{
	__u32 tgid = who >> 32, gen = (__u32)who, nr;
	struct lw_memo_table *mt;
	struct lw_stack_win *win;
	struct lw_stack_memo *m;

	if (!st || depth >> 32 || !lw_memo_maps(&mt, &win) || mt->busy)
		return 0;
	nr = st->nr;
	if (!nr || nr > LW_STACK_MAX)
		return 0;
	mt->busy = 1;
	m = &mt->m[lw_smemo_index(pc, depth, tgid)];
	m->check = 0;
	asm volatile("" ::: "memory");
	m->pc = pc;
	m->depth = depth;
	m->tgid = tgid;
	m->exec_gen = gen;
	m->nr = nr;
	__builtin_memcpy(m->offs, win->offs, sizeof(m->offs));
	__builtin_memcpy(m->ips, st->ips, sizeof(m->ips));
	asm volatile("" ::: "memory");
	m->check = lw_smemo_check(pc, depth, tgid, gen, nr, epoch);
	mt->busy = 0;
	return 0;
}

/* How much of the stack above sp a walk of this thread needs, at most max:
 * a little past its last full walk's end (the next may be a frame longer).
 * The main thread's stack ends just above start_stack (argv, env, auxv): a
 * read across that end fails whole, after a fault that costs more than the
 * copy. No frame lies above start_stack.
 */
/* h is this thread's, and its walk ended above sp */
static __always_inline bool lw_hint_is(const struct lw_win_hint *h, __u32 tid, __u32 tgid,
				       __u32 exec_gen, __u64 sp)
{
	return h && h->tid == tid && h->tgid == tgid && h->exec_gen == exec_gen && h->end > sp;
}

static __always_inline __u64 lw_stack_want(const struct lw_win_hint *h, __u32 tid, __u32 tgid,
					   __u32 exec_gen, __u64 sp, __u64 top, __u64 max)
{
	__u64 len = max;

	if (lw_hint_is(h, tid, tgid, exec_gen, sp) && h->end - sp < max - 64)
		len = h->end - sp + 64;
	if (top > sp && top - sp < len)
		len = top - sp;
	return len;
}

/* Fill win with the stack from sp up, as much as the walk will want. */
static __always_inline void lw_win_fill(struct lw_stack_win *win, struct lw_win_hint *h, __u32 tid,
					struct lw_cfi_key *k, __u64 sp, __u64 top)
{
	__u64 len = lw_stack_want(h, tid, k->tgid, k->exec_gen, sp, top, LW_WIN_BYTES);

	win->len = 0;
	if (len >= 8 && len <= LW_WIN_BYTES && !bpf_probe_read_user(win->b, len, (void *)sp))
		win->len = len;
	/* the read fails whole where the stack ends within it: try less */
	else if (len > LW_WIN_SMALL && !bpf_probe_read_user(win->b, LW_WIN_SMALL, (void *)sp))
		win->len = LW_WIN_SMALL;
}

/* The state of one unwind, carried between bpf_loop steps. Kernel
 * pointers travel as scalars: every read through them is a CO-RE probe read.
 */
struct lw_unwind_walk {
	struct lw_stack *st;
	__u64 task; /* struct task_struct * */
	__u64 ri;   /* struct return_instance *: the next uretprobe frame */
	__u64 tramp;
	__u64 pc, sp, bp;
	struct lw_cfi_key key;
	struct lw_stack_win *win;
	__u64 win_lo; /* user addresses [win_lo, win_lo + win->len) are in win */
	struct lw_rule_cache *rc;
	__u64 epoch;
	__u32 at_entry;
	__u32 max; /* frames wanted, 0: LW_STACK_MAX */
	/* Flags, 0 or not: the step sets them to its frame number plus one,
	 * a value the verifier does not know, where a constant 1 gave each
	 * combination its own states to verify the step in
	 */
	__u32 stopped; /* the walk ended before LW_STACK_MAX frames */
	__u32 partial; /* it ended at a pc without a rule yet */
	__u32 ended;   /* ... at the outermost frame (its rule says so) */
	__u32 ask;     /* ... that this walk is the first to need */
	/* not for the memo: a return address outside the window or behind
	 * the uretprobe trampoline (only ever passed on: a value the walk
	 * branched on would split the verifier's states of every step)
	 */
	__u32 memo_bad;
};

/* The real return address behind the uretprobe trampoline: the kernel keeps
 * them, innermost first. 0 when there is none.
 */
static __always_inline __u64 lw_unwind_tramp(struct lw_unwind_walk *w)
{
	struct task_struct *task = (struct task_struct *)w->task;
	struct return_instance *ri = (struct return_instance *)w->ri;
	__u64 ra;

	ri = ri ? BPF_CORE_READ(ri, next) : BPF_CORE_READ(task, utask, return_instances);
	if (!ri)
		return 0;
	ra = BPF_CORE_READ(ri, orig_ret_vaddr);
	/* tail calls chain instances onto one stack slot */
	for (int c = 0; c < 4 && ri && BPF_CORE_READ(ri, chained); c++)
		ri = BPF_CORE_READ(ri, next);
	w->ri = (__u64)ri;
	return ra;
}

static __always_inline long lw_read_user_u64(struct lw_unwind_walk *w, __u64 *out, __u64 addr)
{
	__u64 off = addr - w->win_lo;

	if (w->win && addr >= w->win_lo && off + 8 <= w->win->len && off <= LW_WIN_BYTES - 8) {
		*out = *(__u64 *)(w->win->b + off);
		return 0;
	}
	return bpf_probe_read_user(out, sizeof(*out), (void *)addr);
}

/* One frame. bpf_loop verifies this body once: unrolled into every
 * stack-taking program, the walk cost most of a second of verification each.
 */
static long lw_unwind_step(__u32 i, void *ctx)
{
	struct lw_unwind_walk *w = ctx;
	struct lw_stack *st = w->st;
	struct lw_cfi_rule *found, rule;
	struct lw_rc_slot *slot = NULL;
	__u64 cfa, ra = 0;

	if (!st)
		goto stop;
	st->ips[i & (LW_STACK_MAX - 1)] = w->pc;
	st->nr = i + 1;
	if (w->max && i + 1 >= w->max)
		goto stop; /* the last frame wanted: its caller is not */
	/* at an entry nothing is pushed yet: CFA = sp + 8, without a rule (the
	 * pc is not a return address; a pc-1 lookup would land in the
	 * previous function)
	 */
	if (i == 0 && w->at_entry) {
		if (lw_read_user_u64(w, &ra, w->sp) || !ra) {
			st->flags |= LW_STK_BAD_READ;
			goto stop;
		}
		if (w->tramp && ra == w->tramp && !(ra = lw_unwind_tramp(w)))
			goto stop;
		w->sp += 8;
		w->pc = ra;
		return 0;
	}
	w->key.pc = w->pc;
	if (w->rc) {
		slot = &w->rc->s[lw_rc_index(&w->key)];
		rule = slot->rule;
		if (slot->pc == w->key.pc && slot->tgid == w->key.tgid &&
		    slot->exec_gen == w->key.exec_gen &&
		    slot->check == lw_rc_check(&w->key, &rule, w->epoch))
			goto have_rule;
	}
	found = bpf_map_lookup_elem(&cfi_rules, &w->key);
	if (!found) {
		struct lw_cfi_rule pending = {.kind = LW_CFI_PENDING};
		long err = bpf_map_update_elem(&cfi_rules, &w->key, &pending, BPF_NOEXIST);

		if (!err)
			w->ask = i + 1; /* the caller asks: see LW_UNWIND_ASK */
		else if (err != -17 /* EEXIST: another CPU asked */)
			__sync_fetch_and_add(&lw_stats.cfi_full, 1);
		w->partial = i + 1;
		goto stop;
	}
	if (found->kind == LW_CFI_PENDING) {
		w->partial = i + 1;
		goto stop;
	}
	rule = *found;
	if (slot) {
		slot->pc = w->key.pc;
		slot->tgid = w->key.tgid;
		slot->exec_gen = w->key.exec_gen;
		slot->rule = rule;
		slot->check = lw_rc_check(&w->key, &rule, w->epoch);
	}
have_rule:
	if (rule.kind == LW_CFI_END) {
		w->ended = i + 1;
		goto stop;
	}
	cfa = (rule.kind == LW_CFI_SP ? w->sp : w->bp) + (__s64)rule.cfa_off;
	/* a CFA from bp is as good: the memo checks the return address where
	 * this walk found it, wherever the frame pointer put it
	 */
	if (cfa - 8 < w->win_lo || !w->win || cfa - 8 - w->win_lo + 8 > w->win->len)
		w->memo_bad = i + 1;
	else
		w->win->offs[(i + 1) & (LW_STACK_MAX - 1)] = cfa - 8 - w->win_lo;
	if (lw_read_user_u64(w, &ra, cfa - 8) ||
	    (rule.bp_saved && lw_read_user_u64(w, &w->bp, cfa + (__s64)rule.bp_off))) {
		st->flags |= LW_STK_BAD_READ;
		goto stop;
	}
	if (w->tramp && ra == w->tramp) {
		ra = lw_unwind_tramp(w);
		w->memo_bad = i + 1;
	}
	if (!ra || cfa <= w->sp)
		goto stop;
	w->sp = cfa;
	w->pc = ra;
	return 0;
stop:
	w->stopped = i + 1;
	return 1;
}

/* What user space needs to see through uretprobe trampolines above sp:
 * the real return addresses, innermost first, after ri (0: from the first).
 */
static __always_inline void lw_stack_ret_pending(struct lw_stack *st, struct task_struct *task,
						 __u64 tramp, __u64 ri)
{
	struct return_instance *p = (struct return_instance *)ri;
	__u32 n = 0;

	st->tramp = tramp;
	if (!tramp)
		return;
	p = p ? BPF_CORE_READ(p, next) : BPF_CORE_READ(task, utask, return_instances);
	for (int k = 0; k < LW_RET_PENDING + 4 && p && n < LW_RET_PENDING; k++) {
		if (!BPF_CORE_READ(p, chained))
			st->ret_pending[n++ & (LW_RET_PENDING - 1)] =
			    BPF_CORE_READ(p, orig_ret_vaddr);
		p = BPF_CORE_READ(p, next);
	}
	st->nr_ret_pending = n;
}

/* lw_unwind() results */
#define LW_UNWIND_DONE	  0
#define LW_UNWIND_PARTIAL 1 /* the caller appends a slice */
/* PARTIAL at a pc no walk has asked about yet: the caller sends the request
 * (lw_emit_vma), outside this call chain, which the verifier's combined
 * stack limit would not fit through the unwind step
 */
#define LW_UNWIND_ASK 2

/* Unwind the current task's user stack from regs into st; an LW_UNWIND_*
 * result. The last frame of a PARTIAL stack is the pc without a rule.
 */
__weak __noinline int lw_unwind(struct lw_stack *st, __u32 tgid, struct lw_regs *regs, __u32 how)
{
	struct lw_unwind_walk w = {.key = {.tgid = tgid}};
	__u32 zero = 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct lw_win_hint *hint = NULL;
	struct lw_target t;
	__u32 tid = 0;

	if (!st || !regs)
		return 0;
	/* an active uretprobe replaced its function's return address with
	 * this trampoline
	 */
	/* direct loads through a BTF pointer: no helper call per member */
	w.tramp = task->mm->uprobes_state.xol_area->vaddr;
	w.task = (__u64)task;
	w.st = st;
	w.pc = regs->ip;
	w.sp = regs->sp;
	w.bp = regs->bp;
	w.at_entry = (how & 0xff) == LW_UNWIND_AT_ENTRY;
	w.max = how >> 8;
	if (regs->gen_known)
		w.key.exec_gen = regs->exec_gen;
	else if (lw_target_read(tgid, &t))
		w.key.exec_gen = t.exec_gen;
	/* before any rule is read: a rule removed after this read leaves
	 * its slot checked against an older epoch
	 */
	w.epoch = lw_rules_epoch;
	w.rc = bpf_map_lookup_elem(&cfi_cache, &zero);
	/* a walk of two frames reads one word: directly */
	if (!w.max || w.max > 2)
		w.win = bpf_map_lookup_elem(&stack_win, &zero);
	w.win_lo = w.sp;
	if (w.win) {
		tid = (__u32)bpf_get_current_pid_tgid();
		hint = &w.win->hint[tid & (LW_WIN_HINTS - 1)];
		lw_win_fill(w.win, hint, tid, &w.key, w.sp, task->mm->start_stack);
	}

	st->nr = 0;
	/* at an entry the pc is the probed instruction; anywhere else (after a
	 * syscall, at a return into the caller) it is a return address
	 */
	st->flags = w.at_entry ? LW_STK_EXACT_PC : 0;
	st->slice_len = 0;
	st->tramp = 0;
	st->nr_ret_pending = 0;
	/* a walk of the whole stack from a return address: maybe one seen */
	w.memo_bad = !w.win || w.at_entry || w.max;
	if (!w.memo_bad && lw_hint_is(hint, tid, tgid, w.key.exec_gen, w.sp) &&
	    lw_memo_get(st, (__u64)tgid << 32 | w.key.exec_gen, w.pc, hint->end - w.sp, w.epoch))
		return 0;
	bpf_loop(LW_STACK_MAX, lw_unwind_step, &w, 0);
	if (hint && w.ended) {
		hint->tid = tid;
		hint->tgid = tgid;
		hint->exec_gen = w.key.exec_gen;
		hint->end = w.sp;
		/* an ended walk is not partial */
		lw_memo_put(st, (__u64)tgid << 32 | w.key.exec_gen, regs->ip,
			    (w.sp - w.win_lo) | (__u64)w.memo_bad << 32, w.epoch);
	}
	if (!w.stopped) {
		st->flags |= LW_STK_TRUNCATED;
		return 0;
	}
	if (!w.partial)
		return 0;
	st->flags |= LW_STK_PARTIAL;
	st->sp = w.sp;
	st->bp = w.bp;
	/* the slice user space needs: a startup's burst of stacks BPF cannot
	 * finish yet must not fill the ring with the same 4 KiB each (no
	 * window, no hint: only start_stack bounds it)
	 */
	st->slice_len = lw_stack_want(hint, tid, tgid, w.key.exec_gen, w.sp, task->mm->start_stack,
				      LW_SLICE_MAX);
	lw_stack_ret_pending(st, task, w.tramp, w.ri);
	__sync_fetch_and_add(&lw_stats.stack_partial, 1);
	return w.ask ? LW_UNWIND_ASK : LW_UNWIND_PARTIAL;
}

/* A stack for user space to walk from regs whole, without the walk above:
 * for what is too rare to be worth verifying the unwinder in its program.
 * regs are at a function's entry.
 */
static __always_inline void lw_stack_for_user(struct lw_stack *st, const struct lw_regs *regs)
{
	struct task_struct *task = bpf_get_current_task_btf();

	st->nr = 1;
	st->ips[0] = regs->ip;
	st->flags = LW_STK_EXACT_PC | LW_STK_PARTIAL;
	st->sp = regs->sp;
	st->bp = regs->bp;
	st->slice_len = lw_stack_want(NULL, 0, 0, 0, regs->sp, task->mm->start_stack, LW_SLICE_MAX);
	st->nr_ret_pending = 0;
	lw_stack_ret_pending(st, task, task->mm->uprobes_state.xol_area->vaddr, 0);
	__sync_fetch_and_add(&lw_stats.stack_partial, 1);
}

/* Copy up to want (at most LW_SLICE_MAX) bytes of user stack from sp to
 * dst: in one read, or where that faults in chunks, which stop at the first
 * fault so a stack shorter than the maximum still yields a prefix.
 */
static __always_inline __u32 lw_copy_slice(__u8 *dst, __u64 sp, __u64 want)
{
	__u32 len = 0;

	if (want > LW_SLICE_MAX)
		want = LW_SLICE_MAX;
	if (want >= 8 && !bpf_probe_read_user(dst, want, (void *)sp))
		return want;
	for (int i = 0; i < LW_SLICE_MAX / LW_SLICE_CHUNK; i++) {
		if (len >= want || bpf_probe_read_user(dst + i * LW_SLICE_CHUNK, LW_SLICE_CHUNK,
						       (void *)(sp + i * LW_SLICE_CHUNK)))
			break;
		len += LW_SLICE_CHUNK;
	}
	return len;
}

#endif
