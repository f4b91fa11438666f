// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fault/fault_where.h"
#include "stack/debuginfo.h"
#include "stack/demangle.h"
#include "stack/lib_search.h"

/* name, or name's demangled form, with or without its parameters. */
static bool name_matches(const char *sym, const char *name)
{
	size_t n = strlen(name);
	char *d;
	bool ok;

	if (!strcmp(sym, name) || (!strncmp(sym, name, n) && sym[n] == '@'))
		return true;
	if ((sym[0] != '_') || !(sym[1] == 'Z' || sym[1] == 'R'))
		return false;
	d = lw_demangle(sym);
	ok = d && (!strcmp(d, name) || (!strncmp(d, name, n) && d[n] == '('));
	free(d);
	return ok;
}

static int add_range(struct lw_fault_range *out, int nr, int max, uint64_t lo, uint64_t hi,
		     const char *shown)
{
	for (int i = 0; i < nr; i++)
		if (out[i].lo == lo && out[i].hi == hi)
			return nr;
	if (nr == max)
		return nr;
	out[nr].lo = lo;
	out[nr].hi = hi;
	snprintf(out[nr].path, sizeof(out[nr].path), "%s", shown);
	return nr + 1;
}

static int scan_elf(Elf *e, Elf_Scn *scn, const char *name, struct lw_fault_range *out, int nr,
		    int max, const char *shown)
{
	GElf_Shdr sh;
	Elf_Data *d;

	if (!scn || !gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) || !sh.sh_entsize)
		return nr;
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
		GElf_Sym sym;
		const char *sn;

		if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		sn = elf_strptr(e, sh.sh_link, sym.st_name);
		if (sn && name_matches(sn, name))
			nr = add_range(out, nr, max, sym.st_value,
				       sym.st_value + (sym.st_size ? sym.st_size : 1), shown);
	}
	return nr;
}

int fault_where__in_file(const char *path, const char *shown, const char *name,
			 struct lw_fault_range *out, int max)
{
	Elf *e = debuginfo__open_path(path), *dbg = NULL;
	void *image = NULL;
	int nr = 0;

	if (!e)
		return -ENOEXEC;
	nr = scan_elf(e, debuginfo__section(e, ".dynsym"), name, out, nr, max, shown);
	if (debuginfo__has_symtab(e)) {
		nr = scan_elf(e, debuginfo__section(e, ".symtab"), name, out, nr, max, shown);
	} else if ((dbg = debuginfo__build_id_file(e, LW_DEBUG_DIR)) ||
		   (dbg = debuginfo__mini(e, &image))) {
		nr = scan_elf(dbg, debuginfo__section(dbg, ".symtab"), name, out, nr, max, shown);
	}
	if (dbg)
		elf_end(dbg);
	free(image);
	elf_end(e);
	return nr;
}

int fault_where__in_command(const char *argv0, char *const envp[], const char *name,
			    struct lw_fault_range *out, int max, char *err, size_t errlen)
{
	struct ls_ctx c;
	int nr = 0, ret;

	ret = lib_search__command(&c, argv0, envp, err, errlen);
	if (ret) {
		lib_search__free(&c);
		return ret;
	}
	for (int k = 0; k < c.nr_order; k++) {
		int i = c.order[k];
		char real[PATH_MAX];
		int n;

		lib_search__load(&c, i);
		if (!c.objs[i].elf_ok)
			continue;
		/* the library names its modules by their real paths */
		if (!realpath(lib_search__own_path(&c, i), real))
			snprintf(real, sizeof(real), "%s", lib_search__own_path(&c, i));
		n = fault_where__in_file(c.objs[i].file, real, name, out + nr, max - nr);
		if (n > 0)
			nr += n;
		if (nr == max)
			break;
	}
	lib_search__free(&c);
	return nr;
}
