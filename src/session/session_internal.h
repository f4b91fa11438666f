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
#include "detect/fd/corr_fd.h"
#include "detect/mem/alloc_resolve.h"
#include "detect/mem/corr_mem.h"
#include "detect/mount/corr_mount.h"
#include "detect/proc/corr_storm.h"
#include "detect/pair/corr_pair.h"
#include "detect/pair/pair_spec.h"
#include "detect/trend.h"
#include "base/hmap.h"
#include "session/load_bpf.h"
#include "stack/probe_place.h"
#include "stack/sym_resolve.h"
#include "base/procfs.h"
#include "session/session.h"
#include "report/suppress.h"
#include "stack/symbolize.h"
#include "detect/fd/touch_label.h"

#define LW_RINGBUF_BYTES (64u << 20)
#define LW_SITES_MAX	 512

#define LW_POLL_MS 20 /* BPF wakes us per batch; poll for the rest */

struct rule_key_vec {
	struct lw_cfi_key *v;
	size_t n, cap;
};

struct lw_session {
	const struct lw_opts *opts;
	struct lw_loader *ld;
	struct ring_buffer *rb;
	struct corr_fd *corr;
	struct corr_mem *mem;	/* NULL unless the mem detector is on */
	struct corr_pair *pair; /* NULL without pair rules */
	struct corr_mount *mnt;
	struct corr_storm *storm;
	struct lw_pair_spec spec;
	size_t first_profile_rule; /* rules from here on came from --pair-profile */
	struct symbolizer *sym;
	struct cfi_cache *cfi;
	struct suppressions *supp;
	struct suppressions *builtin; /* NULL with --no-default-suppressions */
	struct trend *trend;
	struct lw_proc_info *procs;
	size_t nr_procs, cap_procs;
	struct rule_key_vec rules; /* to delete a process's rules when it goes */
	struct hmap *exec_gens;	   /* tgid → execs seen */
	struct hmap *miss_retries; /* rule key hash → misses without a mapping */
	struct hmap *new_ns;	   /* mount namespaces traced processes created */
	struct hmap *touches;	   /* (tgid, fd) → struct lw_touch * finished in user space */
	pid_t root;
	uint64_t start_ns;
	uint64_t reconciled;
	uint64_t user_errors; /* events user space could not process */
	int child_status;
	char *command;
	char errmsg[512];
};

#define LW_MEM_SITE_TAG 0x6d656d0000000000ULL /* keeps mem sites apart from fd sites */

uint64_t mono_ns(void);
/* Record the first error message; returns err. */
int set_error(struct lw_session *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct lw_proc_info *proc_get(struct lw_session *s, uint32_t pid);
/* ring_buffer__new() callback */
int on_event(void *ctx, void *data, size_t size);

#endif
