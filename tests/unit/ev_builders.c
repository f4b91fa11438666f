// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ev_builders.h"
#include "detect/fd/corr_fd.h"
#include "detect/mem/corr_mem.h"
#include "detect/mount/corr_mount.h"
#include "detect/proc/corr_storm.h"

#define STR(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

struct lw_ev_hdr ev_hdr(int type, size_t size, uint32_t tgid, uint64_t ts_ns)
{
	return (struct lw_ev_hdr){
	    .type = type, .size = size, .tgid = tgid, .tid = tgid, .ts_ns = ts_ns};
}

void ev_stack(struct lw_stack *s, uint64_t ip)
{
	memset(s, 0, sizeof(*s));
	if (!ip)
		return;
	s->nr = 2;
	s->ips[0] = ip;
	s->ips[1] = EV_OUTER;
}

struct lw_ips ev_ips(uint64_t ip)
{
	struct lw_ips s = {0};

	if (ip) {
		s.nr = 2;
		s.ips[0] = ip;
		s.ips[1] = EV_OUTER;
	}
	return s;
}

struct lw_ev_fd_open ev_fd_open(uint32_t tgid, int fd, const char *path, uint64_t ip)
{
	struct lw_ev_fd_open ev = {.hdr = ev_hdr(LW_EV_FD_OPEN, sizeof(ev), tgid, 0),
				   .fd = fd,
				   .src_fd = -1,
				   .res_kind = LW_RES_FILE};

	STR(ev.name, path);
	ev_stack(&ev.stack, ip);
	return ev;
}

/* what a dup record carries: no kind or name, the source says them */
struct lw_ev_fd_open ev_fd_dup(uint32_t tgid, int src_fd, int fd, uint64_t ip)
{
	struct lw_ev_fd_open ev = {.hdr = ev_hdr(LW_EV_FD_OPEN, sizeof(ev), tgid, 0),
				   .fd = fd,
				   .src_fd = src_fd,
				   .fd_flags = LW_FD_DUP};

	ev_stack(&ev.stack, ip);
	return ev;
}

struct lw_ev_fd_close ev_fd_close(uint32_t tgid, int fd, int ret, uint64_t ip)
{
	struct lw_ev_fd_close ev = {
	    .hdr = ev_hdr(LW_EV_FD_CLOSE, sizeof(ev), tgid, 0), .fd = fd, .ret = ret};

	ev_stack(&ev.stack, ip);
	return ev;
}

struct lw_ev_fd_close_range ev_fd_close_range(uint32_t tgid, uint32_t first, uint32_t last,
					      uint32_t flags)
{
	return (struct lw_ev_fd_close_range){
	    .hdr = ev_hdr(LW_EV_FD_CLOSE_RANGE, sizeof(struct lw_ev_fd_close_range), tgid, 0),
	    .first = first,
	    .last = last,
	    .flags = flags};
}

struct lw_ev_fd_cloexec ev_fd_cloexec(uint32_t tgid, int fd, bool on)
{
	return (struct lw_ev_fd_cloexec){
	    .hdr = ev_hdr(LW_EV_FD_CLOEXEC, sizeof(struct lw_ev_fd_cloexec), tgid, 0),
	    .fd = fd,
	    .cloexec = on};
}

struct lw_ev_fd_send ev_fd_send(uint32_t tgid, int sock_fd, int ret, const int *fds, unsigned n,
				uint64_t ino, uint64_t ip)
{
	struct lw_ev_fd_send ev = {.hdr = ev_hdr(LW_EV_FD_SEND, sizeof(ev), tgid, 0),
				   .sock_fd = sock_fd,
				   .ret = ret,
				   .nr_fds = n};

	for (unsigned i = 0; i < n && i < LW_RIGHTS_MAX; i++) {
		ev.fds[i] = fds[i];
		ev.inos[i] = ino ? ino + i : 0;
	}
	ev_stack(&ev.stack, ip);
	return ev;
}

struct lw_ev_mem_alloc ev_mem_alloc(uint32_t tgid, uint64_t addr, uint64_t size, uint64_t ip)
{
	struct lw_ev_mem_alloc ev = {
	    .hdr = ev_hdr(LW_EV_MEM_ALLOC, sizeof(ev), tgid, 0), .addr = addr, .size = size};

	ev_stack(&ev.stack, ip);
	return ev;
}

