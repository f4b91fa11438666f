// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/textfile.h"
#include "fault/fault_log.h"

/* The value of "key=" in a header line (up to the next space), or NULL. */
static const char *field(const char *line, size_t len, const char *key, size_t *vlen)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i + kl < len; i++) {
		if ((i == 0 || line[i - 1] == ' ') && !strncmp(line + i, key, kl) &&
		    line[i + kl] == '=') {
			const char *v = line + i + kl + 1;
			const char *e = memchr(v, ' ', len - (v - line));

			*vlen = e ? (size_t)(e - v) : len - (v - line);
			return v;
		}
	}
	return NULL;
}

static int num_field(const char *line, size_t len, const char *key, int base, uint64_t *out)
{
	size_t vl;
	const char *v = field(line, len, key, &vl);
	char buf[32], *end;

	if (!v || !vl || vl >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, vl);
	buf[vl] = 0;
	errno = 0;
	*out = strtoull(buf, &end, base);
	return *end || errno ? -EINVAL : 0;
}

static void rec_free(struct lw_fault_rec *r)
{
	for (unsigned i = 0; i < r->nr; i++)
		free(r->fr[i].path);
	free(r->exe);
	memset(r, 0, sizeof(*r));
}

/* " IP REL PATH" */
static int parse_frame(const char *line, size_t len, struct lw_fault_frame *f)
{
	char buf[64], *end;
	const char *p = line + 1, *sp;

	if (len < 2 || line[0] != ' ')
		return -EINVAL;
	for (int k = 0; k < 2; k++) {
		sp = memchr(p, ' ', len - (p - line));
		if (!sp || sp == p || (size_t)(sp - p) >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, p, sp - p);
		buf[sp - p] = 0;
		errno = 0;
		*(k ? &f->rel : &f->ip) = strtoull(buf, &end, 16);
		if (*end || errno)
			return -EINVAL;
		p = sp + 1;
	}
	if (p >= line + len)
		return -EINVAL;
	f->path = strndup(p, len - (p - line));
	return f->path ? 0 : -ENOMEM;
}

static int parse_header(const char *line, size_t len, struct lw_fault_rec *r, uint64_t *nr)
{
	static const struct {
		const char *word;
		enum lw_fault_rec_type type;
	} types[] = {{"init ", LW_FR_INIT},
		     {"fault ", LW_FR_FAULT},
		     {"site ", LW_FR_SITE},
		     {"crash ", LW_FR_CRASH}};
	uint64_t v;
	size_t vl;
	const char *s;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (len > strlen(types[i].word) &&
		    !strncmp(line, types[i].word, strlen(types[i].word)))
			r->type = types[i].type;
	if (!r->type || num_field(line, len, "pid", 10, &v) || !v || v > UINT32_MAX)
		return -EINVAL;
	r->pid = (uint32_t)v;
	*nr = 0;
	if (r->type == LW_FR_INIT) {
		/* exe is the rest of the line: a path may hold spaces */
		s = field(line, len, "exe", &vl);
		if (!s)
			return -EINVAL;
		r->exe = strndup(s, len - (s - line));
		return r->exe ? 0 : -ENOMEM;
	}
	if (r->type != LW_FR_SITE) {
		if (num_field(line, len, "tid", 10, &v) || v > UINT32_MAX)
			return -EINVAL;
		r->tid = (uint32_t)v;
	}
	if (r->type == LW_FR_FAULT || r->type == LW_FR_SITE) {
		s = field(line, len, "func", &vl);
		if (!s || !vl || vl >= sizeof(r->func) ||
		    num_field(line, len, "hash", 16, &r->hash))
			return -EINVAL;
		memcpy(r->func, s, vl);
	}
	if (r->type == LW_FR_FAULT) {
		if (num_field(line, len, "rule", 10, &v) || v > 64)
			return -EINVAL;
		r->rule = (int)v;
		if (num_field(line, len, "errno", 10, &v) || v > 4095)
			return -EINVAL;
		r->err = (int)v;
		if (num_field(line, len, "nth", 10, &r->nth))
			return -EINVAL;
	}
	if (r->type == LW_FR_CRASH) {
		if (num_field(line, len, "sig", 10, &v) || !v || v > 64 ||
		    num_field(line, len, "addr", 16, &r->addr))
			return -EINVAL;
		r->sig = (int)v;
	}
	return num_field(line, len, "frames", 10, nr);
}

static int push(struct lw_fault_log *log, struct lw_fault_rec *r)
{
	if (log->n == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 16;
		struct lw_fault_rec *v = realloc(log->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		log->v = v;
		log->cap = cap;
	}
	log->v[log->n++] = *r;
	return 0;
}

int fault_log__parse(const char *buf, size_t len, struct lw_fault_log *log)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		struct lw_fault_rec r = {};
		const char *nl = memchr(p, '\n', end - p);
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		uint64_t nr = 0;
		bool ok;
		int e = parse_header(p, ll, &r, &nr);

		p += ll + (nl != NULL);
		if (e == -ENOMEM)
			return e;
		ok = !e && nr <= 4096;
		/* frame lines, then "end" (init has neither) */
		for (uint64_t i = 0; ok && r.type != LW_FR_INIT && i <= nr; i++) {
			nl = memchr(p, '\n', end - p);
			ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (p >= end) {
				ok = false;
				break;
			}
			if (i == nr) {
				ok = ll == 3 && !strncmp(p, "end", 3);
			} else if (r.nr < LW_FAULT_FRAMES) {
				e = parse_frame(p, ll, &r.fr[r.nr]);
				if (e == -ENOMEM) {
					rec_free(&r);
					return e;
				}
				ok = !e;
				r.nr += !e;
			}
			p += ll + (nl != NULL);
		}
		if (!ok) {
			rec_free(&r);
			log->bad++;
			/* skip the rest of the record: frame lines and its "end" */
			while (p < end) {
				nl = memchr(p, '\n', end - p);
				ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
				if (p[0] != ' ' && !(ll == 3 && !strncmp(p, "end", 3)))
					break;
				p += ll + (nl != NULL);
				if (ll == 3)
					break;
			}
			continue;
		}
		if (push(log, &r)) {
			rec_free(&r);
			return -ENOMEM;
		}
	}
	return 0;
}

int fault_log__read(const char *path, struct lw_fault_log *log)
{
	size_t n = 0;
	char *buf = textfile__slurp(path, &n);
	int e;

	if (!buf)
		return errno == ENOENT ? 0 : -errno;
	e = fault_log__parse(buf, n, log);
	free(buf);
	return e;
}

void fault_log__free(struct lw_fault_log *log)
{
	for (size_t i = 0; log && i < log->n; i++)
		rec_free(&log->v[i]);
	if (log) {
		free(log->v);
		memset(log, 0, sizeof(*log));
	}
}
