// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
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
#include "cfi.h"
#include "corr_fd.h"
#include "alloc_resolve.h"
#include "corr_mem.h"
#include "corr_mount.h"
#include "corr_storm.h"
#include "corr_pair.h"
#include "pair_spec.h"
#include "growth.h"
#include "hmap.h"
#include "load_bpf.h"
#include "probe_place.h"
#include "sym_resolve.h"
#include "procfs.h"
#include "session.h"
#include "suppress.h"
#include "symbolize.h"
#include "touch_label.h"

#define LW_RINGBUF_BYTES (64u << 20)
#define LW_SITES_MAX	 512
/* glibc internals no program can fix, as LeakSanitizer ships its own
 * (and blocks LeakSanitizer would call reachable):
 * - a thread's tcache is allocated with _int_malloc (never through malloc's
 *   entry, so unseen, possibly at the address of a block just freed) and
 *   released with free() when the thread exits;
 * - thread DTVs stay in glibc's stack cache after pthread_join.
 */
static const char builtin_suppressions[] = "mem-invalid-free:__malloc_arena_thread_freeres\n"
					   "mem-double-free:__malloc_arena_thread_freeres\n"
					   "mem-invalid-free:tcache_thread_shutdown\n"
					   "mem-double-free:tcache_thread_shutdown\n"
					   "mem-leak:_dl_allocate_tls\n"
					   /* stdio buffers: reachable through FILE until exit */
					   "mem-leak:_IO_file_doallocate\n";

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
	struct growth *growth;
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

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int set_error(struct lw_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (!s->errmsg[0]) {
		va_start(ap, fmt);
		vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
		va_end(ap);
	}
	return err;
}

const char *session__error(const struct lw_session *s)
{
	return s->errmsg[0] ? s->errmsg : "unknown error";
}

int session__child_status(const struct lw_session *s)
{
	return s->child_status;
}

void session__set_command(struct lw_session *s, const char *cmdline)
{
	free(s->command);
	s->command = strdup(cmdline);
}

static struct lw_proc_info *proc_get(struct lw_session *s, uint32_t pid)
{
	for (size_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].pid == pid && !s->procs[i].exited)
			return &s->procs[i];
	if (s->nr_procs == s->cap_procs) {
		size_t cap = s->cap_procs ? s->cap_procs * 2 : 16;
		struct lw_proc_info *v = realloc(s->procs, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->procs = v;
		s->cap_procs = cap;
	}
	memset(&s->procs[s->nr_procs], 0, sizeof(s->procs[0]));
	s->procs[s->nr_procs].pid = pid;
	return &s->procs[s->nr_procs++];
}

static void proc_comm(const struct lw_session *s, uint32_t pid, char *comm)
{
	for (size_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].pid == pid && s->procs[i].comm[0])
			memcpy(comm, s->procs[i].comm, LW_COMM_LEN);
}

/* ---- event handling ---- */

static void rule_remember(struct lw_session *s, const struct lw_cfi_key *k)
{
	if (s->rules.n == s->rules.cap) {
		size_t cap = s->rules.cap ? s->rules.cap * 2 : 256;
		struct lw_cfi_key *v = realloc(s->rules.v, cap * sizeof(*v));

		if (!v)
			return;
		s->rules.v = v;
		s->rules.cap = cap;
	}
	s->rules.v[s->rules.n++] = *k;
}

static void rules_forget(struct lw_session *s, uint32_t tgid)
{
	size_t j = 0;

	for (size_t i = 0; i < s->rules.n; i++) {
		if (s->rules.v[i].tgid == tgid)
			lw_loader__del_rule(s->ld, &s->rules.v[i]);
		else
			s->rules.v[j++] = s->rules.v[i];
	}
	s->rules.n = j;
}

/* The module a CFI miss or mapping record names, joined from its dentries. */
static void learn_mapping(struct lw_session *s, const struct lw_ev_cfi_miss *ev)
{
	char path[LW_PATH_DEPTH * LW_COMP_LEN + LW_PATH_DEPTH + 1];
	size_t off = 0;

	path[0] = 0;
	for (int i = (int)ev->nr_comps - 1; i >= 0 && i < LW_PATH_DEPTH; i--)
		off += snprintf(path + off, sizeof(path) - off, "/%.*s", LW_COMP_LEN, ev->comps[i]);
	symbolizer__add_mapping(s->sym, ev->hdr.tgid, ev->vm_start, ev->vm_end, ev->vm_pgoff * 4096,
				path);
}

#define LW_MISS_RETRIES 3

/* bpf_find_vma only try-locks the mm: under contention a miss names no
 * mapping. Caching END for that pc would cut every later stack through it,
 * so remove the pending entry and let BPF ask again, a few times, before
 * believing the pc is in no file (JIT code, say).
 */
static bool retry_later(struct lw_session *s, const struct lw_cfi_key *key)
{
	uint64_t h = ((uint64_t)key->tgid << 32 ^ key->exec_gen) * 0x9E3779B97F4A7C15ULL ^ key->pc;
	bool added;
	uint64_t *tries = hmap__put(s->miss_retries, h, &added);

	if (!tries || ++*tries > LW_MISS_RETRIES)
		return false;
	lw_loader__del_rule(s->ld, key);
	return true;
}

static void handle_cfi_miss(struct lw_session *s, const struct lw_ev_cfi_miss *ev)
{
	struct lw_cfi_key key = {.tgid = ev->hdr.tgid, .exec_gen = ev->exec_gen, .pc = ev->pc};
	struct lw_cfi_rule rule = {.kind = LW_CFI_END};

	if (ev->hdr.type == LW_EV_MAPPING) {
		if (ev->found && ev->nr_comps)
			learn_mapping(s, ev);
		if (s->opts->verbose && ev->found)
			fprintf(stderr, "leakwatch: mapping for pid %u at 0x%llx (%u path parts)\n",
				ev->hdr.tgid, (unsigned long long)ev->vm_start, ev->nr_comps);
		return;
	}
	if (!ev->found && !symbolizer__find(s->sym, ev->hdr.tgid, ev->pc) && retry_later(s, &key))
		return; /* BPF asks again at the next stack through this pc */
	if (!ev->found || ev->nr_comps) {
		if (ev->found)
			learn_mapping(s, ev);
		if (cfi_rule_for_pc(s->cfi, s->sym, ev->hdr.tgid, ev->pc, &rule))
			rule = (struct lw_cfi_rule){
			    .kind = LW_CFI_BP, .cfa_off = 16, .bp_saved = 1, .bp_off = -16};
	}
	if (s->opts->verbose)
		fprintf(stderr, "leakwatch: unwind rule for pid %u pc 0x%llx: kind %u cfa %+d%s\n",
			ev->hdr.tgid, (unsigned long long)ev->pc, rule.kind, rule.cfa_off,
			ev->found ? "" : " (no file mapping)");
	if (lw_loader__set_rule(s->ld, &key, &rule) == 0)
		rule_remember(s, &key);
}

