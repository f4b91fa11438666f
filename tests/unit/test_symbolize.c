// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "stack/demangle.h"
#include "stack/symbolize.h"

#define SYM_TGID   4242
#define STRIP_TGID 4343

static int write_maps(char *path, const char *text)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static const char synthetic_maps[] =
    "55d0a0000000-55d0a0001000 r--p 00000000 fd:01 131 /usr/bin/toy\n"
    "55d0a0001000-55d0a0005000 r-xp 00001000 fd:01 131 /usr/bin/toy\n"
    "7f0000000000-7f0000010000 r-xp 00020000 fd:01 77  /lib/x86_64-linux-gnu/libtoy.so.1\n"
    "7f0000010000-7f0000011000 rw-p 00030000 fd:01 77  /lib/x86_64-linux-gnu/libtoy.so.1\n"
    "7f0000020000-7f0000021000 rwxp 00000000 00:00 0 \n"
    "7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0   [vdso]\n"
    "7ffd00010000-7ffd00011000 r-xp 00000000 fd:01 99  /tmp/with space.so\n";

LW_TEST(sym_maps_file_keeps_exec_file_mappings)
{
	char path[] = "/tmp/lw_maps_XXXXXX";
	struct symbolizer *s = symbolizer__new();
	const struct lw_mapping *m;
	int n;

	ASSERT_EQ(write_maps(path, synthetic_maps), 0, "write maps");
	n = symbolizer__load_maps_file(s, SYM_TGID, path);
	unlink(path);
	ASSERT_EQ(n, 3, "exec file mappings");
	m = symbolizer__find(s, SYM_TGID, 0x7f0000000123);
	ASSERT_TRUE(m, "libtoy mapping");
	ASSERT_STREQ(m->path, "/lib/x86_64-linux-gnu/libtoy.so.1", "path");
	ASSERT_EQ(m->file_off, 0x20000, "file_off");
	ASSERT_EQ(m->start, 0x7f0000000000, "start");
	m = symbolizer__find(s, SYM_TGID, 0x7ffd00010010);
	ASSERT_TRUE(m, "path with a space");
	ASSERT_STREQ(m->path, "/tmp/with space.so", "space path");
	ASSERT_TRUE(!symbolizer__find(s, SYM_TGID, 0x55d0a0000010), "r--p skipped");
	ASSERT_TRUE(!symbolizer__find(s, SYM_TGID, 0x7ffd00000010), "[vdso] skipped");
	ASSERT_TRUE(!symbolizer__find(s, SYM_TGID, 0x7f0000020010), "anon rwx skipped");
	ASSERT_TRUE(!symbolizer__find(s, SYM_TGID + 1, 0x7f0000000123), "other tgid");
	symbolizer__free(s);
}

LW_TEST(sym_maps_file_duplicates_ignored)
{
	char path[] = "/tmp/lw_maps_XXXXXX";
	struct symbolizer *s = symbolizer__new();
	int a, b;

	ASSERT_EQ(write_maps(path, synthetic_maps), 0, "write maps");
	a = symbolizer__load_maps_file(s, SYM_TGID, path);
	b = symbolizer__load_maps_file(s, SYM_TGID, path);
	unlink(path);
	ASSERT_EQ(a, 3, "first load");
	ASSERT_EQ(b, 0, "second load adds nothing");
	ASSERT_EQ(symbolizer__load_maps_file(s, 1, "/nonexistent/maps"), -ENOENT, "missing file");
	symbolizer__free(s);
}

LW_TEST(sym_exec_prefers_new_image)
{
	struct symbolizer *s = symbolizer__new();
	const struct lw_mapping *m;

	ASSERT_EQ(symbolizer__add_mapping(s, 7, 0x1000, 0x9000, 0, "/old/bin"), 0, "add old");
	symbolizer__exec(s, 7);
	ASSERT_EQ(symbolizer__add_mapping(s, 7, 0x0000, 0x5000, 0x2000, "/new/bin"), 0, "add new");
	m = symbolizer__find(s, 7, 0x2000);
	ASSERT_TRUE(m, "overlap found");
	ASSERT_STREQ(m->path, "/new/bin", "newer generation wins");
	m = symbolizer__find(s, 7, 0x6000);
	ASSERT_TRUE(m, "old-only range");
	ASSERT_STREQ(m->path, "/old/bin", "old mapping still usable");
	ASSERT_EQ(symbolizer__add_mapping(s, 7, 0x10, 0x10, 0, "/x"), -EINVAL, "empty range");
	symbolizer__free(s);
}

