// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The detector table and the policy that moved from the session into the
 * detectors, driven through struct lw_det_io with synthetic answers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "harness.h"
#include "base/proc_table.h"
#include "detect/detector.h"
#include "detect/fd/corr_fd.h"
#include "detect/fd/det_fd.h"
#include "detect/mem/alloc_code.h"
#include "detect/mem/det_mem.h"
#include "detect/mount/corr_mount.h"
#include "detect/mount/det_mount.h"
#include "report/kinds.h"
#include "report/report.h"
#include "stack/symbolize.h"

#define BIT(ops) (1u << lw_detector__bit(&(ops)))

/* ---- the tables ---- */

LW_TEST(detectors_only_names)
{
	uint32_t m;

	ASSERT_EQ(lw_detectors__parse("fd,mem", &m), 0, "fd,mem");
	ASSERT_EQ(m, BIT(det_fd_ops) | BIT(det_mem_ops), "fd,mem mask");
	ASSERT_EQ(lw_detectors__parse("pair,mount,proc", &m), 0, "the others");
	ASSERT_EQ(m, BIT(det_pair_ops) | BIT(det_mount_ops) | BIT(det_proc_ops), "mask");
	ASSERT_EQ(lw_detectors__parse("storm", &m), 0, "alias");
	ASSERT_EQ(m, BIT(det_proc_ops), "storm is proc");
	ASSERT_EQ(lw_detectors__parse("mem,", &m), 0, "empty names skipped");
	ASSERT_EQ(m, BIT(det_mem_ops), "mem, mask");
	ASSERT_EQ(lw_detectors__parse("fd,bogus", &m), -EINVAL, "unknown name");
	ASSERT_EQ(lw_detectors__parse("", &m), -EINVAL, "empty list");
	ASSERT_EQ(lw_detectors__parse(",", &m), -EINVAL, "no name");
}

LW_TEST(detectors_defaults_unchanged)
{
	struct lw_opts o = {.detectors = lw_detectors__defaults(LW_MODE_ATTACH)};

	/* fd, mount and proc on; mem opt-in; pair when rules are given */
	ASSERT_EQ(o.detectors, BIT(det_fd_ops) | BIT(det_mount_ops) | BIT(det_proc_ops),
		  "defaults");
	ASSERT_EQ(lw_detectors__enabled(&o), o.detectors, "no rules: no pair");
	o.pair_profiles = "openssl";
	ASSERT_EQ(lw_detectors__enabled(&o), o.detectors | BIT(det_pair_ops), "profile: pair");
	o.pair_profiles = NULL;
	o.nr_pairs = 1;
	o.detectors = BIT(det_mem_ops);
	ASSERT_EQ(lw_detectors__enabled(&o), BIT(det_mem_ops) | BIT(det_pair_ops),
		  "--only mem --pair: pair too");
}

LW_TEST(detectors_run_checks_the_heap_by_default)
{
	uint32_t run = lw_detectors__defaults(LW_MODE_RUN);

	/* run is the CI gate: heap too, as LeakSanitizer; attach leaves it out */
	ASSERT_EQ(run, lw_detectors__defaults(LW_MODE_ATTACH) | BIT(det_mem_ops), "run: + mem");
	ASSERT_TRUE(!(lw_detectors__defaults(LW_MODE_ATTACH) & BIT(det_mem_ops)), "attach: no mem");
}

LW_TEST(detectors_route_records)
{
	ASSERT_TRUE(lw_detector__wants(&det_fd_ops, LW_EV_FD_OPEN), "fd open");
	ASSERT_TRUE(lw_detector__wants(&det_fd_ops, LW_EV_FD_TOUCH), "fd touch");
	ASSERT_TRUE(!lw_detector__wants(&det_fd_ops, LW_EV_MOUNT), "fd: no mount");
	ASSERT_TRUE(lw_detector__wants(&det_mem_ops, LW_EV_MMAP_ANON), "mem mmap");
	ASSERT_TRUE(lw_detector__wants(&det_mount_ops, LW_EV_MOUNT), "mount");
	ASSERT_TRUE(lw_detector__wants(&det_pair_ops, LW_EV_PAIR), "pair");
	ASSERT_TRUE(!lw_detector__wants(&det_proc_ops, LW_EV_PROC_EXIT),
		    "proc: lifecycle only through on_exit");
	/* each record type has at most one detector */
	for (uint16_t t = 1; t < LW_EV__MAX; t++) {
		int n = 0;

		for (unsigned i = 0; lw_detectors[i]; i++)
			n += lw_detector__wants(lw_detectors[i], t);
		ASSERT_TRUE(n <= 1, "one detector per record type");
	}
}

