/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LW_REPORT_HELPERS_H
#define LW_REPORT_HELPERS_H

#include <stdio.h>
#include "report/report.h"

struct doc {
	char *buf;
	size_t len;
	int rc;
};

/* The whole report in memory (d.buf is malloc'ed). */
struct doc render(const char *format, const struct lw_report_meta *m, const struct lw_findings *fs);
/* run mode, pid 1234, 40 ms, 17 events */
struct lw_report_meta base_meta(void);
void add_frame(struct lw_finding *f, uint64_t addr, const char *module, const char *sym,
	       uint64_t off, const char *file, int line);

#endif
