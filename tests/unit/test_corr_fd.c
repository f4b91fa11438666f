// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator: synthetic event streams with known answers. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "harness.h"
#include "ev_builders.h"
#include "detect/fd/corr_fd.h"

#define MS 1000000ull
/* these tests are about the model: every fd open at the end is an fd-leak
 * (--strict-fds); liveness classes are test_corr_fd_live.c's
 */

/* A feed error fails the running test without a return at every call site. */
static void feed(struct corr_fd *c, const void *ev)
{
	int err = ev_fd_feed(c, ev);

	if (err) {
		fprintf(stderr, "  corr_fd__feed: %d\n", err);
		lw_test_failed = 1;
	}
}

/* site picks the creation stack: {0x1000 + site, 0x4000}. */
static void open_ex(struct corr_fd *c, uint32_t tgid, uint32_t tid, uint64_t ts, int fd,
		    uint32_t flags, int src_fd, int site, const char *path)
{
	struct lw_ev_fd_open ev = ev_fd_open(tgid, fd, path, 0x1000 + site);

	ev.hdr.tid = tid;
	ev.hdr.ts_ns = ts;
	ev.src_fd = src_fd;
	ev.fd_flags = flags;
	feed(c, &ev);
}

static void open_fd(struct corr_fd *c, uint32_t tgid, uint64_t ts, int fd, int site)
{
	char path[32];

	snprintf(path, sizeof(path), "/tmp/f%d", fd);
	open_ex(c, tgid, tgid, ts, fd, 0, -1, site, path);
}

static void close_fd(struct corr_fd *c, uint32_t tgid, uint64_t ts, int fd, int ret)
{
	struct lw_ev_fd_close ev = ev_fd_close(tgid, fd, ret, 0);

	ev.hdr.ts_ns = ts;
	feed(c, &ev);
}

static void close_range(struct corr_fd *c, uint32_t tgid, uint32_t first, uint32_t last,
			uint32_t flags)
{
	struct lw_ev_fd_close_range ev = ev_fd_close_range(tgid, first, last, flags);

	feed(c, &ev);
}

static void set_cloexec(struct corr_fd *c, uint32_t tgid, int fd, bool on)
{
	struct lw_ev_fd_cloexec ev = ev_fd_cloexec(tgid, fd, on);

	feed(c, &ev);
}

static void fork_ev(struct corr_fd *c, uint32_t parent, uint32_t child, uint32_t flags)
{
	struct lw_ev_proc_fork ev = ev_proc_fork(parent, child, flags, "parent");

	feed(c, &ev);
}

static void exec_ev(struct corr_fd *c, uint32_t tgid, const char *comm)
{
	struct lw_ev_proc_exec ev = ev_proc_exec(tgid, comm, "");

	feed(c, &ev);
}

static void exit_ev(struct corr_fd *c, uint32_t tgid, uint64_t ts)
{
	struct lw_ev_proc_exit ev = ev_proc_exit(tgid, 0, "");

	ev.hdr.ts_ns = ts;
	feed(c, &ev);
}

static void feed_pipe(struct corr_fd *c, uint32_t tgid, int fd, int site)
{
	struct lw_ev_fd_open ev = ev_fd_open(tgid, fd, "", 0x1000 + site);

	ev.res_kind = LW_RES_PIPE;
	ev.ino = 77;
	feed(c, &ev);
}

static struct corr_fd *run_mode(void)
{
	struct corr_fd_opts o = {.strict = true, .attach_mode = false};

	return ev_fd_new(&o);
}

/* finish, then free the correlator; findings stay in fs */
static int finish(struct corr_fd *c, uint64_t now, struct lw_findings *fs)
{
	int err = corr_fd__finish(c, now, fs);

	corr_fd__free(c);
	return err;
}

