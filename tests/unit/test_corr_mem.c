// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Memory correlator: live blocks from the BPF maps and from user space,
 * grouped by stack; realloc chains, bad frees, exec and exit, sampling,
 * anonymous mappings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ev_builders.h"
#include "detect/mem/corr_mem.h"
#include "detect/mem/reach.h"

#define MS 1000000ull
#define P  100 /* the traced process */

static struct corr_mem *mk(bool attach, uint64_t min_age, uint32_t sample_every)
{
	struct corr_mem_opts o = {.attach_mode = attach,
				  .min_age_ns = min_age,
				  .sample_every = sample_every,
				  .proc = lw_procs__lookup,
				  .proc_ctx = &ev_procs};

	ev_procs_reset();
	return corr_mem__new(&o);
}

static void check(int err, const char *what)
{
	if (err) {
		fprintf(stderr, "  %s: %d\n", what, err);
		lw_test_failed = 1;
	}
}

static void proc_ev(struct corr_mem *c, const void *rec)
{
	check(ev_mem_proc(c, rec), "ev_mem_proc");
}

static void exec_ev(struct corr_mem *c, uint32_t tgid, const char *comm)
{
	struct lw_ev_proc_exec ev = ev_proc_exec(tgid, comm, "/bin/x");

	proc_ev(c, &ev);
}

static void exit_ev(struct corr_mem *c, uint32_t tgid, uint64_t ts)
{
	struct lw_ev_proc_exit ev = ev_proc_exit(tgid, 0, "");

	ev.hdr.ts_ns = ts;
	proc_ev(c, &ev);
}

/* a block whose stack user space finished: stack {ip, 0x4000} */
static void ualloc(struct corr_mem *c, uint32_t tgid, uint32_t gen, uint64_t addr, uint64_t size,
		   uint64_t ip, uint64_t ts)
{
	struct lw_ev_mem_alloc ev = ev_mem_alloc(tgid, addr, size, ip);
	struct lw_ips ips = ev_ips(ip);

	ev.exec_gen = gen;
	ev.hdr.ts_ns = ts;
	ev.hdr.tid = tgid + (uint32_t)(ts / MS); /* tells the oldest block's thread apart */
	check(corr_mem__user_alloc(c, &ev, &ips), "user_alloc");
}

static void ufree(struct corr_mem *c, uint32_t tgid, uint32_t gen, uint64_t addr)
{
	struct lw_ev_mem_free_user ev = ev_mem_free(tgid, addr);

	ev.exec_gen = gen;
	corr_mem__user_free(c, &ev);
}

/* a block BPF tracked, from the block table, under stack id sid */
static void live(struct corr_mem *c, uint32_t tgid, uint32_t gen, uint64_t addr, uint64_t size,
		 uint64_t sid, uint64_t ts)
{
	struct lw_alloc_key k = ev_alloc_key(tgid, addr);
	struct lw_alloc_val v = ev_alloc_val(size, sid, ts);

	k.exec_gen = gen;
	v.tid = tgid + (uint32_t)(ts / MS);
	check(corr_mem__live(c, &k, &v), "live");
}

static void stack_id(struct corr_mem *c, uint64_t sid, uint64_t ip)
{
	struct lw_stack_ips s = ev_stack_ips(ip);

	check(corr_mem__stack(c, sid, &s), "stack");
}

static void mmap_ev(struct corr_mem *c, uint64_t addr, uint64_t len, uint64_t ip, uint64_t ts)
{
	struct lw_ev_mmap_anon ev = ev_mmap_anon(P, addr, len, ip);
	struct lw_ips ips = ev_ips(ip);

	ev.hdr.ts_ns = ts;
	check(corr_mem__mmap(c, &ev, &ips), "mmap");
}

static void munmap_ev(struct corr_mem *c, uint64_t addr, uint64_t len)
{
	struct lw_ev_munmap ev = ev_munmap(P, addr, len);

	check(corr_mem__munmap(c, &ev), "munmap");
}

