// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <leakwatch/syscalls.h>
#include "session/load_bpf.h"
#include "base/hmap.h"
#include "base/kernel_release.h"
#include "base/vec.h"
#include "detect/mem/blk_table.h"
#include "session/load_parts.h"
#include "session/uprobe_links.h"
#include "leakwatch.skel.h"

#define LW_MAX_TRACEPOINTS 8

struct lw_loader {
	struct lw_bpf *skel;	/* every concern's programs and maps, one object */
	struct lw_parts *parts; /* ... but its slowest programs, loaded beside it */
	bool mem, pair;		/* their programs were loaded */
	bool mem_session;	/* mem_alloc and session programs, not mem_ret */
	struct bpf_link *tps[LW_MAX_TRACEPOINTS];
	int nr_tps;
	struct uprobe_links *ul;	    /* the uprobes, per watched process */
	const struct lw_blk_bucket *blocks; /* the live-block table, mapped read-only */
	size_t blocks_len;
	bool verbose;
};

static int libbpf_print_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int libbpf_print_verbose(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

int lw_preflight(char *err, size_t errlen)
{
	bool bpf_ok = has_cap(CAP_SYS_ADMIN) || (has_cap(CAP_BPF) && has_cap(CAP_PERFMON));

	if (!bpf_ok) {
		snprintf(err, errlen,
			 "need root, or CAP_BPF and CAP_PERFMON, to load BPF programs (running as "
			 "uid %u)",
			 getuid());
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen,
			 "kernel BTF not found at /sys/kernel/btf/vmlinux (needs "
			 "CONFIG_DEBUG_INFO_BTF=y)");
		return -ENOENT;
	}
	return 0;
}

/* Programs a session does not need are not loaded (nor verified), and maps
 * only they use are not created.
 */
static void select_programs(struct lw_bpf *b, const struct lw_load_opts *o, bool session)
{
	/* one program per entry point and mem_ret, or mem_alloc alone */
	struct bpf_program *mem_entries[] = {
	    b->progs.mem_malloc,	 b->progs.mem_calloc,	b->progs.mem_realloc,
	    b->progs.mem_reallocarray,	 b->progs.mem_memalign, b->progs.mem_valloc,
	    b->progs.mem_posix_memalign, b->progs.mem_ret,
	};
	struct bpf_map *mem_maps[] = {b->maps.blocks,  b->maps.mem_sites,  b->maps.freed,
				      b->maps.pending, b->maps.pend_slots, b->maps.bad_req,
				      b->maps.mem_tail};

	for (size_t i = 0; i < sizeof(mem_entries) / sizeof(mem_entries[0]); i++)
		bpf_program__set_autoload(mem_entries[i], o->mem && !session);
	bpf_program__set_autoload(b->progs.mem_alloc, o->mem && session);
	bpf_program__set_autoload(b->progs.mem_free, o->mem);
	bpf_program__set_autoload(b->progs.mem_bad_free, o->mem);
	/* all of one attach type: free and the entries tail-call mem_bad_free */
	if (session) {
		bpf_program__set_expected_attach_type(b->progs.mem_alloc,
						      LW_BPF_TRACE_UPROBE_SESSION);
		bpf_program__set_expected_attach_type(b->progs.mem_free,
						      LW_BPF_TRACE_UPROBE_SESSION);
		bpf_program__set_expected_attach_type(b->progs.mem_bad_free,
						      LW_BPF_TRACE_UPROBE_SESSION);
	}
	for (size_t i = 0; i < sizeof(mem_maps) / sizeof(mem_maps[0]); i++)
		bpf_map__set_autocreate(mem_maps[i], o->mem);
	bpf_program__set_autoload(b->progs.pair_entry, o->pair);
	bpf_program__set_autoload(b->progs.pair_ret, o->pair);
	bpf_map__set_autocreate(b->maps.pair_pending, o->pair);
	bpf_map__set_autocreate(b->maps.touches, o->fd && o->last_touch);
	/* the one sys_exit program: what it passes on */
	b->rodata->sys_classes = LW_SC_MAP | (o->fd ? LW_SC_FD : 0) |
				 (o->fd && o->last_touch ? LW_SC_TOUCH : 0) |
				 (o->no_mount ? 0 : LW_SC_MOUNT);
	b->rodata->mem_maps = o->mem;
}

/* The program of that name, loaded, in the object or one of its parts. */
static struct bpf_program *loaded_prog(struct lw_loader *l, const char *name)
{
	struct bpf_program *p = lw_parts__find(l->parts, name);

	if (!p)
		p = bpf_object__find_program_by_name(l->skel->obj, name);
	return p && bpf_program__fd(p) >= 0 ? p : NULL;
}

