/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which ELF object serves an arbitrary function, and its file offset there:
 * where a uprobe on an acquire/release pair (pool_create/pool_destroy,
 * SSL_new/SSL_free, ...) has to go. The lookup order is the dynamic
 * linker's (lib_search.h): the executable (its .symtab too), LD_PRELOAD,
 * /etc/ld.so.preload, DT_NEEDED breadth-first; for a live process then any
 * other mapped ELF object (dlopen'ed libraries) as a last resort.
 * Pure user space: libelf only.
 */
#ifndef LW_SYM_RESOLVE_H
#define LW_SYM_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lw_sym_target {
	char path[4096];  /* the ELF to open and attach to (canonical path) */
	char shown[4096]; /* the same file as the process names it */
	uint64_t offset;  /* file offset */
	char why[256];	  /* e.g. "libpool.so (DT_NEEDED of /usr/bin/app)" */
};

/* name may carry a version ("SSL_new@@OPENSSL_3.0.0", "f@V1").
 * module_glob: "" (or NULL) = any object; otherwise only objects whose path
 * (as the process sees it), file name or SONAME matches the fnmatch(3) glob,
 * e.g. "libssl.so*". 0 or -errno with a one-line message in err:
 *   -ENOENT  "symbol NAME not found in /path/exe or its libraries",
 *            "symbol NAME not found in any object matching GLOB"
 *   -ENODATA "/path/exe: stripped: no symbol table, cannot find NAME" when
 *            the only candidate is the executable (static binary, or a glob
 *            that only matches it) and it has no .symtab
 *   -ENOTSUP "NAME in /path is an IFUNC: ..." (the object that serves NAME
 *            only has a resolver; probe the implementation instead)
 *   -ESRCH   "pid N: no such process", and the other errors of
 *            alloc_resolve__pid / alloc_resolve__command.
 */
int sym_resolve__pid(pid_t pid, const char *name, const char *module_glob,
		     struct lw_sym_target *out, char *err, size_t errlen);

/* The same before exec, from the command (argv0 through envp's PATH, "#!"
 * followed, libraries searched like ld.so) as alloc_resolve__command does.
 * No last resort here: what the program will dlopen is unknown.
 */
int sym_resolve__command(const char *argv0, char *const envp[], const char *name,
			 const char *module_glob, struct lw_sym_target *out, char *err,
			 size_t errlen);

#endif
