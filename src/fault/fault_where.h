/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* WHERE of an --inject rule as address ranges: every function of that name
 * (local ones too: error paths live in static functions) in the command's
 * executable and the libraries it loads, as [lo, hi) in each file's own
 * virtual addresses, which is what the injection library compares a
 * frame's address less its module's load bias with.
 */
#ifndef LW_FAULT_WHERE_H
#define LW_FAULT_WHERE_H

#include <limits.h>
#include <stdint.h>

struct lw_fault_range {
	uint64_t lo, hi;
	char path[PATH_MAX]; /* the file as the command will name it (realpath) */
};

/* The functions called name in the ELF file at path (its .symtab, else its
 * separate debug file or MiniDebugInfo, and .dynsym); C++ names match by
 * their demangled name with or without the parameter list. Up to max
 * ranges into out (path filled with shown). Returns how many, or -errno.
 */
int fault_where__in_file(const char *path, const char *shown, const char *name,
			 struct lw_fault_range *out, int max);

/* The same over the command argv0 (searched as execvp does) and its
 * libraries in the dynamic linker's order (envp: its PATH and
 * LD_LIBRARY_PATH). Returns how many ranges, or -errno with err set.
 */
int fault_where__in_command(const char *argv0, char *const envp[], const char *name,
			    struct lw_fault_range *out, int max, char *err, size_t errlen);

#endif
