// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The allocator's own code (see alloc_code.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/vec.h"
#include "detect/mem/alloc_code.h"
#include "detect/mem/alloc_resolve.h"
#include "stack/elf_sym.h"

struct code_range {
	uint64_t lo, hi;
	enum alloc_code_kind kind;
};

struct code_module {
	char *path;
	bool whole;
	struct code_range *r; /* searched linearly: mmap records are rare */
	size_t n, cap;
};

struct alloc_code {
	struct code_module *m;
	size_t n, cap;
};

struct alloc_code *alloc_code__new(void)
{
	return calloc(1, sizeof(struct alloc_code));
}

void alloc_code__free(struct alloc_code *ac)
{
	if (!ac)
		return;
	for (size_t i = 0; i < ac->n; i++) {
		free(ac->m[i].path);
		free(ac->m[i].r);
	}
	free(ac->m);
	free(ac);
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* libc and ld.so: home of the program's mmap wrapper and of its start */
static bool libc_like(const char *path)
{
	const char *b = base_name(path);

	return starts(b, "libc.so") || starts(b, "ld-linux");
}

static bool known_allocator_lib(const char *path)
{
	const char *b = base_name(path);

	return starts(b, "libjemalloc.so") || starts(b, "libtcmalloc") ||
	       starts(b, "libmimalloc.so");
}

static struct code_module *module_of(const struct alloc_code *ac, const char *path)
{
	for (size_t i = 0; ac && i < ac->n; i++)
		if (!strcmp(ac->m[i].path, path))
			return &ac->m[i];
	return NULL;
}

static struct code_module *module_add(struct alloc_code *ac, const char *path)
{
	struct code_module *m = module_of(ac, path);

	if (m)
		return m;
	if (lw_vec_grow((void **)&ac->m, &ac->cap, ac->n + 1, sizeof(*ac->m)))
		return NULL;
	m = &ac->m[ac->n];
	*m = (struct code_module){.path = strdup(path)};
	if (!m->path)
		return NULL;
	ac->n++;
	return m;
}

int alloc_code__add_module(struct alloc_code *ac, const char *path, bool whole)
{
	struct code_module *m = module_add(ac, path);

	if (!m)
		return -ENOMEM;
	m->whole |= whole;
	return 0;
}

int alloc_code__add_range(struct alloc_code *ac, const char *path, uint64_t lo, uint64_t hi,
			  enum alloc_code_kind kind)
{
	struct code_module *m = module_add(ac, path);

	if (!m || lw_vec_grow((void **)&m->r, &m->cap, m->n + 1, sizeof(*m->r)))
		return -ENOMEM;
	m->r[m->n++] = (struct code_range){.lo = lo, .hi = hi, .kind = kind};
	return 0;
}

enum alloc_code_kind alloc_code__classify(const struct alloc_code *ac, const char *path,
					  uint64_t off)
{
	const struct code_module *m;
	enum alloc_code_kind k = ALLOC_CODE_NONE;

	if (!path)
		return ALLOC_CODE_NONE;
	m = module_of(ac, path);
	if ((m && m->whole) || (known_allocator_lib(path) && !libc_like(path)))
		k = ALLOC_CODE_INTERNAL;
	/* entry points win: overlapping ranges (aliases) are fine */
	for (size_t i = 0; m && i < m->n; i++)
		if (off >= m->r[i].lo && off < m->r[i].hi && m->r[i].kind > k)
			k = m->r[i].kind;
	return k;
}

unsigned alloc_code__family_of(const char *name)
{
	if (starts(name, "je_") || starts(name, "jemalloc") || !strcmp(name, "mallocx"))
		return ALLOC_FAM_JEMALLOC;
	if (starts(name, "tc_malloc") || starts(name, "_ZN8tcmalloc"))
		return ALLOC_FAM_TCMALLOC;
	if (starts(name, "mi_malloc"))
		return ALLOC_FAM_MIMALLOC;
	return 0;
}

bool alloc_code__internal_name(const char *name, unsigned families)
{
	static const char *const always[] = {
	    "je_",	     "jemalloc",       "_int_",		 "sysmalloc",
	    "__libc_malloc", "__libc_calloc",  "__libc_realloc", "__libc_memalign",
	    "__libc_valloc", "__libc_pvalloc", "_mid_memalign",	 NULL,
	};
	static const char *const jemalloc[] = {
	    "pages_",  "extent_", "extents_", "ecache_", "arena_",
	    "tcache_", "ehooks_", "base_",    NULL,
	};
	static const char *const tcmalloc[] = {
	    "tc_", "_ZN8tcmalloc", "_ZNK8tcmalloc", "tcmalloc::", NULL,
	};
	static const char *const mimalloc[] = {"mi_", "_mi_", NULL};
	const char *const *lists[] = {
	    always,
	    families & ALLOC_FAM_JEMALLOC ? jemalloc : NULL,
	    families & ALLOC_FAM_TCMALLOC ? tcmalloc : NULL,
	    families & ALLOC_FAM_MIMALLOC ? mimalloc : NULL,
	};

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (size_t i = 0; lists[l] && lists[l][i]; i++)
			if (starts(name, lists[l][i]))
				return true;
	return false;
}

bool alloc_code__entry_name(const char *name)
{
	for (int fn = 0; fn < LW_FN__MAX; fn++)
		if (!strcmp(name, alloc_fn_name(fn)))
			return true;
	/* operator new / new[] (their nothrow and aligned forms too) */
	return starts(name, "_Znwm") || starts(name, "_Znam");
}

/* Each defined FUNC symbol of section s: fn(name, file offset, size). */
static int each_func(struct elf_file *f, Elf_Scn *s,
		     int (*fn)(void *arg, const char *name, uint64_t off, uint64_t size), void *arg)
{
	GElf_Shdr sh;
	Elf_Data *d;
	GElf_Sym sym;
	int err = 0;

	if (!s || !gelf_getshdr(s, &sh) || !(d = elf_getdata(s, NULL)) || !sh.sh_entsize)
		return 0;
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && !err; i++) {
		const char *name;
		uint64_t off;

		if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_size)
			continue;
		name = elf_strptr(f->e, sh.sh_link, sym.st_name);
		if (!name || elf_vaddr_to_off(f->e, sym.st_value, &off))
			continue;
		err = fn(arg, name, off, sym.st_size);
	}
	return err;
}

