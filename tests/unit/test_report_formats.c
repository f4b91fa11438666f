// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JUnit and folded reporters, and per-report reporter state: exact output for
 * hand-built findings, escaping of hostile names, and that the XML parses
 * under python3's expat (missing python3 is a failure, not a skip).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include "harness.h"
#include "report/report.h"
#include "report_helpers.h"
/* these goldens were written with a 1040 ms run */
static struct lw_report_meta fmt_meta(void)
{
	struct lw_report_meta m = base_meta();

	m.duration_ms = 1040;
	return m;
}

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

/* Innermost first, as the symbolizer fills them: open64 in libc is frame 0. */
static struct lw_finding *add_fd_leak(struct lw_findings *fs)
{
	struct lw_finding *f = lw_findings__add(fs);

	f->kind = "fd-leak";
	f->pid = f->tid = 1234;
	strcpy(f->comm, "fixture_leak");
	f->fd = 3, f->nr_fds = 3, f->count = 3, f->age_ms = 12;
	f->fds[0] = 3, f->fds[1] = 4, f->fds[2] = 5;
	strcpy(f->resource, "/tmp/x");
	add_frame(f, 0x7f1200001000, LIBC, "open64", 0x5b, NULL, 0);
	add_frame(f, 0x555500001234, "/path/fixture", "leak_file", 0x1c, "fd_leak.c", 12);
	add_frame(f, 0x555500001300, "/path/fixture", "main", 0x20, "fd_leak.c", 30);
	add_frame(f, 0x7f1200002000, LIBC, "__libc_start_main", 0x80, NULL, 0);
	add_frame(f, 0x555500000100, "/path/fixture", "_start", 0x25, NULL, 0);
	return f;
}

static struct lw_finding *add_mem_leak(struct lw_findings *fs)
{
	struct lw_finding *f = lw_findings__add(fs);

	f->kind = "mem-leak";
	f->pid = 1240, f->tid = 1241;
	strcpy(f->comm, "child");
	f->fd = -1, f->bytes = 48, f->count = 2, f->age_ms = 6, f->growing = true;
	add_frame(f, 0x7f1200003000, LIBC, "malloc", 0x1a, NULL, 0);
	add_frame(f, 0x555500003000, "/path/fixture", "make_buf", 0x10, "buf.c", 7);
	return f;
}

/* Feed doc to python3 on stdin and exit non-zero unless it is well-formed XML
 * and the Python expression check (over d, the parsed document) holds. Exit
 * 127 (python3 missing) fails the test like any other non-zero status.
 */
static int xml_check_q(const char *doc, const char *check, bool quiet)
{
	char cmd[512];
	void (*old)(int);
	FILE *p;
	int st;

	if (setenv("LW_XML_CHECK", check, 1))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s%s",
		 "python3 -c 'import os, sys, xml.dom.minidom\n"
		 "d = xml.dom.minidom.parse(sys.stdin.buffer)\n"
		 "assert eval(os.environ[\"LW_XML_CHECK\"]), os.environ[\"LW_XML_CHECK\"]'",
		 quiet ? " 2>/dev/null" : "");
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
		fprintf(stderr, "  python3 not found: the XML parse check cannot run\n");
	return WEXITSTATUS(st);
}

static int xml_check(const char *doc, const char *check)
{
	return xml_check_q(doc, check, false);
}

/* tests/failures agree with the testcases and failures actually present. */
#define JUNIT_CONSISTENT                                                                           \
	"d.documentElement.tagName == 'testsuite'"                                                 \
	" and d.documentElement.getAttribute('name') == 'leakwatch'"                               \
	" and int(d.documentElement.getAttribute('tests'))"                                        \
	" == len(d.getElementsByTagName('testcase'))"                                              \
	" and int(d.documentElement.getAttribute('failures'))"                                     \
	" == len(d.getElementsByTagName('failure'))"

LW_TEST(report_find_all_formats)
{
	const char *names[] = {"text", "json", "junit", "folded"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct reporter_ops *ops = reporter__find(names[i]);

		ASSERT_TRUE(ops && !strcmp(ops->name, names[i]), names[i]);
		ASSERT_TRUE(ops->begin && ops->finding && ops->end, names[i]);
	}
	ASSERT_TRUE(!reporter__find("JUNIT"), "names are exact");
	ASSERT_TRUE(!reporter__find("fold"), "no prefix match");
}