/* Finish a stack BPF left partial, on a private copy of the record. */
/* User space just unwound frames from..nr of a stack BPF could not finish:
 * hand BPF the rule of every one of them, so the next stack through this
 * call site is unwound in the kernel instead of one frame per event.
 */
static void teach_rules(struct lw_session *s, uint32_t tgid, uint32_t from,
			const struct lw_ips *ips)
{
	struct lw_cfi_key key = {.tgid = tgid};
	uint64_t *gen = hmap__get(s->exec_gens, tgid);

	key.exec_gen = gen ? (uint32_t)*gen : 0;
	for (uint32_t i = from; i < ips->nr && i < LW_STACK_MAX; i++) {
		struct lw_cfi_rule rule;

		if (cfi_rule_for_pc(s->cfi, s->sym, tgid, ips->ips[i], &rule))
			continue;
		key.pc = ips->ips[i];
		if (lw_loader__set_rule(s->ld, &key, &rule) == 0)
			rule_remember(s, &key);
	}
}

/* A private, writable copy of any stack-carrying record. */
union lw_ev_copy {
	struct lw_ev_hdr hdr;
	uint8_t bytes[LW_SLICE_OFFSET];
};

/* Where each stack-carrying record keeps its stack. */
static size_t stack_offset(uint16_t type, size_t *base)
{
	switch (type) {
	case LW_EV_FD_OPEN:
		*base = sizeof(struct lw_ev_fd_open);
		return offsetof(struct lw_ev_fd_open, stack);
	case LW_EV_FD_CLOSE:
		*base = sizeof(struct lw_ev_fd_close);
		return offsetof(struct lw_ev_fd_close, stack);
	case LW_EV_FD_SEND:
		*base = sizeof(struct lw_ev_fd_send);
		return offsetof(struct lw_ev_fd_send, stack);
	case LW_EV_PAIR:
		*base = sizeof(struct lw_ev_pair);
		return offsetof(struct lw_ev_pair, stack);
	case LW_EV_MOUNT:
		*base = sizeof(struct lw_ev_mount);
		return offsetof(struct lw_ev_mount, stack);
	case LW_EV_FD_TOUCH:
		*base = sizeof(struct lw_ev_fd_touch);
		return offsetof(struct lw_ev_fd_touch, stack);
	case LW_EV_MEM_ALLOC:
		*base = sizeof(struct lw_ev_mem_alloc);
		return offsetof(struct lw_ev_mem_alloc, stack);
	case LW_EV_MEM_BAD_FREE:
		*base = sizeof(struct lw_ev_mem_bad_free);
		return offsetof(struct lw_ev_mem_bad_free, stack);
	case LW_EV_MMAP_ANON:
		*base = sizeof(struct lw_ev_mmap_anon);
		return offsetof(struct lw_ev_mmap_anon, stack);
	}
	*base = 0;
	return 0;
}

/* Copy a stack-carrying record and finish its stack from the slice that
 * follows it (at LW_SLICE_OFFSET) when BPF could not.
 */
static const struct lw_ev_hdr *complete_stack(struct lw_session *s, const void *data, size_t size,
					      union lw_ev_copy *copy)
{
	const struct lw_ev_hdr *h = data;
	size_t base, off = stack_offset(h->type, &base);
	const uint8_t *slice = (const uint8_t *)data + LW_SLICE_OFFSET;
	struct lw_ips ips = {};
	struct lw_stack *st;
	uint32_t slice_len;

	if (!base || size < base)
		return h;
	memcpy(copy, data, base);
	if (!(h->flags & LW_F_STACK_PARTIAL))
		return &copy->hdr;
	st = (struct lw_stack *)((uint8_t *)copy + off);
	slice_len = st->slice_len;
	if (size < LW_SLICE_OFFSET + slice_len)
		slice_len = size > LW_SLICE_OFFSET ? size - LW_SLICE_OFFSET : 0;
	if (unwind__complete(s->cfi, s->sym, h->tgid, st, slice, slice_len, &ips) == 0) {
		teach_rules(s, h->tgid, st->nr ? st->nr - 1 : 0, &ips);
		st->nr = ips.nr;
		st->flags = ips.flags & ~LW_STK_PARTIAL;
		memcpy(st->ips, ips.ips, sizeof(st->ips));
	}
	copy->hdr.flags &= ~LW_F_STACK_PARTIAL;
	return &copy->hdr;
}

static void stack_to_ips(const struct lw_stack *st, struct lw_ips *ips)
{
	ips->nr = st->nr > LW_STACK_MAX ? LW_STACK_MAX : st->nr;
	ips->flags = st->flags;
	memcpy(ips->ips, st->ips, ips->nr * sizeof(ips->ips[0]));
}

/* Did the mount this record made join a shared peer group, and was it made
 * in a namespace a traced process created? (LW_MNT_*, from mountinfo while
 * the caller is most likely still alive)
 */
static void mount_flags(struct lw_session *s, struct lw_ev_mount *mv)
{
	bool makes = mv->ret == 0 && mv->target[0] &&
		     (mv->nr == 165 /* mount */ || mv->nr == 429 /* move_mount */);

	if (mv->ret == 0 && (mv->nr == 272 /* unshare */ || mv->nr == 56 /* clone */)) {
		bool added;

		hmap__put(s->new_ns, mv->mnt_ns, &added);
	}
	if (hmap__get(s->new_ns, mv->mnt_ns))
		mv->flags |= LW_MNT_NEW_NS;
	/* remounts and propagation changes make no mount */
	if (makes && mv->nr == 165 &&
	    (mv->arg_flags & (0x20 /* MS_REMOUNT */ | 0x100000 | 0x40000 | 0x80000 | 0x20000)))
		makes = false;
	/* BPF read it at mount time; mountinfo is the fallback for kernels
	 * before 6.8 (a propagated umount may already have removed it)
	 */
	if (makes && !(mv->flags & LW_MNT_PROPAGATES) &&
	    procfs__mount_shared(mv->hdr.tgid, mv->target) == 1)
		mv->flags |= LW_MNT_PROPAGATES;
	if (s->opts->verbose)
		fprintf(stderr,
			"leakwatch: mount syscall %u by pid %u in ns %u: %s ret %d flags %#x\n",
			mv->nr, mv->hdr.tgid, mv->mnt_ns, mv->target, mv->ret, mv->flags);
}

/* A child exited: sample its parent's open fds for a respawn storm's story. */
static void storm_parent_fds(struct lw_session *s, uint32_t child, uint64_t ts)
{
	for (size_t i = 0; i < s->nr_procs; i++) {
		if (s->procs[i].pid == child && s->procs[i].ppid) {
			int fds[4096], n = corr_fd__open_fds(s->corr, s->procs[i].ppid, fds, 4096);

			if (n >= 0)
				corr_storm__parent_fds(s->storm, s->procs[i].ppid, ts, (uint64_t)n);
			return;
		}
	}
}