struct learn {
	struct alloc_code *ac;
	const char *path;
	unsigned families;
	bool names; /* an executable that is its own allocator */
};

static int see_family(void *arg, const char *name, uint64_t off, uint64_t size)
{
	(void)off, (void)size;
	((struct learn *)arg)->families |= alloc_code__family_of(name);
	return 0;
}

static int see_func(void *arg, const char *name, uint64_t off, uint64_t size)
{
	struct learn *l = arg;

	if (alloc_code__entry_name(name))
		return alloc_code__add_range(l->ac, l->path, off, off + size, ALLOC_CODE_ENTRY);
	if (l->names && alloc_code__internal_name(name, l->families))
		return alloc_code__add_range(l->ac, l->path, off, off + size, ALLOC_CODE_INTERNAL);
	return 0;
}

int alloc_code__learn(struct alloc_code *ac, const char *shown, const char *file)
{
	struct learn l = {.ac = ac, .path = shown};
	struct elf_file f;
	int err;

	if (module_of(ac, shown))
		return 0;
	if (elf_file__open(&f, file)) /* by name alone */
		return alloc_code__add_module(ac, shown, !libc_like(shown) && strstr(shown, ".so"));
	/* libc.so.6 has a PT_INTERP too: it is no executable here */
	l.names = f.exe && !libc_like(shown);
	err = alloc_code__add_module(ac, shown, !f.exe && !libc_like(shown));
	if (!err && l.names) {
		err = each_func(&f, f.symtab, see_family, &l);
		err = err ? err : each_func(&f, f.dynsym, see_family, &l);
	}
	err = err ? err : each_func(&f, f.symtab, see_func, &l);
	err = err ? err : each_func(&f, f.dynsym, see_func, &l);
	elf_file__close(&f);
	return err;
}
