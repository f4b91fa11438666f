// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The words every format uses for an injected fault. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "report/report.h"

const struct lw_evidence *report_fault__stack(const struct lw_finding *f)
{
	int i = f->fault.stack_idx;

	return f->fault.set && i >= 0 && (unsigned)i < f->nr_extra ? &f->extra[i] : NULL;
}

void report_fault__line(const struct lw_finding *f, char *buf, size_t len)
{
	const struct lw_fault_note *n = &f->fault;
	const struct lw_evidence *x = report_fault__stack(f);
	const char *en = strerrorname_np(n->err);
	size_t off;

	off = (size_t)snprintf(buf, len, "%s failing with %s (call %" PRIu64 ")", n->func,
			       en ? en : "?", n->nth);
	for (unsigned i = 0; x && x->frames && i < x->nr_frames && i < 4 && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " <- " : " at ",
					x->frames[i].symbol ? x->frames[i].symbol : "??");
	if (x && x->nr_frames > 4 && off < len)
		snprintf(buf + off, len - off, " <- ...");
}
