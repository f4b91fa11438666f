// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Process tracking: follows fork/exec/exit of targets, keeps the tgid map. */
#include "emit.bpf.h"

const volatile bool follow_children = true;

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* tgids whose uprobes user space has installed: an exec after that is seen
 * whole; one before it (a child that exec'd while user space was still
 * reacting to its fork) may have allocated unseen
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} probed SEC(".maps");

/* bpf/mount.bpf.c: reports a child cloned into a new mount namespace */
int mount_fork(__u64 parent_task, __u64 child_task, __u32 child_tgid);

/* sched_process_fork(struct task_struct *parent, struct task_struct *child) */
SEC("raw_tracepoint/sched_process_fork")
int proc_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct lw_target t = {.parent_tgid = ptgid}, *pt;
	struct lw_ev_proc_fork *ev;

	if (ptgid == ctgid || !follow_children || !(pt = lw_target_of(ptgid)))
		return 0; /* a thread, or not ours */
	/* vfork (CLONE_VM): what it allocates before its exec is in the
	 * parent's heap, and the parent frees it
	 */
	if (BPF_CORE_READ(child, mm) == BPF_CORE_READ(parent, mm))
		t.vm_parent = pt->vm_parent ? pt->vm_parent : ptgid;
	if (bpf_map_update_elem(&targets, &ctgid, &t, BPF_ANY)) {
		__sync_fetch_and_add(&lw_stats.target_full, 1);
		return 0;
	}
	lw_targets_changed();
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
	mount_fork((__u64)parent, (__u64)child, ctgid);
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
	t->exec_gen++;	  /* rules of the old image must stop matching */
	t->vm_parent = 0; /* a heap of its own now */
	if (bpf_map_lookup_elem(&probed, &tgid))
		t->flags |= LW_TGT_FROM_EXEC; /* every block of the new image is seen */
	lw_targets_changed();
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
	/* threads dying together may all see live == 0: the one that takes
	 * the process out of the map reports
	 */
	if (bpf_map_delete_elem(&targets, &tgid))
		return 0;
	lw_targets_changed();
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
	bpf_map_delete_elem(&probed, &tgid);
	return 0;
}

#define PROT_EXEC_ 4

/* Executable file mappings as they are made (ld.so maps every library with
 * mmap), so stacks of a process that is already gone still symbolize and
 * user space can unwind through modules BPF has not asked about. At
 * sys_exit the saved registers still hold the arguments. Called by
 * bpf/sys_exit.bpf.c for a target's mmap.
 */
__noinline int proc_sys_exit(struct lw_sys_args *sa)
{
	struct lw_target *t;

	if (!sa || sa->nr != LW_NR_mmap || sa->ret < 0)
		return 0;
	if (!(sa->a[2] & PROT_EXEC_) || (int)sa->a[4] < 0)
		return 0;
	t = lw_target_of(bpf_get_current_pid_tgid() >> 32);
	if (t)
		lw_emit_vma(LW_EV_MAPPING, t->exec_gen, sa->ret);
	return 0;
}