/* After exec the snapshot re-reads maps: a mapping known from before that
 * shows up again belongs to the new image and must win over older ones.
 */
LW_TEST(sym_exec_relearnt_mapping_wins)
{
	struct symbolizer *s = symbolizer__new();
	const struct lw_mapping *m;

	ASSERT_EQ(symbolizer__add_mapping(s, 8, 0x1000, 0x9000, 0, "/lib/a.so"), 0, "add a");
	ASSERT_EQ(symbolizer__add_mapping(s, 8, 0x1000, 0x5000, 0, "/lib/b.so"), 0, "add b");
	m = symbolizer__find(s, 8, 0x2000);
	ASSERT_TRUE(m, "found");
	ASSERT_STREQ(m->path, "/lib/b.so", "later mapping wins in one generation");
	symbolizer__exec(s, 8);
	ASSERT_EQ(symbolizer__add_mapping(s, 8, 0x1000, 0x9000, 0, "/lib/a.so"), 0, "re-add a");
	m = symbolizer__find(s, 8, 0x2000);
	ASSERT_TRUE(m, "found after exec");
	ASSERT_STREQ(m->path, "/lib/a.so", "re-learnt mapping wins");
	symbolizer__free(s);
}

LW_TEST(sym_fork_inherits_mappings)
{
	struct symbolizer *s = symbolizer__new();
	const struct lw_mapping *m;

	ASSERT_EQ(symbolizer__add_mapping(s, 10, 0x1000, 0x2000, 0x3000, "/bin/parent"), 0, "add");
	ASSERT_EQ(symbolizer__fork(s, 10, 11), 0, "fork");
	/* the child now exists before the parent in the table: parent still intact */
	ASSERT_EQ(symbolizer__fork(s, 10, 9), 0, "fork lower tgid");
	m = symbolizer__find(s, 11, 0x1800);
	ASSERT_TRUE(m, "child 11 mapping");
	ASSERT_STREQ(m->path, "/bin/parent", "child path");
	ASSERT_EQ(m->file_off, 0x3000, "child file_off");
	ASSERT_TRUE(symbolizer__find(s, 9, 0x1800), "child 9 mapping");
	ASSERT_TRUE(symbolizer__find(s, 10, 0x1800), "parent mapping");
	symbolizer__free(s);
}

static int probe_line;

/* noipa: no inlining or cloning, so the symbol keeps this exact name */
LW_NOIPA static uint64_t sym_probe_fn(int x)
{
	uint64_t pc;

	/* one line: the lea and __LINE__ must share it */
	// clang-format off
	asm volatile("1: lea 1b(%%rip), %0" : "=r"(pc) : "r"(x)); probe_line = __LINE__;
	// clang-format on
	return pc;
}

static struct symbolizer *self_symbolizer(void)
{
	struct symbolizer *s = symbolizer__new();

	if (s && symbolizer__snapshot_maps(s, getpid()) <= 0) {
		symbolizer__free(s);
		return NULL;
	}
	return s;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return s && a >= b && !strcmp(s + a - b, suffix);
}

LW_TEST(sym_resolve_own_function_with_line)
{
	struct symbolizer *s = self_symbolizer();
	uint64_t pc = sym_probe_fn(1);
	struct lw_sym_frame f;

	ASSERT_TRUE(s, "snapshot self");
	ASSERT_EQ(symbolizer__resolve(s, getpid(), pc, false, &f), 0, "resolve");
	ASSERT_EQ(f.addr, pc, "addr");
	ASSERT_STREQ(f.symbol, "sym_probe_fn", "symbol");
	ASSERT_EQ(f.offset, pc - (uintptr_t)sym_probe_fn, "offset");
	ASSERT_TRUE(f.module && f.module[0] == '/', "module is a path");
	ASSERT_TRUE(ends_with(f.file, "test_symbolize.c"), "file");
	ASSERT_EQ(f.line, probe_line, "line");
	free(f.module);
	free(f.symbol);
	free(f.file);
	symbolizer__free(s);
}