LW_TEST(kinds_table)
{
	static const char *const leaks[] = {"fd-leak",
					    "mem-leak",
					    "pair-leak",
					    "fd-send-failed-leak",
					    "fd-in-flight-lost",
					    "fd-uncertain",
					    "mem-possibly-lost",
					    "mem-reachable",
					    "fd-held"};
	/* still held, maybe in use: listed, never gating */
	static const char *const held[] = {"fd-uncertain", "fd-held", "mem-possibly-lost",
					   "mem-reachable"};
	size_t nr_leak = 0;

	ASSERT_EQ(lw_nr_kinds, 20, "kinds");
	for (size_t i = 0; i < lw_nr_kinds; i++) {
		bool is_held = false;

		/* fault kinds come from run --inject, not from a detector */
		ASSERT_TRUE(lw_detector__find(lw_kinds[i].detector) != NULL ||
				!strcmp(lw_kinds[i].detector, "fault"),
			    "detector exists");
		for (size_t j = 0; j < sizeof(held) / sizeof(held[0]); j++)
			is_held |= !strcmp(lw_kinds[i].name, held[j]);
		ASSERT_TRUE(lw_kinds[i].gates_exit == !is_held,
			    "every kind but the held ones gates the exit");
		nr_leak += lw_kinds[i].is_leak;
	}
	ASSERT_EQ(nr_leak, 9, "leak: scope");
	for (size_t i = 0; i < 9; i++)
		ASSERT_TRUE(lw_kind__find(leaks[i])->is_leak, leaks[i]);
	ASSERT_TRUE(lw_kind__find("nope") == NULL, "unknown");
	ASSERT_TRUE(lw_kind__find_n("mem-leak:x", 8) == lw_kind__find("mem-leak"), "prefix");
	ASSERT_TRUE(lw_kind__of("mount-race", "mount"), "of");
	ASSERT_TRUE(!lw_kind__of("mount-race", "fd"), "not of");
	ASSERT_TRUE(lw_kind__find("mount-propagation-leak")->aged, "titled as a leak");
	ASSERT_TRUE(!lw_kind__find("fd-in-flight-lost")->aged, "an event, no age");
	ASSERT_TRUE(!lw_kind__find("fd-double-close")->last_touch, "double close: no touch");
	ASSERT_TRUE(lw_kind__find("fd-inherited")->last_touch, "inherited: touch");
}

/* ---- the process table ---- */

LW_TEST(proc_table_lifecycle)
{
	struct lw_procs t = {};
	const struct lw_proc *p;

	ASSERT_TRUE(lw_procs__get(&t, 10) != NULL, "root");
	ASSERT_TRUE(lw_procs__fork(&t, 10, 11, "worker") != NULL, "fork");
	p = lw_procs__find(&t, 11);
	ASSERT_EQ(p->ppid, 10, "parent");
	ASSERT_STREQ(p->comm, "worker", "comm from fork");
	ASSERT_EQ(p->serial, 2, "serial");
	lw_procs__exec(&t, 11, "child");
	lw_procs__exec(&t, 11, "");
	p = lw_procs__find(&t, 11);
	ASSERT_EQ(p->exec_gen, 2, "exec generations");
	ASSERT_STREQ(p->comm, "child", "an empty comm keeps the last");
	lw_procs__exit(&t, 11, 1 << 8, "child");
	p = lw_procs__find(&t, 11);
	ASSERT_TRUE(p->exited, "exited");
	ASSERT_EQ(p->exit_code, 256, "exit code");
	/* the tgid comes back: a new entry, the old one stays for the report */
	lw_procs__fork(&t, 10, 11, "again");
	p = lw_procs__find(&t, 11);
	ASSERT_EQ(p->serial, 3, "reused tgid: new serial");
	ASSERT_EQ(p->exec_gen, 0, "fresh generation");
	ASSERT_TRUE(!p->exited, "live");
	ASSERT_EQ(t.n, 3, "entries");
	ASSERT_TRUE(lw_procs__lookup(&t, 99) == NULL, "never seen");
	lw_procs__free(&t);
}

/* ---- synthetic I/O ---- */

struct fake {
	const char *module_of[8]; /* ip 0x1000*i → module */
	int shared_calls;
	int shared_answer;
	int touch_err;
	struct lw_touch touch;
	int open_fds;
	struct {
		char prog[32];
		uint64_t off;
		bool ret;
		uint32_t how;
	} probes[16];
	int nr_probes;
};

static const struct lw_mapping *fake_mapping(void *ctx, uint32_t tgid, uint64_t ip)
{
	static struct lw_mapping m;
	struct fake *f = ctx;
	uint64_t i = ip / 0x1000;

	(void)tgid;
	if (i >= 8 || !f->module_of[i])
		return NULL;
	m = (struct lw_mapping){
	    .start = i * 0x1000, .end = (i + 1) * 0x1000, .path = f->module_of[i]};
	return &m;
}

static int fake_shared(void *ctx, uint32_t tgid, const char *target)
{
	struct fake *f = ctx;

	(void)tgid, (void)target;
	f->shared_calls++;
	return f->shared_answer;
}

