// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Acquire/release pairs: uprobes on functions users name (pool create,
 * retain, release, destroy). Each attachment carries its rule in the BPF
 * cookie; a handle taken from an argument is reported at entry, one taken
 * from the return value or an out-parameter at return.
 */
#include "emit.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct pair_pending {
	__u64 out_ptr; /* LW_PAIR_H_OUTARG: where the callee stores the handle */
	__u32 depth;   /* recursion into the same rule */
	__u32 __pad;
};

/* per (thread, rule): the entry half of a return-value rule */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pair_pending);
} pair_pending SEC(".maps");

/* Every argument register at a fixed ctx offset: the verifier rejects a
 * computed ctx offset, which a switch on n compiles into.
 */
static __always_inline __u64 arg_n(struct pt_regs *ctx, __u32 n)
{
	__u64 a[6] = {PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx),
		      PT_REGS_PARM4(ctx), PT_REGS_PARM5(ctx), ctx->r9};

	return n < 6 ? a[n] : 0;
}

/* in mem.bpf.c, with preemption held off (see its preempt_off()) */
int lw_pair_emit(struct pt_regs *ctx, __u32 rule, __u64 handle, __u32 how);

SEC("uprobe")
int pair_entry(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 rule = LW_PAIR_COOKIE_RULE(cookie), how = LW_PAIR_COOKIE_HOW(cookie);
	__u64 key = (pid_tgid & 0xffffffff) | ((__u64)rule << 32);
	struct pair_pending *p, np = {};

	if (!lw_is_target(pid_tgid >> 32))
		return 0;
	if (how == LW_PAIR_H_ARG) {
		__u64 handle = arg_n(ctx, LW_PAIR_COOKIE_ARGN(cookie));

		return handle ? lw_pair_emit(ctx, rule, handle, LW_UNWIND_AT_ENTRY) : 0;
	}
	p = bpf_map_lookup_elem(&pair_pending, &key);
	if (p) {
		p->depth++;
		return 0;
	}
	if (how == LW_PAIR_H_OUTARG)
		np.out_ptr = arg_n(ctx, LW_PAIR_COOKIE_ARGN(cookie));
	/* a full map loses this call's return event: count it as dropped */
	if (bpf_map_update_elem(&pair_pending, &key, &np, BPF_ANY))
		lw_count_drop();
	return 0;
}

SEC("uretprobe")
int pair_ret(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 rule = LW_PAIR_COOKIE_RULE(cookie);
	__u64 key = (pid_tgid & 0xffffffff) | ((__u64)rule << 32), handle = 0;
	struct pair_pending *p = bpf_map_lookup_elem(&pair_pending, &key);
	struct pair_pending pd;

	if (!p)
		return 0;
	if (p->depth) {
		p->depth--;
		return 0;
	}
	pd = *p;
	bpf_map_delete_elem(&pair_pending, &key);
	if (LW_PAIR_COOKIE_HOW(cookie) == LW_PAIR_H_OUTARG) {
		if (!pd.out_ptr || bpf_probe_read_user(&handle, sizeof(handle), (void *)pd.out_ptr))
			return 0;
	} else {
		handle = PT_REGS_RC(ctx);
	}
	/* NULL: the create failed, nothing to track */
	return handle ? lw_pair_emit(ctx, rule, handle, 0) : 0;
}