/* mount-leftover: is that mount still there (our own namespace's view)? */
static bool still_mounted(void *ctx, uint32_t mnt_ns, const char *target)
{
	struct lw_session *s = ctx;
	char link[64], ns[64];
	ssize_t n;

	(void)s;
	n = readlink("/proc/self/ns/mnt", ns, sizeof(ns) - 1);
	if (n <= 0)
		return false;
	ns[n] = 0;
	snprintf(link, sizeof(link), "%u", mnt_ns);
	if (strcmp(ns + 5, link) && strncmp(ns + 5, link, strlen(link)))
		return false; /* another namespace: gone with it, or not ours to see */
	return procfs__mount_shared(getpid(), target) >= 0;
}

static bool in_libc(struct lw_session *s, uint32_t tgid, uint64_t ip)
{
	const struct lw_mapping *m = symbolizer__find(s->sym, tgid, ip);
	const char *base;

	if (!m || !m->path)
		return false;
	base = strrchr(m->path, '/');
	base = base ? base + 1 : m->path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "ld-linux", 8);
}

/* An anonymous mapping. The C library and the dynamic loader map memory for
 * themselves (malloc's large chunks and arenas, thread stacks, ld.so's
 * segments and TLS) and unmap it when they are done: those are the heap
 * detector's business or nobody's. Rule: drop the mapping when the frame
 * right after the mmap wrapper (ips[1]) is inside libc.so* or ld-linux*.
 * The wrapper's own frame (ips[0], in libc) is left out of the stack, like
 * the allocator's frame of a heap block, so the caller is innermost.
 */
static void on_mmap_anon(struct lw_session *s, const void *data, size_t size)
{
	union lw_ev_copy copy;
	const struct lw_ev_hdr *h = complete_stack(s, data, size, &copy);
	const struct lw_ev_mmap_anon *ev;
	struct lw_ips ips = {};

	if (h == data) {
		s->user_errors++; /* short record */
		return;
	}
	ev = (const struct lw_ev_mmap_anon *)h;
	stack_to_ips(&ev->stack, &ips);
	if (ips.nr >= 2 && in_libc(s, ev->hdr.tgid, ips.ips[1]))
		return;
	if (ips.nr >= 2 && in_libc(s, ev->hdr.tgid, ips.ips[0])) {
		memmove(ips.ips, ips.ips + 1, (ips.nr - 1) * sizeof(ips.ips[0]));
		ips.nr--;
		ips.flags |= LW_STK_ALL_RETURN;
	}
	if (corr_mem__mmap(s->mem, ev, &ips))
		s->user_errors++;
}

