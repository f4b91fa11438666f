// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "detect/fd/touch_label.h"

/* the syscalls bpf/fd.bpf.c records with --last-touch */
const char *touch_label(uint32_t nr)
{
	switch (nr) {
	case 0:
		return "last used by read() at";
	case 1:
		return "last used by write() at";
	case 5:
		return "last used by fstat() at";
	case 8:
		return "last used by lseek() at";
	case 16:
		return "last used by ioctl() at";
	case 17:
		return "last used by pread64() at";
	case 18:
		return "last used by pwrite64() at";
	case 19:
		return "last used by readv() at";
	case 20:
		return "last used by writev() at";
	case 40:
		return "last used by sendfile() at";
	case 42:
		return "last used by connect() at";
	case 43:
		return "last used by accept() at";
	case 44:
		return "last used by sendto() at";
	case 45:
		return "last used by recvfrom() at";
	case 46:
		return "last used by sendmsg() at";
	case 47:
		return "last used by recvmsg() at";
	case 48:
		return "last used by shutdown() at";
	case 49:
		return "last used by bind() at";
	case 50:
		return "last used by listen() at";
	case 51:
		return "last used by getsockname() at";
	case 52:
		return "last used by getpeername() at";
	case 54:
		return "last used by setsockopt() at";
	case 55:
		return "last used by getsockopt() at";
	case 72:
		return "last used by fcntl() at";
	case 73:
		return "last used by flock() at";
	case 74:
		return "last used by fsync() at";
	case 75:
		return "last used by fdatasync() at";
	case 77:
		return "last used by ftruncate() at";
	case 91:
		return "last used by fchmod() at";
	case 93:
		return "last used by fchown() at";
	case 138:
		return "last used by fstatfs() at";
	case 217:
		return "last used by getdents64() at";
	case 221:
		return "last used by fadvise64() at";
	case 232:
		return "last used by epoll_wait() at";
	case 233:
		return "last used by epoll_ctl() at";
	case 254:
		return "last used by inotify_add_watch() at";
	case 275:
		return "last used by splice() at";
	case 277:
		return "last used by sync_file_range() at";
	case 285:
		return "last used by fallocate() at";
	case 286:
		return "last used by timerfd_settime() at";
	case 287:
		return "last used by timerfd_gettime() at";
	case 288:
		return "last used by accept4() at";
	case 426:
		return "last used by io_uring_enter() at";
	}
	return "last used at";
}
