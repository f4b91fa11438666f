/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reporters: one ops struct per output format. They get symbolized findings. */
#ifndef LW_REPORT_H
#define LW_REPORT_H

#include <stdio.h>
#include "finding.h"

#define LW_JSON_SCHEMA_VERSION 1

struct lw_proc_info {
	uint32_t pid;
	uint32_t ppid;
	char comm[LW_COMM_LEN];
	int exited;
	int exit_code; /* raw wait status when exited */
};

struct lw_report_meta {
	const char *tool_version;
	const char *mode;    /* "run" | "attach" | "replay" */
	const char *command; /* run: the command line joined by spaces; else NULL */
	uint32_t pid;	     /* root pid */
	uint64_t duration_ms;
	const struct lw_proc_info *procs;
	size_t nr_procs;
	struct lw_stats stats;
	uint64_t reconciled; /* attach: entries /proc/PID/fd reconciliation corrected */
	size_t nr_suppressed;
	const char *incomplete_reason; /* NULL when complete */
};

struct reporter_ops {
	const char *name;
	int (*begin)(FILE *out, const struct lw_report_meta *m);
	int (*finding)(FILE *out, const struct lw_finding *f);
	int (*end)(FILE *out, const struct lw_report_meta *m, size_t nr_findings);
};

/* "text" or "json"; NULL when unknown. */
const struct reporter_ops *reporter__find(const char *format);

/* Write the whole report: begin, every finding not suppressed, end. */
int report__write(const struct reporter_ops *ops, FILE *out, const struct lw_report_meta *m,
		  const struct lw_findings *fs);

#endif