/* Memory records go to the memory correlator only. */
static void on_mem_event(struct lw_session *s, const void *data, size_t size)
{
	const struct lw_ev_hdr *h = data;
	union lw_ev_copy copy;
	struct lw_ips ips = {};

	switch (h->type) {
	case LW_EV_MEM_ALLOC: {
		const struct lw_ev_mem_alloc *ev;

		h = complete_stack(s, data, size, &copy);
		if (h == data)
			break; /* short record */
		ev = (const struct lw_ev_mem_alloc *)h;
		stack_to_ips(&ev->stack, &ips);
		if (corr_mem__user_alloc(s->mem, ev, &ips))
			s->user_errors++;
		return;
	}
	case LW_EV_MEM_FREE_USER:
		if (size >= sizeof(struct lw_ev_mem_free_user))
			corr_mem__user_free(s->mem, data);
		return;
	case LW_EV_MMAP_ANON:
		on_mmap_anon(s, data, size);
		return;
	case LW_EV_MUNMAP:
		if (size < sizeof(struct lw_ev_munmap))
			break;
		if (corr_mem__munmap(s->mem, data))
			s->user_errors++;
		return;
	case LW_EV_MEM_BAD_FREE: {
		const struct lw_ev_mem_bad_free *ev;

		h = complete_stack(s, data, size, &copy);
		if (h == data)
			break;
		ev = (const struct lw_ev_mem_bad_free *)h;
		stack_to_ips(&ev->stack, &ips);
		if (corr_mem__bad_free(s->mem, ev, &ips))
			s->user_errors++;
		return;
	}
	}
	s->user_errors++;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct lw_session *s = ctx;
	const struct lw_ev_hdr *h = data;
	union lw_ev_copy copy;
	struct lw_proc_info *pi;
	int err;

	if (size < sizeof(*h) || h->type == 0 || h->type >= LW_EV__MAX) {
		s->user_errors++;
		return 0;
	}
	switch (h->type) {
	case LW_EV_CFI_MISS:
	case LW_EV_MAPPING:
		if (size >= sizeof(struct lw_ev_cfi_miss))
			handle_cfi_miss(s, data);
		return 0;
	case LW_EV_FD_CLOSE:
		if (size < sizeof(struct lw_ev_fd_close) && !(h->flags & LW_F_STACK_PARTIAL)) {
			/* a successful close streams only the frames it has */
			memset(&copy, 0, sizeof(struct lw_ev_fd_close));
			memcpy(&copy, data, size < sizeof(copy) ? size : sizeof(copy));
			copy.hdr.size = sizeof(struct lw_ev_fd_close);
			h = &copy.hdr;
			break;
		}
		/* fall through */
	case LW_EV_FD_OPEN:
	case LW_EV_FD_SEND:
		if (h->flags & LW_F_STACK_PARTIAL)
			h = complete_stack(s, data, size, &copy);
		break;
	case LW_EV_MEM_ALLOC:
	case LW_EV_MEM_FREE_USER:
	case LW_EV_MEM_BAD_FREE:
	case LW_EV_MMAP_ANON:
	case LW_EV_MUNMAP:
		if (s->mem)
			on_mem_event(s, data, size);
		return 0;
	case LW_EV_FD_TOUCH: {
		const struct lw_ev_fd_touch *tv;
		uint64_t key;
		struct lw_touch *t;
		bool added;
		uint64_t *slot;

		h = complete_stack(s, data, size, &copy);
		if (h == data)
			return 0;
		tv = (const struct lw_ev_fd_touch *)h;
		/* the finished stack of a touch whose kernel copy is cut short */
		key = (uint64_t)tv->hdr.tgid << 32 | (uint32_t)tv->fd;
		slot = hmap__put(s->touches, key, &added);
		if (!slot)
			return 0;
		t = added ? calloc(1, sizeof(*t)) : (struct lw_touch *)(uintptr_t)*slot;
		if (!t) {
			hmap__del(s->touches, key, NULL);
			return 0;
		}
		*slot = (uintptr_t)t;
		t->nr = tv->nr;
		t->ts_ns = tv->hdr.ts_ns;
		t->nr_ips = tv->stack.nr > LW_TOUCH_FRAMES ? LW_TOUCH_FRAMES : tv->stack.nr;
		memcpy(t->ips, tv->stack.ips, t->nr_ips * sizeof(t->ips[0]));
		return 0;
	}
	case LW_EV_MOUNT: {
		struct lw_ips ips = {};
		struct lw_ev_mount *mv;

		h = complete_stack(s, data, size, &copy);
		if (h == data) {
			s->user_errors++;
			return 0;
		}
		mv = (struct lw_ev_mount *)h;
		stack_to_ips(&mv->stack, &ips);
		mount_flags(s, mv);
		if (corr_mount__feed(s->mnt, mv, ips.nr ? &ips : NULL))
			s->user_errors++;
		return 0;
	}
	case LW_EV_PAIR:
		if (s->pair) {
			struct lw_ips ips = {};

			h = complete_stack(s, data, size, &copy);
			if (h == data) {
				s->user_errors++;
				return 0;
			}
			stack_to_ips(&((const struct lw_ev_pair *)h)->stack, &ips);
			if (corr_pair__feed(s->pair, (const struct lw_ev_pair *)h, &ips))
				s->user_errors++;
		}
		return 0;
	case LW_EV_PROC_FORK: {
		const struct lw_ev_proc_fork *ev = data;

		symbolizer__fork(s->sym, ev->hdr.tgid, ev->child_tgid);
		if (s->mem)
			corr_mem__comm(s->mem, ev->child_tgid, ev->comm);
		if (s->pair) {
			corr_pair__fork(s->pair, ev->hdr.tgid, ev->child_tgid);
			corr_pair__comm(s->pair, ev->child_tgid, ev->comm);
		}
		corr_mount__fork(s->mnt, ev->hdr.tgid, ev->child_tgid, ev->hdr.ts_ns);
		corr_mount__comm(s->mnt, ev->child_tgid, ev->comm);
		corr_storm__fork(s->storm, ev->hdr.tgid, ev->child_tgid, ev->hdr.ts_ns);
		corr_storm__comm(s->storm, ev->child_tgid, ev->comm);
		pi = proc_get(s, ev->child_tgid);
		if (pi) {
			pi->ppid = ev->hdr.tgid;
			memcpy(pi->comm, ev->comm, sizeof(pi->comm));
		}
		break;
	}
	case LW_EV_PROC_EXEC: {
		const struct lw_ev_proc_exec *ev = data;
		uint64_t *slot;
		bool added;

		symbolizer__exec(s->sym, ev->hdr.tgid);
		symbolizer__snapshot_maps(s->sym, ev->hdr.tgid);
		if (s->mem) {
			corr_mem__exec(s->mem, ev->hdr.tgid);
			corr_mem__comm(s->mem, ev->hdr.tgid, ev->comm);
		}
		if (s->pair) {
			corr_pair__exec(s->pair, ev->hdr.tgid);
			corr_pair__comm(s->pair, ev->hdr.tgid, ev->comm);
		}
		corr_mount__comm(s->mnt, ev->hdr.tgid, ev->comm);
		corr_storm__exec(s->storm, ev->hdr.tgid, ev->filename, ev->comm, ev->hdr.ts_ns);
		pi = proc_get(s, ev->hdr.tgid);
		if (pi)
			memcpy(pi->comm, ev->comm, sizeof(pi->comm));
		/* mirrors the BPF target's exec_gen, part of every rule key */
		slot = hmap__put(s->exec_gens, ev->hdr.tgid, &added);
		if (slot)
			(*slot)++;
		break;
	}
	case LW_EV_PROC_EXIT: {
		const struct lw_ev_proc_exit *ev = data;

		pi = proc_get(s, ev->hdr.tgid);
		if (pi) {
			pi->exited = 1;
			pi->exit_code = ev->exit_code;
			memcpy(pi->comm, ev->comm, sizeof(pi->comm));
		}
		rules_forget(s, ev->hdr.tgid);
		corr_storm__comm(s->storm, ev->hdr.tgid, ev->comm);
		corr_storm__exit(s->storm, ev->hdr.tgid, ev->exit_code, ev->hdr.ts_ns);
		storm_parent_fds(s, ev->hdr.tgid, ev->hdr.ts_ns);
		corr_mount__comm(s->mnt, ev->hdr.tgid, ev->comm);
		corr_mount__exit(s->mnt, ev->hdr.tgid, ev->hdr.ts_ns);
		/* attach: the target's exit ends observation; what it held then
		 * is still open at the end, so the correlator must not see it go
		 */
		if (s->opts->mode == LW_MODE_ATTACH && ev->hdr.tgid == (uint32_t)s->root)
			return 0;
		if (s->mem)
			corr_mem__exit(s->mem, ev->hdr.tgid, ev->hdr.ts_ns);
		if (s->pair)
			corr_pair__exit(s->pair, ev->hdr.tgid, ev->hdr.ts_ns);
		break;
	}
	default:
		break;
	}
	err = corr_fd__feed(s->corr, h);
	if (err)
		s->user_errors++;
	return 0;
}

/* ---- set-up ---- */

/* --pair, --pair-file, --pair-profile into one rule table; a bad rule is a
 * usage error (-EINVAL) with the parser's line.
 */
static int load_pairs(struct lw_session *s, const struct lw_opts *o)
{
	char buf[128], *save = NULL, *name;
	int err = 0;

	for (unsigned i = 0; i < o->nr_pairs && !err; i++)
		err = pair_spec__parse_compact(&s->spec, o->pairs[i], s->errmsg, sizeof(s->errmsg));
	if (!err && o->pair_file)
		err = pair_spec__parse_file(&s->spec, o->pair_file, s->errmsg, sizeof(s->errmsg));
	s->first_profile_rule = s->spec.n;
	if (!err && o->pair_profiles) {
		snprintf(buf, sizeof(buf), "%s", o->pair_profiles);
		for (name = strtok_r(buf, ",", &save); name && !err;
		     name = strtok_r(NULL, ",", &save)) {
			const char *text = pair_spec__profile(name);

			if (!text) {
				snprintf(s->errmsg, sizeof(s->errmsg),
					 "unknown --pair-profile '%s' (see leakwatch --help)",
					 name);
				return -EINVAL;
			}
			err = pair_spec__parse_text(&s->spec, name, text, s->errmsg,
						    sizeof(s->errmsg));
		}
	}
	if (!err && s->spec.n)
		err = pair_spec__validate(&s->spec, s->errmsg, sizeof(s->errmsg));
	return err ? -EINVAL : 0;
}

