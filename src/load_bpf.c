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
#include "load_bpf.h"
#include "proc.skel.h"
#include "fd.skel.h"

struct lw_loader {
	struct lw_proc *proc;
	struct lw_fd *fd;
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
	e = lw_fd__load(l->fd);
	if (e) {
		snprintf(err, errlen,
			 "cannot load BPF program fd: %s (run with -v for the verifier log)",
			 strerror(-e));
		goto fail;
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
	if (l->fd)
		lw_fd__detach(l->fd);
	if (l->proc)
		lw_proc__detach(l->proc);
}

void lw_loader__free(struct lw_loader *l)
{
	if (!l)
		return;
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
	if (bpf_map__update_elem(l->fd->maps.cfi_rules, key, sizeof(*key), rule, sizeof(*rule),
				 BPF_ANY))
		return -errno;
	return 0;
}

int lw_loader__del_rule(struct lw_loader *l, const struct lw_cfi_key *key)
{
	if (bpf_map__delete_elem(l->fd->maps.cfi_rules, key, sizeof(*key), 0))
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
}
