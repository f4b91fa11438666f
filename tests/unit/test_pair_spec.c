// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pair rule tables: spec files, --pair, built-in profiles, validation. */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include "harness.h"
#include "detect/pair/pair_spec.h"

static char err[512];

static int parse(struct lw_pair_spec *s, const char *text)
{
	err[0] = '\0';
	return pair_spec__parse_text(s, "spec.txt", text, err, sizeof(err));
}

static int compact(struct lw_pair_spec *s, const char *arg)
{
	err[0] = '\0';
	return pair_spec__parse_compact(s, arg, err, sizeof(err));
}

static const char example[] =
    "# pools\n"
    "pj_pool  acquire  pj_pool_create   ret\n"
    "pj_pool  release  pj_pool_release  arg0   # trailing comment\n"
    "\n"
    "\tnxt_mp\tacquire nxt_mp_create ret\r\n"
    "nxt_mp   retain   nxt_mp_retain    arg0\n"
    "nxt_mp   release  nxt_mp_release   arg0\n"
    "nxt_mp   destroy  nxt_mp_destroy   arg0\n"
    "   \n"
    "gnutls_session acquire gnutls_init *arg0 in libgnutls.so*\n"
    "gnutls_session release gnutls_deinit arg5 in /usr/lib/libgnutls.so.30";

LW_TEST(pair_spec_file_happy)
{
	struct lw_pair_spec s = {};
	const struct lw_pair_rule *r;

	ASSERT_EQ(parse(&s, example), 0, "parse");
	ASSERT_EQ(s.n, 8, "rules");
	r = &s.v[0];
	ASSERT_STREQ(r->resource, "pj_pool", "resource");
	ASSERT_EQ(r->op, LW_PAIR_ACQUIRE, "op");
	ASSERT_STREQ(r->func, "pj_pool_create", "func");
	ASSERT_EQ(r->how, LW_PAIR_H_RET, "how");
	ASSERT_STREQ(r->module, "", "no module");
	r = &s.v[1];
	ASSERT_EQ(r->op, LW_PAIR_RELEASE, "release");
	ASSERT_EQ(r->how, LW_PAIR_H_ARG, "arg");
	ASSERT_EQ(r->argn, 0, "arg0");
	ASSERT_STREQ(s.v[2].resource, "nxt_mp", "tabs and CR");
	ASSERT_EQ(s.v[3].op, LW_PAIR_RETAIN, "retain");
	ASSERT_EQ(s.v[5].op, LW_PAIR_DESTROY, "destroy");
	r = &s.v[6];
	ASSERT_EQ(r->how, LW_PAIR_H_OUTARG, "out-parameter");
	ASSERT_EQ(r->argn, 0, "*arg0");
	ASSERT_STREQ(r->module, "libgnutls.so*", "module glob");
	ASSERT_EQ(s.v[7].argn, 5, "arg5");
	ASSERT_STREQ(s.v[7].module, "/usr/lib/libgnutls.so.30", "module path");
	ASSERT_EQ(pair_spec__validate(&s, err, sizeof(err)), 0, "validate");
	pair_spec__free(&s);
	ASSERT_EQ(s.n, 0, "freed");
	ASSERT_TRUE(s.v == NULL, "freed v");
	pair_spec__free(NULL);
}

LW_TEST(pair_spec_file_io)
{
	char path[] = "/tmp/lw-pair-spec-XXXXXX";
	struct lw_pair_spec s = {};
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0, "mkstemp");
	ASSERT_EQ(write(fd, example, strlen(example)), (long long)strlen(example), "write");
	close(fd);
	ASSERT_EQ(pair_spec__parse_file(&s, path, err, sizeof(err)), 0, "parse_file");
	ASSERT_EQ(s.n, 8, "rules");
	pair_spec__free(&s);
	fd = open(path, O_WRONLY | O_TRUNC);
	ASSERT_TRUE(fd >= 0, "reopen");
	ASSERT_EQ(write(fd, "x acquire f ret\nx release g arg0\nx grab h ret\n", 46), 46, "write");
	close(fd);
	ASSERT_EQ(pair_spec__parse_file(&s, path, err, sizeof(err)), -EINVAL, "bad file");
	ASSERT_TRUE(!strncmp(err, path, strlen(path)), "message starts with the path");
	ASSERT_STREQ(
	    err + strlen(path),
	    ":3:3: unknown operation 'grab' (expected acquire, retain, release or destroy)",
	    "message");
	ASSERT_EQ(s.n, 0, "nothing kept");
	unlink(path);
	ASSERT_EQ(pair_spec__parse_file(&s, path, err, sizeof(err)), -ENOENT, "missing file");
	ASSERT_TRUE(!strncmp(err, path, strlen(path)), "path");
	ASSERT_STREQ(err + strlen(path), ": No such file or directory", "strerror");
	pair_spec__free(&s);
}

