/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A model of the dynamic linker's lookup order (glibc rtld): the objects a
 * process or a command binds symbols against, first to last. Live processes:
 * the order is rebuilt from the executable's DT_NEEDED graph, matched against
 * what /proc/PID/maps says is really mapped. Commands not yet started:
 * library names are searched on disk the way ld.so searches them.
 * Internal to alloc_resolve and sym_resolve; pure user space, libelf only.
 */
#ifndef LW_LIB_SEARCH_H
#define LW_LIB_SEARCH_H

#include <limits.h>
#include <stdbool.h>
#include "base/fmt.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/proc_file.h"

/* The file name of leakwatch's fault-injection library (inject/). */
#define LW_INJECT_LIB_NAME "liblwinject.so"

enum ls_how { LS_EXE, LS_PRELOAD, LS_SYS_PRELOAD, LS_NEEDED };

struct ls_obj {
	char path[PATH_MAX]; /* the key: root + the process's own path */
	char file[PATH_MAX]; /* what we open and attach to (see proc_file.h) */
	char name[256];	     /* spelling that queued it (DT_NEEDED, LD_PRELOAD) */
	char soname[256];
	char **needed;
	int nr_needed;
	char *rpath, *runpath;
	bool dyn_done, elf_ok, interp, nodeflib, queued;
	bool dyn_unreadable; /* dynamically linked, but no readable .dynamic */
	enum ls_how how;
	int parent; /* object whose DT_NEEDED named it, -1 */
	/* process mode: the first mapping of the file; a file that cannot be
	 * reached as mapped has reach < 0 and unreach says why (one line)
	 */
	struct lw_map_ident map;
	bool mapped;
	int reach;
	char *unreach;
};

struct ls_ldcache {
	char *buf; /* the whole file; NULL when absent or not in the new format */
	size_t len;
};

struct ls_ctx {
	pid_t pid;     /* 0: command mode */
	char root[32]; /* "/proc/N/root" when the process has another root */
	/* every object: the lookup order's, and in process mode every other
	 * file mapped (dlopen'ed libraries, data files, devices)
	 */
	struct ls_obj *objs;
	int *order; /* lookup order: indexes into objs, the executable first */
	int nr_objs, cap, nr_order, exe;
	unsigned char ei_class;
	uint16_t e_machine;
	const char *ld_library_path;
	struct ls_ldcache cache;
	char script[PATH_MAX]; /* command mode: the "#!" script, if any */
};

/* Live process: reads /proc/PID/{maps,exe,environ}. 0 or -errno with a
 * one-line message in err (see alloc_resolve__pid). Free c either way.
 */
int lib_search__pid(struct ls_ctx *c, pid_t pid, char *err, size_t errlen);

/* Before exec: argv0 through envp's PATH, "#!" followed one level (see
 * alloc_resolve__command). Free c either way.
 */
int lib_search__command(struct ls_ctx *c, const char *argv0, char *const envp[], char *err,
			size_t errlen);

void lib_search__free(struct ls_ctx *c);

/* Reads object i's dynamic section once: elf_ok, soname, ... are valid after;
 * in process mode also file (or reach/unreach).
 */
void lib_search__load(struct ls_ctx *c, int i);

/* Object i's path as the process sees it (without the /proc/N/root prefix). */
const char *lib_search__own_path(const struct ls_ctx *c, int i);

/* "libc.so.6 (DT_NEEDED of /usr/bin/foo)", "... (LD_PRELOAD)"; for the
 * executable "<path> (<exe_note>)". Adds ", for #! script S" in command mode.
 */
void lib_search__why(const struct ls_ctx *c, int i, const char *exe_note, char *buf, size_t len);

const char *ls_base_name(const char *path);

#endif
