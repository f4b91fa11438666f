// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Symbolizer: per-process executable file mappings, and per-file ELF state
 * (program headers, sorted function symbols, DWARF lines) opened once and
 * kept, because every frame of every finding hits the same few modules.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/vec.h"
#include "stack/debuginfo.h"
#include "stack/demangle.h"
#include "stack/symbolize_internal.h"

#define SYM_NEST_MAX 16 /* how far back to look for a sized symbol enclosing a pc */

struct symbolizer *symbolizer__new(void)
{
	/* libelf refuses elf_begin until a version is set; idempotent. */
	elf_version(EV_CURRENT);
	return calloc(1, sizeof(struct symbolizer));
}

void symbolizer__set_verbose(struct symbolizer *s, bool verbose)
{
	if (s)
		s->verbose = verbose;
}

static void mod_free(struct sym_mod *m)
{
	if (!m)
		return;
	if (m->dw)
		dwarf_end(m->dw);
	if (m->dbg_elf)
		elf_end(m->dbg_elf);
	if (m->mini_elf)
		elf_end(m->mini_elf);
	free(m->mini_image);
	if (m->elf)
		elf_end(m->elf);
	free(m->loads);
	free(m->syms);
	free(m->texts);
	free(m->path);
	free(m->shown);
	free(m);
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_mods; i++)
		mod_free(s->mods[i]);
	for (size_t i = 0; i < s->nr_procs; i++)
		free(s->procs[i].maps);
	free(s->mods);
	free(s->procs);
	debuginfod__free(s->dfd);
	free(s);
}

/* Index of the first module whose path is >= path. */
static size_t mod_lower(const struct symbolizer *s, const char *path)
{
	size_t lo = 0, hi = s->nr_mods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->mods[mid]->path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Find or create the module for the file path (not opened yet), shown as
 * shown. NULL on ENOMEM.
 */
struct sym_mod *mod_get(struct symbolizer *s, const char *path, const char *shown)
{
	size_t i = mod_lower(s, path);
	struct sym_mod *m;

	if (i < s->nr_mods && !strcmp(s->mods[i]->path, path))
		return s->mods[i];
	if (lw_vec_grow((void **)&s->mods, &s->cap_mods, s->nr_mods + 1, sizeof(*s->mods)))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path)) || !(m->shown = strdup(shown))) {
		if (m)
			free(m->path);
		free(m);
		return NULL;
	}
	memmove(&s->mods[i + 1], &s->mods[i], (s->nr_mods - i) * sizeof(*s->mods));
	s->mods[i] = m;
	s->nr_mods++;
	return m;
}

static unsigned sym_rank(const char *name, unsigned char bind)
{
	unsigned us = 0;

	while (name[us] == '_' && us < 3)
		us++;
	/* getpid over __getpid, fopen over _IO_new_fopen: users call the plain
	 * name; free over cfree@GLIBC_2.2.5: a non-default version is a compat alias
	 */
	return us * 8 + (strchr(name, '@') ? 4 : 0) +
	       (bind == STB_GLOBAL ? 0
		: bind == STB_WEAK ? 1
				   : 2);
}

static int add_symbols(struct sym_mod *m, Elf *elf, size_t *cap)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t n;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *name;
			int type;

			if (!gelf_getsym(d, i, &sym))
				break;
			type = GELF_ST_TYPE(sym.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			if (lw_vec_grow((void **)&m->syms, cap, m->nr_syms + 1, sizeof(*m->syms)))
				return -ENOMEM;
			m->syms[m->nr_syms++] = (struct sym_ent){
			    .addr = sym.st_value,
			    .size = sym.st_size,
			    .name = name,
			    .rank = sym_rank(name, GELF_ST_BIND(sym.st_info)),
			};
		}
	}
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym_ent *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (!x->size != !y->size)
		return x->size ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	/* free over cfree: the shorter of equal aliases is the canonical one */
	if (strlen(x->name) != strlen(y->name))
		return strlen(x->name) < strlen(y->name) ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Executable sections: a pc there without a symbol covering it is likely a
 * local function of a stripped file, and the nearest preceding symbol a
 * fair pointer to it; in .plt or outside any section it is not.
 */