LW_TEST(pair_spec_compact_happy)
{
	struct lw_pair_spec s = {};

	ASSERT_EQ(compact(&s, "ssl:SSL_new(ret)/SSL_free(arg0)"), 0, "ssl");
	ASSERT_EQ(s.n, 2, "two rules");
	ASSERT_STREQ(s.v[0].resource, "ssl", "resource");
	ASSERT_STREQ(s.v[0].func, "SSL_new", "func");
	ASSERT_EQ(s.v[0].op, LW_PAIR_ACQUIRE, "first is acquire");
	ASSERT_EQ(s.v[0].how, LW_PAIR_H_RET, "ret");
	ASSERT_EQ(s.v[1].op, LW_PAIR_RELEASE, "later unprefixed is release");
	ASSERT_EQ(s.v[1].how, LW_PAIR_H_ARG, "arg");
	ASSERT_STREQ(s.v[1].module, "", "no module");
	ASSERT_EQ(compact(&s, "mp:nxt_mp_create(ret)/+nxt_mp_retain(arg0)/-nxt_mp_release(arg0)/"
			      "!nxt_mp_destroy(arg0)"),
		  0, "mp");
	ASSERT_EQ(s.n, 6, "appended");
	ASSERT_EQ(s.v[2].op, LW_PAIR_ACQUIRE, "create");
	ASSERT_EQ(s.v[3].op, LW_PAIR_RETAIN, "+");
	ASSERT_EQ(s.v[4].op, LW_PAIR_RELEASE, "-");
	ASSERT_EQ(s.v[5].op, LW_PAIR_DESTROY, "!");
	ASSERT_STREQ(s.v[5].func, "nxt_mp_destroy", "prefix not in the name");
	ASSERT_EQ(compact(&s, "tls:gnutls_init(*arg0)/gnutls_deinit(arg0)/+tls_ref(*arg3)"), 0,
		  "outarg");
	ASSERT_EQ(s.v[6].how, LW_PAIR_H_OUTARG, "*arg0");
	ASSERT_EQ(s.v[8].op, LW_PAIR_RETAIN, "retain");
	ASSERT_EQ(s.v[8].argn, 3, "*arg3");
	ASSERT_EQ(pair_spec__validate(&s, err, sizeof(err)), 0, "validate");
	pair_spec__free(&s);
}

LW_TEST(pair_spec_profiles)
{
	const char *const *names = pair_spec__profiles();
	const char *want[] = {"freeunit", "pjsip", "openssl", "gnutls", "glib"};
	struct lw_pair_spec all = {};
	size_t i;

	for (i = 0; names[i]; i++) {
		struct lw_pair_spec s = {};
		const char *text = pair_spec__profile(names[i]);

		ASSERT_TRUE(i < 5, "five profiles");
		ASSERT_STREQ(names[i], want[i], "name");
		ASSERT_TRUE(text != NULL, "text");
		if (parse(&s, text) || pair_spec__validate(&s, err, sizeof(err)))
			fprintf(stderr, "  %s: %s\n", names[i], err);
		ASSERT_TRUE(s.n >= 2, "parses and validates");
		for (size_t j = 0; j < s.n; j++) {
			bool exe = !strcmp(names[i], "freeunit");

			ASSERT_EQ(s.v[j].module[0] == '\0', exe,
				  "only freeunit is in the executable");
		}
		pair_spec__free(&s);
		ASSERT_EQ(parse(&all, text), 0, "profiles combine");
	}
	ASSERT_EQ(i, 5, "count");
	ASSERT_EQ(pair_spec__validate(&all, err, sizeof(err)), 0, "all together");
	pair_spec__free(&all);
	ASSERT_TRUE(pair_spec__profile("nginx") == NULL, "unknown");
	ASSERT_TRUE(pair_spec__profile(NULL) == NULL, "NULL");
}

