/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The session's context and the helpers its files share (session.c: set-up
 * and attach; session_events.c: BPF records; session_loop.c: the event loop;
 * session_report.c: the report). Not for use outside them.
 */
#ifndef LW_SESSION_INTERNAL_H
#define LW_SESSION_INTERNAL_H
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "stack/cfi.h"
#include "base/hmap.h"
#include "base/proc_table.h"
#include "base/procfs.h"
#include "detect/detector.h"
#include "detect/fd/corr_fd.h"
#include "detect/fd/det_fd.h"
#include "detect/trend.h"
#include "report/suppress.h"
#include "session/load_bpf.h"
#include "session/ring_reader.h"
#include "session/exit_stop.h"
#include "session/session.h"
#include "stack/symbolize.h"

#define LW_RINGBUF_BYTES (64u << 20)

#define LW_POLL_MS 20 /* BPF wakes us per batch; poll for the rest */

struct rule_key_vec {
	struct lw_cfi_key *v;
	size_t n, cap;
};

/* One enabled detector. */
struct lw_det_slot {
	const struct lw_detector_ops *ops;
	struct lw_det *d;
};

#define LW_DETS_MAX 8

/* -v: when each phase began or ended (CLOCK_MONOTONIC ns, 0: not yet);
 * the start is lw_session.start_ns
 */
struct lw_phase_times {
	uint64_t loaded;      /* BPF object opened and loaded (verified) */
	uint64_t attach;      /* tracepoint attach began */
	uint64_t tracepoints; /* tracepoints attached */
	uint64_t attached;    /* detectors' uprobes attached too */
	uint64_t first_event; /* first ring buffer record handled */
	uint64_t detached;    /* every probe removed */
};

struct lw_session {
	const struct lw_opts *opts;
	struct lw_loader *ld;
	struct ring_reader *rb;
	struct lw_det_slot dets[LW_DETS_MAX]; /* the enabled ones, in lw_detectors[] order */
	size_t nr_dets;
	struct lw_det_io io; /* what detectors may ask of the session */
	struct lw_procs procs;
	struct symbolizer *sym;
	struct cfi_cache *cfi;
	struct suppressions *supp;
	struct suppressions *builtin; /* NULL with --no-default-suppressions */
	struct trend *trend;
	struct rule_key_vec rules; /* to delete a process's rules when it goes */
	struct hmap *miss_retries; /* rule key hash → misses without a mapping */
	struct hmap *rules_set;	   /* rule key hash → 1: BPF has this rule, teach it once */
	pid_t root;
	uint64_t start_ns;
	struct lw_phase_times phase;
	uint64_t user_errors; /* events user space could not process */
	int child_status;
	char *command;
	struct exit_stops *xs; /* run: processes held at their exit */
	bool probes_ready;     /* the detectors added their uprobes */
	uint64_t watch_failed; /* processes whose uprobes could not go in */
	struct lw_scan_stats scan;
	int sigfd;	   /* the loop's signalfd, kept for a second signal during the report */
	bool duration_hit; /* run: --duration ended the command */
	int end_signal;	   /* the first end signal the loop read, 0: none */
	lw_report_hook_fn report_hook; /* run --inject: fault findings and notes */
	void *report_ctx;
	char reason[768]; /* the report's incomplete_reason */
	char errmsg[512];
};

uint64_t mono_ns(void);
/* -v: "leakwatch: time: WHAT S s[EXTRA]" on stderr, from mono_ns() values */
void session__phase_line(const struct lw_session *s, const char *what, uint64_t from, uint64_t to,
			 const char *extra);
/* Record the first error message; returns err. */
int set_error(struct lw_session *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The enabled detector called name, NULL when it is off. */
struct lw_det *session_det(const struct lw_session *s, const char *name);
/* session_freeze.c: run mode follows the command with ptrace to hold each
 * process at its exit; attach mode freezes the targets at report time.
 */
void session__poll_stops(struct lw_session *s, pid_t run_child);
void session__freeze_targets(struct lw_session *s);
/* Put the uprobes into tgid's address space (once the detectors added them):
 * at its fork, before it runs code of its own where ptrace holds it.
 */
void session_watch(struct lw_session *s, uint32_t tgid);
/* Remove every probe (-v: timed, the first time). */
void session__detach(struct lw_session *s);
/* ring_reader__new() callback */
int on_event(void *ctx, void *data, size_t size);

#endif
