// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The report's destination: checked before the run, never through a
 * symlink, a temporary file renamed into place only when complete.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "harness.h"
#include "report/output.h"

static char dir[32];

static char *make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/lw-output.XXXXXX");
	return mkdtemp(dir);
}

static const char *in_dir(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static char *slurp(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static int entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, ".."));
	if (d)
		closedir(d);
	return n;
}

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlink(in_dir(e->d_name));
	if (d)
		closedir(d);
	rmdir(dir);
}

LW_TEST(output_renames_into_place_when_complete)
{
	struct lw_output *o = NULL;
	char err[256] = "";
	struct stat st;

	ASSERT_TRUE(make_dir(), "mkdtemp");
	ASSERT_EQ(output__open(&o, in_dir("r.txt"), 0, err, sizeof(err)), 0, "open");
	ASSERT_STREQ(output__name(o), in_dir("r.txt"), "name");
	/* prepared, not yet there: a reader never sees half a report */
	ASSERT_EQ(stat(in_dir("r.txt"), &st), -1, "not in place before commit");
	ASSERT_EQ(entries(), 1, "one temporary file");
	fputs("report\n", output__stream(o));
	ASSERT_EQ(output__commit(o, 0), 0, "commit");
	ASSERT_STREQ(slurp(in_dir("r.txt")), "report\n", "content");
	ASSERT_EQ(entries(), 1, "temporary file gone");
	output__free(o);
	ASSERT_STREQ(slurp(in_dir("r.txt")), "report\n", "kept after free");

	/* a second report replaces the first and keeps its mode */
	ASSERT_EQ(chmod(in_dir("r.txt"), 0600), 0, "chmod");
	ASSERT_EQ(output__open(&o, in_dir("r.txt"), 0, err, sizeof(err)), 0, "reopen");
	fputs("second\n", output__stream(o));
	ASSERT_EQ(output__commit(o, 0), 0, "commit 2");
	output__free(o);
	ASSERT_STREQ(slurp(in_dir("r.txt")), "second\n", "replaced");
	ASSERT_EQ(stat(in_dir("r.txt"), &st), 0, "stat");
	ASSERT_EQ(st.st_mode & 0777, 0600, "mode kept");
	cleanup();
}

LW_TEST(output_failed_report_leaves_the_old_one)
{
	struct lw_output *o = NULL;
	char err[256] = "";
	int fd;

	ASSERT_TRUE(make_dir(), "mkdtemp");
	fd = open(in_dir("r.txt"), O_WRONLY | O_CREAT, 0644);
	ASSERT_TRUE(fd >= 0 && write(fd, "old\n", 4) == 4, "old report");
	close(fd);
	ASSERT_EQ(output__open(&o, in_dir("r.txt"), 0, err, sizeof(err)), 0, "open");
	fputs("half", output__stream(o));
	ASSERT_EQ(output__commit(o, -ENOSPC), -ENOSPC, "writer's error returned");
	output__free(o);
	ASSERT_STREQ(slurp(in_dir("r.txt")), "old\n", "old report intact");
	ASSERT_EQ(entries(), 1, "no temporary file left");
	/* never committed (the run failed): nothing is left either */
	ASSERT_EQ(output__open(&o, in_dir("new.txt"), 0, err, sizeof(err)), 0, "open new");
	output__free(o);
	ASSERT_EQ(entries(), 1, "no temporary file after free");
	cleanup();
}

