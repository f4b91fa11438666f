/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The x86-64 syscalls leakwatch looks at (arch/x86/entry/syscalls/syscall_64.tbl),
 * written once: BPF switches on them, user space labels and compares them.
 *
 * X(name, number, classes):
 *   LW_SC_FD     bpf/fd.bpf.c: makes, drops or sends fds
 *   LW_SC_TOUCH  --last-touch: uses the fd in its first argument
 *   LW_SC_MOUNT  bpf/mount.bpf.c: a mount-namespace syscall
 *   LW_SC_MAP    bpf/proc.bpf.c (executable mappings), bpf/mem.bpf.c (anonymous ones)
 *   0            named only (clone/clone3 of synthesized records)
 */
#ifndef LEAKWATCH_SYSCALLS_H
#define LEAKWATCH_SYSCALLS_H

#define LW_SC_FD    (1u << 0)
#define LW_SC_TOUCH (1u << 1)
#define LW_SC_MOUNT (1u << 2)
#define LW_SC_MAP   (1u << 3)

#define LW_SYSCALLS(X)                                                                             \
	X(read, 0, LW_SC_TOUCH)                                                                    \
	X(write, 1, LW_SC_TOUCH)                                                                   \
	X(open, 2, LW_SC_FD)                                                                       \
	X(close, 3, LW_SC_FD)                                                                      \
	X(fstat, 5, LW_SC_TOUCH)                                                                   \
	X(lseek, 8, LW_SC_TOUCH)                                                                   \
	X(mmap, 9, LW_SC_MAP)                                                                      \
	X(munmap, 11, LW_SC_MAP)                                                                   \
	X(ioctl, 16, LW_SC_TOUCH)                                                                  \
	X(pread64, 17, LW_SC_TOUCH)                                                                \
	X(pwrite64, 18, LW_SC_TOUCH)                                                               \
	X(readv, 19, LW_SC_TOUCH)                                                                  \
	X(writev, 20, LW_SC_TOUCH)                                                                 \
	X(pipe, 22, LW_SC_FD)                                                                      \
	X(dup, 32, LW_SC_FD)                                                                       \
	X(dup2, 33, LW_SC_FD)                                                                      \
	X(sendfile, 40, LW_SC_TOUCH)                                                               \
	X(socket, 41, LW_SC_FD)                                                                    \
	X(connect, 42, LW_SC_TOUCH)                                                                \
	X(accept, 43, LW_SC_FD | LW_SC_TOUCH)                                                      \
	X(sendto, 44, LW_SC_TOUCH)                                                                 \
	X(recvfrom, 45, LW_SC_TOUCH)                                                               \
	X(sendmsg, 46, LW_SC_FD | LW_SC_TOUCH)                                                     \
	X(recvmsg, 47, LW_SC_FD | LW_SC_TOUCH)                                                     \
	X(shutdown, 48, LW_SC_TOUCH)                                                               \
	X(bind, 49, LW_SC_TOUCH)                                                                   \
	X(listen, 50, LW_SC_TOUCH)                                                                 \
	X(getsockname, 51, LW_SC_TOUCH)                                                            \
	X(getpeername, 52, LW_SC_TOUCH)                                                            \
	X(socketpair, 53, LW_SC_FD)                                                                \
	X(setsockopt, 54, LW_SC_TOUCH)                                                             \
	X(getsockopt, 55, LW_SC_TOUCH)                                                             \
	X(clone, 56, 0)                                                                            \
	X(fcntl, 72, LW_SC_FD | LW_SC_TOUCH)                                                       \
	X(flock, 73, LW_SC_TOUCH)                                                                  \
	X(fsync, 74, LW_SC_TOUCH)                                                                  \
	X(fdatasync, 75, LW_SC_TOUCH)                                                              \
	X(ftruncate, 77, LW_SC_TOUCH)                                                              \
	X(creat, 85, LW_SC_FD)                                                                     \
	X(fchmod, 91, LW_SC_TOUCH)                                                                 \
	X(fchown, 93, LW_SC_TOUCH)                                                                 \
	X(fstatfs, 138, LW_SC_TOUCH)                                                               \
	X(pivot_root, 155, LW_SC_MOUNT)                                                            \
	X(chroot, 161, LW_SC_MOUNT)                                                                \
	X(mount, 165, LW_SC_MOUNT)                                                                 \
	X(umount2, 166, LW_SC_MOUNT)                                                               \
	X(epoll_create, 213, LW_SC_FD)                                                             \
	X(getdents64, 217, LW_SC_TOUCH)                                                            \
	X(fadvise64, 221, LW_SC_TOUCH)                                                             \
	X(epoll_wait, 232, LW_SC_TOUCH)                                                            \
	X(epoll_ctl, 233, LW_SC_TOUCH)                                                             \
	X(inotify_init, 253, LW_SC_FD)                                                             \
	X(inotify_add_watch, 254, LW_SC_TOUCH)                                                     \
	X(openat, 257, LW_SC_FD)                                                                   \
	X(unshare, 272, LW_SC_MOUNT)                                                               \
	X(splice, 275, LW_SC_TOUCH)                                                                \
	X(sync_file_range, 277, LW_SC_TOUCH)                                                       \
	X(signalfd, 282, LW_SC_FD)                                                                 \
	X(timerfd_create, 283, LW_SC_FD)                                                           \
	X(eventfd, 284, LW_SC_FD)                                                                  \
	X(fallocate, 285, LW_SC_TOUCH)                                                             \
	X(timerfd_settime, 286, LW_SC_TOUCH)                                                       \
	X(timerfd_gettime, 287, LW_SC_TOUCH)                                                       \
	X(accept4, 288, LW_SC_FD | LW_SC_TOUCH)                                                    \
	X(signalfd4, 289, LW_SC_FD)                                                                \
	X(eventfd2, 290, LW_SC_FD)                                                                 \
	X(epoll_create1, 291, LW_SC_FD)                                                            \
	X(dup3, 292, LW_SC_FD)                                                                     \
	X(pipe2, 293, LW_SC_FD)                                                                    \
	X(inotify_init1, 294, LW_SC_FD)                                                            \
	X(perf_event_open, 298, LW_SC_FD)                                                          \
	X(recvmmsg, 299, LW_SC_FD)                                                                 \
	X(fanotify_init, 300, LW_SC_FD)                                                            \
	X(open_by_handle_at, 304, LW_SC_FD)                                                        \
	X(sendmmsg, 307, LW_SC_FD)                                                                 \
	X(setns, 308, LW_SC_MOUNT)                                                                 \
	X(memfd_create, 319, LW_SC_FD)                                                             \
	X(userfaultfd, 323, LW_SC_FD)                                                              \
	X(io_uring_setup, 425, LW_SC_FD)                                                           \
	X(io_uring_enter, 426, LW_SC_FD | LW_SC_TOUCH)                                             \
	X(open_tree, 428, LW_SC_FD | LW_SC_MOUNT)                                                  \
	X(move_mount, 429, LW_SC_MOUNT)                                                            \
	X(fsopen, 430, LW_SC_FD)                                                                   \
	X(fsmount, 432, LW_SC_FD | LW_SC_MOUNT)                                                    \
	X(fspick, 433, LW_SC_FD)                                                                   \
	X(pidfd_open, 434, LW_SC_FD)                                                               \
	X(clone3, 435, 0)                                                                          \
	X(close_range, 436, LW_SC_FD)                                                              \
	X(openat2, 437, LW_SC_FD)                                                                  \
	X(pidfd_getfd, 438, LW_SC_FD)                                                              \
	X(mount_setattr, 442, LW_SC_MOUNT)                                                         \
	X(memfd_secret, 447, LW_SC_FD)

/* LW_NR_openat, ... */
enum lw_syscall_nr {
#define LW_SC_ENUM_(name, nr, cls) LW_NR_##name = nr,
	LW_SYSCALLS(LW_SC_ENUM_)
#undef LW_SC_ENUM_
};

/* The LW_SC_* classes of a syscall number (0: not one of ours). */
static inline __attribute__((always_inline)) unsigned int lw_syscall_class(unsigned int nr)
{
	switch (nr) {
#define LW_SC_CASE_(name, nr, cls)                                                                 \
	case nr:                                                                                   \
		return cls;
		LW_SYSCALLS(LW_SC_CASE_)
#undef LW_SC_CASE_
	}
	return 0;
}

#endif /* LEAKWATCH_SYSCALLS_H */
