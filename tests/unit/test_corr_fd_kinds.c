// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator: the kinds beyond fd-leak (fd-send-failed-leak,
 * fd-double-close, fd-inherited) and receive provenance.
 */
#include <errno.h>
#include <stdlib.h>
#include "harness.h"
#include "ev_builders.h"
#include "detect/fd/corr_fd.h"

#define MS 1000000ull

static void feed(struct corr_fd *c, const void *ev)
{
	int err = ev_fd_feed(c, ev);

	if (err) {
		fprintf(stderr, "  corr_fd__feed: %d\n", err);
		lw_test_failed = 1;
	}
}

/* creation stack {0x1000 + site, 0x4000}; ino 0 makes a file "/tmp/fN" */
static void open_ino(struct corr_fd *c, uint32_t tgid, int fd, uint32_t flags, int site,
		     uint64_t ino)
{
	char path[32];
	struct lw_ev_fd_open ev;

	snprintf(path, sizeof(path), "/tmp/f%d-%d", fd, site);
	ev = ev_fd_open(tgid, fd, ino ? "" : path, 0x1000 + site);
	ev.fd_flags = flags;
	ev.ino = ino;
	if (ino) {
		ev.res_kind = LW_RES_SOCKET;
		ev.sock_family = 1; /* AF_UNIX */
		ev.sock_type = 1;   /* SOCK_STREAM */
	}
	feed(c, &ev);
}

static void open_fd(struct corr_fd *c, uint32_t tgid, int fd, uint32_t flags, int site)
{
	open_ino(c, tgid, fd, flags, site, 0);
}

static void dup2_fd(struct corr_fd *c, uint32_t tgid, int src, int fd)
{
	struct lw_ev_fd_open ev = ev_fd_dup(tgid, src, fd, 0x1999);

	feed(c, &ev);
}

/* close stack {ip} when ip, else none (a short record) */
static void close_fd(struct corr_fd *c, uint32_t tgid, int fd, int ret, uint64_t ip)
{
	struct lw_ev_fd_close ev = ev_fd_close(tgid, fd, ret, ip);

	feed(c, &ev);
}

/* send stack {0x2000 + site, 0x4000}; inos[i] = ino + i */
static void send_fds(struct corr_fd *c, uint32_t tgid, int ret, const int *fds, unsigned n,
		     uint64_t ino, int site)
{
	struct lw_ev_fd_send ev = ev_fd_send(tgid, 3, ret, fds, n, ino, 0x2000 + site);

	feed(c, &ev);
}

static void send_one(struct corr_fd *c, uint32_t tgid, int ret, int fd, uint64_t ino, int site)
{
	send_fds(c, tgid, ret, &fd, 1, ino, site);
}

/* close_range stack {ip} when ip, else none */
static void close_range_at(struct corr_fd *c, uint32_t tgid, uint32_t first, uint32_t last,
			   uint32_t flags, uint64_t ip)
{
	struct lw_ev_fd_close_range ev = ev_fd_close_range(tgid, first, last, flags);

	ev_stack(&ev.stack, ip);
	feed(c, &ev);
}

static void close_range_ev(struct corr_fd *c, uint32_t tgid, uint32_t first, uint32_t last)
{
	close_range_at(c, tgid, first, last, 0, 0);
}

static void fork_ev(struct corr_fd *c, uint32_t parent, uint32_t child, uint32_t flags)
{
	struct lw_ev_proc_fork ev = ev_proc_fork(parent, child, flags, "parent");

	feed(c, &ev);
}

static void exec_ev(struct corr_fd *c, uint32_t tgid, const char *filename)
{
	struct lw_ev_proc_exec ev = ev_proc_exec(tgid, "child", filename);

	feed(c, &ev);
}

static void exit_ev(struct corr_fd *c, uint32_t tgid, uint64_t ts)
{
	struct lw_ev_proc_exit ev = ev_proc_exit(tgid, 0, "");

	ev.hdr.ts_ns = ts;
	feed(c, &ev);
}

static struct corr_fd *mk(bool attach, uint64_t min_age)
{
	struct corr_fd_opts o = {.strict = true, .attach_mode = attach, .min_age_ns = min_age};

	return ev_fd_new(&o);
}

static int finish(struct corr_fd *c, uint64_t now, struct lw_findings *fs)
{
	int err = corr_fd__finish(c, now, fs);

	corr_fd__free(c);
	return err;
}

