// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Process tracking: follows fork/exec/exit of targets, keeps the tgid map. */
#include "common.bpf.h"
#include "unwind.bpf.h"

const volatile bool follow_children = true;
const volatile bool track_anon = false; /* mem detector: anonymous mmap/munmap */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CLONE_NEWNS_ 0x00020000

static __always_inline __u32 mnt_ns_of(struct task_struct *task)
{
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

/* A child cloned into a new mount namespace (clone/clone3 CLONE_NEWNS):
 * reported as a mount-namespace event of the child, without a stack.
 */
static __always_inline void emit_clone_ns(__u32 child, __u32 ns)
{
	struct lw_ev_mount *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		lw_count_drop();
		return;
	}
	lw_hdr_init(&ev->hdr, LW_EV_MOUNT, sizeof(*ev));
	ev->hdr.tgid = ev->hdr.tid = child;
	ev->nr = 56; /* clone */
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
}

/* sched_process_fork(struct task_struct *parent, struct task_struct *child) */
SEC("raw_tracepoint/sched_process_fork")
int proc_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct lw_target t = {.parent_tgid = ptgid};
	struct lw_ev_proc_fork *ev;

	if (ptgid == ctgid || !follow_children || !lw_is_target(ptgid))
		return 0; /* a thread, or not ours */
	if (bpf_map_update_elem(&targets, &ctgid, &t, BPF_ANY)) {
		__sync_fetch_and_add(&lw_stats.target_full, 1);
		return 0;
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		lw_count_drop();
		return 0;
	}
	lw_hdr_init(&ev->hdr, LW_EV_PROC_FORK, sizeof(*ev));
	ev->hdr.tgid = ptgid;
	ev->child_tgid = ctgid;
	ev->fork_flags =
	    BPF_CORE_READ(parent, files) == BPF_CORE_READ(child, files) ? LW_FORK_SHARED_FILES : 0;
	BPF_CORE_READ_STR_INTO(&ev->comm, child, comm);
	lw_count_event();
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP); /* rare, and ends waits */
	if (mnt_ns_of(child) != mnt_ns_of(parent))
		emit_clone_ns(ctgid, mnt_ns_of(child));
	return 0;
}

#define AT_BASE_ 7 /* the interpreter's load address in the aux vector */

static __always_inline __u64 exec_interp_base(struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	/* saved_auxv is an array inside mm_struct: take its address */
	unsigned long *auxv = __builtin_preserve_access_index(&mm->saved_auxv[0]);
	__u64 pair[2];

	for (int i = 0; i < 24; i++) {
		if (bpf_probe_read_kernel(pair, sizeof(pair), auxv + 2 * i) || !pair[0])
			break;
		if (pair[0] == AT_BASE_)
			return pair[1];
	}
	return 0;
}

/* sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
SEC("raw_tracepoint/sched_process_exec")
int proc_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct lw_target *t = lw_target_of(tgid);
	struct lw_ev_proc_exec *ev;

	if (!t)
		return 0;
	t->exec_gen++;		      /* rules of the old image must stop matching */
	t->flags |= LW_TGT_FROM_EXEC; /* every block of the new image is seen */
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		lw_count_drop();
		return 0;
	}
	lw_hdr_init(&ev->hdr, LW_EV_PROC_EXEC, sizeof(*ev));
	BPF_CORE_READ_STR_INTO(&ev->comm, task, comm);
	bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename),
				  BPF_CORE_READ(bprm, filename));
	lw_count_event();
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP); /* rare, and ends waits */
	/* The kernel mapped the program and its interpreter itself (no mmap
	 * syscall to see): name both now, while nothing contends the mm.
	 */
	lw_emit_vma(LW_EV_MAPPING, t->exec_gen, BPF_CORE_READ(task, mm, start_code));
	lw_emit_vma(LW_EV_MAPPING, t->exec_gen, exec_interp_base(task));
	return 0;
}

/* sched_process_exit(struct task_struct *p): runs before exit_files(), so the
 * fd table is still intact; only the last thread of a group reports.
 */
SEC("raw_tracepoint/sched_process_exit")
int proc_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct lw_ev_proc_exit *ev;

	if (!lw_is_target(tgid) || BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (ev) {
		lw_hdr_init(&ev->hdr, LW_EV_PROC_EXIT, sizeof(*ev));
		ev->exit_code = BPF_CORE_READ(task, exit_code);
		ev->__pad = 0;
		BPF_CORE_READ_STR_INTO(&ev->comm, task, comm);
		lw_count_event();
		bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP); /* rare, and ends waits */
	} else {
		lw_count_drop();
	}
	bpf_map_delete_elem(&targets, &tgid);
	return 0;
}

