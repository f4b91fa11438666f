// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/num.h"
#include "fault/fault_spec.h"

/* What liblwinject.so interposes. Defaults: allocators run out of memory,
 * fd makers out of fds, sends find the socket full (FreeUnit's
 * nxt_port_socket_write path), reads a broken device or peer.
 */
const struct lw_fault_func lw_fault_funcs[] = {
    {"malloc", LW_FC_ALLOC, ENOMEM},
    {"calloc", LW_FC_ALLOC, ENOMEM},
    {"realloc", LW_FC_ALLOC, ENOMEM},
    {"posix_memalign", LW_FC_ALLOC, ENOMEM},
    {"aligned_alloc", LW_FC_ALLOC, ENOMEM},
    {"memalign", LW_FC_ALLOC, ENOMEM},
    {"valloc", LW_FC_ALLOC, ENOMEM},
    {"pvalloc", LW_FC_ALLOC, ENOMEM},
    {"strdup", LW_FC_ALLOC, ENOMEM},
    {"strndup", LW_FC_ALLOC, ENOMEM},
    {"mmap", LW_FC_MAP, ENOMEM},
    {"mmap64", LW_FC_MAP, ENOMEM},
    {"open", LW_FC_FD, EMFILE},
    {"open64", LW_FC_FD, EMFILE},
    {"openat", LW_FC_FD, EMFILE},
    {"openat64", LW_FC_FD, EMFILE},
    {"creat", LW_FC_FD, EMFILE},
    {"fopen", LW_FC_FD, EMFILE},
    {"fopen64", LW_FC_FD, EMFILE},
    {"socket", LW_FC_FD, EMFILE},
    {"socketpair", LW_FC_FD, EMFILE},
    {"pipe", LW_FC_FD, EMFILE},
    {"pipe2", LW_FC_FD, EMFILE},
    {"dup", LW_FC_FD, EMFILE},
    {"dup2", LW_FC_FD, EMFILE},
    {"dup3", LW_FC_FD, EMFILE},
    {"accept", LW_FC_FD, EMFILE},
    {"accept4", LW_FC_FD, EMFILE},
    {"epoll_create1", LW_FC_FD, EMFILE},
    {"eventfd", LW_FC_FD, EMFILE},
    {"memfd_create", LW_FC_FD, EMFILE},
    {"connect", LW_FC_IO, ECONNREFUSED},
    {"sendmsg", LW_FC_IO, EAGAIN},
    {"sendmmsg", LW_FC_IO, EAGAIN},
    {"send", LW_FC_IO, EAGAIN},
    {"sendto", LW_FC_IO, EAGAIN},
    {"write", LW_FC_IO, EAGAIN},
    {"writev", LW_FC_IO, EAGAIN},
    {"read", LW_FC_IO, EIO},
    {"readv", LW_FC_IO, EIO},
    {"recv", LW_FC_IO, ECONNRESET},
    {"recvmsg", LW_FC_IO, ECONNRESET},
    {"recvfrom", LW_FC_IO, ECONNRESET},
};
const size_t lw_nr_fault_funcs = sizeof(lw_fault_funcs) / sizeof(lw_fault_funcs[0]);

const struct lw_fault_func *fault_func__find(const char *name)
{
	for (size_t i = 0; name && i < lw_nr_fault_funcs; i++)
		if (!strcmp(lw_fault_funcs[i].name, name))
			return &lw_fault_funcs[i];
	return NULL;
}

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

int fault_errno__parse(const char *s, int *out)
{
	long v;

	if (!s || !*s)
		return -EINVAL;
	if (isdigit((unsigned char)*s)) {
		if (num__parse_long(s, 1, 4095, &v))
			return -EINVAL;
		*out = (int)v;
		return 0;
	}
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, s)) {
			*out = e;
			return 0;
		}
	}
	return -EINVAL;
}

const char *fault_errno__name(int err, char *buf, size_t len)
{
	const char *n = strerrorname_np(err);

	if (n)
		return n;
	snprintf(buf, len, "E%d", err);
	return buf;
}

/* N, N-M, every K (or everyK). 1 when empty. */
static int parse_which(const char *s, struct lw_fault_rule *r)
{
	uint64_t a, b;
	const char *dash;
	char num[24];

	r->first = r->last = 1;
	r->every = 0;
	if (!*s)
		return 0;
	if (!strncmp(s, "every", 5)) {
		s += 5;
		while (*s == ' ')
			s++;
		if (num__parse_u64(s, 1, UINT64_MAX, &r->every))
			return -EINVAL;
		return 0;
	}
	dash = strchr(s, '-');
	if (!dash)
		return num__parse_u64(s, 1, UINT64_MAX, &r->first) ? -EINVAL
								   : (r->last = r->first, 0);
	if ((size_t)(dash - s) >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, dash - s);
	num[dash - s] = 0;
	if (num__parse_u64(num, 1, UINT64_MAX, &a) || num__parse_u64(dash + 1, 1, UINT64_MAX, &b) ||
	    b < a)
		return -EINVAL;
	r->first = a;
	r->last = b;
	return 0;
}

/* The part after the last ':' is WHICH only when it reads as one: C++ names
 * have "::" of their own.
 */