/* ---- fd-send-failed-leak ---- */

LW_TEST(fdk_send_failed_then_exit)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	open_fd(c, 100, 4, 0, 1); /* same site, never sent: plain leaks */
	open_fd(c, 100, 5, 0, 1);
	open_fd(c, 100, 6, 0, 1);
	send_one(c, 100, -EPIPE, 5, 900, 1);
	send_one(c, 100, -EAGAIN, 5, 900, 2); /* the latest failure is kept */
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "grouped apart from the plain leaks");
	ASSERT_STREQ(fs.v[0].kind, "fd-leak", "kind order");
	ASSERT_EQ(fs.v[0].fd, 4, "plain leak fd");
	ASSERT_EQ(fs.v[0].count, 2, "4 and 6 together");
	ASSERT_EQ(fs.v[0].nr_extra, 0, "plain leak: no evidence");
	f = &fs.v[1];
	ASSERT_STREQ(f->kind, "fd-send-failed-leak", "kind");
	ASSERT_EQ(f->pid, 100, "pid");
	ASSERT_EQ(f->fd, 5, "fd");
	ASSERT_EQ(f->count, 1, "count");
	ASSERT_STREQ(f->resource, "/tmp/f5-1", "resource");
	ASSERT_EQ(f->stack.ips[0], 0x1001, "creation stack is the main one");
	ASSERT_EQ(f->nr_extra, 1, "nr_extra");
	ASSERT_STREQ(f->extra[0].label, "send failed at", "label");
	ASSERT_EQ(f->extra[0].stack.nr, 2, "send stack nr");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x2002, "the latest failed send");
	lw_findings__free(&fs);
}

LW_TEST(fdk_send_failed_groups_and_attach)
{
	struct corr_fd *c = mk(true, 1000 * MS);
	struct lw_findings fs = {};
	const int fds[] = {5, 6, 7};

	open_fd(c, 100, 5, 0, 1);
	open_fd(c, 100, 6, 0, 1);
	open_fd(c, 100, 7, 0, 1);
	send_fds(c, 100, -ENOBUFS, fds, 3, 0, 1);
	ASSERT_EQ(finish(c, 500 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "attach: min_age still applies to leaks");
	c = mk(true, 1000 * MS);
	open_fd(c, 100, 5, 0, 1);
	open_fd(c, 100, 6, 0, 1);
	open_fd(c, 100, 7, 0, 1);
	send_fds(c, 100, -ENOBUFS, fds, 3, 0, 1);
	ASSERT_EQ(finish(c, 2000 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one group");
	ASSERT_STREQ(fs.v[0].kind, "fd-send-failed-leak", "kind");
	ASSERT_EQ(fs.v[0].count, 3, "count");
	ASSERT_EQ(fs.v[0].fds[2], 7, "fds");
	lw_findings__free(&fs);
}

LW_TEST(fdk_send_failed_then_closed)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};
	const int fds[] = {5, 6, 7, 8, 10};

	open_fd(c, 100, 5, 0, 1);
	open_fd(c, 100, 6, 0, 1);
	open_fd(c, 100, 7, 0, 1);
	open_fd(c, 100, 8, 0, 1);
	open_fd(c, 100, 9, 0, 1);
	open_fd(c, 100, 10, LW_FD_CLOEXEC, 1);
	send_fds(c, 100, -EPIPE, fds, 5, 0, 1);
	close_fd(c, 100, 5, 0, 0x3001); /* close */
	dup2_fd(c, 100, 9, 6);		/* dup2 over */
	close_fd(c, 100, 6, 0, 0x3001);
	close_fd(c, 100, 7, 0, 0x3001);
	close_range_ev(c, 100, 8, 9);
	exec_ev(c, 100, "/bin/true"); /* 10 is close-on-exec */
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "every carried fd was closed");
}

LW_TEST(fdk_send_ok)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	open_fd(c, 100, 5, 0, 1);
	send_one(c, 100, 1, 5, 900, 1);
	close_fd(c, 100, 5, 0, 0x3001);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "sent and closed");

	c = mk(false, 0);
	open_fd(c, 100, 5, 0, 1);
	send_one(c, 100, -EAGAIN, 5, 900, 1);
	send_one(c, 100, 1, 5, 900, 2); /* the retry went through */
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "the sender's copy leaked");
	ASSERT_STREQ(fs.v[0].kind, "fd-leak", "a plain leak after a good send");
	ASSERT_EQ(fs.v[0].nr_extra, 0, "no evidence");
	lw_findings__free(&fs);
}

