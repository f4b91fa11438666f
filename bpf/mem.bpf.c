// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Heap blocks: uprobes on the allocator's entry points. Live blocks and
 * per-stack totals stay in maps, read in batches at report time; only rare
 * events are streamed: a block whose stack BPF could not finish yet, and
 * frees of addresses that are not live.
 */
#include "emit.bpf.h"
#include "blocks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Uprobe programs run preemptible where the kernel preempts fully (their
 * rcu_read_lock is PREEMPT_RCU's). One preempted on this CPU would come
 * back to the per-CPU scratch, stack window and memo rewritten by whatever
 * ran here meanwhile: another task's probe, any process's sys_exit. The
 * probe programs that use them hold preemption off while they do
 * (bpf_preempt_disable) where the loader says the verifier takes the
 * unwinder's global functions inside such a section (hold_preempt: Linux
 * 6.18 does, 6.10's did not); elsewhere they run as before. Declared here
 * only: bpftool 7.1's linker takes a kfunc extern in one object, so the
 * pair detector's emit lives here too (lw_pair_emit below).
 */
const volatile bool hold_preempt = false;

extern void bpf_preempt_disable(void) __ksym __weak;
extern void bpf_preempt_enable(void) __ksym __weak;

/* a constant to the verifier: with hold_preempt off the calls are dead code */
static __always_inline void preempt_off(void)
{
	if (hold_preempt && bpf_preempt_disable) /* libbpf 1.1: no bpf_ksym_exists() */
		bpf_preempt_disable();
}

static __always_inline void preempt_on(void)
{
	if (hold_preempt && bpf_preempt_enable)
		bpf_preempt_enable();
}

const volatile __u32 sample_every = 1; /* keep 1 block in N, chosen by address */
const volatile __u64 min_size = 0;
const volatile __u64 max_size = ~0ULL;
const volatile bool check_frees = true; /* off when sampling or size filters hide blocks */
const volatile bool with_stacks = true; /* --no-stacks: one group per process, cheapest */

#define LW_FREED_MAX 16384

/* per stack id: the stack, one lookup per allocation; allocated as stacks
 * appear (preallocated it took 21 MiB, for the few hundred a server has)
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct lw_mem_site);
} mem_sites SEC(".maps");

/* recently freed blocks, for double-free evidence */
struct lw_freed {
	__u64 size;
	__u64 alloc_stack_id;
	__u64 free_caller;
	__u64 alloc_ts;
};

/* Direct-mapped by key: every free writes one slot and every allocation
 * clears its own, a plain store each where an LRU hash update takes locks
 * and list moves on the hottest path; a newer free takes an older one's
 * slot, as an LRU would drop it.
 */
struct lw_freed_slot {
	struct lw_alloc_key k;
	struct lw_freed fr;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LW_FREED_MAX);
	__type(key, __u32);
	__type(value, struct lw_freed_slot);
} freed SEC(".maps");

static __always_inline struct lw_freed_slot *freed_slot(const struct lw_alloc_key *k)
{
	__u32 i = (__u32)(((k->addr >> 4) ^ ((__u64)k->tgid << 20)) * 0x9E3779B97F4A7C15ULL >> 40) &
		  (LW_FREED_MAX - 1);

	return bpf_map_lookup_elem(&freed, &i);
}

static __always_inline bool freed_is(const struct lw_freed_slot *f, const struct lw_alloc_key *k)
{
	return f->k.addr == k->addr && f->k.tgid == k->tgid && f->k.exec_gen == k->exec_gen;
}

enum { FN_MALLOC = 1, FN_CALLOC, FN_REALLOC, FN_MEMALIGN, FN_POSIX_MEMALIGN };

/* entry → return, per thread; depth counts nested allocator calls (realloc
 * calling malloc) so only the outermost call records a block
 */
