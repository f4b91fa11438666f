// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* FUNC symbol file offsets with libelf (see elf_sym.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "detect/mem/alloc_resolve.h"
#include "stack/elf_sym.h"

void elf_file__close(struct elf_file *f)
{
	if (f->e)
		elf_end(f->e);
	if (f->fd >= 0)
		close(f->fd);
	f->e = NULL;
	f->fd = -1;
}

/* 0, -ENOEXEC (not ELF) or -errno. */
int elf_file__open(struct elf_file *f, const char *path)
{
	GElf_Ehdr eh;
	GElf_Phdr ph;
	GElf_Shdr sh;
	GElf_Dyn dyn;
	Elf_Scn *s = NULL;
	size_t n = 0;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	f->e = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->e || elf_kind(f->e) != ELF_K_ELF || !gelf_getehdr(f->e, &eh)) {
		elf_file__close(f);
		return -ENOEXEC;
	}
	f->exe = eh.e_type == ET_EXEC;
	if (elf_getphdrnum(f->e, &n))
		n = 0;
	for (size_t i = 0; i < n; i++)
		if (gelf_getphdr(f->e, i, &ph) && ph.p_type == PT_INTERP)
			f->interp = f->exe = true;
	while ((s = elf_nextscn(f->e, s))) {
		if (!gelf_getshdr(s, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			f->symtab = s;
		else if (sh.sh_type == SHT_DYNSYM)
			f->dynsym = s;
		else if (sh.sh_type == SHT_GNU_versym)
			f->versym = s;
		else if (sh.sh_type == SHT_GNU_verdef)
			f->verdef = s;
		else if (sh.sh_type == SHT_DYNAMIC)
			f->dynamic = s;
	}
	/* static-pie has neither ET_EXEC nor PT_INTERP, only DF_1_PIE */
	for (size_t i = 0; f->dynamic && gelf_getdyn(elf_getdata(f->dynamic, NULL), i, &dyn); i++)
		if (dyn.d_tag == DT_FLAGS_1) {
			f->exe |= dyn.d_un.d_val & DF_1_PIE;
			f->nodeflib = dyn.d_un.d_val & DF_1_NODEFLIB;
		}
	return 0;
}

/* Name of version definition ndx ("GLIBC_2.16"), from .gnu.version_d. */
static const char *verdef_name(struct elf_file *f, unsigned ndx)
{
	GElf_Shdr sh;
	GElf_Verdef vd;
	GElf_Verdaux va;
	Elf_Data *d;
	size_t off = 0;

	if (!f->verdef || !gelf_getshdr(f->verdef, &sh) || !(d = elf_getdata(f->verdef, NULL)))
		return NULL;
	for (unsigned i = 0; i < sh.sh_info; i++) {
		if (!gelf_getverdef(d, off, &vd))
			return NULL;
		if (vd.vd_ndx == ndx && gelf_getverdaux(d, off + vd.vd_aux, &va))
			return elf_strptr(f->e, sh.sh_link, va.vda_name);
		if (!vd.vd_next)
			break;
		off += vd.vd_next;
	}
	return NULL;
}

/* Defined GLOBAL/WEAK FUNC or IFUNC want ("name", "name@VER", "name@@VER")
 * in scn. The default version beats a hidden one (glibc keeps old versions
 * of some functions next to the current one). .symtab spells versions into
 * names; .dynsym keeps them in .gnu.version.
 */
static int find_sym(struct elf_file *f, Elf_Scn *scn, const char *want, GElf_Addr *addr,
		    bool *ifunc)
{
	const char *at = strchr(want, '@'), *ver = NULL;
	size_t blen = at ? (size_t)(at - want) : strlen(want);
	bool want_default = at && at[1] == '@', dyn = scn == f->dynsym;
	Elf_Data *d, *vd = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;
	GElf_Versym vs;
	int best = 0, type;

	if (at)
		ver = at + 1 + want_default;
	if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
		return -ENOENT;
	if (dyn && f->versym)
		vd = elf_getdata(f->versym, NULL);
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
		const char *name, *sver = NULL;
		bool hidden = false;
		int bind;

		if (!gelf_getsym(d, i, &sym))
			break;
		bind = GELF_ST_BIND(sym.st_info);
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    (bind != STB_GLOBAL && bind != STB_WEAK))
			continue;
		name = elf_strptr(f->e, sh.sh_link, sym.st_name);
		if (!name || strncmp(name, want, blen))
			continue;
		if (name[blen] == '@') {
			hidden = name[blen + 1] != '@';
			sver = name + blen + 1 + !hidden;
		} else if (name[blen]) {
			continue;
		} else if (vd && gelf_getversym(vd, i, &vs)) {
			if (!(vs & 0x7fff))
				continue; /* VER_NDX_LOCAL */
			hidden = vs & 0x8000;
			if ((vs & 0x7fff) > 1)
				sver = verdef_name(f, vs & 0x7fff);
		}
		if (ver && (!sver || strcmp(sver, ver) || (want_default && hidden)))
			continue;
		if ((hidden ? 1 : 2) > best) {
			best = hidden ? 1 : 2;
			*addr = sym.st_value;
			*ifunc = type == STT_GNU_IFUNC;
		}
	}
	return best ? 0 : -ENOENT;
}

/* to_off: va -> offset, else offset -> va */
static int load_convert(Elf *e, uint64_t in, bool to_off, uint64_t *out)
{
	GElf_Phdr ph;
	size_t n;

	if (elf_getphdrnum(e, &n))
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		uint64_t base;

		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		base = to_off ? ph.p_vaddr : ph.p_offset;
		if (in >= base && in < base + ph.p_filesz) {
			*out = in - base + (to_off ? ph.p_offset : ph.p_vaddr);
			return 0;
		}
	}
	return -ENOENT;
}

uint64_t elf_func_size(Elf *e, uint64_t va)
{
	uint64_t size = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym s;

	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++)
			if (gelf_getsym(d, (int)i, &s) && GELF_ST_TYPE(s.st_info) == STT_FUNC &&
			    s.st_shndx != SHN_UNDEF && s.st_value == va && s.st_size > size)
				size = s.st_size;
	}
	return size;
}

int elf_vaddr_to_off(Elf *e, uint64_t va, uint64_t *off)
{
	return load_convert(e, va, true, off);
}

int elf_off_to_vaddr(Elf *e, uint64_t off, uint64_t *va)
{
	return load_convert(e, off, false, va);
}

/* Only exported symbols serve other objects; an executable's own calls also
 * bind to its local definitions, hence .symtab first there.
 */
int elf_file__func_off(struct elf_file *f, const char *name, uint64_t *off)
{
	GElf_Addr va = 0;
	bool ifunc = false;
	int err = -ENOENT;

	if (f->exe && f->symtab)
		err = find_sym(f, f->symtab, name, &va, &ifunc);
	if (err && f->dynsym)
		err = find_sym(f, f->dynsym, name, &va, &ifunc);
	if (!err && ifunc)
		return -ENOTSUP;
	return err ? err : elf_vaddr_to_off(f->e, va, off);
}

int elf_file__sym_off(struct elf_file *f, const char *name, uint64_t *off)
{
	int err = elf_file__func_off(f, name, off);

	return err == -ENOTSUP ? -ENOENT : err;
}

int elf_symbol_file_offset(const char *path, const char *name, uint64_t *off)
{
	struct elf_file f;
	int err = elf_file__open(&f, path);

	if (err)
		return err;
	err = elf_file__sym_off(&f, name, off);
	elf_file__close(&f);
	return err;
}
