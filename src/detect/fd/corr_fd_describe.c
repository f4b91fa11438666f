// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Resource strings for fd findings, in the kernel's /proc/PID/fd spelling
 * ("socket:[ino]", "pipe:[ino]", "anon_inode:name") so they match ls -l.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "detect/fd/corr_fd.h"

static const char *family_name(unsigned f)
{
	return f == AF_UNIX	 ? "AF_UNIX"
	       : f == AF_INET	 ? "AF_INET"
	       : f == AF_INET6	 ? "AF_INET6"
	       : f == AF_NETLINK ? "AF_NETLINK"
	       : f == AF_PACKET	 ? "AF_PACKET"
				 : NULL;
}

static const char *socktype_name(unsigned t)
{
	t &= ~(unsigned)(SOCK_NONBLOCK | SOCK_CLOEXEC);
	return t == SOCK_STREAM	     ? "SOCK_STREAM"
	       : t == SOCK_DGRAM     ? "SOCK_DGRAM"
	       : t == SOCK_SEQPACKET ? "SOCK_SEQPACKET"
	       : t == SOCK_RAW	     ? "SOCK_RAW"
				     : NULL;
}

void corr_fd__describe(const struct lw_ev_fd_open *ev, char *buf, size_t len)
{
	char name[LW_NAME_MAX + 1];
	unsigned long long ino;
	const char *fam, *typ;
	size_t n;

	if (!buf || !len)
		return;
	if (!ev) {
		snprintf(buf, len, "unknown");
		return;
	}
	n = strnlen(ev->name, LW_NAME_MAX); /* BPF may fill all of it */
	memcpy(name, ev->name, n);
	name[n] = '\0';
	ino = ev->ino;
	switch (ev->res_kind) {
	case LW_RES_SOCKET:
		fam = family_name(ev->sock_family);
		typ = socktype_name(ev->sock_type);
		if (fam || typ)
			snprintf(buf, len, "socket:[%llu] (%s%s%s)", ino, fam ? fam : "",
				 fam && typ ? ", " : "", typ ? typ : "");
		else
			snprintf(buf, len, "socket:[%llu]", ino);
		break;
	case LW_RES_PIPE:
		snprintf(buf, len, "pipe:[%llu]", ino);
		break;
	case LW_RES_ANON:
		snprintf(buf, len, "anon_inode:%s", name);
		break;
	default: /* LW_RES_FILE: the path argument */
		snprintf(buf, len, "%s", n ? name : "unknown");
		break;
	}
}
