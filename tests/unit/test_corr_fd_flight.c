// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator: fd-in-flight-lost, fds sent with SCM_RIGHTS that the
 * receiving socket took with it when it went away unread.
 *
 * The usual stream: A (100) makes a socketpair, fd 3 (ino 500) and fd 4
 * (ino 501), forks B (200); A keeps 3, B keeps 4. A opens a file as fd 5
 * (ino 900) and sends it over 3, so it waits on socket 501.
 */
#include <errno.h>
#include <stdlib.h>
#include "harness.h"
#include "ev_builders.h"
#include "detect/fd/corr_fd.h"

#define MS    1000000ull
#define A     100
#define B     200
#define SV0   500 /* A's end */
#define SV1   501 /* B's end: the receiving socket */
#define FILE0 900

static void feed(struct corr_fd *c, const void *ev)
{
	int err = ev_fd_feed(c, ev);

	if (err) {
		fprintf(stderr, "  corr_fd__feed: %d\n", err);
		lw_test_failed = 1;
	}
}

/* creation stack {0x1000 + fd, 0x4000}; src >= 0: a dup of src */
static void open_ev(struct corr_fd *c, uint32_t tgid, int fd, int src, uint32_t flags, uint64_t ino)
{
	char path[16];
	struct lw_ev_fd_open ev;

	snprintf(path, sizeof(path), "/f%d", fd);
	ev = ev_fd_open(tgid, fd, path, 0x1000 + fd);
	ev.src_fd = src;
	ev.fd_flags = flags | (src >= 0 ? LW_FD_DUP : 0);
	ev.ino = ino;
	feed(c, &ev);
}

/* close stack {0x3000 + fd, 0x4000} */
static void close_ev(struct corr_fd *c, uint32_t tgid, int fd)
{
	struct lw_ev_fd_close ev = ev_fd_close(tgid, fd, 0, 0x3000 + fd);

	feed(c, &ev);
}

/* send over fd 3 to SV1, stack {0x2000 + site, 0x4000}; inos[i] = FILE0 + i */
static void send_ev(struct corr_fd *c, int ret, const int *fds, unsigned n, int site)
{
	struct lw_ev_fd_send ev = ev_fd_send(A, 3, ret, fds, n, FILE0, 0x2000 + site);

	ev.peer_ino = SV1;
	feed(c, &ev);
}

static void fork_ev(struct corr_fd *c, uint32_t parent, uint32_t child)
{
	struct lw_ev_proc_fork ev = ev_proc_fork(parent, child, 0, "fx");

	feed(c, &ev);
}

static void exit_ev(struct corr_fd *c, uint32_t tgid)
{
	struct lw_ev_proc_exit ev = ev_proc_exit(tgid, 0, "");

	feed(c, &ev);
}

/* The socketpair and the fork; A keeps its copy of 4 when shared. */
static struct corr_fd *setup(bool attach, bool shared)
{
	struct corr_fd_opts o = {
	    .strict = true, .attach_mode = attach, .min_age_ns = attach ? 1000 * MS : 0};
	struct corr_fd *c = ev_fd_new(&o);

	open_ev(c, A, 3, -1, 0, SV0);
	open_ev(c, A, 4, -1, 0, SV1);
	fork_ev(c, A, B);
	if (!shared)
		close_ev(c, A, 4);
	close_ev(c, B, 3);
	open_ev(c, A, 5, -1, 0, FILE0);
	return c;
}

static const struct lw_finding *only(const struct lw_findings *fs, const char *kind, size_t *n)
{
	const struct lw_finding *f = NULL;

	*n = 0;
	for (size_t i = 0; i < fs->n; i++) {
		if (strcmp(fs->v[i].kind, kind))
			continue;
		f = f ? f : &fs->v[i];
		(*n)++;
	}
	return f;
}

static size_t lost_now(struct corr_fd *c)
{
	struct lw_findings fs = {};
	size_t n = 0;

	if (corr_fd__finish(c, MS, &fs))
		n = 99;
	else
		only(&fs, "fd-in-flight-lost", &n);
	lw_findings__free(&fs);
	return n;
}