static int fake_touch(void *ctx, uint32_t tgid, int fd, struct lw_touch *out)
{
	struct fake *f = ctx;

	(void)tgid, (void)fd;
	if (f->touch_err)
		return f->touch_err;
	*out = f->touch;
	return 0;
}

static int fake_open_fds(void *ctx, uint32_t tgid)
{
	(void)tgid;
	return ((struct fake *)ctx)->open_fds;
}

static int fake_uprobe(void *ctx, const char *prog, const char *path, uint64_t off, bool ret,
		       uint32_t how, char *err, size_t errlen)
{
	struct fake *f = ctx;

	(void)path, (void)err, (void)errlen;
	if (f->nr_probes == 16)
		return -E2BIG;
	snprintf(f->probes[f->nr_probes].prog, 32, "%s", prog);
	f->probes[f->nr_probes].off = off;
	f->probes[f->nr_probes].how = how;
	f->probes[f->nr_probes++].ret = ret;
	return 0;
}

/* ---- mem ---- */

LW_TEST(det_mem_mmap_libc_filter)
{
	struct fake f = {.module_of = {"/usr/lib/x86_64-linux-gnu/libc.so.6", "/srv/app",
				       "/lib64/ld-linux-x86-64.so.2", NULL}};
	struct lw_det_io io = {.ctx = &f, .mapping = fake_mapping};
	struct lw_ips ips = {.nr = 3, .ips = {0x1010, 0x0020, 0x1030}};

	/* mmap wrapper (libc) called from libc itself: malloc's own arena */
	ASSERT_TRUE(!det_mem__keep_mmap(&io, NULL, 1, &ips), "libc caller dropped");
	ips = (struct lw_ips){.nr = 3, .ips = {0x1010, 0x2020, 0x1030}};
	ASSERT_TRUE(!det_mem__keep_mmap(&io, NULL, 1, &ips), "ld.so caller dropped");
	/* the program's own mapping: the wrapper frame is cut */
	/* (flagged as taken at an entry: the caller's frame is a return address all the same) */
	ips = (struct lw_ips){.nr = 3, .flags = LW_STK_EXACT_PC, .ips = {0x0010, 0x1020, 0x1030}};
	ASSERT_TRUE(det_mem__keep_mmap(&io, NULL, 1, &ips), "program's mapping kept");
	ASSERT_EQ(ips.nr, 2, "wrapper frame cut");
	ASSERT_EQ(ips.ips[0], 0x1020, "caller innermost");
	ASSERT_TRUE(lw_ips__is_return(&ips, 0), "all return addresses");
	/* unknown modules: kept as they are */
	ips = (struct lw_ips){.nr = 2, .ips = {0x3010, 0x3020}};
	ASSERT_TRUE(det_mem__keep_mmap(&io, NULL, 1, &ips), "unknown kept");
	ASSERT_EQ(ips.nr, 2, "unchanged");
	io.mapping = NULL;
	ips = (struct lw_ips){.nr = 2, .ips = {0x0010, 0x0020}};
	ASSERT_TRUE(det_mem__keep_mmap(&io, NULL, 1, &ips), "no symbolizer: kept");
	ASSERT_EQ(ips.nr, 2, "no symbolizer: unchanged");
}

#define LIBC	   "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define APP	   "/srv/app"
#define STATIC_APP "/srv/static-app" /* jemalloc linked in */

static struct fake alloc_fake(void)
{
	return (struct fake){.module_of = {LIBC, APP, "/lib64/ld-linux-x86-64.so.2",
					   "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
					   "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
					   "/opt/lib/libmyalloc.so", STATIC_APP, NULL}};
}

#define IPS(...)                                                                                   \
	(struct lw_ips)                                                                            \
	{                                                                                          \
		.nr = sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t), .ips = { __VA_ARGS__ } \
	}

/* redis's jemalloc, a tcmalloc making the syscall itself, a probed
 * allocator of any name: their mappings are not the program's
 */