/* Two reports written interleaved through their own contexts: each SUMMARY
 * counts only its own findings, which file-scope state could not do.
 */
LW_TEST(report_contexts_independent)
{
	const struct reporter_ops *ops = reporter__find("text");
	struct lw_report_meta m = fmt_meta();
	struct lw_findings fs = {0};
	struct lw_reporter r[2] = {0};
	char *buf[2] = {0};
	size_t len[2];

	add_fd_leak(&fs);
	add_mem_leak(&fs);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct lw_reporter){ops, open_memstream(&buf[i], &len[i]),
					    calloc(1, ops->priv_size), 1, 1};
		ASSERT_TRUE(r[i].out && r[i].priv, "context");
		ASSERT_EQ(ops->begin(&r[i], &m), 0, "begin");
	}
	ASSERT_EQ(ops->finding(&r[0], &fs.v[0]), 0, "finding 0");
	ASSERT_EQ(ops->finding(&r[1], &fs.v[1]), 0, "finding 1");
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(ops->end(&r[i], &m, 1), 0, "end");
		fclose(r[i].out);
		free(r[i].priv);
	}
	ASSERT_CONTAINS(buf[0], "SUMMARY: leakwatch: 1 finding: 1 fd-leak (0 suppressed)\n",
			"first");
	ASSERT_CONTAINS(buf[1], "SUMMARY: leakwatch: 1 finding: 1 mem-leak (0 suppressed)\n",
			"second");
	free(buf[0]);
	free(buf[1]);
	lw_findings__free(&fs);
}

/* Failures carry the text report's block; the suppressed finding is counted
 * in properties, not listed; properties show the loss.
 */
