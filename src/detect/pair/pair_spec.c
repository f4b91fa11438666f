// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pair rule tables: the spec file and --pair parsers (built-in profiles:
 * pair_profiles.c). Messages follow suppress.c: "PATH:LINE:COL: message".
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/fmt.h"
#include "base/textfile.h"
#include "detect/pair/pair_spec.h"

#define MSG_LEN 256

static const char handle_help[] = "expected ret, arg0..arg5 or *arg0..*arg5";

const char *pair_spec__op_name(enum lw_pair_op op)
{
	switch (op) {
	case LW_PAIR_ACQUIRE:
		return "acquire";
	case LW_PAIR_RETAIN:
		return "retain";
	case LW_PAIR_RELEASE:
		return "release";
	case LW_PAIR_DESTROY:
		return "destroy";
	}
	return "?";
}

void pair_spec__free(struct lw_pair_spec *spec)
{
	if (!spec)
		return;
	free(spec->v);
	memset(spec, 0, sizeof(*spec));
}

/* Where a field failed: message and 0-based offset inside the field. */
struct field_err {
	char msg[MSG_LEN];
	size_t off;
};

static bool resource_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* symbol names: C identifiers, C++ mangled names, "name@VERSION", "name.cold" */
static bool func_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '$' || c == '@';
}

/* Copy the name [p, p+len) into dst (size max) after checking it. */
static bool take_name(const char *what, const char *p, size_t len, char *dst, size_t max,
		      bool (*ok)(int), struct field_err *fe)
{
	fe->off = 0;
	if (!len) {
		snprintf(fe->msg, sizeof(fe->msg), "empty %s", what);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (ok(c))
			continue;
		fe->off = i;
		if (isprint(c))
			snprintf(fe->msg, sizeof(fe->msg), "invalid character '%c' in %s", c, what);
		else
			snprintf(fe->msg, sizeof(fe->msg), "invalid character 0x%02x in %s", c,
				 what);
		return false;
	}
	if (len >= max) {
		snprintf(fe->msg, sizeof(fe->msg), "%s too long (%zu characters, max %zu)", what,
			 len, max - 1);
		return false;
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
	return true;
}

static bool take_op(const char *p, size_t len, enum lw_pair_op *op, struct field_err *fe)
{
	for (int o = LW_PAIR_ACQUIRE; o <= LW_PAIR_DESTROY; o++) {
		const char *name = pair_spec__op_name(o);

		if (strlen(name) == len && !strncmp(p, name, len)) {
			*op = o;
			return true;
		}
	}
	fe->off = 0;
	snprintf(fe->msg, sizeof(fe->msg),
		 "unknown operation '%.*s' (expected acquire, retain, release or destroy)",
		 (int)len, p);
	return false;
}

/* ret | argN | *argN, and whether op may use it. */
static bool take_handle(const char *p, size_t len, struct lw_pair_rule *r, struct field_err *fe)
{
	size_t i = 0;
	unsigned long n = 0;

	fe->off = 0;
	if (!len) {
		snprintf(fe->msg, sizeof(fe->msg), "empty handle (%s)", handle_help);
		return false;
	}
	if (len == 3 && !strncmp(p, "ret", 3)) {
		r->how = LW_PAIR_H_RET;
		r->argn = 0;
	} else {
		r->how = LW_PAIR_H_ARG;
		if (p[0] == '*') {
			r->how = LW_PAIR_H_OUTARG;
			i = 1;
		}
		if (len - i < 4 || strncmp(p + i, "arg", 3)) {
			snprintf(fe->msg, sizeof(fe->msg), "unknown handle '%.*s' (%s)", (int)len,
				 p, handle_help);
			return false;
		}
		for (i += 3; i < len; i++) {
			if (!isdigit((unsigned char)p[i])) {
				snprintf(fe->msg, sizeof(fe->msg), "unknown handle '%.*s' (%s)",
					 (int)len, p, handle_help);
				return false;
			}
			n = n > LW_PAIR_ARG_MAX ? n : n * 10 + (p[i] - '0');
		}
		if (n > LW_PAIR_ARG_MAX) {
			snprintf(fe->msg, sizeof(fe->msg),
				 "argument '%.*s' out of range (arg0..arg%d)", (int)len, p,
				 LW_PAIR_ARG_MAX);
			return false;
		}
		r->argn = n;
	}
	if (r->how != LW_PAIR_H_ARG && r->op != LW_PAIR_ACQUIRE && r->op != LW_PAIR_RETAIN) {
		snprintf(fe->msg, sizeof(fe->msg),
			 "handle '%.*s' is only valid for acquire or retain (a %s takes its handle "
			 "as an argument)",
			 (int)len, p, pair_spec__op_name(r->op));
		return false;
	}
	return true;
}

static int find_rule(const struct lw_pair_spec *spec, size_t upto, const char *resource,
		     const char *func)
{
	for (size_t i = 0; i < upto; i++)
		if (!strcmp(spec->v[i].resource, resource) && !strcmp(spec->v[i].func, func))
			return (int)i;
	return -1;
}

static bool check_dup(const struct lw_pair_spec *spec, const struct lw_pair_rule *r,
		      struct field_err *fe)
{
	if (find_rule(spec, spec->n, r->resource, r->func) < 0)
		return true;
	fe->off = 0;
	snprintf(fe->msg, sizeof(fe->msg), "duplicate rule for '%s' in resource '%s'", r->func,
		 r->resource);
	return false;
}

static int append(struct lw_pair_spec *spec, const struct lw_pair_rule *r)
{
	if (spec->n == spec->cap) {
		size_t cap = spec->cap ? spec->cap * 2 : 16;
		struct lw_pair_rule *v = realloc(spec->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		spec->v = v;
		spec->cap = cap;
	}
	spec->v[spec->n++] = *r;
	return 0;
}

/* A resource's rules in v[0..n): its completeness problem, or NULL. */
static const char *incomplete(const struct lw_pair_rule *v, size_t n, const char *resource)
{
	bool acq = false, rel = false;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].resource, resource))
			continue;
		acq |= v[i].op == LW_PAIR_ACQUIRE;
		rel |= v[i].op == LW_PAIR_RELEASE || v[i].op == LW_PAIR_DESTROY;
	}
	if (!acq)
		return "has no acquire rule";
	if (!rel)
		return "has no release or destroy rule";
	return NULL;
}

