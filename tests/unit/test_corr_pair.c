// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pair correlator: acquire/release, refcounts, underflows, process
 * lifecycle in run and attach mode.
 */
#include <errno.h>
#include <stdlib.h>
#include "harness.h"
#include "ev_builders.h"
#include "detect/pair/corr_pair.h"

#define MS 1000000ull

enum { POOL_CREATE, POOL_RELEASE, MP_CREATE, MP_RETAIN, MP_RELEASE, MP_DESTROY, MP_CREATE2 };

static const char spec_text[] = "pool acquire pool_create  ret\n"
				"pool release pool_release arg0\n"
				"mp   acquire mp_create    ret\n"
				"mp   retain  mp_retain    arg0\n"
				"mp   release mp_release   arg0\n"
				"mp   destroy mp_destroy   arg0\n"
				"mp   acquire mp_create_ex ret\n";

static struct lw_pair_spec spec;
/* the session's process table, synthetic: comm comes from it */
static struct lw_procs procs;

static void set_comm(uint32_t tgid, const char *comm)
{
	struct lw_proc *p = lw_procs__get(&procs, tgid);

	if (p)
		snprintf(p->comm, sizeof(p->comm), "%s", comm);
}

static struct corr_pair *mk(bool attach, uint64_t min_age)
{
	struct corr_pair_opts o = {.attach_mode = attach,
				   .min_age_ns = min_age,
				   .spec = &spec,
				   .proc = lw_procs__lookup,
				   .proc_ctx = &procs};
	char err[256];

	if (!spec.n && pair_spec__parse_text(&spec, "test", spec_text, err, sizeof(err))) {
		fprintf(stderr, "  spec: %s\n", err);
		abort();
	}
	return corr_pair__new(&o);
}

/* tid = tgid; stack {0x1000 + site, 0x4000} */
static int call_tid(struct corr_pair *c, uint32_t tgid, uint32_t tid, int rule, uint64_t handle,
		    int site, uint64_t ts)
{
	struct lw_ev_pair ev = ev_pair(tgid, rule, handle, 0);
	struct lw_ips stack = ev_ips(0x1000 + site);

	ev.hdr.tid = tid;
	ev.hdr.ts_ns = ts;

	return corr_pair__feed(c, &ev, &stack);
}

static void call(struct corr_pair *c, uint32_t tgid, int rule, uint64_t handle, int site,
		 uint64_t ts)
{
	int err = call_tid(c, tgid, tgid, rule, handle, site, ts);

	if (err) {
		fprintf(stderr, "  corr_pair__feed: %d\n", err);
		lw_test_failed = 1;
	}
}

static int finish(struct corr_pair *c, uint64_t now, struct lw_findings *fs)
{
	int err = corr_pair__finish(c, now, fs);

	corr_pair__free(c);
	return err;
}

LW_TEST(pair_acquire_release_clean)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	call(c, 100, POOL_RELEASE, 0x5000, 2, MS);
	call(c, 100, POOL_RELEASE, 0, 3, MS); /* release(NULL): nothing */
	ASSERT_EQ(corr_pair__exit(c, 100, 2 * MS), 0, "exit");
	ASSERT_EQ(finish(c, 3 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "released");
}

LW_TEST(pair_leak_acquire_stack)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	set_comm(100, "server");
	call(c, 100, POOL_CREATE, 0x7000, 1, 0);
	call(c, 100, POOL_CREATE, 0x6000, 1, MS);
	call(c, 100, POOL_CREATE, 0x9000, 2, MS);
	call(c, 100, POOL_CREATE, 0x8000, 3, MS);
	call(c, 100, POOL_RELEASE, 0x8000, 4, MS);
	ASSERT_EQ(corr_pair__exit(c, 100, 5 * MS), 0, "exit");
	ASSERT_EQ(finish(c, 9 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "two creation stacks");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "pair-leak", "kind");
	ASSERT_EQ(f->pid, 100, "pid");
	ASSERT_EQ(f->tid, 100, "tid");
	ASSERT_STREQ(f->comm, "server", "comm");
	ASSERT_EQ(f->fd, -1, "no fd");
	ASSERT_EQ(f->count, 2, "grouped by stack");
	ASSERT_STREQ(f->resource, "pool (balance +1)", "resource");
	ASSERT_EQ(f->stack.nr, 2, "stack nr");
	ASSERT_EQ(f->stack.ips[0], 0x1001, "the acquire's stack");
	ASSERT_EQ(f->age_ms, 5, "aged to the exit");
	ASSERT_EQ(f->nr_extra, 0, "never retained: no evidence");
	ASSERT_EQ(fs.v[1].count, 1, "other site");
	ASSERT_EQ(fs.v[1].stack.ips[0], 0x1002, "other stack");
	lw_findings__free(&fs);
}

