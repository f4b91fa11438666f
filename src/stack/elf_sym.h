/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One ELF file open with libelf, and the file offset of a FUNC symbol in it
 * the way uprobes want it (path + file offset). Internal to alloc_resolve,
 * lib_search and sym_resolve; the public entry point is
 * elf_symbol_file_offset() in alloc_resolve.h.
 */
#ifndef LW_ELF_SYM_H
#define LW_ELF_SYM_H

#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>

struct elf_file {
	int fd;
	Elf *e;
	bool exe;      /* ET_EXEC, PT_INTERP or DF_1_PIE: its .symtab counts too */
	bool interp;   /* PT_INTERP: ld.so runs, so preloads and DT_NEEDED apply */
	bool nodeflib; /* DF_1_NODEFLIB: no ld.so.cache, no default directories */
	Elf_Scn *symtab, *dynsym, *versym, *verdef, *dynamic;
};

/* 0, -ENOEXEC (not ELF) or -errno. */
int elf_file__open(struct elf_file *f, const char *path);
void elf_file__close(struct elf_file *f);

/* File offset of the defined GLOBAL/WEAK FUNC name ("name", "name@VER",
 * "name@@VER"): .symtab then .dynsym for executables, .dynsym only for
 * shared objects (only exported symbols serve other objects). 0, -ENOENT or
 * -ENOEXEC. An IFUNC counts as absent.
 */
int elf_file__sym_off(struct elf_file *f, const char *name, uint64_t *off);

/* The same, but a GNU indirect function (STT_GNU_IFUNC) is -ENOTSUP rather
 * than absent: it does serve name, through a resolver that picks the real
 * implementation at load time, so a probe on it would only see the resolver.
 */
int elf_file__func_off(struct elf_file *f, const char *name, uint64_t *off);

/* The size of the defined FUNC symbol at virtual address va in .symtab or
 * .dynsym (the largest, for aliases); 0 when no symbol says.
 */
uint64_t elf_func_size(Elf *e, uint64_t va);

/* Virtual address <-> file offset through the PT_LOAD headers (what uprobes
 * and /proc/PID/maps speak vs what symbols speak). 0, -ENOENT (in no
 * PT_LOAD) or -ENOEXEC.
 */
int elf_vaddr_to_off(Elf *e, uint64_t va, uint64_t *off);
int elf_off_to_vaddr(Elf *e, uint64_t off, uint64_t *va);

#endif
