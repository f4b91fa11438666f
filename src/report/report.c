// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reporter table and the begin/finding/end driver shared by every format. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report/kinds.h"
#include "report/report.h"
#include "report/stats.h"

extern const struct reporter_ops lw_report_text;
extern const struct reporter_ops lw_report_json;
extern const struct reporter_ops lw_report_junit;
extern const struct reporter_ops lw_report_folded;

static const struct reporter_ops *const reporters[] = {
    &lw_report_text,
    &lw_report_json,
    &lw_report_junit,
    &lw_report_folded,
};

const struct reporter_ops *reporter__find(const char *format)
{
	if (!format)
		return NULL;
	for (size_t i = 0; i < sizeof(reporters) / sizeof(reporters[0]); i++)
		if (!strcmp(reporters[i]->name, format))
			return reporters[i];
	return NULL;
}

int report__write(const struct reporter_ops *ops, FILE *out, const struct lw_report_meta *m,
		  const struct lw_findings *fs)
{
	struct lw_reporter r = {.ops = ops, .out = out};
	struct lw_report_meta meta = *m;
	size_t n = fs ? fs->n : 0, written = 0, marked = 0;
	int err;

	/* The caller may count suppressions in meta, mark findings, or both:
	 * take the larger so neither path under-reports nor double counts.
	 */
	for (size_t i = 0; i < n; i++) {
		marked += fs->v[i].suppressed;
		r.nr_gating +=
		    !fs->v[i].suppressed && lw_kind__gates(fs->v[i].kind ? fs->v[i].kind : "");
	}
	if (marked > meta.nr_suppressed)
		meta.nr_suppressed = marked;
	r.nr_findings = n - marked;
	if (ops->priv_size) {
		r.priv = calloc(1, ops->priv_size);
		if (!r.priv)
			return -ENOMEM;
	}

	err = ops->begin(&r, &meta);
	for (size_t i = 0; !err && i < n; i++) {
		if (fs->v[i].suppressed)
			continue;
		err = ops->finding(&r, &fs->v[i]);
		written++;
	}
	if (!err)
		err = ops->end(&r, &meta, written);
	if (!err && fflush(out))
		err = errno ? -errno : -EIO;
	if (!err && ferror(out))
		err = -EIO;
	free(r.priv);
	return err;
}

/* Rejects overlongs, surrogates and code points above U+10FFFF (RFC 3629), so
 * strict decoders accept the result.
 */
size_t report__utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Any lost event or full map means findings may be missing. */
bool report__complete(const struct lw_report_meta *m)
{
	return !m->incomplete_reason && lw_stats__lossless(&m->stats);
}
