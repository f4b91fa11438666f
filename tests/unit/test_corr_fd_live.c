// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd correlator, liveness: synthetic probe verdicts decide what an fd still
 * open at the end is reported as (fd-leak "dead", fd-held "held"/"unknown",
 * fd-leak "strict", and "growing" after the trend).
 */
#include <errno.h>
#include <stdlib.h>
#include "harness.h"
#include "ev_builders.h"
#include <leakwatch/syscalls.h>
#include "detect/fd/corr_fd.h"

#define MS 1000000ull

static const char CW[] = "peer closed (CLOSE_WAIT)";

/* The probe's answers by fd: verdicts[fd], whys[fd]; calls counted. */
struct verdicts {
	enum lw_fd_liveness l[16];
	const char *why[16];
	int calls;
};

static enum lw_fd_liveness probe(void *ctx, int fd, const char **why)
{
	struct verdicts *v = ctx;

	v->calls++;
	*why = fd >= 0 && fd < 16 && v->why[fd] ? v->why[fd] : "";
	return fd >= 0 && fd < 16 ? v->l[fd] : LW_FD_UNKNOWN;
}

static void feed(struct corr_fd *c, const void *ev)
{
	int err = ev_fd_feed(c, ev);

	if (err) {
		fprintf(stderr, "  corr_fd__feed: %d\n", err);
		lw_test_failed = 1;
	}
}

/* creation stack {0x1000 + site, EV_OUTER} */
static void open_fd(struct corr_fd *c, uint32_t tgid, int fd, int site)
{
	char path[32];
	struct lw_ev_fd_open ev;

	snprintf(path, sizeof(path), "/tmp/f%d", fd);
	ev = ev_fd_open(tgid, fd, path, 0x1000 + site);
	feed(c, &ev);
}

static void exit_ev(struct corr_fd *c, uint32_t tgid)
{
	struct lw_ev_proc_exit ev = ev_proc_exit(tgid, 0, "");

	ev.hdr.ts_ns = MS;
	feed(c, &ev);
}

static struct corr_fd *mk(bool attach, bool strict)
{
	struct corr_fd_opts o = {.attach_mode = attach, .strict = strict};

	return ev_fd_new(&o);
}

static int finish(struct corr_fd *c, struct lw_findings *fs)
{
	int err = corr_fd__finish(c, 2 * MS, fs);

	corr_fd__free(c);
	return err;
}

/* The finding of (kind, cls) for pid, NULL when none. */
static const struct lw_finding *find(const struct lw_findings *fs, uint32_t pid, const char *kind,
				     const char *cls)
{
	for (size_t i = 0; i < fs->n; i++)
		if (fs->v[i].pid == pid && !strcmp(fs->v[i].kind, kind) && fs->v[i].cls &&
		    !strcmp(fs->v[i].cls, cls))
			return &fs->v[i];
	return NULL;
}

LW_TEST(fdlive_dead_and_held_of_one_site_split)
{
	struct corr_fd *c = mk(false, false);
	struct verdicts v = {.l = {[3] = LW_FD_DEAD, [4] = LW_FD_HELD, [5] = LW_FD_DEAD},
			     .why = {[3] = CW, [5] = CW}};
	struct lw_findings fs = {};
	const struct lw_finding *f;

	open_fd(c, 100, 3, 1);
	open_fd(c, 100, 4, 1);
	open_fd(c, 100, 5, 1);
	/* run mode: held at its exit, before the exit record */
	ASSERT_EQ(corr_fd__probe_live(c, 100, probe, &v), 3, "probed");
	exit_ev(c, 100);
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	f = find(&fs, 100, "fd-leak", "dead");
	ASSERT_TRUE(f, "dead fds are an fd-leak");
	ASSERT_EQ(f->count, 2, "count");
	ASSERT_EQ(f->nr_fds, 2, "nr_fds");
	ASSERT_EQ(f->fds[0], 3, "fd 3");
	ASSERT_EQ(f->fds[1], 5, "fd 5");
	ASSERT_STREQ(f->why, CW, "why");
	f = find(&fs, 100, "fd-held", "held");
	ASSERT_TRUE(f, "the usable one is fd-held");
	ASSERT_EQ(f->fd, 4, "fd");
	ASSERT_TRUE(!f->why, "held needs no why");
	lw_findings__free(&fs);
}