static int finish(struct corr_mem *c, uint64_t now, struct lw_findings *fs)
{
	int err = corr_mem__finish(c, now, fs);

	corr_mem__free(c);
	return err;
}

/* A vfork child allocates in its parent's heap before its exec: BPF names the
 * owner, and the parent's free of the block finds it.
 */
LW_TEST(mem_vfork_child_block_is_its_parents)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	struct lw_ev_mem_alloc ev = ev_mem_alloc(P + 1, 0x50000, 64, 0x1001);
	struct lw_ips ips = ev_ips(0x1001);

	exec_ev(c, P, "sh");
	ev.exec_gen = 1;
	ev.owner = P;
	check(corr_mem__user_alloc(c, &ev, &ips), "user_alloc");
	ualloc(c, P, 1, 0x60000, 32, 0x1002, 1 * MS);
	ufree(c, P, 1, 0x50000); /* the parent frees what its child allocated */
	ASSERT_EQ(finish(c, 12 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "only the parent's own unfreed block");
	ASSERT_EQ(fs.v[0].pid, P, "pid");
	ASSERT_EQ(fs.v[0].bytes, 32, "bytes");
	lw_findings__free(&fs);
}

LW_TEST(mem_user_blocks_grouped_by_stack)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	const struct lw_finding *f;

	exec_ev(c, P, "leaky");
	ualloc(c, P, 1, 0x10000, 100, 0x1001, 5 * MS);
	ualloc(c, P, 1, 0x10100, 200, 0x1001, 2 * MS); /* the oldest of site 1 */
	ualloc(c, P, 1, 0x10200, 300, 0x1001, 7 * MS);
	ualloc(c, P, 1, 0x20000, 50, 0x1002, 1 * MS);
	ualloc(c, P, 1, 0x30000, 999, 0x1003, 1 * MS);
	ufree(c, P, 1, 0x10200); /* freed: not a leak */
	ufree(c, P, 1, 0x30000);
	ufree(c, P, 1, 0x30000); /* a free of nothing tracked is ignored */
	ASSERT_EQ(finish(c, 12 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "one finding per stack still holding memory");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "mem-leak", "kind");
	ASSERT_EQ(f->pid, P, "pid");
	ASSERT_STREQ(f->comm, "leaky", "comm from the exec");
	ASSERT_EQ(f->count, 2, "blocks of site 1");
	ASSERT_EQ(f->bytes, 300, "bytes of site 1");
	ASSERT_EQ(f->age_ms, 10, "age of the oldest block, to now");
	ASSERT_EQ(f->tid, P + 2, "thread of the oldest block");
	ASSERT_EQ(f->stack.nr, 2, "stack nr");
	ASSERT_EQ(f->stack.ips[0], 0x1001, "stack ip");
	ASSERT_STREQ(f->resource, "", "no resource when every block is seen");
	ASSERT_EQ(fs.v[1].count, 1, "site 2 count");
	ASSERT_EQ(fs.v[1].bytes, 50, "site 2 bytes: fewer, so second");
	ASSERT_EQ(fs.v[1].stack.ips[0], 0x1002, "site 2");
	lw_findings__free(&fs);
}