LW_TEST(fdk_send_failed_by_fork_child_not_parents)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	open_fd(c, 100, 5, 0, 1);
	fork_ev(c, 100, 200, 0);
	send_one(c, 200, -EPIPE, 5, 0, 1); /* the child's copy */
	exit_ev(c, 200, MS);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_STREQ(fs.v[0].kind, "fd-leak", "the parent never sent it");
	lw_findings__free(&fs);
}

/* ---- receive provenance ---- */

static void check_received(const struct lw_findings *fs)
{
	const struct lw_finding *f;

	ASSERT_EQ(fs->n, 1, "findings");
	f = &fs->v[0];
	ASSERT_STREQ(f->kind, "fd-leak", "kind");
	ASSERT_EQ(f->pid, 200, "receiver");
	ASSERT_EQ(f->fd, 7, "fd");
	ASSERT_EQ(f->stack.ips[0], 0x1003, "the receive's stack");
	ASSERT_EQ(f->nr_extra, 1, "nr_extra");
	ASSERT_STREQ(f->extra[0].label, "sent with SCM_RIGHTS at", "label");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x2004, "the send's stack");
	ASSERT_STREQ(f->resource,
		     "socket:[4242] (AF_UNIX, SOCK_STREAM) (received from pid 100 fd 5)",
		     "resource");
}

LW_TEST(fdk_received_leak_has_provenance)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	open_ino(c, 100, 5, 0, 1, 4242);
	send_one(c, 100, 1, 5, 4242, 4);
	close_fd(c, 100, 5, 0, 0x3001);
	exit_ev(c, 100, MS);
	open_ino(c, 200, 7, LW_FD_RECEIVED, 3, 4242);
	exit_ev(c, 200, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	check_received(&fs);
	lw_findings__free(&fs);
}

/* recvmsg can return before sendmsg's exit is traced */
LW_TEST(fdk_received_before_send_event)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	open_ino(c, 100, 5, 0, 1, 4242);
	open_ino(c, 200, 7, LW_FD_RECEIVED, 3, 4242);
	send_one(c, 100, 1, 5, 4242, 4);
	close_fd(c, 100, 5, 0, 0x3001);
	exit_ev(c, 200, MS);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	check_received(&fs);
	lw_findings__free(&fs);
}

LW_TEST(fdk_received_without_known_send)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	open_ino(c, 100, 5, 0, 1, 4242);
	send_one(c, 100, -EPIPE, 5, 4242, 4); /* failed: nothing arrived */
	close_fd(c, 100, 5, 0, 0x3001);
	open_ino(c, 200, 7, LW_FD_RECEIVED, 3, 4243); /* another file */
	open_ino(c, 200, 8, 0, 3, 4242);	      /* not received */
	exit_ev(c, 200, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].count, 2, "count");
	ASSERT_EQ(fs.v[0].nr_extra, 0, "no provenance");
	ASSERT_TRUE(!strstr(fs.v[0].resource, "received"), "no suffix");
	lw_findings__free(&fs);
}

/* only the newest LW_XFER_MAX sends are remembered */
LW_TEST(fdk_send_memory_bounded)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	open_ino(c, 100, 5, 0, 1, 1);
	for (uint64_t ino = 1; ino <= 5000; ino++)
		send_one(c, 100, 1, 5, ino, 4);
	close_fd(c, 100, 5, 0, 0x3001);
	open_ino(c, 200, 7, LW_FD_RECEIVED, 3, 1);    /* forgotten */
	open_ino(c, 200, 8, LW_FD_RECEIVED, 4, 5000); /* remembered */
	exit_ev(c, 200, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	ASSERT_EQ(fs.v[0].fd, 7, "fd");
	ASSERT_EQ(fs.v[0].nr_extra, 0, "old send forgotten");
	ASSERT_EQ(fs.v[1].fd, 8, "fd");
	ASSERT_EQ(fs.v[1].nr_extra, 1, "recent send kept");
	lw_findings__free(&fs);
}

/* ---- fd-double-close ---- */