/* Is v[i] the first rule of its resource in v[0..i]? */
static bool first_of_resource(const struct lw_pair_rule *v, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(v[j].resource, v[i].resource))
			return false;
	return true;
}

/* Resources first declared by rules [start, n) (not before start: those
 * are left to pair_spec__validate): the index of the first incomplete one
 * (msg set), or -1.
 */
static int first_incomplete(const struct lw_pair_spec *spec, size_t start, char *msg, size_t msglen)
{
	for (size_t i = start; i < spec->n; i++) {
		const char *why;

		if (!first_of_resource(spec->v, i))
			continue;
		why = incomplete(spec->v, spec->n, spec->v[i].resource);
		if (why) {
			snprintf(msg, msglen, "resource '%s' %s", spec->v[i].resource, why);
			return (int)i;
		}
	}
	return -1;
}

/* ---- spec files ---- */

struct tok {
	const char *p;
	size_t len;
	size_t col; /* 0-based */
};

#define LINE_TOKS 7 /* one more than a rule has, to catch extra fields */

static size_t tokenize(const char *line, size_t len, struct tok *t, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len && n < max) {
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		if (i == len || line[i] == '#')
			break;
		t[n].p = line + i;
		t[n].col = i;
		while (i < len && !isspace((unsigned char)line[i]) && line[i] != '#')
			i++;
		t[n].len = line + i - t[n].p;
		n++;
	}
	return n;
}

/* One line. 0, a positive 1-based column with fe->msg set, or -ENOMEM. */
static int parse_line(struct lw_pair_spec *spec, const char *line, size_t len, struct field_err *fe)
{
	static const char *const missing[] = {"RESOURCE", "OP", "FUNCTION", "HANDLE"};
	struct lw_pair_rule r = {};
	struct tok t[LINE_TOKS];
	size_t n = tokenize(line, len, t, LINE_TOKS);
	size_t end = n ? t[n - 1].col + t[n - 1].len : 0;

	if (!n)
		return 0;
	if (!take_name("resource name", t[0].p, t[0].len, r.resource, sizeof(r.resource),
		       resource_char, fe))
		return (int)(t[0].col + fe->off + 1);
	if (n < 4) {
		fe->off = 0;
		snprintf(fe->msg, sizeof(fe->msg),
			 "missing %s (expected RESOURCE OP FUNCTION HANDLE [in MODULE])",
			 missing[n]);
		return (int)end + 1;
	}
	if (!take_op(t[1].p, t[1].len, &r.op, fe))
		return (int)t[1].col + 1;
	if (!take_name("function name", t[2].p, t[2].len, r.func, sizeof(r.func), func_char, fe))
		return (int)(t[2].col + fe->off + 1);
	if (!take_handle(t[3].p, t[3].len, &r, fe))
		return (int)t[3].col + 1;
	if (n > 4 && (t[4].len != 2 || strncmp(t[4].p, "in", 2))) {
		snprintf(fe->msg, sizeof(fe->msg),
			 "unexpected '%.*s' after HANDLE (expected 'in "
			 "MODULE')",
			 (int)t[4].len, t[4].p);
		return (int)t[4].col + 1;
	}
	if (n == 5) {
		snprintf(fe->msg, sizeof(fe->msg), "missing MODULE after 'in'");
		return (int)end + 1;
	}
	if (n > 6) {
		snprintf(fe->msg, sizeof(fe->msg), "unexpected '%.*s' after MODULE", (int)t[6].len,
			 t[6].p);
		return (int)t[6].col + 1;
	}
	if (n == 6) {
		if (t[5].len >= sizeof(r.module)) {
			snprintf(fe->msg, sizeof(fe->msg),
				 "module too long (%zu characters, max %zu)", t[5].len,
				 sizeof(r.module) - 1);
			return (int)t[5].col + 1;
		}
		memcpy(r.module, t[5].p, t[5].len);
	}
	if (!check_dup(spec, &r, fe))
		return (int)t[2].col + 1;
	return append(spec, &r);
}

