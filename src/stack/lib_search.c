// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The dynamic linker's lookup order (see lib_search.h): just enough of glibc
 * rtld to name the objects a process binds symbols against, in order.
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
#include "base/textfile.h"
#include "stack/elf_sym.h"
#include "stack/lib_search.h"

#define FAIL(ret, ...) (lw_fmt(err, errlen, __VA_ARGS__), (ret))

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

/* Only the new format: glibc >= 2.32 writes no old-format prefix by default. */
static void ldcache__load(struct ls_ldcache *c, const char *path)
{
	c->buf = textfile__slurp(path, &c->len);
	if (c->buf &&
	    (c->len < sizeof(struct ldc_hdr) || memcmp(c->buf, "glibc-ld.so.cache1.1", 20))) {
		free(c->buf);
		c->buf = NULL;
	}
}

static const char *ldcache__str(const struct ls_ldcache *c, uint32_t off)
{
	return off < c->len && memchr(c->buf + off, 0, c->len - off) ? c->buf + off : NULL;
}

static const char *ldcache__lookup(const struct ls_ldcache *c, const char *name)
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

void lib_search__free(struct ls_ctx *c)
{
	for (int i = 0; i < c->nr_objs; i++) {
		for (int j = 0; j < c->objs[i].nr_needed; j++)
			free(c->objs[i].needed[j]);
		free(c->objs[i].needed);
		free(c->objs[i].rpath);
		free(c->objs[i].runpath);
		free(c->objs[i].unreach);
	}
	free(c->objs);
	free(c->order);
	free(c->cache.buf);
}

/* Index of the object at path (added when new), or -ENOMEM. */
static int ctx__add(struct ls_ctx *c, const char *path)
{
	struct ls_obj *o;

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
	lw_fmt(o->path, sizeof(o->path), "%s", path);
	lw_fmt(o->file, sizeof(o->file), "%s", path);
	o->parent = -1;
	return c->nr_objs++;
}

/* SONAME, DT_NEEDED, RPATH/RUNPATH, PT_INTERP of object i, once. Only regular
 * files are opened: maps also lists device mappings, and opening a device has
 * side effects.
 */
void lib_search__load(struct ls_ctx *c, int i)
{
	struct ls_obj *o = &c->objs[i];
	struct elf_file f;
	struct stat st;
	GElf_Shdr sh;
	GElf_Dyn dyn;
	Elf_Data *d;

	if (o->dyn_done)
		return;
	o->dyn_done = true;
	if (c->pid && o->mapped) {
		char err[PATH_MAX * 2 + 256];

		o->reach = proc_file__reach(c->pid, c->root, lib_search__own_path(c, i), &o->map,
					    o->file, sizeof(o->file), err, sizeof(err));
		if (o->reach) {
			o->unreach = strdup(err);
			return;
		}
	}
	if (stat(o->file, &st) || !S_ISREG(st.st_mode) || elf_file__open(&f, o->file))
		return;
	o->elf_ok = true;
	o->interp = f.interp;
	o->nodeflib = f.nodeflib;
	/* we find DT_NEEDED through section headers; ld.so needs none */
	o->dyn_unreadable = f.interp && !(f.dynamic && gelf_getshdr(f.dynamic, &sh) &&
					  sh.sh_entsize && elf_getdata(f.dynamic, NULL));
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
				lw_fmt(o->soname, sizeof(o->soname), "%s", s);
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

const char *ls_base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Process mode: which mapped object did ld.so load for name? DT_NEEDED and
 * bare LD_PRELOAD names match a SONAME or file name; paths match exactly or
 * after realpath (symlinked preloads).
 */
static int match_mapped(struct ls_ctx *c, const char *name)
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
		lib_search__load(c, i);
		if (!strcmp(ls_base_name(p), name) || !strcmp(c->objs[i].soname, name))
			return i;
	}
	if (strchr(name, '/') && !c->root[0] && realpath(name, rp))
		for (int i = 0; i < c->nr_objs; i++)
			if (!strcmp(c->objs[i].path, rp))
				return i;
	return -1;
}

/* ld.so skips libraries of another class or machine (i386 dirs, etc). */
static bool lib_fits(const struct ls_ctx *c, const char *path)
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
static bool search_dirs(struct ls_ctx *c, const char *list, int loader, const char *name, char *out)
{
	char dir[PATH_MAX], cand[PATH_MAX], origin[PATH_MAX];
	const char *s = list;

	lw_fmt(origin, sizeof(origin), "%s", c->objs[loader].path);
	*strrchr(origin, '/') = 0; /* paths are absolute (realpath) */
	while (s && *s) {
		size_t n = strcspn(s, ":");
		const char *o;

		lw_fmt(dir, sizeof(dir), "%.*s", (int)n, s);
		s += n + !!s[n];
		if ((o = strstr(dir, "$ORIGIN")) || (o = strstr(dir, "${ORIGIN}"))) {
			lw_fmt(cand, sizeof(cand), "%.*s%s%s", (int)(o - dir), dir, origin,
			       o + (o[1] == '{' ? 9 : 7));
			lw_fmt(dir, sizeof(dir), "%s", cand);
		}
		lw_fmt(cand, sizeof(cand), "%s/%s", dir[0] ? dir : ".", name);
		if (lib_fits(c, cand) && realpath(cand, out))
			return true;
	}
	return false;
}

