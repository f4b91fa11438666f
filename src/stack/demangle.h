/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* C++ and Rust symbol names as people write them (_ZL7ReallocPvm ->
 * Realloc(void*, unsigned long)), through libiberty's cplus_demangle, the
 * demangler binutils and gdb use. Its own file because libiberty.h
 * redefines basename for everything that includes it after.
 */
#ifndef LW_DEMANGLE_H
#define LW_DEMANGLE_H

/* The demangled form of name, malloc'ed; NULL when name is not a mangled
 * C++ (_Z...) or Rust (_R...) name, or does not demangle. A symbol version
 * ("@VER", "@@VER") is kept after the demangled name.
 */
char *lw_demangle(const char *name);

#endif