LW_TEST(fdf_lost_when_receiver_closes)
{
	struct corr_fd *c = setup(false, false);
	struct lw_findings fs = {};
	const struct lw_finding *f;
	const int fds[] = {5};

	send_ev(c, 1, fds, 1, 1);
	close_ev(c, A, 5);
	close_ev(c, B, 4); /* never received */
	close_ev(c, A, 3);
	exit_ev(c, B);
	exit_ev(c, A);
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "fd-in-flight-lost", "kind");
	ASSERT_EQ(f->pid, B, "the process that closed the receiving socket");
	ASSERT_STREQ(f->comm, "fx", "comm");
	ASSERT_EQ(f->fd, 4, "its fd");
	ASSERT_EQ(f->count, 1, "fds lost");
	ASSERT_STREQ(f->resource, "socket:[501] closed with 1 fd(s) in flight from pid 100 fd 5",
		     "resource");
	ASSERT_EQ(f->stack.nr, 2, "send stack nr");
	ASSERT_EQ(f->stack.ips[0], 0x2001, "main stack: the send");
	ASSERT_EQ(f->nr_extra, 1, "nr_extra");
	ASSERT_STREQ(f->extra[0].label, "receiving socket closed at", "label");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x3004, "the close");
	lw_findings__free(&fs);
	corr_fd__free(c);
}

LW_TEST(fdf_received_then_closed)
{
	struct corr_fd *c = setup(false, false);
	const int fds[] = {5};

	send_ev(c, 1, fds, 1, 1);
	close_ev(c, A, 5);
	open_ev(c, B, 6, -1, LW_FD_RECEIVED, FILE0);
	close_ev(c, B, 6);
	close_ev(c, B, 4);
	exit_ev(c, B);
	ASSERT_EQ(lost_now(c), 0, "received: nothing lost");
	corr_fd__free(c);
}

/* recvmsg can return before sendmsg's exit is traced */
LW_TEST(fdf_received_before_send_event)
{
	struct corr_fd *c = setup(false, false);
	const int fds[] = {5};

	open_ev(c, B, 6, -1, LW_FD_RECEIVED, FILE0);
	send_ev(c, 1, fds, 1, 1);
	close_ev(c, B, 4);
	ASSERT_EQ(lost_now(c), 0, "received first: nothing lost");
	corr_fd__free(c);
}

LW_TEST(fdf_failed_send_not_in_flight)
{
	struct corr_fd *c = setup(false, false);
	struct lw_findings fs = {};
	const int fds[] = {5};
	size_t n;

	send_ev(c, -EPIPE, fds, 1, 1);
	close_ev(c, B, 4);
	exit_ev(c, B);
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	only(&fs, "fd-in-flight-lost", &n);
	ASSERT_EQ(n, 0, "a failed send queues nothing");
	only(&fs, "fd-send-failed-leak", &n);
	ASSERT_EQ(n, 1, "the sender kept it");
	lw_findings__free(&fs);
	corr_fd__free(c);
}

LW_TEST(fdf_two_fds_one_received)
{
	struct corr_fd *c = setup(false, false);
	struct lw_findings fs = {};
	const struct lw_finding *f;
	const int fds[] = {5, 6};
	size_t n;

	open_ev(c, A, 6, -1, 0, FILE0 + 1);
	send_ev(c, 1, fds, 2, 2);
	close_ev(c, A, 5);
	close_ev(c, A, 6);
	open_ev(c, B, 7, -1, LW_FD_RECEIVED, FILE0); /* fd 5's file */
	close_ev(c, B, 7);
	close_ev(c, B, 4);
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	f = only(&fs, "fd-in-flight-lost", &n);
	ASSERT_EQ(n, 1, "findings");
	ASSERT_EQ(f->count, 1, "one of two lost");
	ASSERT_STREQ(f->resource, "socket:[501] closed with 1 fd(s) in flight from pid 100 fd 6",
		     "the lost one speaks");
	ASSERT_EQ(f->stack.ips[0], 0x2002, "send stack");
	lw_findings__free(&fs);
	corr_fd__free(c);
}

/* the fork copy in A keeps the socket, and its queue, alive */
LW_TEST(fdf_last_holder_decides)
{
	struct corr_fd *c = setup(false, true);
	struct lw_findings fs = {};
	const struct lw_finding *f;
	const int fds[] = {5};
	size_t n;

	send_ev(c, 1, fds, 1, 1);
	send_ev(c, 1, fds, 1, 1); /* the same call site again: one group */
	close_ev(c, A, 5);
	close_ev(c, B, 4);
	exit_ev(c, B);
	ASSERT_EQ(lost_now(c), 0, "A still holds the receiving socket");
	close_ev(c, A, 4);
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	f = only(&fs, "fd-in-flight-lost", &n);
	ASSERT_EQ(n, 1, "findings");
	ASSERT_EQ(f->pid, A, "the last holder");
	ASSERT_EQ(f->fd, 4, "fd");
	ASSERT_EQ(f->count, 2, "two messages, summed");
	ASSERT_STREQ(f->resource, "socket:[501] closed with 2 fd(s) in flight from pid 100 fd 5",
		     "one call site, one member");
	lw_findings__free(&fs);
	corr_fd__free(c);
}