LW_TEST(fdk_double_close)
{
	struct corr_fd *c = mk(true, 10000 * MS); /* attach, min_age: events ignore both */
	struct lw_findings fs = {};
	const struct lw_finding *f;

	open_fd(c, 100, 5, 0, 1);
	close_fd(c, 100, 5, 0, 0x3001);
	close_fd(c, 100, 5, -EBADF, 0x3002);
	close_fd(c, 100, 5, -EBADF, 0x3002); /* same place again */
	ASSERT_EQ(corr_fd__failed_closes(c), 2, "failed closes");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "fd-double-close", "kind");
	ASSERT_EQ(f->pid, 100, "pid");
	ASSERT_EQ(f->fd, 5, "fd");
	ASSERT_EQ(f->count, 2, "one per event, grouped by stack");
	ASSERT_STREQ(f->resource, "/tmp/f5-1", "what was closed");
	ASSERT_EQ(f->stack.ips[0], 0x3002, "the failing close");
	ASSERT_EQ(f->nr_extra, 2, "nr_extra");
	ASSERT_STREQ(f->extra[0].label, "previously closed at", "label 0");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x3001, "earlier close");
	ASSERT_STREQ(f->extra[1].label, "originally opened at", "label 1");
	ASSERT_EQ(f->extra[1].stack.ips[0], 0x1001, "creation");
	lw_findings__free(&fs);
}

LW_TEST(fdk_double_close_sites_split)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	open_fd(c, 100, 5, 0, 1);
	open_fd(c, 100, 6, 0, 1);
	close_fd(c, 100, 5, 0, 0); /* a close whose stack was not kept */
	close_fd(c, 100, 6, 0, 0x3001);
	close_fd(c, 100, 6, -EBADF, 0x3002);
	close_fd(c, 100, 5, -EBADF, 0x3002); /* same stack, other fd: same group */
	close_fd(c, 100, 5, -EBADF, 0x3003); /* other stack */
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	ASSERT_EQ(fs.v[0].fd, 5, "smallest fd first");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x3002, "tie broken by stack");
	ASSERT_EQ(fs.v[0].count, 2, "count");
	ASSERT_EQ(fs.v[0].nr_fds, 2, "nr_fds");
	ASSERT_EQ(fs.v[0].fds[1], 6, "fds");
	ASSERT_EQ(fs.v[0].nr_extra, 1, "no stack for the first close");
	ASSERT_STREQ(fs.v[0].extra[0].label, "originally opened at", "label");
	ASSERT_EQ(fs.v[1].stack.ips[0], 0x3003, "other stack");
	ASSERT_EQ(fs.v[1].count, 1, "count");
	lw_findings__free(&fs);
}

LW_TEST(fdk_bad_close_of_never_closed_fd)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	close_fd(c, 100, 42, -EBADF, 0x3002); /* garbage number */
	open_fd(c, 100, 5, 0, 1);
	close_fd(c, 100, 5, 0, 0x3001);
	open_fd(c, 100, 5, 0, 2);
	close_fd(c, 100, 6, -EBADF, 0x3002);
	close_fd(c, 100, 5, 0, 0x3001);	     /* reopened then closed: fine */
	close_fd(c, 100, 5, -EINTR, 0x3002); /* not -EBADF */
	ASSERT_EQ(corr_fd__failed_closes(c), 3, "still counted");
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "findings");
}

LW_TEST(fdk_double_close_after_reopen)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	open_fd(c, 100, 5, 0, 1);
	close_fd(c, 100, 5, 0, 0x3001);
	open_fd(c, 100, 5, 0, 2); /* same number, new file */
	close_fd(c, 100, 5, 0, 0x3005);
	close_fd(c, 100, 5, -EBADF, 0x3002);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_STREQ(fs.v[0].resource, "/tmp/f5-2", "the second open");
	ASSERT_EQ(fs.v[0].extra[0].stack.ips[0], 0x3005, "the second close");
	ASSERT_EQ(fs.v[0].extra[1].stack.ips[0], 0x1002, "the second open's stack");
	lw_findings__free(&fs);
}

