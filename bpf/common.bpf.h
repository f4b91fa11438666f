/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Maps, globals and helpers every leakwatch BPF source shares. The sources
 * are linked into one object (bpftool gen object); what they share is
 * declared __weak here, so each source sees it and the linker keeps one.
 */
#ifndef LW_COMMON_BPF_H
#define LW_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <leakwatch/events.h>
#include <leakwatch/hash.h>
#include <leakwatch/syscalls.h>

#define LW_MAX_TARGETS 8192

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader */
} events __weak SEC(".maps");

/* tgids under observation */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct lw_target);
} targets __weak SEC(".maps");

struct lw_stats lw_stats __weak = {};

/* The lw_stats counters bumped at every event, per CPU: one shared counter
 * moved its cache line between the CPUs of a server's workers at each (the
 * loader adds the copies into lw_stats). Indexed by enum lw_pcpu_stat.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LW_PCPU_STATS);
	__type(key, __u32);
	__type(value, __u64);
} event_count __weak SEC(".maps");

/* A syscall at its exit, as bpf/sys_exit.bpf.c hands it to each concern:
 * the saved user registers still hold the arguments (syscalls read them,
 * they do not write them back), so no sys_enter program is needed.
 */
struct lw_sys_args {
	__u64 regs;	  /* struct pt_regs * */
	__u64 ip, sp, bp; /* where the stack starts */
	__u64 a[6];
	__s64 ret;
	__u32 nr;
	__u32 cls;	/* its LW_SC_* classes the session follows */
	__u32 exec_gen; /* the caller's image */
	__u32 __pad;
};

/* One per-CPU buffer for building records bigger than the BPF stack:
 * a record, then (when the unwind is PARTIAL) a slice at LW_SLICE_OFFSET.
 */
struct lw_scratch {
	__u8 buf[LW_SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_scratch);
} scratch __weak SEC(".maps");

static __always_inline struct lw_scratch *lw_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline struct lw_target *lw_target_of(__u32 tgid)
{
	return bpf_map_lookup_elem(&targets, &tgid);
}

/* A per-CPU copy of the last target this CPU read, for the hot paths that
 * only read it (every syscall, allocation and free of a target): a hash
 * lookup saved each time the same process comes back, as it does in a
 * loop. Valid while the targets epoch is unchanged: whatever adds, changes
 * or removes a target bumps it after the change (lw_targets_changed, and
 * user space after an insert). The check word catches a copy torn by a
 * preempting writer on this CPU.
 */
struct lw_target_memo {
	__u64 epoch, check;
	__u32 tgid, __pad;
	struct lw_target t;
	/* the last tgid found not to be a target, epoch << 32 | tgid: one
	 * word, so a preempting writer cannot leave a torn pair
	 */
	__u64 not_target;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_target_memo);
} target_memo __weak SEC(".maps");

volatile __u64 lw_targets_epoch __weak = 0;

static __always_inline __u64 lw_memo_check(__u32 tgid, __u64 epoch, const struct lw_target *t)
{
	__u64 a = (__u64)t->flags << 32 | t->parent_tgid,
	      b = (__u64)t->exec_gen << 32 | t->vm_parent;

	return ((((__u64)tgid ^ epoch << 32) * 0x9E3779B97F4A7C15ULL ^ a) * 0xC2B2AE3D27D4EB4FULL ^
		b) |
	       1;
}

/* After a change to the targets map (BPF side). */
static __always_inline void lw_targets_changed(void)
{
	__sync_fetch_and_add(&lw_targets_epoch, 1);
}

/* A copy of tgid's target into *out; false when tgid is not a target. */
static __always_inline bool lw_target_read(__u32 tgid, struct lw_target *out)
{
	__u32 zero = 0;
	struct lw_target_memo *m = bpf_map_lookup_elem(&target_memo, &zero);
	__u64 epoch = lw_targets_epoch; /* before the map is read */
	__u64 not_target = epoch << 32 | tgid;
	struct lw_target *t;

	if (m && m->tgid == tgid && m->epoch == epoch) {
		*out = m->t;
		if (m->check == lw_memo_check(tgid, epoch, out))
			return true;
	}
	/* every other process's syscalls come here too: a bystander in a
	 * loop costs one compare, not a hash lookup per syscall
	 */
	if (m && m->not_target == not_target)
		return false;
	t = lw_target_of(tgid);
	if (!t) {
		if (m)
			m->not_target = not_target;
		return false;
	}
	*out = *t;
	if (m) {
		m->tgid = tgid;
		m->epoch = epoch;
		m->t = *out;
		m->check = lw_memo_check(tgid, epoch, out);
	}
	return true;
}

static __always_inline bool lw_is_target(__u32 tgid)
{
	struct lw_target t;

	return lw_target_read(tgid, &t);
}

static __always_inline void lw_hdr_init_at(struct lw_ev_hdr *h, __u16 type, __u16 size, __u64 ts)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	h->type = type;
	h->size = size;
	h->tgid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->flags = 0;
	h->ts_ns = ts;
}

static __always_inline void lw_hdr_init(struct lw_ev_hdr *h, __u16 type, __u16 size)
{
	lw_hdr_init_at(h, type, size, bpf_ktime_get_ns());
}

/* A clock read costs ~40 ns here, a sixth of an allocation's BPF time.
 * What is aged in seconds (a block, an open fd) takes the time this CPU
 * last read within the current tick: at most a tick (1/HZ) early, never
 * late, so a later exact time minus it is never negative. The time is
 * stored before the tick that says it is current: a program preempting
 * the store sees an older tick and reads the clock itself.
 */
struct lw_coarse_clock {
	__u64 jiffies, ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_coarse_clock);
} coarse_clock __weak SEC(".maps");

static __always_inline __u64 lw_coarse_ns(void)
{
	__u32 zero = 0;
	struct lw_coarse_clock *c = bpf_map_lookup_elem(&coarse_clock, &zero);
	__u64 j = bpf_jiffies64(), ns;

	if (!c)
		return bpf_ktime_get_ns();
	if (c->jiffies == j)
		return c->ns;
	ns = bpf_ktime_get_ns();
	c->ns = ns;
	asm volatile("" ::: "memory");
	c->jiffies = j;
	return ns;
}

/* Waking the consumer for every record costs the traced thread an irq_work
 * (a self-IPI) per syscall. Each CPU wakes it once per batch's worth of
 * bytes it wrote: above that the consumer is awake and draining. The count
 * is this CPU's own, not the ring's unread bytes (bpf_ringbuf_query): those
 * live on the cache line the consumer writes as it drains, a miss per
 * record. The session also polls on a short timeout, so nothing waits long.
 */
#define LW_WAKEUP_BYTES (256 << 10)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unwoken_bytes __weak SEC(".maps");

/* The flags for a record of size bytes about to be streamed. A preempting
 * program may lose an update: that only moves a wake-up.
 */
static __always_inline __u64 lw_rb_flags(__u64 size)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&unwoken_bytes, &zero);

	if (!n)
		return BPF_RB_FORCE_WAKEUP;
	*n += size;
	if (*n < LW_WAKEUP_BYTES)
		return BPF_RB_NO_WAKEUP;
	*n = 0;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void lw_count_pcpu(__u32 stat)
{
	__u64 *n = bpf_map_lookup_elem(&event_count, &stat);

	/* atomic: a preempting program on this CPU may count too */
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void lw_count_event(void)
{
	lw_count_pcpu(LW_PCPU_EVENTS);
}

static __always_inline void lw_count_drop(void)
{
	__sync_fetch_and_add(&lw_stats.dropped, 1);
}

#endif