struct lw_ev_mem_free_user ev_mem_free(uint32_t tgid, uint64_t addr)
{
	return (struct lw_ev_mem_free_user){
	    .hdr = ev_hdr(LW_EV_MEM_FREE_USER, sizeof(struct lw_ev_mem_free_user), tgid, 0),
	    .addr = addr};
}

struct lw_ev_mem_bad_free ev_mem_bad_free(uint32_t tgid, uint64_t addr, uint32_t kind, uint64_t ip)
{
	struct lw_ev_mem_bad_free ev = {
	    .hdr = ev_hdr(LW_EV_MEM_BAD_FREE, sizeof(ev), tgid, 0), .addr = addr, .kind = kind};

	ev_stack(&ev.stack, ip);
	return ev;
}

struct lw_ev_mmap_anon ev_mmap_anon(uint32_t tgid, uint64_t addr, uint64_t len, uint64_t ip)
{
	struct lw_ev_mmap_anon ev = {.hdr = ev_hdr(LW_EV_MMAP_ANON, sizeof(ev), tgid, 0),
				     .addr = addr,
				     .len = len,
				     .prot = 3,	     /* PROT_READ | PROT_WRITE */
				     .flags = 0x22}; /* MAP_PRIVATE | MAP_ANONYMOUS */

	ev_stack(&ev.stack, ip);
	return ev;
}

struct lw_ev_munmap ev_munmap(uint32_t tgid, uint64_t addr, uint64_t len)
{
	return (struct lw_ev_munmap){.hdr =
					 ev_hdr(LW_EV_MUNMAP, sizeof(struct lw_ev_munmap), tgid, 0),
				     .addr = addr,
				     .len = len};
}

struct lw_alloc_key ev_alloc_key(uint32_t tgid, uint64_t addr)
{
	return (struct lw_alloc_key){.tgid = tgid, .addr = addr};
}

struct lw_alloc_val ev_alloc_val(uint64_t size, uint64_t stack_id, uint64_t ts_ns)
{
	return (struct lw_alloc_val){.size = size, .stack_id = stack_id, .ts_ns = ts_ns};
}

struct lw_stack_ips ev_stack_ips(uint64_t ip)
{
	struct lw_stack_ips s = {0};

	if (ip) {
		s.nr = 2;
		s.ips[0] = ip;
		s.ips[1] = EV_OUTER;
	}
	return s;
}

struct lw_ev_proc_fork ev_proc_fork(uint32_t parent, uint32_t child, uint32_t flags,
				    const char *comm)
{
	struct lw_ev_proc_fork ev = {.hdr = ev_hdr(LW_EV_PROC_FORK, sizeof(ev), parent, 0),
				     .child_tgid = child,
				     .fork_flags = flags};

	STR(ev.comm, comm);
	return ev;
}

struct lw_ev_proc_exec ev_proc_exec(uint32_t tgid, const char *comm, const char *filename)
{
	struct lw_ev_proc_exec ev = {.hdr = ev_hdr(LW_EV_PROC_EXEC, sizeof(ev), tgid, 0)};

	STR(ev.comm, comm);
	STR(ev.filename, filename);
	return ev;
}

struct lw_ev_proc_exit ev_proc_exit(uint32_t tgid, int32_t exit_code, const char *comm)
{
	struct lw_ev_proc_exit ev = {.hdr = ev_hdr(LW_EV_PROC_EXIT, sizeof(ev), tgid, 0),
				     .exit_code = exit_code};

	STR(ev.comm, comm);
	return ev;
}

struct lw_ev_mount ev_mount(uint32_t tgid, uint32_t ns, uint32_t nr, int32_t ret,
			    uint64_t arg_flags, const char *source, const char *target,
			    const char *fstype)
{
	struct lw_ev_mount ev = {.hdr = ev_hdr(LW_EV_MOUNT, sizeof(ev), tgid, 0),
				 .nr = nr,
				 .ret = ret,
				 .arg_flags = arg_flags,
				 .mnt_ns = ns};

	STR(ev.source, source);
	STR(ev.target, target);
	STR(ev.fstype, fstype);
	return ev;
}

struct lw_ev_pair ev_pair(uint32_t tgid, uint32_t rule, uint64_t handle, uint64_t ip)
{
	struct lw_ev_pair ev = {
	    .hdr = ev_hdr(LW_EV_PAIR, sizeof(ev), tgid, 0), .rule = rule, .handle = handle};