struct lw_pending {
	__u64 size;
	__u64 old_ptr; /* realloc */
	__u64 caller;  /* realloc: its return address, for "previously freed from" */
	__u64 out_ptr; /* posix_memalign's void ** */
	__u32 fn;
	__u32 depth;
	__u64 tid; /* pend_slots: the thread owning the slot, 0 when free */
	/* the target, read once at the entry for the return: the calling
	 * thread cannot exec in between
	 */
	__u32 owner, owner_gen; /* whose heap the block is in (target_gen) */
	__u32 exec_gen;		/* the caller's own image, for its rules */
	/* pend_slots: threads of this index waiting in the hash instead, so a
	 * thread whose slot is free or another's looks there only then
	 */
	__u32 spilled;
};

/* One slot per thread id modulo LW_PEND_SLOTS (see pend_index), claimed
 * with a compare and swap: an array access where a hash insert and delete
 * cost most of the entry probe. Threads whose slot is taken use the hash.
 */
#define LW_PEND_SLOTS 65536

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LW_PEND_SLOTS);
	__type(key, __u32);
	__type(value, struct lw_pending);
} pend_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct lw_pending);
} pending SEC(".maps");

/* Thread id to slot: a bijection of the id's low bits, as tid modulo
 * LW_PEND_SLOTS would be, that puts consecutive ids (a server's workers,
 * forked one after another) far apart: 64-byte slots side by side share
 * cache lines, and every call writes its slot.
 */
static __always_inline __u32 pend_index(__u32 tid)
{
	return (tid * 0x9E3779B1u) & (LW_PEND_SLOTS - 1);
}

/* The thread's pending call, NULL when none; *slot tells where it lives. */
static __always_inline struct lw_pending *pending_get(__u32 tid, bool *slot)
{
	__u32 i = pend_index(tid);
	struct lw_pending *p = bpf_map_lookup_elem(&pend_slots, &i);

	*slot = p && p->tid == tid;
	if (*slot)
		return p;
	if (p && !p->spilled)
		return NULL;
	return bpf_map_lookup_elem(&pending, &tid);
}

static __always_inline void pending_done(__u32 tid, struct lw_pending *p, bool slot)
{
	__u32 i = pend_index(tid);
	struct lw_pending *home;

	if (slot) {
		p->tid = 0;
		return;
	}
	if (bpf_map_delete_elem(&pending, &tid) == 0 &&
	    (home = bpf_map_lookup_elem(&pend_slots, &i)))
		__sync_fetch_and_add(&home->spilled, -1);
}

static __always_inline bool sampled_out(__u64 addr)
{
	/* by address, so a block's free makes the same choice as its allocation */
	return sample_every > 1 && ((addr >> 4) * 0x9E3779B97F4A7C15ULL >> 40) % sample_every;
}

/* Record the outermost allocator call of a thread (np->tid, from
 * pending_target); true when np is it. nested_returns: a nested call's
 * return will be seen (a uretprobe per entry point, not a session whose
 * nested entries skip their return).
 */
static __always_inline bool enter(struct lw_pending *np, bool nested_returns)
{
	__u32 tid = (__u32)np->tid, i = pend_index(tid);
	struct lw_pending *p;
	bool slot;

	p = pending_get(tid, &slot);
	if (p) {
		if (nested_returns)
			p->depth++;
		return false;
	}
	p = bpf_map_lookup_elem(&pend_slots, &i);
	if (p && __sync_val_compare_and_swap(&p->tid, 0, (__u64)tid) == 0) {
		p->size = np->size;
		p->old_ptr = np->old_ptr;
		p->caller = np->caller;
		p->out_ptr = np->out_ptr;
		p->fn = np->fn;
		p->depth = 0;
		p->owner = np->owner;
		p->owner_gen = np->owner_gen;
		p->exec_gen = np->exec_gen;
		return true;
	}
	if (bpf_map_update_elem(&pending, &tid, np, BPF_ANY))
		__sync_fetch_and_add(&lw_stats.mem_pending_full, 1);
	else if (p)
		__sync_fetch_and_add(&p->spilled, 1);
	return true;
}

/* The process whose heap a block of *tgid (target *t) is in, and that
 * heap's image: a vfork child allocates in its parent's until it execs.
 */