LW_TEST(mem_bpf_blocks_by_stack_id)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	struct lw_alloc_key k = ev_alloc_key(P, 0x9000);
	struct lw_alloc_val v = ev_alloc_val(4096, 0, 0);

	stack_id(c, 7, 0x1007);
	stack_id(c, 7, 0x1999); /* the first copy of an id stays */
	stack_id(c, 8, 0x1008);
	live(c, P, 0, 0x1000, 16, 7, 3 * MS);
	live(c, P, 0, 0x2000, 16, 7, 1 * MS); /* the older one comes second */
	live(c, P, 0, 0x3000, 64, 8, 2 * MS);
	live(c, P, 0, 0x4000, 8, 9, 2 * MS); /* stack lost (stackmap full) */
	v.flags = LW_ALLOC_USER;	     /* user space holds this one: not twice */
	check(corr_mem__live(c, &k, &v), "live user");
	ASSERT_EQ(finish(c, 4 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 3, "findings");
	ASSERT_EQ(fs.v[0].bytes, 64, "largest first");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1008, "stack of id 8");
	ASSERT_EQ(fs.v[1].bytes, 32, "id 7: two blocks");
	ASSERT_EQ(fs.v[1].count, 2, "count");
	ASSERT_EQ(fs.v[1].age_ms, 3, "oldest of id 7");
	ASSERT_EQ(fs.v[1].tid, P + 1, "its thread");
	ASSERT_EQ(fs.v[1].stack.ips[0], 0x1007, "first stack of an id wins");
	ASSERT_EQ(fs.v[2].bytes, 8, "id without a stack");
	ASSERT_EQ(fs.v[2].stack.nr, 0, "reported with an empty stack");
	lw_findings__free(&fs);
}

/* realloc is a free of the old block and an allocation of the new one;
 * in place, the same address is allocated again
 */
LW_TEST(mem_realloc_chain)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};

	ualloc(c, P, 0, 0x1000, 16, 0x1001, 0); /* malloc */
	ufree(c, P, 0, 0x1000);			/* realloc moves it */
	ualloc(c, P, 0, 0x2000, 64, 0x1002, MS);
	ufree(c, P, 0, 0x2000);
	ualloc(c, P, 0, 0x3000, 256, 0x1002, 2 * MS);
	ualloc(c, P, 0, 0x3000, 512, 0x1002, 3 * MS); /* grown in place */
	ASSERT_EQ(finish(c, 4 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "only the end of the chain is live");
	ASSERT_EQ(fs.v[0].count, 1, "one block, not one per step");
	ASSERT_EQ(fs.v[0].bytes, 512, "its last size");
	ASSERT_EQ(fs.v[0].age_ms, 1, "its last allocation");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1002, "the realloc's stack");
	lw_findings__free(&fs);
}

LW_TEST(mem_double_free_evidence)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	struct lw_ev_mem_bad_free known = ev_mem_bad_free(P, 0x5000, LW_BAD_FREE_DOUBLE, 0x1010);
	struct lw_ev_mem_bad_free ring = ev_mem_bad_free(P, 0x6000, LW_BAD_FREE_DOUBLE, 0x1011);
	struct lw_ev_mem_bad_free bare = ev_mem_bad_free(P, 0x7000, LW_BAD_FREE_DOUBLE, 0x1012);
	struct lw_ips ips = ev_ips(0x1010);
	const struct lw_finding *f;

	exec_ev(c, P, "df");
	stack_id(c, 42, 0x1042);
	known.size = 24;
	known.alloc_stack_id = 42;
	known.prev_free_caller = 0x7777;
	known.exec_gen = 1;
	check(corr_mem__bad_free(c, &known, &ips), "bad_free");
	/* no stack id: the block user space tracked and saw freed says where */
	ualloc(c, P, 1, 0x6000, 8, 0x1060, 0);
	ufree(c, P, 1, 0x6000);
	ring.exec_gen = 1;
	ips = ev_ips(0x1011);
	check(corr_mem__bad_free(c, &ring, &ips), "bad_free");
	ips = ev_ips(0x1012);
	bare.exec_gen = 1;
	check(corr_mem__bad_free(c, &bare, &ips), "bad_free");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 3, "three double frees, no leak");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "mem-double-free", "kind");
	ASSERT_EQ(f->pid, P, "pid");
	ASSERT_STREQ(f->comm, "df", "comm");
	ASSERT_EQ(f->count, 1, "count");
	ASSERT_EQ(f->bytes, 24, "size of the block when live");
	ASSERT_STREQ(f->resource, "address 0x5000", "resource");
	ASSERT_EQ(f->stack.ips[0], 0x1010, "the second free's stack");
	ASSERT_EQ(f->nr_extra, 2, "allocation and earlier free");
	ASSERT_STREQ(f->extra[0].label, "allocated at", "label");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x1042, "from the stack id");
	ASSERT_STREQ(f->extra[1].label, "previously freed from", "label");
	ASSERT_EQ(f->extra[1].stack.nr, 1, "one frame");
	ASSERT_EQ(f->extra[1].stack.ips[0], 0x7777, "the earlier free's caller");
	ASSERT_TRUE(lw_ips__is_return(&f->extra[1].stack, 0), "a return address");
	ASSERT_EQ(fs.v[1].nr_extra, 1, "ring: allocated at only");
	ASSERT_EQ(fs.v[1].extra[0].stack.ips[0], 0x1060, "from the freed block");
	ASSERT_EQ(fs.v[2].nr_extra, 0, "nothing known about it");
	lw_findings__free(&fs);
}

