/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Detectors: one ops struct per resource class, in the shape reporters have
 * (report/report.h). The session owns the process table and the kernel; it
 * routes records to the enabled detectors and asks each for its findings.
 * A detector's policy (what counts, what is filtered) lives in its folder,
 * src/detect/<name>/det_<name>.c, around its pure correlator. What it needs
 * from the world comes through struct lw_det_io, so unit tests drive it
 * with synthetic answers. Pure: no libbpf.
 *
 * Adding a resource class: one bpf/<name>.bpf.c, one src/detect/<name>/
 * folder with a struct lw_detector_ops, one row in lw_detectors[] (below,
 * detector.c) and its rows in the kinds table (report/kinds.h).
 */
#ifndef LW_DETECTOR_H
#define LW_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <leakwatch/events.h>
#include "base/proc_table.h"
#include "cli/options.h"
#include "report/finding.h"

struct lw_det; /* a detector's own state */
struct lw_mapping;
struct lw_proc_fd;
struct lw_report_meta;
struct corr_fd_site;
struct lw_freeze;
struct lw_reach_map;

typedef int (*lw_mem_stack_fn)(void *ctx, uint64_t id, const struct lw_stack_ips *ips);
typedef int (*lw_mem_block_fn)(void *ctx, const struct lw_alloc_key *k,
			       const struct lw_alloc_val *v);
typedef int (*lw_mem_total_fn)(void *ctx, uint64_t id, const struct lw_mem_total *t,
			       const struct lw_stack_ips *ips);

/* What a detector may ask of the session. Every function may be NULL: the
 * answer is then "unknown" (or "none").
 */
struct lw_det_io {
	void *ctx;
	const struct lw_procs *procs; /* the session's process table */
	/* the file mapping holding ip in tgid (the symbolizer's), or NULL */
	const struct lw_mapping *(*mapping)(void *ctx, uint32_t tgid, uint64_t ip);
	/* mountinfo of tgid: 1 target is a shared mount, 0 not, -errno unknown */
	int (*mount_shared)(void *ctx, uint32_t tgid, const char *target);
	/* is target still mounted in namespace mnt_ns (our own view)? */
	bool (*still_mounted)(void *ctx, uint32_t mnt_ns, const char *target);
	/* /proc/PID/ns/mnt inode, 0 unknown */
	uint32_t (*mnt_ns)(void *ctx, uint32_t pid);
	/* /proc/PID/fd: count (sorted, *out malloc'ed) or -errno */
	int (*proc_fds)(void *ctx, uint32_t pid, struct lw_proc_fd **out);
	/* /proc/PID/maps as the reachability scan reads it: count (*out
	 * malloc'ed) or -errno
	 */
	int (*proc_maps)(void *ctx, uint32_t pid, struct lw_reach_map **out);
	/* fds the fd detector believes tgid has open, -ENOENT when it is off */
	int (*open_fds)(void *ctx, uint32_t tgid);
	/* BPF: --last-touch's kernel record, 0 or -ENOENT */
	int (*touch)(void *ctx, uint32_t tgid, int fd, struct lw_touch *out);
	/* BPF: the mem maps (report time, --interval, a frozen process's
	 * scan); on_stack may be NULL: blocks only
	 */
	int (*read_mem)(void *ctx, lw_mem_stack_fn on_stack, lw_mem_block_fn on_block, void *cbctx);
	int (*read_mem_totals)(void *ctx, lw_mem_total_fn cb, void *cbctx);
	/* BPF: attach a mem program at path+offset (uretprobe when ret);
	 * how: an entry point's enum lw_mem_entry, 0 for free and mem_ret
	 */
	int (*attach_uprobe)(void *ctx, const char *prog, const char *path, uint64_t offset,
			     bool ret, uint32_t how, char *err, size_t errlen);
	/* BPF: attach a pair program with the rule in the cookie */
	int (*attach_pair)(void *ctx, const char *prog, const char *path, uint64_t offset,
			   uint64_t cookie, char *err, size_t errlen);
};

/* A process held still for a look from outside: run mode at its exit (after
 * its atexit handlers, before the kernel tears down its memory and fd
 * table), attach mode at report time. The session consumed every record
 * the process produced before it stopped.
 */
struct lw_frozen {
	pid_t pid;
	int pidfd;		    /* pidfd_getfd() takes its fds */
	const struct lw_freeze *fz; /* registers, stack pointers; freeze__read() */
	bool at_exit;		    /* run mode: the process is exiting */
};

struct lw_det_env {
	const struct lw_opts *opts;
	const struct lw_det_io *io;
	char *err; /* the first error message goes here */
	size_t errlen;
};

