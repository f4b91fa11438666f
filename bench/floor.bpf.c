// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The floor for `make bench`: programs that do nothing, for the hooks
 * leakwatch uses. What a hook costs with these attached is the least any
 * BPF tool there can cost; leakwatch's added cost is reported as a multiple.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("raw_tracepoint/sys_exit")
int floor_sys_exit(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int floor_fork(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sched_process_exec")
int floor_exec(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int floor_exit(void *ctx)
{
	return 0;
}

SEC("uprobe")
int floor_uprobe(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_uretprobe(void *ctx)
{
	return 0;
}
