// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* LeakSanitizer-style suppressions: one "PREFIX:PATTERN" per line. As in
 * LSan, a pattern without wildcards matches as a substring; with any of
 * "*?[" it is an fnmatch() glob that must match the whole string.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/fmt.h"
#include "base/textfile.h"
#include "report/kinds.h"
#include "report/suppress.h"

enum rule_scope {
	SCOPE_LEAK, /* every kind that means "never released" */
	SCOPE_FD,   /* every fd-* kind */
	SCOPE_MEM,  /* every mem-* kind */
	SCOPE_KIND, /* exactly one kind */
};

struct rule {
	enum rule_scope scope;
	const char *kind; /* SCOPE_KIND: static string from the kinds table */
	char *pattern;
	bool glob;
	char *text; /* "prefix:pattern" as written, trimmed */
	size_t hits;
};

struct suppressions {
	struct rule *v;
	size_t n, cap;
};

void suppress__free(struct suppressions *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].pattern);
		free(s->v[i].text);
	}
	free(s->v);
	free(s);
}

/* Fill r from the prefix [p, p+len); false when the prefix is unknown. */
static bool parse_scope(struct rule *r, const char *p, size_t len)
{
	static const struct {
		const char *name;
		enum rule_scope scope;
	} groups[] = {{"leak", SCOPE_LEAK}, {"fd", SCOPE_FD}, {"mem", SCOPE_MEM}};
	const struct lw_kind *k;

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (strlen(groups[i].name) == len && !strncmp(p, groups[i].name, len)) {
			r->scope = groups[i].scope;
			return true;
		}
	}
	k = lw_kind__find_n(p, len);
	if (!k)
		return false;
	r->scope = SCOPE_KIND;
	r->kind = k->name;
	return true;
}

/* One line (without its newline). Returns 0, a positive 1-based column of a
 * syntax error with msg set, or -ENOMEM.
 */
static int parse_line(struct suppressions *s, const char *line, size_t len, const char **msg,
		      char *what, size_t whatlen)
{
	size_t b = 0, e = len, colon, pb, pe;
	struct rule r = {};

	while (b < e && isspace((unsigned char)line[b]))
		b++;
	while (e > b && isspace((unsigned char)line[e - 1]))
		e--;
	if (b == e || line[b] == '#')
		return 0;
	for (colon = b; colon < e && line[colon] != ':'; colon++)
		;
	if (colon == e) {
		*msg = "missing ':' (expected PREFIX:PATTERN)";
		return (int)b + 1;
	}
	for (pe = colon; pe > b && isspace((unsigned char)line[pe - 1]); pe--)
		;
	if (pe == b) {
		*msg = "missing suppression type before ':'";
		return (int)colon + 1;
	}
	if (!parse_scope(&r, line + b, pe - b)) {
		snprintf(what, whatlen, "unknown suppression type '%.*s'", (int)(pe - b), line + b);
		*msg = what;
		return (int)b + 1;
	}
	for (pb = colon + 1; pb < e && isspace((unsigned char)line[pb]); pb++)
		;
	if (pb == e) {
		*msg = "empty pattern after ':'";
		return (int)colon + 2;
	}
	r.pattern = strndup(line + pb, e - pb);
	r.text = strndup(line + b, e - b);
	if (r.pattern && r.text && s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct rule *v = realloc(s->v, cap * sizeof(*v));

		if (v) {
			s->v = v;
			s->cap = cap;
		}
	}
	if (!r.pattern || !r.text || s->n == s->cap) {
		free(r.pattern);
		free(r.text);
		return -ENOMEM;
	}
	r.glob = strpbrk(r.pattern, "*?[") != NULL;
	s->v[s->n++] = r;
	return 0;
}

struct suppressions *suppress__parse(const char *name, const char *text, char *err, size_t errlen)
{
	struct suppressions *s = calloc(1, sizeof(*s));
	const char *line = text ? text : "";
	unsigned lineno = 1;

	if (!s) {
		lw_fmt(err, errlen, "%s: %s", name, strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	for (;; lineno++) {
		const char *nl = strchr(line, '\n'), *msg = NULL;
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char what[128];
		int col = parse_line(s, line, len, &msg, what, sizeof(what));

		if (col) {
			if (col < 0)
				lw_fmt(err, errlen, "%s: %s", name, strerror(-col));
			else
				lw_fmt(err, errlen, "%s:%u:%d: %s", name, lineno, col, msg);
			suppress__free(s);
			errno = col < 0 ? -col : EINVAL;
			return NULL;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return s;
}

struct suppressions *suppress__load(const char *path, char *err, size_t errlen)
{
	struct suppressions *s;
	char *buf;
	int e;

	e = textfile__read(path, LW_TEXTFILE_MAX, &buf, NULL, err, errlen);
	if (e) {
		errno = -e;
		return NULL;
	}
	s = suppress__parse(path, buf, err, errlen);
	free(buf);
	return s;
}

static bool scope_matches(const struct rule *r, const char *kind)
{
	switch (r->scope) {
	case SCOPE_LEAK: {
		const struct lw_kind *k = lw_kind__find(kind);

		return k && k->is_leak;
	}
	case SCOPE_FD:
		return lw_kind__of(kind, "fd");
	case SCOPE_MEM:
		return lw_kind__of(kind, "mem");
	case SCOPE_KIND:
		return !strcmp(kind, r->kind);
	}
	return false;
}

static bool pattern_matches(const struct rule *r, const char *str)
{
	if (!str || !*str)
		return false;
	return r->glob ? fnmatch(r->pattern, str, 0) == 0 : strstr(str, r->pattern) != NULL;
}

static bool rule_matches(const struct rule *r, const struct lw_finding *f)
{
	if (!scope_matches(r, f->kind))
		return false;
	if (pattern_matches(r, f->resource))
		return true;
	for (unsigned i = 0; f->frames && i < f->nr_frames; i++) {
		const struct lw_sym_frame *fr = &f->frames[i];
		const char *base = fr->module ? strrchr(fr->module, '/') : NULL;

		/* C++ names by either spelling ("ns::fn*" or "_ZN2ns2fn*"); an
		 * inexact name is another function's, so it suppresses nothing
		 */
		if ((!fr->inexact &&
		     (pattern_matches(r, fr->symbol) || pattern_matches(r, fr->mangled))) ||
		    pattern_matches(r, fr->module) || (base && pattern_matches(r, base + 1)))
			return true;
	}
	return false;
}

bool suppress__match(struct suppressions *s, const struct lw_finding *f)
{
	if (!s || !f || !f->kind)
		return false;
	/* the first matching rule gets the hit, as LSan counts them */
	for (size_t i = 0; i < s->n; i++) {
		if (rule_matches(&s->v[i], f)) {
			s->v[i].hits++;
			return true;
		}
	}
	return false;
}

size_t suppress__count(const struct suppressions *s)
{
	return s ? s->n : 0;
}

size_t suppress__hits(const struct suppressions *s, size_t rule, const char **text)
{
	if (!s || rule >= s->n) {
		if (text)
			*text = NULL;
		return 0;
	}
	if (text)
		*text = s->v[rule].text;
	return s->v[rule].hits;
}