/* --interval: one creation site with live resources. show: print it (the
 * trend is sampled either way).
 */
struct lw_det_tick {
	void *ctx;
	double t_s; /* since start */
	void (*header)(void *ctx, const char *line);
	void (*site)(void *ctx, const struct corr_fd_site *site, const char *what, bool show);
};

struct lw_detector_ops {
	const char *name; /* --only, the kinds table's detector column */
	/* records routed to on_event (stacks complete), 0-terminated */
	const uint16_t *ev_types;
	bool default_on;
	bool default_in_run; /* on by default in run (the CI gate), opt-in for attach */
	/* on whatever --only says when these options ask for it (pair rules) */
	bool (*implied)(const struct lw_opts *o);
	const char *help; /* --help: what it watches */

	int (*open)(struct lw_det **out, const struct lw_det_env *env);
	/* the session has a new target (env->io->procs has it already) */
	int (*on_target)(struct lw_det *d, const struct lw_proc *p);
	/* put its probes on the target (pid; argv in run mode before exec) */
	int (*attach)(struct lw_det *d, pid_t pid, char **argv);
	/* state that existed before observation began (attach, run start) */
	int (*seed)(struct lw_det *d, pid_t pid);
	/* 0 or -errno (an event user space could not process) */
	int (*on_event)(struct lw_det *d, const struct lw_ev_hdr *h, size_t size);
	int (*on_fork)(struct lw_det *d, const struct lw_proc *parent, const struct lw_proc *child,
		       const struct lw_ev_proc_fork *ev);
	int (*on_exec)(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exec *ev);
	int (*on_exit)(struct lw_det *d, const struct lw_proc *p, const struct lw_ev_proc_exit *ev);
	void (*tick)(struct lw_det *d, const struct lw_det_tick *t);
	/* classify what a frozen process holds (reachability, liveness);
	 * never called when freezing is off or failed
	 */
	int (*on_frozen)(struct lw_det *d, const struct lw_frozen *fr);
	/* findings appended to out; now_ns on the events' clock */
	int (*finish)(struct lw_det *d, uint64_t now_ns, struct lw_findings *out);
	/* the --interval trend key of one of its findings, 0 for none */
	uint64_t (*site_key)(struct lw_det *d, const struct lw_finding *f);
	/* the trend flagged that key growing (f->growing is set, before
	 * suppression): the detector may re-kind the finding
	 */
	void (*on_growing)(struct lw_det *d, struct lw_finding *f);
	/* after suppression: the last word on its findings (--top); returns
	 * how many more it suppressed
	 */
	size_t (*trim)(struct lw_det *d, struct lw_findings *fs);
	/* what it adds to the report header */
	void (*meta)(struct lw_det *d, struct lw_report_meta *m);
	void (*free)(struct lw_det *d);
};

extern const struct lw_detector_ops det_fd_ops, det_mem_ops, det_pair_ops, det_mount_ops,
    det_proc_ops;

/* Every detector, in report and dispatch order; NULL-terminated. */
extern const struct lw_detector_ops *const lw_detectors[];

/* By name ("storm" is proc's old name); NULL when unknown. */
const struct lw_detector_ops *lw_detector__find(const char *name);
/* Index of ops in lw_detectors[] (the bit in lw_opts.detectors). */
unsigned lw_detector__bit(const struct lw_detector_ops *ops);
/* The default set as a bitmask of lw_detector__bit(). */
uint32_t lw_detectors__defaults(enum lw_mode mode);
/* The detectors a session runs: o->detectors plus those o implies. */
uint32_t lw_detectors__enabled(const struct lw_opts *o);
/* --only LIST into a bitmask; -EINVAL on an unknown or empty name. */
int lw_detectors__parse(const char *list, uint32_t *mask);
/* Record the first error message in env->err; returns err. */
int lw_det__error(const struct lw_det_env *env, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether the record type is routed to ops. */
bool lw_detector__wants(const struct lw_detector_ops *ops, uint16_t type);

/* attach mode: the root's exit ends observation; what it held then is still
 * open at the end, so detectors holding resources must not see it go.
 */
static inline bool lw_det__exit_ends_observation(const struct lw_opts *o, const struct lw_proc *p)
{
	return o->mode == LW_MODE_ATTACH && p && p->root;
}

/* A record's stack as the correlators take it. */
static inline void lw_stack__ips(const struct lw_stack *st, struct lw_ips *ips)
{
	ips->nr = st->nr > LW_STACK_MAX ? LW_STACK_MAX : st->nr;
	ips->flags = st->flags;
	for (uint32_t i = 0; i < ips->nr; i++)
		ips->ips[i] = st->ips[i];
}

#endif