LW_TEST(pair_spec_profile_contents)
{
	struct lw_pair_spec s = {};
	bool up_ref = false, gnutls_out = false;

	ASSERT_EQ(parse(&s, pair_spec__profile("openssl")), 0, "openssl");
	for (size_t i = 0; i < s.n; i++) {
		if (!strcmp(s.v[i].func, "SSL_CTX_up_ref")) {
			up_ref = s.v[i].op == LW_PAIR_RETAIN && s.v[i].how == LW_PAIR_H_ARG;
			ASSERT_STREQ(s.v[i].resource, "ssl_ctx", "own resource");
			ASSERT_STREQ(s.v[i].module, "libssl.so*", "libssl");
		}
		if (!strcmp(s.v[i].func, "EVP_MD_CTX_free"))
			ASSERT_STREQ(s.v[i].module, "libcrypto.so*", "libcrypto");
	}
	ASSERT_TRUE(up_ref, "SSL_CTX_up_ref retains arg0");
	pair_spec__free(&s);
	ASSERT_EQ(parse(&s, pair_spec__profile("gnutls")), 0, "gnutls");
	for (size_t i = 0; i < s.n; i++)
		if (!strcmp(s.v[i].func, "gnutls_init"))
			gnutls_out = s.v[i].how == LW_PAIR_H_OUTARG && s.v[i].argn == 0;
	ASSERT_TRUE(gnutls_out, "gnutls_init *arg0");
	pair_spec__free(&s);
	ASSERT_EQ(parse(&s, pair_spec__profile("freeunit")), 0, "freeunit");
	ASSERT_EQ(s.n, 4, "create, retain, release, destroy");
	ASSERT_EQ(s.v[3].op, LW_PAIR_DESTROY, "nxt_mp_destroy");
	pair_spec__free(&s);
}

static const char long_res[] = "r23456789012345678901234567890123"; /* 33 */

/* text, then the exact message */
static const char *const file_errors[][2] = {
    {"pj_pool acquire pj_pool_create\n",
     "spec.txt:1:31: missing HANDLE (expected RESOURCE OP FUNCTION HANDLE [in MODULE])"},
    {"x\n", "spec.txt:1:2: missing OP (expected RESOURCE OP FUNCTION HANDLE [in MODULE])"},
    {"# c\nx grab f ret\n",
     "spec.txt:2:3: unknown operation 'grab' (expected acquire, retain, release or destroy)"},
    {"x acquire f arg6", "spec.txt:1:13: argument 'arg6' out of range (arg0..arg5)"},
    {"x acquire f *arg17", "spec.txt:1:13: argument '*arg17' out of range (arg0..arg5)"},
    {"x release f ret",
     "spec.txt:1:13: handle 'ret' is only valid for acquire or retain (a release takes its "
     "handle as an argument)"},
    {"x destroy  f *arg0",
     "spec.txt:1:14: handle '*arg0' is only valid for acquire or retain (a destroy takes its "
     "handle as an argument)"},
    {"x acquire f foo",
     "spec.txt:1:13: unknown handle 'foo' (expected ret, arg0..arg5 or *arg0..*arg5)"},
    {"x acquire f arg",
     "spec.txt:1:13: unknown handle 'arg' (expected ret, arg0..arg5 or *arg0..*arg5)"},
    {"x acquire f arg1x",
     "spec.txt:1:13: unknown handle 'arg1x' (expected ret, arg0..arg5 or *arg0..*arg5)"},
    {"x acquire f(1) ret", "spec.txt:1:12: invalid character '(' in function name"},
    {"x: acquire f ret", "spec.txt:1:2: invalid character ':' in resource name"},
    {"r23456789012345678901234567890123 acquire f ret",
     "spec.txt:1:1: resource name too long (33 characters, max 31)"},
    {"x acquire f ret at lib",
     "spec.txt:1:17: unexpected 'at' after HANDLE (expected 'in MODULE')"},
    {"x acquire f ret in", "spec.txt:1:19: missing MODULE after 'in'"},
    {"x acquire f ret in a b", "spec.txt:1:22: unexpected 'b' after MODULE"},
    {"x acquire f ret\nx release g arg0\n\tx release f arg0",
     "spec.txt:3:12: duplicate rule for 'f' in resource 'x'"},
    {"# c\n  x acquire f ret\n", "spec.txt:2:3: resource 'x' has no release or destroy rule"},
    {"a acquire f ret\na release g arg0\nx release f arg0\nx retain g arg0",
     "spec.txt:3:1: resource 'x' has no acquire rule"},
};