/* nxt_mp: create, retain, release, release (the last one destroys it
 * internally: the nested nxt_mp_destroy on the same thread is no underflow)
 */
LW_TEST(pair_refcount_balanced)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	call(c, 100, MP_CREATE, 0x5000, 1, 0);
	call(c, 100, MP_RETAIN, 0x5000, 2, 0);
	call(c, 100, MP_RELEASE, 0x5000, 3, 0);
	call(c, 100, MP_RELEASE, 0x5000, 4, 0);
	call(c, 100, MP_DESTROY, 0x5000, 5, 0);
	ASSERT_EQ(corr_pair__exit(c, 100, MS), 0, "exit");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "balanced");

	/* the same destroy from another thread is a second end */
	c = mk(false, 0);
	call(c, 100, MP_CREATE, 0x5000, 1, 0);
	call(c, 100, MP_RELEASE, 0x5000, 4, 0);
	ASSERT_EQ(call_tid(c, 100, 101, MP_DESTROY, 0x5000, 5, 0), 0, "feed");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "not nested");
	ASSERT_STREQ(fs.v[0].kind, "pair-underflow", "kind");
	lw_findings__free(&fs);
}

LW_TEST(pair_refcount_missed_release)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	call(c, 100, MP_CREATE, 0x5000, 1, 0);
	call(c, 100, MP_RETAIN, 0x5000, 2, MS);
	call(c, 100, MP_RETAIN, 0x5000, 3, 2 * MS);
	call(c, 100, MP_RELEASE, 0x5000, 4, 3 * MS);
	call(c, 100, MP_RELEASE, 0x5000, 4, 3 * MS); /* the error path misses one */
	ASSERT_EQ(corr_pair__exit(c, 100, 4 * MS), 0, "exit");
	ASSERT_EQ(finish(c, 4 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one leak");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "pair-leak", "kind");
	ASSERT_STREQ(f->resource, "mp (balance +1)", "balance");
	ASSERT_EQ(f->stack.ips[0], 0x1001, "main stack: the creation");
	ASSERT_EQ(f->nr_extra, 1, "evidence");
	ASSERT_STREQ(f->extra[0].label, "last retained at", "label");
	ASSERT_EQ(f->extra[0].stack.nr, 2, "retain stack nr");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x1003, "the newest retain");
	lw_findings__free(&fs);

	c = mk(false, 0);
	call(c, 100, MP_CREATE, 0x5000, 1, 0);
	call(c, 100, MP_RETAIN, 0x5000, 2, MS);
	call(c, 100, MP_RETAIN, 0x5000, 2, MS);
	ASSERT_EQ(finish(c, 4 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "live at finish");
	ASSERT_STREQ(fs.v[0].resource, "mp (balance +3)", "balance +3");
	ASSERT_EQ(fs.v[0].age_ms, 4, "aged to finish");
	lw_findings__free(&fs);
}

LW_TEST(pair_destroy_ends_regardless)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	call(c, 100, MP_CREATE, 0x5000, 1, 0);
	call(c, 100, MP_RETAIN, 0x5000, 2, 0);
	call(c, 100, MP_RETAIN, 0x5000, 2, 0);
	call(c, 100, MP_DESTROY, 0x5000, 3, 0);
	ASSERT_EQ(corr_pair__exit(c, 100, MS), 0, "exit");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "destroyed at balance 3");
}