LW_TEST(report_junit_golden)
{
	static const char want[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuite name=\"leakwatch\" tests=\"2\" failures=\"2\" errors=\"0\" skipped=\"0\" "
	    "time=\"1.040\">\n"
	    "  <properties>\n"
	    "    <property name=\"tool_version\" value=\"0.1.0\"/>\n"
	    "    <property name=\"mode\" value=\"run\"/>\n"
	    "    <property name=\"command\" value=\"./fixture_leak --n 3\"/>\n"
	    "    <property name=\"pid\" value=\"1234\"/>\n"
	    "    <property name=\"complete\" value=\"false\"/>\n"
	    "    <property name=\"incomplete_reason\" value=\"target exited early\"/>\n"
	    "    <property name=\"events\" value=\"17\"/>\n"
	    "    <property name=\"dropped\" value=\"2\"/>\n"
	    "    <property name=\"target_full\" value=\"0\"/>\n"
	    "    <property name=\"cfi_full\" value=\"1\"/>\n"
	    "    <property name=\"stack_partial\" value=\"4\"/>\n"
	    "    <property name=\"slice_bytes\" value=\"2048\"/>\n"
	    "    <property name=\"stack_memo\" value=\"0\"/>\n"
	    "    <property name=\"alloc_full\" value=\"0\"/>\n"
	    "    <property name=\"stackmap_full\" value=\"0\"/>\n"
	    "    <property name=\"mem_pending_full\" value=\"0\"/>\n"
	    "    <property name=\"reconciled\" value=\"0\"/>\n"
	    "    <property name=\"suppressed\" value=\"1\"/>\n"
	    "  </properties>\n"
	    "  <testcase classname=\"fd-leak\" name=\"fd-leak pid 1234 fd 3 at leak_file\">\n"
	    "    <failure message=\"Leak of 3 file descriptors (fd-leak) in pid 1234 "
	    "(fixture_leak), oldest 12 ms\" type=\"fd-leak\">"
	    "Leak of 3 file descriptors (fd-leak) in pid 1234 (fixture_leak), oldest 12 ms\n"
	    "  fds: 3, 4, 5\n"
	    "  resource: /tmp/x (first)\n"
	    "    #0 0x7f1200001000 in open64+0x5b (" LIBC ")\n"
	    "    #1 0x555500001234 in leak_file+0x1c (/path/fixture) fd_leak.c:12\n"
	    "    #2 0x555500001300 in main+0x20 (/path/fixture) fd_leak.c:30\n"
	    "    #3 0x7f1200002000 in __libc_start_main+0x80 (" LIBC ")\n"
	    "    #4 0x555500000100 in _start+0x25 (/path/fixture)\n"
	    "</failure>\n"
	    "  </testcase>\n"
	    "  <testcase classname=\"mem-leak\" name=\"mem-leak pid 1240 at make_buf\">\n"
	    "    <failure message=\"Leak of 48 bytes in 2 objects (mem-leak) in pid 1240 tid 1241 "
	    "(child), oldest 6 ms\" type=\"mem-leak\">"
	    "Leak of 48 bytes in 2 objects (mem-leak) in pid 1240 tid 1241 (child), oldest 6 ms\n"
	    "  GROWING: live count kept rising\n"
	    "    #0 0x7f1200003000 in malloc+0x1a (" LIBC ")\n"
	    "    #1 0x555500003000 in make_buf+0x10 (/path/fixture) buf.c:7\n"
	    "</failure>\n"
	    "  </testcase>\n"
	    "</testsuite>\n";
	struct lw_report_meta m = fmt_meta();
	struct lw_findings fs = {0};
	struct lw_finding *g;
	struct doc d;

	add_fd_leak(&fs);
	add_mem_leak(&fs);
	g = lw_findings__add(&fs);
	g->kind = "fd-leak", g->pid = 4321, g->count = 1, g->suppressed = true;
	m.incomplete_reason = "target exited early";
	m.stats.dropped = 2, m.stats.cfi_full = 1, m.stats.stack_partial = 4,
	m.stats.slice_bytes = 2048;
	d = render("junit", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_STREQ(d.buf, want, "junit report");
	ASSERT_EQ(xml_check(d.buf,
			    JUNIT_CONSISTENT " and len(d.getElementsByTagName('failure')) == 2"
					     " and d.getElementsByTagName('failure')[1]"
					     ".getAttribute('type') == 'mem-leak'"),
		  0, "python3 parse");
	free(d.buf);
	lw_findings__free(&fs);
}

/* A kind that does not gate is listed as a passing testcase: its block in
 * system-out, not a failure.
 */
LW_TEST(report_junit_held_passes)
{
	struct lw_report_meta m = fmt_meta();
	struct lw_findings fs = {0};
	struct lw_finding *h;
	struct doc d;

	add_fd_leak(&fs);
	h = add_fd_leak(&fs);
	h->kind = "fd-held", h->cls = "held", h->fd = 255, h->nr_fds = 1, h->fds[0] = 255;
	d = render("junit", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_CONTAINS(d.buf, "tests=\"2\" failures=\"1\"", "one failure of two");
	ASSERT_CONTAINS(d.buf,
			"<testcase classname=\"fd-held\" name=\"fd-held pid 1234 fd 255 at "
			"leak_file\">\n    <system-out>3 file descriptors still open, not a leak",
			"held: system-out");
	ASSERT_EQ(xml_check(d.buf,
			    JUNIT_CONSISTENT " and len(d.getElementsByTagName('failure')) == 1"
					     " and len(d.getElementsByTagName('system-out')) == 1"),
		  0, "python3 parse");
	free(d.buf);
	lw_findings__free(&fs);
}

/* The failure body is exactly the block the text report prints. */
LW_TEST(report_junit_body_is_text_block)
{
	struct lw_report_meta m = fmt_meta();
	struct lw_findings fs = {0};
	struct doc text, junit;
	char *block, *end;

	add_mem_leak(&fs);
	text = render("text", &m, &fs);
	junit = render("junit", &m, &fs);
	ASSERT_EQ(text.rc, 0, "text");
	ASSERT_EQ(junit.rc, 0, "junit");
	/* The block runs from after the header's blank line to the next blank line. */
	block = strstr(text.buf, "\n\n");
	ASSERT_TRUE(block, "text header");
	block += 2;
	end = strstr(block, "\n\n");
	ASSERT_TRUE(end, "text block end");
	end[1] = 0;
	ASSERT_CONTAINS(junit.buf, block, "junit failure body");
	ASSERT_CONTAINS(strstr(junit.buf, block) - strlen("type=\"mem-leak\">"),
			"type=\"mem-leak\">Leak of", "body starts at the block");
	ASSERT_CONTAINS(strstr(junit.buf, block) + strlen(block), "</failure>", "and ends there");
	ASSERT_TRUE(strstr(strstr(junit.buf, block) + strlen(block), "</failure>") ==
			strstr(junit.buf, block) + strlen(block),
		    "nothing between block and </failure>");
	free(text.buf);
	free(junit.buf);
	lw_findings__free(&fs);
}

/* No findings (all suppressed): one passing testcase so CI shows green. */
LW_TEST(report_junit_no_findings)
{
	static const char want[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuite name=\"leakwatch\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\" "
	    "time=\"0.005\">\n"
	    "  <properties>\n"
	    "    <property name=\"tool_version\" value=\"0.1.0\"/>\n"
	    "    <property name=\"mode\" value=\"attach\"/>\n"
	    "    <property name=\"pid\" value=\"77\"/>\n"
	    "    <property name=\"complete\" value=\"true\"/>\n"
	    "    <property name=\"events\" value=\"17\"/>\n"
	    "    <property name=\"dropped\" value=\"0\"/>\n"
	    "    <property name=\"target_full\" value=\"0\"/>\n"
	    "    <property name=\"cfi_full\" value=\"0\"/>\n"
	    "    <property name=\"stack_partial\" value=\"0\"/>\n"
	    "    <property name=\"slice_bytes\" value=\"0\"/>\n"
	    "    <property name=\"stack_memo\" value=\"0\"/>\n"
	    "    <property name=\"alloc_full\" value=\"0\"/>\n"
	    "    <property name=\"stackmap_full\" value=\"0\"/>\n"
	    "    <property name=\"mem_pending_full\" value=\"0\"/>\n"
	    "    <property name=\"reconciled\" value=\"3\"/>\n"
	    "    <property name=\"suppressed\" value=\"2\"/>\n"
	    "  </properties>\n"
	    "  <testcase classname=\"leakwatch\" name=\"no leaks\"/>\n"
	    "</testsuite>\n";
	struct lw_report_meta m = fmt_meta();
	struct lw_findings fs = {0};
	struct doc d;

	for (int i = 0; i < 2; i++)
		add_fd_leak(&fs)->suppressed = true;
	m.mode = "attach", m.command = NULL, m.pid = 77, m.duration_ms = 5, m.reconciled = 3;
	d = render("junit", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_STREQ(d.buf, want, "junit report");
	ASSERT_EQ(xml_check(d.buf, JUNIT_CONSISTENT " and d.getElementsByTagName('testcase')[0]"
						    ".getAttribute('name') == 'no leaks'"),
		  0, "python3 parse");
	free(d.buf);
	/* No findings list at all is the same green report. */
	d = render("junit", &m, NULL);
	ASSERT_CONTAINS(d.buf, "tests=\"1\" failures=\"0\"", "NULL findings");
	ASSERT_CONTAINS(d.buf, "<testcase classname=\"leakwatch\" name=\"no leaks\"/>", "green");
	free(d.buf);
	lw_findings__free(&fs);
}

/* Hostile strings from the target: markup characters, C0 controls (not even
 * allowed as character references in XML 1.0), invalid UTF-8, U+FFFE.
 */
LW_TEST(report_junit_escaping)
{
	struct lw_report_meta m = fmt_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	struct doc d;

	f->kind = "fd-leak", f->pid = 9, f->fd = 4, f->count = 1;
	memset(f->comm, 0xff, sizeof(f->comm)); /* no NUL, not UTF-8 */
	strcpy(f->resource, "/tmp/<a>&\"b'\x01\x1b\x7f\r\tcaf\xc3\xa9\xef\xbf\xbe]]>");
	add_frame(f, 0x10, "/bin/evil", "ev<il>&\"'\\\n\x02\xc0\xaf", 0, NULL, 0);
	m.command = "cat \"a&b\" <in\x08 \xe2\x82";
	m.incomplete_reason = "line\nbreak";
	d = render("junit", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_CONTAINS(d.buf,
			"<property name=\"command\" value=\"cat &quot;a&amp;b&quot; &lt;in\\x08 "
			"\\xe2\\x82\"/>",
			"command: markup, control, truncated sequence");
	ASSERT_CONTAINS(d.buf, "<property name=\"incomplete_reason\" value=\"line\\x0abreak\"/>",
			"newline in attribute");
	ASSERT_CONTAINS(d.buf,
			"name=\"fd-leak pid 9 fd 4 at ev&lt;il&gt;&amp;&quot;&apos;\\x5c\\x0a\\x02"
			"\\xc0\\xaf\">",
			"testcase name");
	ASSERT_CONTAINS(
	    d.buf,
	    "(fd-leak) in pid 9 (\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff"
	    "\\xff\\xff\\xff\\xff\\xff), oldest 0 ms\" type=\"fd-leak\">",
	    "bounded comm in message, invalid UTF-8 escaped");
	ASSERT_CONTAINS(
	    d.buf,
	    "  resource: /tmp/&lt;a&gt;&amp;&quot;b&apos;\\x01\\x1b\\x7f\\x0d\\x09caf\xc3\xa9"
	    "\\xef\\xbf\\xbe]]&gt;\n",
	    "resource in body: UTF-8 kept, U+FFFE escaped");
	ASSERT_CONTAINS(d.buf,
			"#0 0x10 in ev&lt;il&gt;&amp;&quot;&apos;\\x5c\\x0a\\x02\\xc0\\xaf "
			"(/bin/evil)\n",
			"symbol in body: escaped once, not twice");
	ASSERT_EQ(
	    xml_check(d.buf, JUNIT_CONSISTENT
		      " and d.getElementsByTagName('testcase')[0].getAttribute('name')"
		      " == 'fd-leak pid 9 fd 4 at ev<il>&\"\\'\\\\x5c\\\\x0a\\\\x02\\\\xc0\\\\xaf'"
		      " and 'caf\\u00e9' in d.getElementsByTagName('failure')[0]"
		      ".firstChild.data"),
	    0, "python3 parse and values");
	free(d.buf);
	lw_findings__free(&fs);
}

/* The checker itself must be able to fail, or the parse checks prove nothing. */
LW_TEST(report_junit_check_rejects_invalid)
{
	ASSERT_TRUE(xml_check_q("<a>\x01</a>", "True", true) > 0, "raw control char");
	ASSERT_TRUE(xml_check_q("<a>&#1;</a>", "True", true) > 0, "control char reference");
	ASSERT_TRUE(xml_check_q("<a>\xff</a>", "True", true) > 0, "invalid utf-8");
	ASSERT_TRUE(xml_check_q("<a b=\"&\"/>", "True", true) > 0, "bare ampersand");
	ASSERT_TRUE(xml_check_q("<testsuite tests=\"2\" failures=\"0\" name=\"leakwatch\">"
				"<testcase/></testsuite>",
				JUNIT_CONSISTENT, true) > 0,
		    "inconsistent counts");
	ASSERT_EQ(xml_check("<a>ok</a>", "d.documentElement.firstChild.data == 'ok'"), 0,
		  "valid document");
}

/* Outermost frame first after the kind, value is bytes for memory. */
LW_TEST(report_folded_golden)
{
	static const char want[] = "fd-leak;_start;__libc_start_main;main;leak_file;open64 3\n"
				   "mem-leak;make_buf;malloc 48\n"
				   "mem-double-free;[unknown];[unknown] 1\n"
				   "fd-leak;[truncated] 7\n"
				   "pair-leak;[incomplete];[unknown] 2\n";
	struct lw_report_meta m = fmt_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f;
	struct doc d;

	add_fd_leak(&fs);
	add_mem_leak(&fs);
	add_fd_leak(&fs)->suppressed = true;
	f = lw_findings__add(&fs); /* not symbolized: raw pcs only */
	f->kind = "mem-double-free", f->count = 1;
	f->stack.nr = 2, f->stack.ips[0] = 0x401000, f->stack.ips[1] = 0x402000;
	f = lw_findings__add(&fs); /* no stack at all */
	f->kind = "fd-leak", f->count = 7, f->stack.flags = LW_STK_TRUNCATED;
	f = lw_findings__add(&fs);
	f->kind = "pair-leak", f->count = 2, f->bytes = 99, f->stack.flags = LW_STK_PARTIAL;
	add_frame(f, 0x10, NULL, NULL, 0, NULL, 0);
	d = render("folded", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_STREQ(d.buf, want, "folded report");
	free(d.buf);

	d = render("folded", &m, NULL);
	ASSERT_EQ(d.rc, 0, "report__write, no findings");
	ASSERT_STREQ(d.buf, "", "no findings: no lines");
	free(d.buf);
	lw_findings__free(&fs);
}

/* A folded line parses as flamegraph.pl reads it: frames without ' ' or
 * ';' or controls, none empty, then one space and a decimal count.
 */
static bool folded_line_ok(const char *s, size_t n)
{
	size_t sp = n, frame = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (sp < n) {
			if (c < '0' || c > '9')
				return false;
			continue;
		}
		if (c == ' ') {
			sp = i;
		} else if (c == ';') {
			if (!frame)
				return false;
			frame = 0;
			continue;
		} else if (c < 0x20 || c == 0x7f) {
			return false;
		}
		frame++;
	}
	return sp < n && sp + 1 < n && frame > 1;
}

static int folded_bad_lines(const char *doc)
{
	int bad = 0;

	for (const char *nl; (nl = strchr(doc, '\n')); doc = nl + 1)
		bad += !folded_line_ok(doc, nl - doc);
	return bad + !!*doc; /* a last line without '\n' is bad too */
}

LW_TEST(report_folded_check_rejects_invalid)
{
	ASSERT_EQ(folded_bad_lines("a;b 3\nk 1\n"), 0, "valid lines");
	ASSERT_EQ(folded_bad_lines("a;b c 3\n"), 1, "space in a frame");
	ASSERT_EQ(folded_bad_lines("a;;b 3\n"), 1, "empty frame");
	ASSERT_EQ(folded_bad_lines("a;b\x01 3\n"), 1, "control");
	ASSERT_EQ(folded_bad_lines("a;b 3x\n"), 1, "count not a number");
	ASSERT_EQ(folded_bad_lines("a;b\n"), 1, "no count");
	ASSERT_EQ(folded_bad_lines("a;b 3"), 1, "unterminated");
}

/* Separators and controls inside names cannot split frames or lines. */
LW_TEST(report_folded_escaping)
{
	struct lw_report_meta m = fmt_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	struct doc d;

	f->kind = "fd-leak", f->count = 1;
	add_frame(f, 0x10, "/x", "a;b c\nd\te\x7f\xc3\xa9", 0, NULL, 0);
	add_frame(f, 0x20, "/dir with space/lib;x.so", NULL, 0x40, NULL, 0);
	add_frame(f, 0x30, "/x", "operator new(unsigned long)", 0, NULL, 0);
	d = render("folded", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_STREQ(d.buf,
		     "fd-leak;operator_new(unsigned_long);lib_x.so+0x40;a_b_c_d_e_\xc3\xa9 1\n",
		     "names with separators");
	ASSERT_EQ(folded_bad_lines(d.buf), 0, "parseable");
	free(d.buf);
	lw_findings__free(&fs);
}

/* Every shape of frame the symbolizer can leave unnamed. */
LW_TEST(report_folded_unknown_frames)
{
	struct lw_report_meta m = fmt_meta();
	struct lw_findings fs = {0};
	struct lw_finding *f = lw_findings__add(&fs);
	struct doc d;

	f->kind = "mem-leak", f->count = 4; /* bytes 0: the count is the value */
	add_frame(f, 0x10, "/lib/libx.so.1", NULL, 0x1234, NULL, 0);
	add_frame(f, 0x20, "/lib/liby.so", NULL, 0, NULL, 0); /* offset unknown */
	add_frame(f, 0x30, "/lib/libz.so", "", 0, NULL, 0);   /* empty symbol */
	add_frame(f, 0x40, NULL, NULL, 0, NULL, 0);
	add_frame(f, 0x50, NULL, "known", 0, NULL, 0);
	f = lw_findings__add(&fs);
	f->kind = NULL, f->count = 1; /* kind missing, raw stack beyond the bound */
	f->stack.nr = LW_STACK_MAX + 5;
	d = render("folded", &m, &fs);
	ASSERT_EQ(d.rc, 0, "report__write");
	ASSERT_CONTAINS(d.buf, "mem-leak;known;[unknown];[libz.so];[liby.so];libx.so.1+0x1234 4\n",
			"unnamed frames");
	ASSERT_CONTAINS(d.buf, "\nunknown;[unknown];", "missing kind");
	ASSERT_EQ(folded_bad_lines(d.buf), 0, "parseable");
	/* Raw frames are bounded by LW_STACK_MAX. */
	{
		const char *line = strchr(d.buf, '\n') + 1;
		int frames = 0;

		for (const char *p = line; *p && *p != '\n'; p++)
			frames += *p == ';';
		ASSERT_EQ(frames, LW_STACK_MAX, "raw frames bounded");
	}
	free(d.buf);
	lw_findings__free(&fs);
}