#define NR_mmap		 9
#define NR_munmap	 11
#define PROT_EXEC_	 4
#define MAP_ANONYMOUS_	 0x20
#define NR_pivot_root	 155
#define NR_chroot	 161
#define NR_mount	 165
#define NR_umount2	 166
#define NR_unshare	 272
#define NR_setns	 308
#define NR_open_tree	 428
#define NR_move_mount	 429
#define NR_fsmount	 432
#define NR_mount_setattr 442

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[LW_SCRATCH_SIZE]);
} proc_scratch SEC(".maps");

/* Did the mount just made by this task join a shared peer group? Read now:
 * a propagated umount can remove it before user space looks. The newest
 * mount is the rightmost in the namespace's tree, keyed by a monotonic id
 * (the rb-tree replaced a list in 6.8; older kernels: user space checks
 * mountinfo instead).
 */
static __always_inline bool newest_mount_shared(struct task_struct *task)
{
	struct mnt_namespace *ns = BPF_CORE_READ(task, nsproxy, mnt_ns);
	struct rb_node *n, *r;
	struct mount *m;

	if (!bpf_core_field_exists(ns->mounts))
		return false;
	n = BPF_CORE_READ(ns, mounts.rb_node);
	for (int i = 0; i < 64 && n; i++) {
		r = BPF_CORE_READ(n, rb_right);
		if (!r)
			break;
		n = r;
	}
	if (!n)
		return false;
	m = container_of(n, struct mount, mnt_node);
	/* a peer group id is what "shared" means on every kernel (6.15 moved
	 * the flag itself from mnt_flags to mnt_t_flags)
	 */
	return BPF_CORE_READ(m, mnt_group_id) != 0;
}

/* One mount-namespace syscall, with its paths as passed and its stack. */
__noinline int emit_mount(__u64 regs_addr, __u32 nr, __s32 ret)
{
	struct pt_regs *regs = (struct pt_regs *)regs_addr;
	__u64 a0 = BPF_CORE_READ(regs, di), a1 = BPF_CORE_READ(regs, si);
	__u64 a2 = BPF_CORE_READ(regs, dx), a3 = BPF_CORE_READ(regs, r10);
	__u32 zero = 0, size = sizeof(struct lw_ev_mount);
	__u64 src = 0, tgt = 0, fstype = 0, flags = 0;
	struct lw_ev_mount *ev;
	struct lw_regs r;
	__u8 *buf;

	switch (nr) {
	case NR_mount:
		src = a0, tgt = a1, fstype = a2, flags = a3;
		break;
	case NR_umount2:
		tgt = a0, flags = a1;
		break;
	case NR_pivot_root:
		src = a0, tgt = a1;
		break;
	case NR_chroot:
		tgt = a0;
		break;
	case NR_unshare:
		if (!(a0 & CLONE_NEWNS_))
			return 0;
		flags = a0;
		break;
	case NR_setns:
		flags = a1;
		break;
	case NR_move_mount:
		src = a1, tgt = a3, flags = BPF_CORE_READ(regs, r8);
		break;
	case NR_open_tree:
	case NR_mount_setattr:
		tgt = a1, flags = a2;
		break;
	case NR_fsmount:
		flags = a1;
		break;
	default:
		return 0;
	}
	buf = bpf_map_lookup_elem(&proc_scratch, &zero);
	if (!buf)
		return 0;
	ev = (struct lw_ev_mount *)buf;
	lw_hdr_init(&ev->hdr, LW_EV_MOUNT, sizeof(*ev));
	ev->nr = nr;
	ev->ret = ret;
	ev->arg_flags = flags;
	ev->mnt_ns = mnt_ns_of((struct task_struct *)bpf_get_current_task());
	ev->flags = 0;
	if (ret == 0 && (nr == NR_mount || nr == NR_move_mount) &&
	    newest_mount_shared((struct task_struct *)bpf_get_current_task()))
		ev->flags |= LW_MNT_PROPAGATES;
	ev->source[0] = ev->target[0] = ev->fstype[0] = 0;
	if (src)
		bpf_probe_read_user_str(ev->source, sizeof(ev->source), (void *)src);
	if (tgt)
		bpf_probe_read_user_str(ev->target, sizeof(ev->target), (void *)tgt);
	if (fstype)
		bpf_probe_read_user_str(ev->fstype, sizeof(ev->fstype), (void *)fstype);
	lw_regs_from_kernel(&r, regs);
	if (lw_unwind(&ev->stack, ev->hdr.tgid, &r, 0)) {
		__u32 len = lw_copy_slice(buf + LW_SLICE_OFFSET, ev->stack.sp);

		if (len > LW_SLICE_MAX)
			len = LW_SLICE_MAX;
		ev->stack.slice_len = len;
		ev->hdr.flags |= LW_F_STACK_PARTIAL;
		size = LW_SLICE_OFFSET + len;
	}
	ev->hdr.size = size;
	if (size > LW_SCRATCH_SIZE)
		return 0;
	/* rare, and races are about timing: wake user space now */
	if (bpf_ringbuf_output(&events, buf, size, BPF_RB_FORCE_WAKEUP))
		lw_count_drop();
	else
		lw_count_event();
	return 0;
}