static __always_inline void heap_owner(__u32 *tgid, __u32 *gen, struct lw_target *t)
{
	struct lw_target owner;

	if (t->vm_parent && lw_target_read(t->vm_parent, &owner)) {
		*tgid = t->vm_parent;
		*t = owner;
	}
	*gen = t->exec_gen;
}

/* heap_owner of *tgid; false when *tgid is not a target. */
static __always_inline bool target_gen(__u32 *tgid, __u32 *gen, struct lw_target *t)
{
	*gen = 0;
	if (!lw_target_read(*tgid, t))
		return false;
	heap_owner(tgid, gen, t);
	return true;
}

/* Fill np's thread and target members and *t with the heap owner's
 * target; false when the caller is not a target.
 */
static __always_inline bool pending_target(struct lw_pending *np, struct lw_target *t)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	np->tid = (__u32)pid_tgid;
	np->owner = pid_tgid >> 32;
	if (!lw_target_read(np->owner, t))
		return false;
	np->exec_gen = t->exec_gen;
	heap_owner(&np->owner, &np->owner_gen, t);
	return true;
}

/* Argument n of the probed call: in its SysV register, or where the cookie
 * says a probe moved past copies of its arguments finds it (LW_ME_ARGMAP)
 */
static __always_inline __u64 probe_arg(struct pt_regs *ctx, __u64 cookie, __u32 n)
{
	if (!(cookie & LW_ME_ARGMAP))
		return n == 0	? PT_REGS_PARM1(ctx)
		       : n == 1 ? PT_REGS_PARM2(ctx)
				: PT_REGS_PARM3(ctx);
	/* each a load at a constant offset: the verifier refuses a ctx
	 * pointer moved by a variable (what a switch compiles to); rsp and
	 * rbp are never a copy (probe_place.c)
	 */
	__u64 r[16] = {ctx->ax,	 ctx->cx,  ctx->dx,  ctx->bx, 0,	0,
		       ctx->si,	 ctx->di,  ctx->r8,  ctx->r9, ctx->r10, ctx->r11,
		       ctx->r12, ctx->r13, ctx->r14, ctx->r15};

	return r[(cookie >> (LW_ME_ARGMAP_SHIFT + 4 * n)) & 0xf];
}

/* true when this is the outermost allocator call of a target's thread */
static __always_inline bool enter_fn(__u32 fn, __u64 size, __u64 out_ptr, bool nested_returns)
{
	struct lw_pending np = {.size = size, .out_ptr = out_ptr, .fn = fn};
	struct lw_target t;

	return pending_target(&np, &t) && enter(&np, nested_returns);
}

static __always_inline void judge_realloc(struct pt_regs *ctx, const struct lw_pending *np,
					  const struct lw_target *t);

/* realloc and reallocarray: the outermost call judges its old pointer here,
 * at the entry, as free() would: the C library may abort before it returns
 */
static __always_inline bool enter_realloc(struct pt_regs *ctx, __u64 size, __u64 old_ptr,
					  bool nested_returns)
{
	struct lw_pending np = {.size = size, .old_ptr = old_ptr, .fn = FN_REALLOC};
	struct lw_target t;

	if (!pending_target(&np, &t))
		return false;
	/* [sp] is the caller at the probe (see mem_free) */
	bpf_probe_read_user(&np.caller, sizeof(np.caller), (void *)PT_REGS_SP(ctx));
	if (!enter(&np, nested_returns))
		return false;
	if (old_ptr)
		judge_realloc(ctx, &np, &t); /* may tail-call: last */
	return true;
}

SEC("uprobe")
int mem_malloc(struct pt_regs *ctx)
{
	__u64 c = bpf_get_attach_cookie(ctx);
	__u64 size = probe_arg(ctx, c, 0);

	enter_fn(FN_MALLOC, size, 0, true);
	return 0;
}