/* Probe programs hold preemption off around the per-CPU state they use
 * (bpf/mem.bpf.c) where the verifier lets global functions, the unwinder's,
 * run inside such a section: Linux 6.18 does, 6.10 (bpf_preempt_disable's
 * first) refused them.
 */
static bool can_hold_preempt(void)
{
	struct utsname u;

	return !uname(&u) && kernel_release__at_least(u.release, 6, 18);
}

int lw_loader__open(struct lw_loader **out, const struct lw_load_opts *opts, char *err,
		    size_t errlen)
{
	struct lw_loader *l = calloc(1, sizeof(*l));
	struct bpf_program *p;
	bool want_session;
	struct lw_bpf *b;
	int e;

	if (!l)
		return -ENOMEM;
	l->verbose = opts->verbose;
	libbpf_set_print(opts->verbose ? libbpf_print_verbose : libbpf_print_quiet);

	b = l->skel = lw_bpf__open();
	if (!b) {
		e = -errno;
		snprintf(err, errlen, "cannot open BPF object: %s", strerror(-e));
		goto fail;
	}
	b->rodata->follow_children = opts->follow_children;
	b->rodata->last_touch = opts->last_touch;
	b->rodata->sample_every = opts->mem_sample_every ? opts->mem_sample_every : 1;
	b->rodata->min_size = opts->mem_min_size;
	b->rodata->with_stacks = !opts->mem_no_stacks;
	b->rodata->max_size = opts->mem_max_size ? opts->mem_max_size : ~0ULL;
	b->rodata->hold_preempt = can_hold_preempt();
	/* with blocks hidden on purpose, an unknown free proves nothing */
	b->rodata->check_frees =
	    b->rodata->sample_every == 1 && !opts->mem_min_size && !opts->mem_max_size;
	if (opts->ringbuf_bytes)
		bpf_map__set_max_entries(b->maps.events, opts->ringbuf_bytes);
	if (opts->mem) {
		uint32_t n = blk_table__buckets(opts->mem_max_blocks ? opts->mem_max_blocks
								     : LW_MEM_DEFAULT_BLOCKS);

		bpf_map__set_max_entries(b->maps.blocks, n);
		b->rodata->blk_mask = n - 1;
	}
	/* uprobes attach per process (session/uprobe_links.c) */
	bpf_object__for_each_program(p, b->obj) if (bpf_program__type(p) == BPF_PROG_TYPE_KPROBE)
	    bpf_program__set_expected_attach_type(p, LW_BPF_TRACE_UPROBE_MULTI);
	/* Uprobe sessions only when asked for (LEAKWATCH_UPROBE_SESSION=1):
	 * the kernel runs every watched process's session consumer at each
	 * hit, and those of the other processes ask for the return too (a
	 * free's among them), so with a server's workers they cost more than
	 * the return probes they save on nested calls
	 */
	want_session =
	    opts->mem && getenv("LEAKWATCH_UPROBE_SESSION") && *getenv("LEAKWATCH_UPROBE_SESSION");
	l->mem_session = want_session && uprobe_links__have_session();
	if (opts->verbose && opts->mem)
		fprintf(stderr, "leakwatch: mem: %s\n",
			l->mem_session ? "uprobe sessions (a nested call has no return probe)"
			: want_session
			    ? "uprobes and uretprobes (this kernel has no uprobe sessions)"
			    : "uprobes and uretprobes");
	select_programs(b, opts, l->mem_session);
	e = uprobe_links__new(&l->ul);
	if (e) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	l->mem = opts->mem;
	l->pair = opts->pair;

	l->parts = lw_parts__split(b);
	e = lw_bpf__load(b);
	if (e) {
		snprintf(err, errlen,
			 "cannot load BPF programs: %s (run with -v for the verifier log)",
			 strerror(-e));
		goto fail;
	}
	e = lw_parts__load(l->parts, b, err, errlen);
	if (e)
		goto fail;
	/* free, realloc and reallocarray report a bad free through it */
	if (opts->mem) {
		int key = 0, fd = bpf_program__fd(loaded_prog(l, "mem_bad_free"));
		size_t len =
		    (size_t)bpf_map__max_entries(b->maps.blocks) * sizeof(struct lw_blk_bucket);
		void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, bpf_map__fd(b->maps.blocks), 0);

		if (m == MAP_FAILED) {
			e = -errno;
			snprintf(err, errlen, "cannot map the block table: %s", strerror(-e));
			goto fail;
		}
		l->blocks = m;
		l->blocks_len = len;

		if (bpf_map_update_elem(bpf_map__fd(b->maps.mem_tail), &key, &fd, BPF_ANY)) {
			e = -errno;
			snprintf(err, errlen, "cannot set up the bad-free report: %s",
				 strerror(-e));
			goto fail;
		}
	}
	*out = l;
	return 0;