LW_TEST(mem_invalid_free)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	struct lw_ev_mem_bad_free ev = ev_mem_bad_free(P, 0xdead0, LW_BAD_FREE_INVALID, 0x1020);
	struct lw_ips ips = ev_ips(0x1020);

	ev.hdr.tid = P + 1;
	ev.prev_free_caller = 0; /* never freed before: never allocated */
	ualloc(c, P, 0, 0xdead0, 8, 0x1021, 0);
	ufree(c, P, 0, 0xdead0); /* an invalid free finds no "allocated at" in the ring */
	check(corr_mem__bad_free(c, &ev, &ips), "bad_free");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_STREQ(fs.v[0].kind, "mem-invalid-free", "kind");
	ASSERT_EQ(fs.v[0].tid, P + 1, "freeing thread");
	ASSERT_STREQ(fs.v[0].resource, "address 0xdead0", "resource");
	ASSERT_EQ(fs.v[0].nr_extra, 0, "no evidence");
	lw_findings__free(&fs);
}

/* realloc of a freed or never-allocated pointer: the same kinds and
 * evidence as free(), and the resource says which call it was
 */
LW_TEST(mem_realloc_bad_old_pointer)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	struct lw_ev_mem_bad_free dbl = ev_mem_bad_free(P, 0x8000, LW_BAD_FREE_DOUBLE, 0x1030);
	struct lw_ev_mem_bad_free inv = ev_mem_bad_free(P, 0x9010, LW_BAD_FREE_INVALID, 0x1031);
	struct lw_ips ips = ev_ips(0x1030);
	const struct lw_finding *f;

	stack_id(c, 7, 0x1070);
	dbl.call = LW_BAD_FREE_BY_REALLOC;
	dbl.size = 48;
	dbl.alloc_stack_id = 7;
	dbl.prev_free_caller = 0x7100;
	check(corr_mem__bad_free(c, &dbl, &ips), "bad_free");
	inv.call = LW_BAD_FREE_BY_REALLOC;
	ips = ev_ips(0x1031);
	check(corr_mem__bad_free(c, &inv, &ips), "bad_free");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	f = &fs.v[0];
	ASSERT_STREQ(f->kind, "mem-double-free", "kind");
	ASSERT_STREQ(f->resource, "address 0x8000 passed to realloc", "resource");
	ASSERT_EQ(f->bytes, 48, "size when live");
	ASSERT_EQ(f->stack.ips[0], 0x1030, "the realloc call's stack");
	ASSERT_EQ(f->nr_extra, 2, "allocation and earlier free");
	ASSERT_STREQ(f->extra[0].label, "allocated at", "label");
	ASSERT_EQ(f->extra[0].stack.ips[0], 0x1070, "from the stack id");
	ASSERT_STREQ(f->extra[1].label, "previously freed from", "label");
	ASSERT_EQ(f->extra[1].stack.ips[0], 0x7100, "the earlier free's caller");
	f = &fs.v[1];
	ASSERT_STREQ(f->kind, "mem-invalid-free", "kind");
	ASSERT_STREQ(f->resource, "address 0x9010 passed to realloc", "resource");
	ASSERT_EQ(f->stack.ips[0], 0x1031, "the realloc call's stack");
	ASSERT_EQ(f->nr_extra, 0, "no evidence");
	lw_findings__free(&fs);
}