/* A successful anonymous mmap of a target, with the caller's full stack. */
__noinline int emit_mmap_anon(__u64 regs_addr, __u64 addr)
{
	struct pt_regs *regs = (struct pt_regs *)regs_addr;
	__u32 zero = 0, size = sizeof(struct lw_ev_mmap_anon);
	struct lw_ev_mmap_anon *ev;
	struct lw_regs r;
	__u8 *buf;

	buf = bpf_map_lookup_elem(&proc_scratch, &zero);
	if (!buf)
		return 0;
	ev = (struct lw_ev_mmap_anon *)buf;
	lw_hdr_init(&ev->hdr, LW_EV_MMAP_ANON, sizeof(*ev));
	ev->addr = addr;
	ev->len = BPF_CORE_READ(regs, si);
	ev->prot = BPF_CORE_READ(regs, dx);
	ev->flags = BPF_CORE_READ(regs, r10);
	lw_regs_from_kernel(&r, regs);
	if (lw_unwind(&ev->stack, ev->hdr.tgid, &r, 0)) {
		__u32 len = lw_copy_slice(buf + LW_SLICE_OFFSET, ev->stack.sp);

		if (len > LW_SLICE_MAX)
			len = LW_SLICE_MAX;
		ev->stack.slice_len = len;
		ev->hdr.flags |= LW_F_STACK_PARTIAL;
		size = LW_SLICE_OFFSET + len;
	}
	ev->hdr.size = size;
	if (size > LW_SCRATCH_SIZE)
		return 0;
	if (bpf_ringbuf_output(&events, buf, size, lw_rb_flags()))
		lw_count_drop();
	else
		lw_count_event();
	return 0;
}

static __always_inline void emit_munmap(struct pt_regs *regs)
{
	struct lw_ev_munmap *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		lw_count_drop();
		return;
	}
	lw_hdr_init(&ev->hdr, LW_EV_MUNMAP, sizeof(*ev));
	ev->addr = BPF_CORE_READ(regs, di);
	ev->len = BPF_CORE_READ(regs, si);
	lw_count_event();
	bpf_ringbuf_submit(ev, lw_rb_flags());
}

/* Executable file mappings as they are made (ld.so maps every library with
 * mmap), so stacks of a process that is already gone still symbolize and
 * user space can unwind through modules BPF has not asked about. At
 * sys_exit the saved registers still hold the arguments.
 */
SEC("raw_tracepoint/sys_exit")
int proc_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = ctx->args[1];
	struct lw_target *t;

	__u32 nr = BPF_CORE_READ(regs, orig_ax);

	switch (nr) {
	case NR_pivot_root:
	case NR_chroot:
	case NR_mount:
	case NR_umount2:
	case NR_unshare:
	case NR_setns:
	case NR_open_tree:
	case NR_move_mount:
	case NR_fsmount:
	case NR_mount_setattr:
		if (lw_is_target(bpf_get_current_pid_tgid() >> 32))
			emit_mount((__u64)regs, nr, ret);
		return 0;
	}
	if (track_anon && nr == NR_munmap) {
		if (ret == 0 && lw_is_target(bpf_get_current_pid_tgid() >> 32))
			emit_munmap(regs);
		return 0;
	}
	if (nr != NR_mmap || ret < 0)
		return 0;
	if (track_anon && (BPF_CORE_READ(regs, r10) & MAP_ANONYMOUS_) &&
	    (int)BPF_CORE_READ(regs, r8) == -1) {
		if (lw_is_target(bpf_get_current_pid_tgid() >> 32))
			emit_mmap_anon((__u64)regs, ret);
		return 0;
	}
	if (!(BPF_CORE_READ(regs, dx) & PROT_EXEC_) || (int)BPF_CORE_READ(regs, r8) < 0)
		return 0;
	t = lw_target_of(bpf_get_current_pid_tgid() >> 32);
	if (t)
		lw_emit_vma(LW_EV_MAPPING, t->exec_gen, ret);
	return 0;
}