LW_TEST(fd_simple_leak)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	exec_ev(c, 100, "leaky");
	open_ex(c, 100, 101, 1 * MS, 3, 0, -1, 1, "/etc/passwd");
	exit_ev(c, 100, 5 * MS);
	ASSERT_EQ(finish(c, 9 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_STREQ(fs.v[0].kind, "fd-leak", "kind");
	ASSERT_EQ(fs.v[0].pid, 100, "pid");
	ASSERT_EQ(fs.v[0].tid, 101, "tid");
	ASSERT_STREQ(fs.v[0].comm, "leaky", "comm");
	ASSERT_EQ(fs.v[0].fd, 3, "fd");
	ASSERT_EQ(fs.v[0].count, 1, "count");
	ASSERT_EQ(fs.v[0].nr_fds, 1, "nr_fds");
	ASSERT_EQ(fs.v[0].age_ms, 4, "age at exit, not at finish");
	ASSERT_STREQ(fs.v[0].resource, "/etc/passwd", "resource");
	ASSERT_EQ(fs.v[0].stack.nr, 2, "stack nr");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "stack ip");
	ASSERT_TRUE(fs.v[0].frames == NULL, "frames left to the symbolizer");
	lw_findings__free(&fs);
}

LW_TEST(fd_open_close_no_leak)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);
	close_fd(c, 100, 0, 3, 0);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "findings");
}

LW_TEST(fd_alive_at_finish_is_leak_in_run_mode)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 2 * MS, 7, 1);
	ASSERT_EQ(finish(c, 10 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].fd, 7, "fd");
	ASSERT_EQ(fs.v[0].age_ms, 8, "age to now");
	lw_findings__free(&fs);
}

LW_TEST(fd_dup2_over_open_fd)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_ex(c, 100, 100, 0, 3, 0, -1, 1, "/data/a");
	open_ex(c, 100, 100, 0, 4, 0, -1, 2, "/data/b");
	/* dup2(3, 4): the old 4 is closed by the kernel, never a leak */
	open_ex(c, 100, 100, 0, 4, LW_FD_DUP, 3, 3, "");
	close_fd(c, 100, 0, 3, 0);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].fd, 4, "fd");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1003, "dup's own stack");
	ASSERT_STREQ(fs.v[0].resource, "/data/a", "resource of the dup source");
	lw_findings__free(&fs);
}

LW_TEST(fd_dup_unknown_source_and_self)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	/* source unknown (seeded nowhere): the event's own name describes it */
	open_ex(c, 100, 100, 0, 5, LW_FD_DUP, 9, 1, "/from/event");
	/* dup2(5, 5) is a no-op: the creation stays site 1 */
	open_ex(c, 100, 100, 0, 5, LW_FD_DUP, 5, 2, "");
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_STREQ(fs.v[0].resource, "/from/event", "resource");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "site");
	lw_findings__free(&fs);
}

LW_TEST(fd_close_range_closes)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	for (int fd = 3; fd <= 8; fd++)
		open_fd(c, 100, 0, fd, 1);
	close_range(c, 100, 6, ~0U, 0);
	close_range(c, 100, 4, 4, 0);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].count, 2, "count");
	ASSERT_EQ(fs.v[0].fds[0], 3, "fds[0]");
	ASSERT_EQ(fs.v[0].fds[1], 5, "fds[1]");
	lw_findings__free(&fs);
}

LW_TEST(fd_close_range_cloexec_then_exec)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);
	open_fd(c, 100, 0, 4, 1);
	open_fd(c, 100, 0, 5, 1);
	close_range(c, 100, 4, 5, LW_CLOSE_RANGE_CLOEXEC);
	int fds[8];

	ASSERT_EQ(corr_fd__open_fds(c, 100, fds, 8), 3, "still open before exec");
	exec_ev(c, 100, "child");
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].count, 1, "count");
	ASSERT_EQ(fs.v[0].fd, 3, "fd");
	lw_findings__free(&fs);
}

LW_TEST(fd_o_cloexec_and_exec)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_ex(c, 100, 100, 0, 3, LW_FD_CLOEXEC, -1, 1, "/a");
	open_ex(c, 100, 100, 0, 4, 0, -1, 1, "/b");
	exec_ev(c, 100, "new");
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].fd, 4, "fd");
	ASSERT_STREQ(fs.v[0].comm, "new", "comm after exec");
	lw_findings__free(&fs);
}

