/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The allocator's own code, so the anonymous-mapping class can tell the
 * mappings an allocator makes for itself (jemalloc's extents, tcmalloc's
 * spans and caches, glibc's arenas) from the program's.
 *
 * What counts as allocator code, by module (the path as the process maps it)
 * and file offset:
 *  - anywhere in a shared object known to be an allocator (libjemalloc*,
 *    libtcmalloc*, libmimalloc*) or learnt as the one serving malloc
 *    (alloc_code__learn), libc and ld.so excepted: they host the program's
 *    own mmap wrapper and its start (det_mem filters their callers apart);
 *  - in an executable that is its own allocator (linked in statically):
 *    the functions whose names mark them allocator-internal
 *    (alloc_code__internal_name);
 *  - in any learnt module: its allocator entry points (malloc, calloc,
 *    realloc, ..., free, operator new), by symbol and size: ALLOC_CODE_ENTRY.
 * Pure but for alloc_code__learn (libelf).
 */
#ifndef LW_ALLOC_CODE_H
#define LW_ALLOC_CODE_H

#include <stdbool.h>
#include <stdint.h>

enum alloc_code_kind {
	ALLOC_CODE_NONE = 0,
	ALLOC_CODE_INTERNAL, /* allocator code */
	ALLOC_CODE_ENTRY,    /* inside malloc and friends themselves */
};

/* allocator families, recognised by the symbols an object defines */
enum {
	ALLOC_FAM_JEMALLOC = 1u << 0,
	ALLOC_FAM_TCMALLOC = 1u << 1,
	ALLOC_FAM_MIMALLOC = 1u << 2,
};

struct alloc_code;

struct alloc_code *alloc_code__new(void);
void alloc_code__free(struct alloc_code *ac);

/* Learn the object serving malloc: shown is the path as the process maps it,
 * file the one to open (lw_alloc_target's shown and path). An unreadable
 * file is learnt by path alone. 0 or -ENOMEM.
 */
int alloc_code__learn(struct alloc_code *ac, const char *shown, const char *file);

/* The parts alloc_code__learn is made of (and what unit tests build with):
 * a module, all of it allocator code when whole; a range [lo, hi) of file
 * offsets in it. 0 or -ENOMEM.
 */
int alloc_code__add_module(struct alloc_code *ac, const char *path, bool whole);
int alloc_code__add_range(struct alloc_code *ac, const char *path, uint64_t lo, uint64_t hi,
			  enum alloc_code_kind kind);

/* What the code at file offset off of module path is; ac may be NULL (known
 * allocator libraries only).
 */
enum alloc_code_kind alloc_code__classify(const struct alloc_code *ac, const char *path,
					  uint64_t off);

/* Is name (a symbol of an executable that is its own allocator) allocator
 * internal? Always: je_*, jemalloc*, glibc's _int_*, sysmalloc and
 * __libc_malloc & co.; with ALLOC_FAM_JEMALLOC also pages_*, extent_*,
 * extents_*, ecache_*, arena_*, tcache_*, ehooks_*, base_*; with
 * ALLOC_FAM_TCMALLOC tc_* and tcmalloc::*; with ALLOC_FAM_MIMALLOC mi_*.
 */
bool alloc_code__internal_name(const char *name, unsigned families);
/* The families a symbol name reveals (je_malloc, tc_malloc, mi_malloc, ...). */
unsigned alloc_code__family_of(const char *name);
/* malloc, calloc, ..., free, operator new and new[] */
bool alloc_code__entry_name(const char *name);

#endif
