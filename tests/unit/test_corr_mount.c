// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Mount correlator: the rootfs automount reload race (propagation out of a
 * fresh namespace, host umount2 colliding with the next worker's mount),
 * its fix, race windows, and leftover mounts.
 */
#include <errno.h>
#include <stdlib.h>
#include "harness.h"
#include "ev_builders.h"
#include "detect/mount/corr_mount.h"

#define MS	   1000000ull
#define HOST	   100 /* router: host namespace 1 */
#define W1	   200 /* worker generation 1 */
#define W2	   201 /* worker generation 2 */
#define NEWNS	   0x20000ull
#define MS_REC	   0x4000ull
#define MS_PRIVATE 0x40000ull
#define MS_MOVE	   0x2000ull
#define DETACH	   2ull

static struct corr_mount *mk(bool attach, uint64_t window)
{
	struct corr_mount_opts o = {.attach_mode = attach, .race_window_ns = window};

	return ev_mount_new(&o);
}

/* stack {0x1000 + site, 0x4000}; site 0: no stack */
static void call(struct corr_mount *c, uint32_t tgid, uint32_t ns, uint32_t nr, int32_t ret,
		 uint64_t arg_flags, uint32_t flags, const char *src, const char *target,
		 const char *fstype, int site, uint64_t ts)
{
	struct lw_ev_mount ev = ev_mount(tgid, ns, nr, ret, arg_flags, src, target, fstype);
	struct lw_ips stack = ev_ips(0x1000 + site);
	int err;

	ev.hdr.ts_ns = ts;
	ev.flags = flags;
	err = corr_mount__feed(c, &ev, site ? &stack : NULL);
	if (err) {
		fprintf(stderr, "  corr_mount__feed: %d\n", err);
		lw_test_failed = 1;
	}
}

static void unshare_ns(struct corr_mount *c, uint32_t tgid, uint32_t ns, uint64_t ts)
{
	call(c, tgid, ns, LW_NR_unshare, 0, NEWNS, 0, "", "", "", 0, ts);
}

static void mnt(struct corr_mount *c, uint32_t tgid, uint32_t ns, int32_t ret, uint32_t flags,
		const char *target, const char *fstype, int site, uint64_t ts)
{
	call(c, tgid, ns, LW_NR_mount, ret, 0, flags, fstype, target, fstype, site, ts);
}

static void umnt(struct corr_mount *c, uint32_t tgid, uint32_t ns, int32_t ret, const char *target,
		 int site, uint64_t ts)
{
	call(c, tgid, ns, LW_NR_umount2, ret, DETACH, 0, "", target, "", site, ts);
}

static void worker(struct corr_mount *c, uint32_t w, uint64_t ts)
{
	struct lw_ev_proc_fork ev = ev_proc_fork(HOST, w, 0, "unitd");

	ev.hdr.ts_ns = ts;
	ASSERT_EQ(ev_mount_proc(c, &ev), 0, "fork");
}

/* a worker's exit: 0 or -errno */
static int worker_exit(struct corr_mount *c, uint32_t w, uint64_t ts)
{
	struct lw_ev_proc_exit ev = ev_proc_exit(w, 0, "unitd");

	ev.hdr.ts_ns = ts;
	return ev_mount_proc(c, &ev);
}

static bool all_mounted(void *ctx, uint32_t ns, const char *target)
{
	(void)ctx;
	(void)ns;
	(void)target;
	return true;
}

static void host(struct corr_mount *c)
{
	struct lw_ev_proc_exec ev = ev_proc_exec(HOST, "unitd", "/usr/sbin/unitd");

	ASSERT_EQ(corr_mount__set_ns(c, HOST, 1), 0, "host ns");
	ASSERT_EQ(ev_mount_proc(c, &ev), 0, "host comm");
}

/* The seed: gen 1 mounts /r/proc before making "/" private, so it
 * propagates to the host; the router's teardown umount2 of it lands 1 ms
 * before gen 2's mount of the same path, which fails ENOENT.
 */