LW_TEST(fd_fcntl_setfd_then_exec)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);
	open_fd(c, 100, 0, 4, 1);
	open_ex(c, 100, 100, 0, 5, LW_FD_CLOEXEC, -1, 1, "/c");
	set_cloexec(c, 100, 3, true);
	set_cloexec(c, 100, 4, true);
	set_cloexec(c, 100, 4, false);
	set_cloexec(c, 100, 5, false);
	exec_ev(c, 100, "x");
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].count, 2, "count");
	ASSERT_EQ(fs.v[0].fds[0], 4, "fds[0]");
	ASSERT_EQ(fs.v[0].fds[1], 5, "fds[1]");
	lw_findings__free(&fs);
}

LW_TEST(fd_fork_child_inherits)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);
	open_fd(c, 100, 0, 4, 2);
	fork_ev(c, 100, 200, 0);
	open_fd(c, 200, 0, 9, 3); /* the child's own fd: its leak */
	exit_ev(c, 200, MS);	  /* inherited 3 and 4 still open: not the child's */
	close_fd(c, 100, 0, 4, 0);
	exit_ev(c, 100, 2 * MS); /* 3 never closed by its creator */
	ASSERT_EQ(finish(c, 3 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	ASSERT_EQ(fs.v[0].pid, 100, "parent first");
	ASSERT_EQ(fs.v[0].fd, 3, "parent fd");
	ASSERT_EQ(fs.v[0].count, 1, "parent count");
	ASSERT_EQ(fs.v[1].pid, 200, "child");
	ASSERT_EQ(fs.v[1].fd, 9, "child fd");
	ASSERT_EQ(fs.v[1].count, 1, "child count");
	ASSERT_STREQ(fs.v[1].comm, "parent", "fork comm");
	lw_findings__free(&fs);
}

LW_TEST(fd_fork_parent_closes_child_holds)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);
	fork_ev(c, 100, 200, 0);
	close_fd(c, 100, 0, 3, 0); /* the parent's copy only */
	int fds[4];

	ASSERT_EQ(corr_fd__open_fds(c, 200, fds, 4), 1, "child keeps its copy");
	exit_ev(c, 100, MS);
	exit_ev(c, 200, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "findings");
}

LW_TEST(fd_clone_files_shared_table)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);
	fork_ev(c, 100, 200, LW_FORK_SHARED_FILES);
	close_fd(c, 200, 0, 3, 0);     /* closes the parent's fd too */
	open_fd(c, 200, 1 * MS, 5, 2); /* visible to the parent */
	open_fd(c, 200, 1 * MS, 6, 2);
	exit_ev(c, 200, 2 * MS); /* deferred: the parent still uses the table */
	close_fd(c, 100, 0, 6, 0);
	exit_ev(c, 100, 9 * MS);
	ASSERT_EQ(finish(c, 20 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].pid, 200, "attributed to the creator");
	ASSERT_EQ(fs.v[0].fd, 5, "fd");
	ASSERT_EQ(fs.v[0].count, 1, "count");
	ASSERT_EQ(fs.v[0].age_ms, 8, "reported at the last sharer's exit");
	lw_findings__free(&fs);
}

LW_TEST(fd_clone_files_exec_unshares)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};
	int fds[8];

	open_ex(c, 100, 100, 0, 3, LW_FD_CLOEXEC, -1, 1, "/p");
	fork_ev(c, 100, 200, LW_FORK_SHARED_FILES);
	exec_ev(c, 200, "child");
	ASSERT_EQ(corr_fd__open_fds(c, 100, fds, 8), 1, "parent keeps its cloexec fd");
	ASSERT_EQ(corr_fd__open_fds(c, 200, fds, 8), 0, "child's copy lost it");
	open_fd(c, 200, 0, 4, 2);
	ASSERT_EQ(corr_fd__open_fds(c, 100, fds, 8), 1, "no longer shared");
	close_fd(c, 100, 0, 3, 0);
	exit_ev(c, 100, MS);
	exit_ev(c, 200, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].pid, 200, "pid");
	ASSERT_EQ(fs.v[0].fd, 4, "fd");
	lw_findings__free(&fs);
}

LW_TEST(fd_unshared_process_answers_for_its_copy)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);
	fork_ev(c, 100, 200, LW_FORK_SHARED_FILES);
	exec_ev(c, 100, "p"); /* 100 unshares; its copy keeps 3 */
	close_fd(c, 100, 0, 3, 0);
	exit_ev(c, 200, MS); /* 200 still held 3 in the old table: not its fd */
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "findings");
}

