// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sym_resolve: which object serves an arbitrary function and at which file
 * offset, checked against where the function really is in this process and
 * in a child (its address through /proc/PID/maps), and against nm + readelf
 * for programs and libraries built at test time.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "stack/sym_resolve.h"

extern char **environ;

/* The probe target defined in the executable itself (.symtab only). */
__attribute__((noinline, used)) int lw_test_probe_target(int n)
{
	__asm__ volatile("" : "+r"(n));
	return n + 1;
}

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

/* Scratch directory with test-time binaries; removed at exit. */
static char tmp_dir[] = "/tmp/lw_sr_XXXXXX";
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

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* cc a C source at test time into the scratch directory, once per name. */
static int build(const char *name, const char *flags, const char *src)
{
	char cmd[PATH_MAX * 3], c[PATH_MAX];

	snprintf(c, sizeof(c), "%s.c", tmp_path(name));
	if (!access(tmp_path(name), F_OK))
		return 0;
	if (write_file(c, src))
		return -1;
	snprintf(cmd, sizeof(cmd), "cd %s && cc -O1 %s -x none %s -o %s", tmp_dir, c, flags,
		 tmp_path(name));
	return system(cmd);
}

static int run(const char *fmt_cmd, const char *a, const char *b)
{
	char cmd[PATH_MAX * 3];

	snprintf(cmd, sizeof(cmd), fmt_cmd, a, b);
	return system(cmd);
}

/* Independent of libelf: st_value from nm, turned into a file offset with
 * readelf's PT_LOAD table. 0 or -1.
 */
static int nm_file_off(const char *path, const char *sym, uint64_t *off)
{
	char cmd[PATH_MAX + 64], line[512], name[256], type;
	unsigned long val = 0, o, va, sz;
	bool found = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm --defined-only %s 2>/dev/null", path);
	if (!(p = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%lx %c %255s", &val, &type, name) == 3 && !strcmp(name, sym) &&
		    (type == 'T' || type == 't')) {
			found = true;
			break;
		}
	while (fgets(line, sizeof(line), p))
		;
	pclose(p);
	snprintf(cmd, sizeof(cmd), "readelf -lW %s", path);
	if (!found || !(p = popen(cmd, "r")))
		return -1;
	found = false;
	while (fgets(line, sizeof(line), p))
		if (!found && sscanf(line, " LOAD %lx %lx %*x %lx", &o, &va, &sz) == 3 &&
		    val >= va && val < va + sz) {
			*off = val - va + o;
			found = true;
		}
	pclose(p);
	return found ? 0 : -1;
}

/* Two libraries defining pool_create (DT_NEEDED in this order), one only
 * dlopen'ed, and a program linked against the first two through $ORIGIN.
 * The program dlopens argv[1], answers the first input byte with the
 * addresses of pool_create (as ld.so bound it), app_fn and extra_fn, then
 * waits for EOF.
 */
static const char pool_a_src[] = "int pool_create(int n) { return n + 1; }\n"
				 "void pool_destroy(int p) { (void)p; }\n";
static const char pool_b_src[] = "static int pad[64];\n"
				 "int pool_b_only(int n) { return pad[n & 63]; }\n"
				 "int pool_create(int n) { return n * 7 + pad[n & 63]; }\n";
static const char extra_src[] = "int extra_fn(int n) { return n * 3; }\n";
static const char app_src[] =
    "#include <dlfcn.h>\n#include <stdio.h>\n#include <unistd.h>\n"
    "int pool_create(int);\n"
    "__attribute__((noinline)) int app_fn(int n) { return n - 1; }\n"
    "int main(int argc, char **argv) { char b[64];\n"
    "  void *h = argc > 1 ? dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) : NULL;\n"
    "  if (read(0, b, 1) != 1) return 1;\n"
    "  printf(\"%lx %lx %lx\\n\", (unsigned long)dlsym(RTLD_DEFAULT, \"pool_create\"),\n"
    "         (unsigned long)&app_fn, (unsigned long)(h ? dlsym(h, \"extra_fn\") : 0));\n"
    "  fflush(stdout);\n"
    "  while (read(0, b, 64) > 0) ;\n"
    "  return pool_create(argc) + app_fn(argc); }\n";
static const char static_src[] = "__attribute__((noinline, used)) int lw_static_fn(int n)\n"
				 "{ return n * 2; }\n"
				 "int main(int argc, char **argv) { (void)argv;\n"
				 "  return lw_static_fn(argc); }\n";

static int build_app(void)
{
	if (build("libpoolA.so", "-shared -fPIC", pool_a_src) ||
	    build("libpoolB.so", "-shared -fPIC", pool_b_src) ||
	    build("libextra.so", "-shared -fPIC", extra_src))
		return -1;
	/* --no-as-needed: libpoolB's pool_create loses to libpoolA's, keep it */
	if (build("app", "-L. -Wl,--no-as-needed -lpoolA -lpoolB -Wl,-rpath,'$ORIGIN'", app_src))
		return -1;
	if (access(tmp_path("app-stripped"), F_OK) &&
	    run("strip --strip-all -o %s %s", tmp_path("app-stripped"), tmp_path("app")))
		return -1;
	return 0;
}

/* Path and file offset of sym in lib as this process's ld.so maps it. */
static int dlopen_file_off(const char *lib, const char *sym, char *path, uint64_t *off)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL), *a;
	int ret = -1;

	if (!h)
		return -1;
	if ((a = dlsym(h, sym)))
		ret = pid_file_off(0, (uintptr_t)a, path, off);
	dlclose(h);
	return ret;
}

