/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Opens, sizes, loads and attaches the one BPF object (every concern's
 * programs, linked into one skeleton); programs a session does not need are
 * not loaded.
 */
#ifndef LW_LOAD_BPF_H
#define LW_LOAD_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <leakwatch/events.h>

struct lw_loader;

struct lw_load_opts {
	bool follow_children;
	bool verbose; /* libbpf's own messages */
	size_t ringbuf_bytes;
	bool fd; /* detectors */
	bool mem;
	uint32_t mem_sample_every;
	uint64_t mem_min_size, mem_max_size;
	uint32_t mem_max_blocks;
	bool mem_no_stacks;
	bool pair;	 /* acquire/release pair rules will be attached */
	bool last_touch; /* record each fd's last use */
	bool no_mount;	 /* leave the mount-namespace syscalls alone */
};

/* Environment checks before anything is loaded: root/CAP_BPF, BTF, tracefs
 * where needed. 0 or -errno with a one-line reason in err.
 */
int lw_preflight(char *err, size_t errlen);

int lw_loader__open(struct lw_loader **out, const struct lw_load_opts *opts, char *err,
		    size_t errlen);
int lw_loader__attach(struct lw_loader *l, char *err, size_t errlen);
/* Detach every program (the target is left exactly as it was). */
void lw_loader__detach(struct lw_loader *l);
void lw_loader__free(struct lw_loader *l);

int lw_loader__add_target(struct lw_loader *l, uint32_t tgid, uint32_t flags);
int lw_loader__ringbuf_fd(struct lw_loader *l);
int lw_loader__set_rule(struct lw_loader *l, const struct lw_cfi_key *key,
			const struct lw_cfi_rule *rule);
int lw_loader__del_rule(struct lw_loader *l, const struct lw_cfi_key *key);
void lw_loader__rules_removed(struct lw_loader *l);
/* Add one of the mem programs ("mem_malloc", "mem_ret", ...) as a uprobe
 * (or uretprobe) at a file offset of path, installed in each process
 * watched (lw_loader__watch); how: an entry point's enum lw_mem_entry, 0
 * for free and mem_ret. With uprobe sessions an entry point is mem_alloc
 * with how in its cookie, and mem_ret is not needed. 0 or -errno with err
 * set.
 */
int lw_loader__attach_uprobe(struct lw_loader *l, const char *prog, const char *path,
			     uint64_t offset, bool retprobe, uint32_t how, char *err,
			     size_t errlen);
/* The same for the pair programs ("pair_entry", "pair_ret"), with the rule
 * in the BPF cookie (LW_PAIR_COOKIE).
 */
int lw_loader__attach_pair(struct lw_loader *l, const char *prog, const char *path, uint64_t offset,
			   uint64_t cookie, char *err, size_t errlen);

/* Install the uprobes added so far in tgid (before it runs code they should
 * see); idempotent. 0 or -errno with err set.
 */
int lw_loader__watch(struct lw_loader *l, uint32_t tgid, char *err, size_t errlen);
/* tgid ended: its uprobes go, in the background. */
void lw_loader__unwatch(struct lw_loader *l, uint32_t tgid);

/* Read the mem maps in batches: every stack (none when on_stack is NULL),
 * then every live block.
 */
int lw_loader__read_mem(struct lw_loader *l,
			int (*on_stack)(void *ctx, uint64_t id, const struct lw_stack_ips *ips),
			int (*on_block)(void *ctx, const struct lw_alloc_key *k,
					const struct lw_alloc_val *v),
			void *ctx);

/* Per-stack live totals kept in the kernel (for --interval), with each
 * stack's ips when known.
 */
int lw_loader__read_mem_totals(struct lw_loader *l,
			       int (*cb)(void *ctx, uint64_t id, const struct lw_mem_total *t,
					 const struct lw_stack_ips *ips),
			       void *ctx);

/* --last-touch: the last use of (tgid, fd), 0 or -ENOENT. */
int lw_loader__touch(struct lw_loader *l, uint32_t tgid, int fd, struct lw_touch *out);

/* The BPF counters. */
void lw_loader__stats(struct lw_loader *l, struct lw_stats *out);

#endif
