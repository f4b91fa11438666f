// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The one program on sys_exit. Every syscall of every process on the
 * machine runs it, so it does the least it can before it knows the syscall
 * matters: one direct load of the number (a BTF tracepoint reads the saved
 * registers without a helper call), a switch, and only then the target
 * lookup. Each concern's work is a function of its own source, called here.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* the LW_SC_* classes the session follows, set by the loader */
const volatile __u32 sys_classes = 0;
const volatile bool mem_maps = false; /* the mem detector wants anonymous mmap/munmap */

int proc_sys_exit(struct lw_sys_args *sa);
int mem_sys_exit(struct lw_sys_args *sa);
int fd_sys_exit(struct lw_sys_args *sa);
int mount_sys_exit(struct lw_sys_args *sa);

/* The arguments, off the BPF stack: a tracepoint program has no private
 * stack on every kernel, and the deepest path below (a received fd's stack)
 * needs all 512 bytes of the shared one. Syscall tracepoints run their
 * programs with preemption off, so one per CPU is enough.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_sys_args);
} sys_args SEC(".maps");

SEC("tp_btf/sys_exit")
int BPF_PROG(lw_sys_exit, struct pt_regs *regs, long ret)
{
	struct lw_sys_args *sa;
	struct lw_target t;
	__u32 nr = regs->orig_ax;
	__u32 cls = lw_syscall_class(nr) & sys_classes;
	__u32 zero = 0;

	if (!cls || !lw_target_read(bpf_get_current_pid_tgid() >> 32, &t))
		return 0;
	sa = bpf_map_lookup_elem(&sys_args, &zero);
	if (!sa)
		return 0;
	sa->exec_gen = t.exec_gen;
	sa->regs = (__u64)regs;
	sa->ip = regs->ip;
	sa->sp = regs->sp;
	sa->bp = regs->bp;
	sa->a[0] = regs->di;
	sa->a[1] = regs->si;
	sa->a[2] = regs->dx;
	sa->a[3] = regs->r10;
	sa->a[4] = regs->r8;
	sa->a[5] = regs->r9;
	sa->ret = ret;
	sa->nr = nr;
	sa->cls = cls;
	/* a new executable mapping first: what follows may unwind through it */
	if (cls & LW_SC_MAP) {
		proc_sys_exit(sa);
		if (mem_maps)
			mem_sys_exit(sa);
	}
	if (cls & (LW_SC_FD | LW_SC_TOUCH))
		fd_sys_exit(sa);
	if (cls & LW_SC_MOUNT)
		mount_sys_exit(sa);
	return 0;
}