LW_TEST(fdlive_dead_reasons_split)
{
	struct corr_fd *c = mk(false, false);
	struct verdicts v = {.l = {[3] = LW_FD_DEAD, [4] = LW_FD_DEAD},
			     .why = {[3] = CW, [4] = "connection reset"}};
	struct lw_findings fs = {};

	open_fd(c, 100, 3, 1);
	open_fd(c, 100, 4, 1);
	corr_fd__probe_live(c, 100, probe, &v);
	exit_ev(c, 100);
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "one finding per reason");
	ASSERT_STREQ(fs.v[0].why, CW, "fd 3's");
	ASSERT_STREQ(fs.v[1].why, "connection reset", "fd 4's");
	/* and the report's fold keeps them apart too */
	ASSERT_EQ(lw_findings__merge_truncated(&fs), 0, "not folded");
	lw_findings__free(&fs);
}

LW_TEST(fdlive_unknown_and_never_held)
{
	struct corr_fd *c = mk(false, false);
	struct verdicts v = {.l = {[3] = LW_FD_UNKNOWN}, .why = {[3] = "cannot be read"}};
	struct lw_findings fs = {};
	const struct lw_finding *f;

	open_fd(c, 100, 3, 1);
	open_fd(c, 200, 3, 1);
	corr_fd__probe_live(c, 100, probe, &v);
	exit_ev(c, 100);
	exit_ev(c, 200); /* never held still (--no-freeze, ptrace refused) */
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	f = find(&fs, 100, "fd-held", "unknown");
	ASSERT_TRUE(f, "an fd the probe could not read");
	ASSERT_STREQ(f->why, "cannot be read", "its reason");
	f = find(&fs, 200, "fd-held", "unknown");
	ASSERT_TRUE(f, "an fd never probed");
	ASSERT_STREQ(f->why, "not held still", "why");
	lw_findings__free(&fs);
}

LW_TEST(fdlive_probes_only_what_could_be_a_finding)
{
	struct corr_fd *c = mk(false, false);
	struct verdicts v = {.l = {[3] = LW_FD_DEAD, [4] = LW_FD_DEAD, [5] = LW_FD_DEAD}};
	struct lw_ev_proc_fork fk = ev_proc_fork(100, 101, 0, "child");
	struct lw_findings fs = {};

	ASSERT_EQ(corr_fd__seed(c, 100, 4, "/seeded", false), 0, "seed");
	open_fd(c, 100, 2, 1); /* stdio never leaks */
	open_fd(c, 100, 3, 1);
	feed(c, &fk);
	/* the child's copy of 3 is its parent's to answer for */
	ASSERT_EQ(corr_fd__probe_live(c, 101, probe, &v), 0, "child: nothing of its own");
	ASSERT_EQ(v.calls, 0, "no probe");
	v.l[3] = LW_FD_HELD;
	ASSERT_EQ(corr_fd__probe_live(c, 100, probe, &v), 1, "parent: fd 3 only");
	ASSERT_EQ(corr_fd__probe_live(c, 999, probe, &v), 0, "unknown process");
	exit_ev(c, 101);
	exit_ev(c, 100);
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_STREQ(fs.v[0].kind, "fd-held", "the parent's verdict, not the child's");
	lw_findings__free(&fs);
}