int session__new(struct lw_session **out, const struct lw_opts *opts)
{
	struct lw_load_opts lo = {
	    .follow_children = !opts->no_follow,
	    .verbose = opts->verbose,
	    .ringbuf_bytes = LW_RINGBUF_BYTES,
	    .fd = opts->det_fd,
	    .mem = opts->det_mem,
	    .mem_sample_every = opts->sample_every,
	    .mem_min_size = opts->min_size,
	    .mem_max_size = opts->max_size,
	    .mem_no_stacks = opts->no_stacks,
	    .pair = opts->nr_pairs || opts->pair_file || opts->pair_profiles,
	    .last_touch = opts->last_touch,
	};
	struct corr_mem_opts mo = {
	    .attach_mode = opts->mode == LW_MODE_ATTACH,
	    .min_age_ns = opts->min_age_ns,
	    .sample_every = opts->sample_every,
	};
	struct corr_fd_opts co = {
	    .attach_mode = opts->mode == LW_MODE_ATTACH,
	    .min_age_ns = opts->min_age_ns,
	    .allow_inherit = opts->allow_inherit,
	    .nr_allow_inherit = opts->nr_allow_inherit,
	};
	struct lw_session *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	*out = s;
	s->opts = opts;
	s->child_status = -1;
	s->start_ns = mono_ns();
	if (opts->suppressions) {
		s->supp = suppress__load(opts->suppressions, s->errmsg, sizeof(s->errmsg));
		if (!s->supp)
			return -EINVAL;
	}
	err = load_pairs(s, opts);
	if (err)
		return err;
	if (!opts->no_default_suppressions) {
		s->builtin =
		    suppress__parse("built-in", builtin_suppressions, s->errmsg, sizeof(s->errmsg));
		if (!s->builtin)
			return -EINVAL;
	}
	err = lw_preflight(s->errmsg, sizeof(s->errmsg));
	if (err)
		return err;
	s->corr = corr_fd__new(&co);
	s->sym = symbolizer__new();
	s->cfi = cfi_cache__new();
	s->growth = growth__new();
	s->exec_gens = hmap__new();
	s->miss_retries = hmap__new();
	s->new_ns = hmap__new();
	s->touches = hmap__new();
	if (opts->det_mem)
		s->mem = corr_mem__new(&mo);
	{
		struct corr_mount_opts mno = {.attach_mode = opts->mode == LW_MODE_ATTACH};

		s->mnt = corr_mount__new(&mno);
		s->storm = corr_storm__new(NULL);
		if (!s->mnt || !s->storm)
			return set_error(s, -ENOMEM, "out of memory");
	}
	if (s->spec.n) {
		struct corr_pair_opts po = {
		    .attach_mode = opts->mode == LW_MODE_ATTACH,
		    .min_age_ns = opts->min_age_ns,
		    .spec = &s->spec,
		};

		s->pair = corr_pair__new(&po);
		if (!s->pair)
			return set_error(s, -ENOMEM, "out of memory");
	}
	if (!s->corr || !s->sym || !s->cfi || !s->growth || !s->exec_gens || !s->miss_retries ||
	    !s->new_ns || !s->touches || (opts->det_mem && !s->mem))
		return set_error(s, -ENOMEM, "out of memory");
	err = lw_loader__open(&s->ld, &lo, s->errmsg, sizeof(s->errmsg));
	if (err)
		return err;
	s->rb = ring_buffer__new(lw_loader__ringbuf_fd(s->ld), on_event, s, NULL);
	if (!s->rb)
		return set_error(s, -errno, "cannot open the BPF ring buffer: %s", strerror(errno));
	return 0;
}

void session__free(struct lw_session *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	lw_loader__detach(s->ld);
	lw_loader__free(s->ld);
	corr_fd__free(s->corr);
	corr_mem__free(s->mem);
	corr_pair__free(s->pair);
	corr_mount__free(s->mnt);
	corr_storm__free(s->storm);
	pair_spec__free(&s->spec);
	symbolizer__free(s->sym);
	cfi_cache__free(s->cfi);
	suppress__free(s->supp);
	suppress__free(s->builtin);
	growth__free(s->growth);
	hmap__free(s->exec_gens);
	hmap__free(s->miss_retries);
	hmap__free(s->new_ns);
	if (s->touches) {
		struct hmap_iter it = {0};

		while (hmap__next(s->touches, &it))
			free((void *)(uintptr_t)*it.val);
		hmap__free(s->touches);
	}
	free(s->procs);
	free(s->rules.v);
	free(s->command);
	free(s);
}

int session__add_target(struct lw_session *s, pid_t pid, bool root)
{
	struct lw_proc_info *pi;
	int err = lw_loader__add_target(s->ld, pid, root ? LW_TGT_ROOT : 0);

	if (err)
		return set_error(s, err, "cannot add pid %d to the target map: %s", pid,
				 strerror(-err));
	if (root) {
		char link[64], ns[64];
		ssize_t n;

		s->root = pid;
		/* the namespace the root starts in: a new one made later is
		 * told apart from it (mount-propagation-leak)
		 */
		snprintf(link, sizeof(link), "/proc/%d/ns/mnt", pid);
		n = readlink(link, ns, sizeof(ns) - 1);
		if (n > 0) {
			ns[n] = 0;
			corr_mount__set_ns(s->mnt, pid, (uint32_t)strtoul(ns + 5, NULL, 10));
		}
	}
	pi = proc_get(s, pid);
	if (pi) {
		int ppid = procfs__ppid(pid);

		pi->ppid = ppid > 0 ? ppid : 0;
		procfs__comm(pid, pi->comm, sizeof(pi->comm));
	}
	return 0;
}

int session__attach(struct lw_session *s)
{
	return lw_loader__attach(s->ld, s->errmsg, sizeof(s->errmsg));
}

static const struct mem_probe {
	enum lw_alloc_fn fn;
	const char *prog;
	unsigned args; /* registers the entry program reads */
	bool ret;      /* needs the return value */
} mem_probes[] = {
    {LW_FN_MALLOC, "mem_malloc", LW_ARG_RDI, true},
    {LW_FN_CALLOC, "mem_calloc", LW_ARG_RDI | LW_ARG_RSI, true},
    {LW_FN_REALLOC, "mem_realloc", LW_ARG_RDI | LW_ARG_RSI, true},
    {LW_FN_REALLOCARRAY, "mem_reallocarray", LW_ARG_RDI | LW_ARG_RSI | LW_ARG_RDX, true},
    {LW_FN_FREE, "mem_free", LW_ARG_RDI, false},
    {LW_FN_POSIX_MEMALIGN, "mem_posix_memalign", LW_ARG_RDI | LW_ARG_RSI | LW_ARG_RDX, true},
    {LW_FN_ALIGNED_ALLOC, "mem_memalign", LW_ARG_RDI | LW_ARG_RSI, true},
    {LW_FN_MEMALIGN, "mem_memalign", LW_ARG_RDI | LW_ARG_RSI, true},
    {LW_FN_VALLOC, "mem_valloc", LW_ARG_RDI, true},
    {LW_FN_PVALLOC, "mem_valloc", LW_ARG_RDI, true},
};