int pair_spec__parse_text(struct lw_pair_spec *spec, const char *name, const char *text, char *err,
			  size_t errlen)
{
	const char *line = text ? text : "";
	size_t start = spec->n;
	unsigned lineno = 1, *lines = NULL;
	char msg[MSG_LEN];
	int bad, col = 0;

	for (;; lineno++) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line), before = spec->n;
		struct field_err fe;

		col = parse_line(spec, line, len, &fe);
		if (!col && spec->n > before) {
			unsigned *l = realloc(lines, (spec->n - start) * sizeof(*l));

			if (!l)
				col = -ENOMEM;
			else
				(lines = l)[spec->n - 1 - start] = lineno;
		}
		if (col) {
			if (col < 0)
				lw_fmt(err, errlen, "%s: %s", name, strerror(-col));
			else
				lw_fmt(err, errlen, "%s:%u:%d: %s", name, lineno, col, fe.msg);
			goto fail;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	bad = first_incomplete(spec, start, msg, sizeof(msg));
	if (bad >= 0) {
		/* point at the resource field of its first rule: only the line
		 * number was kept, so skip that line's leading blanks again
		 */
		const char *l = text;

		for (unsigned i = 1; i < lines[bad - start]; i++)
			l = strchr(l, '\n') + 1;
		col = 1;
		while (isspace((unsigned char)l[col - 1]))
			col++;
		lw_fmt(err, errlen, "%s:%u:%d: %s", name, lines[bad - start], col, msg);
		col = -EINVAL;
		goto fail;
	}
	free(lines);
	return 0;
fail:
	free(lines);
	spec->n = start;
	return col < 0 ? col : -EINVAL;
}

int pair_spec__parse_file(struct lw_pair_spec *spec, const char *path, char *err, size_t errlen)
{
	char *buf;
	int ret;

	ret = textfile__read(path, LW_TEXTFILE_MAX, &buf, NULL, err, errlen);
	if (ret)
		return ret;
	ret = pair_spec__parse_text(spec, path, buf, err, errlen);
	free(buf);
	return ret;
}

/* ---- --pair RESOURCE:FUNC(HANDLE)/... ---- */

/* One FUNC(HANDLE) starting at arg[i]; *next is where the following item
 * starts, 0 when this one ends the argument. 0, a 1-based column, or -ENOMEM.
 */
static int parse_item(struct lw_pair_spec *spec, struct lw_pair_rule *r, const char *arg, size_t i,
		      bool first, size_t *next, struct field_err *fe)
{
	size_t f, h, e;

	switch (arg[i]) {
	case '+':
		r->op = LW_PAIR_RETAIN;
		i++;
		break;
	case '-':
		r->op = LW_PAIR_RELEASE;
		i++;
		break;
	case '!':
		r->op = LW_PAIR_DESTROY;
		i++;
		break;
	default:
		r->op = first ? LW_PAIR_ACQUIRE : LW_PAIR_RELEASE;
	}
	for (f = i; arg[f] && arg[f] != '(' && arg[f] != '/'; f++)
		;
	if (!take_name("function name", arg + i, f - i, r->func, sizeof(r->func), func_char, fe))
		return (int)(i + fe->off + 1);
	if (arg[f] != '(') {
		fe->off = 0;
		snprintf(fe->msg, sizeof(fe->msg), "missing '(HANDLE)' after '%s'", r->func);
		return (int)f + 1;
	}
	h = f + 1;
	for (e = h; arg[e] && arg[e] != ')' && arg[e] != '/'; e++)
		;
	if (arg[e] != ')') {
		snprintf(fe->msg, sizeof(fe->msg), "missing ')'");
		return (int)e + 1;
	}
	if (!take_handle(arg + h, e - h, r, fe))
		return (int)h + 1;
	if (arg[e + 1] && arg[e + 1] != '/') {
		snprintf(fe->msg, sizeof(fe->msg), "unexpected '%c' after ')' (expected '/')",
			 arg[e + 1]);
		return (int)e + 2;
	}
	if (!check_dup(spec, r, fe))
		return (int)i + 1;
	*next = arg[e + 1] ? e + 2 : 0; /* 0: that was the last */
	return append(spec, r);
}