LW_TEST(pair_spec_file_errors)
{
	struct lw_pair_spec s = {};

	ASSERT_EQ(strlen(long_res), 33, "test input");
	ASSERT_EQ(parse(&s, "keep acquire f ret\nkeep release g arg0\n"), 0, "earlier rules");
	for (size_t i = 0; i < sizeof(file_errors) / sizeof(file_errors[0]); i++) {
		ASSERT_EQ(parse(&s, file_errors[i][0]), -EINVAL, file_errors[i][0]);
		ASSERT_STREQ(err, file_errors[i][1], file_errors[i][0]);
		ASSERT_EQ(s.n, 2, "the spec is left as it was");
	}
	pair_spec__free(&s);
}

LW_TEST(pair_spec_long_function)
{
	struct lw_pair_spec s = {};
	char text[300], name[129];

	memset(name, 'f', 128);
	name[128] = '\0';
	snprintf(text, sizeof(text), "x acquire %s ret", name);
	ASSERT_EQ(parse(&s, text), -EINVAL, "128 characters");
	ASSERT_STREQ(err, "spec.txt:1:11: function name too long (128 characters, max 127)",
		     "message");
	name[127] = '\0';
	snprintf(text, sizeof(text), "x acquire %s ret\nx release g arg0", name);
	ASSERT_EQ(parse(&s, text), 0, "127 fit");
	ASSERT_EQ(strlen(s.v[0].func), 127, "kept whole");
	pair_spec__free(&s);
}