/* run mode: what an exited process held is its leak, aged to its exit */
LW_TEST(mem_exit_run_mode)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	struct lw_ev_proc_fork fork = ev_proc_fork(P, P + 1, 0, "kid");

	proc_ev(c, &fork);
	ualloc(c, P + 1, 0, 0x1000, 32, 0x1001, 1 * MS);
	live(c, P + 1, 0, 0x2000, 32, 5, 2 * MS);
	exit_ev(c, P + 1, 4 * MS);
	ASSERT_EQ(finish(c, 100 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	ASSERT_EQ(fs.v[0].pid, P + 1, "pid");
	ASSERT_STREQ(fs.v[0].comm, "kid", "comm from the fork");
	ASSERT_EQ(fs.v[0].age_ms + fs.v[1].age_ms, 3 + 2, "ages end at the exit");
	lw_findings__free(&fs);
}

/* attach mode: an exit frees everything; live blocks must be old enough */
LW_TEST(mem_exit_and_min_age_attach_mode)
{
	struct corr_mem *c = mk(true, 1000 * MS, 1);
	struct lw_findings fs = {};

	ualloc(c, P, 0, 0x1000, 10, 0x1001, 0);		/* 3 s old */
	ualloc(c, P, 0, 0x2000, 20, 0x1002, 2500 * MS); /* 0.5 s: too young */
	live(c, P, 0, 0x3000, 40, 5, 2000 * MS);	/* exactly 1 s: old enough */
	ualloc(c, P + 1, 0, 0x1000, 80, 0x1001, 0);
	exit_ev(c, P + 1, 2000 * MS); /* old enough, but its exit freed it */
	ASSERT_EQ(finish(c, 3000 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings: old blocks of the live process");
	ASSERT_EQ(fs.v[0].bytes, 40, "bpf block");
	ASSERT_EQ(fs.v[0].age_ms, 1000, "age");
	ASSERT_EQ(fs.v[1].bytes, 10, "user block");
	ASSERT_EQ(fs.v[1].pid, P, "pid");
	lw_findings__free(&fs);
}

LW_TEST(mem_exec_drops_the_old_image)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};

	ualloc(c, P, 0, 0x1000, 10, 0x1001, 0);
	live(c, P, 0, 0x2000, 20, 5, 0);
	exec_ev(c, P, "next");
	ualloc(c, P, 1, 0x1000, 30, 0x1003, MS); /* same address, new image */
	live(c, P, 1, 0x4000, 40, 5, MS);
	ufree(c, P, 0, 0x1000); /* the old image's key: frees nothing of the new */
	ASSERT_EQ(finish(c, 2 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "only the new image's blocks");
	ASSERT_EQ(fs.v[0].bytes, 40, "bpf block of gen 1");
	ASSERT_EQ(fs.v[1].bytes, 30, "user block of gen 1");
	ASSERT_STREQ(fs.v[1].comm, "next", "comm");
	lw_findings__free(&fs);
}

LW_TEST(mem_sampling_scales_heap_not_mappings)
{
	struct corr_mem *c = mk(false, 0, 8);
	struct lw_findings fs = {};

	live(c, P, 0, 0x1000, 4000, 5, 0);
	live(c, P, 0, 0x2000, 4000, 5, 0);
	mmap_ev(c, 0x7f0000000000, 4096, 0x1009, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 2, "findings");
	ASSERT_EQ(fs.v[0].count, 16, "2 sampled blocks stand for 16");
	ASSERT_EQ(fs.v[0].bytes, 64000, "bytes scaled");
	ASSERT_STREQ(fs.v[0].resource, "estimated from 1 in 8 blocks", "says so");
	ASSERT_EQ(fs.v[1].count, 1, "mappings are never sampled");
	ASSERT_EQ(fs.v[1].bytes, 4096, "bytes");
	ASSERT_STREQ(fs.v[1].resource, "anonymous mmap", "resource");
	lw_findings__free(&fs);
}

LW_TEST(mem_mmap_munmap_ranges)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	const uint64_t base = 0x7f0000000000ull, pg = 4096;

	mmap_ev(c, base, 10 * pg - 100, 0x1001, 0); /* rounded up to 10 pages */
	munmap_ev(c, base + 4 * pg, 2 * pg);	    /* the middle: two pieces */
	munmap_ev(c, base, pg);			    /* a prefix */
	munmap_ev(c, base + 3 * pg, pg);	    /* a suffix of what is left */
	munmap_ev(c, base + 9 * pg + 10, 1);	    /* the last page, unaligned */
	mmap_ev(c, base + 20 * pg, 2 * pg, 0x1002, 0);
	munmap_ev(c, base + 20 * pg, 2 * pg); /* all of it */
	mmap_ev(c, base + 30 * pg, 3 * pg, 0x1003, 0);
	mmap_ev(c, base + 31 * pg, pg, 0x1004, 0); /* MAP_FIXED over the middle */
	mmap_ev(c, base + 40 * pg, 0, 0x1005, 0);  /* length 0: nothing */
	munmap_ev(c, base + 50 * pg, 0);
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 3, "findings");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1001, "the big one");
	ASSERT_EQ(fs.v[0].count, 2, "two pieces left");
	ASSERT_EQ(fs.v[0].bytes, (2 + 3) * pg, "pages 1-2 and 6-8");
	ASSERT_EQ(fs.v[1].stack.ips[0], 0x1003, "what MAP_FIXED left");
	ASSERT_EQ(fs.v[1].count, 2, "both sides");
	ASSERT_EQ(fs.v[1].bytes, 2 * pg, "bytes");
	ASSERT_EQ(fs.v[2].stack.ips[0], 0x1004, "the fixed mapping");
	ASSERT_EQ(fs.v[2].bytes, pg, "bytes");
	lw_findings__free(&fs);
}

