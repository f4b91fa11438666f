// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --last-touch labels: each syscall number fd.bpf.c records names its
 * syscall, checked against the C library's own numbers.
 */
#include <sys/syscall.h>
#include "harness.h"
#include "detect/fd/touch_label.h"

#define T(name)                                                                                    \
	{                                                                                          \
		SYS_##name, "last used by " #name "() at"                                          \
	}

static const struct {
	long nr;
	const char *label;
} touched[] = {
    T(read),
    T(write),
    T(fstat),
    T(lseek),
    T(ioctl),
    T(pread64),
    T(pwrite64),
    T(readv),
    T(writev),
    T(sendfile),
    T(connect),
    T(accept),
    T(sendto),
    T(recvfrom),
    T(sendmsg),
    T(recvmsg),
    T(shutdown),
    T(bind),
    T(listen),
    T(getsockname),
    T(getpeername),
    T(setsockopt),
    T(getsockopt),
    T(fcntl),
    T(flock),
    T(fsync),
    T(fdatasync),
    T(ftruncate),
    T(fchmod),
    T(fchown),
    T(fstatfs),
    T(getdents64),
    T(fadvise64),
    T(epoll_wait),
    T(epoll_ctl),
    T(inotify_add_watch),
    T(splice),
    T(sync_file_range),
    T(fallocate),
    T(timerfd_settime),
    T(timerfd_gettime),
    T(accept4),
    T(io_uring_enter),
};

LW_TEST(touch_label_names_the_syscall)
{
	for (size_t i = 0; i < sizeof(touched) / sizeof(touched[0]); i++)
		ASSERT_STREQ(touch_label((uint32_t)touched[i].nr), touched[i].label,
			     touched[i].label);
}

LW_TEST(touch_label_other_numbers)
{
	ASSERT_STREQ(touch_label(SYS_close), "last used at", "close is no touch");
	ASSERT_STREQ(touch_label(SYS_openat), "last used at", "neither is an open");
	ASSERT_STREQ(touch_label(SYS_mmap), "last used at", "an unlisted fd user");
	ASSERT_STREQ(touch_label(100000), "last used at", "out of range");
	ASSERT_STREQ(touch_label(UINT32_MAX), "last used at", "max");
}

/* evidence labels are kept as pointers: the same string every time */
LW_TEST(touch_label_static)
{
	ASSERT_TRUE(touch_label(SYS_read) == touch_label(SYS_read), "one string per syscall");
	ASSERT_TRUE(touch_label(SYS_read) != touch_label(SYS_write), "distinct syscalls");
	ASSERT_TRUE(touch_label(3) == touch_label(4), "one fallback");
}