static int add_texts(struct sym_mod *m, Elf *elf)
{
	size_t cap = 0;

	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR) ||
		    !sh.sh_size)
			continue;
		if (lw_vec_grow((void **)&m->texts, &cap, m->nr_texts + 1, sizeof(*m->texts)))
			return -ENOMEM;
		m->texts[m->nr_texts++] = (struct sym_range){sh.sh_addr, sh.sh_addr + sh.sh_size};
	}
	return 0;
}

/* Function symbols of every source the module has, sorted, the best
 * alias per address; and its executable sections. Failures leave none.
 */
static void mod_index(struct sym_mod *m)
{
	size_t cap = 0, j = 0;

	free(m->syms);
	free(m->texts);
	m->syms = NULL;
	m->texts = NULL;
	m->nr_syms = m->nr_texts = 0;
	if (add_symbols(m, m->elf, &cap) || (m->dbg_elf && add_symbols(m, m->dbg_elf, &cap)) ||
	    (m->mini_elf && add_symbols(m, m->mini_elf, &cap)) || add_texts(m, m->elf)) {
		free(m->syms);
		m->syms = NULL;
		m->nr_syms = 0;
		return;
	}
	if (!m->nr_syms)
		return;
	qsort(m->syms, m->nr_syms, sizeof(*m->syms), sym_cmp);
	/* keep the best alias per address (sorted first) */
	for (size_t i = 1; i < m->nr_syms; i++)
		if (m->syms[i].addr != m->syms[j].addr)
			m->syms[++j] = m->syms[i];
	m->nr_syms = j + 1;
}

/* Open path, read PT_LOADs and function symbols: the file's own, a
 * build-id debug file's, else its MiniDebugInfo's. Failures leave a module
 * that resolves nothing, so a missing or stripped file costs one attempt.
 */
void mod_load(struct sym_mod *m)
{
	size_t nphdr;
	bool has_symtab, has_dwarf;

	m->tried = true;
	m->elf = debuginfo__open_path(m->path);
	if (!m->elf || elf_getphdrnum(m->elf, &nphdr))
		return;
	m->loads = calloc(nphdr ? nphdr : 1, sizeof(*m->loads));
	if (!m->loads)
		return;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(m->elf, i, &ph) && ph.p_type == PT_LOAD)
			m->loads[m->nr_loads++] = ph;
	}

	has_symtab = debuginfo__has_symtab(m->elf);
	has_dwarf = debuginfo__section(m->elf, ".debug_info") != NULL;
	if (!has_symtab || !has_dwarf) {
		m->dbg_elf = debuginfo__build_id_file(m->elf, LW_DEBUG_DIR);
		/* a server only when a frame needs it: this may run on the
		 * event path (a process in another mount namespace)
		 */
		m->dfd_wanted = !m->dbg_elf;
	}
	if (!has_symtab && !debuginfo__has_symtab(m->dbg_elf))
		m->mini_elf = debuginfo__mini(m->elf, &m->mini_image);
	mod_index(m);
}

/* The last resort for a module a frame lies in: a debuginfod server
 * (DEBUGINFOD_URLS set), whose debug file adds symbols and lines.
 */
static void mod_debuginfod(struct symbolizer *s, struct sym_mod *m)
{
	m->dfd_wanted = false;
	if (!s->dfd_tried) {
		s->dfd_tried = true;
		s->dfd = debuginfod__new(s->verbose);
	}
	m->dbg_elf = debuginfod__find(s->dfd, m->elf, m->shown);
	if (!m->dbg_elf)
		return;
	if (!m->dw)
		m->dw_tried = false;
	mod_index(m);
}