LW_TEST(sym_resolve_return_addr_looks_before)
{
	struct symbolizer *s = self_symbolizer();
	uint64_t pc = sym_probe_fn(2), fn = (uintptr_t)sym_probe_fn;
	struct lw_sym_frame f;

	ASSERT_TRUE(s, "snapshot self");
	/* pc + 1 as a return address: the lookup uses pc, the offset keeps + 1 */
	ASSERT_EQ(symbolizer__resolve(s, getpid(), pc + 1, true, &f), 0, "resolve ra");
	ASSERT_EQ(f.addr, pc + 1, "addr kept");
	ASSERT_STREQ(f.symbol, "sym_probe_fn", "symbol");
	ASSERT_EQ(f.offset, pc + 1 - fn, "offset from addr");
	ASSERT_EQ(f.line, probe_line, "line of addr - 1");
	free(f.module);
	free(f.symbol);
	free(f.file);
	/* a return address equal to a function's start belongs to the code before it */
	ASSERT_EQ(symbolizer__resolve(s, getpid(), fn, true, &f), 0, "resolve start");
	ASSERT_TRUE(!f.symbol || strcmp(f.symbol, "sym_probe_fn"), "not attributed to next fn");
	free(f.module);
	free(f.symbol);
	free(f.file);
	symbolizer__free(s);
}

LW_TEST(sym_resolve_libc_getpid)
{
	struct symbolizer *s = self_symbolizer();
	uint64_t addr = (uintptr_t)&getpid;
	struct lw_sym_frame f;

	ASSERT_TRUE(s, "snapshot self");
	ASSERT_EQ(symbolizer__resolve(s, getpid(), addr, false, &f), 0, "resolve");
	ASSERT_CONTAINS(f.module, "libc", "module");
	ASSERT_TRUE(f.symbol && (!strcmp(f.symbol, "getpid") || !strcmp(f.symbol, "__getpid")),
		    "getpid symbol");
	ASSERT_EQ(f.offset, 0, "offset");
	free(f.module);
	free(f.symbol);
	free(f.file);
	symbolizer__free(s);
}

LW_TEST(sym_resolve_unknown_pieces_stay_empty)
{
	struct symbolizer *s = symbolizer__new();
	struct lw_sym_frame f;

	ASSERT_EQ(symbolizer__resolve(s, 99, 0x1234, false, &f), 0, "no process");
	ASSERT_EQ(f.addr, 0x1234, "addr");
	ASSERT_TRUE(!f.module && !f.symbol && !f.file && !f.line, "all empty");
	ASSERT_EQ(symbolizer__add_mapping(s, 99, 0x1000, 0x2000, 0, "/nonexistent/libgone.so"), 0,
		  "add");
	ASSERT_EQ(symbolizer__resolve(s, 99, 0x1234, false, &f), 0, "missing file");
	ASSERT_STREQ(f.module, "/nonexistent/libgone.so", "module known");
	ASSERT_TRUE(!f.symbol && !f.file && !f.offset, "symbol unknown");
	free(f.module);
	symbolizer__free(s);
}

LW_TEST(sym_finding_symbolizes_every_frame)
{
	struct symbolizer *s = self_symbolizer();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	uint64_t pc = sym_probe_fn(3);

	ASSERT_TRUE(s && f, "setup");
	f->pid = getpid();
	f->stack.nr = 3;
	f->stack.flags = LW_STK_EXACT_PC; /* taken at a probed instruction */
	f->stack.ips[0] = pc;
	f->stack.ips[1] = pc + 1; /* as a return address */
	f->stack.ips[2] = 0x10;	  /* nowhere */
	ASSERT_EQ(symbolizer__finding(s, f), 0, "finding");
	ASSERT_EQ(f->nr_frames, 3, "frames");
	ASSERT_STREQ(f->frames[0].symbol, "sym_probe_fn", "frame 0");
	ASSERT_EQ(f->frames[0].offset, pc - (uintptr_t)sym_probe_fn, "frame 0 exact pc");
	ASSERT_EQ(f->frames[0].line, probe_line, "frame 0 line");
	ASSERT_EQ(f->frames[1].offset, pc + 1 - (uintptr_t)sym_probe_fn, "frame 1 ra");
	ASSERT_EQ(f->frames[1].line, probe_line, "frame 1 line");
	ASSERT_TRUE(!f->frames[2].module, "frame 2 unknown");
	/* again: old frames are replaced, not leaked */
	ASSERT_EQ(symbolizer__finding(s, f), 0, "finding again");
	ASSERT_EQ(f->nr_frames, 3, "frames again");
	lw_findings__free(&fs);
	symbolizer__free(s);
}