LW_TEST(fd_close_range_unshare)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};
	int fds[8];

	open_fd(c, 100, 0, 3, 1);
	open_fd(c, 100, 0, 4, 1);
	fork_ev(c, 100, 200, LW_FORK_SHARED_FILES);
	close_range(c, 200, 3, ~0U, LW_CLOSE_RANGE_UNSHARE);
	ASSERT_EQ(corr_fd__open_fds(c, 200, fds, 8), 0, "child closed its copy");
	ASSERT_EQ(corr_fd__open_fds(c, 100, fds, 8), 2, "parent untouched");
	exit_ev(c, 200, MS);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].pid, 100, "pid");
	ASSERT_EQ(fs.v[0].count, 2, "count");
	lw_findings__free(&fs);
}

LW_TEST(fd_threads_share_table)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_ex(c, 100, 101, 0, 3, 0, -1, 1, "/t");
	fork_ev(c, 100, 100, 0);   /* a thread clone: nothing changes */
	close_fd(c, 100, 0, 3, 0); /* same tgid; the builder sets tid = tgid */
	open_ex(c, 100, 103, 0, 4, 0, -1, 1, "/t");
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].fd, 4, "fd");
	ASSERT_EQ(fs.v[0].tid, 103, "creating thread");
	lw_findings__free(&fs);
}

LW_TEST(fd_seeded_never_leak)
{
	struct corr_fd_opts o = {.strict = true, .attach_mode = true};
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	ASSERT_EQ(corr_fd__seed(c, 100, 3, "/seeded", false), 0, "seed");
	ASSERT_EQ(corr_fd__seed(c, 100, 4, NULL, true), 0, "seed");
	open_fd(c, 100, 0, 5, 1);
	fork_ev(c, 100, 200, 0);
	exit_ev(c, 200, MS);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].fd, 5, "only the observed fd");
	lw_findings__free(&fs);

	c = ev_fd_new(&o);
	ASSERT_EQ(corr_fd__seed(c, 100, 3, "/seeded", false), 0, "seed");
	ASSERT_EQ(finish(c, 10000 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "attach: seeded fds are old news");
}

LW_TEST(fd_std_fds_never_leak)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	close_fd(c, 100, 0, 0, 0);
	open_fd(c, 100, 0, 0, 1);
	open_fd(c, 100, 0, 1, 1);
	open_fd(c, 100, 0, 2, 1);
	open_fd(c, 100, 0, 3, 1);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].count, 1, "count");
	ASSERT_EQ(fs.v[0].fd, 3, "fd");
	lw_findings__free(&fs);
}

LW_TEST(fd_attach_min_age)
{
	struct corr_fd_opts o = {.strict = true, .attach_mode = true, .min_age_ns = 1000 * MS};
	struct corr_fd *c = ev_fd_new(&o);
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);	  /* 3 s old at finish */
	open_fd(c, 100, 2500 * MS, 4, 1); /* 0.5 s old: too young */
	open_fd(c, 300, 0, 5, 1);
	exit_ev(c, 300, 200 * MS); /* exited at 0.2 s: too young at exit */
	open_fd(c, 301, 0, 6, 1);
	exit_ev(c, 301, 1500 * MS); /* old enough, but its exit closed it */
	ASSERT_EQ(finish(c, 3000 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings: only fds still open at the end");
	ASSERT_EQ(fs.v[0].pid, 100, "live pid");
	ASSERT_EQ(fs.v[0].count, 1, "count");
	ASSERT_EQ(fs.v[0].fd, 3, "old fd");
	ASSERT_EQ(fs.v[0].age_ms, 3000, "age");
	lw_findings__free(&fs);
}

/* run mode keeps what an exited process held (valgrind --track-fds semantics) */
LW_TEST(fd_run_exit_leaks_kept)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 301, 0, 6, 1);
	exit_ev(c, 301, 1500 * MS);
	ASSERT_EQ(finish(c, 3000 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].pid, 301, "exited pid");
	ASSERT_EQ(fs.v[0].age_ms, 1500, "age at exit");
	lw_findings__free(&fs);
}

