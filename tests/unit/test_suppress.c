// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Suppression files: syntax errors, prefix scopes, substring vs glob. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "report/suppress.h"

static char err[256];

static struct suppressions *parse(const char *text)
{
	err[0] = '\0';
	return suppress__parse("supp.txt", text, err, sizeof(err));
}

/* A finding with one frame; frame strings point at literals (not freed). */
static struct lw_finding finding(const char *kind, const char *resource, const char *module,
				 const char *symbol)
{
	static struct lw_sym_frame frame;
	struct lw_finding f = {.kind = kind, .fd = 3};

	frame = (struct lw_sym_frame){
	    .addr = 0x1234, .module = (char *)module, .symbol = (char *)symbol};
	snprintf(f.resource, sizeof(f.resource), "%s", resource ? resource : "");
	f.frames = &frame;
	f.nr_frames = 1;
	return f;
}

static bool matches(const char *rules, const char *kind, const char *resource, const char *module,
		    const char *symbol)
{
	struct suppressions *s = parse(rules);
	struct lw_finding f = finding(kind, resource, module, symbol);
	bool m;

	if (!s) {
		fprintf(stderr, "  parse failed: %s\n", err);
		lw_test_failed = 1;
		return false;
	}
	m = suppress__match(s, &f);
	suppress__free(s);
	return m;
}

LW_TEST(supp_parse_ok)
{
	struct suppressions *s = parse("# comment\n\n   \t\n  leak:foo  \r\nfd-leak : bar\n"
				       "   # indented comment\nmem:*alloc*");
	const char *text;

	ASSERT_TRUE(s != NULL, "parsed");
	ASSERT_EQ(suppress__count(s), 3, "rules");
	ASSERT_EQ(suppress__hits(s, 0, &text), 0, "no hits yet");
	ASSERT_STREQ(text, "leak:foo", "trimmed text");
	suppress__hits(s, 1, &text);
	ASSERT_STREQ(text, "fd-leak : bar", "text as written");
	ASSERT_EQ(suppress__hits(s, 3, &text), 0, "out of range");
	ASSERT_TRUE(text == NULL, "out of range text");
	suppress__free(s);
	suppress__free(NULL);
	ASSERT_EQ(suppress__count(NULL), 0, "NULL count");
	s = parse("");
	ASSERT_EQ(suppress__count(s), 0, "empty file");
	suppress__free(s);
}

LW_TEST(supp_parse_errors)
{
	ASSERT_TRUE(parse("leak:ok\n\nbogus:foo\n") == NULL, "unknown prefix");
	ASSERT_STREQ(err, "supp.txt:3:1: unknown suppression type 'bogus'", "message");
	ASSERT_EQ(errno, EINVAL, "errno");
	ASSERT_TRUE(parse("  fd-leek:foo") == NULL, "typo in kind");
	ASSERT_STREQ(err, "supp.txt:1:3: unknown suppression type 'fd-leek'", "column");
	ASSERT_TRUE(parse("# c\n   leakfoo\n") == NULL, "missing colon");
	ASSERT_STREQ(err, "supp.txt:2:4: missing ':' (expected PREFIX:PATTERN)", "missing colon");
	ASSERT_TRUE(parse("leak:\n") == NULL, "empty pattern");
	ASSERT_STREQ(err, "supp.txt:1:6: empty pattern after ':'", "empty pattern");
	ASSERT_TRUE(parse("mem:   \n") == NULL, "blank pattern");
	ASSERT_STREQ(err, "supp.txt:1:5: empty pattern after ':'", "blank pattern");
	ASSERT_TRUE(parse("\n\n\t:foo") == NULL, "empty prefix");
	ASSERT_STREQ(err, "supp.txt:3:2: missing suppression type before ':'", "empty prefix");
	ASSERT_TRUE(parse("LEAK:foo") == NULL, "prefixes are case-sensitive");
	ASSERT_TRUE(strchr(err, '\n') == NULL, "one line");
}

