// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* open+close loop; prints nanoseconds per pair (best of ROUNDS). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int use_fd; /* "rw": also read and write the fd (last-touch cost) */

__attribute__((noinline)) static void open_close(int n)
{
	char b = 0;

	for (int i = 0; i < n; i++) {
		int fd = open("/dev/null", use_fd ? O_RDWR : O_RDONLY);

		if (fd < 0)
			exit(1);
		if (use_fd && (read(fd, &b, 1) < 0 || write(fd, &b, 1) != 1))
			exit(1);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200000;

	use_fd = argc > 2;
	double best = 1e30;

	for (int r = 0; r < 5; r++) {
		double t0 = now_ns();

		open_close(n);
		double t = (now_ns() - t0) / n;
		if (t < best)
			best = t;
	}
	printf("%.1f\n", best);
	return 0;
}