/* Stacks taken after a syscall or at a return into the caller (every kind
 * but a uprobe at an entry): the innermost frame is a return address too, so
 * a call that ends its line is still named by its own line.
 */
LW_TEST(sym_finding_innermost_return_address)
{
	struct symbolizer *s = self_symbolizer();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	uint64_t pc = sym_probe_fn(6);

	ASSERT_TRUE(s && f, "setup");
	f->pid = getpid();
	f->stack.nr = 1;
	f->stack.ips[0] = pc + 1;
	f->nr_extra = 1;
	f->extra[0].stack.nr = 1;
	f->extra[0].stack.ips[0] = (uintptr_t)sym_probe_fn; /* the next function's start */
	ASSERT_EQ(symbolizer__finding(s, f), 0, "finding");
	ASSERT_EQ(f->nr_frames, 1, "frames");
	ASSERT_STREQ(f->frames[0].symbol, "sym_probe_fn", "frame 0");
	ASSERT_EQ(f->frames[0].offset, pc + 1 - (uintptr_t)sym_probe_fn, "offset from addr");
	ASSERT_EQ(f->frames[0].line, probe_line, "line of addr - 1");
	ASSERT_EQ(f->extra[0].nr_frames, 1, "evidence frames");
	ASSERT_TRUE(!f->extra[0].frames[0].symbol ||
			strcmp(f->extra[0].frames[0].symbol, "sym_probe_fn"),
		    "evidence: a return address at a start is the code before it");
	lw_findings__free(&fs);
	symbolizer__free(s);
}

LW_TEST(sym_repeated_lookups_many_modules)
{
	struct symbolizer *s = self_symbolizer();
	uint64_t pc = sym_probe_fn(4);
	char path[64];

	ASSERT_TRUE(s, "snapshot self");
	/* hundreds of (missing) modules in one process must not disturb lookups */
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/nonexistent/lib%d.so", i);
		ASSERT_EQ(symbolizer__add_mapping(s, getpid(), 0x100000000ull * (i + 1),
						  0x100000000ull * (i + 1) + 0x1000, 0, path),
			  0, "add");
	}
	for (int i = 0; i < 2000; i++) {
		struct lw_sym_frame f;

		ASSERT_EQ(symbolizer__resolve(s, getpid(), pc, false, &f), 0, "resolve");
		ASSERT_STREQ(f.symbol, "sym_probe_fn", "symbol");
		free(f.module);
		free(f.symbol);
		free(f.file);
	}
	symbolizer__free(s);
}

