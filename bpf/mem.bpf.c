// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Heap blocks: uprobes on the allocator's entry points. Live blocks and
 * per-stack totals stay in maps, read in batches at report time; only rare
 * events are streamed: a block whose stack BPF could not finish yet, and
 * frees of addresses that are not live.
 */
#include "common.bpf.h"
#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 sample_every = 1; /* keep 1 block in N, chosen by address */
const volatile __u64 min_size = 0;
const volatile __u64 max_size = ~0ULL;
const volatile bool check_frees = true; /* off when sampling or size filters hide blocks */
const volatile bool with_stacks = true; /* --no-stacks: one group per process, cheapest */

#define LW_FREED_MAX 16384

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20); /* resized by the loader */
	__type(key, struct lw_alloc_key);
	__type(value, struct lw_alloc_val);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64);
	__type(value, struct lw_stack_ips);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64);
	__type(value, struct lw_mem_total);
} mem_totals SEC(".maps");

/* recently freed blocks, for double-free evidence */
struct lw_freed {
	__u64 size;
	__u64 alloc_stack_id;
	__u64 free_caller;
	__u64 free_ts;
	__u64 alloc_ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LW_FREED_MAX);
	__type(key, struct lw_alloc_key);
	__type(value, struct lw_freed);
} freed SEC(".maps");

enum { FN_MALLOC = 1, FN_CALLOC, FN_REALLOC, FN_MEMALIGN, FN_POSIX_MEMALIGN };

/* entry → return, per thread; depth counts nested allocator calls (realloc
 * calling malloc) so only the outermost call records a block
 */
struct lw_pending {
	__u64 size;
	__u64 old_ptr; /* realloc */
	__u64 out_ptr; /* posix_memalign's void ** */
	__u32 fn;
	__u32 depth;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct lw_pending);
} pending SEC(".maps");

#define LW_MEM_SCRATCH LW_SCRATCH_SIZE

struct lw_mem_scratch {
	__u8 buf[LW_MEM_SCRATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_mem_scratch);
} mem_scratch SEC(".maps");

static __always_inline bool sampled_out(__u64 addr)
{
	/* by address, so a block's free makes the same choice as its allocation */
	return sample_every > 1 && ((addr >> 4) * 0x9E3779B97F4A7C15ULL >> 40) % sample_every;
}

