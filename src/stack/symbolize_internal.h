/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* symbolizer internals shared by symbolize.c (per-file ELF state, address
 * resolution) and symbolize_maps.c (the per-process mapping table, maps parsing).
 * Not part of the API: only symbolize*.c include it.
 */
#ifndef LW_SYMBOLIZE_INTERNAL_H
#define LW_SYMBOLIZE_INTERNAL_H

#include <gelf.h>
#include <elfutils/libdw.h>
#include "stack/symbolize.h"

struct sym_ent {
	uint64_t addr, size;
	const char *name; /* in the ELF string table, alive while the Elf is */
	unsigned rank;	  /* lower is the nicer alias */
};

/* An executable section's address range. */
struct sym_range {
	uint64_t lo, hi;
};

/* One file on disk; also interns the paths that mappings point at. */
struct sym_mod {
	char *path;  /* the key: the file to open */
	char *shown; /* the path as the process names it */
	bool tried;  /* open attempted; elf stays NULL on failure */
	bool dw_tried;
	bool dw_aranges; /* .debug_aranges covers the CUs: no linear CU scan */
	bool dfd_wanted; /* no debug file here: ask debuginfod at the first frame */
	Elf *elf;
	Elf *dbg_elf;	  /* separate debug file found by build id */
	Elf *mini_elf;	  /* .gnu_debugdata's ELF (MiniDebugInfo) */
	void *mini_image; /* its decompressed bytes */
	Dwarf *dw;
	GElf_Phdr *loads;
	size_t nr_loads;
	struct sym_ent *syms;
	size_t nr_syms;
	struct sym_range *texts; /* where a nearest preceding symbol is plausible */
	size_t nr_texts;
};

struct sym_map {
	struct lw_mapping m;
	unsigned gen; /* exec generation it was learnt in */
};

struct sym_proc {
	uint32_t tgid;
	char root[32]; /* "" or "/proc/TGID/root", as of its last exec */
	unsigned gen;
	struct sym_map *maps;
	size_t nr, cap;
};

struct symbolizer {
	struct sym_mod **mods; /* sorted by path */
	size_t nr_mods, cap_mods;
	struct sym_proc *procs; /* sorted by tgid */
	size_t nr_procs, cap_procs;
	bool verbose;
	bool dfd_tried;
	struct lw_debuginfod *dfd; /* when DEBUGINFOD_URLS is set */
};

/* symbolize.c */
struct sym_mod *mod_get(struct symbolizer *s, const char *path, const char *shown);
void mod_load(struct sym_mod *m);

#endif