static bool looks_like_which(const char *s)
{
	if (!strncmp(s, "every", 5))
		return true;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

static bool valid_where(const char *w)
{
	for (; *w; w++)
		if (isspace((unsigned char)*w) || !isprint((unsigned char)*w))
			return false;
	return true;
}

/* FUNC[=ERRNO] into r (where and which untouched). */
static int parse_func(char *s, struct lw_fault_rule *r, char *err, size_t errlen)
{
	char *eq = strchr(s, '=');
	const struct lw_fault_func *fn;

	if (eq)
		*eq = 0;
	fn = fault_func__find(s);
	if (!fn)
		return FAIL("'%s' is not a function leakwatch can make fail (leakwatch --help: "
			    "Fault injection)",
			    s);
	snprintf(r->func, sizeof(r->func), "%s", fn->name);
	r->err = fn->default_errno;
	if (eq && fault_errno__parse(eq + 1, &r->err))
		return FAIL("%s: unknown errno '%s' (a name such as EAGAIN, or a number)", s,
			    eq + 1);
	return 0;
}

static int parse_one(const char *spec, struct lw_fault_rule *r, char *err, size_t errlen)
{
	char buf[LW_FAULT_SPEC_LEN], *at, *colon;
	int e;

	memset(r, 0, sizeof(*r));
	if (strlen(spec) >= sizeof(buf))
		return FAIL("rule too long: '%.40s...'", spec);
	if (!*spec)
		return FAIL("%s", "empty rule");
	snprintf(r->text, sizeof(r->text), "%s", spec);
	strcpy(buf, spec);
	colon = strrchr(buf, ':');
	if (colon && looks_like_which(colon + 1)) {
		*colon = 0;
		if (parse_which(colon + 1, r))
			return FAIL("'%s': bad call number '%s' (N, N-M or every K)", spec,
				    colon + 1);
	} else {
		parse_which("", r);
	}
	at = strchr(buf, '@');
	if (at) {
		*at++ = 0;
		if (!*at)
			return FAIL("'%s': empty function after '@' ('*' for anywhere)", spec);
		if (!valid_where(at))
			return FAIL("'%s': bad function name '%s'", spec, at);
		if (strcmp(at, "*")) {
			if (strlen(at) >= sizeof(r->where))
				return FAIL("'%s': function name too long", spec);
			strcpy(r->where, at);
		}
	}
	e = parse_func(buf, r, err, errlen);
	return e;
}

/* Split list on commas; call fn on each piece. */
static int each_piece(const char *list, int (*fn)(const char *, void *), void *ctx, char *err,
		      size_t errlen)
{
	char piece[LW_FAULT_SPEC_LEN + 1];
	int e;

	if (!list || !*list)
		return FAIL("%s", "empty list");
	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");

		if (n >= sizeof(piece))
			return FAIL("rule too long: '%.40s...'", p);
		memcpy(piece, p, n);
		piece[n] = 0;
		e = fn(piece, ctx);
		if (e)
			return e;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

struct piece_ctx {
	struct lw_fault_plan *p;
	char *err;
	size_t errlen;
};

static int inject_piece(const char *s, void *ctx)
{
	struct piece_ctx *c = ctx;
	char *err = c->err;
	size_t errlen = c->errlen;

	if (c->p->nr_rules == LW_FAULT_RULES_MAX)
		return FAIL("at most %d fault rules", LW_FAULT_RULES_MAX);
	if (parse_one(s, &c->p->rules[c->p->nr_rules], err, errlen))
		return -EINVAL;
	c->p->nr_rules++;
	return 0;
}

int fault_spec__parse_inject(const char *list, struct lw_fault_plan *p, char *err, size_t errlen)
{
	struct piece_ctx c = {p, err, errlen};

	return each_piece(list, inject_piece, &c, err, errlen);
}

static int sweep_piece(const char *s, void *ctx)
{
	struct piece_ctx *c = ctx;
	struct lw_fault_rule *r;
	char *err = c->err, buf[LW_FAULT_SPEC_LEN];
	size_t errlen = c->errlen;

	if (c->p->nr_record == LW_FAULT_RULES_MAX)
		return FAIL("at most %d functions to sweep", LW_FAULT_RULES_MAX);
	if (!*s)
		return FAIL("%s", "empty function name");
	if (strpbrk(s, "@:"))
		return FAIL("'%s': a sweep names FUNC[=ERRNO] only; every call site is tried", s);
	r = &c->p->record[c->p->nr_record];
	memset(r, 0, sizeof(*r));
	snprintf(buf, sizeof(buf), "%s", s);
	if (parse_func(buf, r, err, errlen))
		return -EINVAL;
	for (unsigned i = 0; i < c->p->nr_record; i++)
		if (!strcmp(c->p->record[i].func, r->func))
			return FAIL("'%s' named twice", r->func);
	snprintf(r->text, sizeof(r->text), "%s", s);
	r->first = r->last = 1;
	c->p->nr_record++;
	return 0;
}

int fault_spec__parse_sweep(const char *list, struct lw_fault_plan *p, char *err, size_t errlen)
{
	struct piece_ctx c = {p, err, errlen};

	return each_piece(list, sweep_piece, &c, err, errlen);
}

void fault_rule__describe(const struct lw_fault_rule *r, char *buf, size_t len)
{
	char nb[16], which[64];
	const char *en = fault_errno__name(r->err, nb, sizeof(nb));

	if (r->every)
		snprintf(which, sizeof(which), "every %llu. call", (unsigned long long)r->every);
	else if (r->first == r->last)
		snprintf(which, sizeof(which), "call %llu", (unsigned long long)r->first);
	else
		snprintf(which, sizeof(which), "calls %llu-%llu", (unsigned long long)r->first,
			 (unsigned long long)r->last);
	if (r->site)
		snprintf(buf, len, "%s failing with %s at site %016llx", r->func, en,
			 (unsigned long long)r->site);
	else
		snprintf(buf, len, "%s failing with %s %s%s (%s)", r->func, en,
			 r->where[0] ? "under " : "anywhere", r->where, which);
}