static __always_inline int enter(__u32 fn, __u64 size, __u64 old_ptr, __u64 out_ptr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct lw_pending *p, np = {.size = size, .old_ptr = old_ptr, .out_ptr = out_ptr, .fn = fn};

	if (!lw_is_target(pid_tgid >> 32))
		return 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p) {
		p->depth++;
		return 0;
	}
	if (bpf_map_update_elem(&pending, &tid, &np, BPF_ANY))
		__sync_fetch_and_add(&lw_stats.mem_pending_full, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mem_malloc, __u64 size)
{
	return enter(FN_MALLOC, size, 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(mem_calloc, __u64 n, __u64 size)
{
	return enter(FN_CALLOC, n * size, 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(mem_realloc, __u64 ptr, __u64 size)
{
	return enter(FN_REALLOC, size, ptr, 0);
}

SEC("uprobe")
int BPF_KPROBE(mem_reallocarray, __u64 ptr, __u64 n, __u64 size)
{
	return enter(FN_REALLOC, n * size, ptr, 0);
}

/* memalign and aligned_alloc take (alignment, size) */
SEC("uprobe")
int BPF_KPROBE(mem_memalign, __u64 align, __u64 size)
{
	return enter(FN_MEMALIGN, size, 0, 0);
}

/* valloc and pvalloc take (size) */
SEC("uprobe")
int BPF_KPROBE(mem_valloc, __u64 size)
{
	return enter(FN_MALLOC, size, 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(mem_posix_memalign, __u64 memptr, __u64 align, __u64 size)
{
	return enter(FN_POSIX_MEMALIGN, size, 0, memptr);
}

static __always_inline struct lw_target *target_gen(__u32 tgid, __u32 *gen)
{
	struct lw_target *t = lw_target_of(tgid);

	*gen = t ? t->exec_gen : 0;
	return t;
}

/* A block went away (free, or realloc moving it). */
static __always_inline void block_gone(struct lw_alloc_key *k, __u64 caller)
{
	struct lw_alloc_val *v = bpf_map_lookup_elem(&allocs, k);
	struct lw_freed fr = {};

	if (!v)
		return;
	fr.size = v->size;
	fr.alloc_stack_id = v->stack_id;
	fr.alloc_ts = v->ts_ns;
	fr.free_caller = caller;
	fr.free_ts = bpf_ktime_get_ns();
	if (v->stack_id) {
		struct lw_mem_total *t = bpf_map_lookup_elem(&mem_totals, &v->stack_id);

		if (t) {
			__sync_fetch_and_add(&t->live_bytes, -v->size);
			__sync_fetch_and_add(&t->live_count, -1);
		}
	} else if (v->flags & LW_ALLOC_USER) {
		struct lw_ev_mem_free_user *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

		if (ev) {
			lw_hdr_init(&ev->hdr, LW_EV_MEM_FREE_USER, sizeof(*ev));
			ev->addr = k->addr;
			ev->exec_gen = k->exec_gen;
			ev->__pad = 0;
			lw_count_event();
			bpf_ringbuf_submit(ev, lw_rb_flags());
		} else {
			lw_count_drop();
		}
	}
	bpf_map_delete_elem(&allocs, k);
	if (check_frees)
		bpf_map_update_elem(&freed, k, &fr, BPF_ANY);
}

static __always_inline __u64 stack_hash(const struct lw_stack *st)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < LW_STACK_MAX; i++) {
		if (i >= st->nr)
			break;
		h = (h ^ st->ips[i]) * 0x100000001b3ULL;
	}
	return h ? h : 1;
}

/* Record a new block; its stack is unwound here, at the return into the
 * caller, where the caller's frame is a plain return address.
 */
static __noinline int block_new(struct pt_regs *ctx, __u64 addr, __u64 size)
{
	struct lw_alloc_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .addr = addr};
	struct lw_alloc_val v = {
	    .size = size, .ts_ns = bpf_ktime_get_ns(), .tid = (__u32)bpf_get_current_pid_tgid()};
	struct lw_mem_scratch *s;
	struct lw_ev_mem_alloc *ev;
	struct lw_mem_total *tot, zero_tot = {};
	struct lw_regs r;
	__u32 zero = 0;

	if (!addr || size < min_size || size > max_size || sampled_out(addr))
		return 0;
	target_gen(k.tgid, &k.exec_gen);
	if (check_frees)
		bpf_map_delete_elem(&freed, &k); /* reused address: not a double free */
	s = bpf_map_lookup_elem(&mem_scratch, &zero);
	if (!s)
		return 0;
	ev = (struct lw_ev_mem_alloc *)s->buf;
	lw_regs_from_ctx(&r, ctx);
	ev->stack.nr = 0;
	ev->stack.flags = 0;
	if (with_stacks && lw_unwind(&ev->stack, k.tgid, &r, 0)) {
		/* BPF cannot finish this stack yet: user space does, and holds it */
		__u32 len = lw_copy_slice(s->buf + LW_SLICE_OFFSET, ev->stack.sp), size_ev;

		if (len > LW_SLICE_MAX)
			len = LW_SLICE_MAX;
		ev->stack.slice_len = len;
		lw_hdr_init(&ev->hdr, LW_EV_MEM_ALLOC, 0);
		ev->hdr.flags |= LW_F_STACK_PARTIAL;
		ev->addr = addr;
		ev->size = size;
		ev->exec_gen = k.exec_gen;
		ev->__pad = 0;
		size_ev = LW_SLICE_OFFSET + len;
		ev->hdr.size = size_ev;
		if (size_ev > LW_MEM_SCRATCH)
			return 0;
		if (bpf_ringbuf_output(&events, s->buf, size_ev, lw_rb_flags())) {
			lw_count_drop();
			return 0;
		}
		lw_count_event();
		v.flags = LW_ALLOC_USER;
	} else {
		/* the stacks map holds struct lw_stack_ips, not struct lw_stack:
		 * build it in the (unused) slice area of the scratch buffer
		 */
		struct lw_stack_ips *si = (struct lw_stack_ips *)(s->buf + LW_SLICE_OFFSET);

		v.stack_id = stack_hash(&ev->stack);
		si->nr = ev->stack.nr;
		si->flags = ev->stack.flags;
		bpf_probe_read_kernel(si->ips, sizeof(si->ips), ev->stack.ips);
		if (bpf_map_update_elem(&stacks, &v.stack_id, si, BPF_NOEXIST) == -7 /* E2BIG */)
			__sync_fetch_and_add(&lw_stats.stackmap_full, 1);
		tot = bpf_map_lookup_elem(&mem_totals, &v.stack_id);
		if (!tot) {
			bpf_map_update_elem(&mem_totals, &v.stack_id, &zero_tot, BPF_NOEXIST);
			tot = bpf_map_lookup_elem(&mem_totals, &v.stack_id);
		}
		if (tot) {
			__sync_fetch_and_add(&tot->live_bytes, size);
			__sync_fetch_and_add(&tot->live_count, 1);
			__sync_fetch_and_add(&tot->total_bytes, size);
			__sync_fetch_and_add(&tot->total_count, 1);
		}
	}
	if (bpf_map_update_elem(&allocs, &k, &v, BPF_ANY))
		__sync_fetch_and_add(&lw_stats.alloc_full, 1);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(mem_ret, __u64 ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lw_pending *p = bpf_map_lookup_elem(&pending, &tid);
	struct lw_pending pd;
	struct lw_alloc_key old = {.tgid = tgid};

	if (!p)
		return 0;
	if (p->depth) {
		p->depth--; /* an inner call returned: the outer one records */
		return 0;
	}
	pd = *p;
	bpf_map_delete_elem(&pending, &tid);
	if (pd.fn == FN_POSIX_MEMALIGN) {
		__u64 addr = 0;

		if (ret != 0 || bpf_probe_read_user(&addr, sizeof(addr), (void *)pd.out_ptr))
			return 0;
		return block_new(ctx, addr, pd.size);
	}
	if (pd.fn == FN_REALLOC && pd.old_ptr) {
		/* realloc(p, 0) frees p and may return NULL; a failed realloc
		 * (NULL for a non-zero size) leaves p alive
		 */
		if (ret || pd.size == 0) {
			target_gen(tgid, &old.exec_gen);
			old.addr = pd.old_ptr;
			block_gone(&old, 0);
		}
	}
	return block_new(ctx, ret, pd.size);
}

/* free of an address that is not live: a double free when we saw it freed,
 * an invalid free when this image allocated everything it holds
 */
static __noinline int bad_free(struct pt_regs *ctx, struct lw_alloc_key *k, __u32 kind,
			       struct lw_freed *fr)
{
	struct lw_mem_scratch *s;
	struct lw_ev_mem_bad_free *ev;
	__u32 zero = 0, size_ev = sizeof(*ev);
	struct lw_regs r;

	if (!k)
		return 0;
	s = bpf_map_lookup_elem(&mem_scratch, &zero);
	if (!s)
		return 0;
	ev = (struct lw_ev_mem_bad_free *)s->buf;
	lw_hdr_init(&ev->hdr, LW_EV_MEM_BAD_FREE, sizeof(*ev));
	ev->addr = k->addr;
	ev->kind = kind;
	ev->exec_gen = k->exec_gen;
	ev->size = fr ? fr->size : 0;
	ev->alloc_stack_id = fr ? fr->alloc_stack_id : 0;
	ev->prev_free_caller = fr ? fr->free_caller : 0;
	ev->prev_free_ts = fr ? fr->free_ts : 0;
	ev->alloc_ts = fr ? fr->alloc_ts : 0;
	lw_regs_from_ctx(&r, ctx);
	if (lw_unwind(&ev->stack, k->tgid, &r, LW_UNWIND_AT_ENTRY)) {
		__u32 len = lw_copy_slice(s->buf + LW_SLICE_OFFSET, ev->stack.sp);

		if (len > LW_SLICE_MAX)
			len = LW_SLICE_MAX;
		ev->stack.slice_len = len;
		ev->hdr.flags |= LW_F_STACK_PARTIAL;
		size_ev = LW_SLICE_OFFSET + len;
	}
	ev->hdr.size = size_ev;
	if (size_ev > LW_MEM_SCRATCH)
		return 0;
	/* the process may abort right after this (glibc's double-free check) */
	if (bpf_ringbuf_output(&events, s->buf, size_ev, BPF_RB_FORCE_WAKEUP))
		lw_count_drop();
	else
		lw_count_event();
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mem_free, __u64 ptr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lw_alloc_key k = {.tgid = tgid, .addr = ptr};
	struct lw_target *t;
	struct lw_freed *fr;
	__u64 caller = 0;

	if (!ptr || sampled_out(ptr))
		return 0;
	t = target_gen(tgid, &k.exec_gen);
	if (!t)
		return 0;
	/* the probe sits where nothing is pushed yet: [sp] is free()'s caller */
	bpf_probe_read_user(&caller, sizeof(caller), (void *)PT_REGS_SP(ctx));
	if (bpf_map_lookup_elem(&allocs, &k)) {
		block_gone(&k, caller);
		return 0;
	}
	if (!check_frees)
		return 0;
	fr = bpf_map_lookup_elem(&freed, &k);
	if (fr)
		return bad_free(ctx, &k, LW_BAD_FREE_DOUBLE, fr);
	if (t->flags & LW_TGT_FROM_EXEC)
		return bad_free(ctx, &k, LW_BAD_FREE_INVALID, NULL);
	return 0;
}