SEC("uprobe")
int mem_calloc(struct pt_regs *ctx)
{
	__u64 c = bpf_get_attach_cookie(ctx);
	__u64 n = probe_arg(ctx, c, 0);
	__u64 size = probe_arg(ctx, c, 1);

	enter_fn(FN_CALLOC, n * size, 0, true);
	return 0;
}

SEC("uprobe")
int mem_realloc(struct pt_regs *ctx)
{
	__u64 c = bpf_get_attach_cookie(ctx);
	__u64 ptr = probe_arg(ctx, c, 0);
	__u64 size = probe_arg(ctx, c, 1);

	enter_realloc(ctx, size, ptr, true);
	return 0;
}

SEC("uprobe")
int mem_reallocarray(struct pt_regs *ctx)
{
	__u64 c = bpf_get_attach_cookie(ctx);
	__u64 ptr = probe_arg(ctx, c, 0);
	__u64 n = probe_arg(ctx, c, 1);
	__u64 size = probe_arg(ctx, c, 2);

	enter_realloc(ctx, n * size, ptr, true);
	return 0;
}

/* memalign and aligned_alloc take (alignment, size) */
SEC("uprobe")
int mem_memalign(struct pt_regs *ctx)
{
	__u64 size = probe_arg(ctx, bpf_get_attach_cookie(ctx), 1);

	enter_fn(FN_MEMALIGN, size, 0, true);
	return 0;
}

/* valloc and pvalloc take (size) */
SEC("uprobe")
int mem_valloc(struct pt_regs *ctx)
{
	__u64 c = bpf_get_attach_cookie(ctx);
	__u64 size = probe_arg(ctx, c, 0);

	enter_fn(FN_MALLOC, size, 0, true);
	return 0;
}

SEC("uprobe")
int mem_posix_memalign(struct pt_regs *ctx)
{
	__u64 c = bpf_get_attach_cookie(ctx);
	__u64 memptr = probe_arg(ctx, c, 0);
	__u64 size = probe_arg(ctx, c, 2);

	enter_fn(FN_POSIX_MEMALIGN, size, memptr, true);
	return 0;
}

/* A block went away (free, or realloc moving it); at is where it is when
 * the caller found it already, else -1. A function of its own: inlined,
 * its frame was too much for the allocation return's call chain.
 */
__noinline int block_gone(struct lw_alloc_key *k, __u64 caller, __s64 at)
{
	struct lw_freed_slot *fs;
	struct lw_alloc_ent *e;

	if (!k)
		return 0;
	if (at < 0)
		at = lw_blk_find(k->tgid, k->exec_gen, k->addr);
	e = at >= 0 ? lw_blk_ent(at) : NULL;
	if (!e)
		return 0;
	if (!e->v.stack_id && (e->v.flags & LW_ALLOC_USER)) {
		struct lw_ev_mem_free_user *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

		if (ev) {
			lw_hdr_init(&ev->hdr, LW_EV_MEM_FREE_USER, sizeof(*ev));
			ev->addr = k->addr;
			ev->exec_gen = k->exec_gen;
			ev->__pad = 0;
			lw_count_event();
			bpf_ringbuf_submit(ev, lw_rb_flags(sizeof(*ev)));
		} else {
			lw_count_drop();
		}
	}
	/* the evidence for a double free, straight from the slot */
	if (check_frees && (fs = freed_slot(k))) {
		fs->k = *k;
		fs->fr.size = e->v.size;
		fs->fr.alloc_stack_id = e->v.stack_id;
		fs->fr.alloc_ts = e->v.ts_ns;
		fs->fr.free_caller = caller;
	}
	lw_blk_remove(at);
	return 0;
}

/* Record a new block; its stack is unwound here, at the return into the
 * caller, where the caller's frame is a plain return address. pid_tgid:
 * the caller's, read once.
 */
_Static_assert(sizeof(struct lw_ev_mem_alloc) + sizeof(struct lw_regs) <= LW_SLICE_OFFSET,
	       "block_new's registers fit between the record and the slice");

