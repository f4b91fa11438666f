// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reporters: exact text/JSON for hand-built findings, escaping, and that the
 * JSON parses under a strict decoder (python3; missing python3 is a failure).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include "harness.h"
#include "report/report.h"
#include "report_helpers.h"

/* Three fds opened at one site, with every frame shape the text prints. */
static struct lw_finding *add_fd_leak(struct lw_findings *fs)
{
	struct lw_finding *f = lw_findings__add(fs);

	f->kind = "fd-leak";
	f->pid = f->tid = 1234;
	strcpy(f->comm, "fixture_leak");
	f->fd = 3;
	f->nr_fds = 3;
	f->fds[0] = 3, f->fds[1] = 4, f->fds[2] = 5;
	f->count = 3;
	f->age_ms = 12;
	strcpy(f->resource, "/tmp/x");
	add_frame(f, 0x7f1200001000, "/usr/lib/x86_64-linux-gnu/libc.so.6", "open64", 0x5b, NULL,
		  0);
	add_frame(f, 0x555500001234, "/path/fixture", "leak_one_file", 0x1c,
		  "tests/fixtures/fd_leak.c", 12);
	add_frame(f, 0x555500002000, "/path/fixture", NULL, 0x2000, NULL, 0);
	add_frame(f, 0x1000, NULL, NULL, 0, NULL, 0);
	return f;
}

LW_TEST(report_find)
{
	ASSERT_TRUE(reporter__find("text") && !strcmp(reporter__find("text")->name, "text"),
		    "text");
	ASSERT_TRUE(reporter__find("json") && !strcmp(reporter__find("json")->name, "json"),
		    "json");
	ASSERT_TRUE(!reporter__find("xml"), "unknown format");
	ASSERT_TRUE(!reporter__find(NULL), "NULL format");
}

/* The full text report: frame shapes, singular wording, growing, tid,
 * suppressed finding omitted but counted, process line, loss warning.
 */