LW_TEST(fdk_double_close_scope)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	/* a CLONE_FILES sharer closed it: not this process's double close */
	open_fd(c, 100, 5, 0, 1);
	fork_ev(c, 100, 200, LW_FORK_SHARED_FILES);
	close_fd(c, 200, 5, 0, 0x3001);
	close_fd(c, 100, 5, -EBADF, 0x3002);
	/* a fork copy: the parent's close is not the child's */
	open_fd(c, 100, 6, 0, 1);
	fork_ev(c, 100, 300, 0);
	close_fd(c, 100, 6, 0, 0x3001);
	close_fd(c, 300, 6, 0, 0x3001);
	/* the old image's close means nothing after exec */
	open_fd(c, 300, 7, 0, 1);
	close_fd(c, 300, 7, 0, 0x3001);
	exec_ev(c, 300, "/bin/x");
	close_fd(c, 300, 7, -EBADF, 0x3002);
	/* reopened, then closed by exec: the close(11) of before is not the
	 * previous close any more (close_range is: fdk_close_range_*)
	 */
	open_fd(c, 300, 11, 0, 1);
	close_fd(c, 300, 11, 0, 0x3001);
	open_fd(c, 300, 11, LW_FD_CLOEXEC, 1);
	exec_ev(c, 300, "/bin/z");
	close_fd(c, 300, 11, -EBADF, 0x3002);
	/* dup2 over the number reuses it */
	open_fd(c, 100, 8, 0, 1);
	open_fd(c, 100, 9, 0, 1);
	close_fd(c, 100, 9, 0, 0x3001);
	dup2_fd(c, 100, 8, 9);
	close_fd(c, 100, 9, 0, 0x3001);
	close_fd(c, 100, 8, 0, 0x3001);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "findings");
	/* while the same steps with a double close do give one */
	c = mk(false, 0);
	open_fd(c, 100, 6, 0, 1);
	fork_ev(c, 100, 300, 0);
	close_fd(c, 300, 6, 0, 0x3001);
	close_fd(c, 300, 6, -EBADF, 0x3002);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "child's own double close, the parent's leak");
	ASSERT_STREQ(fs.v[0].kind, "fd-double-close", "kind");
	ASSERT_EQ(fs.v[0].pid, 300, "pid");
	ASSERT_STREQ(fs.v[1].kind, "fd-leak", "kind");
	ASSERT_STREQ(fs.v[0].comm, "parent", "comm");
	lw_findings__free(&fs);
}

/* close_range(fd, fd) of a number it closed: close() would fail EBADF */
LW_TEST(fdk_close_range_one_fd_double_close)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	open_fd(c, 100, 5, 0, 1);
	close_fd(c, 100, 5, 0, 0x3001);
	close_range_at(c, 100, 5, 5, 0, 0x3010);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "fd-double-close", "kind");
	ASSERT_EQ(f->fd, 5, "fd");
	ASSERT_EQ(f->count, 1, "count");
	ASSERT_STREQ(f->resource, "/tmp/f5-1", "what was closed");
	ASSERT_EQ(f->stack.ips[0], 0x3010, "the close_range");
	ASSERT_EQ(f->nr_extra, 2, "nr_extra");
	ASSERT_STREQ(f->extra[0].label, "previously closed at", "label 0");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x3001, "the close");
	ASSERT_EQ(f->extra[1].stack.ips[0], 0x1001, "creation");
	lw_findings__free(&fs);
}

/* what close_range closed is a previous close, as close()'s is */
LW_TEST(fdk_close_range_closes_are_remembered)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	open_fd(c, 100, 9, 0, 1);
	close_fd(c, 100, 9, 0, 0x3001);
	open_fd(c, 100, 9, 0, 2);		   /* reopened: close(9) is history */
	close_range_at(c, 100, 3, ~0u, 0, 0x3010); /* the usual sweep */
	close_fd(c, 100, 9, -EBADF, 0x3002);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "fd-double-close", "kind");
	ASSERT_EQ(f->stack.ips[0], 0x3002, "the close");
	ASSERT_STREQ(f->resource, "/tmp/f9-2", "the reopened file");
	ASSERT_STREQ(f->extra[0].label, "previously closed at", "label 0");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x3010, "the close_range");
	ASSERT_EQ(f->extra[1].stack.ips[0], 0x1002, "creation");
	lw_findings__free(&fs);
}

