/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-process module maps and address → symbol+offset, module, file:line. */
#ifndef LW_SYMBOLIZE_H
#define LW_SYMBOLIZE_H

#include <stdbool.h>
#include "report/finding.h"

struct symbolizer;

struct lw_mapping {
	uint64_t start, end;
	uint64_t file_off;
	const char *path; /* as the process names it; owned by the symbolizer */
	/* what to open: path, or /proc/PID/root + path for a process in
	 * another mount namespace or root that has another file there
	 * (proc_file__own)
	 */
	const char *file;
};

struct symbolizer *symbolizer__new(void);
void symbolizer__free(struct symbolizer *s);
/* One stderr line per debuginfod lookup (DEBUGINFOD_URLS set). */
void symbolizer__set_verbose(struct symbolizer *s, bool verbose);

/* Learn a file-backed executable mapping of tgid (duplicates are ignored).
 * A process in another mount namespace that has another file at path than
 * we do gets it read at once, through its root, while it still lives.
 */
int symbolizer__add_mapping(struct symbolizer *s, uint32_t tgid, uint64_t start, uint64_t end,
			    uint64_t file_off, const char *path);
/* Read /proc/PID/maps (executable file mappings) now, while the process lives.
 * Returns number of mappings added or -errno.
 */
int symbolizer__snapshot_maps(struct symbolizer *s, uint32_t tgid);
/* Same, from an explicit maps file (tests). */
int symbolizer__load_maps_file(struct symbolizer *s, uint32_t tgid, const char *maps_path);
/* A fork child starts with its parent's mappings. */
int symbolizer__fork(struct symbolizer *s, uint32_t parent, uint32_t child);
/* The process replaced its image: later lookups prefer mappings learnt after this. */
void symbolizer__exec(struct symbolizer *s, uint32_t tgid);

/* Find the mapping of tgid containing addr; NULL if none. */
const struct lw_mapping *symbolizer__find(struct symbolizer *s, uint32_t tgid, uint64_t addr);

/* Symbolize addr. is_return_addr: look up addr-1 for symbol/line (callers'
 * frames), so a call at the end of a function is attributed to it.
 * Fills out (strings malloc'ed, fields NULL/0 when unknown). 0 or -errno.
 *
 * out->symbol is demangled (out->mangled: the ELF's name), and may be only
 * the nearest preceding symbol (out->inexact) when none covers the pc.
 * out->offset is always taken from addr itself, never addr-1:
 * - symbol != NULL: from the symbol's start;
 * - symbol == NULL, module != NULL: the module-relative file offset
 *   (addr - mapping start + mapping file offset), for "?? (module+0xOFF)"
 *   on stripped files; 0 when the file could not be read;
 * - module == NULL (addr in no known mapping): 0.
 */
int symbolizer__resolve(struct symbolizer *s, uint32_t tgid, uint64_t addr, bool is_return_addr,
			struct lw_sym_frame *out);
/* Symbolize f->stack into f->frames for process f->pid. */
int symbolizer__finding(struct symbolizer *s, struct lw_finding *f);

#endif