int session__attach_mem(struct lw_session *s, pid_t pid, char **argv)
{
	extern char **environ;
	struct lw_alloc_target t;
	char err[256] = "";
	int e;

	if (!s->mem)
		return 0;
	e = argv ? alloc_resolve__command(argv[0], environ, &t, err, sizeof(err))
		 : alloc_resolve__pid(pid, &t, err, sizeof(err));
	if (e)
		return set_error(s, e, "mem: %s", err);
	if (!t.found[LW_FN_MALLOC] || !t.found[LW_FN_FREE])
		return set_error(s, -ENOENT, "mem: %s: no malloc/free found", t.path);
	if (s->opts->verbose)
		fprintf(stderr, "leakwatch: mem: allocator %s (%s)\n", t.path, t.why);
	for (size_t i = 0; i < sizeof(mem_probes) / sizeof(mem_probes[0]); i++) {
		const struct mem_probe *mp = &mem_probes[i];
		struct probe_place pp = {.offset = t.offset[mp->fn]};
		bool dup = false;

		if (!t.found[mp->fn])
			continue;
		/* aliases (one function under two names) get one probe */
		for (size_t j = 0; j < i; j++)
			dup |= t.found[mem_probes[j].fn] &&
			       t.offset[mem_probes[j].fn] == t.offset[mp->fn];
		if (dup)
			continue;
		/* where the entry instruction would be single-stepped, probe the
		 * first equivalent instruction the kernel emulates
		 */
		if (s->opts->probe_at_entry ||
		    probe_place__find(t.path, t.offset[mp->fn], mp->args, &pp))
			pp.offset = t.offset[mp->fn];
		if (s->opts->verbose)
			fprintf(stderr, "leakwatch: mem: %s at +0x%llx: %s\n",
				alloc_fn_name(mp->fn), (unsigned long long)pp.offset, pp.why);
		e = lw_loader__attach_uprobe(s->ld, mp->prog, t.path, pp.offset, false, err,
					     sizeof(err));
		/* a uretprobe hijacks the return address: only at the entry */
		if (!e && mp->ret)
			e = lw_loader__attach_uprobe(s->ld, "mem_ret", t.path, t.offset[mp->fn],
						     true, err, sizeof(err));
		if (e)
			return set_error(s, e, "mem: %s", err);
	}
	return 0;
}

int session__attach_pairs(struct lw_session *s, pid_t pid, char **argv)
{
	extern char **environ;
	unsigned attached = 0;
	char err[512];

	for (size_t i = 0; i < s->spec.n; i++) {
		const struct lw_pair_rule *r = &s->spec.v[i];
		struct lw_sym_target t;
		uint64_t cookie = LW_PAIR_COOKIE(i, r->how, r->argn);
		int e;

		e = argv ? sym_resolve__command(argv[0], environ, r->func, r->module, &t, err,
						sizeof(err))
			 : sym_resolve__pid(pid, r->func, r->module, &t, err, sizeof(err));
		if (e) {
			/* a profile names libraries the target may not use */
			if (i >= s->first_profile_rule) {
				if (s->opts->verbose)
					fprintf(stderr, "leakwatch: pair: skipped: %s\n", err);
				continue;
			}
			return set_error(s, e, "pair %s: %s", r->resource, err);
		}
		if (s->opts->verbose)
			fprintf(stderr, "leakwatch: pair: %s %s at %s+0x%llx\n", r->resource,
				r->func, t.path, (unsigned long long)t.offset);
		e = lw_loader__attach_pair(s->ld, "pair_entry", t.path, t.offset, cookie, err,
					   sizeof(err));
		if (!e && r->how != LW_PAIR_H_ARG)
			e = lw_loader__attach_pair(s->ld, "pair_ret", t.path, t.offset, cookie, err,
						   sizeof(err));
		if (e)
			return set_error(s, e, "pair %s: %s", r->resource, err);
		attached++;
	}
	if (s->spec.n && !attached)
		return set_error(s, -ENOENT,
				 "pair: none of the profile's functions is in the target");
	return 0;
}

int session__seed_fds(struct lw_session *s, pid_t pid)
{
	struct lw_proc_fd *fds;
	int n = procfs__fds(pid, &fds);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		corr_fd__seed(s->corr, pid, fds[i].fd, fds[i].target, fds[i].cloexec);
	free(fds);
	return 0;
}

void session__snapshot_maps(struct lw_session *s, pid_t pid)
{
	symbolizer__snapshot_maps(s->sym, pid);
}

/* ---- the loop ---- */

static int timer_fd(double seconds, bool periodic)
{
	struct itimerspec its = {};
	int fd;

	if (seconds <= 0)
		return -1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -1;
	its.it_value.tv_sec = (time_t)seconds;
	its.it_value.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (periodic)
		its.it_interval = its.it_value;
	timerfd_settime(fd, 0, &its, NULL);
	return fd;
}

static void print_site_line(struct lw_session *s, const struct corr_fd_site *site, int64_t delta,
			    const char *what)
{
	const char *where = "??";
	struct lw_sym_frame fr = {};
	char buf[256];

	/* first frame outside libc says more than open64 */
	for (uint32_t i = 0; i < site->stack.nr; i++) {
		memset(&fr, 0, sizeof(fr));
		if (symbolizer__resolve(s->sym, site->pid, site->stack.ips[i], i > 0, &fr))
			continue;
		if (fr.symbol && (!fr.module || !strstr(fr.module, "/libc.so"))) {
			snprintf(buf, sizeof(buf), "%s+0x%llx", fr.symbol,
				 (unsigned long long)fr.offset);
			where = buf;
			free(fr.module);
			free(fr.symbol);
			free(fr.file);
			break;
		}
		free(fr.module);
		free(fr.symbol);
		free(fr.file);
	}
	fprintf(stderr, "  pid %u: %llu live %s (%+lld) from %s%s  %s\n", site->pid,
		(unsigned long long)site->live, what, (long long)delta, where,
		growth__is_growing(s->growth, site->key) ? "  GROWING" : "", site->resource);
}

#define LW_MEM_SITE_TAG 0x6d656d0000000000ULL /* keeps mem sites apart from fd sites */

struct mem_tick {
	struct lw_session *s;
	int shown;
};