LW_TEST(text_golden)
{
	static const char want[] =
	    "==1234== leakwatch 0.1.0: run: ./fixture_leak --n 3\n"
	    "==1234== WARNING: report may be incomplete: target exited before maps were read\n"
	    "\n"
	    "Leak of 3 file descriptors (fd-leak) in pid 1234 (fixture_leak), oldest 12 ms\n"
	    "  fds: 3, 4, 5\n"
	    "  resource: /tmp/x (first)\n"
	    "    #0 0x7f1200001000 in open64+0x5b (/usr/lib/x86_64-linux-gnu/libc.so.6)\n"
	    "    #1 0x555500001234 in leak_one_file+0x1c (/path/fixture) "
	    "tests/fixtures/fd_leak.c:12\n"
	    "    #2 0x555500002000 in ?? (/path/fixture+0x2000)\n"
	    "    #3 0x1000 in ??\n"
	    "\n"
	    "Leak of 1 file descriptor (fd-leak) in pid 1240 tid 1241 (child), oldest 0 ms\n"
	    "  GROWING: live count kept rising\n"
	    "  fd: 7\n"
	    "  resource: /etc/passwd\n"
	    "    #0 0x401000 in ??\n"
	    "    #1 0x402000 in ??\n"
	    "\n"
	    "==1234== processes: 1234 (fixture_leak) exit 0, 1240 (child) killed by signal 9\n"
	    "SUMMARY: leakwatch: 2 findings: 2 fd-leak (1 suppressed)\n"
	    "==1234== events: 17, dropped: 2\n"
	    "==1234== WARNING: report may be incomplete: 2 events dropped, unwind map full 1x\n";
	struct lw_proc procs[] = {
	    {.pid = 1234, .ppid = 1, .comm = "fixture_leak", .exited = 1, .exit_code = 0},
	    {.pid = 1240,
	     .ppid = 1234,
	     .comm = "child",
	     .exited = 1,
	     .exit_code = 9 /* SIGKILL */}};
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *g;
	struct doc d;

	add_fd_leak(&fs);
	g = lw_findings__add(&fs);
	g->kind = "fd-leak";
	g->pid = 1240, g->tid = 1241;
	strcpy(g->comm, "child");
	g->fd = 7, g->nr_fds = 1, g->fds[0] = 7, g->count = 1;
	g->growing = true;
	strcpy(g->resource, "/etc/passwd");
	g->stack.nr = 2, g->stack.ips[0] = 0x401000, g->stack.ips[1] = 0x402000; /* unsymbolized */
	g = lw_findings__add(&fs);
	g->kind = "fd-leak", g->pid = 4321, g->count = 1, g->suppressed = true;
	m.procs = procs, m.nr_procs = 2;
	m.stats.dropped = 2, m.stats.cfi_full = 1;
	m.incomplete_reason = "target exited before maps were read";

	d = render("text", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_STREQ(d.buf, want, "text report");
	free(d.buf);
	lw_findings__free(&fs);
}

LW_TEST(text_no_leaks)
{
	static const char want[] = "==77== leakwatch 0.1.0: attach: pid 77\n"
				   "\n"
				   "SUMMARY: leakwatch: no leaks found (3 suppressed)\n"
				   "==77== events: 5, dropped: 0\n"
				   "==77== /proc reconciliation corrected 2 fds\n";
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	struct doc d;

	/* One suppressed finding marked, meta says 3: the larger count wins. */
	f->kind = "fd-leak", f->pid = 77, f->suppressed = true;
	m.mode = "attach", m.command = NULL, m.pid = 77, m.stats.events = 5, m.nr_suppressed = 3;
	m.reconciled = 2;
	d = render("text", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_STREQ(d.buf, want, "text report");
	free(d.buf);
	lw_findings__free(&fs);
}

/* Wording per kind: bytes/objects with singulars, generic fallback, and a
 * summary that counts each kind.
 */
LW_TEST(text_kind_wording)
{
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f;
	struct doc d;

	f = lw_findings__add(&fs);
	f->kind = "mem-leak", f->pid = 1, f->bytes = 1, f->count = 1, f->age_ms = 5;
	strcpy(f->comm, "a");
	f = lw_findings__add(&fs);
	f->kind = "mem-leak", f->pid = 1, f->bytes = 48, f->count = 2, f->age_ms = 6;
	strcpy(f->comm, "a");
	f = lw_findings__add(&fs);
	f->kind = "respawn-storm", f->pid = 1, f->tid = 1, f->count = 2, f->fd = 9;
	strcpy(f->comm, "a");
	f = lw_findings__add(&fs);
	f->kind = "mem-double-free", f->pid = 1, f->bytes = 16, f->count = 1;
	strcpy(f->comm, "a");
	d = render("text", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_CONTAINS(d.buf,
			"\nLeak of 1 byte in 1 object (mem-leak) in pid 1 (a), oldest 5 ms\n",
			"singular bytes");
	ASSERT_CONTAINS(d.buf,
			"\nLeak of 48 bytes in 2 objects (mem-leak) in pid 1 (a), oldest 6 ms\n",
			"plural bytes");
	ASSERT_CONTAINS(d.buf, "\nrespawn-storm (count 2) in pid 1 (a)\n  fd: 9\n", "generic");
	ASSERT_CONTAINS(d.buf, "\n16 bytes in 1 object (mem-double-free) in pid 1 (a)\n",
			"bytes, not a leak");
	ASSERT_CONTAINS(d.buf,
			"SUMMARY: leakwatch: 4 findings: 2 mem-leak, 1 respawn-storm, "
			"1 mem-double-free (0 suppressed)\n",
			"summary by kind");
	free(d.buf);
	lw_findings__free(&fs);
}

/* More fds than the finding lists, and control bytes in traced-program strings. */
LW_TEST(text_fds_overflow_and_escape)
{
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	struct doc d;

	f->kind = "fd-leak", f->pid = 5, f->count = 20, f->nr_fds = 2, f->fd = 3;
	f->fds[0] = 3, f->fds[1] = 4;
	memset(f->comm, 'c', sizeof(f->comm)); /* no NUL: must stay bounded */
	strcpy(f->resource, "/tmp/a\nSUMMARY: fake\x1b[0m\x7f");
	f->stack.flags = LW_STK_TRUNCATED;
	m.command = "x\ty";
	d = render("text", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_CONTAINS(d.buf, "run: x\\x09y\n", "command escaped");
	ASSERT_CONTAINS(d.buf,
			"Leak of 20 file descriptors (fd-leak) in pid 5 (cccccccccccccccc), ",
			"bounded comm");
	ASSERT_CONTAINS(d.buf, "  fds: 3, 4, ... (18 more)\n", "fds overflow");
	ASSERT_CONTAINS(d.buf, "  resource: /tmp/a\\x0aSUMMARY: fake\\x1b[0m\\x7f (first)\n",
			"resource escaped");
	ASSERT_CONTAINS(d.buf, "    (no stack)\n    ... (stack truncated at 32 frames)\n",
			"truncated");
	free(d.buf);
	lw_findings__free(&fs);
}

LW_TEST(text_incomplete_map_full)
{
	struct lw_report_meta m = base_meta();
	struct doc d;

	m.stats.alloc_full = 4, m.stats.target_full = 1;
	d = render("text", &m, NULL);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_CONTAINS(
	    d.buf,
	    "==1234== events: 17, dropped: 0\n==1234== WARNING: report may be incomplete: "
	    "target map full 1x (children untraced), block table full 4x (blocks untracked: "
	    "--max-blocks)\n",
	    "map-full warning");
	free(d.buf);
	m.stats.alloc_full = m.stats.target_full = 0;
	d = render("text", &m, NULL);
	ASSERT_TRUE(!strstr(d.buf, "WARNING"), "no warning when nothing was lost");
	free(d.buf);
}

LW_TEST(json_golden)
{
	static const char want[] = "{\n"
				   "  \"version\": 3,\n"
				   "  \"tool\": \"leakwatch\",\n"
				   "  \"tool_version\": \"0.1.0\",\n"
				   "  \"mode\": \"attach\",\n"
				   "  \"command\": null,\n"
				   "  \"pid\": 42,\n"
				   "  \"duration_ms\": 40,\n"
				   "  \"complete\": true,\n"
				   "  \"incomplete_reason\": null,\n"
				   "  \"processes\": [\n"
				   "    {\n"
				   "      \"pid\": 42,\n"
				   "      \"ppid\": 1,\n"
				   "      \"comm\": \"srv\",\n"
				   "      \"exited\": false,\n"
				   "      \"exit_code\": null\n"
				   "    }\n"
				   "  ],\n"
				   "  \"findings\": [\n"
				   "    {\n"
				   "      \"kind\": \"fd-leak\",\n"
				   "      \"pid\": 42,\n"
				   "      \"tid\": 43,\n"
				   "      \"comm\": \"srv\",\n"
				   "      \"fd\": null,\n"
				   "      \"fds\": [],\n"
				   "      \"resource\": null,\n"
				   "      \"count\": 1,\n"
				   "      \"bytes\": 0,\n"
				   "      \"age_ms\": 9,\n"
				   "      \"growing\": true,\n"
				   "      \"class\": null,\n"
				   "      \"why\": null,\n"
				   "      \"fault\": null,\n"
				   "      \"stack\": [\n"
				   "        {\n"
				   "          \"addr\": \"0x401a2b\",\n"
				   "          \"module\": \"/srv\",\n"
				   "          \"symbol\": \"accept_loop\",\n"
				   "          \"offset\": 43,\n"
				   "          \"file\": \"srv.c\",\n"
				   "          \"line\": 88\n"
				   "        },\n"
				   "        {\n"
				   "          \"addr\": \"0xdead\",\n"
				   "          \"module\": null,\n"
				   "          \"symbol\": null,\n"
				   "          \"offset\": null,\n"
				   "          \"file\": null,\n"
				   "          \"line\": null\n"
				   "        },\n"
				   "        {\n"
				   "          \"addr\": \"0xbeef\",\n"
				   "          \"module\": \"/lib/x.so\",\n"
				   "          \"symbol\": null,\n"
				   "          \"offset\": null,\n"
				   "          \"file\": null,\n"
				   "          \"line\": null\n"
				   "        }\n"
				   "      ]\n"
				   "    }\n"
				   "  ],\n"
				   "  \"stats\": {\n"
				   "    \"events\": 17,\n"
				   "    \"dropped\": 0,\n"
				   "    \"target_full\": 0,\n"
				   "    \"cfi_full\": 0,\n"
				   "    \"stack_partial\": 3,\n"
				   "    \"slice_bytes\": 1536,\n"
				   "    \"stack_memo\": 5,\n"
				   "    \"alloc_full\": 0,\n"
				   "    \"stackmap_full\": 0,\n"
				   "    \"mem_pending_full\": 0,\n"
				   "    \"reconciled\": 2,\n"
				   "    \"suppressed\": 0\n"
				   "  },\n"
				   "  \"faults\": null,\n"
				   "  \"sweep\": null,\n"
				   "  \"scan\": {\n"
				   "    \"enabled\": true,\n"
				   "    \"frozen\": 0,\n"
				   "    \"not_frozen\": 0,\n"
				   "    \"off_reason\": null,\n"
				   "    \"pause_ms\": 0.000,\n"
				   "    \"pause_max_ms\": 0.000,\n"
				   "    \"mem_scans\": 0,\n"
				   "    \"mem_scan_failed\": 0,\n"
				   "    \"mem_scanned_bytes\": 0,\n"
				   "    \"mem_scan_mb_per_s\": 0.0,\n"
				   "    \"reachable_blocks\": 0,\n"
				   "    \"reachable_bytes\": 0\n"
				   "  }\n"
				   "}\n";
	struct lw_proc procs[] = {
	    {.pid = 42, .ppid = 1, .comm = "srv", .exited = 0, .exit_code = 0}};
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	struct doc d;

	f->kind = "fd-leak", f->pid = 42, f->tid = 43, f->count = 1, f->age_ms = 9;
	f->growing = true;
	strcpy(f->comm, "srv");
	add_frame(f, 0x401a2b, "/srv", "accept_loop", 43, "srv.c", 88);
	add_frame(f, 0xdead, NULL, NULL, 0, NULL, 0);
	add_frame(f, 0xbeef, "/lib/x.so", NULL, 0, NULL, 0); /* module, offset unknown */
	m.mode = "attach", m.command = NULL, m.pid = 42;
	m.procs = procs, m.nr_procs = 1;
	m.stats.stack_partial = 3, m.stats.slice_bytes = 1536, m.stats.stack_memo = 5;
	m.reconciled = 2;
	d = render("json", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_STREQ(d.buf, want, "json report");
	free(d.buf);
	lw_findings__free(&fs);
}

/* Byte strings from the target: JSON escapes, UTF-8 kept when valid,
 * anything else (stray 0xff, overlong, surrogate, truncated) as \u00XX.
 */
LW_TEST(json_escape)
{
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	struct doc d;

	f->kind = "fd-leak", f->pid = 1, f->count = 1;
	strcpy(f->resource, "a\"b\\c\nd\x01\xff\x7f");
	strcpy(f->comm, "caf\xc3\xa9\xc0\xaf\xed\xa0\x80\xe2\x82");
	m.command = "\t\r\b";
	m.incomplete_reason = "\xf0\x9f\x98\x80|\xe0\x80\xaf|\xf4\x90\x80\x80|\xf0\x9f";
	d = render("json", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_CONTAINS(d.buf, "\"resource\": \"a\\\"b\\\\c\\nd\\u0001\\u00ff\\u007f\",",
			"resource escapes");
	ASSERT_CONTAINS(
	    d.buf, "\"comm\": \"caf\xc3\xa9\\u00c0\\u00af\\u00ed\\u00a0\\u0080\\u00e2\\u0082\",",
	    "utf-8 kept, invalid bytes escaped");
	ASSERT_CONTAINS(d.buf, "\"command\": \"\\t\\r\\u0008\",", "control escapes");
	ASSERT_CONTAINS(d.buf,
			"\"incomplete_reason\": \"\xf0\x9f\x98\x80|\\u00e0\\u0080\\u00af|"
			"\\u00f4\\u0090\\u0080\\u0080|\\u00f0\\u009f\",",
			"4-byte kept; overlong, above U+10FFFF, truncated escaped");
	free(d.buf);

	/* comm full to the brim ending in a lead byte; the fd after it holds
	 * bytes that would complete the sequence if the bound were ignored.
	 */
	memset(f->comm, 'a', sizeof(f->comm));
	f->comm[sizeof(f->comm) - 1] = (char)0xe2;
	f->fd = 0xbf82;
	d = render("json", &m, &fs);
	ASSERT_CONTAINS(d.buf, "\"comm\": \"aaaaaaaaaaaaaaa\\u00e2\",",
			"sequence cut at the bound");
	free(d.buf);
	lw_findings__free(&fs);
}

/* Run the document through a strict parser: python3 decodes it as strict
 * UTF-8, parses it, and evaluates check (a Python expression over j).
 * Exit 127 (python3 missing) fails the test like any other non-zero status.
 */
static int python_check_q(const char *doc, const char *check, bool quiet)
{
	char cmd[512];
	void (*old)(int);
	FILE *p;
	int st;

	if (setenv("LW_JSON_CHECK", check, 1))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s",
		 "python3 -c 'import json, os, sys\n"
		 "j = json.loads(sys.stdin.buffer.read().decode(\"utf-8\"))\n"
		 "assert eval(os.environ[\"LW_JSON_CHECK\"]), os.environ[\"LW_JSON_CHECK\"]'");
	if (quiet)
		strcat(cmd, " 2>/dev/null");
	p = popen(cmd, "w");
	if (!p)
		return -1;
	/* A missing python3 closes the pipe early: report it, do not die of SIGPIPE. */
	old = signal(SIGPIPE, SIG_IGN);
	fputs(doc, p);
	st = pclose(p);
	signal(SIGPIPE, old);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st) == 127)
		fprintf(stderr, "  python3 not found: the JSON parse check cannot run\n");
	return WEXITSTATUS(st);
}

static int python_check(const char *doc, const char *check)
{
	return python_check_q(doc, check, false);
}

LW_TEST(json_parses)
{
	struct lw_proc procs[] = {
	    {.pid = 1234, .ppid = 1, .comm = "fix\"ture\n", .exited = 1, .exit_code = 256}};
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f;
	struct doc d;

	add_fd_leak(&fs);
	f = lw_findings__add(&fs);
	f->kind = "fd-leak", f->pid = 1, f->count = 1, f->fd = 0;
	strcpy(f->resource, "a\"b\\c\nd\x01\xff");
	memset(f->comm, 0xff, sizeof(f->comm));
	f->stack.nr = 1, f->stack.ips[0] = 0x10;
	m.procs = procs, m.nr_procs = 1;
	m.stats.dropped = 3;
	d = render("json", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_EQ(python_check(d.buf,
			       "j['version'] == 3 and j['complete'] is False"
			       " and j['incomplete_reason'] is None"
			       " and j['processes'][0]['comm'] == 'fix\"ture\\n'"
			       " and j['processes'][0]['exit_code'] == 256"
			       " and len(j['findings']) == 2"
			       " and j['findings'][0]['fds'] == [3, 4, 5]"
			       " and j['findings'][0]['stack'][1]['line'] == 12"
			       " and j['findings'][0]['stack'][2]['offset'] == 0x2000"
			       " and j['findings'][1]['resource'] == 'a\"b\\\\c\\nd\\x01\\xff'"
			       " and j['findings'][1]['comm'] == '\\xff' * 16"
			       " and j['findings'][1]['fd'] == 0"
			       " and j['findings'][1]['stack'][0]['addr'] == '0x10'"
			       " and j['stats']['dropped'] == 3"),
		  0, "python3 strict parse and values");
	free(d.buf);
	lw_findings__free(&fs);
}

/* The checker itself must be able to fail, or json_parses proves nothing. */
LW_TEST(json_check_rejects_invalid)
{
	ASSERT_TRUE(python_check_q("{\"a\": \"\x01\"}\n", "True", true) > 0, "raw control char");
	ASSERT_TRUE(python_check_q("{\"a\": \"\xff\"}\n", "True", true) > 0, "invalid utf-8");
	ASSERT_TRUE(python_check_q("{\"a\": 1}\n", "j['a'] == 2", true) > 0, "failed check");
	ASSERT_EQ(python_check("{\"a\": 1}\n", "j['a'] == 1"), 0, "valid document");
}

LW_TEST(json_suppressed_and_empty)
{
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f;
	struct doc d;

	for (int i = 0; i < 2; i++) {
		f = lw_findings__add(&fs);
		f->kind = "fd-leak", f->pid = 1, f->count = 1, f->suppressed = true;
	}
	d = render("json", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_CONTAINS(d.buf, "  \"processes\": [],\n  \"findings\": [],\n", "empty arrays");
	ASSERT_CONTAINS(d.buf, "    \"suppressed\": 2\n", "suppressed counted");
	ASSERT_EQ(python_check(d.buf, "j['findings'] == [] and j['stats']['suppressed'] == 2"
				      " and j['complete'] is True"),
		  0, "python3 parse");
	free(d.buf);
	lw_findings__free(&fs);
}

/* A full disk must surface as -errno, for every format. */
LW_TEST(write_error)
{
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	const char *formats[] = {"text", "json", "junit", "folded"};

	add_fd_leak(&fs);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		FILE *f = fopen("/dev/full", "w");
		int rc;

		ASSERT_TRUE(f, "open /dev/full");
		rc = report__write(reporter__find(formats[i]), f, &m, &fs);
		fclose(f);
		ASSERT_EQ(rc, -ENOSPC, formats[i]);
	}
	lw_findings__free(&fs);
}

/* The fd kinds that are not plain leaks say what happened in words. */
LW_TEST(text_fd_kind_titles)
{
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f;
	struct doc d;

	f = lw_findings__add(&fs);
	f->kind = "fd-double-close", f->pid = 7, f->count = 1, f->fd = 3;
	f = lw_findings__add(&fs);
	f->kind = "fd-inherited", f->pid = 8, f->count = 2, f->fd = 3;
	f = lw_findings__add(&fs);
	f->kind = "fd-send-failed-leak", f->pid = 9, f->count = 1, f->fd = 4;
	d = render("text", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_CONTAINS(d.buf, "\nDouble close of fd 3 (fd-double-close) in pid 7 (",
			"double close");
	ASSERT_CONTAINS(d.buf,
			"\n2 file descriptors inherited across exec (fd-inherited) in pid 8 (",
			"inherited");
	ASSERT_CONTAINS(
	    d.buf,
	    "\nLeak of 1 file descriptor after a failed send (fd-send-failed-leak) in pid 9 (",
	    "send failed");
	free(d.buf);
	lw_findings__free(&fs);
}

/* A demangled name keeps the ELF's (JSON "mangled"); a nearest preceding
 * symbol is marked as a guess everywhere ("?", JSON "inexact").
 */
LW_TEST(frame_names_every_format)
{
	/* as the symbolizer stores them: the mangled name after the demangled */
	static const char names[] = "Realloc(void*, unsigned long)\0_ZL7ReallocPvm";
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	struct doc d;

	ASSERT_TRUE(f, "add");
	f->kind = "mem-leak", f->pid = 7, f->count = 1, f->bytes = 8, f->fd = -1;
	add_frame(f, 0x1010, "/usr/sbin/app", NULL, 0x10, "app.cc", 5);
	f->frames[0].symbol = malloc(sizeof(names));
	ASSERT_TRUE(f->frames[0].symbol, "malloc");
	memcpy(f->frames[0].symbol, names, sizeof(names));
	f->frames[0].mangled = f->frames[0].symbol + strlen(names) + 1;
	add_frame(f, 0x2234, "/usr/sbin/app", "ngx_exported", 0x1234, NULL, 0);
	f->frames[1].inexact = true;

	d = render("text", &m, &fs);
	ASSERT_EQ(d.rc, 0, "text");
	ASSERT_CONTAINS(d.buf, " in Realloc(void*, unsigned long)+0x10 (/usr/sbin/app) app.cc:5\n",
			"text: demangled");
	ASSERT_CONTAINS(d.buf, " in ngx_exported+0x1234? (/usr/sbin/app)\n", "text: inexact");
	free(d.buf);
	d = render("json", &m, &fs);
	ASSERT_EQ(d.rc, 0, "json");
	ASSERT_EQ(python_check(d.buf, "[(s['symbol'], s.get('mangled'), s.get('inexact'))"
				      " for s in j['findings'][0]['stack']] =="
				      " [('Realloc(void*, unsigned long)', '_ZL7ReallocPvm', None),"
				      " ('ngx_exported', None, True)]"),
		  0, "json: mangled and inexact, only where they apply");
	free(d.buf);
	d = render("folded", &m, &fs);
	ASSERT_EQ(d.rc, 0, "folded");
	ASSERT_CONTAINS(d.buf, "mem-leak;ngx_exported?;Realloc(void*,_unsigned_long) 8\n",
			"folded: demangled, inexact marked");
	free(d.buf);
	lw_findings__free(&fs);
}

/* run --inject / --fault-sweep: the fault on a finding and the run's summary */
static void add_faulted(struct lw_findings *fs)
{
	struct lw_finding *f = lw_findings__add(fs);
	struct lw_evidence *x;
	struct lw_sym_frame *fr;

	f->kind = "fd-leak", f->pid = 7, f->count = 1, f->fd = 6, f->cls = "dead";
	add_frame(f, 0x401000, "/srv", "router_handle", 8, "r.c", 9);
	f->fault = (struct lw_fault_note){.set = true,
					  .func = "malloc",
					  .err = 12,
					  .nth = 1,
					  .site = 0x9f2c0d1e22aa4b17ull,
					  .pid = 7,
					  .tid = 7,
					  .fired = 1,
					  .stack_idx = 0,
					  .rule = "malloc@port_msg_alloc:1"};
	x = &f->extra[f->nr_extra++];
	x->label = "injected fault at";
	x->stack.nr = 2;
	x->frames = calloc(2, sizeof(*x->frames));
	x->nr_frames = 2;
	fr = x->frames;
	fr[0] = (struct lw_sym_frame){.addr = 0x401100, .symbol = strdup("port_msg_alloc")};
	fr[1] = (struct lw_sym_frame){.addr = 0x401200, .symbol = strdup("app_forward")};
}

LW_TEST(report_fault_note_and_summary)
{
	static const struct lw_sweep_site sites[] = {
	    {.func = "malloc",
	     .err = 12,
	     .hash = 1,
	     .at = "port_msg_alloc <- app_forward",
	     .findings = 1,
	     .outcome = "findings"},
	    {.func = "malloc", .err = 12, .hash = 2, .at = "buf_alloc", .outcome = "clean"}};
	struct lw_report_meta m = base_meta();
	struct lw_findings fs = {0};
	struct doc d;

	add_faulted(&fs);
	m.fault.on = true;
	strcpy(m.fault.rules, "malloc@port_msg_alloc:1");
	m.fault.fired = 1;
	m.fault.procs = 2;
	d = render("text", &m, &fs);
	ASSERT_CONTAINS(d.buf,
			"  under injected fault: malloc failing with ENOMEM (call 1) at "
			"port_msg_alloc <- app_forward\n",
			"text note");
	ASSERT_CONTAINS(d.buf, "  injected fault at:\n    #0 0x401100 in port_msg_alloc", "stack");
	ASSERT_CONTAINS(d.buf,
			"faults injected: 1 (malloc@port_msg_alloc:1), the library ran in 2 "
			"process images (0 processes traced)",
			"summary");
	free(d.buf);
	d = render("json", &m, &fs);
	ASSERT_EQ(
	    python_check(d.buf,
			 "j['findings'][0]['fault']['errno_name'] == 'ENOMEM'"
			 " and j['findings'][0]['fault']['site'] == '9f2c0d1e22aa4b17'"
			 " and j['findings'][0]['fault']['stack'][0]['symbol'] == 'port_msg_alloc'"
			 " and j['faults'] == {'rules': 'malloc@port_msg_alloc:1', 'made': 1, "
			 "'processes': 2}"
			 " and j['sweep'] is None"),
	    0, "json");
	free(d.buf);
	m.fault.sweep = true;
	strcpy(m.fault.rules, "malloc");
	m.fault.sites = m.fault.runs = 2;
	m.fault.findings = 1;
	m.fault.site = sites;
	m.fault.nr_site = 2;
	d = render("json", &m, &fs);
	ASSERT_EQ(python_check(
		      d.buf,
		      "j['faults'] is None and j['sweep']['sites'] == 2"
		      " and [s['outcome'] for s in j['sweep']['per_site']] == ['findings', 'clean']"
		      " and j['sweep']['per_site'][0]['site'] == '0000000000000001'"),
		  0, "json sweep");
	free(d.buf);
	d = render("text", &m, &fs);
	ASSERT_CONTAINS(d.buf, "fault sweep (malloc): 2 sites, 2 runs, 1 findings under faults",
			"text sweep");
	ASSERT_CONTAINS(d.buf,
			"site 1: malloc at port_msg_alloc <- app_forward: findings (1 finding)",
			"text site");
	free(d.buf);
	lw_findings__free(&fs);
}