static bool mod_off_to_vaddr(const struct sym_mod *m, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < m->nr_loads; i++) {
		const GElf_Phdr *ph = &m->loads[i];

		if (off >= ph->p_offset && off - ph->p_offset < ph->p_filesz) {
			*vaddr = off - ph->p_offset + ph->p_vaddr;
			return true;
		}
	}
	return false;
}

static bool in_text(const struct sym_mod *m, uint64_t a, uint64_t b)
{
	for (size_t i = 0; i < m->nr_texts; i++)
		if (a >= m->texts[i].lo && b < m->texts[i].hi)
			return true;
	return false;
}

/* The symbol covering vaddr. Else, in an executable section, the nearest
 * preceding one there with *inexact set: the pc is in a function the file
 * has no symbol for (a static one of a stripped file), somewhere after it.
 */
static const struct sym_ent *mod_symbol(const struct sym_mod *m, uint64_t vaddr, bool *inexact)
{
	size_t lo = 0, hi = m->nr_syms, stop;
	const struct sym_ent *prev;

	*inexact = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/* lo-1 is the last symbol starting at or before vaddr; an enclosing
	 * sized symbol may start earlier (nested aliases), look back a little.
	 */
	stop = lo > SYM_NEST_MAX ? lo - SYM_NEST_MAX : 0;
	for (size_t i = lo; i-- > stop;) {
		const struct sym_ent *e = &m->syms[i];

		if (e->size && vaddr - e->addr < e->size)
			return e;
	}
	prev = &m->syms[lo - 1];
	/* unsized (hand-written asm): the nearest preceding one is the best
	 * guess, in its own section (not _init for a pc in .plt)
	 */
	if (!prev->size)
		return !m->nr_texts || in_text(m, prev->addr, vaddr) ? prev : NULL;
	if (!in_text(m, prev->addr, vaddr))
		return NULL;
	*inexact = true;
	return prev;
}

static Dwarf *mod_dwarf(struct sym_mod *m)
{
	Dwarf_Aranges *ar;
	size_t nar = 0;

	if (m->dw_tried)
		return m->dw;
	m->dw_tried = true;
	if (debuginfo__section(m->elf, ".debug_info"))
		m->dw = dwarf_begin_elf(m->elf, DWARF_C_READ, NULL);
	if (!m->dw && m->dbg_elf)
		m->dw = dwarf_begin_elf(m->dbg_elf, DWARF_C_READ, NULL);
	if (m->dw && !dwarf_getaranges(m->dw, &ar, &nar) && nar)
		m->dw_aranges = true;
	return m->dw;
}

/* The CU containing vaddr; without .debug_aranges scan CU ranges. */
static bool mod_cu(struct sym_mod *m, Dwarf *dw, uint64_t vaddr, Dwarf_Die *cu)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (dwarf_addrdie(dw, vaddr, cu))
		return true;
	if (m->dw_aranges)
		return false;
	while (!dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		if (dwarf_offdie(dw, off + hsize, cu) && dwarf_haspc(cu, vaddr) > 0)
			return true;
		off = next;
	}
	return false;
}

static int mod_line(struct sym_mod *m, uint64_t vaddr, struct lw_sym_frame *out)
{
	Dwarf *dw = mod_dwarf(m);
	Dwarf_Die cu;
	Dwarf_Line *l;
	const char *src;
	int line = 0;

	if (!dw || !mod_cu(m, dw, vaddr, &cu))
		return 0;
	l = dwarf_getsrc_die(&cu, vaddr);
	if (!l || dwarf_lineno(l, &line) || line <= 0)
		return 0;
	src = dwarf_linesrc(l, NULL, NULL);
	if (!src)
		return 0;
	out->file = strdup(src);
	if (!out->file)
		return -ENOMEM;
	out->line = line;
	return 0;
}

/* The name as people write it, with the ELF's own after it in the same
 * allocation (*mangled points there) when the two differ.
 */
