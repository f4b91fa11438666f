// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procfs readers against the real /proc: this process and children it
 * forks (synchronised over pipes, never by sleeping).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "harness.h"
#include "base/procfs.h"

#define FD_CLOEXEC_AT 200 /* the child's fds, at numbers nothing else uses */
#define FD_KEPT_AT    201

static const struct lw_proc_fd *find_fd(const struct lw_proc_fd *v, int n, int fd)
{
	for (int i = 0; i < n; i++)
		if (v[i].fd == fd)
			return &v[i];
	return NULL;
}

static bool has_pid(const pid_t *v, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

LW_TEST(procfs_fds_self)
{
	struct lw_proc_fd *v = NULL;
	const struct lw_proc_fd *a, *b, *f;
	char want[64];
	int p[2], null, n;
	struct stat st;

	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0, "pipe2");
	null = open("/dev/null", O_RDONLY);
	ASSERT_TRUE(null >= 0, "open");
	n = procfs__fds(getpid(), &v);
	a = find_fd(v, n, p[0]);
	b = find_fd(v, n, p[1]);
	f = find_fd(v, n, null);
	ASSERT_TRUE(fstat(p[0], &st) == 0, "fstat");
	snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)st.st_ino);
	close(p[0]);
	close(p[1]);
	close(null);
	ASSERT_TRUE(n >= 3, "at least the three new fds");
	ASSERT_TRUE(a && b && f, "all listed");
	for (int i = 1; i < n; i++)
		ASSERT_TRUE(v[i - 1].fd < v[i].fd, "sorted");
	ASSERT_TRUE(a->cloexec && b->cloexec, "O_CLOEXEC pipe");
	ASSERT_TRUE(!f->cloexec, "plain open");
	ASSERT_STREQ(a->target, want, "pipe target");
	ASSERT_STREQ(f->target, "/dev/null", "file target");
	free(v);
	ASSERT_EQ(procfs__fds(-1, &v), -ENOENT, "no such process");
}

/* A child with one cloexec and one plain fd, before and after it execs
 * cat; ep says "ready" and then, by closing at exec, "exec'd".
 */
