/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reachability of heap blocks, LeakSanitizer/memcheck style, from outside the
 * process: a conservative scan of 8-byte-aligned words from the roots (the
 * writable memory that is not heap, thread stacks from their stack pointers,
 * registers), then transitively through the blocks reached. Pure: memory is
 * read through a callback, so tests feed synthetic images.
 */
#ifndef LW_REACH_H
#define LW_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* valgrind's names; mem-leak is DEFINITE and INDIRECT */
enum lw_reach_class {
	LW_REACH_DEFINITE = 0, /* no pointer to it from the roots or from reachable blocks */
	LW_REACH_INDIRECT,     /* reachable only from lost blocks */
	LW_REACH_POSSIBLE,     /* reached only through interior pointers */
	LW_REACH_REACHABLE,    /* a chain of start pointers from a root */
};

struct lw_reach_block {
	uint64_t addr, size; /* in */
	uint8_t cls;	     /* out: enum lw_reach_class */
	/* out, DEFINITE only: what this block alone keeps lost */
	uint64_t indirect_bytes, indirect_count;
	/* out, INDIRECT only: index of the DEFINITE block that holds it */
	size_t leader;
};

struct lw_reach_region {
	uint64_t start, end;
};

struct lw_reach_io {
	/* Read len bytes at addr; returns the bytes read, <= 0 when unreadable. */
	ssize_t (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	void *ctx;
};

struct lw_reach_stats {
	uint64_t root_bytes;  /* bytes of roots scanned */
	uint64_t block_bytes; /* bytes of blocks scanned */
	uint64_t unreadable;  /* bytes that could not be read (treated as no pointers) */
	uint64_t counts[4];   /* blocks per class */
	uint64_t bytes[4];    /* bytes per class */
};

/* order: the indices of blocks[0..n) by ascending address (stable; one
 * pass when they are sorted already). 0 or -ENOMEM.
 */
int reach__addr_order(const struct lw_reach_block *blocks, size_t n, size_t *order);

/* Classify n blocks (any order, not overlapping). regs: register values of
 * every thread, taken as roots. 0 or -ENOMEM.
 */
int reach__scan(struct lw_reach_block *blocks, size_t n, const struct lw_reach_region *roots,
		size_t nr_roots, const uint64_t *regs, size_t nr_regs, const struct lw_reach_io *io,
		struct lw_reach_stats *st);

const char *reach__class_name(enum lw_reach_class c);

/* One /proc/PID/maps line as the root picker needs it. */
struct lw_reach_map {
	uint64_t start, end;
	bool readable, writable;
	bool special; /* [vvar], [vsyscall], [uprobes], a device file: never read */
};

/* Roots from a process's mappings: every readable, writable mapping that is
 * not special and holds no live block. Heap arenas and mmapped chunks (the
 * mappings that hold blocks) are scanned block by block, since their free
 * chunks hold stale pointers; with unknown_heap (attach: blocks allocated
 * before leakwatch came are not in the list) the gaps between the known
 * blocks count as roots too, which can only make fewer blocks lost. A
 * mapping that holds a thread's stack pointer starts at sp - 128 (the
 * x86-64 red zone), not below. blocks must be sorted by address. 0 or
 * -ENOMEM; *out is malloc'ed.
 */
int reach__pick_roots(const struct lw_reach_map *maps, size_t nr_maps,
		      const struct lw_reach_block *sorted_blocks, size_t nr_blocks,
		      const uint64_t *sps, size_t nr_sps, bool unknown_heap,
		      struct lw_reach_region **out, size_t *nr_out);

/* Parse one maps line ("start-end perms off dev inode [path]"). 0 or -EINVAL. */
int reach__parse_map(const char *line, struct lw_reach_map *m);

#endif