static int mem_site_tick(void *ctx, uint64_t id, const struct lw_mem_total *t,
			 const struct lw_stack_ips *ips)
{
	struct mem_tick *mt = ctx;
	struct corr_fd_site site = {.key = id ^ LW_MEM_SITE_TAG, .pid = (uint32_t)mt->s->root};
	int64_t d;

	if (!t->live_count)
		return 0;
	d = growth__sample(mt->s->growth, site.key, t->live_count);
	if (ips) {
		site.stack.nr = ips->nr > LW_STACK_MAX ? LW_STACK_MAX : ips->nr;
		memcpy(site.stack.ips, ips->ips, site.stack.nr * sizeof(site.stack.ips[0]));
	}
	site.live = t->live_count;
	snprintf(site.resource, sizeof(site.resource), "%llu bytes",
		 (unsigned long long)t->live_bytes);
	if (mt->shown++ < 20)
		print_site_line(mt->s, &site, d, "blocks");
	return 0;
}

static void interval_tick(struct lw_session *s)
{
	struct corr_fd_site *sites = calloc(LW_SITES_MAX, sizeof(*sites));
	double t = (double)(mono_ns() - s->start_ns) / 1e9;
	int n;

	if (!sites)
		return;
	ring_buffer__consume(s->rb);
	n = corr_fd__sites(s->corr, sites, LW_SITES_MAX);
	if (s->opts->det_fd) {
		fprintf(stderr, "leakwatch: +%.1fs: %d fd creation site(s) with live fds\n", t,
			n > 0 ? n : 0);
		for (int i = 0; i < n; i++) {
			int64_t d = growth__sample(s->growth, sites[i].key, sites[i].live);

			print_site_line(s, &sites[i], d, "fds");
		}
	}
	if (s->mem) {
		struct mem_tick mt = {.s = s};

		fprintf(stderr, "leakwatch: +%.1fs: allocation sites with live blocks:\n", t);
		lw_loader__read_mem_totals(s->ld, mem_site_tick, &mt);
	}
	growth__end_round(s->growth);
	free(sites);
}

static void status_line(struct lw_session *s)
{
	struct lw_stats st;

	lw_loader__stats(s->ld, &st);
	fprintf(stderr, "\rleakwatch: pid %d: %llu events, %llu dropped, %.0fs   ", s->root,
		(unsigned long long)st.events, (unsigned long long)st.dropped,
		(double)(mono_ns() - s->start_ns) / 1e9);
}

enum { SRC_RB = 1, SRC_SIG, SRC_PIDFD, SRC_DURATION, SRC_INTERVAL, SRC_STATUS };

static int epoll_add(int ep, int fd, int tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	if (fd < 0)
		return 0;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int session__loop(struct lw_session *s, int root_pidfd, pid_t run_child)
{
	bool interactive = !s->opts->quiet && s->opts->mode == LW_MODE_ATTACH && isatty(2) &&
			   s->opts->interval_s <= 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int dur = timer_fd(s->opts->duration_s, false);
	int itv = timer_fd(s->opts->interval_s, true);
	int stat = interactive ? timer_fd(1, true) : -1;
	int sfd, err = 0, interrupts = 0;
	sigset_t mask;
	bool done = false;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ep < 0 || sfd < 0)
		return set_error(s, -errno, "cannot set up the event loop: %s", strerror(errno));
	if ((err = epoll_add(ep, ring_buffer__epoll_fd(s->rb), SRC_RB)) ||
	    (err = epoll_add(ep, sfd, SRC_SIG)) || (err = epoll_add(ep, root_pidfd, SRC_PIDFD)) ||
	    (err = epoll_add(ep, dur, SRC_DURATION)) || (err = epoll_add(ep, itv, SRC_INTERVAL)) ||
	    (err = epoll_add(ep, stat, SRC_STATUS)))
		goto out;

	while (!done) {
		struct epoll_event evs[8];
		/* BPF wakes us only per batch: poll for the rest */
		int n = epoll_wait(ep, evs, 8, LW_POLL_MS);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = set_error(s, -errno, "epoll_wait: %s", strerror(errno));
			break;
		}
		if (n == 0)
			ring_buffer__consume(s->rb);
		for (int i = 0; i < n; i++) {
			uint64_t ticks;

			switch (evs[i].data.u32) {
			case SRC_RB:
				ring_buffer__consume(s->rb);
				break;
			case SRC_SIG: {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					break;
				/* run: the command decides when it is done; a second
				 * signal, or none to forward, ends observation now.
				 */
				if (run_child > 0 && interrupts++ == 0) {
					if (si.ssi_signo == SIGTERM || si.ssi_code == SI_USER)
						kill(run_child, si.ssi_signo);
				} else {
					done = true;
				}
				break;
			}
			case SRC_PIDFD:
				done = true;
				break;
			case SRC_DURATION:
				if (run_child > 0)
					kill(run_child, SIGTERM);
				else
					done = true;
				break;
			case SRC_INTERVAL:
				if (read(itv, &ticks, sizeof(ticks)) > 0)
					interval_tick(s);
				break;
			case SRC_STATUS:
				if (read(stat, &ticks, sizeof(ticks)) > 0)
					status_line(s);
				break;
			}
		}
	}
	if (interactive)
		fputc('\n', stderr);
	if (run_child > 0) {
		int status;

		if (waitpid(run_child, &status, WNOHANG) == run_child)
			s->child_status = status;
	}
out:
	close(ep);
	close(sfd);
	if (dur >= 0)
		close(dur);
	if (itv >= 0)
		close(itv);
	if (stat >= 0)
		close(stat);
	return err;
}

/* ---- the report ---- */

/* attach: what /proc says wins over what we believe; count the corrections. */
static void reconcile(struct lw_session *s)
{
	for (size_t i = 0; i < s->nr_procs; i++) {
		struct lw_proc_fd *real;
		int believed[4096], nb, nr;

		if (s->procs[i].exited)
			continue;
		nr = procfs__fds(s->procs[i].pid, &real);
		if (nr < 0)
			continue;
		nb = corr_fd__open_fds(s->corr, s->procs[i].pid, believed, 4096);
		for (int b = 0; b < nb; b++) {
			bool open = false;

			for (int r = 0; r < nr && !open; r++)
				open = real[r].fd == believed[b];
			if (!open) {
				corr_fd__forget(s->corr, s->procs[i].pid, believed[b]);
				s->reconciled++;
			}
		}
		free(real);
	}
}