LW_TEST(output_refuses_symlinks_and_missing_directories)
{
	struct lw_output *o = (struct lw_output *)1;
	char err[256] = "", victim[512];

	ASSERT_TRUE(make_dir(), "mkdtemp");

	snprintf(victim, sizeof(victim), "%s", in_dir("victim"));
	ASSERT_EQ(symlink(victim, in_dir("link")), 0, "dangling symlink");
	ASSERT_EQ(output__open(&o, in_dir("link"), 0, err, sizeof(err)), -ELOOP, "symlink");
	ASSERT_TRUE(o == NULL, "no output on error");
	ASSERT_CONTAINS(err, "refusing to write the report through the symlink", "message");
	ASSERT_EQ(access(victim, F_OK), -1, "dangling target not created");
	ASSERT_EQ(output__open(&o, "/nonexistent/dir/x", 0, err, sizeof(err)), -ENOENT,
		  "missing directory");
	ASSERT_STREQ(err, "cannot create the report /nonexistent/dir/x: No such file or directory",
		     "missing directory message");
	ASSERT_EQ(output__open(&o, dir, 0, err, sizeof(err)), -EISDIR, "directory");
	ASSERT_EQ(output__open(&o, "", 0, err, sizeof(err)), -EINVAL, "empty");
	cleanup();
}

LW_TEST(output_special_files_need_the_option)
{
	struct lw_output *o = NULL;
	char err[256] = "";

	ASSERT_EQ(output__open(&o, "/dev/null", 0, err, sizeof(err)), -EINVAL, "/dev/null");
	ASSERT_STREQ(err,
		     "refusing to write the report to /dev/null: a character device, not a "
		     "regular file (--output-special allows it)",
		     "message");
	ASSERT_EQ(output__open(&o, "/dev/null", LW_OUTPUT_SPECIAL, err, sizeof(err)), 0,
		  "with --output-special");
	fputs("x\n", output__stream(o));
	ASSERT_EQ(output__commit(o, 0), 0, "commit");
	output__free(o);
	ASSERT_TRUE(make_dir(), "mkdtemp");
	ASSERT_EQ(mkfifo(in_dir("fifo"), 0600), 0, "mkfifo");
	/* refused without opening it: no wait for a reader */
	ASSERT_EQ(output__open(&o, in_dir("fifo"), 0, err, sizeof(err)), -EINVAL, "fifo");
	ASSERT_CONTAINS(err, "a FIFO, not a regular file", "fifo message");
	cleanup();
}

LW_TEST(output_stdout_aliases)
{
	struct lw_output *o = NULL;
	char err[256] = "";

	ASSERT_TRUE(output__stream(NULL) == stdout, "no output is stdout");
	ASSERT_EQ(output__open(&o, NULL, 0, err, sizeof(err)), 0, "stdout");
	ASSERT_TRUE(output__stream(o) == stdout, "stdout stream");
	ASSERT_STREQ(output__name(o), "stdout", "stdout name");
	output__free(o);
	ASSERT_EQ(output__open(&o, "/dev/stderr", 0, err, sizeof(err)), 0, "/dev/stderr alias");
	ASSERT_TRUE(output__stream(o) == stderr, "stderr stream");
	ASSERT_EQ(output__commit(o, 0), 0, "commit leaves stderr open");
	output__free(o);
	ASSERT_EQ(fcntl(2, F_GETFD) >= 0, 1, "stderr still open");
	ASSERT_EQ(output__open(&o, "/dev/stdout", LW_OUTPUT_STDOUT_CLOSED, err, sizeof(err)),
		  -EBADF, "closed stdout");
	ASSERT_STREQ(err, "stdout is closed: nowhere to write the report (use -o FILE)",
		     "closed stdout message");
}

LW_TEST(output_closed_stdio_gets_dev_null)
{
	int status = -1;
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0, "fork");
	if (pid == 0) {
		struct stat st, null;
		unsigned closed;

		close(1);
		closed = output__fix_stdio();
		/* fd 1 is /dev/null now, not the next file opened */
		_exit(closed == 2 && fstat(1, &st) == 0 && stat("/dev/null", &null) == 0 &&
			      st.st_rdev == null.st_rdev
			  ? 0
			  : 1);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid");
	ASSERT_EQ(status, 0, "child saw fd 1 closed, then /dev/null on it");
	ASSERT_EQ(output__fix_stdio(), 0, "nothing closed here");
}
