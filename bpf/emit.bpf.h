/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The one tail of every record that carries a user stack. */
#ifndef LW_EMIT_BPF_H
#define LW_EMIT_BPF_H

#include "common.bpf.h"
#include "unwind.bpf.h"

/* lw_emit_with_stack() how: the LW_UNWIND_* flags, plus */
#define LW_EMIT_WAKE	   (1u << 1) /* rare, or racing the process: wake user space now */
#define LW_EMIT_IF_PARTIAL (1u << 2) /* stream only what BPF could not finish */
#define LW_EMIT_SHORT	   (1u << 3) /* a finished stack travels as its frames only */
#define LW_EMIT_NO_CLOCK   (1u << 4) /* no reader wants its time: ts_ns 0, no clock read */
#define LW_EMIT_COARSE	   (1u << 5) /* its time ages it: lw_coarse_ns() serves */
#define LW_UNWIND_FLAGS	   (LW_UNWIND_AT_ENTRY | LW_UNWIND_MAX(0xff))

/* A record's time, as its how asks: a clock read is ~40 ns here, a
 * seventh of a close's cost.
 */
static __always_inline __u64 lw_emit_time(__u32 how)
{
	if (how & LW_EMIT_NO_CLOCK)
		return 0;
	if (how & LW_EMIT_COARSE)
		return lw_coarse_ns();
	return bpf_ktime_get_ns();
}

/* s->buf holds a record of base bytes whose body is filled in and whose
 * last member is its struct lw_stack (LW_STACK_RECORD), walked for tgid with
 * the result partial (an LW_UNWIND_*). Fill the header, append a slice of
 * the user stack at LW_SLICE_OFFSET when BPF could not finish the stack,
 * stream and count the record. Returns 1 when the stack is PARTIAL, 0 when
 * BPF finished it, -1 when the record was lost. With LW_EMIT_IF_PARTIAL and
 * 0 the header is not filled.
 */
static __always_inline int lw_emit_stack_walked(struct lw_scratch *s, __u16 type, __u32 base,
						__u32 tgid, int partial, __u32 how)
{
	struct lw_ev_hdr *hdr = (struct lw_ev_hdr *)s->buf;
	struct lw_stack *st = (struct lw_stack *)(s->buf + base - sizeof(struct lw_stack));
	__u32 size = base, nr;

	/* a finished stack that stays in BPF needs no record: no clock read */
	if (!partial && (how & LW_EMIT_IF_PARTIAL))
		return 0;
	lw_hdr_init_at(hdr, type, base, lw_emit_time(how));
	if (partial == LW_UNWIND_ASK) {
		struct lw_target *t = lw_target_of(tgid);

		lw_emit_vma(LW_EV_CFI_MISS, t ? t->exec_gen : 0,
			    st->ips[(st->nr - 1) & (LW_STACK_MAX - 1)]);
		partial = LW_UNWIND_PARTIAL;
	}
	if (partial) {
		__u32 len = lw_copy_slice(s->buf + LW_SLICE_OFFSET, st->sp, st->slice_len);

		if (len > LW_SLICE_MAX)
			len = LW_SLICE_MAX;
		__sync_fetch_and_add(&lw_stats.slice_bytes, len);
		st->slice_len = len;
		hdr->flags |= LW_F_STACK_PARTIAL;
		size = LW_SLICE_OFFSET + len;
	} else if (how & LW_EMIT_IF_PARTIAL) {
		return 0;
	} else if (how & LW_EMIT_SHORT) {
		nr = st->nr > LW_STACK_MAX ? LW_STACK_MAX : st->nr;
		size = base - sizeof(struct lw_stack) + __builtin_offsetof(struct lw_stack, ips) +
		       nr * sizeof(__u64);
	}
	hdr->size = size;
	if (size > LW_SCRATCH_SIZE)
		return -1;
	if (bpf_ringbuf_output(&events, s->buf, size,
			       (how & LW_EMIT_WAKE) ? BPF_RB_FORCE_WAKEUP : lw_rb_flags(size))) {
		lw_count_drop();
		return -1;
	}
	lw_count_event();
	return partial;
}

/* The same, the stack unwound here from r. */
static __always_inline int lw_emit_with_stack(struct lw_scratch *s, __u16 type, __u32 base,
					      struct lw_regs *r, __u32 how)
{
	struct lw_stack *st = (struct lw_stack *)(s->buf + base - sizeof(struct lw_stack));
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return lw_emit_stack_walked(s, type, base, tgid,
				    lw_unwind(st, tgid, r, how & LW_UNWIND_FLAGS), how);
}

/* The same with a stack user space walks whole from r (at an entry): no
 * unwinder in the program, for what is rare.
 */
static __always_inline int lw_emit_with_user_stack(struct lw_scratch *s, __u16 type, __u32 base,
						   struct lw_regs *r, __u32 how)
{
	lw_stack_for_user((struct lw_stack *)(s->buf + base - sizeof(struct lw_stack)), r);
	return lw_emit_stack_walked(s, type, base, bpf_get_current_pid_tgid() >> 32,
				    LW_UNWIND_PARTIAL, how);
}

#endif
