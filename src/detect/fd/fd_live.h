/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Is an fd still open at the end of observation dead (a resource the program
 * can no longer use: its other end is gone) or merely held? Read from the
 * kernel through a duplicate of the target's fd (pidfd_getfd): the socket's
 * TCP state, poll's hang-up bits, the inode's link count. The decision is
 * pure and unit-tested on the facts alone.
 */
#ifndef LW_FD_LIVE_H
#define LW_FD_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum lw_fd_liveness {
	LW_FD_HELD = 0, /* still usable: listed, does not gate */
	LW_FD_DEAD,	/* its other end is gone: a finding */
	LW_FD_UNKNOWN,	/* could not be read (process gone, no permission) */
};

enum lw_fd_type {
	LW_FDT_OTHER = 0,
	LW_FDT_TCP,
	LW_FDT_UNIX_STREAM, /* and SOCK_SEQPACKET */
	LW_FDT_OTHER_SOCKET,
	LW_FDT_PIPE_READ, /* pipes and FIFOs, by the end this fd holds */
	LW_FDT_PIPE_WRITE,
	LW_FDT_FILE,
};

/* What the kernel says of one fd. */
struct lw_fd_facts {
	enum lw_fd_type type;
	int tcp_state;	      /* TCP_* of linux/tcp.h, TCP only */
	bool tcp_had_traffic; /* segments came in: it was connected once */
	bool unix_connected;  /* has (or had) a peer */
	short revents;	      /* poll(POLLIN | POLLOUT | POLLRDHUP), 0 timeout */
	unsigned long nlink;  /* regular files */
	bool anonymous;	      /* memfd, O_TMPFILE: unlinked on purpose */
};

/* DEAD or HELD, and for DEAD a short reason ("peer closed (CLOSE_WAIT)",
 * "no writer left", "deleted", ...). A static string.
 */
enum lw_fd_liveness fd_live__decide(const struct lw_fd_facts *f, const char **why);

/* Read the facts of (pid, fd) and decide. pidfd: of pid. UNKNOWN with why
 * set when the fd cannot be had.
 */
enum lw_fd_liveness fd_live__probe(int pidfd, int fd, const char **why);

const char *fd_live__name(enum lw_fd_liveness l);

#endif