LW_TEST(mount_seed_propagation_and_race)
{
	struct corr_mount *c = mk(false, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;
	const uint64_t T = 1000 * MS;

	host(c);
	worker(c, W1, 0);
	unshare_ns(c, W1, 2, 0);
	mnt(c, W1, 2, 0, LW_MNT_PROPAGATES | LW_MNT_NEW_NS, "/r/proc", "proc", 1, MS);
	ASSERT_EQ(worker_exit(c, W1, 100 * MS), 0, "gen 1 exits");
	worker(c, W2, T - 5 * MS);
	unshare_ns(c, W2, 3, T - 5 * MS);
	umnt(c, HOST, 1, 0, "/r/proc", 2, T);
	mnt(c, W2, 3, -ENOENT, LW_MNT_NEW_NS, "/r/proc/", "proc", 1, T + MS);
	ASSERT_EQ(worker_exit(c, W2, T + 2 * MS), 0, "gen 2 exits");
	ASSERT_EQ(corr_mount__finish(c, T + 3 * MS, all_mounted, NULL, &fs), 0, "finish");
	corr_mount__free(c);

	ASSERT_EQ(fs.n, 3, "findings");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "mount-propagation-leak", "kind");
	ASSERT_EQ(f->pid, W1, "pid");
	ASSERT_STREQ(f->comm, "unitd", "comm");
	ASSERT_EQ(f->count, 1, "count");
	ASSERT_STREQ(f->resource, "/r/proc (proc) propagates out of mount namespace 2", "resource");
	ASSERT_EQ(f->stack.nr, 2, "stack nr");
	ASSERT_EQ(f->stack.ips[0], 0x1001, "the worker's mount call site");

	f = &fs.v[1];
	ASSERT_STREQ(f->kind, "mount-race", "kind");
	ASSERT_EQ(f->pid, HOST, "the host's umount2");
	ASSERT_STREQ(f->resource,
		     "/r/proc: umount2 in ns 1 (pid 100) removed a mount made in ns 2 (pid 200): "
		     "host umount2 of a propagated mount",
		     "resource");
	ASSERT_EQ(f->stack.ips[0], 0x1002, "umount2 stack");
	ASSERT_EQ(f->nr_extra, 1, "evidence");
	ASSERT_STREQ(f->extra[0].label, "propagated mount made at", "label");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x1001, "mount stack");

	f = &fs.v[2];
	ASSERT_STREQ(f->kind, "mount-race", "kind");
	ASSERT_EQ(f->pid, W2, "the failing mount");
	ASSERT_STREQ(f->comm, "unitd", "comm");
	ASSERT_EQ(f->count, 1, "count");
	ASSERT_STREQ(f->resource,
		     "/r/proc: umount2 in ns 1 (pid 100, ok) then mount in ns 3 (pid 201, ENOENT) "
		     "1 ms apart",
		     "closest partner, trailing slash normalised");
	ASSERT_EQ(f->stack.ips[0], 0x1001, "failing mount's stack");
	ASSERT_EQ(f->nr_extra, 1, "evidence");
	ASSERT_STREQ(f->extra[0].label, "colliding operation at", "label");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x1002, "the colliding umount2");
	lw_findings__free(&fs);
}

/* The fix: "/" made private first (a propagation change, not a mount), so
 * the proc mount stays in the worker's namespace and dies with it; no
 * host-side umount2.
 */
