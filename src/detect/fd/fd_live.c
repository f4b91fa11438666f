// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The duplicate taken with pidfd_getfd is a second reference to the same open
 * file: polling it and closing it again changes nothing for the target
 * (closing a socket or pipe shuts it down only with its last reference).
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include "detect/fd/fd_live.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438 /* Linux 5.6 */
#endif

/* linux/tcp.h's enum is in netinet/tcp.h's way; the values are ABI */
enum {
	LW_TCP_ESTABLISHED = 1,
	LW_TCP_SYN_SENT,
	LW_TCP_SYN_RECV,
	LW_TCP_FIN_WAIT1,
	LW_TCP_FIN_WAIT2,
	LW_TCP_TIME_WAIT,
	LW_TCP_CLOSE,
	LW_TCP_CLOSE_WAIT,
	LW_TCP_LAST_ACK,
	LW_TCP_LISTEN,
	LW_TCP_CLOSING,
};

enum lw_fd_liveness fd_live__decide(const struct lw_fd_facts *f, const char **why)
{
	*why = "";
	switch (f->type) {
	case LW_FDT_TCP:
		switch (f->tcp_state) {
		case LW_TCP_CLOSE_WAIT:
			*why = "peer closed (CLOSE_WAIT)";
			return LW_FD_DEAD;
		case LW_TCP_LAST_ACK:
		case LW_TCP_CLOSING:
		case LW_TCP_TIME_WAIT:
			*why = "connection closed by both ends";
			return LW_FD_DEAD;
		case LW_TCP_FIN_WAIT1:
		case LW_TCP_FIN_WAIT2:
			*why = "shut down by the program (FIN_WAIT)";
			return LW_FD_DEAD;
		case LW_TCP_CLOSE:
			/* a fresh socket is CLOSE too: only one that saw traffic was reset */
			if (f->tcp_had_traffic) {
				*why = "connection reset";
				return LW_FD_DEAD;
			}
			return LW_FD_HELD;
		}
		return LW_FD_HELD;
	case LW_FDT_UNIX_STREAM:
		if (f->unix_connected && (f->revents & (POLLHUP | POLLRDHUP))) {
			*why = "peer closed";
			return LW_FD_DEAD;
		}
		return LW_FD_HELD;
	case LW_FDT_PIPE_READ:
		/* hang-up with data left is still readable: that data is the use */
		if ((f->revents & POLLHUP) && !(f->revents & POLLIN)) {
			*why = "no writer left";
			return LW_FD_DEAD;
		}
		return LW_FD_HELD;
	case LW_FDT_PIPE_WRITE:
		if (f->revents & POLLERR) {
			*why = "no reader left";
			return LW_FD_DEAD;
		}
		return LW_FD_HELD;
	case LW_FDT_FILE:
		if (!f->nlink && !f->anonymous) {
			*why = "deleted";
			return LW_FD_DEAD;
		}
		return LW_FD_HELD;
	case LW_FDT_OTHER_SOCKET:
	case LW_FDT_OTHER:
		break;
	}
	return LW_FD_HELD;
}

static void socket_facts(int fd, struct lw_fd_facts *f)
{
	int domain = 0, type = 0, proto = 0;
	socklen_t len = sizeof(int);

	f->type = LW_FDT_OTHER_SOCKET;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return;
	len = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
	len = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
	if ((domain == AF_INET || domain == AF_INET6) && type == SOCK_STREAM &&
	    proto == IPPROTO_TCP) {
		struct tcp_info ti;

		len = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return;
		f->type = LW_FDT_TCP;
		f->tcp_state = ti.tcpi_state;
		f->tcp_had_traffic = ti.tcpi_segs_in > 0;
	} else if (domain == AF_UNIX && (type == SOCK_STREAM || type == SOCK_SEQPACKET)) {
		struct sockaddr_un peer;
		socklen_t plen = sizeof(peer);
		int accepting = 0;

		len = sizeof(int);
		getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len);
		f->type = LW_FDT_UNIX_STREAM;
		/* poll says HUP for a socket that never connected too; the
		 * survivor of a pair keeps its peer's address after the peer goes
		 */
		f->unix_connected = !accepting && !getpeername(fd, (void *)&peer, &plen);
	}
}

enum lw_fd_liveness fd_live__probe(int pidfd, int fd, const char **why)
{
	struct lw_fd_facts f = {};
	struct pollfd p;
	struct stat st;
	int dup = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);

	if (dup < 0) {
		*why = errno == EBADF ? "closed" : "cannot be read";
		return LW_FD_UNKNOWN;
	}
	if (fstat(dup, &st)) {
		close(dup);
		*why = "cannot be read";
		return LW_FD_UNKNOWN;
	}
	if (S_ISSOCK(st.st_mode)) {
		socket_facts(dup, &f);
	} else if (S_ISFIFO(st.st_mode)) {
		int acc = fcntl(dup, F_GETFL) & O_ACCMODE;

		f.type = acc == O_WRONLY ? LW_FDT_PIPE_WRITE : LW_FDT_PIPE_READ;
	} else if (S_ISREG(st.st_mode)) {
		char link[64], path[256];
		ssize_t n;

		f.type = LW_FDT_FILE;
		f.nlink = st.st_nlink;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dup);
		n = readlink(link, path, sizeof(path) - 1);
		path[n > 0 ? n : 0] = 0;
		/* memfd_create and O_TMPFILE files never had a name to lose */
		f.anonymous = !strncmp(path, "/memfd:", 7) || strstr(path, "/#") != NULL;
	}
	p = (struct pollfd){.fd = dup, .events = POLLIN | POLLOUT | POLLRDHUP};
	if (f.type != LW_FDT_FILE && f.type != LW_FDT_OTHER && poll(&p, 1, 0) >= 0)
		f.revents = p.revents;
	close(dup);
	return fd_live__decide(&f, why);
}

const char *fd_live__name(enum lw_fd_liveness l)
{
	return l == LW_FD_DEAD ? "dead" : l == LW_FD_UNKNOWN ? "unknown" : "held";
}