/* an explicit range over its own fds: the members it had closed */
LW_TEST(fdk_close_range_explicit_range)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	for (int fd = 3; fd <= 6; fd++)
		open_fd(c, 100, fd, 0, 1);
	close_fd(c, 100, 4, 0, 0x3001);
	close_fd(c, 100, 6, 0, 0x3001);
	close_range_at(c, 100, 3, 6, 0, 0x3010);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one group: one stack");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "fd-double-close", "kind");
	ASSERT_EQ(f->count, 2, "fds 4 and 6");
	ASSERT_EQ(f->nr_fds, 2, "nr_fds");
	ASSERT_EQ(f->fds[0], 4, "fds[0]");
	ASSERT_EQ(f->fds[1], 6, "fds[1]");
	ASSERT_EQ(f->stack.ips[0], 0x3010, "the close_range");
	lw_findings__free(&fs);
}

/* sweeps, marks, and numbers closed by someone else are not double closes */
LW_TEST(fdk_close_range_not_double)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	open_fd(c, 100, 3, 0, 1);
	open_fd(c, 100, 4, 0, 1);
	open_fd(c, 100, 5, 0, 1);
	close_fd(c, 100, 5, 0, 0x3001);
	close_range_at(c, 100, 4, 4, LW_CLOSE_RANGE_CLOEXEC, 0x3011); /* open: a mark */
	close_range_at(c, 100, 5, 5, LW_CLOSE_RANGE_CLOEXEC, 0x3011); /* closed: a mark */
	close_range_at(c, 100, 3, 10, 0, 0x3012);  /* 6..10 it never had: a sweep */
	close_range_at(c, 100, 3, ~0u, 0, 0x3013); /* the idiom, all closed by now */
	/* a CLONE_FILES sharer closed it */
	open_fd(c, 100, 7, 0, 1);
	fork_ev(c, 100, 200, LW_FORK_SHARED_FILES);
	close_fd(c, 200, 7, 0, 0x3001);
	close_range_at(c, 100, 7, 7, 0, 0x3014);
	exit_ev(c, 200, MS);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "findings");
}

/* an explicit range is at most LW_RANGE_EXPLICIT numbers */
LW_TEST(fdk_close_range_explicit_bound)
{
	for (int wide = 0; wide < 2; wide++) {
		struct corr_fd *c = mk(false, 0);
		struct lw_findings fs = {};
		int last = 100 + 63 + wide;

		for (int fd = 100; fd <= last; fd++)
			open_fd(c, 100, fd, 0, 1);
		close_fd(c, 100, 100, 0, 0x3001);
		close_range_at(c, 100, 100, (uint32_t)last, 0, 0x3010);
		exit_ev(c, 100, MS);
		ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
		ASSERT_EQ(fs.n, wide ? 0 : 1, wide ? "65 numbers: a sweep" : "64: explicit");
		lw_findings__free(&fs);
	}
}

LW_TEST(fdk_double_close_history_bounded)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	/* closes of fds never seen open: resource unknown, one extra */
	for (int fd = 10; fd < 10 + 1100; fd++)
		close_fd(c, 100, fd, 0, 0x3001);
	close_fd(c, 100, 10, -EBADF, 0x3002);	     /* the oldest: forgotten */
	close_fd(c, 100, 10 + 1099, -EBADF, 0x3002); /* the newest: kept */
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_EQ(fs.v[0].fd, 1109, "fd");
	ASSERT_STREQ(fs.v[0].resource, "unknown", "resource");
	ASSERT_EQ(fs.v[0].nr_extra, 1, "nr_extra");
	lw_findings__free(&fs);
}

/* Random churn with double closes against a model: every -EBADF on a number
 * closed last (and not reopened) is a finding, no other. Exercises the LRU
 * list's unlink and reuse paths.
 */
LW_TEST(fdk_double_close_churn_matches_model)
{
	static bool open_now[300], closed_last[300];
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};
	uint32_t x = 777;
	uint64_t want = 0;

	memset(open_now, 0, sizeof(open_now));
	memset(closed_last, 0, sizeof(closed_last));
	for (int i = 0; i < 50000; i++) {
		int fd;

		x = x * 1103515245u + 12345u;
		fd = 3 + (int)((x >> 8) % 290);
		if (open_now[fd]) {
			close_fd(c, 100, fd, 0, 0x3001);
			open_now[fd] = false;
			closed_last[fd] = true;
		} else if ((x >> 20) & 1) {
			open_fd(c, 100, fd, 0, 1);
			open_now[fd] = true;
			closed_last[fd] = false;
		} else {
			close_fd(c, 100, fd, -EBADF, 0x3002);
			want += closed_last[fd];
		}
	}
	ASSERT_TRUE(want > 1000, "the model saw double closes");
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	corr_fd__free(c);
	ASSERT_TRUE(fs.n >= 1, "findings");
	ASSERT_STREQ(fs.v[0].kind, "fd-double-close", "kind");
	ASSERT_EQ(fs.v[0].count, want, "every double close, nothing else");
	lw_findings__free(&fs);
}

