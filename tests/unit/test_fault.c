// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --inject / --fault-sweep rules and the injection library's log. */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include "harness.h"
#include "fault/fault_log.h"
#include "fault/fault_spec.h"
#include "fault/fault_where.h"
#include "report/finding.h"

LW_TEST(fault_spec_full_rule)
{
	struct lw_fault_plan p = {};
	char err[256] = "";

	ASSERT_EQ(fault_spec__parse_inject("sendmsg=EAGAIN@nxt_port_socket_write:2", &p, err,
					   sizeof(err)),
		  0, err);
	ASSERT_EQ(p.nr_rules, 1, "one rule");
	ASSERT_STREQ(p.rules[0].func, "sendmsg", "func");
	ASSERT_EQ(p.rules[0].err, EAGAIN, "errno");
	ASSERT_STREQ(p.rules[0].where, "nxt_port_socket_write", "where");
	ASSERT_EQ(p.rules[0].first, 2, "first");
	ASSERT_EQ(p.rules[0].last, 2, "last");
	ASSERT_EQ(p.rules[0].every, 0, "every");
}

LW_TEST(fault_spec_defaults_and_lists)
{
	struct lw_fault_plan p = {};
	char err[256] = "";

	ASSERT_EQ(fault_spec__parse_inject("malloc@port_msg_alloc,open@*:3-5,calloc=12:every 4", &p,
					   err, sizeof(err)),
		  0, err);
	ASSERT_EQ(p.nr_rules, 3, "three rules");
	ASSERT_EQ(p.rules[0].err, ENOMEM, "allocator default");
	ASSERT_EQ(p.rules[0].first, 1, "default call 1");
	ASSERT_EQ(p.rules[1].err, EMFILE, "fd maker default");
	ASSERT_STREQ(p.rules[1].where, "", "* is anywhere");
	ASSERT_EQ(p.rules[1].first, 3, "range first");
	ASSERT_EQ(p.rules[1].last, 5, "range last");
	ASSERT_EQ(p.rules[2].err, 12, "numeric errno");
	ASSERT_EQ(p.rules[2].every, 4, "every 4");
	ASSERT_STREQ(p.rules[2].where, "", "no @: anywhere");
	ASSERT_EQ(fault_spec__parse_inject("malloc:everyK", &p, err, sizeof(err)), -EINVAL,
		  "everyK");
}

LW_TEST(fault_spec_cxx_names_keep_their_colons)
{
	struct lw_fault_plan p = {};
	char err[256] = "";

	ASSERT_EQ(fault_spec__parse_inject("malloc@ns::Port::send", &p, err, sizeof(err)), 0, err);
	ASSERT_STREQ(p.rules[0].where, "ns::Port::send", "where");
	ASSERT_EQ(p.rules[0].first, 1, "call 1");
	ASSERT_EQ(fault_spec__parse_inject("malloc@ns::f:7", &p, err, sizeof(err)), 0, err);
	ASSERT_STREQ(p.rules[1].where, "ns::f", "where before :7");
	ASSERT_EQ(p.rules[1].first, 7, "call 7");
}

LW_TEST(fault_spec_rejects_bad_rules)
{
	static const char *bad[] = {"",		  "frobnicate@x",    "malloc=EWHAT@x", "malloc@",
				    "malloc@x:0", "malloc@x:5-3",    "malloc@x:1-",    "malloc@x y",
				    "malloc=0@x", "malloc@x,,free@y"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lw_fault_plan p = {};
		char err[256] = "";

		if (fault_spec__parse_inject(bad[i], &p, err, sizeof(err)) != -EINVAL || !err[0]) {
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
			ASSERT_TRUE(0, "rejected with a reason");
		}
	}
}

LW_TEST(fault_spec_sweep_list)
{
	struct lw_fault_plan p = {};
	char err[256] = "";

	ASSERT_EQ(fault_spec__parse_sweep("malloc,sendmsg=EAGAIN", &p, err, sizeof(err)), 0, err);
	ASSERT_EQ(p.nr_record, 2, "two functions");
	ASSERT_EQ(p.record[1].err, EAGAIN, "errno");
	ASSERT_EQ(fault_spec__parse_sweep("malloc@x", &p, err, sizeof(err)), -EINVAL, "no WHERE");
	ASSERT_EQ(fault_spec__parse_sweep("malloc", &p, err, sizeof(err)), -EINVAL, "twice");
}

LW_TEST(fault_spec_describe)
{
	struct lw_fault_plan p = {};
	char err[256] = "", d[256];

	ASSERT_EQ(fault_spec__parse_inject("malloc@port_msg_alloc:2", &p, err, sizeof(err)), 0,
		  err);
	fault_rule__describe(&p.rules[0], d, sizeof(d));
	ASSERT_STREQ(d, "malloc failing with ENOMEM under port_msg_alloc (call 2)", "text");
}

static const char log_text[] =
    "init pid=10 exe=/usr/bin/my prog\n"
    "fault pid=10 tid=11 rule=0 func=malloc errno=12 nth=1 hash=9f2c0d1e22aa4b17 frames=2\n"
    " 55d0c0a01234 1234 /usr/bin/my prog\n"
    " 7f0000001000 29000 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "end\n"
    "fault pid=10 tid=11 rule=0 func=malloc frames=1\n" /* malformed: skipped */
    " 1 1 /x\n"
    "end\n"
    "site pid=12 func=sendmsg hash=00000000000000ff frames=1\n"
    " 10 10 /bin/x\n"
    "end\n"
    "crash pid=12 tid=12 sig=11 addr=0 frames=1\n"
    " 401000 401000 ?\n"
    "end\n"
    "site pid=13 func=malloc hash=1 frames=2\n" /* cut short: the writer died */
    " 10 10 /bin/x\n";

