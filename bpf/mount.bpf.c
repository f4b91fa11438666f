// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Mount-namespace syscalls of targets (mount, umount2, move_mount, unshare,
 * setns, ...), seen at sys_exit with their paths as passed and their stack,
 * and children cloned into a new mount namespace.
 */
#include "emit.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CLONE_NEWNS_ 0x00020000

static __always_inline __u32 mnt_ns_of(struct task_struct *task)
{
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

/* Called by proc_fork for a traced child: when it was cloned into a new
 * mount namespace (clone/clone3 CLONE_NEWNS), report that as a mount event
 * of the child, without a stack, right after the fork record.
 */
__noinline int mount_fork(__u64 parent_task, __u64 child_task, __u32 child)
{
	__u32 ns = mnt_ns_of((struct task_struct *)child_task);
	struct lw_ev_mount *ev;

	if (ns == mnt_ns_of((struct task_struct *)parent_task))
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		lw_count_drop();
		return 0;
	}
	lw_hdr_init(&ev->hdr, LW_EV_MOUNT, sizeof(*ev));
	ev->hdr.tgid = ev->hdr.tid = child;
	ev->nr = LW_NR_clone;
	ev->ret = 0;
	ev->arg_flags = CLONE_NEWNS_;
	ev->mnt_ns = ns;
	ev->flags = 0;
	ev->source[0] = ev->target[0] = ev->fstype[0] = 0;
	ev->stack.nr = 0;
	ev->stack.flags = 0;
	ev->stack.slice_len = 0;
	lw_count_event();
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* How the mount just made by this task propagates (LW_MNT_PROPAGATES,
 * LW_MNT_ISOLATED). Read now: a propagated umount can remove it, and the
 * process may be gone, before user space looks. The newest mount is the
 * rightmost in the namespace's tree, keyed by a monotonic id (the rb-tree
 * replaced a list in 6.8; older kernels: 0, user space checks mountinfo
 * for PROPAGATES instead).
 */
static __always_inline __u32 newest_mount_flags(struct task_struct *task)
{
	struct mnt_namespace *ns = BPF_CORE_READ(task, nsproxy, mnt_ns);
	struct rb_node *n, *r;
	struct mount *m, *parent;
	__u32 flags = 0;

	if (!bpf_core_field_exists(ns->mounts))
		return 0;
	n = BPF_CORE_READ(ns, mounts.rb_node);
	for (int i = 0; i < 64 && n; i++) {
		r = BPF_CORE_READ(n, rb_right);
		if (!r)
			break;
		n = r;
	}
	if (!n)
		return 0;
	m = container_of(n, struct mount, mnt_node);
	/* a peer group id is what "shared" means on every kernel (6.15 moved
	 * the flag itself from mnt_flags to mnt_t_flags)
	 */
	if (BPF_CORE_READ(m, mnt_group_id))
		flags |= LW_MNT_PROPAGATES;
	/* where it sits: private there (no peers, no master) shares nothing */
	parent = BPF_CORE_READ(m, mnt_parent);
	if (parent && parent != m && !BPF_CORE_READ(parent, mnt_group_id) &&
	    !BPF_CORE_READ(parent, mnt_master))
		flags |= LW_MNT_ISOLATED;
	return flags;
}

/* One mount-namespace syscall of a target, with its paths as passed and its
 * stack (called by bpf/sys_exit.bpf.c).
 */
__noinline int mount_sys_exit(struct lw_sys_args *sa)
{
	__u64 a0, a1, a2, a3;
	__u64 src = 0, tgt = 0, fstype = 0, flags = 0;
	struct lw_ev_mount *ev;
	struct lw_scratch *s;
	struct lw_regs r;
	__u32 nr;
	__s32 ret;

	if (!sa)
		return 0;
	nr = sa->nr;
	ret = sa->ret;
	a0 = sa->a[0], a1 = sa->a[1], a2 = sa->a[2], a3 = sa->a[3];
	switch (nr) {
	case LW_NR_mount:
		src = a0, tgt = a1, fstype = a2, flags = a3;
		break;
	case LW_NR_umount2:
		tgt = a0, flags = a1;
		break;
	case LW_NR_pivot_root:
		src = a0, tgt = a1;
		break;
	case LW_NR_chroot:
		tgt = a0;
		break;
	case LW_NR_unshare:
		if (!(a0 & CLONE_NEWNS_))
			return 0;
		flags = a0;
		break;
	case LW_NR_setns:
		flags = a1;
		break;
	case LW_NR_move_mount:
		src = a1, tgt = a3, flags = sa->a[4];
		break;
	case LW_NR_open_tree:
	case LW_NR_mount_setattr:
		tgt = a1, flags = a2;
		break;
	case LW_NR_fsmount:
		flags = a1;
		break;
	default:
		return 0;
	}
	s = lw_scratch_get();
	if (!s)
		return 0;
	ev = (struct lw_ev_mount *)s->buf;
	ev->nr = nr;
	ev->ret = ret;
	ev->arg_flags = flags;
	ev->mnt_ns = mnt_ns_of((struct task_struct *)bpf_get_current_task());
	ev->flags = 0;
	if (ret == 0 && (nr == LW_NR_mount || nr == LW_NR_move_mount))
		ev->flags = newest_mount_flags((struct task_struct *)bpf_get_current_task());
	ev->source[0] = ev->target[0] = ev->fstype[0] = 0;
	if (src)
		bpf_probe_read_user_str(ev->source, sizeof(ev->source), (void *)src);
	if (tgt)
		bpf_probe_read_user_str(ev->target, sizeof(ev->target), (void *)tgt);
	if (fstype)
		bpf_probe_read_user_str(ev->fstype, sizeof(ev->fstype), (void *)fstype);
	lw_regs_from_sys(&r, sa);
	/* rare, and races are about timing: wake user space now */
	lw_emit_with_stack(s, LW_EV_MOUNT, sizeof(*ev), &r, LW_EMIT_WAKE);
	return 0;
}