/* Start argv with stdin/stdout on pipes; returns once the child answered a
 * line (it is past exec, ld.so and its dlopen). Its stdin stays open (*in)
 * so it keeps running until reap().
 */
static pid_t spawn(char *const argv[], int *in, char *reply, size_t len)
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
		execve(argv[0], argv, environ);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	if (pid > 0 && write(pin[1], "x", 1) == 1)
		while (n + 1 < len && read(pout[0], reply + n, 1) == 1 && reply[n++] != '\n')
			;
	reply[n] = 0;
	close(pout[0]);
	if (!n) {
		close(pin[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	*in = pin[1];
	return pid;
}

static void reap(pid_t pid, int in)
{
	close(in);
	waitpid(pid, NULL, 0);
}

LW_TEST(sym_resolve_target_self_function)
{
	struct lw_sym_target t;
	char err[256] = "", exe[PATH_MAX], mapped[PATH_MAX], want[PATH_MAX + 128];
	uint64_t off = ~0ull;

	ASSERT_EQ(lw_test_probe_target(1), 2, "target runs");
	ASSERT_TRUE(realpath("/proc/self/exe", exe), "realpath /proc/self/exe");
	ASSERT_EQ(pid_file_off(0, (uintptr_t)&lw_test_probe_target, mapped, &off), 0, "maps");
	ASSERT_STREQ(mapped, exe, "the target is mapped from the executable");
	ASSERT_EQ(sym_resolve__pid(getpid(), "lw_test_probe_target", "", &t, err, sizeof(err)), 0,
		  err);
	ASSERT_STREQ(t.path, exe, "path");
	ASSERT_EQ(t.offset, off, "offset = address - mapping start + mapping file offset");
	ASSERT_CONTAINS(t.why, "(the executable defines it)", "why");

	memset(&t, 0, sizeof(t));
	ASSERT_EQ(sym_resolve__pid(getpid(), "lw_test_probe_target", strrchr(exe, '/') + 1, &t, err,
				   sizeof(err)),
		  0, err);
	ASSERT_EQ(t.offset, off, "glob on the executable's file name");
	ASSERT_EQ(
	    sym_resolve__pid(getpid(), "lw_test_probe_target", "libc.so*", &t, err, sizeof(err)),
	    -ENOENT, err);
	ASSERT_STREQ(err, "symbol lw_test_probe_target not found in any object matching libc.so*",
		     "glob excludes the executable");

	ASSERT_EQ(sym_resolve__pid(getpid(), "lw_no_such_function_xyz", NULL, &t, err, sizeof(err)),
		  -ENOENT, err);
	snprintf(want, sizeof(want),
		 "symbol lw_no_such_function_xyz not found in %s or its libraries", exe);
	ASSERT_STREQ(err, want, "not found");
}

LW_TEST(sym_resolve_target_self_library)
{
	struct lw_sym_target t;
	char err[256] = "", mapped[PATH_MAX];
	uint64_t off = ~0ull;

	/* getpid: exported by libc, not by the executable (no -rdynamic) */
	ASSERT_EQ(pid_file_off(0, (uintptr_t)dlsym(RTLD_DEFAULT, "getpid"), mapped, &off), 0,
		  "maps");
	ASSERT_EQ(sym_resolve__pid(getpid(), "getpid", "", &t, err, sizeof(err)), 0, err);
	ASSERT_STREQ(t.path, mapped, "libc serves getpid");
	ASSERT_EQ(t.offset, off, "getpid offset");
	ASSERT_CONTAINS(t.why, "libc.so.6 (DT_NEEDED of ", "why");
	memset(&t, 0, sizeof(t));
	ASSERT_EQ(
	    sym_resolve__pid(getpid(), "getpid", "/usr/lib/*/libc.so.*", &t, err, sizeof(err)), 0,
	    err);
	ASSERT_EQ(t.offset, off, "glob on the full path");
	/* strlen is an IFUNC in glibc: the resolver is no place for a uprobe */
	ASSERT_EQ(sym_resolve__pid(getpid(), "strlen", "", &t, err, sizeof(err)), -ENOTSUP, err);
	ASSERT_CONTAINS(err, "strlen in ", "error");
	ASSERT_CONTAINS(err, "libc.so.6 is an IFUNC", "error");
}

LW_TEST(sym_resolve_target_glob_not_loaded)
{
	struct lw_sym_target t;
	char err[256] = "", line[PATH_MAX + 128];
	bool ssl = false;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		ssl |= !!strstr(line, "/libssl.so");
	if (f)
		fclose(f);
	ASSERT_TRUE(f && !ssl, "libssl is not mapped in the test process");
	ASSERT_EQ(sym_resolve__pid(getpid(), "SSL_new", "libssl.so*", &t, err, sizeof(err)),
		  -ENOENT, err);
	ASSERT_STREQ(err, "symbol SSL_new not found in any object matching libssl.so*", "error");
}

LW_TEST(sym_resolve_target_command_library)
{
	struct lw_sym_target t;
	char err[256] = "", app[PATH_MAX], lib_a[PATH_MAX], lib_b[PATH_MAX], mapped[PATH_MAX];
	char want[PATH_MAX + 64];
	uint64_t off_a = ~0ull, off_b = ~0ull, nm_off = ~1ull;

	ASSERT_EQ(build_app(), 0, "cc libpoolA.so libpoolB.so libextra.so app");
	ASSERT_TRUE(realpath(tmp_path("app"), app) && realpath(tmp_path("libpoolA.so"), lib_a) &&
			realpath(tmp_path("libpoolB.so"), lib_b),
		    "realpath");
	ASSERT_EQ(dlopen_file_off(lib_a, "pool_create", mapped, &off_a), 0, "dlopen libpoolA");
	ASSERT_STREQ(mapped, lib_a, "mapped libpoolA");
	ASSERT_EQ(nm_file_off(lib_a, "pool_create", &nm_off), 0, "nm + readelf libpoolA");
	ASSERT_EQ(nm_off, off_a, "nm and dlsym agree");
	ASSERT_EQ(dlopen_file_off(lib_b, "pool_create", mapped, &off_b), 0, "dlopen libpoolB");
	ASSERT_TRUE(off_a != off_b, "the two pool_create sit at different offsets");

	ASSERT_EQ(sym_resolve__command(app, environ, "pool_create", "", &t, err, sizeof(err)), 0,
		  err);
	ASSERT_STREQ(t.path, lib_a, "first DT_NEEDED wins");
	ASSERT_EQ(t.offset, off_a, "pool_create offset in libpoolA");
	ASSERT_CONTAINS(t.why, "libpoolA.so (DT_NEEDED of ", "why");

	memset(&t, 0, sizeof(t));
	ASSERT_EQ(
	    sym_resolve__command(app, environ, "pool_create", "libpoolB*", &t, err, sizeof(err)), 0,
	    err);
	ASSERT_STREQ(t.path, lib_b, "glob picks libpoolB");
	ASSERT_EQ(t.offset, off_b, "pool_create offset in libpoolB");
	ASSERT_EQ(
	    sym_resolve__command(app, environ, "pool_create", "libpoolC*", &t, err, sizeof(err)),
	    -ENOENT, err);
	ASSERT_STREQ(err, "symbol pool_create not found in any object matching libpoolC*", "error");

	/* in the executable: .symtab, offset from nm + readelf */
	ASSERT_EQ(nm_file_off(app, "app_fn", &nm_off), 0, "nm app");
	ASSERT_EQ(sym_resolve__command(app, environ, "app_fn", "", &t, err, sizeof(err)), 0, err);
	ASSERT_STREQ(t.path, app, "the executable serves app_fn");
	ASSERT_EQ(t.offset, nm_off, "app_fn offset");

	/* before exec nothing is dlopen'ed yet */
	ASSERT_EQ(sym_resolve__command(app, environ, "extra_fn", "", &t, err, sizeof(err)), -ENOENT,
		  err);
	snprintf(want, sizeof(want), "symbol extra_fn not found in %s or its libraries", app);
	ASSERT_STREQ(err, want, "not found before exec");
}

LW_TEST(sym_resolve_target_live_child)
{
	char err[256] = "", app[PATH_MAX], lib_a[PATH_MAX], lib_b[PATH_MAX], extra[PATH_MAX];
	char reply[128], m_pool[PATH_MAX] = "", m_app[PATH_MAX] = "", m_extra[PATH_MAX] = "";
	uint64_t o_pool = ~0ull, o_app = ~0ull, o_extra = ~0ull;
	struct lw_sym_target r_pool, r_app, r_extra, r_b;
	int ret[4] = {-1, -1, -1, -1}, in;
	unsigned long a_pool = 0, a_app = 0, a_extra = 0;
	char *argv[3];
	pid_t pid;

	ASSERT_EQ(build_app(), 0, "cc libpoolA.so libpoolB.so libextra.so app");
	ASSERT_TRUE(realpath(tmp_path("app"), app) && realpath(tmp_path("libpoolA.so"), lib_a) &&
			realpath(tmp_path("libpoolB.so"), lib_b) &&
			realpath(tmp_path("libextra.so"), extra),
		    "realpath");
	argv[0] = app;
	argv[1] = extra;
	argv[2] = NULL;
	ASSERT_TRUE((pid = spawn(argv, &in, reply, sizeof(reply))) > 0, "start app");
	sscanf(reply, "%lx %lx %lx", &a_pool, &a_app, &a_extra);
	pid_file_off(pid, a_pool, m_pool, &o_pool);
	pid_file_off(pid, a_app, m_app, &o_app);
	pid_file_off(pid, a_extra, m_extra, &o_extra);
	ret[0] = sym_resolve__pid(pid, "pool_create", "", &r_pool, err, sizeof(err));
	if (!ret[0])
		ret[1] = sym_resolve__pid(pid, "app_fn", "", &r_app, err, sizeof(err));
	if (!ret[0] && !ret[1])
		ret[2] = sym_resolve__pid(pid, "extra_fn", "", &r_extra, err, sizeof(err));
	if (!ret[0] && !ret[1] && !ret[2])
		ret[3] =
		    sym_resolve__pid(pid, "pool_create", "libpoolB.so", &r_b, err, sizeof(err));
	reap(pid, in);

	ASSERT_TRUE(a_pool && a_app && a_extra, reply);
	ASSERT_EQ(ret[0], 0, err);
	ASSERT_STREQ(m_pool, lib_a, "ld.so bound pool_create to libpoolA");
	ASSERT_STREQ(r_pool.path, lib_a, "pool_create: libpoolA");
	ASSERT_EQ(r_pool.offset, o_pool, "pool_create offset = live address through maps");
	ASSERT_CONTAINS(r_pool.why, "libpoolA.so (DT_NEEDED of ", "why");
	ASSERT_EQ(ret[1], 0, err);
	ASSERT_STREQ(r_app.path, app, "app_fn: the executable");
	ASSERT_EQ(r_app.offset, o_app, "app_fn offset");
	ASSERT_EQ(ret[2], 0, err);
	ASSERT_STREQ(m_extra, extra, "extra_fn mapped from libextra");
	ASSERT_STREQ(r_extra.path, extra, "extra_fn: the dlopen'ed library, last resort");
	ASSERT_EQ(r_extra.offset, o_extra, "extra_fn offset");
	ASSERT_CONTAINS(r_extra.why, "dlopen", "why");
	ASSERT_EQ(ret[3], 0, err);
	ASSERT_STREQ(r_b.path, lib_b, "glob: libpoolB");
}

LW_TEST(sym_resolve_target_stripped)
{
	struct lw_sym_target t;
	char err[256] = "", exe[PATH_MAX], app[PATH_MAX], lib_a[PATH_MAX], want[PATH_MAX + 128];
	uint64_t off = ~0ull;

	/* static: the executable is the only candidate */
	ASSERT_EQ(build("static", "-static", static_src), 0, "cc -static");
	ASSERT_EQ(
	    run("strip --strip-all -o %s %s", tmp_path("static-stripped"), tmp_path("static")), 0,
	    "strip");
	ASSERT_TRUE(realpath(tmp_path("static"), exe), "realpath");
	ASSERT_EQ(nm_file_off(exe, "lw_static_fn", &off), 0, "nm static");
	ASSERT_EQ(sym_resolve__command(exe, environ, "lw_static_fn", "", &t, err, sizeof(err)), 0,
		  err);
	ASSERT_STREQ(t.path, exe, "unstripped static binary serves itself");
	ASSERT_EQ(t.offset, off, "offset from .symtab");
	ASSERT_CONTAINS(t.why, "(statically linked executable)", "why");

	ASSERT_TRUE(realpath(tmp_path("static-stripped"), exe), "realpath");
	ASSERT_EQ(sym_resolve__command(exe, environ, "lw_static_fn", "", &t, err, sizeof(err)),
		  -ENODATA, err);
	snprintf(want, sizeof(want), "%s: stripped: no symbol table, cannot find lw_static_fn",
		 exe);
	ASSERT_STREQ(err, want, "stripped static");

	/* dynamic: libraries are candidates too, unless the glob leaves only the executable */
	ASSERT_EQ(build_app(), 0, "cc app");
	ASSERT_TRUE(realpath(tmp_path("app-stripped"), app) &&
			realpath(tmp_path("libpoolA.so"), lib_a),
		    "realpath");
	ASSERT_EQ(sym_resolve__command(app, environ, "app_fn", "", &t, err, sizeof(err)), -ENOENT,
		  err);
	snprintf(want, sizeof(want), "symbol app_fn not found in %s or its libraries", app);
	ASSERT_STREQ(err, want, "stripped dynamic, any object");
	ASSERT_EQ(sym_resolve__command(app, environ, "app_fn", "app-*", &t, err, sizeof(err)),
		  -ENODATA, err);
	snprintf(want, sizeof(want), "%s: stripped: no symbol table, cannot find app_fn", app);
	ASSERT_STREQ(err, want, "stripped dynamic, only the executable matches");
	ASSERT_EQ(sym_resolve__command(app, environ, "pool_create", "", &t, err, sizeof(err)), 0,
		  err);
	ASSERT_STREQ(t.path, lib_a, "libraries still resolve");
}

LW_TEST(sym_resolve_target_errors)
{
	struct lw_sym_target t;
	char err[256] = "";

	ASSERT_EQ(sym_resolve__pid(0x7ffffff0, "malloc", "", &t, err, sizeof(err)), -ESRCH, err);
	ASSERT_STREQ(err, "pid 2147483632: no such process", "missing pid");
	ASSERT_EQ(sym_resolve__pid(-1, "malloc", "", &t, err, sizeof(err)), -ESRCH, err);
	ASSERT_EQ(sym_resolve__command("lw-no-such-command-xyz", environ, "malloc", "", &t, err,
				       sizeof(err)),
		  -ENOENT, err);
	ASSERT_CONTAINS(err, "command not found", "error");
	ASSERT_EQ(sym_resolve__pid(getpid(), "", "", &t, err, sizeof(err)), -EINVAL, err);
}
