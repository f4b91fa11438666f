// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* alloc_resolve: which object serves malloc, checked against what the dynamic
 * linker actually did in this process (dlsym + /proc/self/maps) and against
 * binaries built at test time (static, stripped, LD_PRELOAD).
 */
#include <elf.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "detect/mem/alloc_resolve.h"

extern char **environ;

/* Path and file offset of a live address of pid (0: self), from its maps. */
static int pid_file_off(pid_t pid, uintptr_t addr, char *path, uint64_t *off)
{
	char line[PATH_MAX + 128];
	FILE *f;
	int ret = -1;

	snprintf(line, sizeof(line), "/proc/%d/maps", pid ? pid : getpid());
	f = fopen(line, "r");
	while (f && ret && fgets(line, sizeof(line), f)) {
		unsigned long start, end, foff;
		int pos = 0;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*u %n", &start, &end, &foff, &pos) < 3 ||
		    !pos || addr < start || addr >= end)
			continue;
		snprintf(path, PATH_MAX, "%s", line + pos);
		*off = addr - start + foff;
		ret = 0;
	}
	if (f)
		fclose(f);
	return ret;
}

static int self_file_off(const void *addr, char *path, uint64_t *off)
{
	return pid_file_off(0, (uintptr_t)addr, path, off);
}

/* Scratch directory with test-time binaries; removed at exit. */
static char tmp_dir[] = "/tmp/lw_ar_XXXXXX";
static bool tmp_made;

static const char *tmp_path(const char *name)
{
	static char buf[4][PATH_MAX];
	static int n;
	char *p = buf[n++ % 4];

	if (!tmp_made && !(tmp_made = mkdtemp(tmp_dir)))
		return "/nonexistent";
	snprintf(p, PATH_MAX, "%s/%s", tmp_dir, name);
	return p;
}

__attribute__((destructor)) static void tmp_cleanup(void)
{
	char cmd[PATH_MAX];

	if (tmp_made) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", tmp_dir);
	}
}

static const char *base_name_of(const char *path)
{
	return strrchr(path, '/') + 1;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode);
}

/* cc a C source at test time; 0 on success. Built once per name. */
static int build(const char *name, const char *flags, const char *src)
{
	char cmd[PATH_MAX * 3];
	const char *out = tmp_path(name), *c = tmp_path("src.c");

	if (!access(out, F_OK))
		return 0;
	if (write_file(c, src, 0644))
		return -1;
	snprintf(cmd, sizeof(cmd), "cc -O1 -x c %s -x none %s -o %s", c, flags, out);
	return system(cmd);
}

/* Static: answers the first input byte with the address of its malloc, then
 * waits for EOF.
 */
static const char static_src[] = "#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n"
				 "int main(void) { char *b = malloc(64);\n"
				 "  if (read(0, b, 1) != 1) return 1;\n"
				 "  printf(\"%lx\\n\", (unsigned long)&malloc); fflush(stdout);\n"
				 "  while (read(0, b, 64) > 0) ;\n"
				 "  free(b); return 0; }\n";

/* Dynamic echo (cat without cat). */
static const char echo_src[] = "#include <unistd.h>\n"
			       "int main(void) { char b[64]; ssize_t n;\n"
			       "  while ((n = read(0, b, 64)) > 0) write(1, b, n); return 0; }\n";

/* Forwards to glibc so the preloaded process (cat) still works. */
static const char preload_src[] = "#include <stddef.h>\n"
				  "void *__libc_malloc(size_t); void __libc_free(void *);\n"
				  "void *malloc(size_t n) { return __libc_malloc(n); }\n"
				  "void free(void *p) { __libc_free(p); }\n";

/* f@V1 and f@@V2, defined in either order: .dynsym order must not matter. */
static const char ver_src[2][256] = {
    "__asm__(\".symver f_old, f@V1\"); __asm__(\".symver f_new, f@@V2\");\n"
    "int f_old(void) { return 1; }\nint f_new(void) { return 2; }\n",
    "__asm__(\".symver f_old, f@V1\"); __asm__(\".symver f_new, f@@V2\");\n"
    "int f_new(void) { return 2; }\nint f_old(void) { return 1; }\n",
};

static int build_static(void)
{
	return build("static", "-static", static_src);
}

static int build_stripped(void)
{
	char cmd[PATH_MAX * 2];

	if (build_static())
		return -1;
	if (!access(tmp_path("stripped"), F_OK))
		return 0;
	snprintf(cmd, sizeof(cmd), "objcopy --strip-all %s %s", tmp_path("static"),
		 tmp_path("stripped"));
	return system(cmd);
}

