// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A model of the dynamic linker's symbol lookup order (glibc rtld), just
 * enough to name the object that serves malloc and to place uprobes on it.
 * Live processes: the order is rebuilt from the executable's DT_NEEDED graph,
 * matched against what /proc/PID/maps says is really mapped. Commands not yet
 * started: library names are searched on disk the way ld.so searches them.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc_resolve.h"

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

/* vsnprintf through a helper: truncating a long path into why[] is fine. */
__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
}

#define FAIL(ret, ...) (fmt(err, errlen, __VA_ARGS__), (ret))

/* ---- ELF ---------------------------------------------------------------- */

struct elf_file {
	int fd;
	Elf *e;
	bool exe;      /* ET_EXEC, PT_INTERP or DF_1_PIE: its .symtab counts too */
	bool interp;   /* PT_INTERP: ld.so runs, so preloads and DT_NEEDED apply */
	bool nodeflib; /* DF_1_NODEFLIB: no ld.so.cache, no default directories */
	Elf_Scn *symtab, *dynsym, *versym, *verdef, *dynamic;
};

static void elf_file__close(struct elf_file *f)
{
	if (f->e)
		elf_end(f->e);
	if (f->fd >= 0)
		close(f->fd);
	f->e = NULL;
	f->fd = -1;
}

/* 0, -ENOEXEC (not ELF) or -errno. */
static int elf_file__open(struct elf_file *f, const char *path)
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

/* Defined GLOBAL/WEAK FUNC want ("name", "name@VER", "name@@VER") in scn.
 * The default version beats a hidden one (glibc keeps old versions of some
 * functions next to the current one). .symtab spells versions into names;
 * .dynsym keeps them in .gnu.version.
 */
static int find_sym(struct elf_file *f, Elf_Scn *scn, const char *want, GElf_Addr *addr)
{
	const char *at = strchr(want, '@'), *ver = NULL;
	size_t blen = at ? (size_t)(at - want) : strlen(want);
	bool want_default = at && at[1] == '@', dyn = scn == f->dynsym;
	Elf_Data *d, *vd = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;
	GElf_Versym vs;
	int best = 0;

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
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
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
		}
	}
	return best ? 0 : -ENOENT;
}