static __noinline int block_new(struct pt_regs *ctx, __u64 addr, const struct lw_pending *pd,
				__u64 pid_tgid)
{
	__u64 size = pd ? pd->size : 0;
	struct lw_alloc_key k = {.addr = addr};
	struct lw_alloc_val v = {.size = size, .tid = (__u32)pid_tgid};
	struct lw_scratch *s;
	struct lw_ev_mem_alloc *ev;
	struct lw_mem_site *site;
	struct lw_regs *r;
	int partial = 0;

	if (!pd || !addr || size < min_size || size > max_size || sampled_out(addr))
		return 0;
	k.tgid = pd->owner;
	k.exec_gen = pd->owner_gen;
	if (check_frees) {
		struct lw_freed_slot *fs = freed_slot(&k);

		if (fs && freed_is(fs, &k))
			fs->k.addr = 0; /* reused address: not a double free */
	}
	s = lw_scratch_get();
	if (!s)
		return 0;
	ev = (struct lw_ev_mem_alloc *)s->buf;
	ev->stack.nr = 0;
	ev->stack.flags = 0;
	if (with_stacks) {
		ev->addr = addr;
		ev->size = size;
		ev->exec_gen = k.exec_gen;
		ev->owner = k.tgid != pid_tgid >> 32 ? k.tgid : 0;
		/* the registers wait in the scratch buffer, between the record
		 * and the slice: on the stack they were one frame too many for
		 * the unwind's call chain
		 */
		r = (struct lw_regs *)(s->buf + LW_SLICE_OFFSET - sizeof(*r));
		lw_regs_from_ctx(r, ctx);
		r->exec_gen = pd->exec_gen;
		r->gen_known = 1;
		/* BPF cannot finish this stack yet: user space does, and holds it */
		partial = lw_emit_with_stack(s, LW_EV_MEM_ALLOC, sizeof(*ev), r,
					     LW_EMIT_IF_PARTIAL | LW_EMIT_COARSE);
	}
	/* a streamed record's time is the block's: one clock read */
	v.ts_ns = partial ? ev->hdr.ts_ns : lw_coarse_ns();
	/* the ring was full: the block is still a block (its free must find
	 * it, a leak of it is still a leak), only its stack is lost
	 */
	if (partial < 0) {
		v.flags = LW_ALLOC_STACK_LOST;
	} else if (partial) {
		v.flags = LW_ALLOC_USER;
	} else {
		v.stack_id = lw_hash_ips(ev->stack.ips, ev->stack.nr, LW_STACK_MAX);
		/* most allocations come from a stack seen before: one lookup */
		site = bpf_map_lookup_elem(&mem_sites, &v.stack_id);
		if (!site) {
			/* the map holds struct lw_stack_ips, not struct lw_stack:
			 * build the site in the (unused) slice area of the
			 * scratch buffer, with plain loads
			 */
			struct lw_mem_site *ns = (struct lw_mem_site *)(s->buf + LW_SLICE_OFFSET);

			ns->s.nr = ev->stack.nr;
			ns->s.flags = ev->stack.flags;
			__builtin_memcpy(ns->s.ips, ev->stack.ips, sizeof(ns->s.ips));
			if (bpf_map_update_elem(&mem_sites, &v.stack_id, ns, BPF_NOEXIST) ==
			    -7 /* E2BIG */)
				__sync_fetch_and_add(&lw_stats.stackmap_full, 1);
		}
	}
	if (lw_blk_add(&k, &v))
		__sync_fetch_and_add(&lw_stats.alloc_full, 1);
	return 0;
}

