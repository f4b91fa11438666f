/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by the correlator tests: the BPF records of
 * include/leakwatch/events.h with sane defaults, and the process lifecycle
 * delivered to each correlator the way the session routes it.
 *
 * Defaults: tid = tgid, ts_ns 0, hdr.size = sizeof the record; a test sets
 * any other field on the returned record. Stacks are {ip, EV_OUTER}: a call
 * site under one common caller; ip 0 is an empty stack.
 */
#ifndef LW_EV_BUILDERS_H
#define LW_EV_BUILDERS_H

#include <stddef.h>
#include <stdint.h>
#include "report/finding.h"

#define EV_OUTER 0x4000 /* the caller every test stack shares */

struct corr_fd;
struct corr_fd_opts;
struct corr_mem;
struct corr_storm;
struct corr_storm_opts;
struct corr_mount;
struct corr_mount_opts;

struct lw_ev_hdr ev_hdr(int type, size_t size, uint32_t tgid, uint64_t ts_ns);
void ev_stack(struct lw_stack *s, uint64_t ip);
struct lw_ips ev_ips(uint64_t ip);

/* fd: a file at path (LW_RES_FILE, src_fd -1); close with ret 0 or -errno;
 * a send of n fds over sock_fd, carrying inos[i] = ino + i (ino 0: none)
 */
struct lw_ev_fd_open ev_fd_open(uint32_t tgid, int fd, const char *path, uint64_t ip);
struct lw_ev_fd_open ev_fd_dup(uint32_t tgid, int src_fd, int fd, uint64_t ip);
struct lw_ev_fd_close ev_fd_close(uint32_t tgid, int fd, int ret, uint64_t ip);
struct lw_ev_fd_close_range ev_fd_close_range(uint32_t tgid, uint32_t first, uint32_t last,
					      uint32_t flags);
struct lw_ev_fd_cloexec ev_fd_cloexec(uint32_t tgid, int fd, bool on);
struct lw_ev_fd_send ev_fd_send(uint32_t tgid, int sock_fd, int ret, const int *fds, unsigned n,
				uint64_t ino, uint64_t ip);

/* mem: a block user space tracks, its free, a bad free (LW_BAD_FREE_*),
 * an anonymous mapping and an munmap; exec_gen 0
 */
struct lw_ev_mem_alloc ev_mem_alloc(uint32_t tgid, uint64_t addr, uint64_t size, uint64_t ip);
struct lw_ev_mem_free_user ev_mem_free(uint32_t tgid, uint64_t addr);
struct lw_ev_mem_bad_free ev_mem_bad_free(uint32_t tgid, uint64_t addr, uint32_t kind, uint64_t ip);
struct lw_ev_mmap_anon ev_mmap_anon(uint32_t tgid, uint64_t addr, uint64_t len, uint64_t ip);
struct lw_ev_munmap ev_munmap(uint32_t tgid, uint64_t addr, uint64_t len);
/* the block table's key and value for a block BPF tracked (stack_id != 0) */
struct lw_alloc_key ev_alloc_key(uint32_t tgid, uint64_t addr);
struct lw_alloc_val ev_alloc_val(uint64_t size, uint64_t stack_id, uint64_t ts_ns);
struct lw_stack_ips ev_stack_ips(uint64_t ip);

/* proc: comm is the child's for a fork, the new one for an exec, the
 * last one for an exit; exit_code is a raw wait status
 */
struct lw_ev_proc_fork ev_proc_fork(uint32_t parent, uint32_t child, uint32_t flags,
				    const char *comm);
struct lw_ev_proc_exec ev_proc_exec(uint32_t tgid, const char *comm, const char *filename);
struct lw_ev_proc_exit ev_proc_exit(uint32_t tgid, int32_t exit_code, const char *comm);

/* mount: one syscall (nr from corr_mount.h) in namespace ns */
struct lw_ev_mount ev_mount(uint32_t tgid, uint32_t ns, uint32_t nr, int32_t ret,
			    uint64_t arg_flags, const char *source, const char *target,
			    const char *fstype);
/* pair: one call of rule on handle */
struct lw_ev_pair ev_pair(uint32_t tgid, uint32_t rule, uint64_t handle, uint64_t ip);

/* The process table the wrappers below keep, as the session does: a
 * correlator made with .proc = lw_procs__lookup, .proc_ctx = &ev_procs
 * reads it. ev_procs_reset() empties it (start of a test).
 */
extern struct lw_procs ev_procs;
void ev_procs_reset(void);
/* A fork, exec or exit record into ev_procs (other records: nothing).
 * 0 or -ENOMEM.
 */
int ev_procs_note(const void *rec);

/* A fork, exec or exit record (hdr.type says which) to a correlator, as
 * the session routes it: ev_procs first, then the correlator; the only
 * place the tests call the correlators' process entry points. 0 or the
 * first -errno.
 */
int ev_mem_proc(struct corr_mem *c, const void *rec);
int ev_storm_proc(struct corr_storm *c, const void *rec);
int ev_mount_proc(struct corr_mount *c, const void *rec);
/* Any record to corr_fd, a process record through ev_procs first. */
int ev_fd_feed(struct corr_fd *c, const void *rec);

/* Correlators reading ev_procs (o may be NULL); each empties it first. */
struct corr_fd *ev_fd_new(const struct corr_fd_opts *o);
struct corr_storm *ev_storm_new(const struct corr_storm_opts *o);
struct corr_mount *ev_mount_new(const struct corr_mount_opts *o);

#endif
