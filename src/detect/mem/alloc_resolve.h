/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which ELF object really serves a process's malloc, and the file offsets of
 * its allocator entry points (uprobes attach to path + file offset).
 *
 * The serving object is the first one in the dynamic linker's lookup order
 * (executable, LD_PRELOAD, /etc/ld.so.preload, then DT_NEEDED breadth-first)
 * that defines both malloc and free; a static executable serves itself.
 * Pure user space: libelf only.
 */
#ifndef LW_ALLOC_RESOLVE_H
#define LW_ALLOC_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum lw_alloc_fn {
	LW_FN_MALLOC,
	LW_FN_CALLOC,
	LW_FN_REALLOC,
	LW_FN_REALLOCARRAY,
	LW_FN_FREE,
	LW_FN_POSIX_MEMALIGN,
	LW_FN_ALIGNED_ALLOC,
	LW_FN_MEMALIGN,
	LW_FN_VALLOC,
	LW_FN_PVALLOC,
	LW_FN__MAX
};

/* "malloc", ...; "?" out of range. */
const char *alloc_fn_name(enum lw_alloc_fn fn);

struct lw_alloc_target {
	char path[4096];	     /* the ELF to open and attach to (canonical path) */
	char shown[4096];	     /* the same file as the process names it */
	uint64_t offset[LW_FN__MAX]; /* file offset, 0 = absent */
	bool found[LW_FN__MAX];
	char why[256]; /* e.g. "libc.so.6 (DT_NEEDED of /usr/bin/foo)" */
};

/* Live process: reads /proc/PID/{maps,exe,environ}. 0 or -errno with a
 * one-line message in err:
 *   -ESRCH   "pid N: no such process",
 *            "pid N: no executable (kernel thread or exited)"
 *   -errno   "cannot read /proc/N/maps: <strerror>" (also .../exe)
 *   -ENOEXEC "<path>: not an ELF file"
 *   -ENODATA "<path>: stripped: no symbol table, cannot find malloc"
 *   -ENOENT  "<path>: no malloc/free found" (dynamic executables: "... in it or
 *            its N shared objects")
 * A process in another mount namespace or with another root (container,
 * chroot, a private bind mount over its libc) gets paths under
 * /proc/PID/root, which the kernel resolves for uprobe attach as well;
 * every object is checked to be the inode the process maps, else reached
 * through /proc/PID/map_files (see stack/proc_file.h). An object in the
 * lookup order reached neither way fails:
 *   -ESTALE/-errno "pid N: cannot reach PATH as it maps it (dev M:m inode I): ..."
 * found[]/offset[] cover the chosen object only: functions it lacks (e.g. a
 * preload defining only malloc/free) are absent, not looked up further on.
 */
int alloc_resolve__pid(pid_t pid, struct lw_alloc_target *out, char *err, size_t errlen);

/* Before exec (run mode): argv0 is resolved through envp's PATH like execvp,
 * a "#!" script is followed to its interpreter (one level; "#!/usr/bin/env X"
 * goes on to X), libraries are found like ld.so does (RPATH, LD_LIBRARY_PATH,
 * RUNPATH, /etc/ld.so.cache, default directories) and envp's LD_PRELOAD is
 * honoured. envp may be NULL (empty environment; PATH defaults to
 * /bin:/usr/bin like execvp). Errors as above, plus -ENOENT "<argv0>: command
 * not found" and "#!" problems (missing interpreter, nested script).
 */
int alloc_resolve__command(const char *argv0, char *const envp[], struct lw_alloc_target *out,
			   char *err, size_t errlen);

/* File offset of the FUNC symbol name in the ELF at path: .dynsym for shared
 * objects, .symtab then .dynsym for executables. The default version (@@)
 * wins; "name@VER" / "name@@VER" select a version. 0, -ENOENT (no such
 * symbol), -ENOEXEC (not ELF) or -errno.
 */
int elf_symbol_file_offset(const char *path, const char *name, uint64_t *off);

#endif
