// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd liveness: the decision on synthetic facts, then real sockets, pipes and
 * files of this test process read through its own pidfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include "harness.h"
#include "detect/fd/fd_live.h"

static enum lw_fd_liveness probe(int fd, const char **why)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	enum lw_fd_liveness l = fd_live__probe(pidfd, fd, why);

	close(pidfd);
	return l;
}

LW_TEST(fd_live_decides_on_facts)
{
	struct lw_fd_facts f = {.type = LW_FDT_TCP, .tcp_state = 8 /* CLOSE_WAIT */};
	const char *why;

	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_DEAD, "CLOSE_WAIT");
	ASSERT_STREQ(why, "peer closed (CLOSE_WAIT)", "reason");
	f.tcp_state = 1; /* ESTABLISHED */
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_HELD, "ESTABLISHED");
	f.tcp_state = 10; /* LISTEN */
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_HELD, "LISTEN");
	f.tcp_state = 7; /* CLOSE, never connected */
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_HELD, "fresh socket");
	f.tcp_had_traffic = true;
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_DEAD, "reset connection");
	f = (struct lw_fd_facts){.type = LW_FDT_UNIX_STREAM, .revents = POLLHUP};
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_HELD, "never-connected unix socket");
	f.unix_connected = true;
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_DEAD, "unix peer gone");
	f = (struct lw_fd_facts){.type = LW_FDT_PIPE_READ, .revents = POLLHUP | POLLIN};
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_HELD, "data still to read");
	f.revents = POLLHUP;
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_DEAD, "drained, no writer");
	f = (struct lw_fd_facts){.type = LW_FDT_FILE, .nlink = 0, .anonymous = true};
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_HELD, "memfd");
	f.anonymous = false;
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_DEAD, "deleted file");
	f = (struct lw_fd_facts){.type = LW_FDT_OTHER};
	ASSERT_EQ(fd_live__decide(&f, &why), LW_FD_HELD, "eventfd and the like");
}

LW_TEST(fd_live_unix_pairs_and_pipes)
{
	int sp[2], p[2];
	const char *why;

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0, "socketpair");
	ASSERT_EQ(probe(sp[0], &why), LW_FD_HELD, "both ends open");
	close(sp[1]);
	ASSERT_EQ(probe(sp[0], &why), LW_FD_DEAD, "peer closed");
	ASSERT_STREQ(why, "peer closed", "reason");
	close(sp[0]);
	ASSERT_EQ(probe(999, &why), LW_FD_UNKNOWN, "a number not open");
	ASSERT_STREQ(why, "closed", "reason");

	ASSERT_EQ(pipe(p), 0, "pipe");
	ASSERT_EQ(probe(p[0], &why), LW_FD_HELD, "read end with a writer");
	ASSERT_EQ(write(p[1], "x", 1), 1, "write");
	close(p[1]);
	ASSERT_EQ(probe(p[0], &why), LW_FD_HELD, "data left to read");
	ASSERT_EQ(read(p[0], (char[1]){0}, 1), 1, "drain");
	ASSERT_EQ(probe(p[0], &why), LW_FD_DEAD, "no writer left");
	close(p[0]);
	ASSERT_EQ(pipe(p), 0, "pipe");
	close(p[0]);
	ASSERT_EQ(probe(p[1], &why), LW_FD_DEAD, "no reader left");
	ASSERT_STREQ(why, "no reader left", "reason");
	close(p[1]);
}

LW_TEST(fd_live_tcp_states)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s, c2, s2;
	const char *why;

	ASSERT_EQ(probe(c, &why), LW_FD_HELD, "fresh socket");
	ASSERT_EQ(bind(l, (void *)&a, sizeof(a)), 0, "bind");
	ASSERT_EQ(listen(l, 4), 0, "listen");
	ASSERT_EQ(getsockname(l, (void *)&a, &len), 0, "port");
	ASSERT_EQ(connect(c, (void *)&a, sizeof(a)), 0, "connect");
	s = accept(l, NULL, NULL);
	ASSERT_TRUE(s >= 0, "accept");
	ASSERT_EQ(probe(l, &why), LW_FD_HELD, "listening");
	ASSERT_EQ(probe(s, &why), LW_FD_HELD, "established");
	close(c);
	/* the FIN arrives over loopback before close returns */
	ASSERT_EQ(probe(s, &why), LW_FD_DEAD, "peer closed");
	ASSERT_STREQ(why, "peer closed (CLOSE_WAIT)", "reason");

	c2 = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(connect(c2, (void *)&a, sizeof(a)), 0, "connect");
	s2 = accept(l, NULL, NULL);
	ASSERT_EQ(shutdown(c2, SHUT_WR), 0, "shutdown");
	ASSERT_EQ(probe(c2, &why), LW_FD_DEAD, "shut down by the program");
	close(c2);
	close(s2);
	close(s);
	close(l);
}

LW_TEST(fd_live_deleted_and_anonymous_files)
{
	char path[] = "/tmp/lw-fdlive-XXXXXX";
	int fd = mkstemp(path), m = (int)syscall(SYS_memfd_create, "lw", 0);
	const char *why;

	ASSERT_TRUE(fd >= 0 && m >= 0, "files");
	ASSERT_EQ(probe(fd, &why), LW_FD_HELD, "named file");
	unlink(path);
	ASSERT_EQ(probe(fd, &why), LW_FD_DEAD, "deleted file");
	ASSERT_STREQ(why, "deleted", "reason");
	ASSERT_EQ(probe(m, &why), LW_FD_HELD, "memfd has no name to lose");
	close(fd);
	close(m);
}