fail:
	lw_loader__free(l);
	return e ? e : -EINVAL;
}

int lw_loader__attach(struct lw_loader *l, char *err, size_t errlen)
{
	/* proc first: a fork or exec record must precede what the new
	 * process does; then the syscalls
	 */
	static const char *const order[] = {"proc_fork", "proc_exec", "proc_exit", "lw_sys_exit"};
	_Static_assert(sizeof(order) / sizeof(order[0]) <= LW_MAX_TRACEPOINTS, "tps");

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct bpf_program *p = loaded_prog(l, order[i]);
		struct bpf_link *link;

		if (!p)
			continue;
		link = bpf_program__attach(p);
		if (!link) {
			int e = -errno;

			snprintf(err, errlen, "cannot attach BPF program %s: %s", order[i],
				 strerror(-e));
			return e;
		}
		l->tps[l->nr_tps++] = link;
	}
	return 0;
}

void lw_loader__detach(struct lw_loader *l)
{
	if (!l)
		return;
	uprobe_links__detach(l->ul);
	for (int i = l->nr_tps - 1; i >= 0; i--)
		bpf_link__destroy(l->tps[i]);
	l->nr_tps = 0;
}

int lw_loader__watch(struct lw_loader *l, uint32_t tgid, char *err, size_t errlen)
{
	__u8 one = 1;
	int e = uprobe_links__watch(l->ul, tgid, err, errlen);

	/* from here on its execs are seen from their first instruction */
	if (!e && bpf_map__update_elem(l->skel->maps.probed, &tgid, sizeof(tgid), &one, sizeof(one),
				       BPF_ANY))
		e = -errno;
	return e;
}

void lw_loader__unwatch(struct lw_loader *l, uint32_t tgid)
{
	uprobe_links__unwatch(l->ul, tgid);
}

void lw_loader__free(struct lw_loader *l)
{
	if (!l)
		return;
	lw_loader__detach(l);
	uprobe_links__free(l->ul);
	if (l->blocks)
		munmap((void *)l->blocks, l->blocks_len);
	lw_parts__free(l->parts);
	lw_bpf__destroy(l->skel);
	free(l);
}

int lw_loader__add_target(struct lw_loader *l, uint32_t tgid, uint32_t flags)
{
	struct lw_target t = {.flags = flags};

	if (bpf_map__update_elem(l->skel->maps.targets, &tgid, sizeof(tgid), &t, sizeof(t),
				 BPF_ANY))
		return -errno;
	/* per-CPU copies of a process that had this pid stop matching */
	__atomic_fetch_add(&l->skel->bss->lw_targets_epoch, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int lw_loader__ringbuf_fd(struct lw_loader *l)
{
	return bpf_map__fd(l->skel->maps.events);
}

int lw_loader__set_rule(struct lw_loader *l, const struct lw_cfi_key *key,
			const struct lw_cfi_rule *rule)
{
	if (bpf_map__update_elem(l->skel->maps.cfi_rules, key, sizeof(*key), rule, sizeof(*rule),
				 BPF_ANY))
		return -errno;
	return 0;
}

int lw_loader__del_rule(struct lw_loader *l, const struct lw_cfi_key *key)
{
	if (bpf_map__delete_elem(l->skel->maps.cfi_rules, key, sizeof(*key), 0))
		return -errno;
	return 0;
}

/* After rules are removed: every CPU's cached copies stop matching (see
 * struct lw_rule_cache in bpf/unwind.bpf.h).
 */
void lw_loader__rules_removed(struct lw_loader *l)
{
	__atomic_fetch_add(&l->skel->bss->lw_rules_epoch, 1, __ATOMIC_SEQ_CST);
}

void lw_loader__stats(struct lw_loader *l, struct lw_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *per_cpu = ncpu > 0 ? calloc(ncpu, sizeof(*per_cpu)) : NULL;
	__u64 *sum[LW_PCPU_STATS] = {&out->events, &out->stack_memo};

	/* one object, one set of counters; some are counted per CPU */
	*out = l->skel->bss->lw_stats;
	for (__u32 k = 0; per_cpu && k < LW_PCPU_STATS; k++)
		if (!bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.event_count), &k, per_cpu))
			for (int i = 0; i < ncpu; i++)
				*sum[k] += per_cpu[i];
	free(per_cpu);
}