LW_TEST(fd_grouping_by_stack)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 5 * MS, 5, 1);
	open_ex(c, 100, 107, 1 * MS, 7, 0, -1, 1, "/tmp/f7"); /* oldest of site 1 */
	open_fd(c, 100, 3 * MS, 3, 1);
	open_fd(c, 100, 0, 4, 2);
	open_fd(c, 100, 0, 9, 2);
	/* same stack, other resource kind: its own group */
	feed_pipe(c, 100, 12, 2);
	open_ex(c, 100, 100, 0, 11, LW_FD_DUP, 12, 2, "");
	exit_ev(c, 100, 11 * MS);
	ASSERT_EQ(finish(c, 11 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 3, "two stacks, two kinds: three findings");
	ASSERT_EQ(fs.v[2].fd, 11, "pipe group");
	ASSERT_EQ(fs.v[2].count, 2, "pipe and its dup");
	ASSERT_STREQ(fs.v[2].resource, "pipe:[77]", "dup inherits kind and name");
	ASSERT_EQ(fs.v[0].fd, 3, "ordered by smallest fd");
	ASSERT_EQ(fs.v[0].count, 3, "count");
	ASSERT_EQ(fs.v[0].nr_fds, 3, "nr_fds");
	ASSERT_EQ(fs.v[0].fds[0], 3, "fds sorted");
	ASSERT_EQ(fs.v[0].fds[1], 5, "fds sorted");
	ASSERT_EQ(fs.v[0].fds[2], 7, "fds sorted");
	ASSERT_STREQ(fs.v[0].resource, "/tmp/f3", "resource of the smallest fd");
	ASSERT_EQ(fs.v[0].age_ms, 10, "oldest");
	ASSERT_EQ(fs.v[0].tid, 107, "thread of the oldest");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "site 1");
	ASSERT_EQ(fs.v[1].fd, 4, "second group");
	ASSERT_EQ(fs.v[1].count, 2, "count");
	ASSERT_EQ(fs.v[1].stack.ips[0], 0x1002, "site 2");
	lw_findings__free(&fs);
}

LW_TEST(fd_grouping_caps_fds)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	for (int fd = 40; fd >= 3; fd--)
		open_fd(c, 100, 0, fd, 1);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].count, 38, "count");
	ASSERT_EQ(fs.v[0].nr_fds, LW_FINDING_FDS_MAX, "nr_fds capped");
	ASSERT_EQ(fs.v[0].fds[LW_FINDING_FDS_MAX - 1], 3 + LW_FINDING_FDS_MAX - 1, "smallest kept");
	lw_findings__free(&fs);
}

LW_TEST(fd_failed_close_ignored)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);
	close_fd(c, 100, 0, 3, -EBADF);
	close_fd(c, 100, 0, 8, -EBADF);
	ASSERT_EQ(corr_fd__failed_closes(c), 2, "failed closes counted");
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "fd 3 is still open");
	lw_findings__free(&fs);
}

