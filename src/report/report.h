/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reporters: one ops struct per output format. They get symbolized findings. */
#ifndef LW_REPORT_H
#define LW_REPORT_H

#include <stdio.h>
#include "base/proc_table.h"
#include "report/finding.h"

#define LW_JSON_SCHEMA_VERSION 3

/* Processes held still for a look from outside: reachability of heap
 * blocks, liveness of fds (run: at each exit; attach: at report time).
 */
struct lw_scan_stats {
	uint64_t frozen;     /* processes held still */
	uint64_t not_frozen; /* processes that could not be (off says why) */
	uint64_t pause_ns, pause_max_ns;
	uint64_t mem_scans, mem_scanned_bytes, mem_scan_ns; /* reachability */
	uint64_t mem_scan_failed; /* scans that failed: those blocks count as lost */
	uint64_t reachable_blocks, reachable_bytes; /* not findings */
	bool off_by_option;			    /* --no-freeze */
	bool listed_reachable;			    /* --show-reachable */
	char off[160]; /* the first reason a process could not be held */
};

/* --fault-sweep: one call site tried. */
struct lw_sweep_site {
	char func[24];
	int err;
	uint64_t hash;	     /* the site's stack hash */
	char at[192];	     /* "port_msg_alloc <- router_handle <- main" */
	uint64_t findings;   /* findings its fault found that the clean run did not */
	const char *outcome; /* "clean", "findings", "crashed", "timed out", "not reached" */
};

/* run --inject / --fault-sweep. */
struct lw_fault_meta {
	bool on;
	char rules[512]; /* --inject: the rules as written */
	uint64_t fired;	 /* faults made */
	uint64_t procs;	 /* processes the injection library ran in */
	bool sweep;
	uint64_t sites, runs, crashed, timed_out, not_reached, skipped, findings;
	const struct lw_sweep_site *site;
	size_t nr_site;
};

struct lw_report_meta {
	const char *tool_version;
	const char *mode;    /* "run" | "attach" | "replay" */
	const char *command; /* run: the command line joined by spaces; else NULL */
	uint32_t pid;	     /* root pid */
	uint64_t duration_ms;
	const struct lw_proc *procs; /* the session's process table */
	size_t nr_procs;
	struct lw_stats stats;
	struct lw_scan_stats scan;
	uint64_t reconciled; /* attach: entries /proc/PID/fd reconciliation corrected */
	size_t nr_suppressed;
	const char *incomplete_reason; /* NULL when complete */
	struct lw_fault_meta fault;
};

struct reporter_ops;

/* One report being written. report__write owns it: priv is ops->priv_size
 * zeroed bytes of per-report state (formats keep no file-scope state), and
 * nr_findings is set before begin() so headers can state totals up front.
 */
struct lw_reporter {
	const struct reporter_ops *ops;
	FILE *out;
	void *priv;
	size_t nr_findings; /* findings finding() will receive */
	size_t nr_gating;   /* of those, of a kind that gates run's exit */
};

struct reporter_ops {
	const char *name;
	size_t priv_size;
	int (*begin)(struct lw_reporter *r, const struct lw_report_meta *m);
	int (*finding)(struct lw_reporter *r, const struct lw_finding *f);
	int (*end)(struct lw_reporter *r, const struct lw_report_meta *m, size_t nr_findings);
};

/* "text", "json", "junit" or "folded"; NULL when unknown. */
const struct reporter_ops *reporter__find(const char *format);

/* Write the whole report: begin, every finding not suppressed, end. */
int report__write(const struct reporter_ops *ops, FILE *out, const struct lw_report_meta *m,
		  const struct lw_findings *fs);

/* Shared by the reporters. */

/* The text reporter's block for one finding (title, details, stack) without
 * the blank line between findings; JUnit reuses it as the failure body.
 */
int report_text__block(FILE *out, const struct lw_finding *f);
/* "malloc failing with ENOMEM (call 1) at port_msg_alloc <- main" for a
 * finding with f->fault set.
 */
void report_fault__line(const struct lw_finding *f, char *buf, size_t len);
/* The failing call's stack among f's evidence, NULL when it has none. */
const struct lw_evidence *report_fault__stack(const struct lw_finding *f);
/* Length of the valid UTF-8 sequence at p (n bytes available), 0 if invalid. */
size_t report__utf8_seq(const unsigned char *p, size_t n);
/* False when anything may be missing from the report. */
bool report__complete(const struct lw_report_meta *m);

#endif
