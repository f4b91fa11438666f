/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finding kinds, written once: the correlators emit these names, and the
 * reporters, suppressions, the session's exit gate and --help read their
 * properties from this table instead of comparing strings.
 */
#ifndef LW_KINDS_H
#define LW_KINDS_H

#include <stdbool.h>
#include <stddef.h>

struct lw_kind {
	const char *name;     /* public contract: "fd-leak", ... */
	const char *detector; /* "fd", "mem", "pair", "mount", "proc"; "fault": run --inject */
	bool is_leak;	      /* never released: the "leak:" suppression scope */
	bool gates_exit;      /* unsuppressed, it makes run exit --error-exitcode */
	bool aged;	      /* still alive at the end: titled "Leak of", has an age */
	bool last_touch;      /* --last-touch evidence applies (names a live fd) */
};

/* name, detector, is_leak, gates_exit, aged, last_touch */
#define LW_KINDS(X)                                                                                \
	X("fd-leak", "fd", true, true, true, true)                                                 \
	X("fd-double-close", "fd", false, true, false, false)                                      \
	X("fd-inherited", "fd", false, true, false, true)                                          \
	X("fd-send-failed-leak", "fd", true, true, true, true)                                     \
	X("fd-in-flight-lost", "fd", true, true, false, true)                                      \
	X("fd-uncertain", "fd", true, false, true, true)                                           \
	X("fd-held", "fd", true, false, true, true)                                                \
	X("mem-leak", "mem", true, true, true, false)                                              \
	X("mem-possibly-lost", "mem", true, false, true, false)                                    \
	X("mem-reachable", "mem", true, false, true, false)                                        \
	X("mem-double-free", "mem", false, true, false, false)                                     \
	X("mem-invalid-free", "mem", false, true, false, false)                                    \
	X("pair-leak", "pair", true, true, true, false)                                            \
	X("pair-underflow", "pair", false, true, false, false)                                     \
	X("mount-propagation-leak", "mount", false, true, true, false)                             \
	X("mount-race", "mount", false, true, false, false)                                        \
	X("mount-leftover", "mount", false, true, false, false)                                    \
	X("respawn-storm", "proc", false, true, false, false)                                      \
	X("fault-crash", "fault", false, true, false, false)                                       \
	X("fault-hang", "fault", false, true, false, false)

extern const struct lw_kind lw_kinds[];
extern const size_t lw_nr_kinds;

/* The row for name; NULL when unknown. */
const struct lw_kind *lw_kind__find(const char *name);
/* The row for the first len bytes of name (suppression prefixes). */
const struct lw_kind *lw_kind__find_n(const char *name, size_t len);
/* Whether a finding of kind makes run exit with --error-exitcode (an
 * unknown kind does).
 */
bool lw_kind__gates(const char *kind);
/* Whether kind is one of detector's. */
bool lw_kind__of(const char *kind, const char *detector);

#endif