static char *frame_name(const char *name, const char **mangled)
{
	char *dem = lw_demangle(name), *buf;
	size_t a, b;

	*mangled = NULL;
	if (!dem)
		return strdup(name);
	a = strlen(dem) + 1;
	b = strlen(name) + 1;
	buf = realloc(dem, a + b);
	if (!buf) {
		free(dem);
		return NULL;
	}
	memcpy(buf + a, name, b);
	*mangled = buf + a;
	return buf;
}

static void frame_clear(struct lw_sym_frame *f)
{
	free(f->module);
	free(f->symbol);
	free(f->file);
	memset(f, 0, sizeof(*f));
}

int symbolizer__resolve(struct symbolizer *s, uint32_t tgid, uint64_t addr, bool is_return_addr,
			struct lw_sym_frame *out)
{
	/* a return address points past the call, maybe into the next function */
	uint64_t look = is_return_addr && addr ? addr - 1 : addr;
	const struct lw_mapping *map;
	const struct sym_ent *sym;
	struct sym_mod *mod;
	uint64_t vaddr;
	bool inexact;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	map = symbolizer__find(s, tgid, look);
	if (!map)
		return 0;
	out->module = strdup(map->path);
	mod = mod_get(s, map->file, map->path);
	if (!out->module || !mod)
		goto nomem;
	if (!mod->tried)
		mod_load(mod);
	/* unreadable: the path may no longer name the mapped file (deleted,
	 * replaced, another mount namespace), so no offset into it
	 */
	if (!mod->elf)
		return 0;
	if (mod->dfd_wanted)
		mod_debuginfod(s, mod);
	if (!mod_off_to_vaddr(mod, look - map->start + map->file_off, &vaddr)) {
		out->offset = addr - map->start + map->file_off;
		return 0;
	}
	sym = mod_symbol(mod, vaddr, &inexact);
	if (sym) {
		out->symbol = frame_name(sym->name, &out->mangled);
		if (!out->symbol)
			goto nomem;
		out->inexact = inexact;
		out->offset = vaddr - sym->addr + (addr - look);
	} else {
		/* stripped: where in the file the pc is, to look up later in a
		 * debug copy; from addr like the symbol offset, not from look
		 */
		out->offset = addr - map->start + map->file_off;
	}
	if (mod_line(mod, vaddr, out))
		goto nomem;
	return 0;
nomem:
	frame_clear(out);
	out->addr = addr;
	return -ENOMEM;
}

/* Symbolize ips into a fresh frames array (replacing the old one). */
static int symbolize_ips(struct symbolizer *s, uint32_t pid, const struct lw_ips *ips,
			 struct lw_sym_frame **frames, unsigned *nr_frames)
{
	unsigned nr;
	int err = 0;

	for (unsigned i = 0; i < *nr_frames; i++)
		frame_clear(&(*frames)[i]);
	free(*frames);
	*frames = NULL;
	*nr_frames = 0;

	nr = ips->nr < LW_STACK_MAX ? ips->nr : LW_STACK_MAX;
	if (!nr)
		return 0;
	*frames = calloc(nr, sizeof(**frames));
	if (!*frames)
		return -ENOMEM;
	*nr_frames = nr;
	for (unsigned i = 0; i < nr; i++) {
		int e = symbolizer__resolve(s, pid, ips->ips[i], lw_ips__is_return(ips, i),
					    &(*frames)[i]);

		if (e && !err)
			err = e;
	}
	return err;
}

int symbolizer__finding(struct symbolizer *s, struct lw_finding *f)
{
	int err;

	if (!s || !f)
		return -EINVAL;
	err = symbolize_ips(s, f->pid, &f->stack, &f->frames, &f->nr_frames);
	for (unsigned i = 0; i < f->nr_extra && i < LW_FINDING_EXTRA_MAX; i++) {
		struct lw_evidence *x = &f->extra[i];
		int e = symbolize_ips(s, x->pid ? x->pid : f->pid, &x->stack, &x->frames,
				      &x->nr_frames);

		if (e && !err)
			err = e;
	}
	return err;
}
