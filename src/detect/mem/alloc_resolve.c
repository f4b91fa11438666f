// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Which object serves malloc: the first one in the dynamic linker's lookup
 * order (lib_search.h) that defines both malloc and free.
 */
#include <errno.h>
#include <string.h>
#include "detect/mem/alloc_resolve.h"
#include "stack/elf_sym.h"
#include "stack/lib_search.h"

static const char *const fn_names[LW_FN__MAX] = {
    [LW_FN_MALLOC] = "malloc",
    [LW_FN_CALLOC] = "calloc",
    [LW_FN_REALLOC] = "realloc",
    [LW_FN_REALLOCARRAY] = "reallocarray",
    [LW_FN_FREE] = "free",
    [LW_FN_POSIX_MEMALIGN] = "posix_memalign",
    [LW_FN_ALIGNED_ALLOC] = "aligned_alloc",
    [LW_FN_MEMALIGN] = "memalign",
    [LW_FN_VALLOC] = "valloc",
    [LW_FN_PVALLOC] = "pvalloc",
};

const char *alloc_fn_name(enum lw_alloc_fn fn)
{
	return (unsigned)fn < LW_FN__MAX ? fn_names[fn] : "?";
}

#define FAIL(ret, ...) (lw_fmt(err, errlen, __VA_ARGS__), (ret))

static void fill(struct ls_ctx *c, int i, struct elf_file *f, struct lw_alloc_target *out)
{
	const struct ls_obj *o = &c->objs[i];
	uint64_t off;

	memset(out, 0, sizeof(*out));
	lw_fmt(out->path, sizeof(out->path), "%s", o->file);
	lw_fmt(out->shown, sizeof(out->shown), "%s", lib_search__own_path(c, i));
	for (int fn = 0; fn < LW_FN__MAX; fn++)
		if (!elf_file__sym_off(f, fn_names[fn], &off)) {
			out->offset[fn] = off;
			out->found[fn] = true;
		}
	lib_search__why(
	    c, i, o->interp ? "the executable defines malloc" : "statically linked executable",
	    out->why, sizeof(out->why));
}

/* First object in lookup order defining malloc and free serves them. */
static int choose(struct ls_ctx *c, struct lw_alloc_target *out, char *err, size_t errlen)
{
	const char *exe = lib_search__own_path(c, c->exe);
	struct elf_file f;
	uint64_t off;
	int ret;

	for (int i = 0; i < c->nr_order; i++) {
		int oi = c->order[i];

		/* it may be the one serving malloc: never guess past it */
		if (c->objs[oi].reach)
			return FAIL(c->objs[oi].reach, "%s",
				    c->objs[oi].unreach ? c->objs[oi].unreach : "out of memory");
		if (!c->objs[oi].elf_ok || elf_file__open(&f, c->objs[oi].file))
			continue;
		if (!elf_file__sym_off(&f, "malloc", &off) &&
		    !elf_file__sym_off(&f, "free", &off)) {
			fill(c, oi, &f, out);
			elf_file__close(&f);
			return 0;
		}
		elf_file__close(&f);
	}
	if ((ret = elf_file__open(&f, c->objs[c->exe].file)))
		return ret == -ENOEXEC ? FAIL(ret, "%s: not an ELF file", exe)
				       : FAIL(ret, "%s: %s", exe, strerror(-ret));
	ret = !f.interp && !f.symtab && elf_file__sym_off(&f, "malloc", &off);
	elf_file__close(&f);
	if (ret)
		return FAIL(-ENODATA, "%s: stripped: no symbol table, cannot find malloc", exe);
	/* not "no malloc": we could not learn which libraries it loads */
	if (c->objs[c->exe].dyn_unreadable)
		return FAIL(-ENOEXEC,
			    "%s: dynamically linked, but its dynamic section cannot be read "
			    "(corrupt, or no section headers): cannot tell which allocator it uses",
			    exe);
	if (c->nr_order > 1)
		return FAIL(-ENOENT, "%s: no malloc/free found in it or its %d shared objects", exe,
			    c->nr_order - 1);
	return FAIL(-ENOENT, "%s: no malloc/free found", exe);
}

int alloc_resolve__pid(pid_t pid, struct lw_alloc_target *out, char *err, size_t errlen)
{
	struct ls_ctx c;
	int ret = lib_search__pid(&c, pid, err, errlen);

	if (!ret)
		ret = choose(&c, out, err, errlen);
	lib_search__free(&c);
	return ret;
}

int alloc_resolve__command(const char *argv0, char *const envp[], struct lw_alloc_target *out,
			   char *err, size_t errlen)
{
	struct ls_ctx c;
	int ret = lib_search__command(&c, argv0, envp, err, errlen);

	if (!ret)
		ret = choose(&c, out, err, errlen);
	lib_search__free(&c);
	return ret;
}