/* objcopy OPTION src dst, without a shell: paths are not quoted. */
static int objcopy(const char *option, const char *src, const char *dst)
{
	char *argv[] = {"objcopy", (char *)option, (char *)src, (char *)dst, NULL};
	int err, status;
	pid_t pid;

	err = posix_spawnp(&pid, "objcopy", NULL, NULL, argv, environ);
	if (err) {
		fprintf(stderr, "  objcopy: %s (binutils needed)\n", strerror(err));
		return -1;
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int strip_copy(const char *src, const char *dst)
{
	return objcopy("--strip-all", src, dst);
}

static void check_stripped(struct symbolizer *self, struct symbolizer *s, char *stripped)
{
	uint64_t pc = sym_probe_fn(5), want;
	const struct lw_mapping *m = symbolizer__find(self, getpid(), pc);
	struct lw_sym_frame f;
	int fd;

	ASSERT_TRUE(m, "own mapping");
	fd = mkstemp(stripped);
	ASSERT_TRUE(fd >= 0, "mkstemp");
	close(fd);
	/* same loadable layout as this binary, minus .symtab and DWARF */
	ASSERT_EQ(strip_copy(m->path, stripped), 0, "objcopy --strip-all");
	ASSERT_EQ(symbolizer__add_mapping(s, STRIP_TGID, m->start, m->end, m->file_off, stripped),
		  0, "add stripped mapping");
	want = pc - m->start + m->file_off;

	/* sym_probe_fn is static: no .dynsym entry covers it either */
	ASSERT_EQ(symbolizer__resolve(s, STRIP_TGID, pc, false, &f), 0, "resolve pc");
	ASSERT_TRUE(!f.symbol, "no symbol in a stripped file");
	ASSERT_STREQ(f.module, stripped, "module");
	ASSERT_EQ(f.offset, want, "module-relative file offset");
	ASSERT_TRUE(!f.file && !f.line, "no line info");
	free(f.module);

	/* a return address looks up addr-1 but the offset is of addr */
	ASSERT_EQ(symbolizer__resolve(s, STRIP_TGID, pc + 1, true, &f), 0, "resolve ra");
	ASSERT_TRUE(!f.symbol, "ra: no symbol");
	ASSERT_EQ(f.offset, want + 1, "ra: offset of addr itself");
	free(f.module);

	/* in a mapping whose file offset no PT_LOAD covers: still module+offset */
	ASSERT_EQ(symbolizer__add_mapping(s, STRIP_TGID, 0x1000, 0x2000, 0x7fff0000, stripped), 0,
		  "add odd mapping");
	ASSERT_EQ(symbolizer__resolve(s, STRIP_TGID, 0x1010, false, &f), 0, "resolve odd");
	ASSERT_TRUE(!f.symbol && f.module, "odd: module only");
	ASSERT_EQ(f.offset, 0x7fff0010, "odd: file offset");
	free(f.module);

	/* in no mapping at all: nothing, offset 0 */
	ASSERT_EQ(symbolizer__resolve(s, STRIP_TGID, 0x10, false, &f), 0, "resolve nowhere");
	ASSERT_TRUE(!f.module && !f.symbol, "nowhere: no module");
	ASSERT_EQ(f.offset, 0, "nowhere: offset 0");
}

LW_TEST(sym_resolve_stripped_gives_module_offset)
{
	struct symbolizer *self = self_symbolizer(), *s = symbolizer__new();
	char stripped[] = "/tmp/lw_stripped_XXXXXX";

	if (!self || !s) {
		fprintf(stderr, "  setup failed\n");
		lw_test_failed = 1;
	} else {
		check_stripped(self, s, stripped);
	}
	if (strcmp(stripped + strlen(stripped) - 6, "XXXXXX"))
		unlink(stripped);
	symbolizer__free(self);
	symbolizer__free(s);
}

LW_TEST(demangle_real_names)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"_ZL7ReallocPvm", "Realloc(void*, unsigned long)"},
	    {"_ZN3foo3barEv", "foo::bar()"},
	    {"_ZNKSt6vectorIiSaIiEE4sizeEv",
	     "std::vector<int, std::allocator<int> >::size() const"},
	    {"_ZN2ns4Pool4grabEi.cold", "ns::Pool::grab(int) [clone .cold]"},
	    {"_ZdlPvm@@GLIBCXX_3.4.21", "operator delete(void*, unsigned long)@@GLIBCXX_3.4.21"},
	    /* Rust, legacy (hash dropped) and v0 */
	    {"_ZN4core3ptr13drop_in_place17h1234567890abcdefE", "core::ptr::drop_in_place"},
	    {"_RNvCs1234_7mycrate3foo", "mycrate::foo"},
	};
	static const char *const plain[] = {"main", "malloc", "_Dmain", "_Zgarbage", "", "_Z"};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = lw_demangle(cases[i].in);

		ASSERT_STREQ(d, cases[i].want, cases[i].in);
		free(d);
	}
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		ASSERT_TRUE(!lw_demangle(plain[i]), plain[i]);
	ASSERT_TRUE(!lw_demangle(NULL), "NULL");
}

/* a C++ function, as far as the ELF can tell */
LW_NOIPA uint64_t sym_cxx_fn(int x) __asm__("_ZN2lw4test6cxx_fnEi");
LW_NOIPA uint64_t sym_cxx_fn(int x)
{
	return (uint64_t)x + 1;
}

LW_TEST(sym_resolve_demangles)
{
	struct symbolizer *s = self_symbolizer();
	struct lw_sym_frame f;

	ASSERT_TRUE(s, "snapshot self");
	ASSERT_EQ(sym_cxx_fn(1), 2, "callable");
	ASSERT_EQ(symbolizer__resolve(s, getpid(), (uintptr_t)sym_cxx_fn + 1, false, &f), 0,
		  "resolve");
	ASSERT_STREQ(f.symbol, "lw::test::cxx_fn(int)", "demangled");
	ASSERT_STREQ(f.mangled, "_ZN2lw4test6cxx_fnEi", "mangled kept");
	ASSERT_EQ(f.offset, 1, "offset");
	ASSERT_TRUE(!f.inexact, "exact");
	free(f.module);
	free(f.symbol); /* mangled too */
	free(f.file);
	ASSERT_EQ(symbolizer__resolve(s, getpid(), (uintptr_t)sym_probe_fn, false, &f), 0,
		  "resolve C");
	ASSERT_STREQ(f.symbol, "sym_probe_fn", "a C name as it is");
	ASSERT_TRUE(!f.mangled, "no mangled for C");
	free(f.module);
	free(f.symbol);
	free(f.file);
	symbolizer__free(s);
}