static int vaddr_to_off(struct elf_file *f, GElf_Addr va, uint64_t *off)
{
	GElf_Phdr ph;
	size_t n;

	if (elf_getphdrnum(f->e, &n))
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(f->e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (va >= ph.p_vaddr && va < ph.p_vaddr + ph.p_filesz) {
			*off = va - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* Only exported symbols serve other objects; an executable's own calls also
 * bind to its local definitions, hence .symtab first there.
 */
static int elf_file__sym_off(struct elf_file *f, const char *name, uint64_t *off)
{
	GElf_Addr va = 0;
	int err = -ENOENT;

	if (f->exe && f->symtab)
		err = find_sym(f, f->symtab, name, &va);
	if (err && f->dynsym)
		err = find_sym(f, f->dynsym, name, &va);
	return err ? err : vaddr_to_off(f, va, off);
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

/* ---- /etc/ld.so.cache ("glibc-ld.so.cache1.1", glibc >= 2.32 default) ---- */

struct ldc_hdr {
	char magic[20]; /* "glibc-ld.so.cache" "1.1" */
	uint32_t nlibs, len_strings;
	uint8_t flags, pad[3];
	uint32_t ext_off, unused[3];
};

struct ldc_entry {
	int32_t flags;
	uint32_t key, value; /* string offsets from the start of ldc_hdr */
	uint32_t osversion;
	uint64_t hwcap;
};

#define LDC_FLAG_ELF_LIBC6 0x0003
#define LDC_FLAG_X8664_64  0x0300 /* FLAG_X8664_LIB64 */

struct ldcache {
	char *buf; /* the whole file; NULL when absent or not in the new format */
	size_t len;
};

static char *read_all(const char *path, size_t *len);

/* Only the new format: glibc >= 2.32 writes no old-format prefix by default. */
static void ldcache__load(struct ldcache *c, const char *path)
{
	c->buf = read_all(path, &c->len);
	if (c->buf &&
	    (c->len < sizeof(struct ldc_hdr) || memcmp(c->buf, "glibc-ld.so.cache1.1", 20))) {
		free(c->buf);
		c->buf = NULL;
	}
}

static const char *ldcache__str(const struct ldcache *c, uint32_t off)
{
	return off < c->len && memchr(c->buf + off, 0, c->len - off) ? c->buf + off : NULL;
}

static const char *ldcache__lookup(const struct ldcache *c, const char *name)
{
	const struct ldc_hdr *h = (const struct ldc_hdr *)c->buf;
	const struct ldc_entry *e = (const struct ldc_entry *)(h + 1);
	size_t max = c->buf ? (c->len - sizeof(*h)) / sizeof(*e) : 0;

	for (size_t i = 0; i < max && i < h->nlibs; i++) {
		const char *k = ldcache__str(c, e[i].key);

		/* hwcap != 0: glibc-hwcaps subdirectory variants; the baseline is enough */
		if ((e[i].flags & 0xff) != LDC_FLAG_ELF_LIBC6 ||
		    (e[i].flags & 0xff00) != LDC_FLAG_X8664_64 || e[i].hwcap || !k ||
		    strcmp(k, name))
			continue;
		return ldcache__str(c, e[i].value);
	}
	return NULL;
}

/* ---- the lookup order ----------------------------------------------------- */

enum ar_how { AR_EXE, AR_PRELOAD, AR_SYS_PRELOAD, AR_NEEDED };

struct ar_obj {
	char path[PATH_MAX]; /* as we open it and attach to it */
	char name[256];	     /* spelling that queued it (DT_NEEDED, LD_PRELOAD) */
	char soname[256];
	char **needed;
	int nr_needed;
	char *rpath, *runpath;
	bool dyn_done, elf_ok, interp, nodeflib, queued;
	enum ar_how how;
	int parent; /* object whose DT_NEEDED named it, -1 */
};

struct ar_ctx {
	pid_t pid;     /* 0: command mode */
	char root[32]; /* "/proc/N/root" when the process has another root */
	struct ar_obj *objs;
	int *order;
	int nr_objs, cap, nr_order, exe;
	unsigned char ei_class;
	uint16_t e_machine;
	const char *ld_library_path;
	struct ldcache cache;
	char script[PATH_MAX]; /* command mode: the "#!" script, if any */
};

static void ctx__free(struct ar_ctx *c)
{
	for (int i = 0; i < c->nr_objs; i++) {
		for (int j = 0; j < c->objs[i].nr_needed; j++)
			free(c->objs[i].needed[j]);
		free(c->objs[i].needed);
		free(c->objs[i].rpath);
		free(c->objs[i].runpath);
	}
	free(c->objs);
	free(c->order);
	free(c->cache.buf);
}

/* Index of the object at path (added when new), or -ENOMEM. */
static int ctx__add(struct ar_ctx *c, const char *path)
{
	struct ar_obj *o;

	for (int i = 0; i < c->nr_objs; i++)
		if (!strcmp(c->objs[i].path, path))
			return i;
	if (c->nr_objs == c->cap) {
		int cap = c->cap ? c->cap * 2 : 32;
		void *objs = realloc(c->objs, cap * sizeof(*c->objs));
		void *order = objs ? realloc(c->order, cap * sizeof(*c->order)) : NULL;

		if (objs)
			c->objs = objs;
		if (!objs || !order)
			return -ENOMEM;
		c->order = order;
		c->cap = cap;
	}
	o = &c->objs[c->nr_objs];
	memset(o, 0, sizeof(*o));
	fmt(o->path, sizeof(o->path), "%s", path);
	o->parent = -1;
	return c->nr_objs++;
}

/* SONAME, DT_NEEDED, RPATH/RUNPATH, PT_INTERP of object i, once. Only regular
 * files are opened: maps also lists device mappings, and opening a device has
 * side effects.
 */
static void obj__load_dyn(struct ar_ctx *c, int i)
{
	struct ar_obj *o = &c->objs[i];
	struct elf_file f;
	struct stat st;
	GElf_Shdr sh;
	GElf_Dyn dyn;
	Elf_Data *d;

	if (o->dyn_done)
		return;
	o->dyn_done = true;
	if (stat(o->path, &st) || !S_ISREG(st.st_mode) || elf_file__open(&f, o->path))
		return;
	o->elf_ok = true;
	o->interp = f.interp;
	o->nodeflib = f.nodeflib;
	if (f.dynamic && gelf_getshdr(f.dynamic, &sh) && sh.sh_entsize &&
	    (d = elf_getdata(f.dynamic, NULL))) {
		for (size_t k = 0; k < sh.sh_size / sh.sh_entsize; k++) {
			const char *s;

			if (!gelf_getdyn(d, k, &dyn) || dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_SONAME &&
			    dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH)
				continue;
			if (!(s = elf_strptr(f.e, sh.sh_link, dyn.d_un.d_val)))
				continue;
			if (dyn.d_tag == DT_SONAME) {
				fmt(o->soname, sizeof(o->soname), "%s", s);
			} else if (dyn.d_tag == DT_RPATH && !o->rpath) {
				o->rpath = strdup(s);
			} else if (dyn.d_tag == DT_RUNPATH && !o->runpath) {
				o->runpath = strdup(s);
			} else if (dyn.d_tag == DT_NEEDED) {
				char **n = realloc(o->needed, (o->nr_needed + 1) * sizeof(*n));

				if (!n)
					break;
				o->needed = n;
				if ((n[o->nr_needed] = strdup(s)))
					o->nr_needed++;
			}
		}
	}
	elf_file__close(&f);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Process mode: which mapped object did ld.so load for name? DT_NEEDED and
 * bare LD_PRELOAD names match a SONAME or file name; paths match exactly or
 * after realpath (symlinked preloads).
 */
static int match_mapped(struct ar_ctx *c, const char *name)
{
	size_t rl = strlen(c->root);
	char rp[PATH_MAX];

	for (int i = 0; i < c->nr_objs; i++) {
		const char *p = c->objs[i].path + rl;

		if (strchr(name, '/')) {
			if (!strcmp(p, name))
				return i;
			continue;
		}
		obj__load_dyn(c, i);
		if (!strcmp(base_name(p), name) || !strcmp(c->objs[i].soname, name))
			return i;
	}
	if (strchr(name, '/') && !c->root[0] && realpath(name, rp))
		for (int i = 0; i < c->nr_objs; i++)
			if (!strcmp(c->objs[i].path, rp))
				return i;
	return -1;
}

/* ld.so skips libraries of another class or machine (i386 dirs, etc). */
static bool lib_fits(const struct ar_ctx *c, const char *path)
{
	unsigned char h[20];
	struct stat st;
	int fd;
	bool ok;

	if (stat(path, &st) || !S_ISREG(st.st_mode) || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	ok = pread(fd, h, sizeof(h), 0) == sizeof(h) && !memcmp(h, ELFMAG, SELFMAG) &&
	     h[EI_CLASS] == c->ei_class && (h[18] | h[19] << 8) == c->e_machine;
	close(fd);
	return ok;
}

/* Search a colon list of directories ($ORIGIN = the loader's directory). */
static bool search_dirs(struct ar_ctx *c, const char *list, int loader, const char *name, char *out)
{
	char dir[PATH_MAX], cand[PATH_MAX], origin[PATH_MAX];
	const char *s = list;

	fmt(origin, sizeof(origin), "%s", c->objs[loader].path);
	*strrchr(origin, '/') = 0; /* paths are absolute (realpath) */
	while (s && *s) {
		size_t n = strcspn(s, ":");
		const char *o;

		fmt(dir, sizeof(dir), "%.*s", (int)n, s);
		s += n + !!s[n];
		if ((o = strstr(dir, "$ORIGIN")) || (o = strstr(dir, "${ORIGIN}"))) {
			fmt(cand, sizeof(cand), "%.*s%s%s", (int)(o - dir), dir, origin,
			    o + (o[1] == '{' ? 9 : 7));
			fmt(dir, sizeof(dir), "%s", cand);
		}
		fmt(cand, sizeof(cand), "%s/%s", dir[0] ? dir : ".", name);
		if (lib_fits(c, cand) && realpath(cand, out))
			return true;
	}
	return false;
}

/* Command mode: the file ld.so would load for name, in glibc's order. */
static int find_lib(struct ar_ctx *c, int loader, const char *name)
{
	static const char *const defaults =
	    "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib";
	char out[PATH_MAX];
	const char *cached;
	bool ok = false;

	if (strchr(name, '/')) {
		ok = lib_fits(c, name) && realpath(name, out);
	} else {
		const struct ar_obj *lo = &c->objs[loader], *exe = &c->objs[c->exe];

		/* DT_RPATH only counts when the loader has no DT_RUNPATH */
		if (!lo->runpath && lo->rpath)
			ok = search_dirs(c, lo->rpath, loader, name, out);
		if (!ok && !lo->runpath && loader != c->exe && !exe->runpath && exe->rpath)
			ok = search_dirs(c, exe->rpath, c->exe, name, out);
		if (!ok && c->ld_library_path)
			ok = search_dirs(c, c->ld_library_path, c->exe, name, out);
		if (!ok && lo->runpath)
			ok = search_dirs(c, lo->runpath, loader, name, out);
		if (!ok && !lo->nodeflib && (cached = ldcache__lookup(&c->cache, name)))
			ok = lib_fits(c, cached) && realpath(cached, out);
		if (!ok && !lo->nodeflib)
			ok = search_dirs(c, defaults, loader, name, out);
	}
	return ok ? ctx__add(c, out) : -ENOENT;
}

static int resolve(struct ar_ctx *c, int loader, const char *name)
{
	return c->pid ? match_mapped(c, name) : find_lib(c, loader, name);
}

static void queue(struct ar_ctx *c, int i, enum ar_how how, int parent, const char *name)
{
	if (i < 0 || c->objs[i].queued)
		return;
	c->objs[i].queued = true;
	c->objs[i].how = how;
	c->objs[i].parent = parent;
	fmt(c->objs[i].name, sizeof(c->objs[i].name), "%s", name);
	c->order[c->nr_order++] = i;
}

/* glibc splits LD_PRELOAD on spaces and colons, ld.so.preload on white space. */
static void queue_list(struct ar_ctx *c, const char *list, const char *seps, enum ar_how how)
{
	char name[PATH_MAX];

	while (list && *list) {
		size_t n = strcspn(list, seps);

		if (n && n < sizeof(name)) {
			fmt(name, sizeof(name), "%.*s", (int)n, list);
			queue(c, resolve(c, c->exe, name), how, -1, name);
		}
		list += n + !!list[n];
	}
}

static char *read_all(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	ssize_t r = 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while (r > 0) {
		if (!buf || n == cap) {
			if (!(nb = realloc(buf, (cap = buf ? cap * 2 : cap) + 1)))
				break;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		n += r > 0 ? r : 0;
	}
	close(fd);
	if (buf) {
		buf[n] = 0;
		if (len)
			*len = n;
	}
	return buf;
}

/* exe, LD_PRELOAD, /etc/ld.so.preload, then DT_NEEDED breadth-first. */
static void build_order(struct ar_ctx *c, const char *ld_preload)
{
	char path[PATH_MAX];
	char *sys;

	obj__load_dyn(c, c->exe);
	queue(c, c->exe, AR_EXE, -1, c->objs[c->exe].path);
	if (!c->objs[c->exe].interp)
		return; /* static: no ld.so, no preloads */
	queue_list(c, ld_preload, " :", AR_PRELOAD);
	fmt(path, sizeof(path), "%s/etc/ld.so.preload", c->root);
	sys = read_all(path, NULL);
	queue_list(c, sys, " \t\n", AR_SYS_PRELOAD);
	free(sys);
	for (int i = 0; i < c->nr_order; i++) {
		int li = c->order[i];

		obj__load_dyn(c, li);
		for (int j = 0; j < c->objs[li].nr_needed; j++) {
			const char *n = c->objs[li].needed[j]; /* heap: survives realloc */

			queue(c, resolve(c, li, n), AR_NEEDED, li, n);
		}
	}
}

static void fill(struct ar_ctx *c, int i, struct elf_file *f, struct lw_alloc_target *out)
{
	const struct ar_obj *o = &c->objs[i];
	char why[sizeof(out->why)];
	uint64_t off;

	memset(out, 0, sizeof(*out));
	fmt(out->path, sizeof(out->path), "%s", o->path);
	for (int fn = 0; fn < LW_FN__MAX; fn++)
		if (!elf_file__sym_off(f, fn_names[fn], &off)) {
			out->offset[fn] = off;
			out->found[fn] = true;
		}
	if (o->how == AR_EXE)
		fmt(why, sizeof(why), "%s (%s)", o->path,
		    o->interp ? "the executable defines malloc" : "statically linked executable");
	else if (o->how == AR_NEEDED)
		fmt(why, sizeof(why), "%s (DT_NEEDED of %s)", o->name, c->objs[o->parent].path);
	else
		fmt(why, sizeof(why), "%s (%s)", o->name,
		    o->how == AR_PRELOAD ? "LD_PRELOAD" : "/etc/ld.so.preload");
	if (c->script[0])
		fmt(out->why, sizeof(out->why), "%s, for #! script %s", why, c->script);
	else
		fmt(out->why, sizeof(out->why), "%s", why);
}

/* First object in lookup order defining malloc and free serves them. */
static int choose(struct ar_ctx *c, struct lw_alloc_target *out, char *err, size_t errlen)
{
	const char *exe = c->objs[c->exe].path;
	struct elf_file f;
	uint64_t off;
	int ret;

	for (int i = 0; i < c->nr_order; i++) {
		int oi = c->order[i];

		if (!c->objs[oi].elf_ok || elf_file__open(&f, c->objs[oi].path))
			continue;
		if (!elf_file__sym_off(&f, "malloc", &off) &&
		    !elf_file__sym_off(&f, "free", &off)) {
			fill(c, oi, &f, out);
			elf_file__close(&f);
			return 0;
		}
		elf_file__close(&f);
	}
	if ((ret = elf_file__open(&f, exe)))
		return ret == -ENOEXEC ? FAIL(ret, "%s: not an ELF file", exe)
				       : FAIL(ret, "%s: %s", exe, strerror(-ret));
	ret = !f.interp && !f.symtab && elf_file__sym_off(&f, "malloc", &off);
	elf_file__close(&f);
	if (ret)
		return FAIL(-ENODATA, "%s: stripped: no symbol table, cannot find malloc", exe);
	if (c->nr_order > 1)
		return FAIL(-ENOENT, "%s: no malloc/free found in it or its %d shared objects", exe,
			    c->nr_order - 1);
	return FAIL(-ENOENT, "%s: no malloc/free found", exe);
}

/* ---- live process --------------------------------------------------------- */

static void strip_deleted(char *path)
{
	size_t n = strlen(path), d = strlen(" (deleted)");

	if (n > d && !strcmp(path + n - d, " (deleted)"))
		path[n - d] = 0;
}

int alloc_resolve__pid(pid_t pid, struct lw_alloc_target *out, char *err, size_t errlen)
{
	struct ar_ctx c = {.pid = pid};
	char p[64], line[PATH_MAX + 256], exe[PATH_MAX], full[PATH_MAX + 32];
	char *env, *preload = NULL;
	struct stat st, rst;
	size_t len = 0;
	ssize_t n = -1;
	FILE *maps;
	int ret;

	fmt(p, sizeof(p), "/proc/%d", (int)pid);
	if (pid <= 0 || stat(p, &st))
		return FAIL(-ESRCH, "pid %d: no such process", (int)pid);
	/* another mount namespace or chroot: reach its files through its root */
	fmt(p, sizeof(p), "/proc/%d/root", (int)pid);
	if (!stat(p, &st) && !stat("/", &rst) &&
	    (st.st_dev != rst.st_dev || st.st_ino != rst.st_ino))
		fmt(c.root, sizeof(c.root), "%s", p);

	fmt(p, sizeof(p), "/proc/%d/maps", (int)pid);
	if (!(maps = fopen(p, "re"))) {
		ret = -errno;
		return ret == -ENOENT ? FAIL(-ESRCH, "pid %d: no such process", (int)pid)
				      : FAIL(ret, "cannot read %s: %s", p, strerror(-ret));
	}
	while (fgets(line, sizeof(line), maps)) {
		int pos = 0;
		char *path;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%*x-%*x %*s %*x %*s %*u %n", &pos) < 0 || !pos)
			continue;
		path = line + pos;
		if (path[0] != '/')
			continue; /* anonymous, [heap], [vdso], ... */
		strip_deleted(path);
		fmt(full, sizeof(full), "%s%s", c.root, path);
		if (ctx__add(&c, full) < 0) {
			fclose(maps);
			ctx__free(&c);
			return FAIL(-ENOMEM, "out of memory");
		}
	}
	fclose(maps);

	fmt(p, sizeof(p), "/proc/%d/exe", (int)pid);
	errno = ENOENT; /* kernel threads and zombies have no mappings, no exe */
	if (c.nr_objs && (n = readlink(p, exe, sizeof(exe) - 1)) >= 0) {
		exe[n] = 0;
		strip_deleted(exe);
		fmt(full, sizeof(full), "%s%s", c.root, exe);
		c.exe = ctx__add(&c, full);
	}
	if (n < 0 || c.exe < 0) {
		ret = n >= 0 ? -ENOMEM : errno == ENOENT ? -ESRCH : -errno;
		ctx__free(&c);
		if (ret == -ESRCH)
			return FAIL(ret, "pid %d: no executable (kernel thread or exited)",
				    (int)pid);
		return FAIL(ret, "cannot read %s: %s", p, strerror(-ret));
	}

	/* the environment ld.so saw: initial environ, NUL-separated */
	fmt(p, sizeof(p), "/proc/%d/environ", (int)pid);
	env = read_all(p, &len);
	for (size_t i = 0; env && i < len; i += strlen(env + i) + 1)
		if (!strncmp(env + i, "LD_PRELOAD=", 11))
			preload = env + i + 11;

	build_order(&c, preload);
	ret = choose(&c, out, err, errlen);
	free(env);
	ctx__free(&c);
	return ret;
}

/* ---- command before exec -------------------------------------------------- */

static const char *env_get(char *const envp[], const char *key)
{
	size_t n = strlen(key);

	for (int i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], key, n) && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

/* execvp's search: names with a slash are used as is. */
static bool find_exec(const char *name, const char *path_env, char *out)
{
	char cand[PATH_MAX];
	struct stat st;
	const char *s = path_env;

	if (!name[0])
		return false;
	if (strchr(name, '/'))
		return !stat(name, &st) && realpath(name, out);
	while (s) {
		size_t n = strcspn(s, ":");

		if (n)
			fmt(cand, sizeof(cand), "%.*s/%s", (int)n, s, name);
		else
			fmt(cand, sizeof(cand), "./%s", name); /* empty element: cwd */
		if (!stat(cand, &st) && S_ISREG(st.st_mode) && !access(cand, X_OK) &&
		    realpath(cand, out))
			return true;
		s = s[n] ? s + n + 1 : NULL;
	}
	return false;
}

/* First bytes of path into buf (NUL-terminated); -errno when unreadable. */
static int read_head(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return 0;
}

/* "#!interp [arg]": the kernel runs interp (relative to the cwd, no PATH
 * search); "#!/usr/bin/env X" runs X from PATH. 1 with the program in exe,
 * 0 when script is no script, or -errno.
 */
static int follow_shebang(const char *script, const char *path_env, char *exe, char *err,
			  size_t errlen)
{
	char head[256], interp[PATH_MAX];
	struct stat st;
	char *tok, *save;
	int ret = read_head(script, head, sizeof(head));

	if (ret)
		return FAIL(ret, "%s: %s", script, strerror(-ret));
	if (head[0] != '#' || head[1] != '!')
		return 0;
	head[strcspn(head, "\n")] = 0;
	if (!(tok = strtok_r(head + 2, " \t", &save)))
		return FAIL(-ENOEXEC, "%s: empty #! line", script);
	fmt(interp, sizeof(interp), "%s", tok);
	if (!strcmp(base_name(interp), "env")) {
		while ((tok = strtok_r(NULL, " \t", &save)) && tok[0] == '-')
			; /* env options (-S, -i) */
		if (tok && !find_exec(tok, path_env, exe))
			return FAIL(-ENOENT, "%s: #!%s %s: command not found", script, interp, tok);
		if (tok)
			goto resolved;
	}
	if (stat(interp, &st) || !realpath(interp, exe))
		return FAIL(-ENOENT, "%s: #! interpreter %s not found", script, interp);
resolved:
	if (!read_head(exe, head, 3) && head[0] == '#' && head[1] == '!')
		return FAIL(-ENOEXEC, "%s: interpreter %s is itself a script", script, exe);
	return 1;
}

int alloc_resolve__command(const char *argv0, char *const envp[], struct lw_alloc_target *out,
			   char *err, size_t errlen)
{
	const char *path_env = env_get(envp, "PATH");
	char exe[PATH_MAX], interp[PATH_MAX];
	struct ar_ctx c = {0};
	struct elf_file f;
	GElf_Ehdr eh;
	int ret;

	if (!path_env)
		path_env = "/bin:/usr/bin"; /* glibc execvp's default */
	if (!argv0 || !find_exec(argv0, path_env, exe))
		return FAIL(-ENOENT, "%s: command not found", argv0 ? argv0 : "(null)");
	if ((ret = follow_shebang(exe, path_env, interp, err, errlen)) < 0)
		return ret;
	if (ret) { /* the interpreter is the process image; the script is context */
		fmt(c.script, sizeof(c.script), "%s", exe);
		fmt(exe, sizeof(exe), "%s", interp);
	}
	if ((ret = elf_file__open(&f, exe)))
		return ret == -ENOEXEC ? FAIL(ret, "%s: not an ELF file", exe)
				       : FAIL(ret, "%s: %s", exe, strerror(-ret));
	gelf_getehdr(f.e, &eh); /* elf_file__open checked it */
	c.ei_class = eh.e_ident[EI_CLASS];
	c.e_machine = eh.e_machine;
	elf_file__close(&f);

	if ((c.exe = ctx__add(&c, exe)) < 0)
		return FAIL(-ENOMEM, "out of memory");
	c.ld_library_path = env_get(envp, "LD_LIBRARY_PATH");
	ldcache__load(&c.cache, "/etc/ld.so.cache");
	build_order(&c, env_get(envp, "LD_PRELOAD"));
	ret = choose(&c, out, err, errlen);
	ctx__free(&c);
	return ret;
}