LW_TEST(det_mem_mmap_allocator_library)
{
	struct fake f = alloc_fake();
	struct lw_det_io io = {.ctx = &f, .mapping = fake_mapping};
	struct alloc_code *ac = alloc_code__new();
	struct lw_ips ips;

	ASSERT_TRUE(ac, "new");
	/* libc's mmap called by jemalloc's pages_map, from malloc in jemalloc */
	ips = IPS(0x0010, 0x3020, 0x3030, 0x1040);
	ASSERT_TRUE(!det_mem__keep_mmap(&io, NULL, 1, &ips), "jemalloc: known by name");
	ips = IPS(0x4010, 0x4020, 0x1030);
	ASSERT_TRUE(!det_mem__keep_mmap(&io, NULL, 1, &ips), "tcmalloc's own syscall");
	ips = IPS(0x0010, 0x5020, 0x1030);
	ASSERT_TRUE(det_mem__keep_mmap(&io, ac, 1, &ips), "an unknown library: kept");
	ASSERT_EQ(alloc_code__add_module(ac, "/opt/lib/libmyalloc.so", true), 0, "probed");
	ips = IPS(0x0010, 0x5020, 0x1030);
	ASSERT_TRUE(!det_mem__keep_mmap(&io, ac, 1, &ips), "the probed allocator's: dropped");
	/* libc serving malloc takes nothing from the program */
	ASSERT_EQ(alloc_code__add_module(ac, LIBC, false), 0, "libc");
	ips = IPS(0x0010, 0x1020, 0x1030);
	ASSERT_TRUE(det_mem__keep_mmap(&io, ac, 1, &ips), "program's mapping kept");
	ASSERT_EQ(ips.nr, 2, "wrapper cut");
	ASSERT_EQ(ips.ips[0], 0x1020, "caller innermost");
	/* an allocator frame deeper down: the program's code mapped it */
	ips = IPS(0x0010, 0x1020, 0x1030, 0x3040);
	ASSERT_TRUE(det_mem__keep_mmap(&io, ac, 1, &ips), "only the caller's module counts");
	alloc_code__free(ac);
	alloc_code__free(NULL);
}

/* jemalloc linked into the executable: allocator-internal functions and
 * the malloc entry point, by file offset in that executable
 */
LW_TEST(det_mem_mmap_static_allocator)
{
	struct fake f = alloc_fake();
	struct lw_det_io io = {.ctx = &f, .mapping = fake_mapping};
	struct alloc_code *ac = alloc_code__new();
	struct lw_ips ips;

	ASSERT_EQ(alloc_code__add_range(ac, STATIC_APP, 0x100, 0x200, ALLOC_CODE_INTERNAL), 0,
		  "je_pages_map");
	ASSERT_EQ(alloc_code__add_range(ac, STATIC_APP, 0x400, 0x480, ALLOC_CODE_ENTRY), 0,
		  "malloc");
	ips = IPS(0x0010, 0x6150, 0x6800, 0x6900);
	ASSERT_TRUE(!det_mem__keep_mmap(&io, ac, 1, &ips), "called from je_pages_map");
	ips = IPS(0x6120, 0x6800, 0x6900);
	ASSERT_TRUE(!det_mem__keep_mmap(&io, ac, 1, &ips), "je_pages_map's own syscall");
	ips = IPS(0x0010, 0x6800, 0x6810, 0x6440, 0x6950);
	ASSERT_TRUE(!det_mem__keep_mmap(&io, ac, 1, &ips), "inside malloc, a few frames down");
	ips = IPS(0x0010, 0x6800, 0x6480, 0x6950);
	ASSERT_TRUE(!det_mem__keep_mmap(&io, ac, 1, &ips),
		    "a call that is malloc's last instruction");
	ips = IPS(0x0010, 0x6800, 0x6400, 0x6950);
	ASSERT_TRUE(det_mem__keep_mmap(&io, ac, 1, &ips), "returns to the byte before malloc");
	ips = IPS(0x0010, 0x6800, 0x6150, 0x6900);
	ASSERT_TRUE(det_mem__keep_mmap(&io, ac, 1, &ips), "an internal name deeper down: kept");
	ips = IPS(0x0010, 0x6800, 0x6900);
	ASSERT_TRUE(det_mem__keep_mmap(&io, ac, 1, &ips), "the program's own mapping");
	ASSERT_EQ(ips.nr, 2, "wrapper cut");
	ips = IPS(0x0010, 0x1150, 0x1440);
	ASSERT_TRUE(det_mem__keep_mmap(&io, ac, 1, &ips), "same offsets in another module");
	alloc_code__free(ac);
}

LW_TEST(det_mem_top)
{
	struct lw_findings fs = {};
	const char *kinds[] = {"mem-leak",	  "fd-leak",  "mem-leak",
			       "mem-double-free", "mem-leak", "mem-leak"};

	for (size_t i = 0; i < 6; i++)
		lw_findings__add(&fs)->kind = kinds[i];
	fs.v[2].suppressed = true; /* a suppressed group does not take a place */
	ASSERT_EQ(det_mem__apply_top(&fs, 2), 1, "one cut");
	ASSERT_TRUE(!fs.v[0].suppressed && !fs.v[4].suppressed, "two largest kept");
	ASSERT_TRUE(fs.v[5].suppressed, "third cut");
	ASSERT_TRUE(!fs.v[1].suppressed && !fs.v[3].suppressed, "other kinds untouched");
	ASSERT_EQ(det_mem__apply_top(&fs, 0), 0, "0: all");
	lw_findings__free(&fs);
}

