// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Symbols from where a stripped file points: its MiniDebugInfo
 * (.gnu_debugdata, built here with objcopy and xz) and a debuginfod server
 * (python3's http.server on loopback, serving /buildid/ID/debuginfo).
 * Both start from a copy of this test binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "stack/debuginfo.h"
#include "stack/symbolize.h"

#define MINI_TGID 5151
#define DFD_TGID  5252

static int probe_line;

LW_NOIPA static uint64_t di_probe_fn(int x)
{
	uint64_t pc;

	// clang-format off
	asm volatile("1: lea 1b(%%rip), %0" : "=r"(pc) : "r"(x)); probe_line = __LINE__;
	// clang-format on
	return pc;
}

static int run(char *const argv[])
{
	int status;
	pid_t pid;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ)) {
		fprintf(stderr, "  cannot run %s\n", argv[0]);
		return -1;
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* This binary's mapping of pc, from a snapshot of our own maps. */
static bool own_mapping(uint64_t pc, struct lw_mapping *out, char *path, size_t len)
{
	struct symbolizer *self = symbolizer__new();
	const struct lw_mapping *m;
	bool ok = false;

	if (self && symbolizer__snapshot_maps(self, getpid()) > 0 &&
	    (m = symbolizer__find(self, getpid(), pc))) {
		*out = *m;
		snprintf(path, len, "%s", m->path);
		out->path = out->file = path;
		ok = true;
	}
	symbolizer__free(self);
	return ok;
}

/* Resolve pc in a copy of this binary at file, mapped where we are. */
static int resolve_in(const char *file, uint32_t tgid, uint64_t pc, const struct lw_mapping *m,
		      struct lw_sym_frame *f)
{
	struct symbolizer *s = symbolizer__new();
	int err =
	    s ? symbolizer__add_mapping(s, tgid, m->start, m->end, m->file_off, file) : -ENOMEM;

	if (!err)
		err = symbolizer__resolve(s, tgid, pc, false, f);
	symbolizer__free(s);
	return err;
}

static void frame_free(struct lw_sym_frame *f)
{
	free(f->module);
	free(f->symbol);
	free(f->file);
}

static void rm_rf(const char *dir)
{
	char *argv[] = {"rm", "-rf", (char *)dir, NULL};

	run(argv);
}

/* Fedora's recipe, shortened: the .symtab alone, xz-compressed, added to
 * a stripped copy as .gnu_debugdata.
 */
static void check_mini(const char *dir)
{
	uint64_t pc = di_probe_fn(1);
	char self[4096], syms[4200], xz[4210], stripped[4200], mini[4200];
	struct lw_mapping m;
	struct lw_sym_frame f;
	Elf *elf;
	void *image;

	ASSERT_TRUE(own_mapping(pc, &m, self, sizeof(self)), "own mapping");
	snprintf(syms, sizeof(syms), "%s/syms", dir);
	snprintf(xz, sizeof(xz), "%s/syms.xz", dir);
	snprintf(stripped, sizeof(stripped), "%s/stripped", dir);
	snprintf(mini, sizeof(mini), "%s/mini", dir);
	{
		char *keep[] = {"objcopy", "--only-keep-debug", "--strip-debug", self, syms, NULL};
		char *pack[] = {"xz", "-k", "-f", syms, NULL};
		char *strip[] = {"objcopy", "--strip-all", self, stripped, NULL};
		char sect[4300];
		char *add[] = {"objcopy", "--add-section", sect, stripped, mini, NULL};

		snprintf(sect, sizeof(sect), ".gnu_debugdata=%s", xz);
		ASSERT_EQ(run(keep), 0, "objcopy --only-keep-debug");
		ASSERT_EQ(run(pack), 0, "xz (xz-utils needed)");
		ASSERT_EQ(run(strip), 0, "objcopy --strip-all");
		ASSERT_EQ(run(add), 0, "objcopy --add-section");
	}
	/* the stripped copy names nothing: the symbol comes from .gnu_debugdata */
	ASSERT_EQ(resolve_in(stripped, MINI_TGID, pc, &m, &f), 0, "resolve stripped");
	ASSERT_TRUE(!f.symbol, "stripped: no symbol");
	frame_free(&f);
	ASSERT_EQ(resolve_in(mini, MINI_TGID, pc, &m, &f), 0, "resolve mini");
	ASSERT_STREQ(f.symbol, "di_probe_fn", "symbol from MiniDebugInfo");
	ASSERT_EQ(f.offset, pc - (uintptr_t)di_probe_fn, "offset");
	ASSERT_TRUE(!f.inexact, "exact");
	ASSERT_TRUE(!f.line, "no DWARF in it");
	frame_free(&f);

	/* corrupt data is no symbol table, and no crash */
	elf = debuginfo__open_path(self);
	ASSERT_TRUE(elf, "open self");
	ASSERT_TRUE(!debuginfo__mini(elf, &image) && !image, "no .gnu_debugdata in self");
	elf_end(elf);
}

LW_TEST(debuginfo_minidebuginfo_symbols)
{
	char dir[] = "/tmp/lw_mini_XXXXXX";

	ASSERT_TRUE(mkdtemp(dir), "mkdtemp");
	check_mini(dir);
	rm_rf(dir);
}

/* python3 -m http.server on a free loopback port; its first line names it. */
static pid_t serve(const char *root, int *port)
{
	char *argv[] = {"python3", "-u",	"-m",	       "http.server", "0",
			"--bind",  "127.0.0.1", "--directory", (char *)root,  NULL};
	posix_spawn_file_actions_t fa;
	char line[256];
	int p[2];
	pid_t pid;
	FILE *in;

	*port = 0;
	if (pipe(p))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	if (posix_spawnp(&pid, "python3", &fa, NULL, argv, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	in = fdopen(p[0], "r");
	if (in && pid > 0 && fgets(line, sizeof(line), in))
		sscanf(line, "Serving HTTP on %*s port %d", port);
	if (in)
		fclose(in);
	else
		close(p[0]);
	return pid;
}

static void check_debuginfod(const char *dir)
{
	uint64_t pc = di_probe_fn(2);
	char self[4096], stripped[4200], idhex[130], path[4400], url[64];
	const uint8_t *id;
	size_t len;
	struct lw_mapping m;
	struct lw_sym_frame f;
	Elf *elf;
	int port;
	pid_t srv;

	ASSERT_TRUE(own_mapping(pc, &m, self, sizeof(self)), "own mapping");
	snprintf(stripped, sizeof(stripped), "%s/stripped", dir);
	elf = debuginfo__open_path(self);
	ASSERT_TRUE(elf && debuginfo__build_id(elf, &id, &len), "build id");
	for (size_t i = 0; i < len; i++)
		snprintf(idhex + 2 * i, 3, "%02x", id[i]);
	elf_end(elf);
	snprintf(path, sizeof(path), "%s/buildid/%s", dir, idhex);
	{
		char *mk[] = {"mkdir", "-p", path, NULL};
		char dbg[4500];
		char *keep[] = {"objcopy", "--only-keep-debug", self, dbg, NULL};
		char *strip[] = {"objcopy", "--strip-all", self, stripped, NULL};

		snprintf(dbg, sizeof(dbg), "%s/debuginfo", path);
		ASSERT_EQ(run(mk), 0, "mkdir");
		ASSERT_EQ(run(keep), 0, "objcopy --only-keep-debug");
		ASSERT_EQ(run(strip), 0, "objcopy --strip-all");
	}
	srv = serve(dir, &port);
	ASSERT_TRUE(srv > 0 && port > 0, "python3 -m http.server");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	snprintf(path, sizeof(path), "%s/cache", dir);
	setenv("DEBUGINFOD_URLS", url, 1);
	setenv("DEBUGINFOD_CACHE_PATH", path, 1);
	resolve_in(stripped, DFD_TGID, pc, &m, &f);
	unsetenv("DEBUGINFOD_URLS");
	unsetenv("DEBUGINFOD_CACHE_PATH");
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	ASSERT_STREQ(f.symbol, "di_probe_fn", "symbol from the server's debug file");
	ASSERT_TRUE(f.file && strstr(f.file, "test_debuginfo.c"), "file");
	ASSERT_EQ(f.line, probe_line, "line");
	frame_free(&f);

	/* without DEBUGINFOD_URLS nothing is asked */
	ASSERT_EQ(resolve_in(stripped, DFD_TGID, pc, &m, &f), 0, "resolve unset");
	ASSERT_TRUE(!f.symbol, "no server, no symbol");
	frame_free(&f);
}

LW_TEST(debuginfo_debuginfod_server)
{
	char dir[] = "/tmp/lw_dfd_XXXXXX";

	ASSERT_TRUE(mkdtemp(dir), "mkdtemp");
	check_debuginfod(dir);
	rm_rf(dir);
}
