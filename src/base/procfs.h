/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What /proc says about a live process: its fds and its descendants. */
#ifndef LW_PROCFS_H
#define LW_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lw_proc_fd {
	int fd;
	bool cloexec;
	char target[192]; /* readlink of /proc/PID/fd/N, e.g. "socket:[123]" */
};

/* List open fds of pid (sorted). *out is malloc'ed. Returns count or -errno. */
int procfs__fds(pid_t pid, struct lw_proc_fd **out);
/* All descendants of pid (children, grandchildren, ...), from /proc/PID/task/
 * TID/children when present, else by scanning /proc/<n>/stat. Returns count
 * or -errno; *out malloc'ed.
 */
int procfs__descendants(pid_t pid, pid_t **out);
/* comm of pid into buf (empty on failure). */
void procfs__comm(pid_t pid, char *buf, size_t len);
/* Is the topmost mount at path (absolute, or relative to pid's cwd) in
 * pid's mount namespace a member of a shared peer group ("shared:N" in
 * /proc/PID/mountinfo)? 1 yes, 0 no, -ENOENT no mount there, -errno.
 */
int procfs__mount_shared(pid_t pid, const char *path);
/* The inode number of pid's mount namespace (pid 0: ours), or 0. */
uint32_t procfs__mnt_ns(pid_t pid);
/* Parent pid, or -errno. */
int procfs__ppid(pid_t pid);
/* 1 when pid is a kernel thread (PF_KTHREAD), 0 when not, or -errno. */
int procfs__is_kthread(pid_t pid);
/* One "Key:\tvalue" line of /proc/PID/status (tid > 0: of that thread,
 * /proc/PID/task/TID/status): the value, blanks trimmed, into buf. 0,
 * -ENOENT when the key is absent, or -errno (the process is gone).
 */
int procfs__status_field(pid_t pid, pid_t tid, const char *key, char *buf, size_t len);
/* The syscall thread tid of pid sleeps in (/proc/PID/task/TID/syscall):
 * its number, -1 when it runs or sleeps outside one, or -errno (gone).
 */
long procfs__syscall(pid_t pid, pid_t tid);
/* Is pid the parent, grandparent, ... of process of? */
bool procfs__is_ancestor(pid_t pid, pid_t of);

#endif