static const char *incomplete_reason(const struct lw_stats *st, uint64_t user_errors, char *buf,
				     size_t len)
{
	size_t off = 0;

	if (st->dropped)
		off += snprintf(buf + off, len - off, "%llu events dropped (ring buffer full); ",
				(unsigned long long)st->dropped);
	if (st->stash_full)
		off += snprintf(buf + off, len - off, "%llu syscalls missed (stash map full); ",
				(unsigned long long)st->stash_full);
	if (st->target_full && off < len)
		off += snprintf(buf + off, len - off, "%llu processes untraced (target map full); ",
				(unsigned long long)st->target_full);
	if (st->cfi_full && off < len)
		off += snprintf(buf + off, len - off, "%llu stacks cut short (unwind map full); ",
				(unsigned long long)st->cfi_full);
	if (st->alloc_full && off < len)
		off += snprintf(buf + off, len - off, "%llu blocks untracked (allocs map full); ",
				(unsigned long long)st->alloc_full);
	if (st->stackmap_full && off < len)
		off += snprintf(buf + off, len - off,
				"%llu allocation stacks lost (stacks map full); ",
				(unsigned long long)st->stackmap_full);
	if (st->mem_pending_full && off < len)
		off += snprintf(buf + off, len - off,
				"%llu allocator calls missed (pending map full); ",
				(unsigned long long)st->mem_pending_full);
	if (user_errors && off < len)
		off += snprintf(buf + off, len - off, "%llu events not processed; ",
				(unsigned long long)user_errors);
	if (!off)
		return NULL;
	if (off >= 2 && off < len)
		buf[off - 2] = 0;
	return buf;
}

/* The BPF side's stack id: FNV-1a over the ips (bpf/mem.bpf.c stack_hash). */
static uint64_t ips_key(const struct lw_ips *st)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < st->nr && i < LW_STACK_MAX; i++)
		h = (h ^ st->ips[i]) * 0x100000001b3ULL;
	return h ? h : 1;
}

/* --last-touch: what last used the leaked fd (its first member), and where */
static void add_last_touch(struct lw_session *s, struct lw_finding *f)
{
	uint64_t *slot = hmap__get(s->touches, (uint64_t)f->pid << 32 | (uint32_t)f->fd);
	const struct lw_touch *u = slot ? (const struct lw_touch *)(uintptr_t)*slot : NULL;
	struct lw_evidence *x;
	struct lw_touch t;

	if (strncmp(f->kind, "fd-", 3) || f->fd < 0 || f->nr_extra >= LW_FINDING_EXTRA_MAX ||
	    !strcmp(f->kind, "fd-double-close"))
		return;
	if (lw_loader__touch(s->ld, f->pid, f->fd, &t)) {
		if (!u)
			return;
		t = *u;
	} else if (u && u->ts_ns == t.ts_ns) {
		t = *u; /* the same touch, finished in user space */
	}
	x = &f->extra[f->nr_extra++];
	x->label = touch_label(t.nr);
	x->stack.nr = t.nr_ips > LW_TOUCH_FRAMES ? LW_TOUCH_FRAMES : t.nr_ips;
	memcpy(x->stack.ips, t.ips, x->stack.nr * sizeof(x->stack.ips[0]));
}

static int mem_on_stack(void *ctx, uint64_t id, const struct lw_stack_ips *ips)
{
	return corr_mem__stack(ctx, id, ips);
}

static int mem_on_block(void *ctx, const struct lw_alloc_key *k, const struct lw_alloc_val *v)
{
	return corr_mem__live(ctx, k, v);
}

/* --top N: keep the N largest mem-leak groups (corr_mem emits them largest
 * first); the rest are counted as suppressed.
 */
static size_t apply_top(struct lw_findings *fs, unsigned top)
{
	size_t seen = 0, cut = 0;

	for (size_t i = 0; i < fs->n && top; i++) {
		if (strcmp(fs->v[i].kind, "mem-leak") || fs->v[i].suppressed)
			continue;
		if (++seen > top) {
			fs->v[i].suppressed = true;
			cut++;
		}
	}
	return cut;
}

int session__report(struct lw_session *s)
{
	const struct reporter_ops *ops = reporter__find(s->opts->format);
	struct lw_findings fs = {};
	struct lw_report_meta m = {};
	char reason[512];
	FILE *out = stdout;
	size_t shown = 0, cut;
	uint64_t now;
	int err;

	/* everything the kernel produced before we stopped. Probes stay
	 * attached until the report is out: each uprobe's removal waits for an
	 * SRCU grace period (~0.1 s), and the user waits for the report.
	 */
	while (ring_buffer__consume(s->rb) > 0)
		;
	if (s->opts->mode == LW_MODE_ATTACH)
		reconcile(s);
	now = mono_ns();
	err = s->opts->det_fd ? corr_fd__finish(s->corr, now, &fs) : 0;
	if (!err && s->mem) {
		err = lw_loader__read_mem(s->ld, mem_on_stack, mem_on_block, s->mem);
		if (!err)
			err = corr_mem__finish(s->mem, now, &fs);
	}
	if (!err && s->pair)
		err = corr_pair__finish(s->pair, now, &fs);
	if (!err)
		err = corr_mount__finish(s->mnt, now, still_mounted, s, &fs);
	if (!err)
		err = corr_storm__finish(s->storm, &fs);
	if (err)
		return set_error(s, err, "cannot correlate events: %s", strerror(-err));
	for (size_t i = 0; i < fs.n; i++) {
		struct lw_finding *f = &fs.v[i];

		if (s->opts->last_touch)
			add_last_touch(s, f);
		symbolizer__finding(s->sym, f);
		if (!f->comm[0]) /* no exec or fork named it: the attach target */
			proc_comm(s, f->pid, f->comm);
		f->growing = growth__is_growing(s->growth, corr_fd__site_key(f->pid, &f->stack)) ||
			     (!strcmp(f->kind, "mem-leak") &&
			      growth__is_growing(s->growth, ips_key(&f->stack) ^ LW_MEM_SITE_TAG));
		if ((s->supp && suppress__match(s->supp, f)) ||
		    (s->builtin && suppress__match(s->builtin, f))) {
			f->suppressed = true;
			m.nr_suppressed++;
		} else {
			shown++;
		}
	}
	cut = apply_top(&fs, s->opts->top);
	m.nr_suppressed += cut;
	shown -= cut;
	lw_findings__sort(&fs);

	m.tool_version = LW_VERSION;
	m.mode = s->opts->mode == LW_MODE_RUN ? "run" : "attach";
	m.command = s->command;
	m.pid = s->root;
	m.duration_ms = (mono_ns() - s->start_ns) / 1000000;
	m.procs = s->procs;
	m.nr_procs = s->nr_procs;
	lw_loader__stats(s->ld, &m.stats);
	m.reconciled = s->reconciled;
	m.incomplete_reason = incomplete_reason(&m.stats, s->user_errors, reason, sizeof(reason));

	if (s->opts->output) {
		out = fopen(s->opts->output, "we");
		if (!out) {
			err = set_error(s, -errno, "cannot write report to %s: %s", s->opts->output,
					strerror(errno));
			goto done;
		}
	}
	err = report__write(ops, out, &m, &fs);
	if (out == stdout)
		fflush(stdout);
	else if (fclose(out) && !err)
		err = -errno;
	if (err)
		set_error(s, err, "cannot write the report: %s", strerror(-err));
done:
	lw_findings__free(&fs);
	lw_loader__detach(s->ld);
	return err ? err : (int)shown;
}