LW_TEST(pair_underflow_run_mode)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	set_comm(100, "app");
	call(c, 100, POOL_RELEASE, 0xbad0, 7, 0); /* never acquired */
	call(c, 100, POOL_RELEASE, 0xbad8, 7, 0);
	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	call(c, 100, POOL_RELEASE, 0x5000, 2, 0);
	call(c, 100, POOL_RELEASE, 0x5000, 3, 0); /* double release */
	call(c, 100, MP_DESTROY, 0xd000, 4, 0);	  /* destroy of an unknown handle */
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 3, "findings");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "pair-underflow", "kind");
	ASSERT_STREQ(f->resource, "mp handle 0xd000", "resource order: mp before pool");
	ASSERT_EQ(f->nr_extra, 0, "no history");
	f = &fs.v[1];
	ASSERT_STREQ(f->resource, "pool handle 0xbad0", "first of its group");
	ASSERT_EQ(f->count, 2, "grouped by stack");
	ASSERT_EQ(f->stack.ips[0], 0x1007, "the release's stack");
	ASSERT_STREQ(f->comm, "app", "comm");
	f = &fs.v[2];
	ASSERT_STREQ(f->resource, "pool handle 0x5000", "double release");
	ASSERT_EQ(f->count, 1, "count");
	ASSERT_EQ(f->stack.ips[0], 0x1003, "the second release");
	ASSERT_EQ(f->nr_extra, 2, "history");
	ASSERT_STREQ(f->extra[0].label, "previously released at", "label");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x1002, "the first release");
	ASSERT_STREQ(f->extra[1].label, "acquired at", "label");
	ASSERT_EQ(f->extra[1].stack.ips[0], 0x1001, "the acquire");
	lw_findings__free(&fs);
}

LW_TEST(pair_unknown_attach_mode)
{
	struct corr_pair *c = mk(true, 0);
	struct lw_findings fs = {};

	call(c, 100, POOL_RELEASE, 0xbad0, 7, 0); /* acquired before attach */
	call(c, 100, MP_RETAIN, 0xa000, 1, 0);	  /* likewise */
	call(c, 100, MP_RELEASE, 0xa000, 2, 0);
	call(c, 100, MP_RELEASE, 0xa000, 2, 0);
	call(c, 100, MP_DESTROY, 0xb000, 3, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "attach: unknown handles are not ours");
}

/* run mode: a retain of an untraced creation starts at balance 1 */
LW_TEST(pair_retain_unknown_run_mode)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	call(c, 100, MP_RETAIN, 0xa000, 1, 0);
	call(c, 100, MP_RELEASE, 0xa000, 2, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "retain then release");

	c = mk(false, 0);
	call(c, 100, MP_RETAIN, 0xa000, 1, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "retained, never released");
	ASSERT_STREQ(fs.v[0].resource, "mp (balance +1)", "resource");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "the retain is its first reference");
	lw_findings__free(&fs);

	/* a reference taken inside the constructor, before it returned */
	c = mk(false, 0);
	call(c, 100, MP_RETAIN, 0xa000, 1, 0);
	call(c, 100, MP_CREATE, 0xa000, 2, 0);
	call(c, 100, MP_RELEASE, 0xa000, 3, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "two references, one released");
	ASSERT_STREQ(fs.v[0].resource, "mp (balance +1)", "joined");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1002, "creation: the acquire");
	ASSERT_EQ(fs.v[0].nr_extra, 1, "retain evidence");
	ASSERT_EQ(fs.v[0].extra[0].stack.ips[0], 0x1001, "the inner retain");
	lw_findings__free(&fs);
}

LW_TEST(pair_handle_reuse)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	call(c, 100, MP_CREATE, 0x5000, 1, 0);
	call(c, 100, MP_DESTROY, 0x5000, 2, 0);
	call(c, 100, MP_CREATE, 0x5000, 3, 0); /* the allocator gave the address back */
	call(c, 100, MP_RELEASE, 0x5000, 4, 0);
	ASSERT_EQ(corr_pair__exit(c, 100, MS), 0, "exit");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "reuse after destroy");

	/* reuse without a release: the first was lost */
	c = mk(true, 1000 * MS);
	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	call(c, 100, POOL_CREATE, 0x6000, 9, MS);
	call(c, 100, POOL_CREATE, 0x5000, 2, 2 * MS);
	call(c, 100, POOL_RELEASE, 0x5000, 3, 3 * MS);
	call(c, 100, POOL_RELEASE, 0x6000, 3, 3 * MS);
	ASSERT_EQ(finish(c, 4 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "the lost one, whatever min_age");
	ASSERT_STREQ(fs.v[0].kind, "pair-leak", "kind");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "the first acquire");
	ASSERT_EQ(fs.v[0].age_ms, 2, "aged to its replacement");
	lw_findings__free(&fs);
}