LW_TEST(fdf_exit_of_last_holder)
{
	struct corr_fd *c = setup(false, false);
	struct lw_findings fs = {};
	const struct lw_finding *f;
	const int fds[] = {5};
	size_t n;

	send_ev(c, 1, fds, 1, 1);
	close_ev(c, A, 5);
	ASSERT_EQ(lost_now(c), 0, "run mode, B alive at finish: not lost yet");
	exit_ev(c, B);
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	f = only(&fs, "fd-in-flight-lost", &n);
	ASSERT_EQ(n, 1, "findings");
	ASSERT_EQ(f->pid, B, "pid");
	ASSERT_EQ(f->fd, 4, "fd");
	ASSERT_EQ(f->nr_extra, 0, "an exit has no stack");
	lw_findings__free(&fs);
	corr_fd__free(c);
}

/* a dup keeps the socket; dup2 over the last fd of it closes it */
LW_TEST(fdf_dup_and_dup2_over)
{
	struct corr_fd *c = setup(true, false);
	struct lw_findings fs = {};
	const struct lw_finding *f;
	const int fds[] = {5};
	size_t n;

	open_ev(c, B, 7, 4, 0, 0); /* dup(4): the ino comes from the source */
	send_ev(c, 1, fds, 1, 1);
	close_ev(c, B, 4);
	ASSERT_EQ(lost_now(c), 0, "the dup still holds it");
	open_ev(c, B, 8, -1, 0, 777);
	open_ev(c, B, 7, 8, 0, 777); /* dup2(8, 7) */
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	f = only(&fs, "fd-in-flight-lost", &n);
	ASSERT_EQ(n, 1, "attach mode too, whatever its age");
	ASSERT_EQ(f->fd, 7, "the fd dup2 replaced");
	ASSERT_EQ(f->nr_extra, 1, "nr_extra");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x1007, "the dup2");
	lw_findings__free(&fs);
	corr_fd__free(c);
}

LW_TEST(fdf_close_range_and_exec)
{
	struct corr_fd *c = setup(false, true);
	struct lw_ev_fd_close_range cr = ev_fd_close_range(B, 3, ~0u, 0);
	struct lw_ev_proc_exec ex = ev_proc_exec(A, "", "");
	struct lw_ev_fd_cloexec ce = ev_fd_cloexec(A, 4, true);
	struct lw_findings fs = {};
	const struct lw_finding *f;
	const int fds[] = {5};
	size_t n;

	send_ev(c, 1, fds, 1, 1);
	feed(c, &cr);
	ASSERT_EQ(lost_now(c), 0, "A's copy remains");
	feed(c, &ce);
	feed(c, &ex);
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	f = only(&fs, "fd-in-flight-lost", &n);
	ASSERT_EQ(n, 1, "exec dropped the last copy");
	ASSERT_EQ(f->pid, A, "pid");
	ASSERT_EQ(f->nr_extra, 0, "exec has no stack");
	lw_findings__free(&fs);
	corr_fd__free(c);
}

/* two call sites sent to the socket: one finding each */
LW_TEST(fdf_one_finding_per_send_stack)
{
	struct corr_fd *c = setup(false, false);
	struct lw_findings fs = {};
	const int fds[] = {5};
	size_t n;

	send_ev(c, 1, fds, 1, 1);
	send_ev(c, 1, fds, 1, 2);
	send_ev(c, 1, fds, 1, 1);
	close_ev(c, B, 4);
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	only(&fs, "fd-in-flight-lost", &n);
	ASSERT_EQ(n, 2, "findings");
	for (size_t i = 0; i < fs.n; i++) {
		const struct lw_finding *f = &fs.v[i];

		if (strcmp(f->kind, "fd-in-flight-lost"))
			continue;
		ASSERT_EQ(f->count, f->stack.ips[0] == 0x2001 ? 2 : 1, "fds per call site");
	}
	lw_findings__free(&fs);
	corr_fd__free(c);
}