LW_TEST(supp_load_file)
{
	char path[] = "/tmp/lw_supp_XXXXXX";
	int fd = mkstemp(path);
	struct suppressions *s;
	const char *text = "fd-leak:foo\nnope:bar\n";

	ASSERT_TRUE(fd >= 0, "mkstemp");
	ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text), "write");
	close(fd);
	s = suppress__load(path, err, sizeof(err));
	unlink(path);
	ASSERT_TRUE(s == NULL, "parse error");
	ASSERT_TRUE(!strncmp(err, path, strlen(path)), "message names the file");
	ASSERT_STREQ(err + strlen(path), ":2:1: unknown suppression type 'nope'", "message");
	s = suppress__load("/nonexistent/lw.supp", err, sizeof(err));
	ASSERT_TRUE(s == NULL, "missing file");
	ASSERT_STREQ(err, "/nonexistent/lw.supp: No such file or directory", "strerror");
	ASSERT_EQ(errno, ENOENT, "errno");
}

LW_TEST(supp_prefix_scopes)
{
	ASSERT_TRUE(matches("leak:x", "fd-leak", "x", NULL, NULL), "leak covers fd-leak");
	ASSERT_TRUE(matches("leak:x", "mem-leak", "x", NULL, NULL), "leak covers mem-leak");
	ASSERT_TRUE(matches("leak:x", "pair-leak", "x", NULL, NULL), "leak covers pair-leak");
	ASSERT_TRUE(matches("leak:x", "fd-send-failed-leak", "x", NULL, NULL), "send-failed");
	ASSERT_TRUE(matches("leak:x", "fd-in-flight-lost", "x", NULL, NULL), "in-flight-lost");
	ASSERT_TRUE(!matches("leak:x", "fd-double-close", "x", NULL, NULL), "not a leak kind");
	ASSERT_TRUE(!matches("leak:x", "mount-leftover", "x", NULL, NULL), "not a leak kind");
	ASSERT_TRUE(matches("fd:x", "fd-double-close", "x", NULL, NULL), "fd covers fd-*");
	ASSERT_TRUE(matches("fd:x", "fd-inherited", "x", NULL, NULL), "fd covers fd-*");
	ASSERT_TRUE(!matches("fd:x", "mem-leak", "x", NULL, NULL), "fd is not mem");
	ASSERT_TRUE(matches("mem:x", "mem-invalid-free", "x", NULL, NULL), "mem covers mem-*");
	ASSERT_TRUE(!matches("mem:x", "pair-underflow", "x", NULL, NULL), "mem is not pair");
	ASSERT_TRUE(matches("fd-leak:x", "fd-leak", "x", NULL, NULL), "exact kind");
	ASSERT_TRUE(!matches("fd-leak:x", "fd-send-failed-leak", "x", NULL, NULL), "exact only");
	ASSERT_TRUE(matches("respawn-storm:x", "respawn-storm", "x", NULL, NULL), "respawn");
	ASSERT_TRUE(matches("mount-race:x", "mount-race", "x", NULL, NULL), "mount-race");
}

LW_TEST(supp_substring_vs_glob)
{
	ASSERT_TRUE(matches("leak:open", "fd-leak", "", "/bin/a", "my_open_file"),
		    "no wildcard: substring");
	ASSERT_TRUE(!matches("leak:open*", "fd-leak", "", "/bin/a", "my_open_file"),
		    "glob matches the whole symbol");
	ASSERT_TRUE(matches("leak:open*", "fd-leak", "", "/bin/a", "open_file"), "glob prefix");
	ASSERT_TRUE(matches("leak:my_open_?ile", "fd-leak", "", "/bin/a", "my_open_file"),
		    "? glob");
	ASSERT_TRUE(matches("leak:[mn]y_open_file", "fd-leak", "", "/bin/a", "my_open_file"),
		    "[] glob");
	ASSERT_TRUE(!matches("leak:close", "fd-leak", "", "/bin/a", "my_open_file"), "no match");
	ASSERT_TRUE(!matches("leak:open", "fd-leak", "", NULL, NULL), "no frame strings");
}

