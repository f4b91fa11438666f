// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Respawn-storm correlator: failing children of one parent and program
 * within a window, and what does not count.
 */
#include <errno.h>
#include <stdlib.h>
#include "harness.h"
#include "ev_builders.h"
#include "detect/proc/corr_storm.h"

#define MS	   1000000ull
#define SEC	   1000000000ull
#define PARENT	   100
#define EXIT(code) ((code) << 8)

static int fork_at(struct corr_storm *c, uint32_t parent, uint32_t pid, const char *comm,
		   uint64_t ts)
{
	struct lw_ev_proc_fork ev = ev_proc_fork(parent, pid, 0, comm);

	ev.hdr.ts_ns = ts;
	return ev_storm_proc(c, &ev);
}

static int exec_at(struct corr_storm *c, uint32_t pid, const char *prog, const char *comm,
		   uint64_t ts)
{
	struct lw_ev_proc_exec ev = ev_proc_exec(pid, comm, prog);

	ev.hdr.ts_ns = ts;
	return ev_storm_proc(c, &ev);
}

static int exit_at(struct corr_storm *c, uint32_t pid, int32_t status, const char *comm,
		   uint64_t ts)
{
	struct lw_ev_proc_exit ev = ev_proc_exit(pid, status, comm);

	ev.hdr.ts_ns = ts;
	return ev_storm_proc(c, &ev);
}

/* child pid of a unitd parent exec's prog (NULL: no exec) and exits with
 * status at ts
 */
static void child(struct corr_storm *c, uint32_t parent, uint32_t pid, const char *prog,
		  int32_t status, uint64_t ts)
{
	int err = fork_at(c, parent, pid, "unitd", ts);

	if (!err && prog)
		err = exec_at(c, pid, prog, "worker", ts);
	if (!err)
		err = exit_at(c, pid, status, "worker", ts + MS);
	if (err) {
		fprintf(stderr, "  corr_storm: %d\n", err);
		lw_test_failed = 1;
	}
}

/* the parent, unitd, forked by init */
static struct corr_storm *mk(void)
{
	struct corr_storm *c = ev_storm_new(NULL);

	if (c && fork_at(c, 1, PARENT, "unitd", 0))
		lw_test_failed = 1;
	return c;
}

static int finish(struct corr_storm *c, struct lw_findings *fs)
{
	int err = corr_storm__finish(c, fs);

	corr_storm__free(c);
	return err;
}

LW_TEST(storm_six_failures)
{
	struct corr_storm *c = mk();
	struct lw_findings fs = {};
	const struct lw_finding *f;

	for (int i = 0; i < 6; i++)
		child(c, PARENT, 200 + i, "/usr/sbin/unitd", EXIT(1), i * 300 * MS);
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one storm");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "respawn-storm", "kind");
	ASSERT_EQ(f->pid, PARENT, "the parent");
	ASSERT_STREQ(f->comm, "unitd", "parent's comm");
	ASSERT_EQ(f->fd, -1, "no fd");
	ASSERT_EQ(f->count, 6, "count");
	ASSERT_EQ(f->age_ms, 1500, "window span");
	ASSERT_STREQ(f->resource, "/usr/sbin/unitd: 6 non-zero exits in 1.5s (codes: 1 x6)",
		     "resource");
	lw_findings__free(&fs);
}

/* Forked workers that never exec are keyed by comm; codes and signals. */
LW_TEST(storm_codes_and_signals)
{
	struct corr_storm *c = mk();
	struct lw_findings fs = {};
	const int32_t st[] = {EXIT(1), 9, EXIT(2), EXIT(1), 9 | 0x80, EXIT(1), EXIT(0)};

	for (int i = 0; i < 7; i++) {
		ASSERT_EQ(fork_at(c, PARENT, 300 + i, "prototype", i * SEC), 0, "fork");
		ASSERT_EQ(exit_at(c, 300 + i, st[i], "prototype", i * SEC + 10 * MS), 0, "exit");
	}
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one storm");
	ASSERT_EQ(fs.v[0].count, 6, "the exit 0 does not count");
	ASSERT_STREQ(fs.v[0].resource,
		     "prototype: 6 non-zero exits in 5.0s (codes: 1 x3, 2 x1, signal 9 x2)",
		     "resource");
	lw_findings__free(&fs);
}