/* a heap block and a mapping made at one call site stay two findings */
LW_TEST(mem_mappings_never_merge_with_heap)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};

	ualloc(c, P, 0, 0x1000, 8192, 0x1001, 0);
	mmap_ev(c, 0x7f0000000000, 8192, 0x1001, 0);
	ualloc(c, P + 1, 0, 0x1000, 8192, 0x1001, 0); /* other process, same stack */
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 3, "findings");
	ASSERT_EQ(fs.v[0].pid, P, "equal bytes: lower pid first");
	ASSERT_STREQ(fs.v[0].resource, "", "heap before mapping");
	ASSERT_STREQ(fs.v[1].resource, "anonymous mmap", "then the mapping");
	ASSERT_EQ(fs.v[2].pid, P + 1, "pid");
	lw_findings__free(&fs);
}

LW_TEST(mem_nothing_left)
{
	struct corr_mem *c = mk(false, 0, 0); /* 0 means every block */
	struct lw_findings fs = {};
	struct lw_ev_proc_exit bad = ev_proc_exit(P, 0, "");

	ualloc(c, P, 0, 0x1000, 10, 0x1001, 0);
	ufree(c, P, 0, 0x1000);
	bad.hdr.type = LW_EV_MOUNT;
	ASSERT_EQ(ev_mem_proc(c, &bad), -EINVAL, "not a process record");
	ASSERT_EQ(finish(c, MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "no findings");
	corr_mem__free(NULL);
}

/* A held block's free record was lost to a full ring: the block table no
 * longer has it, so the sweep after a whole read drops it instead of
 * reporting freed memory as a leak; a held block the map still has stays.
 */
LW_TEST(mem_held_block_gone_from_map_is_swept)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	struct lw_alloc_key k = ev_alloc_key(P, 0x10000);
	struct lw_alloc_val v = ev_alloc_val(100, 0, 1 * MS);

	exec_ev(c, P, "srv");
	ualloc(c, P, 1, 0x10000, 100, 0x1001, 1 * MS);	   /* still in the map */
	ualloc(c, P, 1, 0x20000, 200, 0x1002, 1 * MS);	   /* freed, record dropped */
	ualloc(c, P + 1, 1, 0x30000, 300, 0x1003, 1 * MS); /* another process */
	k.exec_gen = 1;
	v.flags = LW_ALLOC_USER;
	check(corr_mem__live(c, &k, &v), "live");
	ASSERT_EQ(corr_mem__user_sweep(c, P, 1, false), 1, "only P's unseen block");
	ASSERT_EQ(corr_mem__user_sweep(c, 0, 0, true), 2, "a new round: nothing seen yet");
	ASSERT_EQ(corr_mem__swept(c), 3, "counted");
	ASSERT_EQ(finish(c, 12 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 0, "nothing held is left");
	lw_findings__free(&fs);
}

/* A block whose record was dropped is still a block: a leak without a
 * stack, and the finding says why there is none.
 */
LW_TEST(mem_block_with_lost_stack_still_counts)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	struct lw_alloc_key k = ev_alloc_key(P, 0x40000);
	struct lw_alloc_val v = ev_alloc_val(64, 0, 1 * MS);

	exec_ev(c, P, "srv");
	k.exec_gen = 1;
	v.flags = LW_ALLOC_STACK_LOST;
	check(corr_mem__live(c, &k, &v), "live");
	ASSERT_EQ(finish(c, 12 * MS, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one finding");
	ASSERT_STREQ(fs.v[0].kind, "mem-leak", "kind");
	ASSERT_EQ(fs.v[0].bytes, 64, "bytes");
	ASSERT_EQ(fs.v[0].stack.nr, 0, "no stack");
	ASSERT_TRUE(strstr(fs.v[0].resource, "stack lost") != NULL, "says why");
	lw_findings__free(&fs);
}

/* A scanned block without a verdict is reachable; a second scan that finds
 * a block reachable again overrides the first scan's "lost".
 */
LW_TEST(mem_scan_verdicts_reachable_by_default_and_overridden)
{
	struct corr_mem *c = mk(false, 0, 1);
	struct lw_findings fs = {};
	uint64_t blocks = 0, bytes = 0;

	exec_ev(c, P, "srv");
	stack_id(c, 7, 0x1007);
	stack_id(c, 8, 0x1008);
	stack_id(c, 9, 0x1009);
	live(c, P, 1, 0x1000, 16, 7, 1 * MS);
	live(c, P, 1, 0x2000, 32, 8, 1 * MS);
	live(c, P, 1, 0x3000, 64, 9, 1 * MS);
	check(corr_mem__set_class(c, P, 1, 0x1000, LW_REACH_DEFINITE, 0, 0), "first scan: lost");
	check(corr_mem__set_class(c, P, 1, 0x1000, LW_REACH_REACHABLE, 0, 0), "second: reachable");
	check(corr_mem__set_class(c, P, 1, 0x2000, LW_REACH_DEFINITE, 0, 0), "lost");
	check(corr_mem__set_class(c, P, 1, 0x3000, LW_REACH_REACHABLE, 0, 0), "reachable");
	corr_mem__scanned(c, P, 1);
	ASSERT_EQ(corr_mem__finish(c, 4 * MS, &fs), 0, "finish");
	corr_mem__reachable(c, &blocks, &bytes);
	corr_mem__free(c);
	ASSERT_EQ(fs.n, 1, "one finding");
	ASSERT_STREQ(fs.v[0].kind, "mem-leak", "kind");
	ASSERT_EQ(fs.v[0].bytes, 32, "only the lost block");
	ASSERT_EQ(fs.v[0].stack.ips[0], 0x1008, "its stack");
	ASSERT_EQ(blocks, 2, "reachable blocks");
	ASSERT_EQ(bytes, 80, "reachable bytes");
	lw_findings__free(&fs);
}