/* The return of a call entered above: the block, if it made one. */
static __always_inline int mem_return(struct pt_regs *ctx, __u64 ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, tgid = pid_tgid >> 32;
	struct lw_alloc_key old = {.tgid = tgid};
	struct lw_pending *p;
	__u64 addr = ret;
	bool slot;

	p = pending_get(tid, &slot);
	if (!p)
		return 0;
	if (p->depth) {
		p->depth--; /* an inner call returned: the outer one records */
		return 0;
	}
	/* the entry's record is read in place and let go after: a copy on
	 * the stack was one frame too many for the unwind's call chain
	 * without a private stack (tools/bpf-stack-budget.py)
	 */
	if (p->fn == FN_POSIX_MEMALIGN) {
		/* a failed read leaves 0: no block */
		addr = 0;
		if (ret == 0)
			bpf_probe_read_user(&addr, sizeof(addr), (void *)p->out_ptr);
	} else if (p->fn == FN_REALLOC && p->old_ptr && (ret || p->size == 0)) {
		/* realloc(p, 0) frees p and may return NULL; a failed realloc
		 * (NULL for a non-zero size) leaves p alive
		 */
		old.tgid = p->owner;
		old.exec_gen = p->owner_gen;
		old.addr = p->old_ptr;
		block_gone(&old, p->caller, -1);
	}
	block_new(ctx, addr, p, pid_tgid);
	pending_done(tid, p, slot);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(mem_ret, __u64 ret)
{
	preempt_off();
	mem_return(ctx, ret);
	preempt_on();
	return 0;
}

extern bool bpf_session_is_return(void) __ksym __weak;

/* Where the kernel has uprobe sessions (6.13), every allocating entry point
 * is this one program instead of an entry program and mem_ret: its entry
 * returns 1, and so gets no return probe, for a nested call (the malloc
 * inside posix_memalign) and for what is not a target's; its return runs
 * it again. The cookie says where the arguments are (enum lw_mem_entry).
 */
static __noinline int session_enter(struct pt_regs *ctx)
{
	__u64 c = bpf_get_attach_cookie(ctx), a0, a1, a2;
	bool outer = false;

	a0 = probe_arg(ctx, c, 0);
	a1 = probe_arg(ctx, c, 1);
	a2 = probe_arg(ctx, c, 2);
	switch (c & LW_ME_KIND_MASK) {
	case LW_ME_MALLOC:
		outer = enter_fn(FN_MALLOC, a0, 0, false);
		break;
	case LW_ME_CALLOC:
		outer = enter_fn(FN_CALLOC, a0 * a1, 0, false);
		break;
	case LW_ME_REALLOC:
		outer = enter_realloc(ctx, a1, a0, false);
		break;
	case LW_ME_REALLOCARRAY:
		outer = enter_realloc(ctx, a1 * a2, a0, false);
		break;
	case LW_ME_MEMALIGN:
		outer = enter_fn(FN_MEMALIGN, a1, 0, false);
		break;
	case LW_ME_POSIX_MEMALIGN:
		outer = enter_fn(FN_POSIX_MEMALIGN, a2, a0, false);
		break;
	}
	return outer ? 0 : 1;
}

SEC("uprobe")
int mem_alloc(struct pt_regs *ctx)
{
	if (bpf_session_is_return()) {
		preempt_off();
		mem_return(ctx, PT_REGS_RC(ctx));
		preempt_on();
		return 0;
	}
	/* its own frame: the entry's record is not on the return's (the
	 * unwind's) call chain; a session program returns 0 or 1, which the
	 * verifier must see here
	 */
	if (session_enter(ctx))
		return 1;
	return 0;
}

/* A bad free waiting for mem_bad_free, by thread: per CPU, a free
 * preempted between its request and the tail call could find another
 * thread's bad free there, and report that one twice and its own never.
 */
struct lw_bad_free_req {
	struct lw_alloc_key k;
	struct lw_freed fr; /* zero for an invalid free: nothing was freed */
	__u32 kind, call;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct lw_bad_free_req);
} bad_req SEC(".maps");

/* never written: the zero a request starts from */
static struct lw_bad_free_req no_bad_req;

/* [0]: mem_bad_free (set by the loader) */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mem_tail SEC(".maps");

/* An address handed to free() or realloc() that is not live: its report
 * takes a stack, and the unwinder verified in each of free, realloc and
 * reallocarray cost 0.12 s of load apiece. They tail-call one program that
 * has it instead (always their last act: nothing after it is skipped).
 */