LW_TEST(fd_sites)
{
	struct corr_fd *c = run_mode();
	struct corr_fd_site s[4], again[4];
	struct lw_findings fs = {};
	uint64_t key_a;

	open_fd(c, 100, 0, 3, 1);
	open_fd(c, 100, 0, 4, 1);
	open_fd(c, 100, 0, 5, 1);
	open_fd(c, 100, 0, 6, 2);
	open_fd(c, 200, 0, 3, 1); /* same stack, other pid: other site */
	ASSERT_EQ(corr_fd__seed(c, 100, 7, "/seeded", false), 0, "seed");
	close_fd(c, 100, 0, 4, 0);
	ASSERT_EQ(corr_fd__sites(c, s, 4), 3, "sites");
	ASSERT_EQ(s[0].pid, 100, "biggest first");
	ASSERT_EQ(s[0].live, 2, "live");
	ASSERT_EQ(s[0].stack.ips[0], 0x1001, "stack");
	ASSERT_EQ(s[1].live, 1, "live");
	ASSERT_EQ(s[2].live, 1, "live");
	key_a = s[0].key;
	ASSERT_EQ(corr_fd__site_key(100, &s[0].stack), key_a, "site_key agrees");
	ASSERT_TRUE(corr_fd__site_key(200, &s[0].stack) != key_a, "pid is part of the key");
	ASSERT_TRUE(s[1].key != s[2].key && s[0].key != s[1].key, "distinct keys");
	ASSERT_TRUE(strstr(s[0].resource, "/tmp/f") != NULL, "resource");
	open_fd(c, 100, 0, 8, 1);
	ASSERT_EQ(corr_fd__sites(c, again, 1), 1, "truncated to max");
	ASSERT_EQ(again[0].key, key_a, "stable key");
	ASSERT_EQ(again[0].live, 3, "growth seen");
	ASSERT_EQ(corr_fd__finish(c, 0, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 3, "findings");
	ASSERT_EQ(corr_fd__site_key(fs.v[0].pid, &fs.v[0].stack), key_a,
		  "finding maps to its site");
	lw_findings__free(&fs);
	exit_ev(c, 100, 0);
	exit_ev(c, 200, 0);
	ASSERT_EQ(corr_fd__sites(c, s, 4), 0, "nothing live");
	corr_fd__free(c);
}

LW_TEST(fd_open_fds_and_forget)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};
	int fds[8];

	open_fd(c, 100, 0, 5, 1);
	open_fd(c, 100, 0, 3, 1);
	open_fd(c, 100, 0, 4, 1);
	ASSERT_EQ(corr_fd__open_fds(c, 100, fds, 8), 3, "open");
	ASSERT_EQ(fds[0], 3, "sorted");
	ASSERT_EQ(fds[2], 5, "sorted");
	ASSERT_EQ(corr_fd__open_fds(c, 100, fds, 2), 2, "capped at max");
	ASSERT_EQ(corr_fd__open_fds(c, 999, fds, 8), 0, "unknown pid");
	corr_fd__forget(c, 100, 4);
	ASSERT_EQ(corr_fd__open_fds(c, 100, fds, 8), 2, "forgotten");
	ASSERT_EQ(fds[1], 5, "fds");
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].count, 2, "forgotten fd is no leak");
	lw_findings__free(&fs);
}

LW_TEST(fd_many_fds)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};
	enum { N = 100000 };

	for (int fd = 3; fd < N + 3; fd++)
		open_fd(c, 100, 0, fd, 1);
	for (int fd = 4; fd < N + 3; fd += 2)
		close_fd(c, 100, 0, fd, 0);
	fork_ev(c, 100, 200, 0);
	close_range(c, 200, 3, ~0U, 0);
	open_fd(c, 200, 0, 70001, 1);
	exit_ev(c, 200, MS);
	close_range(c, 100, 50001, 50001, 0);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	ASSERT_EQ(fs.v[0].pid, 100, "pid");
	ASSERT_EQ(fs.v[0].count, N / 2 - 1, "odd fds minus one");
	ASSERT_EQ(fs.v[0].fds[1], 5, "fds");
	ASSERT_EQ(fs.v[1].pid, 200, "child");
	ASSERT_EQ(fs.v[1].count, 1, "child count");
	lw_findings__free(&fs);
}

/* Random open/close churn against a bitmap: exercises probing and deletion. */
LW_TEST(fd_churn_matches_model)
{
	static bool model[4100];
	static int got[4100];
	struct corr_fd *c = run_mode();
	uint32_t x = 12345;
	int n = 0, k = 0;

	memset(model, 0, sizeof(model));
	for (int i = 0; i < 200000; i++) {
		int fd;

		x = x * 1103515245u + 12345u;
		fd = 3 + (int)((x >> 8) % 4000);
		if (model[fd])
			close_fd(c, 100, 0, fd, 0);
		else
			open_fd(c, 100, 0, fd, 1);
		model[fd] = !model[fd];
	}
	n = corr_fd__open_fds(c, 100, got, 4100);
	for (int fd = 0; fd < 4100; fd++) {
		if (!model[fd])
			continue;
		ASSERT_TRUE(k < n, "fewer fds than the model");
		ASSERT_EQ(got[k++], fd, "fd");
	}
	ASSERT_EQ(n, k, "open fds");
	corr_fd__free(c);
}