LW_TEST(det_mem_probes)
{
	struct fake f = {};
	struct lw_det_io io = {.ctx = &f, .attach_uprobe = fake_uprobe};
	struct lw_opts o = {.probe_at_entry = true};
	char err[256] = "";
	struct lw_det_env env = {.opts = &o, .io = &io, .err = err, .errlen = sizeof(err)};
	struct lw_alloc_target t = {.path = "/lib/libfake.so", .shown = "/lib/libfake.so"};

	t.found[LW_FN_MALLOC] = t.found[LW_FN_FREE] = true;
	t.offset[LW_FN_MALLOC] = 0x100;
	t.offset[LW_FN_FREE] = 0x200;
	/* aligned_alloc and memalign: one function under two names */
	t.found[LW_FN_ALIGNED_ALLOC] = t.found[LW_FN_MEMALIGN] = true;
	t.offset[LW_FN_ALIGNED_ALLOC] = t.offset[LW_FN_MEMALIGN] = 0x300;
	ASSERT_EQ(det_mem__attach_target(&env, &t), 0, "attach");
	ASSERT_EQ(f.nr_probes, 5, "malloc+ret, free, memalign+ret");
	ASSERT_STREQ(f.probes[0].prog, "mem_malloc", "malloc");
	ASSERT_EQ(f.probes[0].how, LW_ME_MALLOC, "malloc's arguments, for a session");
	ASSERT_STREQ(f.probes[1].prog, "mem_ret", "malloc's return");
	ASSERT_EQ(f.probes[1].how, 0, "a return has no arguments");
	ASSERT_TRUE(f.probes[1].ret && f.probes[1].off == 0x100, "uretprobe at the entry");
	ASSERT_STREQ(f.probes[2].prog, "mem_free", "free, no return probe");
	ASSERT_EQ(f.probes[2].how, 0, "free is no session's");
	ASSERT_STREQ(f.probes[3].prog, "mem_memalign", "alias probed once");
	ASSERT_EQ(f.probes[3].off, 0x300, "at its entry");
	ASSERT_EQ(f.probes[3].how, LW_ME_MEMALIGN, "memalign's arguments");

	t.found[LW_FN_FREE] = false;
	f.nr_probes = 0;
	ASSERT_EQ(det_mem__attach_target(&env, &t), -ENOENT, "no free");
	ASSERT_STREQ(err, "mem: /lib/libfake.so: no malloc/free found", "message");
	ASSERT_EQ(f.nr_probes, 0, "nothing attached");
}

/* --interval: the block table's totals per stack, plus the blocks user
 * space holds (stacks BPF could not finish), same stack or a site of their
 * own; the report counts both, so each round must too
 */
struct tick_seen {
	int nr;
	uint64_t live[4];
	uint64_t ip0[4];
};

static const struct lw_stack_ips tick_stack_a = {.nr = 2, .ips = {0x1100, 0x1200}};

static int fake_totals(void *ctx, lw_mem_total_fn cb, void *cbctx)
{
	struct lw_mem_total t = {.live_bytes = 500, .live_count = 5};
	struct lw_ips a = {.nr = 2, .ips = {0x1100, 0x1200}};

	(void)ctx;
	return cb(cbctx, det_mem__stack_key(&a), &t, &tick_stack_a);
}