/* ---- fd-inherited ---- */

LW_TEST(fdk_inherited_by_fork_exec)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	open_fd(c, 100, 0, 0, 1); /* 0-2 are meant to be inherited */
	open_fd(c, 100, 2, 0, 1);
	open_fd(c, 100, 5, 0, 1);
	open_fd(c, 100, 6, 0, 1);
	open_fd(c, 100, 7, LW_FD_CLOEXEC, 1);
	ASSERT_EQ(corr_fd__seed(c, 100, 8, "/seeded", false), 0, "seed");
	fork_ev(c, 100, 200, 0);
	exec_ev(c, 200, "/usr/libexec/sandbox");
	exec_ev(c, 200, "/usr/bin/next"); /* reported once per process */
	close_fd(c, 100, 5, 0, 0x3001);
	close_fd(c, 100, 6, 0, 0x3001);
	close_fd(c, 100, 7, 0, 0x3001);
	exit_ev(c, 200, MS);
	exit_ev(c, 100, MS);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "fd-inherited", "kind");
	ASSERT_EQ(f->pid, 200, "the exec'ing process");
	ASSERT_STREQ(f->comm, "child", "comm");
	ASSERT_EQ(f->fd, 5, "fd");
	ASSERT_EQ(f->count, 2, "count");
	ASSERT_EQ(f->nr_fds, 2, "nr_fds");
	ASSERT_EQ(f->fds[1], 6, "fds");
	ASSERT_STREQ(f->resource, "/tmp/f5-1 (into /usr/libexec/sandbox)", "resource");
	ASSERT_EQ(f->stack.ips[0], 0x1001, "creation stack");
	ASSERT_EQ(f->nr_extra, 0, "nr_extra");
	lw_findings__free(&fs);
}

LW_TEST(fdk_inherited_attach_and_groups)
{
	struct corr_fd *c = mk(true, 10000 * MS);
	struct lw_findings fs = {};

	open_fd(c, 100, 5, 0, 1);
	open_fd(c, 100, 6, 0, 2);
	fork_ev(c, 100, 200, 0);
	fork_ev(c, 100, 300, 0);
	exec_ev(c, 300, "/bin/b");
	exec_ev(c, 200, "/bin/a");
	close_fd(c, 100, 5, 0, 0x3001);
	close_fd(c, 100, 6, 0, 0x3001);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 4, "per pid and creation stack");
	ASSERT_EQ(fs.v[0].pid, 200, "pid order");
	ASSERT_EQ(fs.v[0].fd, 5, "fd order");
	ASSERT_EQ(fs.v[1].fd, 6, "fd order");
	ASSERT_STREQ(fs.v[1].resource, "/tmp/f6-2 (into /bin/a)", "resource");
	ASSERT_EQ(fs.v[2].pid, 300, "pid");
	ASSERT_STREQ(fs.v[3].resource, "/tmp/f6-2 (into /bin/b)", "resource");
	lw_findings__free(&fs);
}

LW_TEST(fdk_inherited_allow_list)
{
	const int allow[] = {5, 9};
	struct corr_fd_opts o = {.strict = true, .allow_inherit = allow, .nr_allow_inherit = 2};
	struct corr_fd *c = ev_fd_new(&o);
	struct lw_findings fs = {};

	open_fd(c, 100, 5, 0, 1);
	open_fd(c, 100, 6, 0, 1);
	fork_ev(c, 100, 200, 0);
	exec_ev(c, 200, "/bin/x");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	ASSERT_STREQ(fs.v[0].kind, "fd-inherited", "kind");
	ASSERT_EQ(fs.v[0].fd, 6, "5 is allowed");
	ASSERT_EQ(fs.v[0].count, 1, "count");
	ASSERT_STREQ(fs.v[1].kind, "fd-leak", "the parent's leaks in run mode");
	lw_findings__free(&fs);
}