LW_TEST(supp_module_and_resource)
{
	ASSERT_TRUE(matches("leak:libfoo.so*", "fd-leak", "", "/usr/lib/libfoo.so.1", "f"),
		    "module basename glob");
	ASSERT_TRUE(matches("leak:/usr/lib/*", "fd-leak", "", "/usr/lib/libfoo.so.1", "f"),
		    "module full path glob");
	ASSERT_TRUE(!matches("leak:libfoo.so", "fd-leak", "", "/usr/lib/libbar.so", "f"),
		    "other module");
	ASSERT_TRUE(matches("fd-leak:/etc/passwd", "fd-leak", "/etc/passwd", NULL, NULL),
		    "resource substring");
	ASSERT_TRUE(
	    matches("fd:socket:*", "fd-leak", "socket:[12] (AF_UNIX, SOCK_STREAM)", NULL, NULL),
	    "pattern containing ':'");
	ASSERT_TRUE(!matches("fd:pipe:*", "fd-leak", "socket:[12]", NULL, NULL), "other resource");
}

LW_TEST(supp_hits_first_rule)
{
	struct suppressions *s = parse("fd-leak:nothing\nleak:foo\nfd:foo\n");
	struct lw_finding f = finding("fd-leak", "/foo", NULL, NULL);
	struct lw_finding g = finding("fd-double-close", "/foo", NULL, NULL);
	struct lw_finding h = finding("fd-leak", "/bar", NULL, NULL);
	const char *text;

	ASSERT_TRUE(s != NULL, "parsed");
	ASSERT_TRUE(suppress__match(s, &f), "f");
	ASSERT_TRUE(suppress__match(s, &f), "f again");
	ASSERT_TRUE(suppress__match(s, &g), "g");
	ASSERT_TRUE(!suppress__match(s, &h), "h");
	ASSERT_EQ(suppress__hits(s, 0, NULL), 0, "rule 0");
	ASSERT_EQ(suppress__hits(s, 1, &text), 2, "rule 1: first match only");
	ASSERT_STREQ(text, "leak:foo", "rule 1 text");
	ASSERT_EQ(suppress__hits(s, 2, NULL), 1, "rule 2");
	ASSERT_TRUE(!suppress__match(NULL, &f), "NULL set");
	f.kind = NULL;
	ASSERT_TRUE(!suppress__match(s, &f), "NULL kind");
	suppress__free(s);
}

/* C++ frames match by either spelling; a nearest-preceding guess matches
 * by module only, never by the other function's name.
 */
LW_TEST(supp_mangled_and_inexact_frames)
{
	struct suppressions *s = parse("leak:ns::Pool::grab*\nleak:_ZN2ns4Pool4grab*\n"
				       "leak:ngx_exported\nleak:libguess.so");
	struct lw_finding f = finding("fd-leak", NULL, "/usr/lib/libx.so", "ns::Pool::grab(int)");
	const char *text;

	ASSERT_TRUE(s, "parsed");
	f.frames[0].mangled = "_ZN2ns4Pool4grabEi";
	ASSERT_TRUE(suppress__match(s, &f), "demangled name");
	ASSERT_EQ(suppress__hits(s, 0, &text), 1, "by the first rule");
	f.frames[0].symbol = "other(int)";
	ASSERT_TRUE(suppress__match(s, &f), "mangled name");
	ASSERT_EQ(suppress__hits(s, 1, &text), 1, "by the second rule");
	f.frames[0].symbol = "ngx_exported";
	f.frames[0].mangled = NULL;
	f.frames[0].inexact = true;
	ASSERT_TRUE(!suppress__match(s, &f), "a guess names another function");
	f.frames[0].module = "/usr/lib/libguess.so";
	ASSERT_TRUE(suppress__match(s, &f), "its module still counts");
	suppress__free(s);
}
