/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One run of the command with faults: the injection library's
 * configuration and log in a private directory, the environment that
 * loads the library, and, at report time, what the log says: the faults
 * made (a note on every finding), crashes and hangs under them (findings
 * of their own), and, for a sweep's recording run, the call sites seen.
 */
#ifndef LW_FAULT_RUN_H
#define LW_FAULT_RUN_H

#include <stdbool.h>
#include <sys/types.h>
#include "fault/fault_log.h"
#include "fault/fault_spec.h"
#include "fault/fault_where.h"
#include "report/report.h"

#define LW_FAULT_RANGES_MAX 64

struct lw_fault_run {
	struct lw_fault_plan plan;
	char lib[PATH_MAX];
	char dir[64], conf[96], log_path[96];
	struct lw_fault_range ranges[LW_FAULT_RANGES_MAX];
	int range_rule[LW_FAULT_RANGES_MAX];
	int nr_ranges;
	uid_t uid; /* who the command runs as: the log must be its to write */
	gid_t gid;
	bool timed_out;	  /* the run was ended by --fault-timeout */
	double timeout_s; /* for the hang finding's words */
	pid_t root;
	struct lw_fault_log log;
	char reason[128]; /* the report's incomplete_reason when the log was damaged */
	char **envp;	  /* the command's environment (built by fault_run__envp) */
};

/* liblwinject.so: $LEAKWATCH_INJECT_LIB, else next to the leakwatch
 * binary (the build tree), else ../lib/leakwatch/ from it (make install).
 * 0 or -ENOENT.
 */
int fault_lib__find(char *out, size_t len);

/* Check the command can take the library (dynamically linked, not a
 * set-id program it would refuse preloads in), resolve each rule's WHERE,
 * make the private directory. 0, -ENOENT (no library) or -EPERM/-ENOEXEC
 * (the command cannot be injected), with a one-line reason in err. A WHERE
 * found in none of the command's modules is looked up by name in every
 * program the command runs (a note on stderr says so).
 */
int fault_run__prepare(struct lw_fault_run *r, const struct lw_fault_plan *p, char **argv,
		       char *const envp[], uid_t uid, gid_t gid, char *err, size_t errlen);
/* Write the configuration (top: the command's pid). 0 or -errno. */
int fault_run__write_conf(struct lw_fault_run *r, pid_t top);
/* envp with the library first in LD_PRELOAD (a preload the user set stays,
 * after it) and LW_INJECT_CONF; kept in r->envp. NULL on ENOMEM.
 */
char **fault_run__envp(struct lw_fault_run *r, char *const envp[]);
/* Read the log (once). 0 or -errno. */
int fault_run__read_log(struct lw_fault_run *r);
/* lw_report_hook_fn: notes, fault-crash and fault-hang findings, m->fault. */
int fault_run__report_hook(void *ctx, struct lw_findings *fs, struct lw_report_meta *m,
			   int child_status);
/* Fill f->fault and a stack evidence from a fault record. */
void fault_run__note(const struct lw_fault_run *r, const struct lw_fault_rec *rec,
		     struct lw_finding *f, uint64_t fired);
/* Faults the log records. */
uint64_t fault_run__fired(const struct lw_fault_run *r);
/* Remove the directory, free what r holds. */
void fault_run__free(struct lw_fault_run *r);

#endif