static __always_inline void bad_free(struct pt_regs *ctx, struct lw_alloc_key *k, __u32 kind,
				     struct lw_freed *fr, __u32 call)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lw_bad_free_req *q;

	if (!k)
		return;
	/* made in place: a copy on the stack was a frame too many */
	if (bpf_map_update_elem(&bad_req, &tid, &no_bad_req, BPF_ANY) ||
	    !(q = bpf_map_lookup_elem(&bad_req, &tid))) {
		lw_count_drop();
		return;
	}
	q->k = *k;
	q->kind = kind;
	q->call = call;
	q->fr = fr ? *fr : (struct lw_freed){};
	bpf_tail_call(ctx, &mem_tail, 0);
	bpf_map_delete_elem(&bad_req, &tid);
	lw_count_drop(); /* no program in mem_tail: the report is lost */
}

/* What a tail-called mem_bad_free returns for its caller, a session entry
 * where the kernel has them: realloc's entry (0) wants its return probe,
 * free (1) does not.
 */
static __always_inline int bad_free_rc(const struct lw_bad_free_req *q)
{
	return q->call == LW_BAD_FREE_BY_REALLOC ? 0 : 1;
}

static __always_inline int bad_free_emit(struct pt_regs *ctx, struct lw_bad_free_req *q)
{
	struct lw_scratch *s = lw_scratch_get();
	struct lw_ev_mem_bad_free *ev;
	struct lw_regs r;

	if (!s)
		return bad_free_rc(q);
	ev = (struct lw_ev_mem_bad_free *)s->buf;
	ev->addr = q->k.addr;
	ev->kind = q->kind;
	ev->exec_gen = q->k.exec_gen;
	ev->size = q->fr.size;
	ev->alloc_stack_id = q->fr.alloc_stack_id;
	ev->prev_free_caller = q->fr.free_caller;
	ev->__reserved = 0;
	ev->alloc_ts = q->fr.alloc_ts;
	ev->call = q->call;
	ev->__pad = 0;
	lw_regs_from_ctx(&r, ctx);
	/* The process may abort right after this (glibc's double-free
	 * check): its stack travels whole. User space walks it: the unwinder
	 * here cost a third of a mem session's verification, for a rare event.
	 */
	lw_emit_with_user_stack(s, LW_EV_MEM_BAD_FREE, sizeof(*ev), &r, LW_EMIT_WAKE);
	return bad_free_rc(q);
}

SEC("uprobe")
int mem_bad_free(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lw_bad_free_req *q = bpf_map_lookup_elem(&bad_req, &tid);
	int rc;

	if (!q)
		return 1;
	preempt_off();
	rc = bad_free_emit(ctx, q);
	preempt_on();
	bpf_map_delete_elem(&bad_req, &tid);
	return rc;
}

/* The pair detector's record of handle for rule, its stack unwound from
 * ctx (how: LW_UNWIND_*); see preempt_off() for why it is here.
 */
__noinline int lw_pair_emit(struct pt_regs *ctx, __u32 rule, __u64 handle, __u32 how)
{
	struct lw_scratch *s;
	struct lw_ev_pair *ev;
	struct lw_regs r;

	preempt_off();
	s = lw_scratch_get();
	if (s) {
		ev = (struct lw_ev_pair *)s->buf;
		ev->rule = rule;
		ev->__pad = 0;
		ev->handle = handle;
		lw_regs_from_ctx(&r, ctx);
		lw_emit_with_stack(s, LW_EV_PAIR, sizeof(*ev), &r, how);
	}
	preempt_on();
	return 0;
}

/* k is not live: a double free when we saw it freed, an invalid free when
 * this image allocated everything it holds; else (attach mode: allocated
 * before we came) nothing is known
 */
static __always_inline void judge_not_live(struct pt_regs *ctx, struct lw_alloc_key *k,
					   const struct lw_target *t, __u32 call)
{
	struct lw_freed_slot *fs;

	if (!check_frees)
		return;
	fs = freed_slot(k);
	if (fs && freed_is(fs, k))
		bad_free(ctx, k, LW_BAD_FREE_DOUBLE, &fs->fr, call);
	else if (t->flags & LW_TGT_FROM_EXEC)
		bad_free(ctx, k, LW_BAD_FREE_INVALID, NULL, call);
}

