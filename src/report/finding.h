/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Findings: what correlators produce and reporters print. */
#ifndef LW_FINDING_H
#define LW_FINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <leakwatch/events.h>

#define LW_FINDING_FDS_MAX 16
#define LW_RESOURCE_MAX	   192

/* One symbolized frame. Strings are owned by the finding (freed by
 * lw_findings__free); module/symbol/file may be NULL when unknown.
 */
struct lw_sym_frame {
	uint64_t addr;
	char *module;
	char *symbol;	 /* demangled when the ELF's name is a C++/Rust one */
	uint64_t offset; /* from symbol start */
	char *file;
	int line; /* 0 when unknown */
	/* symbol does not cover addr: no symbol does, and it is the nearest
	 * preceding one in the same executable section (a static function of
	 * a stripped file lies somewhere after it)
	 */
	bool inexact;
	/* the ELF's name when symbol is its demangled form, else NULL; it
	 * lives in symbol's allocation (freeing symbol frees it)
	 */
	const char *mangled;
};

struct lw_ips {
	uint32_t nr;
	uint32_t flags; /* LW_STK_* */
	uint64_t ips[LW_STACK_MAX];
};

/* Whether ips[i] is a return address, to be looked up at ips[i] - 1: all
 * but the first frame of a stack taken at a function's entry.
 */
static inline bool lw_ips__is_return(const struct lw_ips *ips, unsigned i)
{
	return i > 0 || !(ips->flags & LW_STK_EXACT_PC);
}

#define LW_FINDING_EXTRA_MAX 3

/* Secondary evidence, e.g. a double free's "allocated at" and "previously
 * freed at" stacks (valgrind prints the same pair).
 */
struct lw_evidence {
	const char *label; /* static string */
	uint32_t pid;	   /* whose addresses these are; 0: the finding's */
	struct lw_ips stack;
	unsigned nr_frames;
	struct lw_sym_frame *frames; /* filled by the symbolizer */
};

/* run --inject / --fault-sweep: the call leakwatch made fail in the run
 * that found this (its stack is extra[stack_idx]).
 */
struct lw_fault_note {
	bool set;
	char func[24];
	int err;
	uint64_t nth;  /* the failing call was the nth matching one */
	uint64_t site; /* hash of its stack (the sweep's site id) */
	uint32_t pid, tid;
	uint64_t fired; /* faults made in that run in all */
	int stack_idx;	/* -1: no stack */
	char rule[192]; /* the rule as written */
};

struct lw_finding {
	const char *kind; /* public contract: "fd-leak", ... (static string) */
	uint32_t pid;
	uint32_t tid; /* creating thread */
	char comm[LW_COMM_LEN];
	int fd; /* first fd of the group, -1 if none */
	char resource[LW_RESOURCE_MAX];
	uint64_t count;	 /* fds (or blocks) in the group */
	uint64_t age_ms; /* oldest member */
	uint64_t bytes;	 /* memory findings */
	unsigned nr_fds;
	int fds[LW_FINDING_FDS_MAX];
	/* why it is (or is not) a leak, in one word (static strings, NULL when
	 * the kind says it all): mem "definite", "indirect", "possible",
	 * "reachable", "unscanned"; fd "dead", "growing", "held", "strict"
	 */
	const char *cls;
	const char *why; /* the evidence in words ("peer closed (CLOSE_WAIT)"), or NULL */
	uint64_t indirect_bytes, indirect_count; /* mem-leak definite: kept lost by these */
	bool growing;				 /* --interval: live count kept rising */
	bool suppressed;
	struct lw_ips stack; /* creation stack, raw */
	unsigned nr_extra;
	struct lw_evidence extra[LW_FINDING_EXTRA_MAX];
	unsigned nr_frames;
	struct lw_sym_frame *frames; /* filled by the symbolizer */
	struct lw_fault_note fault;
};

struct lw_findings {
	struct lw_finding *v;
	size_t n, cap;
};

/* Append a zeroed finding; NULL on ENOMEM. */
struct lw_finding *lw_findings__add(struct lw_findings *fs);
void lw_findings__free(struct lw_findings *fs);
void lw_frames__free(struct lw_sym_frame *frames, unsigned nr);
/* Determinism for stacks the unwinder cut at the end of the copied slice
 * (LW_STK_SLICE_END): whether the first calls of a site get a whole stack
 * depends on timing. A cut finding folds into the one finding of the same
 * pid, kind, class and why whose whole stack begins with all its frames
 * (counts and bytes add up, fds merge); with no such finding, or several
 * that differ past the cut, it stays as it is. Findings of one pid, kind,
 * class and why with the same frames (whichever unwinder finished them)
 * fold first; a dead and a held fd of one site stay apart. Run on raw
 * stacks, before symbolizing. Returns how many findings were folded away.
 */
size_t lw_findings__merge_truncated(struct lw_findings *fs);
/* Whether a and b (symbolized, of two runs of one command) are the same
 * finding: kind, class and frames, by symbol or module offset, never by
 * address; resource when neither has frames. --fault-sweep's merge.
 */
bool lw_finding__same_across_runs(const struct lw_finding *a, const struct lw_finding *b);
/* Stable order for reports: kind, pid, first fd. */
void lw_findings__sort(struct lw_findings *fs);

#endif