/* Command mode: the file ld.so would load for name, in glibc's order. */
static int find_lib(struct ls_ctx *c, int loader, const char *name)
{
	static const char *const defaults =
	    "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib";
	char out[PATH_MAX];
	const char *cached;
	bool ok = false;

	if (strchr(name, '/')) {
		ok = lib_fits(c, name) && realpath(name, out);
	} else {
		const struct ls_obj *lo = &c->objs[loader], *exe = &c->objs[c->exe];

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

static int resolve(struct ls_ctx *c, int loader, const char *name)
{
	return c->pid ? match_mapped(c, name) : find_lib(c, loader, name);
}

static void queue(struct ls_ctx *c, int i, enum ls_how how, int parent, const char *name)
{
	if (i < 0 || c->objs[i].queued)
		return;
	c->objs[i].queued = true;
	c->objs[i].how = how;
	c->objs[i].parent = parent;
	lw_fmt(c->objs[i].name, sizeof(c->objs[i].name), "%s", name);
	c->order[c->nr_order++] = i;
}

/* glibc splits LD_PRELOAD on spaces and colons, ld.so.preload on white space. */
static void queue_list(struct ls_ctx *c, const char *list, const char *seps, enum ls_how how)
{
	char name[PATH_MAX];

	while (list && *list) {
		size_t n = strcspn(list, seps);

		if (n && n < sizeof(name)) {
			lw_fmt(name, sizeof(name), "%.*s", (int)n, list);
			/* leakwatch's own fault injector (run --inject) passes
			 * every call on: what it wraps is served by what follows
			 */
			if (strcmp(ls_base_name(name), LW_INJECT_LIB_NAME))
				queue(c, resolve(c, c->exe, name), how, -1, name);
		}
		list += n + !!list[n];
	}
}

/* exe, LD_PRELOAD, /etc/ld.so.preload, then DT_NEEDED breadth-first. */
static void build_order(struct ls_ctx *c, const char *ld_preload)
{
	char path[PATH_MAX];
	char *sys;

	lib_search__load(c, c->exe);
	queue(c, c->exe, LS_EXE, -1, c->objs[c->exe].path);
	if (!c->objs[c->exe].interp)
		return; /* static: no ld.so, no preloads */
	queue_list(c, ld_preload, " :", LS_PRELOAD);
	lw_fmt(path, sizeof(path), "%s/etc/ld.so.preload", c->root);
	sys = textfile__slurp(path, NULL);
	queue_list(c, sys, " \t\n", LS_SYS_PRELOAD);
	free(sys);
	for (int i = 0; i < c->nr_order; i++) {
		int li = c->order[i];

		lib_search__load(c, li);
		for (int j = 0; j < c->objs[li].nr_needed; j++) {
			const char *n = c->objs[li].needed[j]; /* heap: survives realloc */

			queue(c, resolve(c, li, n), LS_NEEDED, li, n);
		}
	}
}

/* ---- live process --------------------------------------------------------- */

static void strip_deleted(char *path)
{
	size_t n = strlen(path), d = strlen(" (deleted)");

	if (n > d && !strcmp(path + n - d, " (deleted)"))
		path[n - d] = 0;
}

int lib_search__pid(struct ls_ctx *c, pid_t pid, char *err, size_t errlen)
{
	char p[64], line[PATH_MAX + 256], exe[PATH_MAX], full[PATH_MAX + 32];
	char *env, *preload = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n = -1;
	FILE *maps;
	int ret;

	memset(c, 0, sizeof(*c));
	c->pid = pid;
	lw_fmt(p, sizeof(p), "/proc/%d", (int)pid);
	if (pid <= 0 || stat(p, &st))
		return FAIL(-ESRCH, "pid %d: no such process", (int)pid);
	proc_file__root(pid, c->root, sizeof(c->root));

	lw_fmt(p, sizeof(p), "/proc/%d/maps", (int)pid);
	if (!(maps = fopen(p, "re"))) {
		ret = -errno;
		return ret == -ENOENT ? FAIL(-ESRCH, "pid %d: no such process", (int)pid)
				      : FAIL(ret, "cannot read %s: %s", p, strerror(-ret));
	}
	while (fgets(line, sizeof(line), maps)) {
		struct lw_map_ident m;
		size_t pos;
		char *path;
		int i;

		line[strcspn(line, "\n")] = 0;
		if (proc_file__parse_maps(line, &m, &pos))
			continue;
		path = line + pos;
		if (path[0] != '/')
			continue; /* anonymous, [heap], [vdso], ... */
		strip_deleted(path);
		lw_fmt(full, sizeof(full), "%s%s", c->root, path);
		if ((i = ctx__add(c, full)) < 0) {
			fclose(maps);
			return FAIL(-ENOMEM, "out of memory");
		}
		if (!c->objs[i].mapped) {
			c->objs[i].map = m;
			c->objs[i].mapped = true;
		}
	}
	fclose(maps);

	lw_fmt(p, sizeof(p), "/proc/%d/exe", (int)pid);
	errno = ENOENT; /* kernel threads and zombies have no mappings, no exe */
	if (c->nr_objs && (n = readlink(p, exe, sizeof(exe) - 1)) >= 0) {
		exe[n] = 0;
		strip_deleted(exe);
		lw_fmt(full, sizeof(full), "%s%s", c->root, exe);
		c->exe = ctx__add(c, full);
	}
	if (n < 0 || c->exe < 0) {
		ret = n >= 0 ? -ENOMEM : errno == ENOENT ? -ESRCH : -errno;
		if (ret == -ESRCH)
			return FAIL(ret, "pid %d: no executable (kernel thread or exited)",
				    (int)pid);
		return FAIL(ret, "cannot read %s: %s", p, strerror(-ret));
	}

	/* the environment ld.so saw: initial environ, NUL-separated */
	lw_fmt(p, sizeof(p), "/proc/%d/environ", (int)pid);
	env = textfile__slurp(p, &len);
	for (size_t i = 0; env && i < len; i += strlen(env + i) + 1)
		if (!strncmp(env + i, "LD_PRELOAD=", 11))
			preload = env + i + 11;

	build_order(c, preload);
	free(env);
	return 0;
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
			lw_fmt(cand, sizeof(cand), "%.*s/%s", (int)n, s, name);
		else
			lw_fmt(cand, sizeof(cand), "./%s", name); /* empty element: cwd */
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
	lw_fmt(interp, sizeof(interp), "%s", tok);
	if (!strcmp(ls_base_name(interp), "env")) {
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

int lib_search__command(struct ls_ctx *c, const char *argv0, char *const envp[], char *err,
			size_t errlen)
{
	const char *path_env = env_get(envp, "PATH");
	char exe[PATH_MAX], interp[PATH_MAX];
	struct elf_file f;
	GElf_Ehdr eh;
	int ret;

	memset(c, 0, sizeof(*c));
	if (!path_env)
		path_env = "/bin:/usr/bin"; /* glibc execvp's default */
	if (!argv0 || !find_exec(argv0, path_env, exe))
		return FAIL(-ENOENT, "%s: command not found", argv0 ? argv0 : "(null)");
	if ((ret = follow_shebang(exe, path_env, interp, err, errlen)) < 0)
		return ret;
	if (ret) { /* the interpreter is the process image; the script is context */
		lw_fmt(c->script, sizeof(c->script), "%s", exe);
		lw_fmt(exe, sizeof(exe), "%s", interp);
	}
	if ((ret = elf_file__open(&f, exe)))
		return ret == -ENOEXEC ? FAIL(ret, "%s: not an ELF file", exe)
				       : FAIL(ret, "%s: %s", exe, strerror(-ret));
	gelf_getehdr(f.e, &eh); /* elf_file__open checked it */
	c->ei_class = eh.e_ident[EI_CLASS];
	c->e_machine = eh.e_machine;
	elf_file__close(&f);

	if ((c->exe = ctx__add(c, exe)) < 0)
		return FAIL(-ENOMEM, "out of memory");
	c->ld_library_path = env_get(envp, "LD_LIBRARY_PATH");
	ldcache__load(&c->cache, "/etc/ld.so.cache");
	build_order(c, env_get(envp, "LD_PRELOAD"));
	return 0;
}

const char *lib_search__own_path(const struct ls_ctx *c, int i)
{
	return c->objs[i].path + strlen(c->root);
}

void lib_search__why(const struct ls_ctx *c, int i, const char *exe_note, char *buf, size_t len)
{
	const struct ls_obj *o = &c->objs[i];
	char why[512];

	if (o->how == LS_EXE)
		lw_fmt(why, sizeof(why), "%s (%s)", lib_search__own_path(c, i), exe_note);
	else if (o->how == LS_NEEDED)
		lw_fmt(why, sizeof(why), "%s (DT_NEEDED of %s)", o->name,
		       lib_search__own_path(c, o->parent));
	else
		lw_fmt(why, sizeof(why), "%s (%s)", o->name,
		       o->how == LS_PRELOAD ? "LD_PRELOAD" : "/etc/ld.so.preload");
	if (c->script[0])
		lw_fmt(buf, len, "%s, for #! script %s", why, c->script);
	else
		lw_fmt(buf, len, "%s", why);
}
