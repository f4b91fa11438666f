// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* First object in the dynamic linker's lookup order that defines a function
 * (see sym_resolve.h). ld.so binds a call to the first definition in its
 * global scope, so that object is where a uprobe sees every call made
 * through the PLT. When another object interposes, a library that calls its
 * own copy directly (-Bsymbolic, hidden aliases) is missed; module_glob
 * selects that copy instead.
 */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>
#include "stack/elf_sym.h"
#include "stack/lib_search.h"
#include "stack/sym_resolve.h"

#define FAIL(ret, ...) (lw_fmt(err, errlen, __VA_ARGS__), (ret))

struct sr_query {
	const char *name, *glob;
	int nr_matched; /* ELF objects that passed the glob */
	int only;	/* the one matched object when nr_matched == 1 */
	int ifunc;	/* first object serving name with an IFUNC, -1 */
};

static bool glob_matches(struct ls_ctx *c, int i, const char *glob)
{
	const char *path = lib_search__own_path(c, i);
	const struct ls_obj *o = &c->objs[i];

	return !glob[0] || !fnmatch(glob, path, 0) || !fnmatch(glob, ls_base_name(path), 0) ||
	       (o->soname[0] && !fnmatch(glob, o->soname, 0));
}

/* 1 when object i defines q->name (out filled but for why), 0 when not,
 * -errno (message in err) when it may and cannot be reached as mapped.
 */
static int try_obj(struct ls_ctx *c, int i, struct sr_query *q, struct lw_sym_target *out,
		   char *err, size_t errlen)
{
	struct elf_file f;
	uint64_t off;
	int ret;

	lib_search__load(c, i);
	if (c->objs[i].reach && glob_matches(c, i, q->glob))
		return FAIL(c->objs[i].reach, "%s",
			    c->objs[i].unreach ? c->objs[i].unreach : "out of memory");
	if (!c->objs[i].elf_ok || !glob_matches(c, i, q->glob))
		return 0;
	q->only = q->nr_matched++ ? -1 : i;
	if (elf_file__open(&f, c->objs[i].file))
		return 0;
	ret = elf_file__func_off(&f, q->name, &off);
	elf_file__close(&f);
	if (ret == -ENOTSUP && q->ifunc < 0)
		q->ifunc = i;
	if (ret)
		return 0;
	lw_fmt(out->path, sizeof(out->path), "%s", c->objs[i].file);
	lw_fmt(out->shown, sizeof(out->shown), "%s", lib_search__own_path(c, i));
	out->offset = off;
	return 1;
}

static int not_found(struct ls_ctx *c, struct sr_query *q, char *err, size_t errlen)
{
	const char *exe = lib_search__own_path(c, c->exe);
	struct elf_file f;
	bool stripped;
	int ret;

	if ((ret = elf_file__open(&f, c->objs[c->exe].file)))
		return ret == -ENOEXEC ? FAIL(ret, "%s: not an ELF file", exe)
				       : FAIL(ret, "%s: %s", exe, strerror(-ret));
	stripped = !f.symtab;
	elf_file__close(&f);
	if (stripped && q->nr_matched == 1 && q->only == c->exe)
		return FAIL(-ENODATA, "%s: stripped: no symbol table, cannot find %s", exe,
			    q->name);
	if (q->glob[0])
		return FAIL(-ENOENT, "symbol %s not found in any object matching %s", q->name,
			    q->glob);
	return FAIL(-ENOENT, "symbol %s not found in %s or its libraries", q->name, exe);
}

static int choose(struct ls_ctx *c, const char *name, const char *glob, struct lw_sym_target *out,
		  char *err, size_t errlen)
{
	struct sr_query q = {.name = name, .glob = glob ? glob : "", .only = -1, .ifunc = -1};

	if (!name || !name[0])
		return FAIL(-EINVAL, "empty symbol name");
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < c->nr_order; k++) {
		int i = c->order[k], ret;

		if (q.ifunc >= 0)
			break; /* ld.so binds to the IFUNC: nothing later counts */
		if ((ret = try_obj(c, i, &q, out, err, errlen)) < 0)
			return ret;
		if (!ret)
			continue;
		lib_search__why(c, i,
				c->objs[i].interp ? "the executable defines it"
						  : "statically linked executable",
				out->why, sizeof(out->why));
		return 0;
	}
	/* process mode, last resort: mapped but outside the global scope */
	for (int i = 0; c->pid && q.ifunc < 0 && i < c->nr_objs; i++) {
		/* unreachable here: data files and devices are mapped too */
		if (c->objs[i].queued || try_obj(c, i, &q, out, NULL, 0) <= 0)
			continue;
		lw_fmt(out->why, sizeof(out->why),
		       "%s (mapped, not in the lookup order: dlopen'ed)", out->shown);
		return 0;
	}
	if (q.ifunc >= 0)
		return FAIL(-ENOTSUP,
			    "%s in %s is an IFUNC: its implementation is chosen at load time, "
			    "probe that instead",
			    name, lib_search__own_path(c, q.ifunc));
	return not_found(c, &q, err, errlen);
}

int sym_resolve__pid(pid_t pid, const char *name, const char *module_glob,
		     struct lw_sym_target *out, char *err, size_t errlen)
{
	struct ls_ctx c;
	int ret = lib_search__pid(&c, pid, err, errlen);

	if (!ret)
		ret = choose(&c, name, module_glob, out, err, errlen);
	lib_search__free(&c);
	return ret;
}

int sym_resolve__command(const char *argv0, char *const envp[], const char *name,
			 const char *module_glob, struct lw_sym_target *out, char *err,
			 size_t errlen)
{
	struct ls_ctx c;
	int ret = lib_search__command(&c, argv0, envp, err, errlen);

	if (!ret)
		ret = choose(&c, name, module_glob, out, err, errlen);
	lib_search__free(&c);
	return ret;
}