/* np: realloc's pending call, its old pointer not NULL; t: the heap's owner */
static __always_inline void judge_realloc(struct pt_regs *ctx, const struct lw_pending *np,
					  const struct lw_target *t)
{
	struct lw_alloc_key k = {.tgid = np->owner, .exec_gen = np->owner_gen, .addr = np->old_ptr};

	if (!sampled_out(k.addr) && lw_blk_find(k.tgid, k.exec_gen, k.addr) < 0)
		judge_not_live(ctx, &k, t, LW_BAD_FREE_BY_REALLOC);
}

SEC("uprobe")
int mem_free(struct pt_regs *ctx)
{
	__u64 ptr = probe_arg(ctx, bpf_get_attach_cookie(ctx), 0);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct lw_alloc_key k = {.tgid = pid_tgid >> 32, .addr = ptr};
	struct lw_pending *in;
	struct lw_target t;
	__s64 at;
	__u64 caller = 0;
	bool slot;

	/* 1 everywhere: loaded as a session program, free wants no return */
	if (!ptr || sampled_out(ptr) || !target_gen(&k.tgid, &k.exec_gen, &t))
		return 1;
	/* realloc(p, 0) frees p through free(): realloc's entry judged p
	 * already, and realloc's caller is the one to remember
	 */
	in = pending_get(tid, &slot);
	if (in && in->fn == FN_REALLOC && in->old_ptr == ptr) {
		block_gone(&k, in->caller, -1);
		return 1;
	}
	/* the probe sits where nothing is pushed yet: [sp] is free()'s caller */
	bpf_probe_read_user(&caller, sizeof(caller), (void *)PT_REGS_SP(ctx));
	at = lw_blk_find(k.tgid, k.exec_gen, ptr);
	if (at >= 0)
		block_gone(&k, caller, at);
	else
		judge_not_live(ctx, &k, &t, LW_BAD_FREE_BY_FREE);
	return 1;
}

/* ---- anonymous mappings: a class of the mem detector ---- */

#define MAP_ANONYMOUS_ 0x20

/* A successful anonymous mmap of a target, with the caller's full stack. */
static __always_inline void emit_mmap_anon(struct lw_sys_args *sa)
{
	struct lw_scratch *s = lw_scratch_get();
	struct lw_ev_mmap_anon *ev;
	struct lw_regs r;

	if (!s)
		return;
	ev = (struct lw_ev_mmap_anon *)s->buf;
	ev->addr = sa->ret;
	ev->len = sa->a[1];
	ev->prot = sa->a[2];
	ev->flags = sa->a[3];
	lw_regs_from_sys(&r, sa);
	lw_emit_with_stack(s, LW_EV_MMAP_ANON, sizeof(*ev), &r, 0);
}

static __always_inline void emit_munmap(__u64 addr, __u64 len)
{
	struct lw_ev_munmap *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		lw_count_drop();
		return;
	}
	lw_hdr_init(&ev->hdr, LW_EV_MUNMAP, sizeof(*ev));
	ev->addr = addr;
	ev->len = len;
	lw_count_event();
	bpf_ringbuf_submit(ev, lw_rb_flags(sizeof(*ev)));
}

/* Anonymous mmap (MAP_ANONYMOUS, fd -1) and munmap of a target (called by
 * bpf/sys_exit.bpf.c with the mem detector on).
 */
__noinline int mem_sys_exit(struct lw_sys_args *sa)
{
	if (!sa)
		return 0;
	if (sa->nr == LW_NR_munmap) {
		if (sa->ret == 0)
			emit_munmap(sa->a[0], sa->a[1]);
		return 0;
	}
	if (sa->nr == LW_NR_mmap && sa->ret >= 0 && (sa->a[3] & MAP_ANONYMOUS_) &&
	    (int)sa->a[4] == -1)
		emit_mmap_anon(sa);
	return 0;
}