LW_TEST(fault_log_parses_records_and_skips_bad_ones)
{
	struct lw_fault_log log = {};

	ASSERT_EQ(fault_log__parse(log_text, sizeof(log_text) - 1, &log), 0, "parse");
	ASSERT_EQ(log.n, 4, "records");
	ASSERT_EQ(log.bad, 2, "bad records");
	ASSERT_EQ(log.v[0].type, LW_FR_INIT, "init");
	ASSERT_STREQ(log.v[0].exe, "/usr/bin/my prog", "exe with a space");
	ASSERT_EQ(log.v[1].type, LW_FR_FAULT, "fault");
	ASSERT_EQ(log.v[1].tid, 11, "tid");
	ASSERT_EQ(log.v[1].err, 12, "errno");
	ASSERT_EQ(log.v[1].hash, 0x9f2c0d1e22aa4b17ull, "hash");
	ASSERT_EQ(log.v[1].nr, 2, "frames");
	ASSERT_EQ(log.v[1].fr[0].ip, 0x55d0c0a01234ull, "ip");
	ASSERT_EQ(log.v[1].fr[0].rel, 0x1234, "rel");
	ASSERT_STREQ(log.v[1].fr[0].path, "/usr/bin/my prog", "path");
	ASSERT_EQ(log.v[2].type, LW_FR_SITE, "site");
	ASSERT_STREQ(log.v[2].func, "sendmsg", "site func");
	ASSERT_EQ(log.v[3].type, LW_FR_CRASH, "crash");
	ASSERT_EQ(log.v[3].sig, 11, "signal");
	fault_log__free(&log);
}

LW_TEST(fault_log_missing_file_is_empty)
{
	struct lw_fault_log log = {};

	ASSERT_EQ(fault_log__read("/nonexistent/lw-fault.log", &log), 0, "missing");
	ASSERT_EQ(log.n, 0, "empty");
}

static struct lw_sym_frame fr(uint64_t addr, const char *mod, const char *sym, uint64_t off)
{
	return (struct lw_sym_frame){
	    .addr = addr, .module = (char *)mod, .symbol = (char *)sym, .offset = off};
}

LW_TEST(fault_sweep_same_finding_ignores_aslr)
{
	struct lw_sym_frame a[2] = {fr(0x55d0c0a01234, "/bin/x", "f", 4),
				    fr(0x55d0c0a02000, "/bin/x", NULL, 0x2000)};
	struct lw_sym_frame b[2] = {fr(0x5612aa001234, "/bin/x", "f", 4),
				    fr(0x5612aa002000, "/bin/x", NULL, 0x2000)};
	struct lw_sym_frame c[2] = {fr(0x5612aa001234, "/bin/x", "f", 4),
				    fr(0x5612aa002010, "/bin/x", NULL, 0x2010)};
	struct lw_finding x = {.kind = "mem-leak", .cls = "definite", .frames = a, .nr_frames = 2};
	struct lw_finding y = x, z = x, w = x;

	y.frames = b;
	z.frames = c;
	w.cls = "indirect";
	ASSERT_TRUE(lw_finding__same_across_runs(&x, &y), "other addresses, same site");
	ASSERT_TRUE(!lw_finding__same_across_runs(&x, &z), "another module offset");
	ASSERT_TRUE(!lw_finding__same_across_runs(&x, &w), "another class");
	x.nr_frames = y.nr_frames = 0;
	strcpy(x.resource, "r1");
	strcpy(y.resource, "r1");
	ASSERT_TRUE(lw_finding__same_across_runs(&x, &y), "no frames: by resource");
	strcpy(y.resource, "r2");
	ASSERT_TRUE(!lw_finding__same_across_runs(&x, &y), "no frames, other resource");
}

LW_NOIPA static int lw_where_probe_fn(int x)
{
	return x * 3 + 1;
}

LW_TEST(fault_where_finds_a_static_function)
{
	struct lw_fault_range r[4];
	Dl_info di;
	uint64_t rel;
	int n = fault_where__in_file("/proc/self/exe", "me", "lw_where_probe_fn", r, 4);

	ASSERT_EQ(lw_where_probe_fn(1), 4, "the function runs");
	ASSERT_EQ(n, 1, "one function of that name");
	ASSERT_TRUE(dladdr((void *)lw_where_probe_fn, &di) != 0, "dladdr");
	rel = (uint64_t)(uintptr_t)lw_where_probe_fn - (uint64_t)(uintptr_t)di.dli_fbase;
	ASSERT_TRUE(rel >= r[0].lo && rel < r[0].hi, "its range holds its module-relative address");
	ASSERT_STREQ(r[0].path, "me", "path as shown");
	ASSERT_EQ(fault_where__in_file("/proc/self/exe", "me", "no_such_fn_lw", r, 4), 0, "absent");
	ASSERT_EQ(fault_where__in_file("/etc/hostname", "x", "main", r, 4), -ENOEXEC, "not ELF");
}