LW_TEST(fdlive_later_probe_wins)
{
	struct corr_fd *c = mk(true, false);
	struct verdicts v = {.l = {[3] = LW_FD_HELD}};
	struct lw_findings fs = {};

	open_fd(c, 100, 3, 1);
	corr_fd__probe_live(c, 100, probe, &v);
	v.l[3] = LW_FD_DEAD;
	v.why[3] = "no writer left";
	corr_fd__probe_live(c, 100, probe, &v);
	/* attach: probed at report time, still open at finish */
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_STREQ(fs.v[0].kind, "fd-leak", "kind");
	ASSERT_STREQ(fs.v[0].cls, "dead", "cls");
	ASSERT_STREQ(fs.v[0].why, "no writer left", "why");
	lw_findings__free(&fs);
}

LW_TEST(fdlive_strict_is_valgrinds_rule)
{
	struct corr_fd *c = mk(false, true);
	struct verdicts v = {.l = {[3] = LW_FD_DEAD, [4] = LW_FD_HELD}, .why = {[3] = CW}};
	struct lw_findings fs = {};

	open_fd(c, 100, 3, 1);
	open_fd(c, 100, 4, 1);
	open_fd(c, 100, 5, 1); /* never probed */
	corr_fd__probe_live(c, 100, probe, &v);
	exit_ev(c, 100);
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one finding for the site");
	ASSERT_STREQ(fs.v[0].kind, "fd-leak", "kind");
	ASSERT_STREQ(fs.v[0].cls, "strict", "cls");
	ASSERT_EQ(fs.v[0].count, 3, "count");
	ASSERT_TRUE(!fs.v[0].why, "no why");
	lw_findings__free(&fs);
}

LW_TEST(fdlive_other_kinds_keep_their_meaning)
{
	struct corr_fd *c = mk(false, false);
	struct verdicts v = {.l = {[3] = LW_FD_HELD, [4] = LW_FD_HELD}};
	const int fd = 3;
	struct lw_ev_fd_send snd = ev_fd_send(100, 4, -EPIPE, &fd, 1, 0, 0x2000);
	struct lw_ev_fd_open ring = ev_fd_open(200, -1, "", 0x3000);
	struct lw_findings fs = {};

	open_fd(c, 100, 3, 1);
	feed(c, &snd); /* a failed send: the sender still owns it */
	ring.syscall_nr = LW_NR_io_uring_enter;
	feed(c, &ring);
	open_fd(c, 200, 4, 2);
	corr_fd__probe_live(c, 100, probe, &v);
	corr_fd__probe_live(c, 200, probe, &v);
	exit_ev(c, 100);
	exit_ev(c, 200);
	ASSERT_EQ(finish(c, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	ASSERT_STREQ(fs.v[0].kind, "fd-send-failed-leak", "kind");
	ASSERT_TRUE(!fs.v[0].cls, "no class");
	ASSERT_STREQ(fs.v[1].kind, "fd-uncertain", "kind");
	ASSERT_TRUE(!fs.v[1].cls, "no class");
	lw_findings__free(&fs);
}

LW_TEST(fdlive_growing_held_is_a_leak)
{
	struct lw_finding held = {.kind = "fd-held", .cls = "unknown", .why = "not held still"};
	struct lw_finding dead = {.kind = "fd-leak", .cls = "dead", .why = CW};
	struct lw_finding sent = {.kind = "fd-send-failed-leak"};
	struct lw_finding unc = {.kind = "fd-uncertain"};

	corr_fd__regrade_growing(&held);
	corr_fd__regrade_growing(&dead);
	corr_fd__regrade_growing(&sent);
	corr_fd__regrade_growing(&unc);
	corr_fd__regrade_growing(NULL);
	ASSERT_STREQ(held.kind, "fd-leak", "held grows into a leak");
	ASSERT_STREQ(held.cls, "growing", "cls");
	ASSERT_STREQ(held.why, "its site's live count kept rising", "why");
	ASSERT_STREQ(dead.cls, "dead", "dead stays dead");
	ASSERT_STREQ(dead.why, CW, "and keeps its why");
	ASSERT_STREQ(sent.kind, "fd-send-failed-leak", "untouched");
	ASSERT_STREQ(unc.kind, "fd-uncertain", "untouched");
}
