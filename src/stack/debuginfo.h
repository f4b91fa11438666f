/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a module's symbols and lines are when the file itself lacks them:
 * a separate debug file by build id (/usr/lib/debug/.build-id), the
 * MiniDebugInfo some distributions embed (.gnu_debugdata: an xz-compressed
 * ELF holding the .symtab of the functions .dynsym lacks), and, only when
 * the user set DEBUGINFOD_URLS, a debuginfod server, with a time budget.
 * Internal to the symbolizer.
 */
#ifndef LW_DEBUGINFO_H
#define LW_DEBUGINFO_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whole debuginfod lookups of one symbolizer stop after this many seconds
 * in all (DEBUGINFOD_TIMEOUT's default is 90 s per server and transfer),
 * unless the user set DEBUGINFOD_TIMEOUT or DEBUGINFOD_MAXTIME.
 */
#define LW_DEBUGINFOD_BUDGET_S 10

/* An ELF file, fully read (mmapped) and its fd closed: hundreds of modules
 * must not eat the fd limit. NULL when it cannot be opened or is not ELF.
 */
Elf *debuginfo__open_path(const char *path);
/* The named section when it has contents (not NOBITS), else NULL. */
Elf_Scn *debuginfo__section(Elf *elf, const char *name);
bool debuginfo__has_symtab(Elf *elf);
/* The GNU build id: a pointer into elf's note data and its length. */
bool debuginfo__build_id(Elf *elf, const uint8_t **id, size_t *len);
/* Debian's separate debug file, DIR/ab/cdef....debug (DIR: LW_DEBUG_DIR). */
Elf *debuginfo__build_id_file(Elf *elf, const char *dir);
#define LW_DEBUG_DIR "/usr/lib/debug/.build-id"

/* The ELF inside .gnu_debugdata; *image is the decompressed buffer it
 * lives in, to free after elf_end. NULL when absent or corrupt.
 */
Elf *debuginfo__mini(Elf *elf, void **image);

struct lw_debuginfod;
/* Lazily started client state; NULL when DEBUGINFOD_URLS is unset or empty
 * or libdebuginfod.so.1 is missing (it is dlopen'ed: a traced session that
 * does not ask for it never loads libcurl). verbose: one line per lookup.
 */
struct lw_debuginfod *debuginfod__new(bool verbose);
void debuginfod__free(struct lw_debuginfod *d);
/* The debug file for elf's build id from the servers, shown names the
 * module in the verbose line. NULL when not found, out of budget, or off.
 */
Elf *debuginfod__find(struct lw_debuginfod *d, Elf *elf, const char *shown);

#endif
