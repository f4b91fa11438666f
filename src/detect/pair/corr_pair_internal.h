/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pair correlator internals shared by corr_pair.c (replaying pair calls into
 * per-process handle tables) and corr_pair_report.c (grouping them into findings).
 * Not part of the API: only corr_pair*.c include it.
 */
#ifndef LW_CORR_PAIR_INTERNAL_H
#define LW_CORR_PAIR_INTERNAL_H

#include "detect/pair/corr_pair.h"
#include "base/hmap.h"

/* One call that made or kept a reference. */
struct pent {
	uint64_t ts;
	uint32_t tid;
	struct lw_ips stack;
};

struct phandle {
	uint64_t handle;
	uint64_t seq; /* creation order: ties and "first handle" */
	uint64_t balance;
	bool acquired; /* else known from a retain of an untraced creation */
	bool retained;
	struct pent first;  /* creation */
	struct pent retain; /* newest retain */
};

/* The last pair call of a thread: tells nested calls from real ones. */
struct tlast {
	uint32_t res;
	uint32_t op;
	uint64_t handle;
	bool ended; /* that call ended the handle */
};

struct pproc {
	uint32_t tgid;
	bool inherited; /* forked, not exec'd: holds handles we never saw */
	uint64_t last_ts;
	struct hmap **live;   /* [resource]: handle → struct phandle *, lazily */
	struct hmap *threads; /* tid → struct tlast * */
};

/* A handle leaked before finish: lost to address reuse, exit or exec. */
struct recorded {
	uint32_t tgid;
	uint32_t res;
	uint64_t end_ns;
	struct phandle h;
};

struct under {
	uint32_t tgid, tid;
	uint32_t res;
	uint64_t handle, seq;
	struct lw_ips stack;
	bool have_prev; /* the handle ended recently: prev_* and acq_stack are set */
	uint32_t prev_op;
	struct lw_ips prev_stack, acq_stack;
};

#define LW_PAIR_ENDED_RING 64 /* recently ended handles, for underflow evidence */

struct ended {
	bool valid;
	uint32_t tgid, res, op;
	uint64_t handle;
	struct lw_ips stack; /* the call that ended it */
	struct lw_ips created;
};

struct corr_pair {
	struct corr_pair_opts o;
	uint32_t *res_of;      /* rule → resource index */
	const char **res_name; /* resource index → name (in the spec) */
	uint32_t nres;
	uint64_t seq;
	struct hmap *procs; /* tgid → struct pproc * */
	struct recorded *rec;
	size_t nr_rec, cap_rec;
	struct under *unders;
	size_t nr_unders, cap_unders;
	struct ended ended[LW_PAIR_ENDED_RING];
	size_t ended_next;
};

#endif