/* The load bias and an address inside .plt of this program. */
static uint64_t own_plt_addr(const char *exe, uint64_t bias)
{
	Elf *e;
	int fd = open(exe, O_RDONLY);
	uint64_t at = 0;
	size_t shstrndx;

	if (fd < 0)
		return 0;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && !elf_getshdrstrndx(e, &shstrndx)) {
		for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
			GElf_Shdr sh;
			const char *n;

			if (gelf_getshdr(scn, &sh) && (n = elf_strptr(e, shstrndx, sh.sh_name)) &&
			    !strcmp(n, ".plt") && sh.sh_size > 0x20)
				at = bias + sh.sh_addr + 0x14;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return at;
}

static int bias_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uint64_t *)data = info->dlpi_addr;
	return 1; /* the first one is the program */
}

/* One static function's symbol removed, the rest kept: its pc gets the
 * nearest preceding function, marked inexact; a pc in .plt, where no
 * symbol is, stays unknown rather than _init's.
 */
static void check_nearest(struct symbolizer *self, struct symbolizer *s, char *copy)
{
	uint64_t pc = sym_probe_fn(7), fn = (uintptr_t)sym_probe_fn, prev_start, bias = 0, plt;
	const struct lw_mapping *m = symbolizer__find(self, getpid(), pc);
	struct lw_sym_frame f, before;
	char *prev;
	int fd;

	ASSERT_TRUE(m, "own mapping");
	fd = mkstemp(copy);
	ASSERT_TRUE(fd >= 0, "mkstemp");
	close(fd);
	ASSERT_EQ(objcopy("--strip-symbol=sym_probe_fn", m->path, copy), 0, "objcopy");
	/* what precedes sym_probe_fn, from the whole file */
	ASSERT_EQ(symbolizer__resolve(self, getpid(), fn - 1, false, &before), 0, "before");
	ASSERT_TRUE(before.symbol && strcmp(before.symbol, "sym_probe_fn"), "a function before");
	prev = before.symbol;
	prev_start = fn - 1 - before.offset;
	free(before.module);
	free(before.file);

	ASSERT_EQ(symbolizer__add_mapping(s, STRIP_TGID, m->start, m->end, m->file_off, copy), 0,
		  "add mapping");
	ASSERT_EQ(symbolizer__resolve(s, STRIP_TGID, pc, false, &f), 0, "resolve");
	ASSERT_STREQ(f.symbol, prev, "the nearest preceding symbol");
	ASSERT_TRUE(f.inexact, "marked inexact");
	ASSERT_EQ(f.offset, pc - prev_start, "offset from it");
	ASSERT_EQ(f.line, probe_line, "the line is still exact (DWARF kept)");
	free(f.module);
	free(f.symbol);
	free(f.file);
	free(prev);

	dl_iterate_phdr(bias_cb, &bias);
	plt = own_plt_addr(m->path, bias);
	ASSERT_TRUE(plt, ".plt found");
	ASSERT_EQ(symbolizer__resolve(self, getpid(), plt, false, &f), 0, "resolve .plt");
	ASSERT_TRUE(f.module && !f.symbol && !f.inexact, "in .plt: no symbol, not _init's");
	free(f.module);
	free(f.file);
}

LW_TEST(sym_resolve_nearest_preceding_symbol)
{
	struct symbolizer *self = self_symbolizer(), *s = symbolizer__new();
	char copy[] = "/tmp/lw_nosym_XXXXXX";

	if (!self || !s) {
		fprintf(stderr, "  setup failed\n");
		lw_test_failed = 1;
	} else {
		check_nearest(self, s, copy);
	}
	if (strcmp(copy + strlen(copy) - 6, "XXXXXX"))
		unlink(copy);
	symbolizer__free(self);
	symbolizer__free(s);
}