static void tick_header(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

static void tick_site(void *ctx, const struct corr_fd_site *site, const char *what, bool show)
{
	struct tick_seen *ts = ctx;

	(void)what;
	(void)show;
	if (ts->nr < 4) {
		ts->live[ts->nr] = site->live;
		ts->ip0[ts->nr++] = site->stack.ips[0];
	}
}

static struct lw_ev_mem_alloc user_block(uint64_t addr, uint64_t ip0, uint64_t ip1)
{
	struct lw_ev_mem_alloc ev = {
	    .hdr = {.type = LW_EV_MEM_ALLOC, .size = sizeof(ev), .tgid = 9, .tid = 9, .ts_ns = 1},
	    .addr = addr,
	    .size = 10,
	    .stack = {.nr = 2, .ips = {ip0, ip1}},
	};

	return ev;
}

LW_TEST(det_mem_interval_counts_user_held_blocks)
{
	struct lw_procs procs = {};
	struct lw_det_io io = {.procs = &procs, .read_mem_totals = fake_totals};
	struct lw_opts o = {0};
	struct lw_det_env env = {.opts = &o, .io = &io};
	struct tick_seen ts = {0};
	struct lw_det_tick t = {.ctx = &ts, .header = tick_header, .site = tick_site};
	struct lw_ev_mem_alloc a1 = user_block(0x10, 0x1100, 0x1200),
			       a2 = user_block(0x20, 0x1100, 0x1200),
			       b = user_block(0x30, 0x2100, 0x2200);
	struct lw_det *d;

	ASSERT_EQ(det_mem_ops.open(&d, &env), 0, "open");
	ASSERT_EQ(det_mem_ops.on_event(d, &a1.hdr, sizeof(a1)), 0, "held block 1 at site a");
	ASSERT_EQ(det_mem_ops.on_event(d, &a2.hdr, sizeof(a2)), 0, "held block 2 at site a");
	ASSERT_EQ(det_mem_ops.on_event(d, &b.hdr, sizeof(b)), 0, "held block at site b");
	det_mem_ops.tick(d, &t);
	ASSERT_EQ(ts.nr, 2, "two sites");
	ASSERT_EQ(ts.ip0[0], 0x1100, "site a first (the block table's)");
	ASSERT_EQ(ts.live[0], 7, "site a: 5 in the table + 2 held");
	ASSERT_EQ(ts.ip0[1], 0x2100, "site b, held only");
	ASSERT_EQ(ts.live[1], 1, "site b: 1");
	det_mem_ops.free(d);
	lw_procs__free(&procs);
}

/* ---- mount ---- */

static struct lw_ev_mount mount_ev(uint32_t nr, uint64_t arg_flags, uint32_t ns, const char *tgt)
{
	struct lw_ev_mount ev = {
	    .hdr = {.type = LW_EV_MOUNT, .size = sizeof(ev), .tgid = 7, .tid = 7},
	    .nr = nr,
	    .arg_flags = arg_flags,
	    .mnt_ns = ns};

	snprintf(ev.target, sizeof(ev.target), "%s", tgt);
	snprintf(ev.fstype, sizeof(ev.fstype), "proc");
	return ev;
}

LW_TEST(det_mount_flags)
{
	struct fake f = {.shared_answer = 1};
	struct lw_det_io io = {.ctx = &f, .mount_shared = fake_shared};
	struct lw_opts o = {};
	struct lw_det_env env = {.opts = &o, .io = &io};
	struct lw_det *d;
	struct lw_ev_mount ev;
	struct lw_findings fs = {};

	ASSERT_EQ(det_mount_ops.open(&d, &env), 0, "open");
	/* a mount in the namespace we started in: not new, but shared */
	ev = mount_ev(LW_NR_mount, 0, 50, "/r/proc");
	det_mount__flags(d, &ev);
	ASSERT_EQ(ev.flags, LW_MNT_PROPAGATES, "shared, old namespace");
	ASSERT_EQ(f.shared_calls, 1, "mountinfo asked");
	/* unshare makes namespace 77 */
	ev = mount_ev(LW_NR_unshare, 0x20000, 77, "");
	det_mount__flags(d, &ev);
	ASSERT_EQ(ev.flags, LW_MNT_NEW_NS, "the unshare is in it");
	ASSERT_EQ(f.shared_calls, 1, "unshare makes no mount");
	/* remounts and propagation changes make no mount: no mountinfo read */
	ev = mount_ev(LW_NR_mount, 0x20 /* MS_REMOUNT */, 77, "/r/proc");
	det_mount__flags(d, &ev);
	ev = mount_ev(LW_NR_mount, 0x40000 /* MS_PRIVATE */, 77, "/");
	det_mount__flags(d, &ev);
	ASSERT_EQ(f.shared_calls, 1, "no mountinfo for remount/propagation");
	ASSERT_EQ(ev.flags, LW_MNT_NEW_NS, "still the new namespace");
	/* BPF already knew: no mountinfo read either */
	ev = mount_ev(LW_NR_mount, 0, 77, "/r/sys");
	ev.flags = LW_MNT_PROPAGATES;
	det_mount__flags(d, &ev);
	ASSERT_EQ(f.shared_calls, 1, "BPF's answer kept");
	/* a failed mount makes nothing */
	ev = mount_ev(LW_NR_mount, 0, 77, "/r/dev");
	ev.ret = -ENOENT;
	det_mount__flags(d, &ev);
	ASSERT_EQ(f.shared_calls, 1, "failed mount");
	/* the whole path: a new namespace's shared mount propagates out */
	ev = mount_ev(LW_NR_mount, 0, 77, "/r/proc");
	ASSERT_EQ(det_mount_ops.on_event(d, &ev.hdr, sizeof(ev)), 0, "feed");
	ASSERT_EQ(f.shared_calls, 2, "mountinfo asked");
	ASSERT_EQ(det_mount_ops.finish(d, 1, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "one finding");
	ASSERT_STREQ(fs.v[0].kind, "mount-propagation-leak", "kind");
	ASSERT_EQ(det_mount_ops.on_event(d, &ev.hdr, sizeof(ev) - 1), -EINVAL, "short record");
	lw_findings__free(&fs);
	det_mount_ops.free(d);
}

LW_TEST(corr_mount_classify_one_decision)
{
	struct lw_ev_mount ev = mount_ev(LW_NR_mount, 0, 1, "/a");

	ASSERT_EQ(corr_mount__classify(&ev), LW_MNTC_OP | LW_MNTC_MAKES, "mount");
	ev.arg_flags = 0x2000; /* MS_MOVE */
	ASSERT_EQ(corr_mount__classify(&ev), LW_MNTC_OP | LW_MNTC_MOVES, "move");
	ev.arg_flags = 0x100000; /* MS_SHARED */
	ASSERT_EQ(corr_mount__classify(&ev), 0, "propagation change");
	ev.nr = LW_NR_move_mount;
	ASSERT_EQ(corr_mount__classify(&ev), LW_MNTC_OP | LW_MNTC_MAKES, "move_mount");
	ev.nr = LW_NR_fsmount;
	ASSERT_EQ(corr_mount__classify(&ev), LW_MNTC_MAKES, "fsmount: no target");
	ev.nr = LW_NR_umount2;
	ASSERT_EQ(corr_mount__classify(&ev), LW_MNTC_OP, "umount2");
	ev.nr = LW_NR_unshare;
	ASSERT_EQ(corr_mount__classify(&ev), 0, "unshare");
}

/* ---- fd ---- */

LW_TEST(det_fd_last_touch)
{
	struct fake f = {.touch_err = -ENOENT};
	struct lw_procs procs = {};
	struct lw_det_io io = {.ctx = &f, .procs = &procs, .touch = fake_touch};
	struct lw_opts o = {.last_touch = true};
	struct lw_det_env env = {.opts = &o, .io = &io};
	struct lw_ev_fd_touch tv = {
	    .hdr = {.type = LW_EV_FD_TOUCH, .size = sizeof(tv), .tgid = 5, .tid = 5, .ts_ns = 900},
	    .fd = 4,
	    .nr = 0, /* read */
	    .stack = {.nr = 2, .ips = {0xa1, 0xa2}},
	};
	struct lw_finding fin = {.kind = "fd-leak", .pid = 5, .fd = 4};
	struct lw_det *d;

	ASSERT_EQ(det_fd_ops.open(&d, &env), 0, "open");
	ASSERT_EQ(det_fd_ops.on_event(d, &tv.hdr, sizeof(tv)), 0, "touch kept");
	/* the kernel has none: the one user space finished */
	det_fd__last_touch(d, &fin);
	ASSERT_EQ(fin.nr_extra, 1, "evidence added");
	ASSERT_CONTAINS(fin.extra[0].label, "read()", "label from the syscall");
	ASSERT_EQ(fin.extra[0].stack.ips[1], 0xa2, "user space's stack");
	/* a newer kernel record wins */
	f.touch_err = 0;
	f.touch = (struct lw_touch){.nr = 1, .nr_ips = 1, .ts_ns = 1000, .ips = {0xb1}};
	fin.nr_extra = 0;
	det_fd__last_touch(d, &fin);
	ASSERT_EQ(fin.extra[0].stack.nr, 1, "kernel's stack");
	ASSERT_EQ(fin.extra[0].stack.ips[0], 0xb1, "kernel's frame");
	/* the same touch: the stack user space finished */
	f.touch.ts_ns = 900;
	fin.nr_extra = 0;
	det_fd__last_touch(d, &fin);
	ASSERT_EQ(fin.extra[0].stack.nr, 2, "finished stack");
	/* kinds without a live fd get none */
	fin = (struct lw_finding){.kind = "fd-double-close", .pid = 5, .fd = 4};
	det_fd__last_touch(d, &fin);
	ASSERT_EQ(fin.nr_extra, 0, "double close: none");
	fin = (struct lw_finding){.kind = "mem-leak", .pid = 5, .fd = 4};
	det_fd__last_touch(d, &fin);
	ASSERT_EQ(fin.nr_extra, 0, "not an fd kind");
	det_fd_ops.free(d);
	lw_procs__free(&procs);
}

LW_TEST(det_fd_attach_root_exit_not_seen)
{
	struct lw_procs procs = {};
	struct lw_det_io io = {.procs = &procs};
	struct lw_opts o = {.mode = LW_MODE_ATTACH};
	struct lw_det_env env = {.opts = &o, .io = &io};
	struct lw_ev_fd_open op = {
	    .hdr = {.type = LW_EV_FD_OPEN, .size = sizeof(op), .tgid = 9, .tid = 9, .ts_ns = 1},
	    .fd = 5};
	struct lw_ev_proc_exit ex = {
	    .hdr = {.type = LW_EV_PROC_EXIT, .size = sizeof(ex), .tgid = 9, .tid = 9, .ts_ns = 2}};
	struct lw_proc *root = lw_procs__get(&procs, 9);
	struct lw_det *d;

	root->root = true;
	ASSERT_EQ(det_fd_ops.open(&d, &env), 0, "open");
	ASSERT_EQ(det_fd_ops.on_event(d, &op.hdr, sizeof(op)), 0, "open record");
	lw_procs__exit(&procs, 9, 0, "srv");
	ASSERT_EQ(det_fd_ops.on_exit(d, root, &ex), 0, "exit");
	/* attach: the root's exit ends observation, what it held is still open */
	ASSERT_EQ(det_fd__open_count(d, 9), 1, "still open");
	ASSERT_EQ(det_fd__open_count(NULL, 9), -ENOENT, "fd detector off");
	det_fd_ops.free(d);
	lw_procs__free(&procs);
}

/* Held still, this very process: its pipe's read end with no writer left
 * is an fd-leak; --strict-fds does not look.
 */
static void frozen_self(bool strict, struct lw_findings *fs)
{
	struct lw_procs procs = {};
	struct lw_det_io io = {.procs = &procs};
	struct lw_opts o = {.mode = LW_MODE_ATTACH, .strict_fds = strict};
	struct lw_det_env env = {.opts = &o, .io = &io};
	int p[2] = {-1, -1};
	struct lw_ev_fd_open op = {.hdr = {.type = LW_EV_FD_OPEN,
					   .size = sizeof(op),
					   .tgid = (uint32_t)getpid(),
					   .ts_ns = 1},
				   .res_kind = LW_RES_PIPE,
				   .stack = {.nr = 1, .ips = {0x10}}};
	struct lw_frozen fr = {.pid = getpid(), .pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0)};
	struct lw_det *d;

	if (pipe(p) || fr.pidfd < 0 || det_fd_ops.open(&d, &env)) {
		lw_test_failed = 1;
		return;
	}
	close(p[1]);
	op.hdr.tid = op.hdr.tgid;
	op.fd = p[0];
	if (det_fd_ops.on_event(d, &op.hdr, sizeof(op)) || det_fd_ops.on_frozen(d, &fr) ||
	    det_fd_ops.finish(d, 2, fs))
		lw_test_failed = 1;
	close(p[0]);
	close(fr.pidfd);
	det_fd_ops.free(d);
	lw_procs__free(&procs);
}

LW_TEST(det_fd_frozen_liveness)
{
	struct lw_findings fs = {};
	struct lw_finding g = {.kind = "fd-held", .cls = "held"};

	frozen_self(false, &fs);
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_STREQ(fs.v[0].kind, "fd-leak", "a dead pipe end is a leak");
	ASSERT_STREQ(fs.v[0].cls, "dead", "class");
	ASSERT_STREQ(fs.v[0].why, "no writer left", "why");
	lw_findings__free(&fs);
	frozen_self(true, &fs);
	ASSERT_EQ(fs.n, 1, "findings");
	ASSERT_STREQ(fs.v[0].cls, "strict", "--strict-fds: valgrind's rule");
	lw_findings__free(&fs);
	/* the session's growth step, through the detector */
	det_fd_ops.on_growing(NULL, &g);
	ASSERT_STREQ(g.kind, "fd-leak", "growing held site");
	ASSERT_STREQ(g.cls, "growing", "class");
}

/* ---- proc ---- */

LW_TEST(det_proc_parent_fds)
{
	struct fake f = {.open_fds = 12};
	struct lw_procs procs = {};
	struct lw_det_io io = {.ctx = &f, .procs = &procs, .open_fds = fake_open_fds};
	struct lw_opts o = {};
	struct lw_det_env env = {.opts = &o, .io = &io};
	struct lw_findings fs = {};
	struct lw_det *d;

	ASSERT_EQ(det_proc_ops.open(&d, &env), 0, "open");
	lw_procs__get(&procs, 100);
	snprintf(lw_procs__get(&procs, 100)->comm, LW_COMM_LEN, "unitd");
	for (uint32_t i = 0; i < 5; i++) {
		uint32_t pid = 200 + i;
		uint64_t ts = 1000000ull * (i + 1);
		struct lw_ev_proc_fork fk = {
		    .hdr = {.type = LW_EV_PROC_FORK, .tgid = 100, .ts_ns = ts},
		    .child_tgid = pid,
		    .comm = "worker"};
		struct lw_ev_proc_exit ex = {
		    .hdr = {.type = LW_EV_PROC_EXIT, .tgid = pid, .ts_ns = ts + 1},
		    .exit_code = 1 << 8,
		    .comm = "worker"};
		const struct lw_proc *c = lw_procs__fork(&procs, 100, pid, "worker");

		f.open_fds = 12 + (int)i;
		ASSERT_EQ(det_proc_ops.on_fork(d, lw_procs__find(&procs, 100), c, &fk), 0, "fork");
		c = lw_procs__exit(&procs, pid, ex.exit_code, "worker");
		ASSERT_EQ(det_proc_ops.on_exit(d, c, &ex), 0, "exit");
	}
	ASSERT_EQ(det_proc_ops.finish(d, 0, &fs), 0, "finish");
	ASSERT_EQ(fs.n, 1, "a storm");
	ASSERT_STREQ(fs.v[0].kind, "respawn-storm", "kind");
	ASSERT_CONTAINS(fs.v[0].resource, "parent fds 12 -> 16", "sampled through io");
	lw_findings__free(&fs);
	det_proc_ops.free(d);
	lw_procs__free(&procs);
}