/* BIO_new → BIO_new_ex: both return the handle, on one thread, in a row */
LW_TEST(pair_nested_constructor)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	call(c, 100, MP_CREATE2, 0x5000, 1, 0);
	call(c, 100, MP_CREATE, 0x5000, 2, 0);
	call(c, 100, MP_RELEASE, 0x5000, 3, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "one acquire");

	/* the same on another thread: a lost handle */
	c = mk(false, 0);
	call(c, 100, MP_CREATE2, 0x5000, 1, 0);
	ASSERT_EQ(call_tid(c, 100, 101, MP_CREATE, 0x5000, 2, 0), 0, "feed");
	call(c, 100, MP_RELEASE, 0x5000, 3, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "reuse");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "the first");
	lw_findings__free(&fs);
}

LW_TEST(pair_exit_semantics)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	call(c, 200, POOL_CREATE, 0x5000, 1, 0);
	ASSERT_EQ(corr_pair__exit(c, 100, 3 * MS), 0, "exit");
	ASSERT_EQ(finish(c, 10 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "run: live at exit and at finish");
	ASSERT_EQ(fs.v[0].pid, 100, "pid order");
	ASSERT_EQ(fs.v[0].age_ms, 3, "aged to the exit");
	ASSERT_EQ(fs.v[1].pid, 200, "second pid");
	ASSERT_EQ(fs.v[1].age_ms, 10, "aged to finish");
	lw_findings__free(&fs);

	c = mk(true, 0);
	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	call(c, 200, POOL_CREATE, 0x5000, 1, 0);
	ASSERT_EQ(corr_pair__exit(c, 100, 3 * MS), 0, "exit");
	ASSERT_EQ(finish(c, 10 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "attach: exit ends them");
	ASSERT_EQ(fs.v[0].pid, 200, "the live process");
	lw_findings__free(&fs);

	/* a reused pid starts clean */
	c = mk(false, 0);
	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	ASSERT_EQ(corr_pair__exit(c, 100, MS), 0, "exit");
	call(c, 100, POOL_CREATE, 0x5000, 2, 2 * MS);
	call(c, 100, POOL_RELEASE, 0x5000, 3, 3 * MS);
	ASSERT_EQ(finish(c, 10 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "only the first process's leak");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "its stack");
	lw_findings__free(&fs);
}

LW_TEST(pair_exec_semantics)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	call(c, 100, POOL_CREATE, 0x6000, 2, 2 * MS);
	call(c, 100, POOL_CREATE, 0x7000, 5, MS);
	call(c, 100, POOL_RELEASE, 0x7000, 6, MS);
	ASSERT_EQ(corr_pair__exec(c, 100), 0, "exec");
	call(c, 100, POOL_CREATE, 0x5000, 3, 5 * MS); /* the new image */
	call(c, 100, POOL_RELEASE, 0x5000, 4, 6 * MS);
	call(c, 100, POOL_RELEASE, 0x6000, 4, 6 * MS); /* not the new image's */
	call(c, 100, POOL_RELEASE, 0x7000, 8, 6 * MS);
	ASSERT_EQ(corr_pair__exit(c, 100, 7 * MS), 0, "exit");
	ASSERT_EQ(finish(c, 10 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 4, "two leaks of the old image, two underflows");
	ASSERT_STREQ(fs.v[0].kind, "pair-leak", "kind");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "0x5000 first");
	ASSERT_EQ(fs.v[0].age_ms, 2, "aged to the last call before exec");
	ASSERT_EQ(fs.v[1].stack.ips[0], 0x1002, "0x6000");
	ASSERT_STREQ(fs.v[2].kind, "pair-underflow", "kind");
	ASSERT_STREQ(fs.v[2].resource, "pool handle 0x6000", "resource");
	ASSERT_STREQ(fs.v[3].resource, "pool handle 0x7000", "released before exec");
	ASSERT_EQ(fs.v[3].nr_extra, 0, "exec forgot the old image's history");
	lw_findings__free(&fs);

	c = mk(true, 0);
	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	ASSERT_EQ(corr_pair__exec(c, 100), 0, "exec");
	ASSERT_EQ(finish(c, 10 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "attach: exec ends them");
}

LW_TEST(pair_fork_child)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	set_comm(100, "parent");
	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	ASSERT_EQ(corr_pair__fork(c, 100, 200), 0, "fork");
	lw_procs__fork(&procs, 100, 200, "parent"); /* the child's comm at fork */
	call(c, 200, POOL_RELEASE, 0x5000, 2, MS);  /* its copy: no underflow */
	call(c, 200, POOL_CREATE, 0x7000, 3, MS);
	ASSERT_EQ(corr_pair__exit(c, 200, 2 * MS), 0, "child exit");
	ASSERT_EQ(corr_pair__exec(c, 300), 0, "another child");
	call(c, 100, POOL_RELEASE, 0x5000, 4, 3 * MS);
	ASSERT_EQ(finish(c, 10 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "the child's own leak only");
	ASSERT_EQ(fs.v[0].pid, 200, "child");
	ASSERT_STREQ(fs.v[0].comm, "parent", "comm inherited");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1003, "its acquire");
	lw_findings__free(&fs);

	/* the pid, reused after the child's exit, is not an inherited copy */
	c = mk(false, 0);
	ASSERT_EQ(corr_pair__fork(c, 100, 200), 0, "fork");
	ASSERT_EQ(corr_pair__exit(c, 200, MS), 0, "exit");
	call(c, 200, POOL_RELEASE, 0x5000, 2, 2 * MS);
	ASSERT_EQ(finish(c, 10 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "underflow in the new process");
	lw_findings__free(&fs);

	/* after exec the child knows everything it holds */
	c = mk(false, 0);
	ASSERT_EQ(corr_pair__fork(c, 100, 200), 0, "fork");
	ASSERT_EQ(corr_pair__exec(c, 200), 0, "exec");
	call(c, 200, POOL_RELEASE, 0x5000, 2, MS);
	ASSERT_EQ(finish(c, 10 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "underflow");
	ASSERT_STREQ(fs.v[0].kind, "pair-underflow", "kind");
	lw_findings__free(&fs);
}

LW_TEST(pair_min_age)
{
	struct corr_pair *c = mk(true, 500 * MS);
	struct lw_findings fs = {};

	call(c, 100, POOL_CREATE, 0x5000, 1, 0);
	call(c, 100, POOL_CREATE, 0x6000, 2, 900 * MS);
	ASSERT_EQ(finish(c, 1000 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "only the old one");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "the old one");
	ASSERT_EQ(fs.v[0].age_ms, 1000, "age");
	lw_findings__free(&fs);

	/* the age is the first reference's, not the newest retain's */
	c = mk(true, 500 * MS);
	call(c, 100, MP_CREATE, 0x5000, 1, 0);
	call(c, 100, MP_RETAIN, 0x5000, 2, 900 * MS);
	call(c, 100, MP_CREATE, 0x6000, 3, 600 * MS);
	ASSERT_EQ(finish(c, 1000 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "retained recently, created long ago");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "the old one");
	lw_findings__free(&fs);

	/* run mode ignores min_age */
	c = mk(false, 500 * MS);
	call(c, 100, POOL_CREATE, 0x6000, 2, 900 * MS);
	ASSERT_EQ(finish(c, 1000 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "run mode");
	lw_findings__free(&fs);
}

LW_TEST(pair_order_and_groups)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	call(c, 200, POOL_CREATE, 0x1000, 1, 0);
	call(c, 100, POOL_CREATE, 0x9000, 1, 0);
	call(c, 100, POOL_CREATE, 0x3000, 2, 0);
	call(c, 100, MP_CREATE, 0x9000, 1, 0);
	call(c, 100, POOL_CREATE, 0x2000, 1, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 4, "groups");
	ASSERT_STREQ(fs.v[0].resource, "mp (balance +1)", "pid 100, mp");
	ASSERT_EQ(fs.v[1].stack.ips[0], 0x1002, "pool 0x3000 before the group led by 0x9000");
	ASSERT_EQ(fs.v[2].count, 2, "0x9000 and 0x2000 together");
	ASSERT_EQ(fs.v[2].stack.ips[0], 0x1001, "their stack");
	ASSERT_EQ(fs.v[3].pid, 200, "pid 200 last");
	lw_findings__free(&fs);
}

LW_TEST(pair_bad_rule)
{
	struct corr_pair *c = mk(false, 0);
	struct lw_findings fs = {};

	ASSERT_EQ(call_tid(c, 100, 100, 99, 0x5000, 1, 0), -EINVAL, "rule out of range");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "nothing");
	corr_pair__free(NULL);
}