static const char *const compact_errors[][2] = {
    {"ssl", "--pair 'ssl': missing ':' (expected RESOURCE:FUNC(HANDLE)/FUNC(HANDLE)[/...]) (at "
	    "column 1)"},
    {":f(ret)/g(arg0)", "--pair ':f(ret)/g(arg0)': empty resource name (at column 1)"},
    {"s l:f(ret)/g(arg0)",
     "--pair 's l:f(ret)/g(arg0)': invalid character ' ' in resource name (at column 2)"},
    {"ssl:SSL_new/SSL_free(arg0)",
     "--pair 'ssl:SSL_new/SSL_free(arg0)': missing '(HANDLE)' after 'SSL_new' (at column 12)"},
    {"ssl:SSL_new(ret/SSL_free(arg0)",
     "--pair 'ssl:SSL_new(ret/SSL_free(arg0)': missing ')' (at column 16)"},
    {"ssl:SSL_new(ret)x/SSL_free(arg0)",
     "--pair 'ssl:SSL_new(ret)x/SSL_free(arg0)': unexpected 'x' after ')' (expected '/') (at "
     "column 17)"},
    {"ssl:SSL_new(ret)/", "--pair 'ssl:SSL_new(ret)/': empty function name (at column 18)"},
    {"ssl:SSL_new(ret)//SSL_free(arg0)",
     "--pair 'ssl:SSL_new(ret)//SSL_free(arg0)': empty function name (at column 18)"},
    {"ssl:+(arg0)/SSL_free(arg0)",
     "--pair 'ssl:+(arg0)/SSL_free(arg0)': empty function name (at column 6)"},
    {"ssl:SSL_new(ret)/SSL_free(ret)",
     "--pair 'ssl:SSL_new(ret)/SSL_free(ret)': handle 'ret' is only valid for acquire or "
     "retain (a release takes its handle as an argument) (at column 27)"},
    {"ssl:SSL_new(arg9)/SSL_free(arg0)",
     "--pair 'ssl:SSL_new(arg9)/SSL_free(arg0)': argument 'arg9' out of range (arg0..arg5) "
     "(at column 13)"},
    {"ssl:SSL_new()/SSL_free(arg0)",
     "--pair 'ssl:SSL_new()/SSL_free(arg0)': empty handle (expected ret, arg0..arg5 or "
     "*arg0..*arg5) (at column 13)"},
    {"ssl:SSL_new(ret)",
     "--pair 'ssl:SSL_new(ret)': resource 'ssl' has no release or destroy rule (at column 1)"},
    {"ssl:-SSL_free(arg0)",
     "--pair 'ssl:-SSL_free(arg0)': resource 'ssl' has no acquire rule (at column 1)"},
    {"ssl:SSL_new(ret)/SSL_new(arg0)",
     "--pair 'ssl:SSL_new(ret)/SSL_new(arg0)': duplicate rule for 'SSL_new' in resource 'ssl' "
     "(at column 18)"},
    {"ssl:SSL new(ret)/SSL_free(arg0)",
     "--pair 'ssl:SSL new(ret)/SSL_free(arg0)': invalid character ' ' in function name (at "
     "column 8)"},
    {"keep:f(ret)/g(arg0)",
     "--pair 'keep:f(ret)/g(arg0)': duplicate rule for 'f' in resource 'keep' (at column 6)"},
};

LW_TEST(pair_spec_compact_errors)
{
	struct lw_pair_spec s = {};

	ASSERT_EQ(compact(&s, "keep:f(ret)/g(arg0)"), 0, "earlier rules");
	for (size_t i = 0; i < sizeof(compact_errors) / sizeof(compact_errors[0]); i++) {
		ASSERT_EQ(compact(&s, compact_errors[i][0]), -EINVAL, compact_errors[i][0]);
		ASSERT_STREQ(err, compact_errors[i][1], compact_errors[i][0]);
		ASSERT_EQ(s.n, 2, "the spec is left as it was");
	}
	pair_spec__free(&s);
}

/* A resource split over a --pair and a file: parse accepts the part,
 * validate checks the union.
 */
LW_TEST(pair_spec_across_sources)
{
	struct lw_pair_spec s = {};

	ASSERT_EQ(compact(&s, "mp:mp_create(ret)/mp_release(arg0)"), 0, "compact");
	ASSERT_EQ(parse(&s, "mp retain mp_retain arg0\n"), 0, "a retain added to it");
	ASSERT_EQ(pair_spec__validate(&s, err, sizeof(err)), 0, "complete");
	ASSERT_EQ(parse(&s, "mp release mp_release arg0\n"), -EINVAL, "duplicate across sources");
	ASSERT_STREQ(err, "spec.txt:1:12: duplicate rule for 'mp_release' in resource 'mp'",
		     "message");
	ASSERT_EQ(s.n, 3, "kept");
	pair_spec__free(&s);
}

static struct lw_pair_rule rule(const char *res, enum lw_pair_op op, const char *func,
				enum lw_pair_handle how, unsigned argn)
{
	struct lw_pair_rule r = {.op = op, .how = how, .argn = argn};

	snprintf(r.resource, sizeof(r.resource), "%s", res);
	snprintf(r.func, sizeof(r.func), "%s", func);
	return r;
}

static int validate_rules(const struct lw_pair_rule *v, size_t n)
{
	struct lw_pair_spec s = {.v = (struct lw_pair_rule *)v, .n = n, .cap = n};

	err[0] = '\0';
	return pair_spec__validate(&s, err, sizeof(err));
}