LW_TEST(storm_healthy_restarts)
{
	struct corr_storm *c = mk();
	struct lw_findings fs = {};

	for (int i = 0; i < 6; i++)
		child(c, PARENT, 200 + i, "/usr/sbin/unitd", EXIT(0), i * 100 * MS);
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "exit 0 never counts");
}

LW_TEST(storm_below_min)
{
	struct corr_storm *c = mk();
	struct lw_findings fs = {};

	for (int i = 0; i < 4; i++)
		child(c, PARENT, 200 + i, "/usr/sbin/unitd", EXIT(1), i * 100 * MS);
	/* 3 + 3 of two programs, and 3 + 3 of two parents: no key reaches 5 */
	for (int i = 0; i < 3; i++) {
		child(c, PARENT + 1, 220 + i, "/bin/a", EXIT(1), i * 100 * MS);
		child(c, PARENT + 1, 230 + i, "/bin/b", EXIT(1), i * 100 * MS);
		child(c, PARENT + 2, 240 + i, "/bin/a", EXIT(1), i * 100 * MS);
		child(c, PARENT + 3, 250 + i, "/bin/a", EXIT(1), i * 100 * MS);
	}
	/* a child whose fork was not seen has no parent */
	ASSERT_EQ(exec_at(c, 260, "/bin/a", "a", 0), 0, "exec");
	ASSERT_EQ(exit_at(c, 260, EXIT(1), "a", MS), 0, "exit");
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "4 failures, min 5");
}

LW_TEST(storm_slow_failures)
{
	struct corr_storm *c = mk();
	struct lw_findings fs = {};

	/* 6 failures over 60 s: at most one per 10 s window */
	for (int i = 0; i < 6; i++)
		child(c, PARENT, 200 + i, "/usr/sbin/unitd", EXIT(1), i * 12 * SEC);
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "spread over 60 s");

	/* the window is an option; and the densest window is the one reported */
	c = ev_storm_new(&(struct corr_storm_opts){.min_exits = 3, .window_ns = 30 * SEC});
	for (int i = 0; i < 3; i++)
		child(c, PARENT, 200 + i, "/usr/sbin/unitd", EXIT(1), i * 12 * SEC);
	for (int i = 0; i < 4; i++)
		child(c, PARENT, 300 + i, "/usr/sbin/unitd", EXIT(1), 100 * SEC + i * SEC);
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one finding per (parent, program)");
	ASSERT_EQ(fs.v[0].count, 4, "densest window");
	ASSERT_EQ(fs.v[0].age_ms, 3000, "its span");
	lw_findings__free(&fs);
}

LW_TEST(storm_parent_fd_growth)
{
	struct corr_storm *c = mk();
	struct lw_findings fs = {};

	/* a sample before the storm, outside its window */
	ASSERT_EQ(corr_storm__parent_fds(c, PARENT, 0, 5), 0, "sample");
	for (int i = 0; i < 6; i++) {
		uint64_t ts = 60 * SEC + i * 200 * MS;

		child(c, PARENT, 200 + i, "/usr/sbin/unitd", EXIT(1), ts);
		ASSERT_EQ(corr_storm__parent_fds(c, PARENT, ts + MS, 12 + 9 * i), 0, "sample");
	}
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one storm");
	ASSERT_STREQ(fs.v[0].resource,
		     "/usr/sbin/unitd: 6 non-zero exits in 1.0s (codes: 1 x6); parent fds 12 -> 57",
		     "resource");
	lw_findings__free(&fs);
}

/* Parents come from the process table, but only for forks the correlator
 * heard of: the session's root has a ppid read from /proc, and its own
 * failing exit is no child's.
 */
LW_TEST(storm_parent_only_when_fork_seen)
{
	struct corr_storm *c = ev_storm_new(&(struct corr_storm_opts){.min_exits = 1});
	struct lw_findings fs = {};
	struct lw_proc *root = lw_procs__get(&ev_procs, 300);

	root->ppid = 1;
	root->root = true;
	ASSERT_EQ(exec_at(c, 300, "/usr/sbin/svc", "svc", 0), 0, "exec");
	ASSERT_EQ(exit_at(c, 300, EXIT(1), "svc", MS), 0, "exit");
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "the root's exit is no child's");
	lw_findings__free(&fs);
}