int pair_spec__parse_compact(struct lw_pair_spec *spec, const char *arg, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':');
	size_t start = spec->n, i;
	struct lw_pair_rule r = {};
	struct field_err fe = {};
	int col = 0;

	if (!colon) {
		snprintf(fe.msg, sizeof(fe.msg),
			 "missing ':' (expected RESOURCE:FUNC(HANDLE)/FUNC(HANDLE)[/...])");
		col = 1;
		goto fail;
	}
	if (!take_name("resource name", arg, colon - arg, r.resource, sizeof(r.resource),
		       resource_char, &fe)) {
		col = (int)fe.off + 1;
		goto fail;
	}
	i = colon - arg + 1;
	do {
		col = parse_item(spec, &r, arg, i, spec->n == start, &i, &fe);
		if (col)
			goto fail;
	} while (i);
	if (first_incomplete(spec, start, fe.msg, sizeof(fe.msg)) >= 0) {
		col = 1;
		goto fail;
	}
	return 0;
fail:
	spec->n = start;
	if (col < 0) {
		lw_fmt(err, errlen, "--pair '%s': %s", arg, strerror(-col));
		return col;
	}
	lw_fmt(err, errlen, "--pair '%s': %s (at column %d)", arg, fe.msg, col);
	return -EINVAL;
}

/* ---- the whole table ---- */

static bool valid_name(const char *s, size_t max, bool (*ok)(int))
{
	size_t len = strnlen(s, max);

	if (!len || len == max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!ok((unsigned char)s[i]))
			return false;
	return true;
}

static const char *rule_problem(const struct lw_pair_rule *r)
{
	if (!valid_name(r->resource, sizeof(r->resource), resource_char))
		return "invalid resource name";
	if (!valid_name(r->func, sizeof(r->func), func_char))
		return "invalid function name";
	if (r->op < LW_PAIR_ACQUIRE || r->op > LW_PAIR_DESTROY)
		return "unknown operation";
	if (r->how < LW_PAIR_H_RET || r->how > LW_PAIR_H_OUTARG)
		return "unknown handle";
	if (r->how != LW_PAIR_H_RET && r->argn > LW_PAIR_ARG_MAX)
		return "argument out of range (arg0..arg5)";
	if (r->how != LW_PAIR_H_ARG && r->op != LW_PAIR_ACQUIRE && r->op != LW_PAIR_RETAIN)
		return "only acquire or retain may take ret or an out-parameter";
	if (strnlen(r->module, sizeof(r->module)) == sizeof(r->module))
		return "module too long";
	return NULL;
}

int pair_spec__validate(const struct lw_pair_spec *spec, char *err, size_t errlen)
{
	if (!spec || !spec->n) {
		lw_fmt(err, errlen, "no pair rules");
		return -EINVAL;
	}
	if (spec->n > LW_PAIR_RULES_MAX) {
		lw_fmt(err, errlen, "too many pair rules (%zu, max %d)", spec->n,
		       LW_PAIR_RULES_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < spec->n; i++) {
		const struct lw_pair_rule *r = &spec->v[i];
		const char *why = rule_problem(r);

		if (why) {
			lw_fmt(err, errlen, "pair rule %zu (%.*s %.*s): %s", i + 1,
			       LW_PAIR_RESOURCE_LEN - 1, r->resource, 64, r->func, why);
			return -EINVAL;
		}
		if (find_rule(spec, i, r->resource, r->func) >= 0) {
			lw_fmt(err, errlen, "duplicate pair rule for '%s' in resource '%s'",
			       r->func, r->resource);
			return -EINVAL;
		}
		if (first_of_resource(spec->v, i) &&
		    (why = incomplete(spec->v, spec->n, r->resource))) {
			lw_fmt(err, errlen, "pair resource '%s' %s", r->resource, why);
			return -EINVAL;
		}
	}
	return 0;
}