LW_TEST(fdk_inherited_not)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};

	/* cloexec by flag, by fcntl and by close_range */
	struct lw_ev_fd_cloexec ce = ev_fd_cloexec(100, 6, true);
	struct lw_ev_fd_close_range cr = ev_fd_close_range(100, 7, ~0u, LW_CLOSE_RANGE_CLOEXEC);

	open_fd(c, 100, 1, 0, 1);
	open_fd(c, 100, 5, LW_FD_CLOEXEC, 1);
	open_fd(c, 100, 6, 0, 1);
	open_fd(c, 100, 7, 0, 1);
	feed(c, &ce);
	feed(c, &cr);
	fork_ev(c, 100, 200, 0);
	/* the process's own fds survive its own exec: it passes them knowingly */
	open_fd(c, 200, 10, 0, 1);
	exec_ev(c, 200, "/bin/x");
	exec_ev(c, 100, "/bin/y");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	for (size_t i = 0; i < fs.n; i++)
		ASSERT_TRUE(strcmp(fs.v[i].kind, "fd-inherited"), "no fd-inherited");
	ASSERT_EQ(fs.n, 1, "fd-leak only: 100's fds are gone or std");
	ASSERT_EQ(fs.v[0].pid, 200, "pid");
	ASSERT_EQ(fs.v[0].fd, 10, "the child's own fd, a leak at exit");
	lw_findings__free(&fs);
}

LW_TEST(fdk_inherited_suffix_fits_or_not)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_ev_fd_open long_path;
	struct lw_findings fs = {};
	char name[LW_NAME_MAX], want[LW_RESOURCE_MAX];

	memset(name, 'x', sizeof(name) - 1);
	name[0] = '/';
	name[sizeof(name) - 1] = '\0';
	open_ino(c, 100, 5, 0, 1, 4242);
	long_path = ev_fd_open(100, 6, name, 0x1002); /* 127 bytes */
	feed(c, &long_path);
	close_fd(c, 100, 5, 0, 0x3001); /* the parent's copies: no fd-leak */
	close_fd(c, 100, 6, 0, 0x3001);
	fork_ev(c, 100, 200, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "fork alone: nothing");
	c = mk(false, 0);
	open_ino(c, 100, 5, 0, 1, 4242);
	feed(c, &long_path);
	fork_ev(c, 100, 200, 0);
	close_fd(c, 100, 5, 0, 0x3001);
	close_fd(c, 100, 6, 0, 0x3001);
	exec_ev(c, 200, name);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	ASSERT_STREQ(fs.v[0].kind, "fd-inherited", "kind");
	ASSERT_EQ(fs.v[0].fd, 5, "fd");
	snprintf(want, sizeof(want), "socket:[4242] (AF_UNIX, SOCK_STREAM) (into %s)", name);
	ASSERT_STREQ(fs.v[0].resource, want, "a 127-byte name fits");
	ASSERT_EQ(fs.v[1].fd, 6, "fd");
	ASSERT_STREQ(fs.v[1].resource, name, "no room: the resource stays whole");
	lw_findings__free(&fs);
}

/* ---- all together ---- */

LW_TEST(fdk_order_kind_pid_fd)
{
	struct corr_fd *c = mk(false, 0);
	struct lw_findings fs = {};
	static const char *const want[] = {"fd-double-close", "fd-inherited", "fd-leak", "fd-leak",
					   "fd-send-failed-leak"};

	open_fd(c, 300, 9, 0, 1);
	send_one(c, 300, -EPIPE, 9, 0, 1);
	open_fd(c, 200, 4, 0, 1);
	open_fd(c, 100, 8, 0, 1);
	fork_ev(c, 100, 400, 0);
	exec_ev(c, 400, "/bin/x");
	close_fd(c, 400, 8, 0, 0x3001);
	close_fd(c, 400, 8, -EBADF, 0x3002);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 5, "findings");
	for (size_t i = 0; i < fs.n; i++)
		ASSERT_STREQ(fs.v[i].kind, want[i], "kind order");
	ASSERT_EQ(fs.v[2].pid, 100, "pid order");
	ASSERT_EQ(fs.v[3].pid, 200, "pid order");
	ASSERT_EQ(fs.v[0].extra[1].stack.ips[0], 0x1001, "the inherited copy's creation");
	lw_findings__free(&fs);
}
