// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator: a process that submitted to an io_uring may close fds with
 * IORING_OP_CLOSE, which is not traced: its leak candidates are fd-uncertain.
 */
#include <string.h>
#include <leakwatch/syscalls.h>
#include "harness.h"
#include "ev_builders.h"
#include "detect/fd/corr_fd.h"
#include "report/kinds.h"

#define MS 1000000ull

static void feed(struct corr_fd *c, const void *ev)
{
	if (ev_fd_feed(c, ev))
		lw_test_failed = 1;
}

static void open_at(struct corr_fd *c, uint32_t tgid, int fd, uint32_t nr, uint64_t ip)
{
	struct lw_ev_fd_open ev = ev_fd_open(tgid, fd, "/tmp/u", ip);

	ev.syscall_nr = nr;
	feed(c, &ev);
}

static void exit_ev(struct corr_fd *c, uint32_t tgid)
{
	struct lw_ev_proc_exit ev = ev_proc_exit(tgid, 0, "");

	ev.hdr.ts_ns = MS;
	feed(c, &ev);
}

LW_TEST(fd_uring_leaks_are_uncertain)
{
	struct corr_fd_opts o = {.strict = true};
	struct corr_fd *c = ev_fd_new(&o);
	struct lw_ev_proc_fork fk = ev_proc_fork(100, 101, 0, "parent");
	struct lw_findings fs = {};
	int nr_files = 0, nr_child = 0;

	/* 100: a ring, then 100 files closed (we cannot see) with IORING_OP_CLOSE */
	open_at(c, 100, 3, LW_NR_io_uring_setup, 0x3000);
	open_at(c, 100, -1, LW_NR_io_uring_enter, 0x3001); /* its first submission */
	for (int fd = 4; fd < 104; fd++)
		open_at(c, 100, fd, LW_NR_openat, 0x1000);
	feed(c, &fk); /* 101 inherits the ring with the table */
	open_at(c, 101, 200, LW_NR_openat, 0x1001);
	open_at(c, 102, 4, LW_NR_openat, 0x1000); /* no ring: a plain leak */
	exit_ev(c, 101);
	exit_ev(c, 100);
	exit_ev(c, 102);
	ASSERT_EQ(corr_fd__finish(c, MS, &fs), 0, "finish");
	corr_fd__free(c);
	/* the ring and its copy in 101 are one creation, reported once */
	ASSERT_EQ(fs.n, 4, "ring, files, the child's file, plain leak");
	for (size_t i = 0; i < fs.n; i++) {
		const struct lw_finding *f = &fs.v[i];

		if (f->pid == 102) {
			ASSERT_STREQ(f->kind, "fd-leak", "no io_uring: gating leak");
			ASSERT_TRUE(!strstr(f->resource, "io_uring"), "no io_uring note");
			continue;
		}
		ASSERT_STREQ(f->kind, "fd-uncertain", "io_uring process");
		ASSERT_CONTAINS(f->resource,
				"(process used io_uring: IORING_OP_CLOSE is not traced)", "why");
		nr_files += f->pid == 100 && f->fd == 4 && f->count == 100;
		nr_child += f->pid == 101 && f->fd == 200;
	}
	ASSERT_EQ(nr_files, 1, "the 100 files grouped as one site");
	ASSERT_EQ(nr_child, 1, "the fork child's file: uncertain too");
	ASSERT_TRUE(!lw_kind__find("fd-uncertain")->gates_exit, "does not gate the exit");
	ASSERT_TRUE(lw_kind__find("fd-uncertain")->is_leak, "leak: suppressions apply");
	lw_findings__free(&fs);
}