LW_TEST(mount_seed_fixed_quiet)
{
	struct corr_mount *c = mk(false, 0);
	struct lw_findings fs = {};

	host(c);
	for (uint32_t g = 0; g < 3; g++) {
		uint64_t t = g * 10 * MS;

		worker(c, W1 + g, t);
		unshare_ns(c, W1 + g, 2 + g, t);
		call(c, W1 + g, 2 + g, LW_NR_mount, 0, MS_REC | MS_PRIVATE, 0, "", "/", "", 3, t);
		mnt(c, W1 + g, 2 + g, 0, LW_MNT_NEW_NS, "/r/proc", "proc", 1, t + MS);
		ASSERT_EQ(worker_exit(c, W1 + g, t + 5 * MS), 0, "exit");
	}
	ASSERT_EQ(corr_mount__finish(c, 100 * MS, all_mounted, NULL, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(fs.n, 0, "nothing, not even leftovers: the namespaces died");
	lw_findings__free(&fs);
}

/* The failing operation first: still reported with the failing stack. */
LW_TEST(mount_race_fail_first)
{
	struct corr_mount *c = mk(true, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	host(c);
	worker(c, W2, 0);
	unshare_ns(c, W2, 3, 0);
	mnt(c, W2, 3, -EBUSY, 0, "/r/proc", "proc", 1, 10 * MS);
	umnt(c, HOST, 1, -EINVAL, "/r/proc/", 2, 13 * MS);
	mnt(c, W2, 3, -ENOENT, 0, "/r/proc", "proc", 1, 14 * MS);
	ASSERT_EQ(corr_mount__finish(c, 20 * MS, NULL, NULL, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(fs.n, 1, "one finding per target");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "mount-race", "kind");
	ASSERT_EQ(f->count, 3, "every failing operation once");
	ASSERT_EQ(f->pid, W2, "first failing op");
	ASSERT_STREQ(
	    f->resource,
	    "/r/proc: mount in ns 3 (pid 201, EBUSY) then umount2 in ns 1 (pid 100, EINVAL) "
	    "3 ms apart",
	    "resource");
	ASSERT_EQ(f->age_ms, 3, "gap");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x1002, "the umount2");
	lw_findings__free(&fs);
}

LW_TEST(mount_race_outside_window)
{
	struct corr_mount *c = mk(false, 0);
	struct lw_findings fs = {};

	host(c);
	worker(c, W2, 0);
	unshare_ns(c, W2, 3, 0);
	umnt(c, HOST, 1, 0, "/r/proc", 2, 0);
	mnt(c, W2, 3, -ENOENT, LW_MNT_NEW_NS, "/r/proc", "proc", 1, 2001 * MS);
	ASSERT_EQ(corr_mount__finish(c, 3000 * MS, NULL, NULL, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "2.001 s apart, window 2 s");
	corr_mount__free(c);

	/* the window is an option */
	c = mk(false, 3000 * MS);
	host(c);
	worker(c, W2, 0);
	unshare_ns(c, W2, 3, 0);
	umnt(c, HOST, 1, 0, "/r/proc", 2, 0);
	mnt(c, W2, 3, -ENOENT, LW_MNT_NEW_NS, "/r/proc", "proc", 1, 2001 * MS);
	ASSERT_EQ(corr_mount__finish(c, 3000 * MS, NULL, NULL, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(fs.n, 1, "inside a 3 s window");
	ASSERT_STREQ(fs.v[0].kind, "mount-race", "kind");
	lw_findings__free(&fs);
}

LW_TEST(mount_race_needs_two_namespaces_and_a_failure)
{
	struct corr_mount *c = mk(false, 0);
	struct lw_findings fs = {};

	host(c);
	/* same namespace: a failing mount after an umount is no race */
	umnt(c, HOST, 1, 0, "/srv/a", 1, 0);
	mnt(c, HOST, 1, -ENOENT, 0, "/srv/a", "tmpfs", 2, MS);
	/* two namespaces, both fine */
	worker(c, W1, 0);
	unshare_ns(c, W1, 2, 0);
	umnt(c, HOST, 1, -EPERM, "/srv/b", 1, 0);
	mnt(c, W1, 2, 0, 0, "/srv/b", "tmpfs", 2, MS);
	/* two namespaces, different paths */
	mnt(c, W1, 2, -ENOENT, 0, "/srv/c", "tmpfs", 2, 2 * MS);
	umnt(c, HOST, 1, 0, "/srv/cc", 1, 2 * MS);
	ASSERT_EQ(worker_exit(c, W1, 3 * MS), 0, "exit");
	ASSERT_EQ(corr_mount__finish(c, 4 * MS, NULL, NULL, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(fs.n, 0, "no race");
	lw_findings__free(&fs);
}

/* The seed's half fix: the worker makes its namespace private before the
 * mount, the router still tears down. Its umount2 fails EINVAL (nothing is
 * mounted there on the host) right before the worker's mount, but a mount
 * made where nothing propagates collides with no other namespace.
 */
LW_TEST(mount_race_private_namespace_collides_with_nothing)
{
	struct corr_mount *c = mk(false, 0);
	struct lw_findings fs = {};

	host(c);
	for (uint32_t g = 0; g < 2; g++) {
		uint64_t t = g * 10 * MS;

		worker(c, W1 + g, t);
		unshare_ns(c, W1 + g, 2 + g, t);
		call(c, W1 + g, 2 + g, LW_NR_mount, 0, MS_REC | MS_PRIVATE, 0, "", "/", "", 3, t);
		umnt(c, HOST, 1, -EINVAL, "/r/proc", 2, t + MS);
		mnt(c, W1 + g, 2 + g, 0, LW_MNT_NEW_NS | LW_MNT_ISOLATED, "/r/proc", "proc", 1,
		    t + 2 * MS);
		umnt(c, HOST, 1, -EINVAL, "/r/proc", 2, t + 3 * MS); /* either order */
	}
	ASSERT_EQ(worker_exit(c, W1, 30 * MS), 0, "exit");
	ASSERT_EQ(worker_exit(c, W2, 30 * MS), 0, "exit");
	ASSERT_EQ(corr_mount__finish(c, 40 * MS, all_mounted, NULL, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(fs.n, 0, "no race, no leftover");
	lw_findings__free(&fs);
}

/* The same steps when the worker's mount point still shares propagation
 * (not isolated): the EINVAL umount2 and the mount are one race.
 */
LW_TEST(mount_race_shared_namespace_still_collides)
{
	struct corr_mount *c = mk(false, 0);
	struct lw_findings fs = {};

	host(c);
	worker(c, W1, 0);
	unshare_ns(c, W1, 2, 0);
	umnt(c, HOST, 1, -EINVAL, "/r/proc", 2, MS);
	mnt(c, W1, 2, 0, LW_MNT_NEW_NS, "/r/proc", "proc", 1, 2 * MS);
	/* an isolated mount elsewhere does not hide it */
	mnt(c, W1, 2, 0, LW_MNT_NEW_NS | LW_MNT_ISOLATED, "/r/proc", "proc", 1, 3 * MS);
	ASSERT_EQ(worker_exit(c, W1, 4 * MS), 0, "exit");
	ASSERT_EQ(corr_mount__finish(c, 5 * MS, NULL, NULL, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(fs.n, 1, "one race");
	ASSERT_STREQ(fs.v[0].kind, "mount-race", "kind");
	ASSERT_EQ(fs.v[0].count, 1, "the failing umount2");
	ASSERT_EQ(fs.v[0].pid, HOST, "the failing one speaks");
	ASSERT_EQ(fs.v[0].extra[0].stack.ips[0], 0x1001, "the shared mount, the closest partner");
	lw_findings__free(&fs);
}

struct asked {
	int calls;
	uint32_t ns[8];
};

/* still mounted: /mnt/a and /mnt/bb only */
static bool some_mounted(void *ctx, uint32_t ns, const char *target)
{
	struct asked *a = ctx;

	if (a->calls < 8)
		a->ns[a->calls] = ns;
	a->calls++;
	return !strcmp(target, "/mnt/a") || !strcmp(target, "/mnt/bb");
}

LW_TEST(mount_leftover_callback)
{
	struct corr_mount *c = mk(false, 0);
	struct lw_findings fs = {};
	struct asked a = {0};

	host(c);
	/* propagating from the initial namespace is not a leak out of one */
	mnt(c, HOST, 1, 0, LW_MNT_PROPAGATES, "/mnt/a", "tmpfs", 1, 0);
	mnt(c, HOST, 1, 0, 0, "/mnt/b", "tmpfs", 2, MS);
	mnt(c, HOST, 1, 0, 0, "/mnt/c", "tmpfs", 3, MS);
	mnt(c, HOST, 1, 0, 0, "/mnt/c/sub", "tmpfs", 4, MS);
	mnt(c, HOST, 1, -EPERM, 0, "/mnt/d", "tmpfs", 5, MS);
	call(c, HOST, 1, LW_NR_mount, 0, MS_MOVE, 0, "/mnt/b/", "/mnt/bb", "", 6, 2 * MS);
	umnt(c, HOST, 1, 0, "/mnt/c", 7, 3 * MS); /* takes /mnt/c/sub along */
	ASSERT_EQ(corr_mount__finish(c, 1000 * MS, some_mounted, &a, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(a.calls, 2, "asked about /mnt/a and /mnt/bb");
	ASSERT_EQ(a.ns[0], 1, "in the host namespace");
	ASSERT_EQ(fs.n, 2, "two leftovers");
	ASSERT_STREQ(fs.v[0].kind, "mount-leftover", "kind");
	ASSERT_EQ(fs.v[0].pid, HOST, "pid");
	ASSERT_STREQ(fs.v[0].comm, "unitd", "comm");
	ASSERT_STREQ(fs.v[0].resource, "/mnt/a (tmpfs) still mounted in ns 1", "resource");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "mount stack");
	ASSERT_EQ(fs.v[0].age_ms, 1000, "age");
	ASSERT_STREQ(fs.v[1].resource, "/mnt/bb (tmpfs) still mounted in ns 1", "moved");
	ASSERT_EQ(fs.v[1].stack.ips[0], 0x1002, "the mount's stack, not the move's");
	lw_findings__free(&fs);

	/* attach mode: no leftovers */
	c = mk(true, 0);
	host(c);
	mnt(c, HOST, 1, 0, 0, "/mnt/a", "tmpfs", 1, 0);
	ASSERT_EQ(corr_mount__finish(c, MS, all_mounted, NULL, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(fs.n, 0, "attach");
}

/* The seed without the host's umount2: the propagated copy outlives the
 * worker's namespace and is left in the host's.
 */
LW_TEST(mount_leftover_propagated_copy)
{
	struct corr_mount *c = mk(false, 0);
	struct lw_findings fs = {};
	struct asked a = {0};

	host(c);
	worker(c, W1, 0);
	unshare_ns(c, W1, 2, 0);
	mnt(c, W1, 2, 0, LW_MNT_PROPAGATES | LW_MNT_NEW_NS, "/r/proc", "proc", 1, MS);
	mnt(c, W1, 2, 0, LW_MNT_PROPAGATES | LW_MNT_NEW_NS, "/r/proc", "proc", 1, 2 * MS);
	ASSERT_EQ(worker_exit(c, W1, 3 * MS), 0, "exit");
	ASSERT_EQ(corr_mount__finish(c, 4 * MS, all_mounted, &a, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(fs.n, 3, "leak + two copies left");
	ASSERT_STREQ(fs.v[0].kind, "mount-propagation-leak", "kind");
	ASSERT_EQ(fs.v[0].count, 2, "grouped by stack and target");
	ASSERT_STREQ(fs.v[1].kind, "mount-leftover", "kind");
	ASSERT_STREQ(fs.v[1].resource,
		     "/r/proc (proc) still mounted in ns 1 (propagated from ns 2)", "resource");
	ASSERT_EQ(fs.v[1].pid, W1, "made by the worker");
	lw_findings__free(&fs);
}

/* A finding names the comm its process had at the call: the table is read
 * then, so a later exec does not rename it.
 */
LW_TEST(mount_comm_at_the_call)
{
	struct corr_mount *c = mk(false, 0);
	struct lw_findings fs = {};
	struct lw_ev_proc_exec ex = ev_proc_exec(W1, "other", "/usr/bin/other");

	host(c);
	worker(c, W1, 0);
	unshare_ns(c, W1, 2, 0);
	mnt(c, W1, 2, 0, LW_MNT_PROPAGATES | LW_MNT_NEW_NS, "/r/proc", "proc", 1, MS);
	ASSERT_EQ(ev_mount_proc(c, &ex), 0, "exec");
	mnt(c, W1, 2, 0, LW_MNT_PROPAGATES | LW_MNT_NEW_NS, "/r/sys", "sysfs", 2, 2 * MS);
	ASSERT_EQ(corr_mount__finish(c, 3 * MS, NULL, NULL, &fs), 0, "finish");
	corr_mount__free(c);
	ASSERT_EQ(fs.n >= 2, 1, "two propagation leaks");
	ASSERT_STREQ(fs.v[0].kind, "mount-propagation-leak", "kind");
	ASSERT_STREQ(fs.v[0].comm, "unitd", "before the exec");
	ASSERT_STREQ(fs.v[1].kind, "mount-propagation-leak", "kind");
	ASSERT_STREQ(fs.v[1].comm, "other", "after it");
	lw_findings__free(&fs);
}