LW_TEST(pair_spec_validate_errors)
{
	struct lw_pair_rule v[3] = {rule("x", LW_PAIR_ACQUIRE, "f", LW_PAIR_H_RET, 0),
				    rule("x", LW_PAIR_RELEASE, "g", LW_PAIR_H_ARG, 0)};
	struct lw_pair_rule *many;

	ASSERT_EQ(validate_rules(v, 2), 0, "good");
	ASSERT_EQ(validate_rules(v, 0), -EINVAL, "empty");
	ASSERT_STREQ(err, "no pair rules", "empty message");
	ASSERT_EQ(validate_rules(v, 1), -EINVAL, "no release");
	ASSERT_STREQ(err, "pair resource 'x' has no release or destroy rule", "message");
	v[2] = rule("y", LW_PAIR_DESTROY, "h", LW_PAIR_H_ARG, 0);
	ASSERT_EQ(validate_rules(v, 3), -EINVAL, "no acquire");
	ASSERT_STREQ(err, "pair resource 'y' has no acquire rule", "message");
	v[2] = rule("x", LW_PAIR_RELEASE, "f", LW_PAIR_H_ARG, 1);
	ASSERT_EQ(validate_rules(v, 3), -EINVAL, "duplicate");
	ASSERT_STREQ(err, "duplicate pair rule for 'f' in resource 'x'", "message");
	v[2] = rule("x", LW_PAIR_RELEASE, "h", LW_PAIR_H_RET, 0);
	ASSERT_EQ(validate_rules(v, 3), -EINVAL, "ret on a release");
	ASSERT_STREQ(err,
		     "pair rule 3 (x h): only acquire or retain may take ret or an out-parameter",
		     "message");
	v[2] = rule("x", LW_PAIR_RELEASE, "h", LW_PAIR_H_ARG, 6);
	ASSERT_EQ(validate_rules(v, 3), -EINVAL, "arg6");
	ASSERT_STREQ(err, "pair rule 3 (x h): argument out of range (arg0..arg5)", "message");
	v[2] = rule("x", LW_PAIR_RELEASE, "", LW_PAIR_H_ARG, 0);
	ASSERT_EQ(validate_rules(v, 3), -EINVAL, "empty function");
	ASSERT_STREQ(err, "pair rule 3 (x ): invalid function name", "message");
	v[2] = rule("x", 9, "h", LW_PAIR_H_ARG, 0);
	ASSERT_EQ(validate_rules(v, 3), -EINVAL, "bad op");
	ASSERT_STREQ(err, "pair rule 3 (x h): unknown operation", "message");
	v[2] = rule("x", LW_PAIR_RETAIN, "h", 0, 0);
	ASSERT_EQ(validate_rules(v, 3), -EINVAL, "bad handle");
	ASSERT_STREQ(err, "pair rule 3 (x h): unknown handle", "message");

	many = calloc(LW_PAIR_RULES_MAX + 1, sizeof(*many));
	ASSERT_TRUE(many != NULL, "calloc");
	for (int i = 0; i <= LW_PAIR_RULES_MAX; i++) {
		char f[16];

		snprintf(f, sizeof(f), "f%d", i);
		many[i] = rule("x", i ? LW_PAIR_RELEASE : LW_PAIR_ACQUIRE, f,
			       i ? LW_PAIR_H_ARG : LW_PAIR_H_RET, 0);
	}
	ASSERT_EQ(validate_rules(many, LW_PAIR_RULES_MAX), 0, "at the limit");
	ASSERT_EQ(validate_rules(many, LW_PAIR_RULES_MAX + 1), -EINVAL, "over it");
	free(many);
	ASSERT_STREQ(err, "too many pair rules (257, max 256)", "message");
}

LW_TEST(pair_spec_op_names)
{
	ASSERT_STREQ(pair_spec__op_name(LW_PAIR_ACQUIRE), "acquire", "acquire");
	ASSERT_STREQ(pair_spec__op_name(LW_PAIR_RETAIN), "retain", "retain");
	ASSERT_STREQ(pair_spec__op_name(LW_PAIR_RELEASE), "release", "release");
	ASSERT_STREQ(pair_spec__op_name(LW_PAIR_DESTROY), "destroy", "destroy");
	ASSERT_STREQ(pair_spec__op_name(0), "?", "out of range");
}
