// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Shared by the reporter tests: render a report into memory, a base meta,
 * hand-built symbolized frames.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report_helpers.h"

struct doc render(const char *format, const struct lw_report_meta *m, const struct lw_findings *fs)
{
	struct doc d = {0};
	FILE *f = open_memstream(&d.buf, &d.len);

	if (!f) {
		d.rc = -errno;
		return d;
	}
	d.rc = report__write(reporter__find(format), f, m, fs);
	fclose(f);
	return d;
}

struct lw_report_meta base_meta(void)
{
	struct lw_report_meta m = {
	    .tool_version = "0.1.0",
	    .mode = "run",
	    .command = "./fixture_leak --n 3",
	    .pid = 1234,
	    .duration_ms = 40,
	};
	m.stats.events = 17;
	return m;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void add_frame(struct lw_finding *f, uint64_t addr, const char *module, const char *sym,
	       uint64_t off, const char *file, int line)
{
	struct lw_sym_frame *fr;

	f->frames = realloc(f->frames, (f->nr_frames + 1) * sizeof(*f->frames));
	fr = &f->frames[f->nr_frames++];
	*fr = (struct lw_sym_frame){.addr = addr,
				    .module = xstrdup(module),
				    .symbol = xstrdup(sym),
				    .offset = off,
				    .file = xstrdup(file),
				    .line = line};
}