LW_TEST(procfs_fds_child_across_exec)
{
	struct lw_proc_fd *v = NULL;
	const struct lw_proc_fd *x, *k;
	int go[2], ep[2], n, status;
	char c = 0, comm[32];
	pid_t pid;

	ASSERT_EQ(pipe(go), 0, "pipe");
	ASSERT_EQ(pipe2(ep, O_CLOEXEC), 0, "pipe2");
	pid = fork();
	ASSERT_TRUE(pid >= 0, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		close(go[1]);
		close(ep[0]);
		if (null < 0 || dup3(null, FD_CLOEXEC_AT, O_CLOEXEC) < 0 ||
		    dup2(null, FD_KEPT_AT) < 0 || dup2(go[0], 0) < 0)
			_exit(1);
		prctl(PR_SET_NAME, "lw fd (child)");
		if (write(ep[1], "r", 1) != 1 || read(0, &c, 1) != 1)
			_exit(1);
		execl("/bin/cat", "cat", (char *)NULL);
		c = 'x';
		(void)!write(ep[1], &c, 1);
		_exit(127);
	}
	close(go[0]);
	close(ep[1]);
	ASSERT_EQ(read(ep[0], &c, 1), 1, "child ready");
	n = procfs__fds(pid, &v);
	x = find_fd(v, n, FD_CLOEXEC_AT);
	k = find_fd(v, n, FD_KEPT_AT);
	procfs__comm(pid, comm, sizeof(comm));
	ASSERT_EQ(procfs__ppid(pid), getpid(), "ppid, past a comm with spaces and parens");
	ASSERT_TRUE(x && k, "both fds listed");
	ASSERT_TRUE(x->cloexec, "dup3 O_CLOEXEC");
	ASSERT_TRUE(!k->cloexec, "dup2");
	ASSERT_STREQ(k->target, "/dev/null", "target");
	ASSERT_STREQ(comm, "lw fd (child)", "comm");
	free(v);

	ASSERT_EQ(write(go[1], "g", 1), 1, "go");
	ASSERT_EQ(read(ep[0], &c, 1), 0, "exec closed ep");
	n = procfs__fds(pid, &v);
	x = find_fd(v, n, FD_CLOEXEC_AT);
	k = find_fd(v, n, FD_KEPT_AT);
	procfs__comm(pid, comm, sizeof(comm));
	close(go[1]); /* cat sees EOF */
	close(ep[0]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cat exited 0");
	ASSERT_TRUE(n > 0, "fds after exec");
	ASSERT_TRUE(!x, "exec closed the cloexec fd");
	ASSERT_TRUE(k != NULL, "the plain fd survived");
	ASSERT_STREQ(comm, "cat", "comm after exec");
	free(v);
	comm[0] = 'x';
	procfs__comm(-1, comm, sizeof(comm));
	ASSERT_STREQ(comm, "", "no such process: empty comm");
	ASSERT_EQ(procfs__ppid(-1), -ENOENT, "ppid of no process");
}

/* child A forks grandchild B; both wait for EOF on one pipe */
LW_TEST(procfs_descendants)
{
	pid_t a, b = 0, *v = NULL;
	int hold[2], info[2], n, status;

	ASSERT_EQ(pipe(hold), 0, "pipe");
	ASSERT_EQ(pipe(info), 0, "pipe");
	a = fork();
	ASSERT_TRUE(a >= 0, "fork");
	if (a == 0) {
		char c;
		pid_t gb;

		close(hold[1]);
		close(info[0]);
		gb = fork();
		if (gb == 0) {
			(void)!read(hold[0], &c, 1);
			_exit(0);
		}
		if (gb < 0 || write(info[1], &gb, sizeof(gb)) != sizeof(gb))
			_exit(1);
		(void)!read(hold[0], &c, 1);
		waitpid(gb, NULL, 0);
		_exit(0);
	}
	close(hold[0]);
	close(info[1]);
	ASSERT_EQ(read(info[0], &b, sizeof(b)), sizeof(b), "grandchild pid");
	close(info[0]);

	n = procfs__descendants(getpid(), &v);
	ASSERT_TRUE(n >= 2, "at least two descendants");
	ASSERT_TRUE(has_pid(v, n, a), "the child");
	ASSERT_TRUE(has_pid(v, n, b), "the grandchild");
	ASSERT_TRUE(!has_pid(v, n, getpid()), "not itself");
	ASSERT_TRUE(!has_pid(v, n, getppid()), "not its parent");
	free(v);
	n = procfs__descendants(a, &v);
	ASSERT_EQ(n, 1, "the child has one");
	ASSERT_EQ(v[0], b, "the grandchild");
	free(v);
	n = procfs__descendants(b, &v);
	ASSERT_EQ(n, 0, "a leaf has none");
	free(v);
	ASSERT_EQ(procfs__ppid(b), a, "grandchild's parent");

	close(hold[1]);
	ASSERT_EQ(waitpid(a, &status, 0), a, "waitpid");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited 0");
}

/* Is "/" shared, read independently: the last mountinfo line for "/"
 * ("ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - ...").
 */
static int root_shared(void)
{
	char line[4096];
	int shared = -ENOENT;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		int field = 0, is_root = 0, sh = 0;

		for (; tok; tok = strtok_r(NULL, " ", &save), field++) {
			if (field == 4)
				is_root = !strcmp(tok, "/");
			else if (field >= 6 && !strcmp(tok, "-"))
				break;
			else if (field >= 6 && !strncmp(tok, "shared:", 7))
				sh = 1;
		}
		if (is_root)
			shared = sh;
	}
	fclose(f);
	return shared;
}

LW_TEST(procfs_mount_shared_root)
{
	int want = root_shared();

	ASSERT_TRUE(want == 0 || want == 1, "/ is in mountinfo");
	ASSERT_EQ(procfs__mount_shared(getpid(), "/"), want, "/");
	ASSERT_EQ(procfs__mount_shared(getpid(), "//"), want, "trailing slashes");
	ASSERT_EQ(procfs__mount_shared(getpid(), "/proc/self"), -ENOENT, "not a mount point");
	ASSERT_EQ(procfs__mount_shared(getpid(), "/no/such/dir"), -ENOENT, "no such path");
	ASSERT_EQ(procfs__mount_shared(-1, "/"), -ENOENT, "no such process");
	ASSERT_TRUE(procfs__mnt_ns(0) != 0, "our mount namespace");
	ASSERT_EQ(procfs__mnt_ns(getpid()), procfs__mnt_ns(0), "pid 0 is us");
	ASSERT_EQ(procfs__mnt_ns(-1), 0, "no such process");
}

