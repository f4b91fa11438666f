/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The counters BPF keeps in .bss (struct lw_stats), written once: the struct,
 * the JSON and text reports and the "complete" decision are generated from
 * this table (src/report/stats.c).
 *
 * X(field, JSON name, text (one %llu), is_loss): a loss means findings may be
 * missing, so the report is not complete while it is non-zero.
 */
#ifndef LEAKWATCH_STATS_H
#define LEAKWATCH_STATS_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#define LW_STATS(X)                                                                                \
	X(events, "events", "%llu events", 0)                                                      \
	X(dropped, "dropped", "%llu events dropped", 1)                                            \
	X(target_full, "target_full", "target map full %llux (children untraced)", 1)              \
	X(cfi_full, "cfi_full", "unwind map full %llux", 1)                                        \
	X(stack_partial, "stack_partial", "%llu stacks finished in user space", 0)                 \
	X(slice_bytes, "slice_bytes", "%llu bytes of user stack streamed for them", 0)             \
	X(stack_memo, "stack_memo", "%llu stacks from the stack memo", 0)                          \
	X(alloc_full, "alloc_full", "block table full %llux (blocks untracked: --max-blocks)", 1)  \
	X(stackmap_full, "stackmap_full", "stacks map full %llux (allocation stacks lost)", 1)     \
	X(mem_pending_full, "mem_pending_full", "pending map full %llux (allocator calls missed)", \
	  1)

/* The counters BPF bumps per CPU (its event_count map), by index: the
 * loader adds each CPU's copy into the struct lw_stats member.
 */
enum lw_pcpu_stat {
	LW_PCPU_EVENTS,	    /* events */
	LW_PCPU_STACK_MEMO, /* stack_memo */
	LW_PCPU_STATS,
};

/* Counters in .bss, read at report time: every failed reserve or full map
 * bumps one.
 */
struct lw_stats {
#define LW_STATS_FIELD_(field, json, text, loss) __u64 field;
	LW_STATS(LW_STATS_FIELD_)
#undef LW_STATS_FIELD_
};

#endif /* LEAKWATCH_STATS_H */