static int attach_prog(struct lw_loader *l, bool loaded, const char *prog, const char *path,
		       uint64_t offset, bool retprobe, uint64_t cookie, char *err, size_t errlen)
{
	struct bpf_program *p;
	int e;

	p = loaded ? loaded_prog(l, prog) : NULL;
	if (!p) {
		snprintf(err, errlen, "internal: no BPF program %s", prog);
		return -ENOENT;
	}
	e = uprobe_links__add(l->ul, bpf_program__fd(p), bpf_program__expected_attach_type(p), prog,
			      path, offset, cookie, retprobe);
	if (e)
		snprintf(err, errlen, "out of memory");
	return e;
}

int lw_loader__attach_pair(struct lw_loader *l, const char *prog, const char *path, uint64_t offset,
			   uint64_t cookie, char *err, size_t errlen)
{
	return attach_prog(l, l->pair, prog, path, offset, !strcmp(prog, "pair_ret"), cookie, err,
			   errlen);
}

int lw_loader__attach_uprobe(struct lw_loader *l, const char *prog, const char *path,
			     uint64_t offset, bool retprobe, uint32_t how, char *err, size_t errlen)
{
	if (l->mem_session && retprobe)
		return 0; /* the entry's session has the return */
	if (l->mem_session && how)
		prog = "mem_alloc";
	return attach_prog(l, l->mem, prog, path, offset, retprobe, how, err, errlen);
}

int lw_loader__read_mem(struct lw_loader *l,
			int (*on_stack)(void *ctx, uint64_t id, const struct lw_stack_ips *ips),
			int (*on_block)(void *ctx, const struct lw_alloc_key *k,
					const struct lw_alloc_val *v),
			void *ctx)
{
	struct lw_mem_site site;
	uint64_t id, next;
	int fd, e, err = 0;

	if (!l->mem)
		return 0;
	/* stacks: modest in number, plain iteration; a scan wants none */
	fd = bpf_map__fd(l->skel->maps.mem_sites);
	for (e = on_stack ? bpf_map_get_next_key(fd, NULL, &next) : -ENOENT; !e && !err;
	     e = bpf_map_get_next_key(fd, &id, &next)) {
		id = next;
		if (!bpf_map_lookup_elem(fd, &id, &site))
			err = on_stack(ctx, id, &site.s);
	}
	/* blocks: maybe millions, read where BPF keeps them */
	if (!err)
		err = blk_table__each(l->blocks, l->blocks_len / sizeof(*l->blocks), on_block, ctx);
	return err;
}

struct totals {
	struct hmap *idx; /* stack id → index in t */
	struct lw_mem_total *t;
	size_t n, cap;
};

static int add_total(void *ctx, const struct lw_alloc_key *k, const struct lw_alloc_val *v)
{
	struct totals *s = ctx;
	bool added;
	uint64_t *i;

	(void)k;
	if (!v->stack_id)
		return 0;
	i = hmap__put(s->idx, v->stack_id, &added);
	if (!i || (added && lw_vec_grow((void **)&s->t, &s->cap, s->n + 1, sizeof(*s->t))))
		return -ENOMEM;
	if (added) {
		*i = s->n;
		s->t[s->n++] = (struct lw_mem_total){0};
	}
	s->t[*i].live_bytes += v->size;
	s->t[*i].live_count++;
	return 0;
}

/* Sums the live blocks per stack (the BPF side keeps no totals, see struct
 * lw_mem_site): one walk of the blocks, then a lookup per stack with any.
 */
int lw_loader__read_mem_totals(struct lw_loader *l,
			       int (*cb)(void *ctx, uint64_t id, const struct lw_mem_total *t,
					 const struct lw_stack_ips *ips),
			       void *ctx)
{
	struct totals s = {0};
	struct hmap_iter it = {0};
	struct lw_mem_site site;
	int fd, err;

	if (!l->mem)
		return 0;
	s.idx = hmap__new();
	err = s.idx ? lw_loader__read_mem(l, NULL, add_total, &s) : -ENOMEM;
	fd = bpf_map__fd(l->skel->maps.mem_sites);
	while (!err && hmap__next(s.idx, &it))
		if (!bpf_map_lookup_elem(fd, &it.key, &site))
			err = cb(ctx, it.key, &s.t[*it.val], &site.s);
	hmap__free(s.idx);
	free(s.t);
	return err;
}

int lw_loader__touch(struct lw_loader *l, uint32_t tgid, int fd, struct lw_touch *out)
{
	struct lw_touch_key k = {.tgid = tgid, .fd = fd};

	if (!bpf_map__autocreate(l->skel->maps.touches))
		return -ENOENT;
	if (bpf_map__lookup_elem(l->skel->maps.touches, &k, sizeof(k), out, sizeof(*out), 0))
		return -errno;
	return 0;
}
