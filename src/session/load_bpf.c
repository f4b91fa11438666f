// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "session/load_bpf.h"
#include "proc.skel.h"
#include "fd.skel.h"
#include "mem.skel.h"
#include "pair.skel.h"

#define LW_MAX_UPROBES 256

struct lw_loader {
	struct lw_proc *proc;
	struct lw_fd *fd;
	struct lw_mem *mem;   /* NULL unless the mem detector is on */
	struct lw_pair *pair; /* NULL unless pair rules are given */
	struct bpf_link *uprobes[LW_MAX_UPROBES];
	int nr_uprobes;
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

int lw_loader__open(struct lw_loader **out, const struct lw_load_opts *opts, char *err,
		    size_t errlen)
{
	struct lw_loader *l = calloc(1, sizeof(*l));
	int e;

	if (!l)
		return -ENOMEM;
	l->verbose = opts->verbose;
	libbpf_set_print(opts->verbose ? libbpf_print_verbose : libbpf_print_quiet);

	l->proc = lw_proc__open();
	l->fd = lw_fd__open();
	if (!l->proc || !l->fd) {
		e = -errno;
		snprintf(err, errlen, "cannot open BPF objects: %s", strerror(-e));
		goto fail;
	}
	l->proc->rodata->follow_children = opts->follow_children;
	l->proc->rodata->track_anon = opts->mem;
	if (opts->ringbuf_bytes)
		bpf_map__set_max_entries(l->proc->maps.events, opts->ringbuf_bytes);

	e = lw_proc__load(l->proc);
	if (e) {
		snprintf(err, errlen,
			 "cannot load BPF program proc: %s (run with -v for the verifier log)",
			 strerror(-e));
		goto fail;
	}
	/* one ringbuf and one target set for every object */
	bpf_map__reuse_fd(l->fd->maps.events, bpf_map__fd(l->proc->maps.events));
	bpf_map__reuse_fd(l->fd->maps.targets, bpf_map__fd(l->proc->maps.targets));
	bpf_map__reuse_fd(l->fd->maps.cfi_rules, bpf_map__fd(l->proc->maps.cfi_rules));
	l->fd->rodata->last_touch = opts->last_touch;
	if (!opts->fd) {
		/* the fd object also owns the unwind rules: load it, attach nothing */

		bpf_program__set_autoattach(l->fd->progs.fd_sys_exit, false);
	}
	e = lw_fd__load(l->fd);
	if (e) {
		snprintf(err, errlen,
			 "cannot load BPF program fd: %s (run with -v for the verifier log)",
			 strerror(-e));
		goto fail;
	}
	if (opts->mem) {
		l->mem = lw_mem__open();
		if (!l->mem) {
			e = -errno;
			snprintf(err, errlen, "cannot open BPF object mem: %s", strerror(-e));
			goto fail;
		}
		l->mem->rodata->sample_every = opts->mem_sample_every ? opts->mem_sample_every : 1;
		l->mem->rodata->min_size = opts->mem_min_size;
		l->mem->rodata->with_stacks = !opts->mem_no_stacks;
		l->mem->rodata->max_size = opts->mem_max_size ? opts->mem_max_size : ~0ULL;
		/* with blocks hidden on purpose, an unknown free proves nothing */
		l->mem->rodata->check_frees =
		    l->mem->rodata->sample_every == 1 && !opts->mem_min_size && !opts->mem_max_size;
		if (opts->mem_max_blocks)
			bpf_map__set_max_entries(l->mem->maps.allocs, opts->mem_max_blocks);
		bpf_map__reuse_fd(l->mem->maps.events, bpf_map__fd(l->proc->maps.events));
		bpf_map__reuse_fd(l->mem->maps.targets, bpf_map__fd(l->proc->maps.targets));
		bpf_map__reuse_fd(l->mem->maps.cfi_rules, bpf_map__fd(l->proc->maps.cfi_rules));
		e = lw_mem__load(l->mem);
		if (e) {
			snprintf(
			    err, errlen,
			    "cannot load BPF program mem: %s (run with -v for the verifier log)",
			    strerror(-e));
			goto fail;
		}
	}
	if (opts->pair) {
		l->pair = lw_pair__open();
		if (!l->pair) {
			e = -errno;
			snprintf(err, errlen, "cannot open BPF object pair: %s", strerror(-e));
			goto fail;
		}
		bpf_map__reuse_fd(l->pair->maps.events, bpf_map__fd(l->proc->maps.events));
		bpf_map__reuse_fd(l->pair->maps.targets, bpf_map__fd(l->proc->maps.targets));
		bpf_map__reuse_fd(l->pair->maps.cfi_rules, bpf_map__fd(l->proc->maps.cfi_rules));
		e = lw_pair__load(l->pair);
		if (e) {
			snprintf(
			    err, errlen,
			    "cannot load BPF program pair: %s (run with -v for the verifier log)",
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
	int e = lw_proc__attach(l->proc);

	if (!e)
		e = lw_fd__attach(l->fd);
	if (e)
		snprintf(err, errlen, "cannot attach BPF programs: %s", strerror(-e));
	return e;
}

void lw_loader__detach(struct lw_loader *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->nr_uprobes; i++)
		bpf_link__destroy(l->uprobes[i]);
	l->nr_uprobes = 0;
	if (l->fd)
		lw_fd__detach(l->fd);
	if (l->proc)
		lw_proc__detach(l->proc);
}

void lw_loader__free(struct lw_loader *l)
{
	if (!l)
		return;
	lw_loader__detach(l);
	lw_mem__destroy(l->mem);
	lw_pair__destroy(l->pair);
	lw_fd__destroy(l->fd);
	lw_proc__destroy(l->proc);
	free(l);
}

int lw_loader__add_target(struct lw_loader *l, uint32_t tgid, uint32_t flags)
{
	struct lw_target t = {.flags = flags};

	if (bpf_map__update_elem(l->proc->maps.targets, &tgid, sizeof(tgid), &t, sizeof(t),
				 BPF_ANY))
		return -errno;
	return 0;
}

int lw_loader__ringbuf_fd(struct lw_loader *l)
{
	return bpf_map__fd(l->proc->maps.events);
}

int lw_loader__set_rule(struct lw_loader *l, const struct lw_cfi_key *key,
			const struct lw_cfi_rule *rule)
{
	if (bpf_map__update_elem(l->proc->maps.cfi_rules, key, sizeof(*key), rule, sizeof(*rule),
				 BPF_ANY))
		return -errno;
	return 0;
}

int lw_loader__del_rule(struct lw_loader *l, const struct lw_cfi_key *key)
{
	if (bpf_map__delete_elem(l->proc->maps.cfi_rules, key, sizeof(*key), 0))
		return -errno;
	return 0;
}

static void stats_add(struct lw_stats *dst, const struct lw_stats *src)
{
	dst->events += src->events;
	dst->dropped += src->dropped;
	dst->stash_full += src->stash_full;
	dst->target_full += src->target_full;
	dst->cfi_full += src->cfi_full;
	dst->stack_partial += src->stack_partial;
}

void lw_loader__stats(struct lw_loader *l, struct lw_stats *out)
{
	memset(out, 0, sizeof(*out));
	stats_add(out, &l->proc->bss->lw_stats);
	stats_add(out, &l->fd->bss->lw_stats);
	if (l->mem)
		stats_add(out, &l->mem->bss->lw_stats);
	if (l->pair)
		stats_add(out, &l->pair->bss->lw_stats);
}

static int attach_prog(struct lw_loader *l, struct bpf_object *obj, const char *prog,
		       const char *path, uint64_t offset, bool retprobe, uint64_t cookie, char *err,
		       size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = retprobe, .bpf_cookie = cookie);
	struct bpf_program *p;
	struct bpf_link *link;

	if (!obj || l->nr_uprobes == LW_MAX_UPROBES) {
		snprintf(err, errlen, "too many uprobes (at most %d)", LW_MAX_UPROBES);
		return -E2BIG;
	}
	p = bpf_object__find_program_by_name(obj, prog);
	if (!p) {
		snprintf(err, errlen, "internal: no BPF program %s", prog);
		return -ENOENT;
	}
	link = bpf_program__attach_uprobe_opts(p, -1, path, offset, &uo);
	if (!link) {
		int e = -errno;

		snprintf(err, errlen, "cannot attach %s to %s+0x%llx: %s", prog, path,
			 (unsigned long long)offset, strerror(-e));
		return e;
	}
	l->uprobes[l->nr_uprobes++] = link;
	return 0;
}

int lw_loader__attach_pair(struct lw_loader *l, const char *prog, const char *path, uint64_t offset,
			   uint64_t cookie, char *err, size_t errlen)
{
	return attach_prog(l, l->pair ? l->pair->obj : NULL, prog, path, offset,
			   !strcmp(prog, "pair_ret"), cookie, err, errlen);
}

int lw_loader__attach_uprobe(struct lw_loader *l, const char *prog, const char *path,
			     uint64_t offset, bool retprobe, char *err, size_t errlen)
{
	return attach_prog(l, l->mem ? l->mem->obj : NULL, prog, path, offset, retprobe, 0, err,
			   errlen);
}

int lw_loader__read_mem(struct lw_loader *l,
			int (*on_stack)(void *ctx, uint64_t id, const struct lw_stack_ips *ips),
			int (*on_block)(void *ctx, const struct lw_alloc_key *k,
					const struct lw_alloc_val *v),
			void *ctx)
{
	enum { BATCH = 4096 };
	struct lw_alloc_key *keys = NULL, in, out;
	struct lw_alloc_val *vals = NULL;
	struct lw_stack_ips ips;
	bool first = true, done = false;
	uint64_t id, next;
	int fd, e, err = 0;

	if (!l->mem)
		return 0;
	/* stacks: modest in number, plain iteration */
	fd = bpf_map__fd(l->mem->maps.stacks);
	for (e = bpf_map_get_next_key(fd, NULL, &next); !e && !err;
	     e = bpf_map_get_next_key(fd, &id, &next)) {
		id = next;
		if (!bpf_map_lookup_elem(fd, &id, &ips))
			err = on_stack(ctx, id, &ips);
	}
	/* blocks: maybe millions, in batches */
	keys = calloc(BATCH, sizeof(*keys));
	vals = calloc(BATCH, sizeof(*vals));
	if (!keys || !vals)
		err = -ENOMEM;
	fd = bpf_map__fd(l->mem->maps.allocs);
	while (!done && !err) {
		__u32 n = BATCH;

		e = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, NULL);
		if (e && errno != ENOENT) {
			err = -errno;
			break;
		}
		done = e != 0;
		for (__u32 i = 0; i < n && !err; i++)
			err = on_block(ctx, &keys[i], &vals[i]);
		in = out;
		first = false;
	}
	free(keys);
	free(vals);
	return err;
}

int lw_loader__read_mem_totals(struct lw_loader *l,
			       int (*cb)(void *ctx, uint64_t id, const struct lw_mem_total *t,
					 const struct lw_stack_ips *ips),
			       void *ctx)
{
	int tfd, sfd, e, err = 0;
	struct lw_mem_total t;
	struct lw_stack_ips ips;
	uint64_t id, next;

	if (!l->mem)
		return 0;
	tfd = bpf_map__fd(l->mem->maps.mem_totals);
	sfd = bpf_map__fd(l->mem->maps.stacks);
	for (e = bpf_map_get_next_key(tfd, NULL, &next); !e && !err;
	     e = bpf_map_get_next_key(tfd, &id, &next)) {
		id = next;
		if (bpf_map_lookup_elem(tfd, &id, &t))
			continue;
		err = cb(ctx, id, &t, bpf_map_lookup_elem(sfd, &id, &ips) ? NULL : &ips);
	}
	return err;
}

int lw_loader__touch(struct lw_loader *l, uint32_t tgid, int fd, struct lw_touch *out)
{
	struct lw_touch_key k = {.tgid = tgid, .fd = fd};

	if (bpf_map__lookup_elem(l->fd->maps.touches, &k, sizeof(k), out, sizeof(*out), 0))
		return -errno;
	return 0;
}