static int build_preload(void)
{
	return build("libpre.so", "-shared -fPIC", preload_src);
}

/* Start argv with envp, stdin/stdout on pipes; returns once the child
 * answered a line (into reply), i.e. it is past exec and ld.so. Its stdin
 * stays open (*in) so it keeps running until reap().
 */
static pid_t spawn_echo(char *const argv[], char *const envp[], int *in, char *reply, size_t len)
{
	int pin[2], pout[2];
	size_t n = 0;
	pid_t pid;

	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	if (pid > 0 && write(pin[1], "x\n", 2) == 2)
		while (n + 1 < len && read(pout[0], reply + n, 1) == 1 && reply[n++] != '\n')
			;
	reply[n] = 0;
	if (!n) {
		close(pin[1]);
		close(pout[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	close(pout[0]);
	*in = pin[1];
	return pid;
}

static void reap(pid_t pid, int in)
{
	close(in);
	waitpid(pid, NULL, 0);
}

static bool libc_of_self(char *path, uint64_t *malloc_off, uint64_t *free_off)
{
	char p2[PATH_MAX];

	return !self_file_off(dlsym(RTLD_DEFAULT, "malloc"), path, malloc_off) &&
	       !self_file_off(dlsym(RTLD_DEFAULT, "free"), p2, free_off) && !strcmp(path, p2);
}

LW_TEST(alloc_resolve_self_pid_is_libc)
{
	struct lw_alloc_target t;
	char err[256] = "", libc[PATH_MAX];
	uint64_t moff, foff;

	ASSERT_TRUE(libc_of_self(libc, &moff, &foff), "malloc/free live in one mapping");
	ASSERT_STREQ(libc, "/usr/lib/x86_64-linux-gnu/libc.so.6", "libc of this process");
	ASSERT_EQ(alloc_resolve__pid(getpid(), &t, err, sizeof(err)), 0, err);
	ASSERT_STREQ(t.path, libc, "target path");
	ASSERT_TRUE(t.found[LW_FN_MALLOC] && t.found[LW_FN_FREE], "malloc and free found");
	ASSERT_EQ(t.offset[LW_FN_MALLOC], moff, "malloc offset = dlsym - base + pgoff");
	ASSERT_EQ(t.offset[LW_FN_FREE], foff, "free offset");
	ASSERT_TRUE(t.found[LW_FN_REALLOC] && t.found[LW_FN_ALIGNED_ALLOC] &&
			t.found[LW_FN_PVALLOC] && t.found[LW_FN_REALLOCARRAY],
		    "glibc defines all entry points");
	ASSERT_CONTAINS(t.why, "libc.so.6 (DT_NEEDED of ", "why");
}

LW_TEST(alloc_resolve_versioned_symbols)
{
	char libc[PATH_MAX], p2[PATH_MAX];
	uint64_t moff, foff, want, got;

	ASSERT_TRUE(libc_of_self(libc, &moff, &foff), "libc mapping");
	/* glibc has pthread_cond_wait@@GLIBC_2.3.2 and @GLIBC_2.2.5 at other addresses */
	ASSERT_EQ(self_file_off(dlsym(RTLD_DEFAULT, "pthread_cond_wait"), p2, &want), 0, "dlsym");
	ASSERT_EQ(elf_symbol_file_offset(libc, "pthread_cond_wait", &got), 0, "default version");
	ASSERT_EQ(got, want, "unversioned name picks @@");
	ASSERT_EQ(elf_symbol_file_offset(libc, "pthread_cond_wait@@GLIBC_2.3.2", &got), 0, "@@");
	ASSERT_EQ(got, want, "explicit @@ version");
	ASSERT_EQ(
	    self_file_off(dlvsym(RTLD_DEFAULT, "pthread_cond_wait", "GLIBC_2.2.5"), p2, &want), 0,
	    "dlvsym");
	ASSERT_EQ(elf_symbol_file_offset(libc, "pthread_cond_wait@GLIBC_2.2.5", &got), 0, "@");
	ASSERT_EQ(got, want, "old version");
	ASSERT_EQ(self_file_off(dlsym(RTLD_DEFAULT, "aligned_alloc"), p2, &want), 0, "dlsym");
	ASSERT_EQ(elf_symbol_file_offset(libc, "aligned_alloc", &got), 0,
		  "aligned_alloc@@GLIBC_2.16");
	ASSERT_EQ(got, want, "aligned_alloc offset");
	ASSERT_EQ(elf_symbol_file_offset(libc, "pthread_cond_wait@GLIBC_9.9", &got), -ENOENT,
		  "unknown version");
	ASSERT_EQ(elf_symbol_file_offset(libc, "no_such_function_lw", &got), -ENOENT, "missing");
	ASSERT_EQ(elf_symbol_file_offset("/proc/self/status", "malloc", &got), -ENOEXEC, "not ELF");
}

LW_TEST(alloc_resolve_default_version_wins)
{
	char lib[PATH_MAX], flags[PATH_MAX], p2[PATH_MAX];
	uint64_t want_new, want_old, got;
	void *h;

	ASSERT_EQ(
	    write_file(tmp_path("ver.map"), "V1 { local: f_old; f_new; };\nV2 { } V1;\n", 0644), 0,
	    "version script");
	snprintf(flags, sizeof(flags), "-shared -fPIC -Wl,--version-script=%s",
		 tmp_path("ver.map"));
	for (int i = 0; i < 2; i++) {
		snprintf(lib, sizeof(lib), "%s", tmp_path(i ? "libver2.so" : "libver1.so"));
		ASSERT_EQ(build(base_name_of(lib), flags, ver_src[i]), 0, "cc versioned lib");
		ASSERT_TRUE((h = dlopen(lib, RTLD_NOW | RTLD_LOCAL)), dlerror());
		want_new = want_old = 0;
		self_file_off(dlsym(h, "f"), p2, &want_new);
		self_file_off(dlvsym(h, "f", "V1"), p2, &want_old);
		dlclose(h);
		ASSERT_TRUE(want_new && want_old && want_new != want_old, "two versions of f");
		ASSERT_EQ(elf_symbol_file_offset(lib, "f", &got), 0, "f");
		ASSERT_EQ(got, want_new, "unversioned name: the default (@@) version");
		ASSERT_EQ(elf_symbol_file_offset(lib, "f@V1", &got), 0, "f@V1");
		ASSERT_EQ(got, want_old, "f@V1");
		ASSERT_EQ(elf_symbol_file_offset(lib, "f@@V1", &got), -ENOENT, "V1 is not default");
	}
}

LW_TEST(alloc_resolve_needed_allocator_wins)
{
	struct lw_alloc_target t;
	char err[256] = "", pre[PATH_MAX], app[PATH_MAX], reply[8], flags[PATH_MAX];
	char *envp[] = {"PATH=/usr/bin:/bin", NULL}, *argv[2];
	uint64_t off;
	pid_t pid;
	int in, ret;

	/* like -ljemalloc: DT_NEEDED before libc, found through RUNPATH $ORIGIN */
	ASSERT_EQ(build_preload(), 0, "cc -shared -fPIC");
	snprintf(flags, sizeof(flags),
		 "-L%s -Wl,--no-as-needed -l:libpre.so -Wl,--enable-new-dtags,-rpath,'$ORIGIN'",
		 tmp_dir);
	ASSERT_EQ(build("app", flags, echo_src), 0, "cc app -l:libpre.so");
	ASSERT_TRUE(realpath(tmp_path("libpre.so"), pre) && realpath(tmp_path("app"), app),
		    "paths");
	ASSERT_EQ(elf_symbol_file_offset(pre, "malloc", &off), 0, "preload malloc");
	ASSERT_EQ(alloc_resolve__command(app, envp, &t, err, sizeof(err)), 0, err);
	ASSERT_STREQ(t.path, pre, "command: DT_NEEDED allocator before libc wins");
	ASSERT_CONTAINS(t.why, "libpre.so (DT_NEEDED of ", "why");

	argv[0] = app;
	argv[1] = NULL;
	ASSERT_TRUE((pid = spawn_echo(argv, envp, &in, reply, sizeof(reply))) > 0, "start app");
	ret = alloc_resolve__pid(pid, &t, err, sizeof(err));
	reap(pid, in);
	ASSERT_EQ(ret, 0, err);
	ASSERT_STREQ(t.path, pre, "live process: DT_NEEDED allocator wins");
	ASSERT_EQ(t.offset[LW_FN_MALLOC], off, "malloc offset");
}

LW_TEST(alloc_resolve_command_sh)
{
	struct lw_alloc_target t, self;
	char err[256] = "";

	ASSERT_EQ(alloc_resolve__pid(getpid(), &self, err, sizeof(err)), 0, err);
	ASSERT_EQ(alloc_resolve__command("sh", environ, &t, err, sizeof(err)), 0, err);
	ASSERT_STREQ(t.path, self.path, "sh's malloc is libc's");
	ASSERT_EQ(t.offset[LW_FN_MALLOC], self.offset[LW_FN_MALLOC], "same malloc offset");
	ASSERT_TRUE(t.found[LW_FN_FREE], "free found");
	ASSERT_CONTAINS(t.why, "libc.so.6 (DT_NEEDED of ", "why");
}

LW_TEST(alloc_resolve_command_script)
{
	struct lw_alloc_target t, sh;
	char err[256] = "", envscript[PATH_MAX];
	const char *script = tmp_path("script.sh");

	ASSERT_EQ(write_file(script, "#!/bin/sh\necho hi\n", 0755), 0, "write script");
	ASSERT_EQ(alloc_resolve__command("sh", environ, &sh, err, sizeof(err)), 0, err);
	ASSERT_EQ(alloc_resolve__command(script, environ, &t, err, sizeof(err)), 0, err);
	ASSERT_STREQ(t.path, sh.path, "script resolves its interpreter's libc");
	ASSERT_CONTAINS(t.why, script, "why names the script");

	snprintf(envscript, sizeof(envscript), "%s", tmp_path("env.sh"));
	ASSERT_EQ(write_file(envscript, "#!/usr/bin/env sh\necho hi\n", 0755), 0, "write script");
	ASSERT_EQ(alloc_resolve__command(envscript, environ, &t, err, sizeof(err)), 0, err);
	ASSERT_STREQ(t.path, sh.path, "#!/usr/bin/env sh");
}

LW_TEST(alloc_resolve_static_binary)
{
	struct lw_alloc_target t;
	char err[256] = "", exe[PATH_MAX], reply[64], mapped[PATH_MAX], path_env[PATH_MAX];
	char *argv[2], *envp[2];
	uint64_t off, live_off;
	pid_t pid;
	int in, ret;

	ASSERT_EQ(build_static(), 0, "cc -static (libc6-dev provides libc.a)");
	ASSERT_TRUE(realpath(tmp_path("static"), exe), "realpath");
	ASSERT_EQ(alloc_resolve__command(exe, environ, &t, err, sizeof(err)), 0, err);
	ASSERT_STREQ(t.path, exe, "a static binary serves itself");
	ASSERT_TRUE(t.found[LW_FN_MALLOC] && t.found[LW_FN_FREE], "malloc and free in .symtab");
	ASSERT_EQ(elf_symbol_file_offset(exe, "malloc", &off), 0, "symtab lookup");
	ASSERT_EQ(t.offset[LW_FN_MALLOC], off, "malloc offset");
	ASSERT_CONTAINS(t.why, "statically linked", "why");

	/* "#!/usr/bin/env static": env execs static from PATH, env's libc is moot */
	ASSERT_EQ(write_file(tmp_path("env-static.sh"), "#!/usr/bin/env static\n", 0755), 0,
		  "script");
	snprintf(path_env, sizeof(path_env), "PATH=/usr/bin:%s", tmp_dir);
	envp[0] = path_env;
	envp[1] = NULL;
	ASSERT_EQ(alloc_resolve__command(tmp_path("env-static.sh"), envp, &t, err, sizeof(err)), 0,
		  err);
	ASSERT_STREQ(t.path, exe, "#!/usr/bin/env static");

	/* the same binary running */
	argv[0] = exe;
	argv[1] = NULL;
	ASSERT_TRUE((pid = spawn_echo(argv, environ, &in, reply, sizeof(reply))) > 0,
		    "start static child");
	memset(&t, 0, sizeof(t));
	ret = alloc_resolve__pid(pid, &t, err, sizeof(err));
	/* independent: the child's &malloc through its own maps */
	live_off = ~0ull;
	pid_file_off(pid, strtoull(reply, NULL, 16), mapped, &live_off);
	reap(pid, in);
	ASSERT_EQ(ret, 0, err);
	ASSERT_STREQ(t.path, exe, "live static process serves itself");
	ASSERT_STREQ(mapped, exe, "child's malloc is mapped from itself");
	ASSERT_EQ(t.offset[LW_FN_MALLOC], live_off, "malloc offset = &malloc - start + pgoff");
	ASSERT_TRUE(live_off != strtoull(reply, NULL, 16), "vaddr != file offset (ET_EXEC)");
}

LW_TEST(alloc_resolve_stripped_static)
{
	struct lw_alloc_target t;
	char err[256] = "";
	const char *exe;

	ASSERT_EQ(build_stripped(), 0, "objcopy --strip-all");
	exe = tmp_path("stripped"); /* only now: tmp_path recycles 4 buffers */
	ASSERT_EQ(alloc_resolve__command(exe, environ, &t, err, sizeof(err)), -ENODATA, err);
	ASSERT_CONTAINS(err, "stripped: no symbol table, cannot find malloc", "error");
}

LW_TEST(alloc_resolve_ld_preload_wins)
{
	struct lw_alloc_target t;
	char err[256] = "", pre[PATH_MAX], env_pre[PATH_MAX + 16], cat[PATH_MAX], reply[8];
	char *envp[3], *argv[2];
	uint64_t off;
	pid_t pid;
	int in, ret;

	ASSERT_EQ(build_preload(), 0, "cc -shared -fPIC");
	ASSERT_TRUE(realpath(tmp_path("libpre.so"), pre), "realpath");
	ASSERT_EQ(elf_symbol_file_offset(pre, "malloc", &off), 0, "preload malloc");
	snprintf(env_pre, sizeof(env_pre), "LD_PRELOAD=%s", pre);
	envp[0] = env_pre;
	envp[1] = "PATH=/usr/bin:/bin";
	envp[2] = NULL;

	ASSERT_EQ(alloc_resolve__command("cat", envp, &t, err, sizeof(err)), 0, err);
	ASSERT_STREQ(t.path, pre, "command: LD_PRELOAD beats libc");
	ASSERT_EQ(t.offset[LW_FN_MALLOC], off, "preload malloc offset");
	ASSERT_TRUE(!t.found[LW_FN_CALLOC], "calloc is not in the preload");
	ASSERT_CONTAINS(t.why, "(LD_PRELOAD)", "why");

	ASSERT_EQ(alloc_resolve__command("cat", envp + 1, &t, err, sizeof(err)), 0, err);
	ASSERT_TRUE(strcmp(t.path, pre), "without LD_PRELOAD: libc");

	ASSERT_TRUE(realpath("/usr/bin/cat", cat), "cat");
	argv[0] = cat;
	argv[1] = NULL;
	ASSERT_TRUE((pid = spawn_echo(argv, envp, &in, reply, sizeof(reply))) > 0,
		    "start preloaded cat");
	memset(&t, 0, sizeof(t));
	ret = alloc_resolve__pid(pid, &t, err, sizeof(err));
	reap(pid, in);
	ASSERT_EQ(ret, 0, err);
	ASSERT_STREQ(t.path, pre, "live process: LD_PRELOAD beats libc");
	ASSERT_EQ(t.offset[LW_FN_MALLOC], off, "live preload malloc offset");
	ASSERT_CONTAINS(t.why, "(LD_PRELOAD)", "why");
}

LW_TEST(alloc_resolve_errors)
{
	struct lw_alloc_target t;
	char err[256] = "";
	const char *txt = tmp_path("notelf");

	ASSERT_EQ(alloc_resolve__pid(0x7ffffff0, &t, err, sizeof(err)), -ESRCH, "missing pid");
	ASSERT_CONTAINS(err, "no such process", "error");
	ASSERT_EQ(write_file(txt, "hello, not an ELF\n", 0755), 0, "write");
	ASSERT_EQ(alloc_resolve__command(txt, environ, &t, err, sizeof(err)), -ENOEXEC, err);
	ASSERT_CONTAINS(err, "notelf: not an ELF file", "error");
	ASSERT_EQ(alloc_resolve__command("lw-no-such-command-xyz", environ, &t, err, sizeof(err)),
		  -ENOENT, err);
	ASSERT_CONTAINS(err, "command not found", "error");
	ASSERT_STREQ(alloc_fn_name(LW_FN_POSIX_MEMALIGN), "posix_memalign", "names");
	ASSERT_STREQ(alloc_fn_name(LW_FN__MAX), "?", "out of range");
}

/* A dynamic executable whose section headers are gone (corrupt, or sstrip'ed):
 * the error says why its libraries are unknown, not "no malloc/free found".
 */
LW_TEST(alloc_resolve_unreadable_dynamic_section)
{
	const char *exe = tmp_path("noshdr");
	struct lw_alloc_target t;
	char err[512] = "", cmd[PATH_MAX + 64];
	Elf64_Ehdr eh;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "cp /bin/true %s", exe);
	ASSERT_EQ(system(cmd), 0, "copy /bin/true");
	f = fopen(exe, "r+b");
	ASSERT_TRUE(f && fread(&eh, sizeof(eh), 1, f) == 1, "read the ELF header");
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	rewind(f);
	ASSERT_TRUE(fwrite(&eh, sizeof(eh), 1, f) == 1, "write it back");
	fclose(f);
	ASSERT_EQ(alloc_resolve__command(exe, environ, &t, err, sizeof(err)), -ENOEXEC, err);
	ASSERT_CONTAINS(err, "dynamically linked, but its dynamic section cannot be read", "why");
}