	ev_stack(&ev.stack, ip);
	return ev;
}

/* ---- the process lifecycle, routed as src/session/session_events.c does ---- */

struct lw_procs ev_procs;

void ev_procs_reset(void)
{
	lw_procs__free(&ev_procs);
	memset(&ev_procs, 0, sizeof(ev_procs));
}

int ev_procs_note(const void *rec)
{
	const struct lw_ev_hdr *h = rec;
	const struct lw_proc *p;

	switch (h->type) {
	case LW_EV_PROC_FORK: {
		const struct lw_ev_proc_fork *ev = rec;

		p = lw_procs__fork(&ev_procs, h->tgid, ev->child_tgid, ev->comm);
		break;
	}
	case LW_EV_PROC_EXEC:
		p = lw_procs__exec(&ev_procs, h->tgid, ((const struct lw_ev_proc_exec *)rec)->comm);
		break;
	case LW_EV_PROC_EXIT: {
		const struct lw_ev_proc_exit *ev = rec;

		p = lw_procs__exit(&ev_procs, h->tgid, ev->exit_code, ev->comm);
		break;
	}
	default:
		return 0;
	}
	return p ? 0 : -ENOMEM;
}

int ev_mem_proc(struct corr_mem *c, const void *rec)
{
	const struct lw_ev_hdr *h = rec;
	int err = ev_procs_note(rec);

	if (err)
		return err;
	switch (h->type) {
	case LW_EV_PROC_FORK:
	case LW_EV_PROC_EXEC:
		return 0;
	case LW_EV_PROC_EXIT:
		corr_mem__exit(c, h->tgid, h->ts_ns);
		return 0;
	}
	return -EINVAL;
}

int ev_storm_proc(struct corr_storm *c, const void *rec)
{
	const struct lw_ev_hdr *h = rec;
	int err = ev_procs_note(rec);

	if (err)
		return err;
	switch (h->type) {
	case LW_EV_PROC_FORK:
		return corr_storm__fork(
		    c, h->tgid, ((const struct lw_ev_proc_fork *)rec)->child_tgid, h->ts_ns);
	case LW_EV_PROC_EXEC:
		return corr_storm__exec(c, h->tgid, ((const struct lw_ev_proc_exec *)rec)->filename,
					h->ts_ns);
	case LW_EV_PROC_EXIT:
		return corr_storm__exit(c, h->tgid,
					((const struct lw_ev_proc_exit *)rec)->exit_code, h->ts_ns);
	}
	return -EINVAL;
}

int ev_mount_proc(struct corr_mount *c, const void *rec)
{
	const struct lw_ev_hdr *h = rec;
	int err = ev_procs_note(rec);

	if (err)
		return err;
	switch (h->type) {
	case LW_EV_PROC_FORK:
		return corr_mount__fork(
		    c, h->tgid, ((const struct lw_ev_proc_fork *)rec)->child_tgid, h->ts_ns);
	case LW_EV_PROC_EXEC:
		return 0; /* the comm a later call names is the table's */
	case LW_EV_PROC_EXIT:
		return corr_mount__exit(c, h->tgid, h->ts_ns);
	}
	return -EINVAL;
}

int ev_fd_feed(struct corr_fd *c, const void *rec)
{
	int err = ev_procs_note(rec);

	return err ? err : corr_fd__feed(c, rec);
}

/* ---- correlators that read ev_procs, which each empties ---- */

struct corr_fd *ev_fd_new(const struct corr_fd_opts *o)
{
	struct corr_fd_opts co = o ? *o : (struct corr_fd_opts){0};

	co.proc = lw_procs__lookup;
	co.proc_ctx = &ev_procs;
	ev_procs_reset();
	return corr_fd__new(&co);
}

struct corr_storm *ev_storm_new(const struct corr_storm_opts *o)
{
	struct corr_storm_opts co = o ? *o : (struct corr_storm_opts){0};

	co.proc = lw_procs__lookup;
	co.proc_ctx = &ev_procs;
	ev_procs_reset();
	return corr_storm__new(&co);
}

struct corr_mount *ev_mount_new(const struct corr_mount_opts *o)
{
	struct corr_mount_opts co = o ? *o : (struct corr_mount_opts){0};

	co.proc = lw_procs__lookup;
	co.proc_ctx = &ev_procs;
	ev_procs_reset();
	return corr_mount__new(&co);
}
