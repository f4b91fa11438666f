/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Memory correlator: live blocks (read from BPF maps at the end, plus the
 * few user space tracks itself) grouped into mem-leak findings by stack, and
 * bad frees into mem-double-free / mem-invalid-free. Pure: no libbpf.
 */
#ifndef LW_CORR_MEM_H
#define LW_CORR_MEM_H

#include <stdbool.h>
#include "base/proc_table.h"
#include "report/finding.h"

struct corr_mem_opts {
	bool attach_mode; /* only processes alive at the end; blocks older than min_age */
	uint64_t min_age_ns;
	uint32_t sample_every; /* counts and bytes are scaled back up */
	bool show_reachable;   /* mem-reachable findings, not only their count */
	/* the session's process table: comm and the current exec generation
	 * (NULL: generation 0, no comm)
	 */
	lw_proc_lookup_fn proc;
	void *proc_ctx;
};

struct corr_mem;

struct corr_mem *corr_mem__new(const struct corr_mem_opts *o);
void corr_mem__free(struct corr_mem *c);

/* The process exited (its blocks stop aging; attach mode: freed by exit).
 * An exec needs no call: the process table's exec generation tells the
 * old image's blocks apart.
 */
void corr_mem__exit(struct corr_mem *c, uint32_t tgid, uint64_t ts_ns);

/* Streamed events (stacks already complete). */
int corr_mem__user_alloc(struct corr_mem *c, const struct lw_ev_mem_alloc *ev,
			 const struct lw_ips *stack);
void corr_mem__user_free(struct corr_mem *c, const struct lw_ev_mem_free_user *ev);
int corr_mem__bad_free(struct corr_mem *c, const struct lw_ev_mem_bad_free *ev,
		       const struct lw_ips *stack);

/* Anonymous mappings, a class of their own: tracked as page ranges per
 * (tgid, current exec_gen); munmap removes or trims what it overlaps.
 * The session drops the C library's own mappings before calling these.
 */
int corr_mem__mmap(struct corr_mem *c, const struct lw_ev_mmap_anon *ev,
		   const struct lw_ips *stack);
int corr_mem__munmap(struct corr_mem *c, const struct lw_ev_munmap *ev);

/* From the BPF maps at report time. */
int corr_mem__stack(struct corr_mem *c, uint64_t stack_id, const struct lw_stack_ips *ips);
int corr_mem__live(struct corr_mem *c, const struct lw_alloc_key *k, const struct lw_alloc_val *v);
/* A block user space holds (LW_ALLOC_USER) is still in the block table. After
 * a whole read of the map, the sweep drops the held blocks of (tgid, gen),
 * or of every process, that the read did not see: they were freed, and the
 * record saying so was lost to a full ring. Returns how many; _swept, all.
 */
void corr_mem__user_seen(struct corr_mem *c, const struct lw_alloc_key *k);
uint64_t corr_mem__user_sweep(struct corr_mem *c, uint32_t tgid, uint32_t gen, bool all);
uint64_t corr_mem__swept(const struct corr_mem *c);

/* Reachability (a scan of the frozen process, mem/reach.h): the blocks of
 * (tgid, gen) user space tracks itself, streamed and mapped ones, for the
 * scan's list; then each block's class, and that the process was scanned.
 * Blocks of a process never scanned keep today's rule: live means lost.
 */
int corr_mem__own_blocks(const struct corr_mem *c, uint32_t tgid, uint32_t gen,
			 int (*cb)(void *ctx, uint64_t addr, uint64_t size), void *ctx);
int corr_mem__set_class(struct corr_mem *c, uint32_t tgid, uint32_t gen, uint64_t addr,
			unsigned cls, uint64_t indirect_bytes, uint64_t indirect_count);
void corr_mem__scanned(struct corr_mem *c, uint32_t tgid, uint32_t gen);
/* Each live block user space holds (its stack BPF could not finish), for
 * --interval, whose totals from the block table leave them out: cb's
 * nonzero return stops the walk and is returned.
 */
int corr_mem__each_user_block(const struct corr_mem *c,
			      int (*cb)(void *ctx, const struct lw_ips *stack, uint64_t size),
			      void *ctx);
/* Still-reachable blocks and bytes the last finish counted. */
void corr_mem__reachable(const struct corr_mem *c, uint64_t *blocks, uint64_t *bytes);

/* Findings: mem-leak groups (pid, stack) with bytes/count/oldest age, then
 * the bad frees. Appends to out.
 */
int corr_mem__finish(struct corr_mem *c, uint64_t now_ns, struct lw_findings *out);

#endif
