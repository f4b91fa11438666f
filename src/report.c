// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reporter table and the begin/finding/end driver shared by every format. */
#include <errno.h>
#include <string.h>
#include "report.h"

extern const struct reporter_ops lw_report_text;
extern const struct reporter_ops lw_report_json;

static const struct reporter_ops *const reporters[] = {
    &lw_report_text,
    &lw_report_json,
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
	struct lw_report_meta meta = *m;
	size_t n = fs ? fs->n : 0, written = 0, marked = 0;
	int err;

	/* The caller may count suppressions in meta, mark findings, or both:
	 * take the larger so neither path under-reports nor double counts.
	 */
	for (size_t i = 0; i < n; i++)
		marked += fs->v[i].suppressed;
	if (marked > meta.nr_suppressed)
		meta.nr_suppressed = marked;

	err = ops->begin(out, &meta);
	for (size_t i = 0; !err && i < n; i++) {
		if (fs->v[i].suppressed)
			continue;
		err = ops->finding(out, &fs->v[i]);
		written++;
	}
	if (!err)
		err = ops->end(out, &meta, written);
	if (!err && fflush(out))
		err = errno ? -errno : -EIO;
	if (!err && ferror(out))
		err = -EIO;
	return err;
}