/* A mount point below a directory other than "/" (e.g. /dev/pts), so its
 * parent can be a cwd; without mountinfo escapes. 0 or -ENOENT.
 */
static int nested_mount_point(char *point, size_t len)
{
	char line[4096], p[4096];
	int ret = -ENOENT;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		char *slash;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", p) != 1 || strchr(p, '\\'))
			continue;
		slash = strrchr(p, '/');
		if (slash && slash != p && slash[1] && strlen(p) < len) {
			snprintf(point, len, "%s", p);
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

/* a relative path is taken from the process's cwd */
LW_TEST(procfs_mount_shared_relative)
{
	int hold[2], ready[2], status, abs_ans;
	char point[256], *base, c;
	pid_t pid;

	ASSERT_EQ(nested_mount_point(point, sizeof(point)), 0, "a mount point like /dev/pts");
	abs_ans = procfs__mount_shared(getpid(), point);
	ASSERT_TRUE(abs_ans == 0 || abs_ans == 1, point);
	base = strrchr(point, '/');
	*base++ = 0; /* point is its parent now */
	ASSERT_EQ(pipe(hold), 0, "pipe");
	ASSERT_EQ(pipe(ready), 0, "pipe");
	pid = fork();
	ASSERT_TRUE(pid >= 0, "fork");
	if (pid == 0) {
		close(hold[1]);
		close(ready[0]);
		if (chdir(point) || write(ready[1], "r", 1) != 1)
			_exit(1);
		(void)!read(hold[0], &c, 1);
		_exit(0);
	}
	close(hold[0]);
	close(ready[1]);
	ASSERT_EQ(read(ready[0], &c, 1), 1, "child ready");
	close(ready[0]);
	ASSERT_EQ(procfs__mount_shared(pid, base), abs_ans, "the same mount, from its parent");
	ASSERT_EQ(procfs__mount_shared(getpid(), base), -ENOENT, "not from our cwd");
	ASSERT_EQ(procfs__mount_shared(pid, "no-such"), -ENOENT, "relative, no mount");
	close(hold[1]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited 0");
}

LW_TEST(procfs_status_field)
{
	char v[64];

	ASSERT_EQ(procfs__status_field(getpid(), 0, "Tgid", v, sizeof(v)), 0, "Tgid");
	ASSERT_EQ(atoi(v), getpid(), "our tgid");
	ASSERT_EQ(procfs__status_field(getpid(), (pid_t)syscall(SYS_gettid), "State", v, sizeof(v)),
		  0, "a thread's State");
	ASSERT_TRUE(v[0] == 'R', "running, blanks trimmed");
	/* "Tgid" must not match a longer key that starts with it, nor a prefix */
	ASSERT_EQ(procfs__status_field(getpid(), 0, "Tg", v, sizeof(v)), -ENOENT, "no such key");
	ASSERT_EQ(procfs__status_field(getpid(), 0, "SigPnd", v, sizeof(v)), 0, "SigPnd");
	ASSERT_EQ(strlen(v), 16, "hex mask");
	ASSERT_TRUE(procfs__status_field(0x3fffffff, 0, "Tgid", v, sizeof(v)) < 0, "gone");
}

LW_TEST(procfs_syscall_of_a_sleeping_child)
{
	int go[2];
	long nr = -2;
	pid_t c;

	ASSERT_EQ(pipe(go), 0, "pipe");
	c = fork();
	if (c == 0) {
		char b;

		close(go[1]);
		_exit(read(go[0], &b, 1) < 0); /* sleeps in read until the parent closes */
	}
	close(go[0]);
	/* bounded: the child reaches its read at once */
	for (int i = 0; i < 2000 && nr != SYS_read; i++) {
		nr = procfs__syscall(c, c);
		if (nr != SYS_read)
			usleep(1000);
	}
	ASSERT_EQ(nr, SYS_read, "the child sleeps in read");
	close(go[1]);
	waitpid(c, NULL, 0);
	ASSERT_TRUE(procfs__syscall(c, c) < -1, "gone");
}