LW_TEST(fd_finish_twice_and_tgid_reuse)
{
	struct corr_fd *c = run_mode();
	struct lw_findings fs = {};

	open_fd(c, 100, 0, 3, 1);
	fork_ev(c, 1, 100, 0); /* 100's exit was lost; the tgid is new again */
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish again");
	ASSERT_EQ(fs.n, 2, "the old incarnation's leak, reported the same twice");
	ASSERT_EQ(fs.v[1].fd, 3, "fd");
	corr_fd__free(c);
	lw_findings__free(&fs);
}

LW_TEST(fd_bad_records)
{
	struct corr_fd *c = run_mode();
	struct lw_ev_hdr h = ev_hdr(LW_EV_FD_CLOSE, 8, 100, 0);
	struct lw_ev_hdr cfi = ev_hdr(LW_EV_CFI_MISS, sizeof(h), 100, 0);
	struct lw_ev_fd_close_range r0 = ev_fd_close_range(0, 0, 0, 0);

	ASSERT_EQ(corr_fd__feed(c, &h), -EINVAL, "short record");
	ASSERT_EQ(corr_fd__feed(c, &r0.hdr), -EINVAL, "tgid 0");
	ASSERT_EQ(corr_fd__seed(c, 0, 3, "/x", false), -EINVAL, "seed tgid 0");
	ASSERT_EQ(corr_fd__feed(c, &cfi), 0, "other concerns ignored");
	ASSERT_EQ(corr_fd__feed(NULL, &h), -EINVAL, "NULL correlator");
	corr_fd__free(c);
	corr_fd__free(NULL);
}

static const char *describe(int kind, const char *name, int family, int type, uint64_t ino)
{
	struct lw_ev_fd_open ev = ev_fd_open(100, 3, name, 0);
	static char buf[LW_RESOURCE_MAX];

	ev.res_kind = kind;
	ev.sock_family = family;
	ev.sock_type = type;
	ev.ino = ino;
	corr_fd__describe(&ev, buf, sizeof(buf));
	return buf;
}

LW_TEST(fd_describe)
{
	struct lw_ev_fd_open full = ev_fd_open(100, 3, "", 0);
	char small[8];

	ASSERT_STREQ(describe(LW_RES_FILE, "/etc/hosts", 0, 0, 1), "/etc/hosts", "file");
	ASSERT_STREQ(describe(LW_RES_SOCKET, "", AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 1234),
		     "socket:[1234] (AF_UNIX, SOCK_STREAM)", "unix stream");
	ASSERT_STREQ(describe(LW_RES_SOCKET, "", AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 7),
		     "socket:[7] (AF_INET6, SOCK_DGRAM)", "inet6 dgram");
	ASSERT_STREQ(describe(LW_RES_SOCKET, "", AF_NETLINK, SOCK_RAW, 8),
		     "socket:[8] (AF_NETLINK, SOCK_RAW)", "netlink");
	ASSERT_STREQ(describe(LW_RES_SOCKET, "", AF_PACKET, 99, 9), "socket:[9] (AF_PACKET)",
		     "unknown type");
	ASSERT_STREQ(describe(LW_RES_SOCKET, "", AF_INET, SOCK_SEQPACKET, 9),
		     "socket:[9] (AF_INET, SOCK_SEQPACKET)", "seqpacket");
	ASSERT_STREQ(describe(LW_RES_SOCKET, "", 99, 99, 10), "socket:[10]", "unknown both");
	ASSERT_STREQ(describe(LW_RES_PIPE, "", 0, 0, 4242), "pipe:[4242]", "pipe");
	ASSERT_STREQ(describe(LW_RES_ANON, "[eventfd]", 0, 0, 0), "anon_inode:[eventfd]", "anon");
	ASSERT_STREQ(describe(LW_RES_UNKNOWN, "", 0, 0, 0), "unknown", "unknown");
	ASSERT_STREQ(describe(LW_RES_UNKNOWN, "/dev/x", 0, 0, 0), "/dev/x", "unknown kind, name");
	/* a name filling the whole field has no NUL */
	memset(full.name, 'a', sizeof(full.name));
	corr_fd__describe(&full, small, sizeof(small));
	ASSERT_STREQ(small, "aaaaaaa", "truncated to the buffer");
}
