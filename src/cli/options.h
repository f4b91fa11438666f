/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LW_OPTIONS_H
#define LW_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit codes (documented in --help and README). */
#define LW_EXIT_OK	 0
#define LW_EXIT_USAGE	 2
#define LW_EXIT_ENV	 3 /* not root, no BTF, BPF load/attach failed */
#define LW_EXIT_TARGET	 4 /* PID not found, exited during attach, command not runnable */
#define LW_EXIT_INTERNAL 5
#define LW_EXIT_FINDINGS 23 /* default --error-exitcode, as LeakSanitizer */

enum lw_mode { LW_MODE_RUN, LW_MODE_ATTACH };

struct lw_output;
struct lw_fault_plan;

struct lw_opts {
	enum lw_mode mode;
	pid_t pid;
	char **argv;	  /* run: the command */
	const char *user; /* run: -u USER (name or uid) the command runs as */
	double duration_s;
	double kill_after_s; /* run: SIGKILL this long after --duration's SIGTERM */
	bool keep_running;   /* run: the command may outlive leakwatch */
	double interval_s;
	uint64_t min_age_ns;
	const char *format;
	const char *output;
	bool output_special;   /* --output-special: -o may name a FIFO or device */
	struct lw_output *out; /* the report's destination, opened before the run */
	const char *suppressions;
	int error_exitcode;
	bool no_follow;
	bool no_default_suppressions;
	bool last_touch;       /* evidence: the last syscall that used each leaked fd */
	const char *pairs[16]; /* --pair RESOURCE:ACQ(H)/REL(H)... */
	unsigned nr_pairs;
	const char *pair_file;	   /* --pair-file */
	const char *pair_profiles; /* --pair-profile a,b */
	int allow_inherit[16];	   /* fds that may cross an exec (fd-inherited) */
	unsigned nr_allow_inherit;
	/* --only: bit i is lw_detectors[i] (detect/detector.h); pair also
	 * runs whenever rules are given
	 */
	uint32_t detectors;
	bool detectors_given;  /* --only: what it names was asked for */
	uint32_t sample_every; /* mem: keep 1 block in N */
	uint64_t min_size, max_size;
	uint32_t max_blocks; /* mem: live blocks the table is sized for (0: 1 Mi) */
	bool no_stacks;	     /* mem: no allocation stacks (cost floor) */
	bool probe_at_entry; /* mem: no probe placement (for the benchmark) */
	unsigned top;	     /* mem: at most N mem-leak findings, largest first (0: all) */
	bool no_freeze;	     /* never hold the target still: no reachability, no fd liveness */
	bool show_reachable; /* mem: list still-reachable blocks too */
	bool strict_fds;     /* every fd open at the end is a leak (valgrind's rule) */
	bool verbose;
	bool quiet; /* no live status line */
	/* run --inject / --fault-sweep (fault/fault_spec.h); NULL: no faults */
	struct lw_fault_plan *faults;
	bool sweep;		/* --fault-sweep: faults->record names the functions */
	double fault_timeout_s; /* a faulted run still going then is a fault-hang (0: none) */
	unsigned sweep_max;	/* at most this many sites (runs) */
	bool command_quiet;	/* the command's stdout and stderr go to /dev/null */
};

#endif
